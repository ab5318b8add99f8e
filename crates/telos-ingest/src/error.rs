//! Errors of ingest.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no files given to {0}")]
    NoFiles(String),
    #[error("the inbox {} cannot be made or watched: {reason}", .path.display())]
    Inbox { path: PathBuf, reason: String },
    #[error("Telos is closing; {0} was not started")]
    Closing(String),
    #[error(transparent)]
    Persona(#[from] telos_persona::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

//! Errors of the persona crate.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("'{0}' is not a persona")]
    NotAPersona(String),
    #[error("the message to {0} is empty")]
    EmptyMessage(String),
    #[error("the message to {persona} is {size} bytes, over the {limit}-byte limit")]
    MessageTooLong {
        persona: String,
        size: usize,
        limit: usize,
    },
    #[error("the recall query is empty")]
    EmptyQuery,
    #[error("no pending amendment {id:?} (pending: {pending})")]
    NoAmendment { id: String, pending: String },
    #[error(
        "amendment {id} to {persona} is not a valid codex: {problem} (nothing was changed; \
         edit the codex file again to propose it anew)"
    )]
    InvalidAmendment {
        id: String,
        persona: String,
        problem: String,
    },
    #[error("{} cannot be read or written: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} cannot be watched: {source}", .path.display())]
    Watch {
        path: PathBuf,
        #[source]
        source: notify::Error,
    },
    #[error(transparent)]
    Image(#[from] telos_image::Error),
    #[error(transparent)]
    Memory(#[from] telos_memory::Error),
    #[error(transparent)]
    Scheduler(#[from] telos_scheduler::Error),
}

impl Error {
    pub(crate) fn watch(path: &Path, source: notify::Error) -> Self {
        Self::Watch {
            path: path.to_owned(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

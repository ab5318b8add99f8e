//! Errors of the core facade.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("data dir {} is not a directory", .0.display())]
    DataDirNotADirectory(PathBuf),
    #[error("data dir {} cannot be created or written: {source}", .path.display())]
    DataDirUnwritable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("data dir {} is in use by pid {pid}", .path.display())]
    InUse { path: PathBuf, pid: String },
    #[error("no data dir given and the platform has none; pass --data-dir or set TELOS_DATA_DIR")]
    NoDataDir,
    #[error(transparent)]
    Image(#[from] telos_image::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

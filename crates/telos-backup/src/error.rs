use std::path::PathBuf;

/// What went wrong with a backup; each names the file, backup or data dir at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a backup manifest Telos can read: {source}")]
    Manifest {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("no backup '{id}' in {dest} (telos backup ls {dest} lists them)")]
    UnknownBackup { id: String, dest: PathBuf },
    #[error("{dest} holds no complete backup yet")]
    NoBackup { dest: PathBuf },
    #[error("{0}")]
    Bad(String),
    #[error("{path} is not empty: a restore never writes over a data dir (name a new directory)")]
    NotEmpty { path: PathBuf },
    #[error(transparent)]
    Image(#[from] telos_image::Error),
    #[error(transparent)]
    Memory(#[from] telos_memory::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

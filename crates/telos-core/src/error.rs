//! Errors of the core facade. A feature crate's error that only wraps the image's, memory's or
//! the scheduler's is unwrapped into that variant, so a front end sorts errors by where they
//! come from, not by which crate passed them on.

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
    #[error("invalid JSON for {what}: '{excerpt}': {source}")]
    InvalidJson {
        what: String,
        excerpt: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "invalid position ({x}, {y}) for '{object}': coordinates must be finite and within ±{limit}"
    )]
    InvalidPosition {
        object: String,
        x: f64,
        y: f64,
        limit: f64,
    },
    /// A setting (an environment variable) that does not parse.
    #[error("{name}: {reason}")]
    Config { name: String, reason: String },
    #[error(transparent)]
    Image(#[from] telos_image::Error),
    #[error(transparent)]
    Memory(#[from] telos_memory::Error),
    #[error(transparent)]
    Backup(#[from] telos_backup::Error),
    #[error(transparent)]
    Scheduler(#[from] telos_scheduler::Error),
    /// A persona, its codex, a message to it.
    #[error(transparent)]
    Persona(telos_persona::Error),
    /// The Tool Forge.
    #[error(transparent)]
    Forge(telos_forge::Error),
    /// A drop or the inbox.
    #[error(transparent)]
    Ingest(telos_ingest::Error),
    /// A dialogue.
    #[error(transparent)]
    Mind(telos_mind::Error),
    /// Judging, curation, a dataset, training, an ascension.
    #[error(transparent)]
    Learn(telos_ascend::Error),
}

impl From<telos_ascend::Error> for Error {
    fn from(e: telos_ascend::Error) -> Self {
        use telos_ascend::Error as A;
        match e {
            A::Image(e) => Self::Image(e),
            A::Scheduler(e) => Self::Scheduler(e),
            A::Persona(e) => e.into(),
            e => Self::Learn(e),
        }
    }
}

impl From<telos_mind::Error> for Error {
    fn from(e: telos_mind::Error) -> Self {
        match e {
            telos_mind::Error::Persona(e) => e.into(),
            e => Self::Mind(e),
        }
    }
}

impl From<telos_persona::Error> for Error {
    fn from(e: telos_persona::Error) -> Self {
        use telos_persona::Error as P;
        match e {
            P::Image(e) => Self::Image(e),
            P::Memory(e) => Self::Memory(e),
            P::Scheduler(e) => Self::Scheduler(e),
            e => Self::Persona(e),
        }
    }
}

impl From<telos_forge::Error> for Error {
    fn from(e: telos_forge::Error) -> Self {
        use telos_forge::Error as F;
        match e {
            F::Image(e) => Self::Image(e),
            F::Persona(e) => e.into(),
            e => Self::Forge(e),
        }
    }
}

impl From<telos_ingest::Error> for Error {
    fn from(e: telos_ingest::Error) -> Self {
        use telos_ingest::Error as I;
        match e {
            I::Persona(e) => e.into(),
            e => Self::Ingest(e),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

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
    #[error("invalid JSON for {what}: '{excerpt}': {source}")]
    InvalidJson {
        what: String,
        excerpt: String,
        #[source]
        source: serde_json::Error,
    },
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
    #[error("no files given to {0}")]
    NoFiles(String),
    #[error(
        "invalid position ({x}, {y}) for '{object}': coordinates must be finite and within ±{limit}"
    )]
    InvalidPosition {
        object: String,
        x: f64,
        y: f64,
        limit: f64,
    },
    #[error("cycle '{0}' has no program to step (it did not come from an operation list)")]
    NoProgram(String),
    #[error("cycle '{0}' is not a forge cycle")]
    NotAForge(String),
    #[error("cycle '{cycle}' has no attempt {attempt} (it has {have})")]
    NoAttempt {
        cycle: String,
        attempt: u32,
        have: u32,
    },
    #[error(
        "attempt {attempt} of cycle '{cycle}' has no test to check an edit against; edit one that has"
    )]
    NoTest { cycle: String, attempt: u32 },
    #[error("no persona {0} to forge tools (the forge asks that persona)")]
    NoForger(String),
    #[error("the forge failed ({why}); its cycle {cycle} is suspended for the Debugger")]
    ForgeFailed { cycle: String, why: String },
    #[error("no pending amendment {id:?} (pending: {pending})")]
    NoAmendment { id: String, pending: String },
    /// A setting (an environment variable) that does not parse.
    #[error("{name}: {reason}")]
    Config { name: String, reason: String },
    #[error(transparent)]
    Image(#[from] telos_image::Error),
    #[error(transparent)]
    Memory(#[from] telos_memory::Error),
    #[error(transparent)]
    Scheduler(#[from] telos_scheduler::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

//! Errors of episodic memory. Per-file errors name the file; the rest name the store or the
//! weights they are about.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unsupported: {} (detected {detected})", .path.display())]
    Unsupported { path: PathBuf, detected: String },
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is empty", .path.display())]
    Empty { path: PathBuf },
    #[error("{} is not valid UTF-8 (first bad byte at offset {offset})", .path.display())]
    InvalidUtf8 { path: PathBuf, offset: u64 },
    #[error("{} is {size} bytes, over the {limit}-byte limit for one document", .path.display())]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("{} is an encrypted PDF; decrypt it first", .path.display())]
    EncryptedPdf { path: PathBuf },
    #[error("{} is a PDF that cannot be read: {reason}", .path.display())]
    BadPdf { path: PathBuf, reason: String },
    #[error("{} has no text to remember (a PDF without a text layer?)", .path.display())]
    NoText { path: PathBuf },
    /// The reader process died, overran its time or answered nonsense: this file killed it.
    #[error("{} could not be read: its reader {reason}", .path.display())]
    ReaderDied { path: PathBuf, reason: String },
    #[error("{0}")]
    NoReader(String),
    #[error("embedding weights at {}: {reason}", .path.display())]
    Weights { path: PathBuf, reason: String },
    #[error("embedding failed: {0}")]
    Embed(String),
    /// A symbol or a query over symbols that cannot be (named in the message).
    #[error("{0}")]
    Symbol(String),
    /// A concept that cannot be named or shown as asked (named in the message).
    #[error("{0}")]
    Concept(String),
    #[error("memory store at {}: {source}", .path.display())]
    Store {
        path: PathBuf,
        #[source]
        source: Box<lancedb::Error>,
    },
    #[error("'{0}' is not a persona")]
    NotAPersona(String),
    #[error(transparent)]
    Image(#[from] telos_image::Error),
}

impl Error {
    pub(crate) fn read(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Read {
            path: path.to_owned(),
            source,
        }
    }
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Self::Embed(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

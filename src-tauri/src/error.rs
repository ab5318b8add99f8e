//! The error that crosses IPC: tagged for TypeScript (`{ type, data }`), each variant carrying
//! the core's message, which names the bad input.

use serde::Serialize;

#[derive(Debug, Clone, Serialize, specta::Type, thiserror::Error)]
#[serde(tag = "type", content = "data")]
pub enum IpcError {
    /// An object, cycle or persona that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Input the core refused (bad JSON, a bad name, a loop, a value too large, …).
    #[error("{0}")]
    InvalidInput(String),
    /// Another cycle changed the same object first; reload and try again.
    #[error("{0}")]
    Conflict(String),
    /// The store or the data dir failed.
    #[error("{0}")]
    Storage(String),
    /// A window could not be opened.
    #[error("{0}")]
    Window(String),
    /// Ingest was asked for, but no files were dropped on the window.
    #[error("no files were dropped on this window")]
    NoDrop,
}

impl From<telos_core::Error> for IpcError {
    fn from(e: telos_core::Error) -> Self {
        use telos_core::Error as C;
        use telos_core::image::Error as I;
        let message = e.to_string();
        match e {
            C::Image(I::UnknownObject(_) | I::UnknownCycle(_)) => Self::NotFound(message),
            C::Image(I::Conflict { .. }) => Self::Conflict(message),
            C::Image(I::Store { .. } | I::StoreOpen { .. } | I::Corrupt { .. })
            | C::DataDirNotADirectory(_)
            | C::DataDirUnwritable { .. }
            | C::InUse { .. }
            | C::NoDataDir => Self::Storage(message),
            C::Memory(
                telos_core::memory::Error::Store { .. } | telos_core::memory::Error::Weights { .. },
            ) => Self::Storage(message),
            _ => Self::InvalidInput(message),
        }
    }
}

impl From<tauri::Error> for IpcError {
    fn from(e: tauri::Error) -> Self {
        Self::Window(e.to_string())
    }
}

pub type IpcResult<T> = Result<T, IpcError>;

//! The Telos core facade: resolves the data dir, takes its lock, opens the living image at the
//! configured endpoint and performs the prototypal awakening. The CLI and the desktop shell
//! both start here; neither knows how the parts are wired.
//!
//! ```no_run
//! # async fn demo() -> telos_core::Result<()> {
//! use telos_core::{Config, Telos};
//!
//! let telos = Telos::open(Config::from_data_dir("/tmp/telos-demo")).await?;
//! for object in telos.image().objects() {
//!     println!("{} {}", object.id, object.name);
//! }
//! telos.shutdown().await?;
//! # Ok(()) }
//! ```

mod data_dir;
mod error;

use std::path::{Path, PathBuf};

pub use data_dir::{DataDirLock, LOCK_FILE, resolve as resolve_data_dir};
pub use error::{Error, Result};
pub use telos_image as image;
use telos_image::{CycleRecord, Endpoint, Image, StoreOptions};

/// Where and how to open Telos.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// The image's store; `None` means embedded SurrealKV at `DATA_DIR/image`.
    pub endpoint: Option<Endpoint>,
    pub store: StoreOptions,
}

impl Config {
    /// Defaults for a data dir: embedded SurrealKV inside it.
    pub fn from_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            endpoint: None,
            store: StoreOptions::default(),
        }
    }

    /// The data dir from an explicit path, `TELOS_DATA_DIR`, or the platform data dir, and
    /// the endpoint from an explicit URL or `TELOS_ENDPOINT`.
    pub fn resolve(data_dir: Option<&Path>, endpoint: Option<&str>) -> Result<Self> {
        let mut config = Self::from_data_dir(data_dir::resolve(data_dir)?);
        let endpoint = endpoint.map(str::to_owned).or_else(|| {
            std::env::var("TELOS_ENDPOINT")
                .ok()
                .filter(|e| !e.is_empty())
        });
        if let Some(e) = endpoint {
            config.endpoint = Some(Endpoint::parse(&e)?);
        }
        if let (Ok(user), Ok(pass)) = (
            std::env::var("TELOS_DB_USER"),
            std::env::var("TELOS_DB_PASS"),
        ) {
            config.store.remote_user = Some((user, pass));
        }
        Ok(config)
    }

    pub fn endpoint(&self) -> Endpoint {
        self.endpoint
            .clone()
            .unwrap_or_else(|| Endpoint::SurrealKv {
                path: self.data_dir.join("image"),
            })
    }
}

/// A running Telos: the owned data dir and the open image.
pub struct Telos {
    image: Image,
    awakening: Option<CycleRecord>,
    _lock: DataDirLock,
}

impl Telos {
    /// Takes the data dir, opens the image, and awakens it on first start.
    pub async fn open(config: Config) -> Result<Self> {
        let lock = DataDirLock::acquire(&config.data_dir)?;
        let image = Image::open(&config.endpoint(), &config.store).await?;
        let awakening = telos_image::genesis::awaken(&image).await?;
        Ok(Self {
            image,
            awakening,
            _lock: lock,
        })
    }

    /// The living image (a cheap clone can be kept).
    pub fn image(&self) -> &Image {
        &self.image
    }

    /// The awakening's cycle if this open performed it.
    pub fn awakening(&self) -> Option<&CycleRecord> {
        self.awakening.as_ref()
    }

    /// Flushes and closes the image, then releases the data dir.
    pub async fn shutdown(self) -> Result<()> {
        self.image.shutdown().await?;
        Ok(())
    }
}

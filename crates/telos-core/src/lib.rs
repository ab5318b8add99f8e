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

mod chat;
mod codex;
mod data_dir;
mod debugger;
mod error;
mod forge;
mod inbox;
mod ingest;
mod inspect;
mod personas;
mod recall;
mod scheduling;
mod status;
pub mod view;
mod world;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use chat::{ChatEvent, MAX_MESSAGE_BYTES};
pub use codex::{
    AMENDMENTS, Amendment, CODEX, Codex, CodexProblem, CodexReport, CodexWatch, FieldChange,
};
pub use data_dir::{DataDirLock, LOCK_FILE, resolve as resolve_data_dir};
pub use debugger::{Dissonance, StepState};
pub use error::{Error, Result};
pub use forge::{Attempt, Edit, Forge, ForgeOutcome, ForgeTask, RunReport, parse_reply};
pub use inbox::{INBOX, InboxEvent, InboxWatch, QUIET as INBOX_QUIET};
pub use ingest::{IngestEvent, IngestSummary, MAX_FILES, Refused};
pub use inspect::parse_json;
pub use personas::PersonaView;
pub use recall::MAX_RECALL;
pub use scheduling::{
    LoadedModelView, PersonaModelState, STATUS_EVERY, SchedulerRun, SchedulerView,
};
pub use status::StatusChange;
pub use telos_image as image;
use telos_image::{CycleRecord, Endpoint, Image, StoreOptions};
pub use telos_memory as memory;
pub use telos_sandbox as sandbox;
pub use telos_scheduler as scheduler;
pub use world::{ModelState, MorphKind, MorphView, PINNED, POSITION, Point, is_persona};

/// Where and how to open Telos.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// The image's store; `None` means embedded SurrealKV at `DATA_DIR/image`.
    pub endpoint: Option<Endpoint>,
    pub store: StoreOptions,
    /// What embeds memory's chunks: local MiniLM, or Ollama (`TELOS_EMBEDDER=ollama`).
    pub embedder: telos_memory::ollama::Backend,
    /// Where Ollama listens (`OLLAMA_HOST`, default `http://127.0.0.1:11434`).
    pub ollama_host: String,
    /// VRAM the personas' models may take together (`TELOS_VRAM_BUDGET`, else the GPU's
    /// memory as `nvidia-smi` reports it, else 8 GiB).
    pub vram_budget: telos_scheduler::Bytes,
    /// Attempts the Tool Forge gives BRICK (`TELOS_FORGE_ATTEMPTS`, default 3).
    pub forge_attempts: u32,
}

impl Config {
    /// Defaults for a data dir: embedded SurrealKV inside it.
    pub fn from_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            endpoint: None,
            store: StoreOptions::default(),
            embedder: telos_memory::ollama::Backend::Local,
            ollama_host: telos_scheduler::ollama::DEFAULT_HOST.to_string(),
            vram_budget: telos_scheduler::DEFAULT_BUDGET,
            forge_attempts: forge::DEFAULT_ATTEMPTS,
        }
    }

    /// The data dir from an explicit path, `TELOS_DATA_DIR`, or the platform data dir, and
    /// the endpoint from an explicit URL or `TELOS_ENDPOINT`; the embedder from
    /// `TELOS_EMBEDDER` (with `OLLAMA_HOST` and `TELOS_OLLAMA_EMBED_MODEL`).
    pub fn resolve(data_dir: Option<&Path>, endpoint: Option<&str>) -> Result<Self> {
        let mut config = Self::from_data_dir(data_dir::resolve(data_dir)?);
        config.embedder = telos_memory::ollama::Backend::from_env()?;
        if let Ok(host) = std::env::var("OLLAMA_HOST")
            && !host.trim().is_empty()
        {
            config.ollama_host = host;
        }
        config.vram_budget = personas::vram_budget()?;
        if let Ok(text) = std::env::var("TELOS_FORGE_ATTEMPTS")
            && !text.trim().is_empty()
        {
            config.forge_attempts = text
                .trim()
                .parse()
                .ok()
                .filter(|n| (1..=20).contains(n))
                .ok_or_else(|| Error::Config {
                    name: "TELOS_FORGE_ATTEMPTS".into(),
                    reason: format!("{text:?} is not a number of attempts from 1 to 20"),
                })?;
        }
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
    data_dir: PathBuf,
    image: Image,
    awakening: Option<CycleRecord>,
    memory: telos_memory::Memory,
    /// What reconciling memory with the image found at open (or why it could not run).
    reconciled: std::result::Result<telos_memory::Health, String>,
    status: status::Status,
    scheduler: telos_scheduler::Scheduler,
    forge_attempts: u32,
    _lock: DataDirLock,
}

impl Telos {
    /// Takes the data dir, opens the image, and awakens it on first start.
    pub async fn open(config: Config) -> Result<Self> {
        let lock = DataDirLock::acquire(&config.data_dir)?;
        let image = Image::open(&config.endpoint(), &config.store).await?;
        let awakening = telos_image::genesis::awaken(&image).await?;
        let memory_config = telos_memory::MemoryConfig::with_backend(
            config.data_dir.join("memory"),
            config.embedder.clone(),
        );
        let memory = telos_memory::Memory::open(image.clone(), memory_config).await?;
        // DESIGN invariant 1: LanceDB is brought back to what the image says before anything
        // reads it. If that cannot run (no embedding weights to re-embed with), Telos still
        // opens and `doctor` shows what is out of line.
        let reconciled = memory.reconcile().await.map_err(|e| {
            tracing::warn!("memory could not be reconciled with the image: {e}");
            e.to_string()
        });
        let backend = Arc::new(telos_scheduler::Ollama::new(&config.ollama_host)?);
        let scheduler = telos_scheduler::Scheduler::new(
            backend,
            config.vram_budget,
            personas::of_image(&image),
        );
        // Methods run in the sandbox; a message nothing understands is forged.
        image.set_invoker(Arc::new(forge::SandboxInvoker));
        image.set_not_understood(Arc::new(forge::ForgeOnMiss {
            forge: forge::Forge {
                scheduler: scheduler.clone(),
                attempts: config.forge_attempts,
            },
        }));
        Ok(Self {
            data_dir: config.data_dir,
            image,
            awakening,
            memory,
            reconciled,
            status: status::Status::default(),
            scheduler,
            forge_attempts: config.forge_attempts,
            _lock: lock,
        })
    }

    /// The data dir this Telos holds.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The living image (a cheap clone can be kept).
    pub fn image(&self) -> &Image {
        &self.image
    }

    /// Live persona status changes (busy, …) as they happen.
    pub fn subscribe_status(&self) -> tokio::sync::broadcast::Receiver<StatusChange> {
        self.status.subscribe()
    }

    /// Episodic memory (a cheap clone can be kept).
    pub fn memory(&self) -> &telos_memory::Memory {
        &self.memory
    }

    /// The model scheduler (a cheap clone can be kept). A long-running front end spawns its
    /// `run` loop; one-off commands use it as is.
    pub fn scheduler(&self) -> &telos_scheduler::Scheduler {
        &self.scheduler
    }

    pub(crate) fn handles(&self) -> chat::Handles {
        chat::Handles {
            image: self.image.clone(),
            memory: self.memory.clone(),
            scheduler: self.scheduler.clone(),
        }
    }

    /// What reconciling memory with the image found when Telos opened.
    pub fn reconciled(&self) -> &std::result::Result<telos_memory::Health, String> {
        &self.reconciled
    }

    /// The awakening's cycle if this open performed it.
    pub fn awakening(&self) -> Option<&CycleRecord> {
        self.awakening.as_ref()
    }

    /// Flushes and closes the image, then releases the data dir.
    pub async fn shutdown(self) -> Result<()> {
        self.close().await
    }

    /// Flushes and closes the image where the owner cannot give up `Telos` (a GUI's shared
    /// state); nothing may use the image afterwards. The data dir is released at exit.
    pub async fn close(&self) -> Result<()> {
        self.image.shutdown().await?;
        Ok(())
    }
}

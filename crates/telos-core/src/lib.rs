//! The Telos core facade: resolves the data dir, takes its lock, opens the living image at the
//! configured endpoint, performs the prototypal awakening, and wires the parts — memory, the
//! scheduler, the personas and their voice, the forge, ingest, the mind's agenda — under one supervisor of
//! background work. The CLI and the desktop shell both start here; neither knows how the
//! parts are wired, and every operation they offer is one line in `facade.rs` into the crate
//! that owns it (rust-analyzer's `ide::Analysis` is the model). No feature crate names
//! `Telos`.
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

mod alloc;
mod config;
mod data_dir;
mod error;
mod facade;
mod facade_backup;
mod facade_backup_manager;
mod facade_concepts;
mod facade_learn;
mod facade_play;
mod facade_vsa;
mod input;
#[cfg(test)]
mod layering;
pub mod view;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use telos_forge::{Forge, ForgeOnMiss, LocatedSandbox, Runner, RunnerInvoker};
use telos_image::{CycleRecord, Image, NoInvoker, RefuseNotUnderstood};
use telos_ingest::Ingest;
use telos_memory::{Health, Memory, MemoryConfig};
use telos_mind::Agenda;
use telos_persona::{CodexFiles, Roster, Status, Voice};
use telos_scheduler::{Runtimes, Scheduler};
use telos_supervisor::Supervisor;

pub use config::{Config, ram_budget, vram_budget};
pub use data_dir::{DataDirLock, LOCK_FILE, resolve as resolve_data_dir};
pub use error::{Error, Result};
pub use facade::{STATUS_EVERY, pull_model};
pub use facade_backup::{
    BackupCheck, BackupList, BackupSummary, BackupVerdict, backup_list, backup_restore,
    backup_verify,
};
pub use facade_backup_manager::{BACKUP_MANAGER, BackupStatus};
pub use facade_concepts::ConceptsRebuilt;
pub use facade_learn::GOLDEN_MIN;
pub use facade_play::{Answered, MessageSend};
pub use facade_vsa::{MAX_VSA_RESULTS, VSA_PERSONA};
pub use input::parse_json;
pub use telos_ascend as ascend;
pub use telos_ascend::{
    Ascension, AscensionEvent, CurateEvent, Curated, Evaluation, Exported, Lineage, Report,
    TrainEvent, Trained, WeekScore,
};
pub use telos_backup as backup;
pub use telos_forge as forge;
pub use telos_forge::{Attempt, Edit, ForgeProgress, ForgeTask, RunReport, parse_reply};
pub use telos_image as image;
pub use telos_ingest as ingest;
pub use telos_ingest::{
    INBOX, InboxEvent, IngestEvent, IngestSummary, MAX_FILES, QUIET as INBOX_QUIET, Refused,
};
pub use telos_llama as llama;
pub use telos_memory as memory;
pub use telos_mind as mind;
pub use telos_mind::{
    AgendaEvent, Autonomy, DialogueEvent, Ending, Hold, Judgement, Motive, MotiveKind, Planned,
    Signal, Step as AgendaStep, TurnRecord, Verdict, Work, WorkKind, WorkState,
};
pub use telos_persona as persona;
pub use telos_persona::{
    AMENDMENTS, Amendment, CODEX, ChatEvent, Codex, CodexProblem, CodexReport, Dissonance,
    FieldChange, MAX_MESSAGE_BYTES, MAX_RECALL, StatusChange, is_persona,
};
pub use telos_sandbox as sandbox;
pub use telos_scheduler as scheduler;
pub use telos_supervisor::{Incident, Shutdown, Supervisor as TaskSupervisor};
pub use view::{
    AgendaView, EmbeddedView, ForgeOutcome, HostView, LoadedModelView, ModelState, ModelView,
    MorphKind, MorphView, PINNED, POSITION, PersonaModelState, PersonaView, Point, PullProgress,
    Pulled, SchedulerView, StepState,
};

/// What the CLI and the app log on stderr unless `TELOS_LOG` says otherwise: Telos's own
/// warnings, and only errors of the libraries beneath it (a library's warnings belong in a log
/// asked for, not in the user's terminal). SurrealDB's datastore logs an ERROR line on every
/// orderly shutdown ("the datastore is shutting down"), which is not a failure: muted.
pub const DEFAULT_LOG: &str = "error,telos=warn,surrealdb::core::kvs::ds=off";

/// How long background work gets to end when Telos closes before it is aborted.
const CLOSE_GRACE: Duration = Duration::from_secs(10);

/// A running Telos: the owned data dir, the open image and the parts wired over it. The
/// operations are in `facade.rs`.
pub struct Telos {
    data_dir: PathBuf,
    image: Image,
    awakening: Option<CycleRecord>,
    memory: Memory,
    /// What reconciling memory with the image found at open (or why it could not run).
    reconciled: std::result::Result<Health, String>,
    status: Status,
    scheduler: Runtimes,
    /// The embedded runtime (its models folder), also behind `scheduler`.
    llama: telos_llama::Embedded,
    roster: Roster,
    voice: Voice,
    codex: CodexFiles,
    forge: Forge,
    ingest: Ingest,
    agenda: Agenda,
    trainer: telos_ascend::Trainer,
    /// Where Ollama listens (candidates are pulled there).
    ollama_host: String,
    supervisor: Supervisor,
    backups: facade_backup_manager::Backups,
    _lock: DataDirLock,
}

impl Telos {
    /// Takes the data dir, opens the image, awakens it on first start, and wires the parts.
    /// The persona roster starts following the image at once (a supervised service); the
    /// long-lived work of an app (the scheduler's loop, the watches) starts when the front
    /// end asks for it.
    pub async fn open(config: Config) -> Result<Self> {
        let lock = DataDirLock::acquire(&config.data_dir)?;
        let supervisor = Supervisor::new();
        let endpoint = config.endpoint();
        let image = Image::open(&endpoint, &config.store).await?;
        if !endpoint.is_embedded() {
            // Other processes may write to a server's image: follow their commits.
            let live = image.clone();
            supervisor.service("image live view", move |shutdown| {
                let live = live.clone();
                async move {
                    tokio::select! {
                        followed = live.follow() => followed.map_err(|e| e.to_string()),
                        () = shutdown.wait() => Ok(()),
                    }
                }
            });
        }
        let awakening = telos_persona::awaken(&image).await?;
        let memory_dir = config
            .memory_uri
            .as_ref()
            .map_or_else(|| config.data_dir.join("memory"), PathBuf::from);
        let mut memory_config = MemoryConfig::with_backend(memory_dir, config.embedder.clone());
        memory_config.supervisor = supervisor.clone();
        memory_config.versions_keep = config.memory_versions_keep;
        memory_config.index_threshold = config.index_threshold;
        memory_config.vsa_dim = config.vsa_dim;
        let memory = Memory::open(image.clone(), memory_config).await?;
        // DESIGN invariant 1: LanceDB is brought back to what the image says before anything
        // reads it. If that cannot run (no embedding weights to re-embed with), Telos still
        // opens and `doctor` shows what is out of line.
        let reconciled = memory.reconcile().await.map_err(|e| {
            tracing::warn!("memory could not be reconciled with the image: {e}");
            e.to_string()
        });
        let hosts = if config.ollama_hosts.is_empty() {
            vec![(config.ollama_host.clone(), config.vram_budget)]
        } else {
            config.ollama_hosts.clone()
        };
        let hosts = hosts
            .iter()
            .map(|(url, budget)| {
                let ollama = Arc::new(telos_scheduler::Ollama::new(url)?);
                Ok(Scheduler::new(ollama, *budget, Vec::new()))
            })
            .collect::<Result<Vec<_>>>()?;
        // An installed Telos answers on its first start: the .deb ships the default model.
        let system_models = Path::new(telos_llama::SYSTEM_MODELS);
        match telos_llama::seed_default_model(&config.embedded.models_dir, system_models) {
            Ok(true) => tracing::info!(
                "the default model is linked from {}",
                system_models.display()
            ),
            Ok(false) => {}
            Err(e) => tracing::warn!(
                "the default model in {} could not be linked into {}: {e}",
                system_models.display(),
                config.embedded.models_dir.display()
            ),
        }
        let llama = telos_llama::Embedded::new(config.embedded.clone());
        let embedded = Scheduler::new(Arc::new(llama.clone()), config.ram_budget, Vec::new());
        let scheduler = Runtimes::with_hosts(
            hosts,
            Some((embedded, config.fallback_model.clone())),
            config.llm,
            Vec::new(),
        );
        scheduler.set_sharing(config.dialogue_share);
        // The roster gives the scheduler its personas (from the image) as it is made.
        let roster = Roster::new(image.clone(), scheduler.clone());
        let voice = Voice::new(
            image.clone(),
            memory.clone(),
            scheduler.clone(),
            roster.clone(),
        );
        let codex = CodexFiles::new(&config.data_dir, image.clone());
        // Methods run in the sandbox; a message nothing understands is forged.
        let runner: Arc<dyn Runner> = Arc::new(LocatedSandbox);
        let forge = Forge::new(voice.clone(), Arc::clone(&runner), config.forge_attempts);
        image.set_invoker(Arc::new(RunnerInvoker(runner)));
        image.set_not_understood(Arc::new(ForgeOnMiss(forge.clone())));
        let status = Status::default();
        let ingest = Ingest::new(voice.clone(), status.clone(), supervisor.clone());
        let agenda = Agenda::new(
            voice.clone(),
            status.clone(),
            supervisor.clone(),
            config.agenda,
            config.data_dir.join("notes"),
        );
        let trainer = telos_ascend::Trainer {
            command: config.trainer.clone(),
            venv: config.trainer_venv.clone(),
            runs: config.data_dir.join("training"),
            models: config.embedded.models_dir.clone(),
            ollama: Some(config.ollama_host.clone()),
        };
        let backups = facade_backup_manager::Backups::new(
            image.clone(),
            memory.clone(),
            config.data_dir.clone(),
        );
        let telos = Self {
            backups,
            trainer,
            ollama_host: config.ollama_host.clone(),
            data_dir: config.data_dir,
            image,
            awakening,
            memory,
            reconciled,
            status,
            scheduler,
            llama,
            roster,
            voice,
            codex,
            forge,
            ingest,
            agenda,
            supervisor,
            _lock: lock,
        };
        telos.follow_personas();
        telos.watch_space();
        Ok(telos)
    }

    /// The data dir this Telos holds.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The living image (a cheap clone can be kept).
    pub fn image(&self) -> &Image {
        &self.image
    }

    /// Episodic memory (a cheap clone can be kept).
    pub fn memory(&self) -> &Memory {
        &self.memory
    }

    /// The runtimes' schedulers (a cheap clone can be kept), thinking with the personas the
    /// image holds now.
    pub fn scheduler(&self) -> &Runtimes {
        self.roster.sync();
        &self.scheduler
    }

    /// The owner of background work: a front end starts its own long-lived tasks (event
    /// forwarding) here, so they end before the image closes.
    pub fn supervisor(&self) -> &Supervisor {
        &self.supervisor
    }

    /// What reconciling memory with the image found when Telos opened.
    pub fn reconciled(&self) -> &std::result::Result<Health, String> {
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

    /// Ends every background task (they hear the shutdown signal; any still running after
    /// 10 s is aborted and reported), then flushes and closes the image. For an owner that
    /// cannot give up `Telos` (a GUI's shared state); nothing may use the image afterwards.
    /// The data dir is released when `Telos` drops.
    pub async fn close(&self) -> Result<()> {
        let closed = self.supervisor.close(CLOSE_GRACE).await;
        if !closed.aborted.is_empty() {
            tracing::warn!("aborted at close: {}", closed.aborted.join(", "));
        }
        self.unplug();
        self.image.shutdown().await?;
        Ok(())
    }

    /// The persona roster follows the image, and the codex files with it.
    fn follow_personas(&self) {
        let roster = self.roster.clone();
        let files = self.codex.clone();
        self.supervisor.service("persona roster", move |shutdown| {
            roster.clone().run(files.clone(), shutdown)
        });
    }

    /// While a full disk keeps the image read-only, its free space is looked at every 2 s,
    /// so that the read-only state ends (and the windows' banner goes) once space returns.
    fn watch_space(&self) {
        let image = self.image.clone();
        self.supervisor
            .service("disk space watch", move |shutdown| {
                let image = image.clone();
                async move {
                    let mut state = image.watch_read_only();
                    loop {
                        let full = state
                            .borrow_and_update()
                            .as_ref()
                            .is_some_and(|r| !r.until_reopened);
                        let wait = async {
                            if full {
                                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                            } else {
                                let _ = state.changed().await;
                            }
                        };
                        tokio::select! {
                            () = shutdown.wait() => return Ok(()),
                            () = wait => {}
                        }
                        if full {
                            image.check_space();
                        }
                    }
                }
            });
    }

    /// The image's seams hold the forge, which holds the image: unplugged, so neither keeps
    /// the other alive once Telos is gone.
    fn unplug(&self) {
        self.image.set_invoker(Arc::new(NoInvoker));
        self.image.set_not_understood(Arc::new(RefuseNotUnderstood));
    }
}

impl Drop for Telos {
    fn drop(&mut self) {
        // Without `close` (a test, a panic): background work is told to stop, and the image's
        // seams are unplugged so it can be freed.
        self.supervisor.stop();
        self.unplug();
    }
}

//! Where and how to open Telos: the data dir, the image's endpoint, the embedder, Ollama, the
//! VRAM budget and the forge's attempts — from flags and the environment.

use std::path::{Path, PathBuf};

use telos_image::{Endpoint, StoreOptions};
use telos_scheduler::Bytes;

use crate::data_dir;
use crate::error::{Error, Result};

/// Where and how to open Telos.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// The image's store; `None` means embedded SurrealKV at `DATA_DIR/image`.
    pub endpoint: Option<Endpoint>,
    pub store: StoreOptions,
    /// What embeds memory's chunks: local MiniLM, or Ollama (`TELOS_EMBEDDER=ollama`).
    pub embedder: telos_memory::ollama::Backend,
    /// Where Ollama listens (`OLLAMA_HOST`, default `http://127.0.0.1:11434`; the first of
    /// `OLLAMA_HOSTS` when that is set).
    pub ollama_host: String,
    /// Several Ollama hosts with their VRAM budgets (`OLLAMA_HOSTS=URL[=BUDGET],…`; a host
    /// without its own budget gets `vram_budget`); empty: `ollama_host` alone.
    pub ollama_hosts: Vec<(String, Bytes)>,
    /// VRAM the personas' models may take together (`TELOS_VRAM_BUDGET`, else the GPU's
    /// memory as `nvidia-smi` reports it, else 8 GiB).
    pub vram_budget: Bytes,
    /// Attempts the Tool Forge gives BRICK (`TELOS_FORGE_ATTEMPTS`, default 3).
    pub forge_attempts: u32,
    /// Which runtimes personas may use (`TELOS_LLM`: `auto`, `ollama` or `embedded`).
    pub llm: telos_scheduler::Mode,
    /// The embedded runtime: its models folder, context, threads (`TELOS_LLM_*`).
    pub embedded: telos_llama::EmbeddedConfig,
    /// The model an Ollama persona falls back to (`TELOS_LLM_MODEL`, default SmolLM2-135M).
    pub fallback_model: String,
    /// RAM the embedded models may take together (`TELOS_RAM_BUDGET`, else half the
    /// machine's memory).
    pub ram_budget: Bytes,
    /// The agenda's caps: acts per hour (`TELOS_AGENDA_PER_HOUR`, default 12) and the share
    /// of time its acts may fill (`TELOS_AGENDA_SHARE`, default 0.2).
    pub agenda: telos_mind::Budget,
    /// A dialogue's sides may speak on one loaded model instead of swapping theirs
    /// (`TELOS_DIALOGUE_SHARE=1`; off by default: each persona speaks with its own model).
    pub dialogue_share: bool,
    /// The trainer `telos train` runs: a shell command (`TELOS_TRAINER`) taking the reference
    /// trainer's arguments, or `None` for the reference trainer in `trainer_venv`.
    pub trainer: Option<String>,
    /// The reference trainer's venv (`TELOS_TRAINER_VENV`, default ~/.cache/telos-trainer,
    /// installed by `scripts/setup-trainer`).
    pub trainer_venv: PathBuf,
    /// Memory on object storage (`TELOS_MEMORY_URI=s3://BUCKET/PATH`, with LanceDB's storage
    /// options from the environment's `AWS_*` variables); `None`: `DATA_DIR/memory`.
    pub memory_uri: Option<String>,
    /// Rows past which memory builds its IVF index (`TELOS_INDEX_THRESHOLD`, default 20,000).
    pub index_threshold: usize,
    /// The dimension of symbols' hypervectors (`TELOS_VSA_DIM`, default 10,000; changing it
    /// makes the cleanup memory again from the image at the next start).
    pub vsa_dim: usize,
    /// How long memory's old table versions are kept (`TELOS_MEMORY_KEEP_MINUTES`, default
    /// 60); cycle records kept are `store.history_keep` (`TELOS_HISTORY_KEEP`).
    pub memory_versions_keep: std::time::Duration,
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
            ollama_hosts: Vec::new(),
            vram_budget: telos_scheduler::DEFAULT_BUDGET,
            forge_attempts: telos_forge::DEFAULT_ATTEMPTS,
            llm: telos_scheduler::Mode::Auto,
            embedded: telos_llama::EmbeddedConfig::new(telos_llama::models_dir()),
            fallback_model: telos_llama::DEFAULT_MODEL.to_string(),
            ram_budget: default_ram_budget(),
            agenda: telos_mind::Budget::default(),
            dialogue_share: false,
            trainer: None,
            trainer_venv: default_trainer_venv(),
            memory_versions_keep: telos_memory::DEFAULT_VERSIONS_KEEP,
            memory_uri: None,
            index_threshold: telos_memory::index::DEFAULT_THRESHOLD,
            vsa_dim: telos_vsa::DEFAULT_DIM,
        }
    }

    /// The data dir from an explicit path, `TELOS_DATA_DIR`, or the platform data dir, and
    /// the endpoint from an explicit URL or `TELOS_ENDPOINT`; the embedder from
    /// `TELOS_EMBEDDER` (with `OLLAMA_HOST` and `TELOS_OLLAMA_EMBED_MODEL`).
    pub fn resolve(data_dir: Option<&Path>, endpoint: Option<&str>) -> Result<Self> {
        let mut config = Self::from_data_dir(data_dir::resolve(data_dir)?);
        config.embedder = telos_memory::ollama::Backend::from_env()?;
        if let Some(host) = var("OLLAMA_HOST") {
            config.ollama_host = host;
        }
        config.vram_budget = vram_budget()?;
        if let Some(text) = var("OLLAMA_HOSTS") {
            config.ollama_hosts = telos_scheduler::hosts::parse_hosts(&text, config.vram_budget)
                .map_err(|reason| Error::Config {
                    name: "OLLAMA_HOSTS".into(),
                    reason,
                })?;
            config.ollama_host = config.ollama_hosts[0].0.clone();
        }
        config.ram_budget = ram_budget()?;
        if let Some(text) = var("TELOS_LLM") {
            config.llm = text.parse().map_err(|reason| Error::Config {
                name: "TELOS_LLM".into(),
                reason,
            })?;
        }
        config.embedded = telos_llama::EmbeddedConfig::from_env()
            .map_err(|(name, reason)| Error::Config { name, reason })?;
        if let Some(model) = var("TELOS_LLM_MODEL") {
            if telos_scheduler::Runtime::of(&model) != telos_scheduler::Runtime::Embedded {
                return Err(Error::Config {
                    name: "TELOS_LLM_MODEL".into(),
                    reason: format!(
                        "{model:?} is not an embedded model (gguf:NAME or hf:OWNER/REPO/FILE.gguf)"
                    ),
                });
            }
            config.fallback_model = model;
        }
        if let Some(text) = var("TELOS_DB_MEMTABLE_MB") {
            let mb: u64 = number(
                "TELOS_DB_MEMTABLE_MB",
                &text,
                16..=4096,
                "a number of MiB from 16 to 4096",
            )?;
            config.store.memtable_bytes = mb << 20;
        }
        if let Some(text) = var("TELOS_HISTORY_KEEP") {
            config.store.history_keep = number(
                "TELOS_HISTORY_KEEP",
                &text,
                100..,
                "a number of cycle records, 100 or more",
            )?;
        }
        if let Some(uri) = var("TELOS_MEMORY_URI") {
            let uri = uri.trim().trim_end_matches('/').to_owned();
            telos_memory::location::check_uri(&uri).map_err(|reason| Error::Config {
                name: "TELOS_MEMORY_URI".into(),
                reason,
            })?;
            config.memory_uri = Some(uri);
        }
        if let Some(text) = var("TELOS_INDEX_THRESHOLD") {
            config.index_threshold = number(
                "TELOS_INDEX_THRESHOLD",
                &text,
                32..,
                "a number of rows, 32 or more",
            )?;
        }
        if let Some(text) = var("TELOS_VSA_DIM") {
            config.vsa_dim = number(
                "TELOS_VSA_DIM",
                &text,
                64..=65_536,
                "a dimension from 64 to 65,536",
            )?;
        }
        if let Some(text) = var("TELOS_MEMORY_KEEP_MINUTES") {
            let minutes: u64 = number(
                "TELOS_MEMORY_KEEP_MINUTES",
                &text,
                ..,
                "a number of minutes",
            )?;
            config.memory_versions_keep = std::time::Duration::from_secs(minutes * 60);
        }
        if let Some(text) = var("TELOS_FORGE_ATTEMPTS") {
            config.forge_attempts = number(
                "TELOS_FORGE_ATTEMPTS",
                &text,
                1..=20,
                "a number of attempts from 1 to 20",
            )?;
        }
        config.trainer = var("TELOS_TRAINER");
        if let Some(venv) = var("TELOS_TRAINER_VENV") {
            config.trainer_venv = PathBuf::from(venv);
        }
        if let Some(text) = var("TELOS_DIALOGUE_SHARE") {
            config.dialogue_share = match text.trim() {
                "1" | "true" | "on" | "yes" => true,
                "0" | "false" | "off" | "no" => false,
                other => {
                    return Err(Error::Config {
                        name: "TELOS_DIALOGUE_SHARE".into(),
                        reason: format!("{other:?} is not 1 or 0 (on or off)"),
                    });
                }
            };
        }
        if let Some(text) = var("TELOS_AGENDA_PER_HOUR") {
            config.agenda.per_hour = text
                .trim()
                .parse()
                .ok()
                .filter(|n| (1..=3600).contains(n))
                .ok_or_else(|| Error::Config {
                    name: "TELOS_AGENDA_PER_HOUR".into(),
                    reason: format!("{text:?} is not a number of acts from 1 to 3600"),
                })?;
        }
        if let Some(text) = var("TELOS_AGENDA_SHARE") {
            config.agenda.share = text
                .trim()
                .parse()
                .ok()
                .filter(|s: &f64| *s > 0.0 && *s <= 1.0)
                .ok_or_else(|| Error::Config {
                    name: "TELOS_AGENDA_SHARE".into(),
                    reason: format!("{text:?} is not a share above 0 and at most 1 (0.2 is 20%)"),
                })?;
        }
        if let Some(e) = endpoint
            .map(str::to_owned)
            .or_else(|| var("TELOS_ENDPOINT"))
        {
            config.endpoint = Some(Endpoint::parse(&e)?);
        }
        if let (Ok(user), Ok(pass)) = (
            std::env::var("TELOS_DB_USER"),
            std::env::var("TELOS_DB_PASS"),
        ) {
            config.store.remote_user = Some((user, pass));
        }
        config.store.allow_cleartext = var("TELOS_DB_ALLOW_CLEARTEXT").is_some_and(|v| v == "1");
        if let Some(name) = var("TELOS_DB_NAME") {
            let name = name.trim();
            if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(Error::Config {
                    name: "TELOS_DB_NAME".into(),
                    reason: format!(
                        "{name:?} is not a database name (letters, digits, _ and - only)"
                    ),
                });
            }
            config.store.database = name.to_owned();
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

/// An environment variable that is set and not blank.
/// ~/.cache/telos-trainer (the cache dir of the platform).
fn default_trainer_venv() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("telos-trainer")
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `TELOS_RAM_BUDGET` (e.g. `4GiB`), else half the machine's memory.
pub fn ram_budget() -> Result<Bytes> {
    match var("TELOS_RAM_BUDGET") {
        Some(text) => text
            .parse()
            .map_err(|e: telos_scheduler::Error| Error::Config {
                name: "TELOS_RAM_BUDGET".into(),
                reason: e.to_string(),
            }),
        None => Ok(default_ram_budget()),
    }
}

/// Half of `MemTotal` (4 GiB where `/proc/meminfo` cannot be read): the rest is the user's.
fn default_ram_budget() -> Bytes {
    let total_kib = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    });
    total_kib.map_or(Bytes::gib(4), |kib| Bytes(kib * 1024 / 2))
}

/// `TELOS_VRAM_BUDGET` (e.g. `8GiB`), else the first GPU's memory from `nvidia-smi`, else
/// 8 GiB.
pub fn vram_budget() -> Result<Bytes> {
    if let Some(text) = var("TELOS_VRAM_BUDGET") {
        return text
            .parse()
            .map_err(|e: telos_scheduler::Error| Error::Config {
                name: "TELOS_VRAM_BUDGET".into(),
                reason: e.to_string(),
            });
    }
    Ok(nvidia_smi().unwrap_or(telos_scheduler::DEFAULT_BUDGET))
}

/// The first GPU's total memory, when `nvidia-smi` is there and answers.
fn nvidia_smi() -> Option<Bytes> {
    let out = std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=memory.total", "--format=csv,noheader,nounits"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let mib: u64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()?;
    Some(Bytes(mib << 20))
}

/// `text`, the value of `name`, read as a number within `range`; the error says it is not
/// `what`.
fn number<T: std::str::FromStr + PartialOrd>(
    name: &str,
    text: &str,
    range: impl std::ops::RangeBounds<T>,
    what: &str,
) -> Result<T> {
    text.trim()
        .parse()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| Error::Config {
            name: name.into(),
            reason: format!("{text:?} is not {what}"),
        })
}

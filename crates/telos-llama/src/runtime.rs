//! The embedded runtime as the scheduler's [`Backend`]: models load into this process (one
//! [`Worker`] thread each), keep their keep-alive the way Ollama does (idle models expire; `0`
//! unloads as the reply ends; `-1` stays), and report their footprint — weights plus KV cache
//! — so the scheduler's policy keeps them inside the RAM budget.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Instant;

use futures::FutureExt;
use futures::future::BoxFuture;
use llama_cpp_2::llama_backend::LlamaBackend;
use serde_json::Value;
use telos_scheduler::ollama::{Running, TokenStream};
use telos_scheduler::{Backend, Bytes, Error, KeepAlive, Message, Result, Runtime};
use tokio::sync::mpsc as tmpsc;

use crate::catalog::{self, ModelInfo};
use crate::worker::{Job, Piece, Sampling, Worker};

/// llama.cpp's process-wide state, made once (with its logs sent to `tracing`).
pub(crate) fn backend() -> &'static LlamaBackend {
    static BACKEND: OnceLock<LlamaBackend> = OnceLock::new();
    BACKEND.get_or_init(|| {
        llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
        LlamaBackend::init().expect("llama.cpp's backend is initialised once, here")
    })
}

/// How the embedded runtime runs models.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddedConfig {
    /// The models folder (`TELOS_MODELS_DIR/llm`, else `~/.cache/telos/models/llm`).
    pub models_dir: PathBuf,
    /// Tokens of context each model is run with, at most what it was trained on
    /// (`TELOS_LLM_CONTEXT`, default 4096).
    pub context: u32,
    /// Threads llama.cpp computes with (`TELOS_LLM_THREADS`, default the cores available).
    pub threads: usize,
    /// Tokens a reply may have before it is cut (`TELOS_LLM_MAX_TOKENS`, default 2048).
    pub max_tokens: u32,
}

impl EmbeddedConfig {
    pub const DEFAULT_CONTEXT: u32 = 4096;
    pub const DEFAULT_MAX_TOKENS: u32 = 2048;

    /// The defaults for `models_dir`.
    pub fn new(models_dir: PathBuf) -> Self {
        Self {
            models_dir,
            context: Self::DEFAULT_CONTEXT,
            threads: std::thread::available_parallelism().map_or(4, |n| n.get()),
            max_tokens: Self::DEFAULT_MAX_TOKENS,
        }
    }

    /// The configuration the environment gives; a malformed variable is an error naming it.
    pub fn from_env() -> std::result::Result<Self, (String, String)> {
        let mut config = Self::new(models_dir());
        let number = |name: &str,
                      min: u64,
                      max: u64|
         -> std::result::Result<Option<u64>, (String, String)> {
            let Some(text) = std::env::var(name).ok().filter(|v| !v.trim().is_empty()) else {
                return Ok(None);
            };
            text.trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .map(Some)
                .ok_or_else(|| {
                    (
                        name.to_string(),
                        format!("{text:?} is not a number from {min} to {max}"),
                    )
                })
        };
        if let Some(n) = number("TELOS_LLM_CONTEXT", 256, 1 << 20)? {
            config.context = n as u32;
        }
        if let Some(n) = number("TELOS_LLM_THREADS", 1, 1024)? {
            config.threads = n as usize;
        }
        if let Some(n) = number("TELOS_LLM_MAX_TOKENS", 1, 1 << 20)? {
            config.max_tokens = n as u32;
        }
        Ok(config)
    }
}

/// Where the .deb installs the default model for every user.
pub const SYSTEM_MODELS: &str = "/usr/share/telos/models/llm";

/// Gives `models` the default model when it lacks one and `system` (the .deb's
/// [`SYSTEM_MODELS`]) has it: a link, so an installed Telos answers on its first start with no
/// download. `Ok(true)` when the link was made.
pub fn seed_default_model(models: &Path, system: &Path) -> std::io::Result<bool> {
    let name = format!(
        "{}.gguf",
        crate::DEFAULT_MODEL.trim_start_matches(crate::GGUF)
    );
    let (have, shipped) = (models.join(&name), system.join(&name));
    if have.exists() || !shipped.is_file() {
        return Ok(false);
    }
    std::fs::create_dir_all(models)?;
    // A dangling link (the package removed since) is replaced.
    let _ = std::fs::remove_file(&have);
    std::os::unix::fs::symlink(&shipped, &have)?;
    Ok(true)
}

/// The models folder: `TELOS_MODELS_DIR/llm`, else the user's cache dir's `telos/models/llm`.
pub fn models_dir() -> PathBuf {
    let base = match std::env::var_os("TELOS_MODELS_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => dirs_cache().join("telos").join("models"),
    };
    base.join("llm")
}

fn dirs_cache() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"))
}

/// The embedded runtime. Cloning is shallow.
#[derive(Clone)]
pub struct Embedded {
    inner: Arc<Inner>,
}

struct Inner {
    config: EmbeddedConfig,
    host: String,
    loaded: Mutex<BTreeMap<String, Loaded>>,
    /// Loads in flight, one per model: a second `load` of the same model waits for it.
    loading: tokio::sync::Mutex<()>,
}

struct Loaded {
    worker: Arc<Worker>,
    info: ModelInfo,
    keep_alive: KeepAlive,
    activity: Arc<Activity>,
}

#[derive(Default)]
struct Activity {
    replies: AtomicUsize,
    last: Mutex<Option<Instant>>,
}

impl Activity {
    fn idle_for(&self) -> Option<f64> {
        if self.replies.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let last = *self.last.lock().unwrap_or_else(|e| e.into_inner());
        Some(last.map_or(f64::INFINITY, |t| t.elapsed().as_secs_f64()))
    }
}

impl Embedded {
    pub fn new(config: EmbeddedConfig) -> Self {
        let host = format!(
            "embedded llama.cpp ({} threads, {} tokens of context)",
            config.threads, config.context
        );
        Self {
            inner: Arc::new(Inner {
                config,
                host,
                loaded: Mutex::default(),
                loading: tokio::sync::Mutex::const_new(()),
            }),
        }
    }

    pub fn config(&self) -> &EmbeddedConfig {
        &self.inner.config
    }

    /// What `model` is, read from its file: an error naming the file if it is missing or
    /// cannot be used.
    pub fn info(&self, model: &str) -> Result<ModelInfo> {
        let dir = &self.inner.config.models_dir;
        let path = catalog::path_of(dir, model).ok_or_else(|| Error::EmbeddedMissing {
            model: model.to_string(),
            dir: dir.clone(),
        })?;
        if !path.is_file() || (model.starts_with(catalog::HF) && is_unpinned(dir, model)) {
            return Err(Error::EmbeddedMissing {
                model: model.to_string(),
                dir: dir.clone(),
            });
        }
        catalog::inspect(model, &path, self.inner.config.context)
    }

    /// Every model in the models folder (those that cannot be read, with why).
    pub fn models(&self) -> Vec<std::result::Result<ModelInfo, (String, Error)>> {
        catalog::scan(&self.inner.config.models_dir, self.inner.config.context)
    }

    fn loaded(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Loaded>> {
        self.inner.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Loads `model` unless it is loaded; sets its keep-alive either way.
    async fn ensure(&self, model: &str, keep_alive: KeepAlive) -> Result<Arc<Worker>> {
        let _one = self.inner.loading.lock().await;
        if let Some(l) = self.loaded().get_mut(model) {
            l.keep_alive = keep_alive;
            return Ok(Arc::clone(&l.worker));
        }
        let info = self.info(model)?;
        let threads = i32::try_from(self.inner.config.threads).unwrap_or(i32::MAX);
        let started = Instant::now();
        let worker = Arc::new(Worker::start(info.clone(), threads).await?);
        tracing::info!(
            "loaded {model} ({}) in {:.2} s",
            info.footprint,
            started.elapsed().as_secs_f64()
        );
        self.loaded().insert(
            model.to_string(),
            Loaded {
                worker: Arc::clone(&worker),
                info,
                keep_alive,
                activity: Arc::new(Activity {
                    replies: AtomicUsize::new(0),
                    last: Mutex::new(Some(Instant::now())),
                }),
            },
        );
        Ok(worker)
    }

    /// Takes out models whose keep-alive ran out while idle, and frees them off the async
    /// runtime.
    async fn expire(&self) {
        let gone: Vec<Loaded> = {
            let mut loaded = self.loaded();
            let expired: Vec<String> = loaded
                .iter()
                .filter(
                    |(_, l)| match (l.keep_alive.idle_secs(), l.activity.idle_for()) {
                        (Some(limit), Some(idle)) => idle >= limit,
                        _ => false,
                    },
                )
                .map(|(k, _)| k.clone())
                .collect();
            expired.iter().filter_map(|k| loaded.remove(k)).collect()
        };
        if !gone.is_empty() {
            free(gone).await;
        }
    }
}

/// Drops loaded models on a blocking thread (each waits for its worker to end).
async fn free(gone: Vec<Loaded>) {
    let names: Vec<String> = gone.iter().map(|l| l.info.name.clone()).collect();
    if tokio::task::spawn_blocking(move || drop(gone))
        .await
        .is_err()
    {
        tracing::warn!("freeing {} panicked", names.join(", "));
    }
}

/// A hub file without its pin is a pull that did not finish.
fn is_unpinned(dir: &std::path::Path, model: &str) -> bool {
    crate::hub::HubFile::parse(model).map_or(true, |f| f.pin(dir).is_none())
}

/// The grammar for Ollama's `format`: a JSON schema, or `"json"` for any JSON object.
fn grammar_of(model: &str, format: &Value) -> Result<String> {
    let schema = match format {
        Value::String(s) if s == "json" => serde_json::json!({"type": "object"}),
        Value::Object(_) => format.clone(),
        other => {
            return Err(Error::Embedded {
                model: model.to_string(),
                message: format!("format must be a JSON schema or \"json\", not {other}"),
            });
        }
    };
    llama_cpp_2::json_schema_to_grammar(&schema.to_string()).map_err(|e| Error::Embedded {
        model: model.to_string(),
        message: format!("the JSON schema cannot be turned into a grammar: {e}"),
    })
}

/// Marks a reply running on a model until dropped; a model kept for `0` is freed then.
struct Replying {
    activity: Arc<Activity>,
    model: String,
    runtime: Weak<Inner>,
}

impl Drop for Replying {
    fn drop(&mut self) {
        *self.activity.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        let left = self.activity.replies.fetch_sub(1, Ordering::SeqCst) - 1;
        let Some(inner) = self.runtime.upgrade() else {
            return;
        };
        if left == 0 {
            let mut loaded = inner.loaded.lock().unwrap_or_else(|e| e.into_inner());
            if loaded
                .get(&self.model)
                .is_some_and(|l| l.keep_alive == KeepAlive::Zero)
                && let Some(l) = loaded.remove(&self.model)
            {
                drop(loaded);
                // Not on this thread: it may be the async runtime's.
                std::thread::spawn(move || drop(l));
            }
        }
    }
}

impl Backend for Embedded {
    fn host(&self) -> &str {
        &self.inner.host
    }

    fn runtime(&self) -> Runtime {
        Runtime::Embedded
    }

    fn ps(&self) -> BoxFuture<'_, Result<Vec<Running>>> {
        async move {
            self.expire().await;
            Ok(self
                .loaded()
                .values()
                .map(|l| Running {
                    model: l.info.name.clone(),
                    size_vram: l.info.footprint,
                })
                .collect())
        }
        .boxed()
    }

    fn load<'a>(&'a self, model: &'a str, keep_alive: KeepAlive) -> BoxFuture<'a, Result<()>> {
        async move { self.ensure(model, keep_alive).await.map(drop) }.boxed()
    }

    fn unload<'a>(&'a self, model: &'a str) -> BoxFuture<'a, Result<()>> {
        async move {
            let gone = self.loaded().remove(model);
            if let Some(l) = gone {
                free(vec![l]).await;
            }
            Ok(())
        }
        .boxed()
    }

    fn installed(&self) -> BoxFuture<'_, Result<Vec<(String, Bytes)>>> {
        async move {
            let me = self.clone();
            let models = tokio::task::spawn_blocking(move || me.models())
                .await
                .map_err(|e| Error::Embedded {
                    model: String::new(),
                    message: format!("listing the models folder: {e}"),
                })?;
            Ok(models
                .into_iter()
                .filter_map(|m| m.ok())
                .map(|m| (m.name, m.footprint))
                .collect())
        }
        .boxed()
    }

    fn chat<'a>(
        &'a self,
        model: &'a str,
        messages: Vec<Message>,
        keep_alive: KeepAlive,
        format: Option<Value>,
    ) -> BoxFuture<'a, Result<TokenStream>> {
        async move {
            let grammar = format.as_ref().map(|f| grammar_of(model, f)).transpose()?;
            let worker = self.ensure(model, keep_alive).await?;
            let activity = match self.loaded().get(model) {
                Some(l) => Arc::clone(&l.activity),
                None => Arc::default(),
            };
            activity.replies.fetch_add(1, Ordering::SeqCst);
            let replying = Replying {
                activity,
                model: model.to_string(),
                runtime: Arc::downgrade(&self.inner),
            };
            let (out, rx) = tmpsc::unbounded_channel();
            let job = Job {
                messages,
                sampling: Sampling {
                    grammar,
                    max_tokens: self.inner.config.max_tokens,
                    seed: seed(),
                },
                out,
            };
            if !worker.send(job) {
                return Err(Error::Embedded {
                    model: model.to_string(),
                    message:
                        "its thread has ended (see the log); it loads again on the next request"
                            .into(),
                });
            }
            Ok(stream(rx, model.to_string(), replying))
        }
        .boxed()
    }
}

/// A seed per reply, as Ollama samples unless told otherwise.
fn seed() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    nanos ^ std::process::id().rotate_left(16)
}

/// The reply's pieces as the scheduler streams them; the end is an explicit `None` from the
/// worker, so a worker that dies mid-reply is a cut, not a short answer.
fn stream(rx: tmpsc::UnboundedReceiver<Piece>, model: String, replying: Replying) -> TokenStream {
    Box::pin(futures::stream::unfold(
        Some((rx, replying)),
        move |state| {
            let model = model.clone();
            async move {
                let (mut rx, replying) = state?;
                match rx.recv().await {
                    Some(Ok(Some(text))) => Some((Ok(text), Some((rx, replying)))),
                    Some(Ok(None)) => None,
                    Some(Err(e)) => Some((Err(e), None)),
                    None => Some((
                        Err(Error::Cut {
                            model,
                            reason: "the embedded runtime stopped before the reply was done".into(),
                        }),
                        None,
                    )),
                }
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_default_model_is_linked_into_an_empty_models_folder_once() {
        let (models, system) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mine = models.path().join("llm");
        assert!(
            !seed_default_model(&mine, system.path()).unwrap(),
            "nothing shipped"
        );
        let name = "SmolLM2-135M-Instruct.Q4_1.gguf";
        std::fs::write(system.path().join(name), b"GGUF").unwrap();
        assert!(seed_default_model(&mine, system.path()).unwrap());
        assert_eq!(std::fs::read(mine.join(name)).unwrap(), b"GGUF");
        assert!(
            !seed_default_model(&mine, system.path()).unwrap(),
            "already there"
        );
        // The user's own file is never replaced.
        std::fs::remove_file(mine.join(name)).unwrap();
        std::fs::write(mine.join(name), b"mine").unwrap();
        assert!(!seed_default_model(&mine, system.path()).unwrap());
        assert_eq!(std::fs::read(mine.join(name)).unwrap(), b"mine");
    }
}

//! A FAKE Ollama, for tests only (never shipped): an HTTP server on 127.0.0.1 that speaks the
//! parts of Ollama's API Telos uses — `/api/chat`, `/api/generate` (including the empty-prompt
//! load and `keep_alive: 0` unload), `/api/ps`, `/api/show`, `/api/tags`, `/api/pull` — with `keep_alive`
//! semantics, load delays, simulated VRAM of a set capacity that records every load past it,
//! and replies scripted per model. The product reaches it only through its real client code.
//!
//! A script (JSON, also the `ollama-stub` binary's `--script` file):
//!
//! ```json
//! {"capacity": "8GiB", "token_ms": 2,
//!  "models": [{"name": "phi3:3.8b", "size": "2.2GB", "load_ms": 30}],
//!  "replies": {"phi3:3.8b": ["Hello there.", {"text": "Cut short here", "cut_after": 2},
//!                            {"error": "out of memory"}]}}
//! ```
//!
//! Replies are used in order per model; once a model's are used up it echoes the last user
//! message. `cut_after: N` drops the connection after N tokens; `error` sends Ollama's
//! mid-stream `{"error": …}` line. `GET /stub/log` returns what happened: actions (load,
//! unload, expire, chat) in order, the over-budget loads and what is loaded.

mod routes;

use routes::*;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use telos_core::scheduler::{Bytes, KeepAlive};

/// One model the stub can serve.
#[derive(Debug, Clone, Deserialize)]
pub struct StubModel {
    pub name: String,
    pub size: Bytes,
    #[serde(default)]
    pub load_ms: u64,
}

/// A scripted reply.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Reply {
    Text(String),
    Shaped {
        #[serde(default)]
        text: String,
        #[serde(default)]
        cut_after: Option<usize>,
        #[serde(default)]
        error: Option<String>,
    },
}

/// What the stub serves.
#[derive(Debug, Clone, Deserialize)]
pub struct Script {
    pub capacity: Bytes,
    #[serde(default)]
    pub token_ms: u64,
    pub models: Vec<StubModel>,
    #[serde(default)]
    pub replies: HashMap<String, Vec<Reply>>,
}

impl Script {
    /// Adds the replies in `path`, a JSON file of model name → replies in the order they
    /// are served (each a text, or `{"text", "cut_after", "error"}`).
    pub fn with_replies_from(mut self, path: &std::path::Path) -> Self {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("the stub's replies {}: {e}", path.display()));
        let replies: HashMap<String, Vec<Reply>> = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("the stub's replies {}: {e}", path.display()));
        for (model, list) in replies {
            self.replies.entry(model).or_default().extend(list);
        }
        self
    }

    /// DESIGN.md's four models at the table's sizes, on an 8 GiB card.
    pub fn design_table() -> Self {
        let m = |name: &str, gb: f64| StubModel {
            name: name.into(),
            size: Bytes::gb(gb),
            load_ms: 20,
        };
        Self {
            capacity: Bytes::gib(8),
            token_ms: 1,
            models: vec![
                m("phi3:3.8b", 2.2),
                m("mistral:7b", 4.1),
                m("gemma2:9b", 5.4),
                m("qwen2:7b", 4.4),
            ],
            replies: HashMap::new(),
        }
    }
}

struct Loaded {
    name: String,
    size: Bytes,
    keep_alive: KeepAlive,
    /// Requests running on it.
    active: usize,
    /// Idle since (for the keep-alive clock).
    idle_since: Instant,
}

#[derive(Default)]
struct Log {
    actions: Vec<Value>,
    over_budget: Vec<Value>,
}

struct Stub {
    script: Script,
    replies: Mutex<HashMap<String, VecDeque<Reply>>>,
    loaded: Mutex<Vec<Loaded>>,
    log: Mutex<Log>,
    /// The messages of each model's last chat.
    messages: Mutex<HashMap<String, Value>>,
    /// The last `format` (structured output schema) asked of each model.
    formats: Mutex<HashMap<String, Value>>,
    /// Blobs uploaded (`/api/blobs`), by digest, with their sizes.
    blobs: Mutex<HashMap<String, u64>>,
    /// Models made with `/api/create`.
    created: Mutex<Vec<StubModel>>,
    start: Instant,
}

/// A running stub; dropping it (or [`OllamaStub::stop`]) kills it like `kill -9` would:
/// connections cut, nothing loaded any more.
pub struct OllamaStub {
    pub addr: SocketAddr,
    stub: Arc<Stub>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl OllamaStub {
    /// Starts a stub on a free port of 127.0.0.1.
    pub fn start(script: Script) -> Self {
        Self::start_on("127.0.0.1:0".parse().expect("an address"), script)
    }

    /// Starts a stub on `addr` (a restarted Ollama comes back on the same port).
    pub fn start_on(addr: SocketAddr, script: Script) -> Self {
        let replies = script
            .replies
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().cloned().collect()))
            .collect();
        let stub = Arc::new(Stub {
            script,
            replies: Mutex::new(replies),
            loaded: Mutex::new(Vec::new()),
            log: Mutex::new(Log::default()),
            messages: Mutex::new(HashMap::new()),
            formats: Mutex::new(HashMap::new()),
            blobs: Mutex::new(HashMap::new()),
            created: Mutex::new(Vec::new()),
            start: Instant::now(),
        });
        let listener = std::net::TcpListener::bind(addr)
            .unwrap_or_else(|e| panic!("the Ollama stub cannot listen on {addr}: {e}"));
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = stub.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("stub runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let expiry = shared.clone();
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        expiry.expire();
                    }
                });
                let app = Router::new()
                    .route("/", get(|| async { "Ollama is running" }))
                    .route(
                        "/api/version",
                        get(|| async { axum::Json(json!({"version": "0.0.0-stub"})) }),
                    )
                    .route("/api/tags", get(tags))
                    .route("/api/ps", get(ps))
                    .route("/api/show", post(show))
                    .route("/api/generate", post(generate))
                    .route("/api/chat", post(chat))
                    .route("/api/pull", post(pull))
                    .route(
                        "/api/blobs/{digest}",
                        axum::routing::head(has_blob).post(put_blob),
                    )
                    .route("/api/create", post(create))
                    .route("/stub/log", get(log))
                    // A blob is a whole GGUF.
                    .layer(axum::extract::DefaultBodyLimit::disable())
                    .with_state(shared);
                tokio::select! {
                    served = axum::serve(listener, app) => served.expect("stub server"),
                    _ = stopped => {}
                }
            });
            // Dropping the runtime here cuts every connection, as a killed process would.
        });
        Self {
            addr,
            stub,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`, for `OLLAMA_HOST`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Kills the stub.
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(()); // the server may already be gone
        }
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the stub thread ends");
        }
    }

    /// Everything that happened: `{"actions": [...], "over_budget": [...], "loaded": [...]}`.
    pub fn log(&self) -> Value {
        self.stub.log_json()
    }

    /// The actions only, as `"load mistral:7b 5m"`, `"unload mistral:7b"`, `"expire …"`,
    /// `"chat …"` lines.
    pub fn actions(&self) -> Vec<String> {
        self.stub
            .log
            .lock()
            .unwrap()
            .actions
            .iter()
            .map(|a| {
                let mut line = format!(
                    "{} {}",
                    a["action"].as_str().unwrap_or(""),
                    a["model"].as_str().unwrap_or("")
                );
                if let Some(k) = a.get("keep_alive") {
                    line.push(' ');
                    line.push_str(&KeepAlive::to_string(
                        &serde_json::from_value(k.clone()).unwrap_or(KeepAlive::DEFAULT),
                    ));
                }
                line
            })
            .collect()
    }

    /// Models loaded now and the VRAM they take.
    pub fn loaded(&self) -> (Vec<String>, Bytes) {
        let loaded = self.stub.loaded.lock().unwrap();
        let mut names: Vec<String> = loaded.iter().map(|l| l.name.clone()).collect();
        names.sort();
        (names, Bytes(loaded.iter().map(|l| l.size.0).sum()))
    }

    /// The last `format` a chat asked of `model` (`Null` if none did).
    pub fn last_format(&self, model: &str) -> Value {
        self.stub
            .formats
            .lock()
            .unwrap()
            .get(model)
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// The messages `model`'s last chat was sent (`[{"role", "content"}, …]`).
    pub fn last_messages(&self, model: &str) -> Value {
        self.stub
            .messages
            .lock()
            .unwrap()
            .get(model)
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// Loads that went past the capacity (must stay empty).
    pub fn over_budget(&self) -> Vec<Value> {
        self.stub.log.lock().unwrap().over_budget.clone()
    }
}

impl Drop for OllamaStub {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Stub {
    fn model(&self, name: &str) -> Option<&StubModel> {
        self.script.models.iter().find(|m| m.name == name)
    }

    fn record(&self, action: &str, model: &str, keep_alive: Option<KeepAlive>) {
        let mut entry = json!({
            "at_ms": self.start.elapsed().as_millis() as u64,
            "action": action,
            "model": model,
        });
        if let Some(k) = keep_alive {
            entry["keep_alive"] = k.to_json();
        }
        self.log.lock().unwrap().actions.push(entry);
    }

    fn log_json(&self) -> Value {
        let log = self.log.lock().unwrap();
        let loaded: Vec<Value> = self
            .loaded
            .lock()
            .unwrap()
            .iter()
            .map(|l| json!({"model": l.name, "size": l.size.0, "keep_alive": l.keep_alive.to_json()}))
            .collect();
        json!({"actions": log.actions, "over_budget": log.over_budget, "loaded": loaded})
    }

    /// Loads `name` (after its load delay) unless loaded; sets its keep-alive either way.
    /// With `hold`, the model comes back busy (a request runs on it) for the caller to
    /// [`Stub::release`].
    async fn ensure_loaded(
        &self,
        name: &str,
        keep_alive: KeepAlive,
        hold: bool,
    ) -> Result<(), Response> {
        let Some(model) = self.model(name).cloned() else {
            return Err(not_found(name));
        };
        {
            let mut loaded = self.loaded.lock().unwrap();
            if let Some(l) = loaded.iter_mut().find(|l| l.name == name) {
                l.keep_alive = keep_alive;
                if hold {
                    l.active += 1;
                }
                return Ok(());
            }
            let used: u64 = loaded.iter().map(|l| l.size.0).sum();
            if used + model.size.0 > self.script.capacity.0 {
                let names: Vec<&str> = loaded.iter().map(|l| l.name.as_str()).collect();
                self.log.lock().unwrap().over_budget.push(json!({
                    "model": name, "size": model.size.0, "used_before": used,
                    "capacity": self.script.capacity.0, "loaded": names,
                }));
            }
            loaded.push(Loaded {
                name: name.into(),
                size: model.size,
                keep_alive,
                active: 1, // held while loading, so the expiry clock waits
                idle_since: Instant::now(),
            });
        }
        self.record("load", name, Some(keep_alive));
        tokio::time::sleep(Duration::from_millis(model.load_ms)).await;
        if !hold {
            self.release(name);
        }
        Ok(())
    }

    fn release(&self, name: &str) {
        if let Some(l) = self
            .loaded
            .lock()
            .unwrap()
            .iter_mut()
            .find(|l| l.name == name)
        {
            l.active = l.active.saturating_sub(1);
            l.idle_since = Instant::now();
        }
        self.expire();
    }

    fn unload(&self, name: &str) {
        let mut loaded = self.loaded.lock().unwrap();
        if let Some(at) = loaded.iter().position(|l| l.name == name) {
            loaded.remove(at);
            drop(loaded);
            self.record("unload", name, None);
        }
    }

    /// Unloads idle models whose keep-alive has run out.
    fn expire(&self) {
        let mut gone = Vec::new();
        self.loaded.lock().unwrap().retain(|l| {
            let due = l.active == 0
                && l.keep_alive
                    .idle_secs()
                    .is_some_and(|s| l.idle_since.elapsed().as_secs_f64() >= s);
            if due {
                gone.push(l.name.clone());
            }
            !due
        });
        for name in gone {
            self.record("expire", &name, None);
        }
    }

    fn next_reply(&self, model: &str, last_user: &str) -> Reply {
        self.replies
            .lock()
            .unwrap()
            .get_mut(model)
            .and_then(VecDeque::pop_front)
            .unwrap_or_else(|| Reply::Text(format!("You said: {last_user}")))
    }
}

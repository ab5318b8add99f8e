//! The live scheduler: personas ask for their model, and it decides with [`decide`] what
//! Ollama loads and unloads, then confirms each action with `/api/ps` before going on.
//!
//! - A request takes a [`Lease`] on its model: one request per model at a time, in arrival
//!   order per model. Dropping the lease (the reply is over or cancelled) frees the model.
//! - Loads go strictly in arrival order: once the oldest request that needs a load has to
//!   wait, no younger one loads before it, and the busy models it will evict are *drained*
//!   (no request younger than it starts on them), so it cannot starve. A model an older
//!   request waits for is never evicted from under it.
//! - `/api/ps` answers are judged against the tables as they were when asked: a change
//!   made meanwhile (a model loaded by its own request and released) is not undone by a
//!   stale answer, and confirming an unload removes that entry only, never a new load.
//! - VRAM counts a model from the moment its load starts until `/api/ps` shows it gone, so
//!   the budget holds even while Ollama works (DESIGN invariant 5). A model that can never
//!   fit beside the pinned ones is refused at once.
//! - Pinned personas' models (`keep_alive: -1`) are loaded at start and after Ollama comes
//!   back; a slow poll of `/api/ps` notices keep-alive expiries and restarts.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};

use crate::error::{Error, Result};
use crate::model::{Bytes, KeepAlive, Persona};
use crate::ollama::{Backend, Message, TokenStream};
use crate::plan::Resident;

/// How long Ollama may take to show a load or an unload in `/api/ps`.
const CONFIRM: Duration = Duration::from_secs(120);
/// How often `/api/ps` is read while nothing happens.
pub const SLOW_POLL: Duration = Duration::from_secs(2);

/// A model's state, for the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ModelState {
    Loading,
    Loaded,
    Unloading,
}

/// One model in (or entering, or leaving) VRAM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelStatus {
    pub model: String,
    pub size: Bytes,
    pub state: ModelState,
    /// A request is running on it.
    pub busy: bool,
    pub pinned: bool,
    /// The personas that think with it.
    pub personas: Vec<String>,
}

/// What the scheduler is doing, as the UI shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub host: String,
    /// Ollama has been asked at least once (until then nothing is known).
    pub seen: bool,
    /// `None` while Ollama answers; else why it does not and how to fix it.
    pub offline: Option<String>,
    pub budget: Bytes,
    pub used: Bytes,
    pub models: Vec<ModelStatus>,
    /// Requests waiting, per model.
    pub queues: BTreeMap<String, usize>,
    pub loads: u64,
    pub unloads: u64,
    /// The models installed and their sizes on disk (Ollama's `/api/tags`; the embedded
    /// runtime's files with their footprints), as last read; `None` before the first read.
    pub installed: Option<Vec<(String, Bytes)>>,
}

#[derive(Debug, Clone)]
struct Entry {
    /// `resident.busy`: a request holds the model's lease.
    resident: Resident,
    state: ModelState,
    /// [`State::seq`] when the entry last changed: an `/api/ps` answer asked for before
    /// then may predate the change, so it cannot remove the entry.
    touched: u64,
}

struct Ticket {
    model: String,
    /// [`State::outages`] when the request began to wait.
    outages: u64,
}

#[derive(Default)]
struct State {
    /// Keyed by model.
    models: Vec<Entry>,
    /// Waiting requests by arrival.
    tickets: BTreeMap<u64, Ticket>,
    next_ticket: u64,
    /// Busy models the oldest waiting load will evict: no request younger than that load
    /// (`drain_for`, its ticket) starts on them.
    drain: Vec<String>,
    drain_for: u64,
    /// Measured footprints (`/api/ps` `size_vram`) and sizes on disk (`/api/tags`).
    measured: BTreeMap<String, Bytes>,
    on_disk: BTreeMap<String, Bytes>,
    /// When `on_disk` was last read.
    installed_at: Option<Instant>,
    offline: Option<String>,
    /// Times the backend went from answering to not: a request that waited through one is
    /// answered `Offline` at once (another host may take it).
    outages: u64,
    /// `/api/ps` has been read at least once.
    seen: bool,
    loads: u64,
    unloads: u64,
    /// Counts every change to `models`.
    seq: u64,
}

impl State {
    /// The next change's number.
    fn tick(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Marks `model`'s entry changed now.
    fn touch(&mut self, model: &str) {
        let seq = self.tick();
        if let Some(m) = self.models.iter_mut().find(|m| m.resident.model == model) {
            m.touched = seq;
        }
    }

    /// Adds `model` as loading for `persona` (changed now).
    fn loading(&mut self, model: &str, size: Bytes, persona: &Persona) {
        let touched = self.tick();
        self.models.push(Entry {
            resident: Resident {
                model: model.to_string(),
                size,
                keep_alive: persona.keep_alive,
                priority: persona.priority,
                busy: false,
                last_used: now_secs(),
            },
            state: ModelState::Loading,
            touched,
        });
    }

    /// The backend does not answer (`why`): what it had loaded is gone with it, or
    /// unknowable, so nothing counts as loaded but what is mid-action (busy, loading, or
    /// changed after `asked`).
    fn down(&mut self, why: String, asked: u64) {
        if self.offline.is_none() {
            self.outages += 1;
        }
        self.offline = Some(why);
        self.models
            .retain(|m| m.resident.busy || m.state == ModelState::Loading || m.touched > asked);
    }

    /// Marks `victims` as unloading (changed now).
    fn unloading(&mut self, victims: &[String]) {
        for m in self
            .models
            .iter_mut()
            .filter(|m| victims.contains(&m.resident.model))
        {
            m.state = ModelState::Unloading;
        }
        for v in victims {
            self.touch(v);
        }
    }
}

struct Inner {
    backend: Arc<dyn Backend>,
    budget: Bytes,
    /// The personas as their codex says now (the codex watcher replaces them).
    personas: Mutex<Vec<Persona>>,
    /// Never held across an `.await`: every section only reads and edits the tables.
    state: Mutex<State>,
    changed: Notify,
    status: watch::Sender<Status>,
}

/// The scheduler. Cloning it is shallow: every clone drives the same state.
#[derive(Clone)]
pub struct Scheduler {
    inner: Arc<Inner>,
}

/// What to do next for one waiting request.
enum Step {
    Go,
    Load(String, KeepAlive),
    Unload(Vec<String>),
    Wait,
}

mod acquire;
mod actions;
mod poll;
mod prepare;

pub use acquire::Lease;

impl Scheduler {
    /// A scheduler over `backend` with `budget` of VRAM. Call [`Scheduler::run`] (in a task)
    /// to load pinned models and keep up with Ollama.
    pub fn new(backend: Arc<dyn Backend>, budget: Bytes, personas: Vec<Persona>) -> Self {
        let status = Status {
            host: backend.host().to_string(),
            budget,
            ..Status::default()
        };
        Self {
            inner: Arc::new(Inner {
                backend,
                budget,
                personas: Mutex::new(personas),
                state: Mutex::new(State::default()),
                changed: Notify::new(),
                status: watch::channel(status).0,
            }),
        }
    }

    /// The status now and every change (coalesced: a slow reader sees the latest).
    pub fn watch(&self) -> watch::Receiver<Status> {
        self.inner.status.subscribe()
    }

    /// Where its backend is (`http://HOST:PORT`, or the embedded runtime's description).
    pub fn host(&self) -> &str {
        self.inner.backend.host()
    }

    /// The status now.
    pub fn status(&self) -> Status {
        self.inner.status.borrow().clone()
    }

    /// The personas now.
    pub fn personas(&self) -> Vec<Persona> {
        self.inner.personas.lock().unwrap().clone()
    }

    /// Replaces the personas (an approved codex amendment).
    pub fn set_personas(&self, personas: Vec<Persona>) {
        *self.inner.personas.lock().unwrap() = personas;
        self.publish();
        self.inner.changed.notify_waiters();
    }

    fn publish(&self) {
        let personas = self.personas();
        let s = self.inner.state.lock().unwrap();
        let mut queues = BTreeMap::new();
        for t in s.tickets.values() {
            *queues.entry(t.model.clone()).or_insert(0) += 1;
        }
        let status = Status {
            host: self.inner.backend.host().to_string(),
            seen: s.seen,
            offline: s.offline.clone(),
            budget: self.inner.budget,
            used: Bytes(s.models.iter().map(|m| m.resident.size.0).sum()),
            models: s
                .models
                .iter()
                .map(|m| ModelStatus {
                    model: m.resident.model.clone(),
                    size: m.resident.size,
                    state: m.state,
                    busy: m.resident.busy,
                    pinned: m.resident.pinned(),
                    personas: personas
                        .iter()
                        .filter(|p| p.model == m.resident.model)
                        .map(|p| p.name.clone())
                        .collect(),
                })
                .collect(),
            queues,
            loads: s.loads,
            unloads: s.unloads,
            installed: s
                .installed_at
                .map(|_| s.on_disk.iter().map(|(m, b)| (m.clone(), *b)).collect()),
        };
        drop(s);
        self.inner.status.send_if_modified(|old| {
            let changed = *old != status;
            *old = status;
            changed
        });
    }
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

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
use crate::plan::{Decision, Policy, Resident, Want, decide, never_fits};

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
    offline: Option<String>,
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

    /// Keeps up with Ollama until `shutdown` resolves: reads `/api/ps` every [`SLOW_POLL`],
    /// (re)loads pinned models, and notices Ollama going away and coming back.
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            self.refresh().await;
            self.load_pinned().await;
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(SLOW_POLL) => {}
            }
        }
    }

    /// Reads `/api/ps` and makes the tables agree with it.
    pub async fn refresh(&self) {
        // What changes after this may not show in the answer yet (a model loaded by its
        // request and already released, say): only older entries are judged by it.
        let asked = self.inner.state.lock().unwrap().seq;
        let ps = self.inner.backend.ps().await;
        let installed = match &ps {
            Ok(_) if self.inner.state.lock().unwrap().on_disk.is_empty() => {
                self.inner.backend.installed().await.ok()
            }
            _ => None,
        };
        {
            let personas = self.personas();
            let mut s = self.inner.state.lock().unwrap();
            if let Some(installed) = installed {
                s.on_disk = installed.into_iter().collect();
            }
            s.seen = true;
            match ps {
                Err(e) => {
                    s.offline = Some(e.to_string());
                    // What Ollama had is gone with it, or unknowable: nothing counts as loaded
                    // but what is mid-action.
                    s.models.retain(|m| {
                        m.resident.busy || m.state == ModelState::Loading || m.touched > asked
                    });
                }
                Ok(running) => {
                    s.offline = None;
                    for r in &running {
                        if r.size_vram.0 > 0 {
                            s.measured.insert(r.model.clone(), r.size_vram);
                        }
                    }
                    // Gone from Ollama: unloaded (or expired) unless we are loading it.
                    // (A model with a request running stays: Ollama may be reloading it.)
                    s.models.retain(|m| {
                        m.state == ModelState::Loading
                            || m.resident.busy
                            || m.touched > asked
                            || running.iter().any(|r| r.model == m.resident.model)
                    });
                    for r in running {
                        match s.models.iter_mut().find(|m| m.resident.model == r.model) {
                            Some(m) => {
                                if r.size_vram.0 > 0 {
                                    m.resident.size = r.size_vram;
                                }
                            }
                            None => {
                                // Loaded by someone else (or before we started): it takes
                                // VRAM all the same.
                                let (keep_alive, priority) = personas
                                    .iter()
                                    .filter(|p| p.model == r.model)
                                    .map(|p| (p.keep_alive, p.priority))
                                    .max_by_key(|x| x.1)
                                    .unwrap_or((KeepAlive::DEFAULT, i32::MIN));
                                let touched = s.tick();
                                s.models.push(Entry {
                                    resident: Resident {
                                        model: r.model.clone(),
                                        size: r.size_vram,
                                        keep_alive,
                                        priority,
                                        busy: false,
                                        last_used: 0.0,
                                    },
                                    state: ModelState::Loaded,
                                    touched,
                                });
                            }
                        }
                    }
                }
            }
        }
        self.publish();
        self.inner.changed.notify_waiters();
    }

    /// Loads every pinned persona's model that is not loaded (at start, after a restart).
    async fn load_pinned(&self) {
        let pinned: Vec<Persona> = self
            .personas()
            .into_iter()
            .filter(|p| p.keep_alive.pinned())
            .collect();
        for p in pinned {
            let missing = {
                let s = self.inner.state.lock().unwrap();
                s.offline.is_none() && !s.models.iter().any(|m| m.resident.model == p.model)
            };
            if missing {
                // Failures show in the status; the next poll tries again.
                if let Err(e) = self.acquire(&p.name).await {
                    tracing::warn!("loading pinned {} ({}): {e}", p.name, p.model);
                }
            }
        }
    }

    /// Waits for `persona`'s model to be loaded and free, loading and unloading by policy.
    /// Cancel by dropping the future. A model that can never fit is refused at once.
    pub async fn acquire(&self, persona: &str) -> Result<Lease> {
        let persona = self.persona(persona)?;
        let seen = self.inner.state.lock().unwrap().seen;
        if !seen {
            self.refresh().await; // a one-off process (the CLI) without the poller
        }
        let size = self.footprint(&persona);
        // Refused before queueing: a request behind others would otherwise wait its turn
        // only to be told the same.
        let never = {
            let s = self.inner.state.lock().unwrap();
            let loaded: Vec<Resident> = s.models.iter().map(|m| m.resident.clone()).collect();
            let want = Want {
                model: &persona.model,
                size,
                keep_alive: persona.keep_alive,
            };
            never_fits(self.inner.budget, &loaded, want)
        };
        if let Some(pinned) = never {
            return Err(Error::NeverFits {
                model: persona.model.clone(),
                need: size,
                budget: self.inner.budget,
                pinned,
            });
        }
        let ticket = {
            let mut s = self.inner.state.lock().unwrap();
            let id = s.next_ticket;
            s.next_ticket += 1;
            s.tickets.insert(
                id,
                Ticket {
                    model: persona.model.clone(),
                },
            );
            TicketGuard {
                scheduler: self.clone(),
                id,
            }
        };
        self.publish();
        loop {
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let step = self.step(ticket.id, &persona, size)?;
            match step {
                Step::Go => {
                    drop(ticket);
                    return Ok(Lease {
                        scheduler: self.clone(),
                        model: persona.model.clone(),
                        keep_alive: persona.keep_alive,
                    });
                }
                Step::Load(model, keep_alive) => {
                    let done = self.load(&model, keep_alive).await;
                    if let Err(e) = done {
                        self.inner.state.lock().unwrap().models.retain(|m| {
                            !(m.resident.model == model && m.state == ModelState::Loading)
                        });
                        self.publish();
                        self.inner.changed.notify_waiters();
                        return Err(e);
                    }
                }
                Step::Unload(victims) => {
                    for v in victims {
                        self.unload(&v).await?;
                    }
                }
                Step::Wait => {
                    // Also look again now and then: Ollama may unload on its own.
                    let _ = tokio::time::timeout(SLOW_POLL, changed).await;
                }
            }
        }
    }

    /// Streams `persona`'s reply to `messages` once its model is ready. The lease is held
    /// until the stream ends or is dropped.
    pub async fn chat(&self, persona: &str, messages: Vec<Message>) -> Result<TokenStream> {
        self.chat_shaped(persona, messages, None).await
    }

    /// [`Scheduler::chat`] whose reply is JSON of the shape `schema` (a JSON schema) says.
    pub async fn chat_json(
        &self,
        persona: &str,
        messages: Vec<Message>,
        schema: serde_json::Value,
    ) -> Result<TokenStream> {
        self.chat_shaped(persona, messages, Some(schema)).await
    }

    async fn chat_shaped(
        &self,
        persona: &str,
        messages: Vec<Message>,
        format: Option<serde_json::Value>,
    ) -> Result<TokenStream> {
        let lease = self.acquire(persona).await?;
        let stream = self
            .inner
            .backend
            .chat(&lease.model, messages, lease.keep_alive, format)
            .await;
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                if matches!(e, Error::Offline { .. }) {
                    self.inner.state.lock().unwrap().offline = Some(e.to_string());
                }
                return Err(e);
            }
        };
        Ok(Box::pin(futures::StreamExt::chain(
            stream,
            futures::stream::unfold(Some(lease), |lease| async move {
                drop(lease); // the reply is over: free the model
                None
            }),
        )))
    }

    fn persona(&self, name: &str) -> Result<Persona> {
        let personas = self.inner.personas.lock().unwrap();
        personas
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .cloned()
            .ok_or_else(|| Error::NoPersona {
                name: name.to_string(),
                known: personas
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The VRAM `persona`'s model takes: measured, else its size on disk, else the codex's
    /// estimate.
    fn footprint(&self, persona: &Persona) -> Bytes {
        let s = self.inner.state.lock().unwrap();
        s.measured
            .get(&persona.model)
            .or_else(|| s.on_disk.get(&persona.model))
            .copied()
            .unwrap_or(persona.size)
    }

    fn step(&self, id: u64, persona: &Persona, size: Bytes) -> Result<Step> {
        let mut s = self.inner.state.lock().unwrap();
        let model = persona.model.as_str();
        let older_same = s.tickets.range(..id).any(|(_, t)| t.model == model);
        if let Some(at) = s.models.iter().position(|m| m.resident.model == model) {
            let free = s.models[at].state == ModelState::Loaded && !s.models[at].resident.busy;
            let drained = id > s.drain_for && s.drain.iter().any(|d| d == model);
            if free && !older_same && !drained {
                let m = &mut s.models[at];
                m.resident.busy = true;
                m.resident.last_used = now_secs();
                m.resident.keep_alive = persona.keep_alive;
                m.resident.priority = persona.priority;
                s.touch(model);
                s.tickets.remove(&id);
                return Ok(Step::Go);
            }
            return Ok(Step::Wait);
        }
        // Only the oldest request that needs a load may act.
        let loaded: Vec<&str> = s.models.iter().map(|m| m.resident.model.as_str()).collect();
        let oldest = s
            .tickets
            .iter()
            .find(|(_, t)| !loaded.contains(&t.model.as_str()))
            .map(|(k, _)| *k);
        if oldest != Some(id) {
            return Ok(Step::Wait);
        }
        // Models on their way out still hold VRAM; they are not candidates.
        let leaving: u64 = s
            .models
            .iter()
            .filter(|m| m.state != ModelState::Loaded)
            .map(|m| m.resident.size.0)
            .sum();
        // A model an older request waits for is as good as busy: it is not evicted from
        // under that request, at most drained after it.
        let residents: Vec<Resident> = s
            .models
            .iter()
            .filter(|m| m.state == ModelState::Loaded)
            .map(|m| {
                let mut r = m.resident.clone();
                r.busy |= s.tickets.range(..id).any(|(_, t)| t.model == r.model);
                r
            })
            .collect();
        let budget = Bytes(self.inner.budget.0.saturating_sub(leaving));
        let want = Want {
            model,
            size,
            keep_alive: persona.keep_alive,
        };
        match decide(Policy::Telos, budget, &residents, want) {
            Decision::Run => unreachable!("the model is not loaded"),
            Decision::Load => {
                s.drain.clear();
                let touched = s.tick();
                s.models.push(Entry {
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
                Ok(Step::Load(model.to_string(), persona.keep_alive))
            }
            Decision::Unload(victims) => {
                for m in s
                    .models
                    .iter_mut()
                    .filter(|m| victims.contains(&m.resident.model))
                {
                    m.state = ModelState::Unloading;
                }
                for v in &victims {
                    s.touch(v);
                }
                Ok(Step::Unload(victims))
            }
            Decision::Wait { drain } => {
                s.drain = drain;
                s.drain_for = id;
                Ok(Step::Wait)
            }
            Decision::Never { pinned } => {
                // Models still leaving may be what is in the way: wait for them.
                if leaving > 0 {
                    return Ok(Step::Wait);
                }
                Err(Error::NeverFits {
                    model: model.to_string(),
                    need: size,
                    budget: self.inner.budget,
                    pinned,
                })
            }
        }
    }

    async fn load(&self, model: &str, keep_alive: KeepAlive) -> Result<()> {
        self.publish();
        // Ollama reads an empty request with `keep_alive: 0` as "unload": a model that is to
        // go at once is loaded by its request itself (its VRAM is counted from now on).
        if keep_alive != KeepAlive::Zero {
            self.inner.backend.load(model, keep_alive).await?;
            self.confirm(model, "the load", true).await?;
        }
        {
            let mut s = self.inner.state.lock().unwrap();
            s.loads += 1;
            if let Some(m) = s.models.iter_mut().find(|m| m.resident.model == model) {
                m.state = ModelState::Loaded;
            }
            s.touch(model);
        }
        self.publish();
        self.inner.changed.notify_waiters();
        Ok(())
    }

    async fn unload(&self, model: &str) -> Result<()> {
        self.publish();
        self.inner.backend.unload(model).await?;
        self.confirm(model, "the unload", false).await?;
        {
            let mut s = self.inner.state.lock().unwrap();
            s.unloads += 1;
            // Only the entry this unload was for: by now a request may be loading it anew.
            s.models
                .retain(|m| !(m.resident.model == model && m.state == ModelState::Unloading));
        }
        self.publish();
        self.inner.changed.notify_waiters();
        Ok(())
    }

    /// Reads `/api/ps` until `model` is there (`present`) or gone.
    async fn confirm(&self, model: &str, action: &'static str, present: bool) -> Result<()> {
        let started = Instant::now();
        loop {
            let running = self.inner.backend.ps().await?;
            if let Some(r) = running.iter().find(|r| r.model == model)
                && r.size_vram.0 > 0
            {
                let mut s = self.inner.state.lock().unwrap();
                s.measured.insert(model.to_string(), r.size_vram);
                if let Some(m) = s.models.iter_mut().find(|m| m.resident.model == model) {
                    m.resident.size = r.size_vram;
                }
            }
            if running.iter().any(|r| r.model == model) == present {
                return Ok(());
            }
            if started.elapsed() > CONFIRM {
                return Err(Error::NotConfirmed {
                    host: self.inner.backend.host().to_string(),
                    action,
                    model: model.to_string(),
                    secs: CONFIRM.as_secs(),
                });
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    fn release(&self, model: &str, keep_alive: KeepAlive) {
        {
            let mut s = self.inner.state.lock().unwrap();
            let wanted = s.tickets.values().any(|t| t.model == model);
            if let Some(m) = s.models.iter_mut().find(|m| m.resident.model == model) {
                m.resident.busy = false;
                m.resident.last_used = now_secs();
                // Ollama unloads it at once: it counts until `/api/ps` says it is gone,
                // unless a request for it is already waiting (it then stays).
                if keep_alive == KeepAlive::Zero && !wanted {
                    m.state = ModelState::Unloading;
                }
            }
            s.touch(model);
        }
        self.publish();
        self.inner.changed.notify_waiters();
        if keep_alive == KeepAlive::Zero {
            // Follow the unload Ollama does by itself.
            let me = self.clone();
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    for _ in 0..200 {
                        me.refresh().await;
                        let leaving = me
                            .inner
                            .state
                            .lock()
                            .unwrap()
                            .models
                            .iter()
                            .any(|m| m.state == ModelState::Unloading);
                        if !leaving {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(25)).await;
                    }
                });
            }
        }
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
        };
        drop(s);
        self.inner.status.send_if_modified(|old| {
            let changed = *old != status;
            *old = status;
            changed
        });
    }
}

/// Removes a waiting request that is given up (its future dropped).
struct TicketGuard {
    scheduler: Scheduler,
    id: u64,
}

impl Drop for TicketGuard {
    fn drop(&mut self) {
        {
            let mut s = self.scheduler.inner.state.lock().unwrap();
            s.tickets.remove(&self.id);
            s.drain.clear(); // recomputed by whoever is oldest now
            // A load begun for this request and not confirmed stays counted until the
            // next `/api/ps` read settles it.
        }
        self.scheduler.publish();
        self.scheduler.inner.changed.notify_waiters();
    }
}

/// A request's hold on its model: while it lives, the model is busy and stays loaded.
pub struct Lease {
    scheduler: Scheduler,
    model: String,
    keep_alive: KeepAlive,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.scheduler.release(&self.model, self.keep_alive);
    }
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

//! Which runtime answers each persona: Ollama when it can, the embedded runtime otherwise.
//!
//! Two [`Scheduler`]s run the same policy ([`crate::decide`]), each against its own memory:
//! Ollama's models against the VRAM budget, the embedded runtime's against the RAM budget. A
//! persona's model is an Ollama tag (`phi3:3.8b`) or an embedded model (`gguf:NAME`,
//! `hf:OWNER/REPO/FILE.gguf`). An Ollama persona falls back to the embedded default model when
//! Ollama does not answer, when its model is not installed there, or when `TELOS_LLM=embedded`
//! — and its [`Route`] says so, with why. When Ollama comes back, it goes back.
//!
//! Ollama may be several hosts (`OLLAMA_HOSTS`), each with its own scheduler and budget: a
//! persona's model is placed on one by [`crate::hosts::place`], and a request whose host dies
//! before its reply starts is placed again (on another host, or the fallback).

use std::str::FromStr;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::live::{Scheduler, Status};
use crate::model::{Bytes, KeepAlive, Persona, Runtime};
use crate::ollama::{Message, TokenStream};

mod route;

/// The prefix of an embedded model in the models folder.
pub const GGUF: &str = "gguf:";
/// The prefix of an embedded model fetched from the Hugging Face hub.
pub const HF: &str = "hf:";

impl Runtime {
    /// The runtime a model name belongs to: `gguf:…` and `hf:…` are embedded, the rest are
    /// Ollama tags.
    pub fn of(model: &str) -> Self {
        if model.starts_with(GGUF) || model.starts_with(HF) {
            Self::Embedded
        } else {
            Self::Ollama
        }
    }
}

/// Which runtimes personas may use (`TELOS_LLM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Ollama for Ollama tags while it answers and has the model, else the embedded default.
    #[default]
    Auto,
    /// Ollama tags on Ollama only: no fallback (a missing model is an error).
    Ollama,
    /// Everything on the embedded runtime: Ollama tags fall back at once.
    Embedded,
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(Self::Auto),
            "ollama" => Ok(Self::Ollama),
            "embedded" => Ok(Self::Embedded),
            other => Err(format!("{other:?} is not auto, ollama or embedded")),
        }
    }
}

/// Where a persona's requests go now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    pub persona: String,
    pub runtime: Runtime,
    /// The model that answers (the persona's own, or the embedded default).
    pub model: String,
    /// Why it is not the persona's own model, when it is not.
    pub fallback: Option<String>,
    /// The Ollama host that runs it (an Ollama route); `None` when no host can (every host
    /// down, or none has the model, and no fallback: `TELOS_LLM=ollama`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// Both runtimes' status and every persona's route.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Statuses {
    /// Each Ollama host's scheduler, in `OLLAMA_HOSTS` order (at least one).
    pub ollama: Vec<Status>,
    pub embedded: Option<Status>,
    /// The personas as their codex says, by name.
    pub personas: Vec<Persona>,
    pub routes: Vec<Route>,
}

impl Statuses {
    /// The status of the scheduler `route` goes to.
    pub fn of(&self, route: &Route) -> Option<&Status> {
        match route.runtime {
            Runtime::Ollama => self
                .ollama
                .iter()
                .find(|s| Some(&s.host) == route.host.as_ref()),
            Runtime::Embedded => self.embedded.as_ref(),
        }
    }

    /// The first Ollama host's status (the only one unless `OLLAMA_HOSTS` names several).
    pub fn primary(&self) -> &Status {
        static NONE: std::sync::LazyLock<Status> = std::sync::LazyLock::new(Status::default);
        self.ollama.first().unwrap_or(&NONE)
    }

    /// `persona`'s route.
    pub fn route(&self, persona: &str) -> Option<&Route> {
        self.routes
            .iter()
            .find(|r| r.persona.eq_ignore_ascii_case(persona))
    }
}

/// A reply as it streams, and who gives it.
pub struct Reply {
    pub stream: TokenStream,
    pub route: Route,
}

/// The personas' runtimes. Cloning is shallow.
#[derive(Clone)]
pub struct Runtimes {
    inner: Arc<Inner>,
}

struct Inner {
    /// One scheduler per Ollama host (at least one).
    hosts: Vec<Scheduler>,
    embedded: Option<Scheduler>,
    mode: Mode,
    default_model: String,
    /// The personas as their codex says (models unrouted).
    personas: Mutex<Vec<Persona>>,
    routes: Mutex<Vec<Route>>,
    /// A dialogue's sides may share a loaded model (`TELOS_DIALOGUE_SHARE`).
    share: std::sync::atomic::AtomicBool,
}

impl Runtimes {
    /// Ollama's scheduler, and the embedded runtime's with the model personas fall back to
    /// (`None`: Ollama alone, as before the embedded runtime).
    pub fn new(
        ollama: Scheduler,
        embedded: Option<(Scheduler, String)>,
        mode: Mode,
        personas: Vec<Persona>,
    ) -> Self {
        Self::with_hosts(vec![ollama], embedded, mode, personas)
    }

    /// [`Runtimes::new`] with one scheduler per Ollama host (`OLLAMA_HOSTS`).
    ///
    /// # Panics
    /// When `hosts` is empty.
    pub fn with_hosts(
        hosts: Vec<Scheduler>,
        embedded: Option<(Scheduler, String)>,
        mode: Mode,
        personas: Vec<Persona>,
    ) -> Self {
        assert!(!hosts.is_empty(), "Runtimes need at least one Ollama host");
        let (embedded, default_model) = match embedded {
            Some((s, m)) => (Some(s), m),
            None => (None, String::new()),
        };
        let me = Self {
            inner: Arc::new(Inner {
                hosts,
                embedded,
                mode,
                default_model,
                personas: Mutex::new(Vec::new()),
                routes: Mutex::new(Vec::new()),
                share: std::sync::atomic::AtomicBool::new(false),
            }),
        };
        me.set_personas(personas);
        me
    }

    /// The personas as their codex says.
    pub fn personas(&self) -> Vec<Persona> {
        self.inner
            .personas
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the personas (the image changed) and routes them again.
    pub fn set_personas(&self, personas: Vec<Persona>) {
        *self
            .inner
            .personas
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = personas;
        self.reroute();
    }

    /// Every persona's route now.
    pub fn routes(&self) -> Vec<Route> {
        self.inner
            .routes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Both runtimes' status and the routes.
    pub fn status(&self) -> Statuses {
        Statuses {
            ollama: self.inner.hosts.iter().map(Scheduler::status).collect(),
            embedded: self.inner.embedded.as_ref().map(Scheduler::status),
            personas: self.personas(),
            routes: self.routes(),
        }
    }

    /// Lets a dialogue's sides share a model (the user allows it): see [`Runtimes::chat_beside`].
    pub fn set_sharing(&self, on: bool) {
        self.inner
            .share
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn sharing(&self) -> bool {
        self.inner.share.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether `route`'s model is loaded on its runtime now.
    fn is_loaded(&self, route: &Route) -> bool {
        self.scheduler(route).is_ok_and(|s| {
            s.status()
                .models
                .iter()
                .any(|m| m.model == route.model && m.state == crate::live::ModelState::Loaded)
        })
    }

    /// `persona`'s turn in a dialogue beside `partner`: as [`Runtimes::chat`], except that
    /// with sharing on, when `persona`'s model is not loaded and `partner`'s is, the turn runs
    /// on `partner`'s model (under `partner`'s lease), saving a swap; the reply's route says
    /// which model answered.
    pub async fn chat_beside(
        &self,
        persona: &str,
        partner: &str,
        messages: Vec<Message>,
        format: Option<serde_json::Value>,
    ) -> Result<Reply> {
        if self.sharing() {
            let (mine, theirs) = (self.route(persona).await?, self.route(partner).await?);
            if !self.is_loaded(&mine) && self.is_loaded(&theirs) {
                return self.chat(partner, messages, format).await;
            }
        }
        self.chat(persona, messages, format).await
    }

    /// Loads `persona`'s model ahead of its request, on the runtime that answers it, when
    /// that needs only idle models gone and nothing waits (see [`Scheduler::prepare`]).
    pub async fn prepare(&self, persona: &str) -> Result<bool> {
        let route = self.route(persona).await?;
        self.scheduler(&route)?.prepare(persona).await
    }

    /// Keeps up with both runtimes until `shutdown` resolves (each scheduler's loop), and
    /// routes again whenever Ollama's state changes — so pinned personas that fall back are
    /// loaded on the embedded runtime, and go back to Ollama when it returns.
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()>) {
        let shutdown = shutdown.shared();
        let mut changes = Watch {
            receivers: self.inner.hosts.iter().map(Scheduler::watch).collect(),
        };
        let follow = {
            let shutdown = shutdown.clone();
            async move {
                loop {
                    self.reroute();
                    // A fallback model no persona needs now leaves this process's memory.
                    if let Some(e) = &self.inner.embedded
                        && let Err(err) = e.unload_unused().await
                    {
                        tracing::warn!("unloading unused embedded models: {err}");
                    }
                    tokio::select! {
                        () = shutdown.clone() => return,
                        changed = changes.changed() => if changed.is_err() { return },
                    }
                }
            }
        };
        let embedded = async {
            if let Some(e) = &self.inner.embedded {
                e.run(shutdown.clone()).await;
            }
        };
        let hosts =
            futures::future::join_all(self.inner.hosts.iter().map(|h| h.run(shutdown.clone())));
        futures::join!(hosts, embedded, follow);
    }

    /// Waits until any runtime's status changes (coalesced).
    pub fn watch(&self) -> Watch {
        Watch {
            receivers: self
                .inner
                .hosts
                .iter()
                .chain(&self.inner.embedded)
                .map(Scheduler::watch)
                .collect(),
        }
    }
}

/// Changes of the runtimes' status.
pub struct Watch {
    receivers: Vec<tokio::sync::watch::Receiver<Status>>,
}

impl Watch {
    /// Marks the current status seen.
    pub fn mark_seen(&mut self) {
        for r in &mut self.receivers {
            r.borrow_and_update();
        }
    }

    /// Resolves at the next change; an error when the runtimes are gone.
    pub async fn changed(&mut self) -> std::result::Result<(), ()> {
        let each = self.receivers.iter_mut().map(|r| Box::pin(r.changed()));
        let (first, _, _) = futures::future::select_all(each).await;
        first.map_err(drop)
    }
}

/// The keep-alive that keeps a model longer.
fn longer(a: KeepAlive, b: KeepAlive) -> KeepAlive {
    match (a.idle_secs(), b.idle_secs()) {
        (None, _) => a,
        (_, None) => b,
        (Some(x), Some(y)) => {
            if x >= y {
                a
            } else {
                b
            }
        }
    }
}

/// Ollama's tags: `mistral` is `mistral:latest`.
pub fn same_tag(a: &str, b: &str) -> bool {
    let full = |t: &str| {
        if t.contains(':') {
            t.to_string()
        } else {
            format!("{t}:latest")
        }
    };
    full(a) == full(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_say_their_runtime_and_tags_compare_as_ollama_does() {
        assert_eq!(Runtime::of("gguf:SmolLM2"), Runtime::Embedded);
        assert_eq!(Runtime::of("hf:o/r/f.gguf"), Runtime::Embedded);
        assert_eq!(Runtime::of("phi3:3.8b"), Runtime::Ollama);
        assert!(same_tag("mistral", "mistral:latest"));
        assert!(!same_tag("mistral:7b", "mistral:latest"));
        assert_eq!("EMBEDDED".parse::<Mode>(), Ok(Mode::Embedded));
        assert!("gpu".parse::<Mode>().is_err());
        assert_eq!(
            longer(KeepAlive::Seconds(5), KeepAlive::Forever),
            KeepAlive::Forever
        );
        assert_eq!(
            longer(KeepAlive::Zero, KeepAlive::Seconds(60)),
            KeepAlive::Seconds(60)
        );
    }
}

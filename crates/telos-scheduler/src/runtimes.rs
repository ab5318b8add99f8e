//! Which runtime answers each persona: Ollama when it can, the embedded runtime otherwise.
//!
//! Two [`Scheduler`]s run the same policy ([`crate::decide`]), each against its own memory:
//! Ollama's models against the VRAM budget, the embedded runtime's against the RAM budget. A
//! persona's model is an Ollama tag (`phi3:3.8b`) or an embedded model (`gguf:NAME`,
//! `hf:OWNER/REPO/FILE.gguf`). An Ollama persona falls back to the embedded default model when
//! Ollama does not answer, when its model is not installed there, or when `TELOS_LLM=embedded`
//! — and its [`Route`] says so, with why. When Ollama comes back, it goes back.

use std::str::FromStr;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::live::{Scheduler, Status};
use crate::model::{Bytes, KeepAlive, Persona, Runtime};
use crate::ollama::{Message, TokenStream};

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
}

/// Both runtimes' status and every persona's route.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Statuses {
    pub ollama: Status,
    pub embedded: Option<Status>,
    /// The personas as their codex says, by name.
    pub personas: Vec<Persona>,
    pub routes: Vec<Route>,
}

impl Statuses {
    /// The status of the runtime `route` goes to.
    pub fn of(&self, runtime: Runtime) -> Option<&Status> {
        match runtime {
            Runtime::Ollama => Some(&self.ollama),
            Runtime::Embedded => self.embedded.as_ref(),
        }
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
    ollama: Scheduler,
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
        let (embedded, default_model) = match embedded {
            Some((s, m)) => (Some(s), m),
            None => (None, String::new()),
        };
        let me = Self {
            inner: Arc::new(Inner {
                ollama,
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
            ollama: self.inner.ollama.status(),
            embedded: self.inner.embedded.as_ref().map(Scheduler::status),
            personas: self.personas(),
            routes: self.routes(),
        }
    }

    /// Where `persona` goes now.
    fn route_of(&self, p: &Persona) -> Route {
        let own = |runtime| Route {
            persona: p.name.clone(),
            runtime,
            model: p.model.clone(),
            fallback: None,
        };
        if Runtime::of(&p.model) == Runtime::Embedded {
            return own(Runtime::Embedded);
        }
        if self.inner.embedded.is_none() {
            return own(Runtime::Ollama);
        }
        let fallback = |why: String| Route {
            persona: p.name.clone(),
            runtime: Runtime::Embedded,
            model: self.inner.default_model.clone(),
            fallback: Some(why),
        };
        match self.inner.mode {
            Mode::Ollama => own(Runtime::Ollama),
            Mode::Embedded => fallback("TELOS_LLM=embedded".into()),
            Mode::Auto => {
                let ollama = &self.inner.ollama;
                let status = ollama.status();
                if !status.seen {
                    return own(Runtime::Ollama);
                }
                if status.offline.is_some() {
                    return fallback(format!("Ollama does not answer at {}", status.host));
                }
                match &status.installed {
                    Some(models) if !models.iter().any(|(m, _)| same_tag(m, &p.model)) => {
                        fallback(format!(
                            "{} is not installed in Ollama (`ollama pull {}`)",
                            p.model, p.model
                        ))
                    }
                    _ => own(Runtime::Ollama),
                }
            }
        }
    }

    /// Routes every persona again and gives each scheduler the personas it serves (with the
    /// model that answers them). Cheap when nothing changed.
    pub fn reroute(&self) {
        let personas = self.personas();
        let routes: Vec<Route> = personas.iter().map(|p| self.route_of(p)).collect();
        let mut for_ollama = Vec::new();
        let mut for_embedded: Vec<Persona> = Vec::new();
        for (p, r) in personas.iter().zip(&routes) {
            let mut p = p.clone();
            match r.runtime {
                Runtime::Ollama => for_ollama.push(p),
                Runtime::Embedded => {
                    if r.fallback.is_some() {
                        // The footprint is the embedded model's, which its scheduler reads
                        // from the file: the codex's VRAM estimate says nothing of it.
                        p.size = Bytes(0);
                    }
                    p.model = r.model.clone();
                    for_embedded.push(p);
                }
            }
        }
        // Personas that share a model keep it as long as the most lasting of them would.
        for p in 0..for_embedded.len() {
            let (keep, priority) = for_embedded
                .iter()
                .filter(|q| q.model == for_embedded[p].model)
                .fold((KeepAlive::Zero, i32::MIN), |(k, pr), q| {
                    (longer(k, q.keep_alive), pr.max(q.priority))
                });
            for_embedded[p].keep_alive = keep;
            for_embedded[p].priority = priority;
        }
        if self.inner.ollama.personas() != for_ollama {
            self.inner.ollama.set_personas(for_ollama);
        }
        if let Some(e) = &self.inner.embedded
            && e.personas() != for_embedded
        {
            e.set_personas(for_embedded);
        }
        *self.inner.routes.lock().unwrap_or_else(|e| e.into_inner()) = routes;
    }

    /// Asks Ollama (and the embedded runtime) what is loaded now, and routes again.
    pub async fn refresh(&self) {
        self.inner.ollama.refresh().await;
        if let Some(e) = &self.inner.embedded {
            e.refresh().await;
        }
        self.reroute();
    }

    /// The route for `persona`, having asked Ollama once if it never was.
    pub async fn route(&self, persona: &str) -> Result<Route> {
        if !self.inner.ollama.status().seen && self.inner.mode == Mode::Auto {
            self.inner.ollama.refresh().await;
        }
        self.reroute();
        self.routes()
            .into_iter()
            .find(|r| r.persona.eq_ignore_ascii_case(persona))
            .ok_or_else(|| Error::NoPersona {
                name: persona.to_string(),
                known: self
                    .personas()
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    fn scheduler(&self, runtime: Runtime) -> &Scheduler {
        match (runtime, &self.inner.embedded) {
            (Runtime::Embedded, Some(e)) => e,
            _ => &self.inner.ollama,
        }
    }

    /// Streams `persona`'s reply to `messages`, with `format` (a JSON schema) when the reply
    /// must be JSON of that shape.
    pub async fn chat(
        &self,
        persona: &str,
        messages: Vec<Message>,
        format: Option<serde_json::Value>,
    ) -> Result<Reply> {
        let route = self.route(persona).await?;
        let scheduler = self.scheduler(route.runtime);
        let stream = match format {
            Some(schema) => scheduler.chat_json(persona, messages, schema).await?,
            None => scheduler.chat(persona, messages).await?,
        };
        Ok(Reply { stream, route })
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
        self.scheduler(route.runtime)
            .status()
            .models
            .iter()
            .any(|m| m.model == route.model && m.state == crate::live::ModelState::Loaded)
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
        self.scheduler(route.runtime).prepare(persona).await
    }

    /// Keeps up with both runtimes until `shutdown` resolves (each scheduler's loop), and
    /// routes again whenever Ollama's state changes — so pinned personas that fall back are
    /// loaded on the embedded runtime, and go back to Ollama when it returns.
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()>) {
        let shutdown = shutdown.shared();
        let mut changes = self.inner.ollama.watch();
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
        futures::join!(self.inner.ollama.run(shutdown.clone()), embedded, follow);
    }

    /// Waits until either runtime's status changes (coalesced).
    pub fn watch(&self) -> Watch {
        Watch {
            ollama: self.inner.ollama.watch(),
            embedded: self.inner.embedded.as_ref().map(Scheduler::watch),
        }
    }
}

/// Changes of either runtime's status.
pub struct Watch {
    ollama: tokio::sync::watch::Receiver<Status>,
    embedded: Option<tokio::sync::watch::Receiver<Status>>,
}

impl Watch {
    /// Marks the current status seen.
    pub fn mark_seen(&mut self) {
        self.ollama.borrow_and_update();
        if let Some(e) = &mut self.embedded {
            e.borrow_and_update();
        }
    }

    /// Resolves at the next change; an error when the runtimes are gone.
    pub async fn changed(&mut self) -> std::result::Result<(), ()> {
        match &mut self.embedded {
            Some(e) => tokio::select! {
                r = self.ollama.changed() => r.map_err(drop),
                r = e.changed() => r.map_err(drop),
            },
            None => self.ollama.changed().await.map_err(drop),
        }
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

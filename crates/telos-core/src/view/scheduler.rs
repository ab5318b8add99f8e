//! The runtimes' schedulers as the front ends see them: the VRAM bar (Ollama) and the RAM bar
//! (the embedded runtime), the models in each, the queues, and each persona's route and model
//! state.

use serde::{Deserialize, Serialize};

use super::ModelState;

/// One model in (or entering, or leaving) memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LoadedModelView {
    pub model: String,
    /// Bytes of VRAM (Ollama) or RAM (embedded).
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub size: u64,
    /// `loading`, `loaded` or `unloading`.
    pub state: String,
    pub busy: bool,
    pub pinned: bool,
    pub personas: Vec<String>,
}

/// The embedded runtime's side: its RAM budget and the models in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EmbeddedView {
    /// The runtime, its threads and context.
    pub host: String,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub budget: u64,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub used: u64,
    pub models: Vec<LoadedModelView>,
}

/// Another Ollama host (`OLLAMA_HOSTS` past the first): its VRAM bar and models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HostView {
    pub host: String,
    /// Why it does not answer; `None` while it does.
    pub offline: Option<String>,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub budget: u64,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub used: u64,
    pub models: Vec<LoadedModelView>,
}

/// The schedulers' status: Ollama's VRAM bar and models, queues and state; the embedded
/// runtime's RAM bar; every persona's route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SchedulerView {
    pub host: String,
    /// Why Ollama does not answer, with the fix; `None` while it does.
    pub offline: Option<String>,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub budget: u64,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub used: u64,
    pub models: Vec<LoadedModelView>,
    /// Requests waiting, per model (both runtimes).
    pub queues: Vec<(String, u32)>,
    /// The embedded runtime, when Telos has one.
    pub embedded: Option<EmbeddedView>,
    /// The Ollama hosts past the first (the fields above), when `OLLAMA_HOSTS` names several.
    pub more_hosts: Vec<HostView>,
    /// Each persona's model state, for its morph.
    pub personas: Vec<PersonaModelState>,
}

/// A persona's route and model state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PersonaModelState {
    pub persona: String,
    pub state: ModelState,
    /// `ollama` or `embedded`.
    pub runtime: String,
    /// The model that answers it now.
    pub model: String,
    /// The Ollama host that runs it (an `ollama` route).
    pub host: Option<String>,
    /// Why that is not the persona's own model, when it is not.
    pub fallback: Option<String>,
}

fn models(s: &telos_scheduler::Status) -> Vec<LoadedModelView> {
    s.models
        .iter()
        .map(|m| LoadedModelView {
            model: m.model.clone(),
            size: m.size.0,
            state: match m.state {
                telos_scheduler::live::ModelState::Loading => "loading",
                telos_scheduler::live::ModelState::Loaded => "loaded",
                telos_scheduler::live::ModelState::Unloading => "unloading",
            }
            .into(),
            busy: m.busy,
            pinned: m.pinned,
            personas: m.personas.clone(),
        })
        .collect()
}

impl SchedulerView {
    /// The view of both runtimes' status.
    pub fn new(all: &telos_scheduler::Statuses) -> Self {
        let s = all.primary();
        let offline = |s: &telos_scheduler::Status| {
            if s.seen {
                s.offline.clone()
            } else {
                Some("Ollama has not been asked yet".into())
            }
        };
        let queues = all
            .embedded
            .iter()
            .chain(&all.ollama)
            .flat_map(|st| st.queues.iter())
            .map(|(m, n)| (m.clone(), *n as u32))
            .collect();
        Self {
            personas: all
                .routes
                .iter()
                .map(|r| PersonaModelState {
                    persona: r.persona.clone(),
                    state: ModelState::of(all, &r.persona),
                    runtime: r.runtime.to_string(),
                    model: r.model.clone(),
                    fallback: r.fallback.clone(),
                    host: r.host.clone(),
                })
                .collect(),
            host: s.host.clone(),
            offline: offline(s),
            budget: s.budget.0,
            used: s.used.0,
            models: models(s),
            queues,
            more_hosts: all
                .ollama
                .iter()
                .skip(1)
                .map(|h| HostView {
                    host: h.host.clone(),
                    offline: offline(h),
                    budget: h.budget.0,
                    used: h.used.0,
                    models: models(h),
                })
                .collect(),
            embedded: all.embedded.as_ref().map(|e| EmbeddedView {
                host: e.host.clone(),
                budget: e.budget.0,
                used: e.used.0,
                models: models(e),
            }),
        }
    }
}

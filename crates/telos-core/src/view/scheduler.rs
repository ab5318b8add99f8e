//! The model scheduler as the front ends see it: the VRAM bar, the models in it, the queues,
//! and each persona's model state.

use serde::{Deserialize, Serialize};

use super::ModelState;

/// One model in (or entering, or leaving) VRAM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LoadedModelView {
    pub model: String,
    /// Bytes of VRAM.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub size: u64,
    /// `loading`, `loaded` or `unloading`.
    pub state: String,
    pub busy: bool,
    pub pinned: bool,
    pub personas: Vec<String>,
}

/// The scheduler's status: the VRAM bar and the models in it, queues, Ollama's state.
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
    /// Requests waiting, per model.
    pub queues: Vec<(String, u32)>,
    /// Each persona's model state, for its morph.
    pub personas: Vec<PersonaModelState>,
}

/// A persona's model state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PersonaModelState {
    pub persona: String,
    pub state: ModelState,
}

impl SchedulerView {
    /// The view of `s`, with the states of `personas`' models.
    pub fn new(s: &telos_scheduler::Status, personas: &[telos_scheduler::Persona]) -> Self {
        Self {
            personas: personas
                .iter()
                .map(|p| PersonaModelState {
                    persona: p.name.clone(),
                    state: ModelState::of(s, Some(&p.model)),
                })
                .collect(),
            host: s.host.clone(),
            offline: if s.seen {
                s.offline.clone()
            } else {
                Some("Ollama has not been asked yet".into())
            },
            budget: s.budget.0,
            used: s.used.0,
            models: s
                .models
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
                .collect(),
            queues: s
                .queues
                .iter()
                .map(|(m, n)| (m.clone(), *n as u32))
                .collect(),
        }
    }
}

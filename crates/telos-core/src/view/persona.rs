//! A persona as `telos personas ls` shows it.

use serde::{Deserialize, Serialize};
use telos_image::Image;
use telos_persona::slot_text;

use super::ModelState;

/// A persona as `telos personas ls` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PersonaView {
    pub name: String,
    pub role: String,
    pub model: String,
    /// Ollama's form: `-1`, `0`, `5m`.
    pub keep_alive: String,
    pub priority: i32,
    /// `ollama` or `embedded`: where the model that answers runs.
    pub runtime: String,
    /// The model that answers now: `model`, or the embedded fallback.
    pub answered_by: String,
    /// Why it is not `model`, when it is not.
    pub fallback: Option<String>,
    pub state: ModelState,
}

impl PersonaView {
    /// Every persona the runtimes think with: its model, where it runs now and its state.
    pub fn all(image: &Image, statuses: &telos_scheduler::Statuses) -> Vec<Self> {
        statuses
            .personas
            .iter()
            .map(|p| PersonaView {
                state: ModelState::of(statuses, &p.name),
                runtime: statuses
                    .route(&p.name)
                    .map_or(String::new(), |r| r.runtime.to_string()),
                answered_by: statuses
                    .route(&p.name)
                    .map_or(p.model.clone(), |r| r.model.clone()),
                fallback: statuses.route(&p.name).and_then(|r| r.fallback.clone()),
                role: image
                    .resolve(&p.name)
                    .ok()
                    .and_then(|o| slot_text(image, &o, "role"))
                    .unwrap_or_default(),
                name: p.name.clone(),
                model: p.model.clone(),
                keep_alive: p.keep_alive.to_string(),
                priority: p.priority,
            })
            .collect()
    }
}

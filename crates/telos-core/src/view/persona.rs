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
    pub state: ModelState,
}

impl PersonaView {
    /// Every persona the scheduler thinks with, and its model's state in `status`.
    pub fn all(
        image: &Image,
        personas: &[telos_scheduler::Persona],
        status: &telos_scheduler::Status,
    ) -> Vec<Self> {
        personas
            .iter()
            .map(|p| PersonaView {
                state: ModelState::of(status, Some(&p.model)),
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

//! The personas as the scheduler sees them, read from the image, and the VRAM budget.

use serde::{Deserialize, Serialize};
use telos_image::Image;
use telos_scheduler::{Bytes, KeepAlive, Persona, default_personas};

use crate::Telos;
use crate::codex::Codex;
use crate::error::{Error, Result};
use crate::world::{ModelState, is_persona, slot_text, slot_value};

/// A footprint to assume for a model neither DESIGN.md's table nor Ollama has sized yet.
const UNKNOWN_MODEL: f64 = 4.0;

/// Every persona of the image with a model, from its codex in force (model, keep-alive,
/// priority) and a first footprint: its `vram_estimate_gb` slot, else DESIGN.md's table,
/// else 4 GB (the scheduler measures the real one).
pub fn of_image(image: &Image) -> Vec<Persona> {
    let table = default_personas();
    let mut out: Vec<Persona> = image
        .objects()
        .iter()
        .filter(|o| is_persona(image, o))
        .filter_map(|o| {
            let codex = Codex::of(image, o);
            if codex.model.is_empty() {
                return None;
            }
            let size = slot_value(image, o, "vram_estimate_gb")
                .and_then(|v| v.as_f64())
                .filter(|gb| gb.is_finite() && *gb > 0.0)
                .map(Bytes::gb)
                .or_else(|| {
                    table
                        .iter()
                        .find(|p| p.model == codex.model)
                        .map(|p| p.size)
                })
                .unwrap_or(Bytes::gb(UNKNOWN_MODEL));
            Some(Persona {
                name: codex.name,
                keep_alive: serde_json::from_value(codex.keep_alive).unwrap_or(KeepAlive::DEFAULT),
                model: codex.model,
                priority: codex.priority,
                size,
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// `TELOS_VRAM_BUDGET` (e.g. `8GiB`), else the first GPU's memory from `nvidia-smi`, else
/// 8 GiB.
pub fn vram_budget() -> Result<Bytes> {
    if let Ok(text) = std::env::var("TELOS_VRAM_BUDGET")
        && !text.trim().is_empty()
    {
        return text
            .parse()
            .map_err(|e: telos_scheduler::Error| Error::Config {
                name: "TELOS_VRAM_BUDGET".into(),
                reason: e.to_string(),
            });
    }
    Ok(nvidia_smi().unwrap_or(telos_scheduler::DEFAULT_BUDGET))
}

/// The first GPU's total memory, when `nvidia-smi` is there and answers.
fn nvidia_smi() -> Option<Bytes> {
    let out = std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=memory.total", "--format=csv,noheader,nounits"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let mib: u64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()?;
    Some(Bytes(mib << 20))
}

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

impl Telos {
    /// The personas with their models' states now (Ollama is asked first).
    pub async fn personas(&self) -> Vec<PersonaView> {
        let scheduler = self.scheduler();
        scheduler.refresh().await;
        let status = scheduler.status();
        let image = self.image();
        of_image(image)
            .into_iter()
            .map(|p| {
                let role = image
                    .resolve(&p.name)
                    .ok()
                    .and_then(|o| slot_text(image, &o, "role"))
                    .unwrap_or_default();
                PersonaView {
                    state: ModelState::of(&status, Some(&p.model)),
                    name: p.name,
                    role,
                    model: p.model,
                    keep_alive: p.keep_alive.to_string(),
                    priority: p.priority,
                }
            })
            .collect()
    }
}

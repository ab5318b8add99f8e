//! The prototypal awakening: what a new image holds before anyone touches it.

use serde_json::{Value, json};

use crate::cycle::CycleRecord;
use crate::error::Result;
use crate::image::Image;

/// Name of the root object; its presence means the awakening has happened.
pub const GENESIS: &str = "genesis";
/// Prototype names.
pub const PERSONA: &str = "persona";
pub const CONTEXT_FRACTAL: &str = "context fractal";
pub const CONCEPT_FRACTAL: &str = "concept fractal";
pub const TOOL: &str = "tool";

/// A persona's defaults, from the design's hardware table.
pub struct PersonaSeed {
    pub name: &'static str,
    pub role: &'static str,
    pub model: &'static str,
    /// Ollama `keep_alive`: -1 pins, 0 unloads after each request, `"5m"` keeps five minutes.
    pub keep_alive: Value,
    /// Eviction priority (higher stays loaded longer).
    pub priority: i64,
    /// VRAM estimate in GB until Ollama reports the real size.
    pub vram_estimate_gb: f64,
}

/// ALFRED, BRICK, ROBIN and BABS as DESIGN.md seeds them.
pub fn persona_seeds() -> Vec<PersonaSeed> {
    vec![
        PersonaSeed {
            name: "ALFRED",
            role: "supervisor",
            model: "phi3:3.8b",
            keep_alive: json!(-1),
            priority: 3,
            vram_estimate_gb: 2.2,
        },
        PersonaSeed {
            name: "BRICK",
            role: "engineer",
            model: "mistral:7b",
            keep_alive: json!("5m"),
            priority: 2,
            vram_estimate_gb: 4.1,
        },
        PersonaSeed {
            name: "ROBIN",
            role: "empathy",
            model: "gemma2:9b",
            keep_alive: json!("5m"),
            priority: 2,
            vram_estimate_gb: 5.4,
        },
        PersonaSeed {
            name: "BABS",
            role: "research",
            model: "qwen2:7b",
            keep_alive: json!(0),
            priority: 1,
            vram_estimate_gb: 4.4,
        },
    ]
}

/// Performs the awakening in one cycle if the image has not had it; returns its record, or
/// `None` when the image was already awake.
pub async fn awaken(image: &Image) -> Result<Option<CycleRecord>> {
    if image.resolve(GENESIS).is_ok() {
        return Ok(None);
    }
    let mut c = image.begin("genesis");
    let genesis = c.create(GENESIS, &[])?;
    c.set_slot(&genesis, "kind", json!("genesis"))?;
    c.set_slot(
        &genesis,
        "doc",
        json!("The root of the image: every prototype delegates here."),
    )?;

    let persona = c.create(PERSONA, std::slice::from_ref(&genesis))?;
    for (slot, value) in [
        ("kind", json!("persona")),
        ("role", json!("")),
        ("model", Value::Null),
        ("keep_alive", json!("5m")),
        ("priority", json!(0)),
        ("vram_estimate_gb", Value::Null),
    ] {
        c.set_slot(&persona, slot, value)?;
    }
    for (name, kind, doc) in [
        (
            CONTEXT_FRACTAL,
            "context fractal",
            "A chunk of a remembered document.",
        ),
        (
            CONCEPT_FRACTAL,
            "concept fractal",
            "An abstraction drawn from memories.",
        ),
        (
            TOOL,
            "tool",
            "A capability written, tested and installed by the Tool Forge.",
        ),
    ] {
        let id = c.create(name, std::slice::from_ref(&genesis))?;
        c.set_slot(&id, "kind", json!(kind))?;
        c.set_slot(&id, "doc", json!(doc))?;
    }
    for seed in persona_seeds() {
        let id = c.clone_object(&persona, seed.name)?;
        c.set_slot(&id, "role", json!(seed.role))?;
        c.set_slot(&id, "model", json!(seed.model))?;
        c.set_slot(&id, "keep_alive", seed.keep_alive)?;
        c.set_slot(&id, "priority", json!(seed.priority))?;
        c.set_slot(&id, "vram_estimate_gb", json!(seed.vram_estimate_gb))?;
    }
    c.commit().await.map(Some)
}

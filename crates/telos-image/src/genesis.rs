//! The prototypal awakening: what a new image holds before anyone touches it — the root and
//! the prototypes every other object is cloned from. What the prototypes are filled with (the
//! personas of DESIGN.md's table) belongs to the crates that own them; they add it to the
//! awakening's one cycle through [`awaken_with`].

use serde_json::json;

use crate::cycle::{Cycle, CycleRecord};
use crate::error::Result;
use crate::image::Image;

/// Name of the root object; its presence means the awakening has happened.
pub const GENESIS: &str = "genesis";
/// Prototype names.
pub const PERSONA: &str = "persona";
pub const CONTEXT_FRACTAL: &str = "context fractal";
pub const CONCEPT_FRACTAL: &str = "concept fractal";
pub const TOOL: &str = "tool";

/// Performs the bare awakening (the root and the prototypes) in one cycle if the image has
/// not had it; returns its record, or `None` when the image was already awake.
pub async fn awaken(image: &Image) -> Result<Option<CycleRecord>> {
    awaken_with(image, |_| Ok(())).await
}

/// [`awaken`], with `populate` staging more in the same cycle once the prototypes exist
/// (the personas, say): the awakening commits whole or not at all.
pub async fn awaken_with(
    image: &Image,
    populate: impl FnOnce(&mut Cycle) -> Result<()>,
) -> Result<Option<CycleRecord>> {
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
    // The persona prototype has no `doc` of its own: a persona is cloned from it (copying its
    // slots), and a persona's `doc` is found by delegation, on genesis.
    let persona = c.create(PERSONA, std::slice::from_ref(&genesis))?;
    c.set_slot(&persona, "kind", json!(PERSONA))?;
    for (name, doc) in [
        (CONTEXT_FRACTAL, "A chunk of a remembered document."),
        (CONCEPT_FRACTAL, "An abstraction drawn from memories."),
        (
            TOOL,
            "A capability written, tested and installed by the Tool Forge.",
        ),
    ] {
        let id = c.create(name, std::slice::from_ref(&genesis))?;
        c.set_slot(&id, "kind", json!(name))?;
        c.set_slot(&id, "doc", json!(doc))?;
    }
    populate(&mut c)?;
    c.commit().await.map(Some)
}

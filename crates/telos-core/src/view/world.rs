//! The world the desktop shows: a morph per persona and per pinned object. A morph's place is
//! a slot of its object (`position`), so the layout survives a restart; pinning is a slot too.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use telos_image::{Image, ObjRef, Object};
use telos_persona::{Status, is_persona, slot_text};
use telos_scheduler::Statuses;

use crate::error::{Error, Result};

/// The slot holding a morph's top-left corner, `{"x": …, "y": …}` in logical pixels.
pub const POSITION: &str = "position";
/// The slot that, when `true`, gives a non-persona object a morph.
pub const PINNED: &str = "pinned";
/// Positions are kept within this distance of the origin.
const FAR: f64 = 100_000.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum MorphKind {
    Persona,
    Object,
}

/// Where a persona's model stands, as the scheduler last saw Ollama.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum ModelState {
    /// Ollama does not answer (or has not been asked yet).
    Offline,
    /// Ollama answers; the model is not in memory.
    Unloaded,
    /// A request waits for the model (for VRAM, or for the model's current request).
    Queued,
    Loading,
    Loaded,
}

impl ModelState {
    /// `persona`'s model state on the runtime its route goes to (`Offline` for an object
    /// that is not a scheduled persona).
    pub fn of(statuses: &Statuses, persona: &str) -> Self {
        statuses
            .route(persona)
            .and_then(|r| Some((statuses.of(r)?, r)))
            .map_or(Self::Offline, |(status, r)| {
                Self::in_status(status, &r.model)
            })
    }

    /// `model`'s state in one runtime's `status`.
    pub fn in_status(status: &telos_scheduler::Status, model: &str) -> Self {
        use telos_scheduler::live::ModelState as S;
        if status.offline.is_some() || !status.seen {
            return Self::Offline;
        }
        match status
            .models
            .iter()
            .find(|m| m.model == model)
            .map(|m| m.state)
        {
            Some(S::Loaded) => Self::Loaded,
            Some(S::Loading) => Self::Loading,
            _ if status.queues.get(model).is_some_and(|n| *n > 0) => Self::Queued,
            _ => Self::Unloaded,
        }
    }
}

/// One morph of the world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MorphView {
    pub object: ObjRef,
    pub kind: MorphKind,
    /// The stored position; `None` until the morph has been placed (the UI lays it out).
    pub position: Option<Point>,
    pub pinned: bool,
    /// The model that answers the persona now (its own, or the embedded fallback).
    pub model: Option<String>,
    /// `ollama` or `embedded`: where that model runs.
    pub runtime: Option<String>,
    /// Why the persona is not answered by its own model, when it is not.
    pub fallback: Option<String>,
    pub model_state: ModelState,
    /// A chat with this persona is under way.
    pub busy: bool,
    /// How many documents a persona remembers; `None` for objects that are not personas.
    pub memory_count: Option<u32>,
}

/// A point in logical pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Point {
    // Always finite (checked when stored), so `number` in TypeScript.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub x: f64,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub y: f64,
}

pub(crate) fn checked_point(object: &str, x: f64, y: f64) -> Result<Point> {
    if !(x.is_finite() && y.is_finite() && x.abs() <= FAR && y.abs() <= FAR) {
        return Err(Error::InvalidPosition {
            object: object.to_owned(),
            x,
            y,
            limit: FAR,
        });
    }
    Ok(Point {
        x: x.round(),
        y: y.round(),
    })
}

pub(crate) fn stored_point(value: &Value) -> Option<Point> {
    let x = value.get("x")?.as_f64()?;
    let y = value.get("y")?.as_f64()?;
    Some(Point { x, y })
}

/// A position moved a little down and right, for a clone placed beside its original.
pub(crate) fn offset_position(position: &Value) -> Value {
    match stored_point(position) {
        Some(p) => json!({ "x": (p.x + 32.0).min(FAR), "y": (p.y + 32.0).min(FAR) }),
        None => position.clone(),
    }
}

/// Every morph: the personas, then pinned objects, oldest first, with each persona's model
/// state in `scheduler` and its live status.
pub(crate) fn world(image: &Image, scheduler: &Statuses, status: &Status) -> Vec<MorphView> {
    image
        .objects()
        .iter()
        .filter_map(|o| {
            let kind = if is_persona(image, o) {
                MorphKind::Persona
            } else if o.slots.get(PINNED) == Some(&Value::Bool(true)) {
                MorphKind::Object
            } else {
                return None;
            };
            Some(MorphView::new(image, o, kind, scheduler, status))
        })
        .collect()
}

impl MorphView {
    fn new(
        image: &Image,
        o: &Object,
        kind: MorphKind,
        scheduler: &Statuses,
        status: &Status,
    ) -> Self {
        let route = (kind == MorphKind::Persona)
            .then(|| scheduler.route(&o.name))
            .flatten();
        let model = match route {
            Some(r) => Some(r.model.clone()),
            None => (kind == MorphKind::Persona)
                .then(|| slot_text(image, o, "model"))
                .flatten(),
        };
        Self {
            object: ObjRef::named(o),
            kind,
            position: o.slots.get(POSITION).and_then(stored_point),
            pinned: o.slots.get(PINNED) == Some(&Value::Bool(true)),
            model_state: ModelState::of(scheduler, &o.name),
            model,
            runtime: route.map(|r| r.runtime.to_string()),
            fallback: route.and_then(|r| r.fallback.clone()),
            busy: status.is_busy(&o.id),
            memory_count: (kind == MorphKind::Persona)
                .then(|| o.links.get(telos_memory::MEMORY).map_or(0, Vec::len) as u32),
        }
    }
}

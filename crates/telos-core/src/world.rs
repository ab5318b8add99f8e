//! The world the desktop shows: a morph per persona and per pinned object. A morph's place is
//! a slot of its object (`position`), so the layout survives a restart; pinning is a slot too.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use telos_image::genesis::PERSONA;
use telos_image::ops::Op;
use telos_image::{Found, Image, Object};

use crate::Telos;
use crate::error::{Error, Result};
use crate::view::{CycleSummary, ObjRef};

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
    /// `model`'s state in the scheduler's `status`.
    pub fn of(status: &telos_scheduler::Status, model: Option<&str>) -> Self {
        use telos_scheduler::live::ModelState as S;
        let Some(model) = model else {
            return Self::Offline;
        };
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
    pub model: Option<String>,
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

impl Telos {
    /// Every morph: the personas, then pinned objects, oldest first.
    pub fn world(&self) -> Vec<MorphView> {
        let image = self.image();
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
                Some(self.morph(image, o, kind))
            })
            .collect()
    }

    /// Moves a morph: stores its position on its object, as one cycle.
    pub async fn move_morph(&self, object: &str, x: f64, y: f64) -> Result<CycleSummary> {
        let point = checked_point(object, x, y)?;
        let value = json!({ "x": point.x, "y": point.y });
        self.set_slot(object, POSITION, value, "move morph").await
    }

    /// Pins an object to the world (it gets a morph) or unpins it.
    pub async fn set_pinned(&self, object: &str, pinned: bool) -> Result<CycleSummary> {
        if pinned {
            return self.set_slot(object, PINNED, json!(true), "pin").await;
        }
        let op = Op::RemoveSlot {
            object: object.to_owned(),
            slot: PINNED.to_owned(),
        };
        self.apply("unpin", vec![op]).await
    }

    fn morph(&self, image: &Image, o: &Object, kind: MorphKind) -> MorphView {
        let model = (kind == MorphKind::Persona)
            .then(|| slot_text(image, o, "model"))
            .flatten();
        let model_state = ModelState::of(&self.scheduler().status(), model.as_deref());
        MorphView {
            object: ObjRef {
                id: o.id.to_string(),
                name: o.name.clone(),
            },
            kind,
            position: o.slots.get(POSITION).and_then(stored_point),
            pinned: o.slots.get(PINNED) == Some(&Value::Bool(true)),
            model,
            model_state,
            busy: self.status.is_busy(&o.id),
            memory_count: (kind == MorphKind::Persona)
                .then(|| o.links.get(telos_memory::MEMORY).map_or(0, Vec::len) as u32),
        }
    }
}

/// A persona: an object whose `kind` (its own or delegated) is "persona", other than the
/// persona prototype itself.
/// The persona `name_or_id` names; an error when it names no object or one that is not a
/// persona.
pub(crate) fn resolve_persona(image: &Image, name_or_id: &str) -> Result<std::sync::Arc<Object>> {
    let object = image.resolve(name_or_id)?;
    if !is_persona(image, &object) {
        return Err(Error::NotAPersona(name_or_id.to_owned()));
    }
    Ok(object)
}

pub fn is_persona(image: &Image, object: &Object) -> bool {
    object.name != PERSONA
        && matches!(
            image.lookup(&object.id, "kind"),
            Ok(Some(Found::Slot { value, .. })) if value == "persona"
        )
}

/// A slot's value, found through delegation; `None` when absent (or a method answers).
pub(crate) fn slot_value(image: &Image, o: &Object, slot: &str) -> Option<Value> {
    match image.lookup(&o.id, slot) {
        Ok(Some(Found::Slot { value, .. })) => Some(value),
        _ => None,
    }
}

/// A slot's value as text, found through delegation; `None` when absent or not a string.
pub(crate) fn slot_text(image: &Image, o: &Object, slot: &str) -> Option<String> {
    slot_value(image, o, slot).and_then(|v| v.as_str().map(str::to_owned))
}

fn checked_point(object: &str, x: f64, y: f64) -> Result<Point> {
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

fn stored_point(value: &Value) -> Option<Point> {
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

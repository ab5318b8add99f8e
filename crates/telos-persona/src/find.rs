//! Finding personas in the image and reading their slots through delegation.

use std::sync::Arc;

use serde_json::Value;
use telos_image::genesis::PERSONA;
use telos_image::{Found, Image, Object};

use crate::error::{Error, Result};

/// A persona: an object whose `kind` (its own or delegated) is "persona", other than the
/// persona prototype itself.
pub fn is_persona(image: &Image, object: &Object) -> bool {
    object.name != PERSONA
        && matches!(
            image.lookup(&object.id, "kind"),
            Ok(Some(Found::Slot { value, .. })) if value == "persona"
        )
}

/// Every persona, oldest first.
pub fn personas(image: &Image) -> Vec<Arc<Object>> {
    image
        .objects()
        .into_iter()
        .filter(|o| is_persona(image, o))
        .collect()
}

/// The persona `name_or_id` names; an error when it names no object or one that is not a
/// persona.
pub fn resolve_persona(image: &Image, name_or_id: &str) -> Result<Arc<Object>> {
    let object = image.resolve(name_or_id)?;
    if !is_persona(image, &object) {
        return Err(Error::NotAPersona(name_or_id.to_owned()));
    }
    Ok(object)
}

/// A slot's value, found through delegation; `None` when absent (or a method answers).
pub fn slot_value(image: &Image, o: &Object, slot: &str) -> Option<Value> {
    match image.lookup(&o.id, slot) {
        Ok(Some(Found::Slot { value, .. })) => Some(value),
        _ => None,
    }
}

/// A slot's value as text, found through delegation; `None` when absent or not a string.
pub fn slot_text(image: &Image, o: &Object, slot: &str) -> Option<String> {
    slot_value(image, o, slot).and_then(|v| v.as_str().map(str::to_owned))
}

//! The Inspector's operations: one object in full, new objects, slots set (from JSON text or a
//! value), clones. Every change runs as an operation list through `ops::apply`, so a change
//! that fails is kept as a suspended cycle the Debugger can fix and resume.

use serde_json::Value;
use telos_image::Image;
use telos_image::ops::{self, Op};

use crate::Telos;
use crate::error::{Error, Result};
use crate::view::{CycleSummary, ObjRef, ObjectView};
use crate::world::{POSITION, offset_position};

/// How many of an object's cycles the Inspector lists.
const OBJECT_CYCLES: usize = 20;
/// Longest object name, in bytes (the image's limit).
const MAX_NAME_BYTES: usize = 128;

impl Telos {
    /// One object with its slots, parents, methods and the cycles that touched it.
    pub async fn object(&self, object: &str) -> Result<ObjectView> {
        let image = self.image();
        let object = image.resolve(object)?;
        let cycles = image.cycles_touching(&object.id, OBJECT_CYCLES).await?;
        Ok(ObjectView::new(image, &object, &cycles))
    }

    /// Creates an object with these parents (names or ids, highest priority first).
    pub async fn create_object(&self, name: &str, parents: &[String]) -> Result<ObjRef> {
        let op = Op::New {
            name: name.to_owned(),
            parents: parents.to_vec(),
        };
        self.apply(&format!("new object {name}"), vec![op]).await?;
        Ok(ObjRef::of(self.image(), &self.image().resolve(name)?.id))
    }

    /// Sets `slot` of `object` to `value`, as one cycle.
    pub async fn set_slot(
        &self,
        object: &str,
        slot: &str,
        value: Value,
        trigger: &str,
    ) -> Result<CycleSummary> {
        let op = Op::Set {
            object: object.to_owned(),
            slot: slot.to_owned(),
            value,
        };
        self.apply(trigger, vec![op]).await
    }

    /// Sets `slot` of `object` to the JSON in `json`. Invalid JSON is refused naming the slot,
    /// before any cycle starts.
    pub async fn set_slot_json(
        &self,
        object: &str,
        slot: &str,
        json: &str,
        trigger: &str,
    ) -> Result<CycleSummary> {
        let value = parse_json(json, &format!("slot '{slot}' of '{object}'"))?;
        self.set_slot(object, slot, value, trigger).await
    }

    /// Clones `object` (Self's shallow clone) as `new_name`, or as "NAME copy", "NAME copy 2", …
    /// A clone that has a morph position is placed a little below and right of the original.
    pub async fn clone_object(&self, object: &str, new_name: Option<&str>) -> Result<ObjRef> {
        let image = self.image();
        let original = image.resolve(object)?;
        let name = match new_name {
            Some(n) => n.to_owned(),
            None => free_copy_name(image, &original.name),
        };
        let mut list = vec![Op::Clone {
            object: original.id.to_string(),
            name: name.clone(),
        }];
        if let Some(position) = original.slots.get(POSITION) {
            list.push(Op::Set {
                object: name.clone(),
                slot: POSITION.to_owned(),
                value: offset_position(position),
            });
        }
        self.apply(&format!("clone {}", original.name), list)
            .await?;
        Ok(ObjRef::of(image, &image.resolve(&name)?.id))
    }

    /// Runs an operation list as one cycle.
    pub(crate) async fn apply(&self, trigger: &str, list: Vec<Op>) -> Result<CycleSummary> {
        let record = ops::apply(self.image(), trigger, &list).await?;
        Ok(CycleSummary::new(&record))
    }
}

/// Parses JSON text from a user, naming what it was for and where it went wrong.
pub fn parse_json(text: &str, what: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|source| Error::InvalidJson {
        what: what.to_owned(),
        excerpt: excerpt(text),
        source,
    })
}

/// The start of a long input, for error messages.
pub(crate) fn excerpt(text: &str) -> String {
    let mut short: String = text.chars().take(60).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// "NAME copy", or "NAME copy N" for the first free N, cut to fit the name limit.
fn free_copy_name(image: &Image, name: &str) -> String {
    // Room for " copy 99999"; cut at a character boundary.
    let mut end = name.len().min(MAX_NAME_BYTES - 11);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    let stem = name[..end].trim_end();
    let taken = |n: &str| image.resolve(n).is_ok();
    let first = format!("{stem} copy");
    if !taken(&first) {
        return first;
    }
    (2..)
        .map(|i| format!("{stem} copy {i}"))
        .find(|n| !taken(n))
        .unwrap_or(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_cut_at_sixty_characters() {
        assert_eq!(excerpt("short"), "short");
        let long = "é".repeat(70);
        assert_eq!(excerpt(&long), format!("{}…", "é".repeat(60)));
    }
}

//! Objects of the image: ids, slots, methods and the checks every write passes.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Largest serialised slot value the image accepts.
pub const MAX_SLOT_BYTES: usize = 16 * 1024 * 1024;

/// An object's identity: a ULID, stable for the object's life.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ObjectId(String);

impl ObjectId {
    pub(crate) fn fresh() -> Self {
        Self(fresh_ulid())
    }

    /// Parses an id as printed by [`ObjectId`]'s `Display`; `None` if it is not one.
    pub fn parse(text: &str) -> Option<Self> {
        ulid::Ulid::from_string(text)
            .ok()
            .map(|u| Self(u.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who wrote a method, and in which cycle.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Provenance {
    /// A persona name, `user`, or `genesis`.
    pub author: String,
    /// The model that wrote it, when a model did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Attempts the forge needed, when it came from the forge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// The cycle that installed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycle: Option<String>,
}

/// Behaviour held by an object: source code plus the test that verified it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Method {
    pub language: String,
    pub source: String,
    #[serde(default)]
    pub test: String,
    #[serde(default)]
    pub doc: String,
    #[serde(default)]
    pub provenance: Provenance,
}

/// An object named in a view or an event: its id and its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ObjRef {
    pub id: String,
    pub name: String,
}

impl ObjRef {
    /// Names an object in hand.
    pub fn named(object: &Object) -> Self {
        Self {
            id: object.id.to_string(),
            name: object.name.clone(),
        }
    }
}

/// A prototype object: named slots, methods, and parents it delegates to in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Object {
    pub id: ObjectId,
    pub name: String,
    /// Slot name → value, in the order the slots were first set.
    pub slots: Map<String, Value>,
    pub methods: IndexMap<String, Method>,
    /// Parents in priority order; lookup walks them depth-first in this order.
    pub parents: Vec<ObjectId>,
    /// Named graph edges to other objects (relation → targets, in order), e.g. a persona's
    /// `memory` → its documents. Owned by this object, like its parents; not delegated.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub links: IndexMap<String, Vec<ObjectId>>,
    /// Bumped by every committed cycle that changes the object; 1 when created.
    pub version: u64,
    /// Milliseconds since the Unix epoch.
    pub created: i64,
    pub updated: i64,
}

impl Object {
    pub(crate) fn new(name: String, parents: Vec<ObjectId>, now: i64) -> Self {
        Self {
            id: ObjectId::fresh(),
            name,
            slots: Map::new(),
            methods: IndexMap::new(),
            parents,
            links: IndexMap::new(),
            version: 0,
            created: now,
            updated: now,
        }
    }
}

/// Object names: what users type on the command line, so kept to a plain alphabet.
pub fn check_name(name: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > 128 {
        return bad("it is longer than 128 bytes");
    }
    if ObjectId::parse(name).is_some() {
        return bad("it reads as an object id");
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '))
    {
        return bad("only letters, digits, space, '_', '-' and '.' are allowed");
    }
    if name.trim() != name {
        return bad("it starts or ends with white space");
    }
    Ok(())
}

/// Selectors name slots and methods: identifiers, optionally Smalltalk keyword parts (`at:put:`).
pub fn check_selector(selector: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidSelector {
            selector: selector.to_owned(),
            reason,
        })
    };
    if selector.is_empty() {
        return bad("it is empty");
    }
    if selector.len() > 256 {
        return bad("it is longer than 256 bytes");
    }
    let mut chars = selector.chars();
    let first = chars.next().unwrap_or(' ');
    if !(first.is_ascii_alphabetic() || first == '_') {
        return bad("it must start with an ASCII letter or '_'");
    }
    if !selector
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        return bad("only ASCII letters, digits, '_' and ':' are allowed");
    }
    Ok(())
}

/// Refuses slot values over [`MAX_SLOT_BYTES`] once serialised; returns the serialised text.
pub(crate) fn encode_slot(object: &str, slot: &str, value: &Value) -> Result<String> {
    let text = serde_json::to_string(value).map_err(|source| Error::Corrupt {
        what: format!("slot '{slot}' of '{object}'"),
        source,
    })?;
    if text.len() > MAX_SLOT_BYTES {
        return Err(Error::SlotTooLarge {
            object: object.to_owned(),
            slot: slot.to_owned(),
            size: text.len(),
            limit: MAX_SLOT_BYTES,
        });
    }
    Ok(text)
}

/// A new ULID, later than every one this process made before: objects and cycles made in the
/// same millisecond still sort in the order they were made (a plain `Ulid::new` is random
/// within a millisecond).
pub(crate) fn fresh_ulid() -> String {
    static GENERATOR: std::sync::Mutex<ulid::Generator> =
        std::sync::Mutex::new(ulid::Generator::new());
    let mut generator = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    // Overflow needs 2^80 ids in one millisecond; a random id is then still unique.
    generator
        .generate()
        .unwrap_or_else(|_| ulid::Ulid::new())
        .to_string()
}

/// Milliseconds since the Unix epoch: the image's clock for created/updated/cycle times.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_accept_identifiers_and_keyword_parts() {
        for ok in ["color", "at:put:", "_private", "x2"] {
            assert!(check_selector(ok).is_ok(), "{ok}");
        }
        for bad in ["", "2x", "a b", "drop;table", "héllo", "a.b", "$x"] {
            assert!(check_selector(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_refuse_ids_and_punctuation() {
        assert!(check_name("ALFRED").is_ok());
        assert!(check_name("context fractal").is_ok());
        assert!(check_name(&ulid::Ulid::new().to_string()).is_err());
        assert!(check_name("a;b").is_err());
        assert!(check_name(" padded").is_err());
    }

    #[test]
    fn oversized_slot_values_are_refused_with_their_size() {
        let big = Value::String("x".repeat(MAX_SLOT_BYTES));
        let err = encode_slot("o", "s", &big).unwrap_err();
        assert!(matches!(err, Error::SlotTooLarge { size, .. } if size == MAX_SLOT_BYTES + 2));
    }
}

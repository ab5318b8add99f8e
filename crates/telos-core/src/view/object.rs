//! Objects as the Inspector shows them: slots as exact JSON text, parents, methods, links,
//! and the cycles that touched them.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use telos_image::{CycleRecord, Image, ObjRef, Object};

use super::{CycleSummary, json_text, small};

/// The JSON type of a slot value, so a UI can show it without parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum ValueKind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

impl ValueKind {
    pub fn of(value: &Value) -> Self {
        match value {
            Value::Null => Self::Null,
            Value::Bool(_) => Self::Bool,
            Value::Number(_) => Self::Number,
            Value::String(_) => Self::String,
            Value::Array(_) => Self::Array,
            Value::Object(_) => Self::Object,
        }
    }
}

/// A slot: its name, its value as exact JSON text, and the value's type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SlotView {
    pub name: String,
    pub json: String,
    pub kind: ValueKind,
}

impl SlotView {
    pub fn new(name: &str, value: &Value) -> Self {
        Self {
            name: name.to_owned(),
            json: json_text(value),
            kind: ValueKind::of(value),
        }
    }
}

/// A method: source, language, its test, and who wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MethodView {
    pub selector: String,
    pub language: String,
    pub source: String,
    pub test: String,
    pub doc: String,
    pub author: String,
    pub model: Option<String>,
    pub cycle: Option<String>,
}

/// One object for the Inspector: own slots, parents in priority order, methods, and the
/// cycles that touched it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ObjectView {
    pub id: String,
    pub name: String,
    pub version: u32,
    pub parents: Vec<ObjRef>,
    pub slots: Vec<SlotView>,
    pub methods: Vec<MethodView>,
    /// Graph edges to other objects by relation (a persona's `memory`, a document's `chunks`).
    pub links: Vec<LinkView>,
    /// A persona: the Inspector offers a search over its memory.
    pub persona: bool,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub created: f64,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub updated: f64,
    /// The most recent cycles that changed it, newest first.
    pub cycles: Vec<CycleSummary>,
}

/// One relation of an object: where its edges lead, in order (the first 200, and how many).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LinkView {
    pub relation: String,
    pub targets: Vec<ObjRef>,
    pub count: u32,
}

/// Targets a link view lists; the count says how many there are in all.
const SHOWN_LINKS: usize = 200;

impl ObjectView {
    pub fn new(image: &Image, object: &Object, cycles: &[CycleRecord]) -> Self {
        Self {
            id: object.id.to_string(),
            name: object.name.clone(),
            version: small(object.version),
            parents: object.parents.iter().map(|p| image.obj_ref(p)).collect(),
            slots: object
                .slots
                .iter()
                .map(|(k, v)| SlotView::new(k, v))
                .collect(),
            methods: object
                .methods
                .iter()
                .map(|(selector, m)| MethodView {
                    selector: selector.clone(),
                    language: m.language.clone(),
                    source: m.source.clone(),
                    test: m.test.clone(),
                    doc: m.doc.clone(),
                    author: m.provenance.author.clone(),
                    model: m.provenance.model.clone(),
                    cycle: m.provenance.cycle.clone(),
                })
                .collect(),
            links: object
                .links
                .iter()
                .map(|(relation, targets)| LinkView {
                    relation: relation.clone(),
                    targets: targets
                        .iter()
                        .take(SHOWN_LINKS)
                        .map(|t| image.obj_ref(t))
                        .collect(),
                    count: small(targets.len() as u64),
                })
                .collect(),
            persona: telos_persona::is_persona(image, object),
            created: object.created as f64,
            updated: object.updated as f64,
            cycles: cycles.iter().map(CycleSummary::new).collect(),
        }
    }
}

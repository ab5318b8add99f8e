//! What the desktop shell and the CLI show: plain, serialisable views of objects, cycles and
//! changes. With the `specta` feature they also describe themselves to TypeScript.
//!
//! Slot values cross as exact JSON *text*: a JavaScript number cannot hold every JSON number
//! the image keeps (a `u64` above 2^53), and an editor wants the text anyway. Times are
//! milliseconds since the Unix epoch as `f64`, exact for any date a person will see, and always
//! finite, so TypeScript sees them as `number` (not specta's default `number | null`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use telos_image::{
    Change, ChangeKind, CycleRecord, CycleStatus, Image, Object, ObjectId, Resolution, StagedObject,
};

/// An object named in a view: its id and its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ObjRef {
    pub id: String,
    pub name: String,
}

impl ObjRef {
    /// Names an object in hand.
    pub fn named(object: &telos_image::Object) -> Self {
        Self {
            id: object.id.to_string(),
            name: object.name.clone(),
        }
    }

    /// Names `id` as the image has it now (the bare id when it is gone).
    pub fn of(image: &Image, id: &ObjectId) -> Self {
        let name = image
            .get(id)
            .map(|o| o.name.clone())
            .unwrap_or_else(|_| id.to_string());
        Self {
            id: id.to_string(),
            name,
        }
    }
}

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
            parents: object
                .parents
                .iter()
                .map(|p| ObjRef::of(image, p))
                .collect(),
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
                        .map(|t| ObjRef::of(image, t))
                        .collect(),
                    count: small(targets.len() as u64),
                })
                .collect(),
            persona: crate::world::is_persona(image, object),
            created: object.created as f64,
            updated: object.updated as f64,
            cycles: cycles.iter().map(CycleSummary::new).collect(),
        }
    }
}

/// Where a cycle stands, as the Debugger sorts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum CycleState {
    Committed,
    /// Aborted, and its program can still be stepped, edited and resumed.
    Suspended,
    /// Aborted with nothing to resume (no program), or discarded.
    Aborted,
    /// Aborted, then resumed as another cycle that committed.
    Resumed,
    /// Aborted, then resumed as another cycle that failed too and is suspended in its place.
    Superseded,
}

impl CycleState {
    pub fn of(record: &CycleRecord) -> Self {
        match (record.status, &record.resolution) {
            (CycleStatus::Committed, _) => Self::Committed,
            (CycleStatus::Aborted, Some(Resolution::Resumed { .. })) => Self::Resumed,
            (CycleStatus::Aborted, Some(Resolution::Superseded { .. })) => Self::Superseded,
            _ if record.is_suspended() => Self::Suspended,
            _ => Self::Aborted,
        }
    }
}

/// A line of cycle history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CycleSummary {
    pub id: String,
    pub trigger: String,
    pub state: CycleState,
    pub objects: u32,
    pub error: Option<String>,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub started: f64,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub ended: f64,
}

impl CycleSummary {
    pub fn new(record: &CycleRecord) -> Self {
        Self {
            id: record.id.clone(),
            trigger: record.trigger.clone(),
            state: CycleState::of(record),
            objects: small(record.objects.len() as u64),
            error: record.error.clone(),
            started: record.started as f64,
            ended: record.ended as f64,
        }
    }
}

/// A step of a cycle's trace: the operation and its arguments as JSON text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StepView {
    pub op: String,
    pub detail: String,
}

/// One cycle for the Debugger: its trace and, when it ran an operation list, that program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CycleView {
    pub summary: CycleSummary,
    pub objects: Vec<ObjRef>,
    /// What the cycle staged, in order (for an aborted cycle: up to the failure).
    pub steps: Vec<StepView>,
    /// The operations, each as JSON text, when the cycle ran an operation list.
    pub program: Option<Vec<String>>,
    /// Which operation failed (the program's length when the commit itself failed).
    pub failed_at: Option<u32>,
    /// The cycle that resumed this one (state `resumed`, or `superseded` when it failed too).
    pub resumed_as: Option<String>,
    /// A forge cycle's story: what was asked and every attempt (prompt, reply, code, test,
    /// sandbox runs, verdict).
    pub forge: Option<crate::forge::ForgeTask>,
}

impl CycleView {
    pub fn new(image: &Image, record: &CycleRecord) -> Self {
        Self {
            summary: CycleSummary::new(record),
            objects: record
                .objects
                .iter()
                .map(|o| ObjRef::of(image, o))
                .collect(),
            steps: record
                .steps
                .iter()
                .map(|s| StepView {
                    op: s.op.clone(),
                    detail: json_text(&s.detail),
                })
                .collect(),
            program: record.program.as_ref().map(|ops| {
                ops.iter()
                    .map(|op| serde_json::to_string(op).unwrap_or_default())
                    .collect()
            }),
            failed_at: record.failed_at.map(|i| small(i as u64)),
            resumed_as: match &record.resolution {
                Some(Resolution::Resumed { cycle } | Resolution::Superseded { cycle }) => {
                    Some(cycle.clone())
                }
                _ => None,
            },
            forge: crate::forge::ForgeTask::of(record),
        }
    }
}

/// How a step changes one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum StagedKind {
    Created,
    Updated,
    Deleted,
}

/// A slot a cycle changes: before and after, as JSON text (`None`: absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SlotChange {
    pub name: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// One object a cycle has staged, against what is committed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StagedView {
    pub object: ObjRef,
    pub kind: StagedKind,
    pub slots: Vec<SlotChange>,
    pub parents_before: Vec<ObjRef>,
    pub parents_after: Vec<ObjRef>,
}

impl StagedView {
    pub fn new(image: &Image, staged: &StagedObject) -> Self {
        let before = staged.committed.as_deref();
        let after = staged.staged.as_ref();
        let name = after.or(before).map(|o| o.name.clone()).unwrap_or_default();
        let kind = match (before, after) {
            (None, _) => StagedKind::Created,
            (Some(_), Some(_)) => StagedKind::Updated,
            (Some(_), None) => StagedKind::Deleted,
        };
        let slot = |o: Option<&Object>, k: &str| o.and_then(|o| o.slots.get(k)).map(json_text);
        let mut names: Vec<&String> = before.iter().flat_map(|o| o.slots.keys()).collect();
        for k in after.iter().flat_map(|o| o.slots.keys()) {
            if !names.contains(&k) {
                names.push(k);
            }
        }
        let slots = names
            .into_iter()
            .filter_map(|k| {
                let (b, a) = (slot(before, k), slot(after, k));
                (b != a).then(|| SlotChange {
                    name: k.clone(),
                    before: b,
                    after: a,
                })
            })
            .collect();
        let parents = |o: Option<&Object>| -> Vec<ObjRef> {
            o.map(|o| o.parents.iter().map(|p| ObjRef::of(image, p)).collect())
                .unwrap_or_default()
        };
        Self {
            object: ObjRef {
                id: staged.id.to_string(),
                name,
            },
            kind,
            slots,
            parents_before: parents(before),
            parents_after: parents(after),
        }
    }
}

/// A committed change to one object, as subscribers hear it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ChangeView {
    pub object: ObjRef,
    pub version: u32,
    pub kind: StagedKind,
    pub cycle: String,
}

impl From<&Change> for ChangeView {
    fn from(change: &Change) -> Self {
        Self {
            object: ObjRef {
                id: change.object.to_string(),
                name: change.name.clone(),
            },
            version: small(change.version),
            kind: match change.kind {
                ChangeKind::Created => StagedKind::Created,
                ChangeKind::Updated => StagedKind::Updated,
                ChangeKind::Deleted => StagedKind::Deleted,
            },
            cycle: change.cycle.clone(),
        }
    }
}

/// Compact JSON text; serialising a `Value` cannot fail.
pub(crate) fn json_text(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Counts and versions for a UI: JavaScript numbers, saturating far beyond any real count.
fn small(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

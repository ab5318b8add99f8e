//! Cycles as the Debugger shows them: history lines, one cycle's trace and program, what a
//! step stages, the changes subscribers hear, a forge's outcome.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use telos_forge::{ForgeTask, Forged};
use telos_image::{
    Change, ChangeKind, CycleRecord, CycleStatus, Image, ObjRef, Object, Resolution, StagedObject,
};

use super::{json_text, small};

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
    pub forge: Option<ForgeTask>,
    /// A dialogue cycle's story, thought by thought: each turn's prompt, what grounded it and
    /// the reply, ALFRED's verdicts, the synthesis.
    pub dialogue: Option<telos_mind::DialogueTrace>,
}

impl CycleView {
    pub fn new(image: &Image, record: &CycleRecord) -> Self {
        Self {
            summary: CycleSummary::new(record),
            objects: record.objects.iter().map(|o| image.obj_ref(o)).collect(),
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
            forge: ForgeTask::of(record),
            dialogue: telos_mind::trace(record),
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
            o.map(|o| o.parents.iter().map(|p| image.obj_ref(p)).collect())
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

/// What a cycle's program stages after its first `step` operations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StepState {
    /// Operations applied (0 = before the first).
    pub step: u32,
    /// Operations in the program.
    pub of: u32,
    /// Why the last operation applied failed, if it did (stepping stops there).
    pub error: Option<String>,
    pub staged: Vec<StagedView>,
}

impl StepState {
    pub fn new(image: &Image, stepped: &telos_image::ops::Stepped) -> Self {
        Self {
            step: small(stepped.step as u64),
            of: small(stepped.of as u64),
            error: stepped.error.as_ref().map(ToString::to_string),
            staged: stepped
                .cycle
                .staged()
                .iter()
                .map(|s| StagedView::new(image, s))
                .collect(),
        }
    }
}

/// How a forge ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ForgeOutcome {
    pub cycle: CycleSummary,
    pub installed: bool,
    pub attempts: u32,
    /// The new method's answer to the send's arguments, when there were any.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Unknown>))]
    pub result: Option<Value>,
    pub task: ForgeTask,
}

impl From<Forged> for ForgeOutcome {
    fn from(forged: Forged) -> Self {
        Self {
            cycle: CycleSummary::new(&forged.record),
            installed: true,
            attempts: forged.attempts,
            result: forged.result,
            task: forged.task,
        }
    }
}

//! Work on the agenda: what a motive moves a persona to do — a dialogue on a question, a
//! research pass by BABS, a forge for a missing selector, a re-read of a failed document, the
//! Curator's judging of new exchanges, BABS's grouping and naming of concepts —
//! kept as `work` objects that go proposed → approved → running → done or failed (or
//! rejected).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use telos_image::{Cycle, Image, Object, ObjectId};

/// The `kind` slot of a work object.
pub const WORK: &str = "work";

/// What an act is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum WorkKind {
    /// BRICK and ROBIN argue the question, ALFRED judges.
    Dialogue,
    /// BABS recalls what every persona remembers about it and writes a note it remembers.
    Research,
    /// The selector is sent again, so the forge writes the missing method.
    Forge,
    /// The file is read again.
    Reread,
    /// ALFRED judges a persona's exchanges not judged yet (the Curator).
    Curate,
    /// BABS regroups a persona's memories into concepts (when due) and names them.
    Concepts,
}

/// Where a work is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum WorkState {
    /// Waits for the user's approval (autonomy `ask`).
    Proposed,
    /// Will run when the budget allows and no user request waits.
    Approved,
    Running,
    Done,
    Failed,
    Rejected,
}

impl WorkState {
    /// Still to do (proposed, approved or running): a second proposal of the same work is not
    /// made while one is open.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            WorkState::Proposed | WorkState::Approved | WorkState::Running
        )
    }
}

/// A work a detector proposes for its finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub kind: WorkKind,
    /// The persona who acts.
    pub persona: String,
    /// The question, the selector or the path, in words.
    pub subject: String,
    /// What the act needs: `{receiver, selector, args}` for a forge, `{persona, path}` for a
    /// re-read.
    pub detail: Value,
}

impl Proposal {
    /// What makes two proposals the same work.
    pub fn key(&self) -> String {
        format!("{:?}:{}", self.kind, self.subject).to_lowercase()
    }
}

/// A work as the image holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Work {
    pub id: String,
    pub name: String,
    pub kind: WorkKind,
    pub state: WorkState,
    pub persona: String,
    pub subject: String,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Unknown))]
    pub detail: Value,
    pub key: String,
    /// The motive that moved it.
    pub motive: String,
    pub priority: u32,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub at: i64,
    /// When its act began (ms since the epoch) and how long it took.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub started: Option<i64>,
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub ms: Option<f64>,
    /// The act's cycle (suspended when it failed).
    pub cycle: Option<String>,
    /// What it came to, in words (the synthesis, the note, the answer, the document), or why
    /// it failed.
    pub result: Option<String>,
}

impl Work {
    pub fn of(object: &Object) -> Option<Self> {
        if object.slots.get("kind") != Some(&json!(WORK)) {
            return None;
        }
        let s = &object.slots;
        let text = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_string);
        Some(Self {
            id: object.id.to_string(),
            name: object.name.clone(),
            kind: serde_json::from_value(s.get("work")?.clone()).ok()?,
            state: serde_json::from_value(s.get("state")?.clone()).ok()?,
            persona: text("persona").unwrap_or_default(),
            subject: text("subject").unwrap_or_default(),
            detail: s.get("detail").cloned().unwrap_or(Value::Null),
            key: text("key").unwrap_or_default(),
            motive: text("motive").unwrap_or_default(),
            priority: s.get("priority").and_then(Value::as_u64).unwrap_or(1) as u32,
            at: s
                .get("at")
                .and_then(Value::as_i64)
                .unwrap_or(object.created),
            started: s.get("started").and_then(Value::as_i64),
            ms: s.get("ms").and_then(Value::as_f64),
            cycle: text("cycle"),
            result: text("result"),
        })
    }
}

/// Every work, newest first.
pub fn works(image: &Image) -> Vec<Work> {
    let mut all: Vec<Work> = image.objects().iter().filter_map(|o| Work::of(o)).collect();
    all.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)));
    all
}

/// Stages a work object for `proposal`, moved by the motive `motive`.
pub(crate) fn stage(
    cycle: &mut Cycle,
    proposal: &Proposal,
    motive: &ObjectId,
    priority: u32,
    state: WorkState,
    n: usize,
) -> telos_image::Result<(ObjectId, String)> {
    let genesis = cycle.resolve("genesis")?;
    let name = format!("work {}.{n}", cycle.id());
    let id = cycle.create(&name, &[genesis])?;
    let slots = [
        ("kind", json!(WORK)),
        ("work", json!(proposal.kind)),
        ("state", json!(state)),
        ("persona", json!(proposal.persona)),
        ("subject", json!(proposal.subject)),
        ("detail", proposal.detail.clone()),
        ("key", json!(proposal.key())),
        ("motive", json!(motive)),
        ("priority", json!(priority)),
        ("at", json!(telos_image::now_ms())),
    ];
    for (slot, value) in slots {
        cycle.set_slot(&id, slot, value)?;
    }
    Ok((id, name))
}

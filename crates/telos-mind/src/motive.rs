//! Motives: what moves the personas to act without being asked. A detector's finding becomes a
//! `motive` object (kind, signal, persona, evidence, source cycle), once per key: the same
//! finding seen again is not a new motive.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use telos_image::{Cycle, Image, Object, ObjectId};

/// The `kind` slot of a motive object.
pub const MOTIVE: &str = "motive";

/// The two motivator events of the design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum MotiveKind {
    /// Something went wrong or does not add up: an impasse, a contradiction, a failed forge,
    /// a suspended cycle.
    CognitiveDissonance,
    /// Something the personas do not know or cannot do that they could find out.
    CuriosityDeficit,
}

/// What exactly a detector saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// A dialogue ended without agreement (impasse, stalled, or at the cap).
    Impasse,
    /// Two dialogues on one question concluded differently.
    Contradiction,
    /// A forge whose every attempt failed.
    ForgeFailed,
    /// Any other cycle left suspended.
    Suspended,
    /// A question the persona could not ground: its best recall scored low.
    Ungrounded,
    /// A selector that was not understood and could not be forged: it is still missing.
    NotUnderstood,
    /// A document remembered but never recalled since.
    NeverRecalled,
    /// A dropped file that could not be read.
    Unread,
    /// The same kind of failure, again and again.
    Recurring,
    /// Exchanges not judged yet: how well they went is not known (the Curator's motive).
    Unjudged,
    /// Memories not abstracted: concepts without a name, or a regrouping due.
    Unabstracted,
}

impl Signal {
    pub fn kind(self) -> MotiveKind {
        match self {
            Signal::Impasse | Signal::Contradiction | Signal::ForgeFailed | Signal::Suspended => {
                MotiveKind::CognitiveDissonance
            }
            _ => MotiveKind::CuriosityDeficit,
        }
    }

    /// How much it matters: dissonance first.
    pub fn priority(self) -> u32 {
        match self {
            Signal::ForgeFailed | Signal::Impasse | Signal::Contradiction => 3,
            Signal::Suspended | Signal::Recurring => 2,
            _ => 1,
        }
    }
}

/// A detector's finding, before it is a motive.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub signal: Signal,
    /// The persona it belongs to (its name).
    pub persona: String,
    /// What makes two findings the same motive.
    pub key: String,
    /// One line for a list.
    pub summary: String,
    pub evidence: Value,
    /// The cycle it came from, when one did.
    pub source: Option<String>,
    /// The work that answers it, if any.
    pub work: Option<crate::work::Proposal>,
}

/// A motive as the image holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Motive {
    /// The motive object's id and name.
    pub id: String,
    pub name: String,
    pub kind: MotiveKind,
    pub signal: Signal,
    pub persona: String,
    pub key: String,
    pub summary: String,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Unknown))]
    pub evidence: Value,
    pub source: Option<String>,
    /// The work proposed for it, when one was.
    pub work: Option<String>,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub at: i64,
}

impl Motive {
    /// The motive an object is, if it is one.
    pub fn of(object: &Object) -> Option<Self> {
        if object.slots.get("kind") != Some(&json!(MOTIVE)) {
            return None;
        }
        let s = &object.slots;
        let text = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_string);
        Some(Self {
            id: object.id.to_string(),
            name: object.name.clone(),
            kind: serde_json::from_value(s.get("motive")?.clone()).ok()?,
            signal: serde_json::from_value(s.get("signal")?.clone()).ok()?,
            persona: text("persona").unwrap_or_default(),
            key: text("key")?,
            summary: text("summary").unwrap_or_default(),
            evidence: s.get("evidence").cloned().unwrap_or(Value::Null),
            source: text("source"),
            work: text("work"),
            at: s
                .get("at")
                .and_then(Value::as_i64)
                .unwrap_or(object.created),
        })
    }
}

/// Every motive, newest first.
pub fn motives(image: &Image) -> Vec<Motive> {
    let mut all: Vec<Motive> = image
        .objects()
        .iter()
        .filter_map(|o| Motive::of(o))
        .collect();
    all.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)));
    all
}

/// The keys of every motive there is.
pub(crate) fn known_keys(image: &Image) -> HashSet<String> {
    image
        .objects()
        .iter()
        .filter_map(|o| Motive::of(o).map(|m| m.key))
        .collect()
}

/// Stages a motive object for `finding` in `cycle` (named after the cycle and `n`).
pub(crate) fn stage(
    cycle: &mut Cycle,
    finding: &Finding,
    n: usize,
) -> telos_image::Result<(ObjectId, String)> {
    let genesis = cycle.resolve("genesis")?;
    let name = format!("motive {}.{n}", cycle.id());
    let id = cycle.create(&name, &[genesis])?;
    let slots = [
        ("kind", json!(MOTIVE)),
        ("motive", json!(finding.signal.kind())),
        ("signal", json!(finding.signal)),
        ("persona", json!(finding.persona)),
        ("key", json!(finding.key)),
        ("summary", json!(finding.summary)),
        ("evidence", finding.evidence.clone()),
        ("source", json!(finding.source)),
        ("at", json!(telos_image::now_ms())),
    ];
    for (slot, value) in slots {
        cycle.set_slot(&id, slot, value)?;
    }
    Ok((id, name))
}

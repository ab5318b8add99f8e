//! Promotion, rejection and revert of an ascension, each one cycle, and a persona's lineage:
//! the models it has thought with, each with the ascension that brought it.
//!
//! Promotion changes the persona's `model` slot — so its codex file (rewritten by the roster
//! from the image) and the scheduler's persona set (synced from the image before every model
//! call) follow from the same commit — appends to its `lineage` slot and marks the ascension
//! approved; the candidate clone stays, as the lineage's record of how the model did. Revert
//! is the same in reverse.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use telos_image::{Image, ObjectId};
use telos_persona::{Codex, resolve_persona};

use crate::ascend::{self, Ascension, AscensionState};
use crate::{Error, Result};

/// The persona's slot listing its models over time.
pub const LINEAGE: &str = "lineage";

/// One change of a persona's model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LineageStep {
    /// The model from then on, and the one before.
    pub model: String,
    pub from: String,
    /// `promoted` or `reverted`.
    pub action: String,
    /// The ascension behind it (its object's name).
    pub ascension: String,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub at: i64,
    pub cycle: String,
}

/// A persona's models over time, each with its ascension's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Lineage {
    pub persona: String,
    /// The model it thinks with now.
    pub model: String,
    /// Oldest first.
    pub steps: Vec<LineageStep>,
    /// Every ascension tried, newest first.
    pub ascensions: Vec<Ascension>,
}

/// `persona`'s lineage.
pub fn lineage(image: &Image, persona: &str) -> Result<Lineage> {
    let p = resolve_persona(image, persona)?;
    let steps = match p.slots.get(LINEAGE) {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|s| serde_json::from_value(s.clone()).ok())
            .collect(),
        _ => Vec::new(),
    };
    Ok(Lineage {
        persona: p.name.clone(),
        model: Codex::of(image, &p).model,
        steps,
        ascensions: ascend::ascensions(image, Some(&p.name)),
    })
}

/// Promotes a pending ascension: the persona thinks with the candidate from this cycle on.
pub async fn approve(image: &Image, ascension: &str) -> Result<Ascension> {
    let (id, a) = ascend::find(image, ascension)?;
    want(&a, AscensionState::Pending, "approved")?;
    let persona = resolve_persona(image, &a.persona)?;
    let from = Codex::of(image, &persona).model;
    if from != a.incumbent_model {
        // The report compared the candidate with a model the persona no longer has.
        return Err(Error::AscensionState {
            ascension: a.name.clone(),
            state: format!(
                "a comparison with {} (the persona thinks with {from} now)",
                a.incumbent_model
            ),
            wanted: "approved: try the candidate again".into(),
        });
    }
    change(
        image,
        &persona.id,
        &id,
        &a,
        &from,
        &a.candidate_model,
        "promoted",
        AscensionState::Approved,
    )
    .await
}

/// Rejects a pending ascension; the persona keeps its model.
pub async fn reject(image: &Image, ascension: &str) -> Result<Ascension> {
    let (id, a) = ascend::find(image, ascension)?;
    want(&a, AscensionState::Pending, "rejected")?;
    let mut cycle = image.begin(&format!("reject {}", a.name));
    cycle.set_slot(&id, "state", json!(AscensionState::Rejected))?;
    cycle.commit().await?;
    Ok(ascend::find(image, &id.to_string())?.1)
}

/// Reverts `persona`'s last promotion: it thinks with the model before it again.
pub async fn revert(image: &Image, persona: &str) -> Result<Ascension> {
    let l = lineage(image, persona)?;
    // The newest promotion not reverted since (a revert names the ascension it undid).
    let reverted = |s: &LineageStep| {
        l.steps
            .iter()
            .any(|r| r.action == "reverted" && r.ascension == s.ascension)
    };
    let last = l
        .steps
        .iter()
        .rev()
        .find(|s| s.action == "promoted" && !reverted(s))
        .ok_or_else(|| Error::NoLineage(l.persona.clone()))?;
    let (id, a) = ascend::find(image, &last.ascension)?;
    want(&a, AscensionState::Approved, "reverted")?;
    let p = resolve_persona(image, &l.persona)?;
    let (from, to) = (l.model.clone(), last.from.clone());
    change(
        image,
        &p.id,
        &id,
        &a,
        &from,
        &to,
        "reverted",
        AscensionState::Reverted,
    )
    .await
}

fn want(a: &Ascension, state: AscensionState, wanted: &str) -> Result<()> {
    if a.state != state {
        return Err(Error::AscensionState {
            ascension: a.name.clone(),
            state: format!("{:?}", a.state).to_lowercase(),
            wanted: wanted.to_string(),
        });
    }
    Ok(())
}

/// One cycle: the persona's model, its lineage, the ascension's state.
#[allow(clippy::too_many_arguments)]
async fn change(
    image: &Image,
    persona: &ObjectId,
    ascension: &ObjectId,
    a: &Ascension,
    from: &str,
    to: &str,
    action: &str,
    state: AscensionState,
) -> Result<Ascension> {
    let mut cycle = image.begin(&format!("{action} {} to {to}", a.persona));
    let mut steps = match cycle.get(persona)?.slots.get(LINEAGE) {
        Some(Value::Array(list)) => list.clone(),
        _ => Vec::new(),
    };
    steps.push(json!(LineageStep {
        model: to.to_string(),
        from: from.to_string(),
        action: action.to_string(),
        ascension: a.name.clone(),
        at: telos_image::now_ms(),
        cycle: cycle.id().to_string(),
    }));
    cycle.set_slot(persona, "model", json!(to))?;
    cycle.set_slot(persona, LINEAGE, Value::Array(steps))?;
    cycle.set_slot(ascension, "state", json!(state))?;
    cycle.commit().await?;
    Ok(ascend::find(image, &ascension.to_string())?.1)
}

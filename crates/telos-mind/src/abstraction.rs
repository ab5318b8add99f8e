//! Abstraction: memories not yet abstracted are a motive — concepts BABS has not named, or
//! many chunks remembered since the persona's concepts were last regrouped — and the work is
//! BABS regrouping them (HDBSCAN over the persona's chunks, `telos-memory`'s recluster.rs)
//! when that is due, then naming the new and changed concepts, one model call each.

use serde_json::{Value, json};
use telos_image::{Image, Object};
use telos_memory::concepts::{CONCEPTS, needs_name};
use telos_memory::ingest::{CHUNKS, MEMORY};
use telos_persona::{Voice, is_persona};

use crate::motive::{Finding, Signal};
use crate::work::{Proposal, Work, WorkKind, WorkState, works};

/// The first regrouping waits for this many chunks.
pub const REGROUP_FIRST: usize = 32;
/// A persona's concepts are regrouped again when its chunks have grown by half since.
pub const REGROUP_GROWTH: f64 = 1.5;

/// Chunks of `persona`'s documents.
fn chunks(image: &Image, persona: &Object) -> usize {
    persona
        .links
        .get(MEMORY)
        .into_iter()
        .flatten()
        .filter_map(|d| image.get(d).ok())
        .map(|d| d.links.get(CHUNKS).map_or(0, Vec::len))
        .sum()
}

/// The slot of a done concepts work holding how many chunks its regrouping grouped.
pub const REGROUPED: &str = "regrouped";

/// The chunks `persona` had at its last regrouping done on the agenda, if any.
fn last_regrouped(image: &Image, persona: &str) -> Option<usize> {
    works(image)
        .into_iter()
        .filter(|w| w.kind == WorkKind::Concepts && w.state == WorkState::Done)
        .filter(|w| w.detail["persona"].as_str() == Some(persona))
        .find_map(|w| {
            let o = image.resolve(&w.id).ok()?;
            o.slots.get(REGROUPED)?.as_u64()
        })
        .map(|n| n as usize)
}

/// Whether `persona`, with `chunks` now, is due a regrouping.
fn regroup_due(chunks: usize, last: Option<usize>) -> bool {
    match last {
        None => chunks >= REGROUP_FIRST,
        Some(n) => chunks as f64 >= (n.max(1) as f64) * REGROUP_GROWTH,
    }
}

/// Each persona with concepts to name or a regrouping due.
pub(crate) fn unabstracted(image: &Image) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in image.objects().iter().filter(|o| is_persona(image, o)) {
        let n = chunks(image, p);
        if n == 0 {
            continue;
        }
        let to_name = p
            .links
            .get(CONCEPTS)
            .into_iter()
            .flatten()
            .filter_map(|c| image.get(c).ok())
            .filter(|c| needs_name(c))
            .count();
        let regroup = regroup_due(n, last_regrouped(image, &p.name));
        if to_name == 0 && !regroup {
            continue;
        }
        let summary = match (regroup, to_name) {
            (true, 0) => format!("{}'s {n} memories are due to be regrouped", p.name),
            (true, k) => format!(
                "{}'s {n} memories are due to be regrouped, and {k} concepts to be named",
                p.name
            ),
            (false, k) => format!("{k} of {}'s concepts have no name yet", p.name),
        };
        out.push(Finding {
            signal: Signal::Unabstracted,
            persona: p.name.clone(),
            key: format!("unabstracted:{}:{n}:{to_name}:{regroup}", p.name),
            summary,
            evidence: json!({"persona": p.name, "chunks": n, "to_name": to_name, "regroup": regroup}),
            source: None,
            work: Some(Proposal {
                kind: WorkKind::Concepts,
                persona: telos_persona::NAMER.into(),
                subject: format!("{}'s concepts", p.name),
                detail: json!({"persona": p.name, "regroup": regroup}),
            }),
        });
    }
    out
}

/// The act: the regrouping when due (judged now, not when the work was proposed), then the
/// naming.
pub(crate) async fn act(voice: &Voice, work: &Work) -> Result<(String, Value), String> {
    let name = work.detail["persona"]
        .as_str()
        .ok_or_else(|| format!("{} names no persona", work.name))?;
    let persona = telos_persona::resolve_persona(voice.image(), name).map_err(|e| e.to_string())?;
    let mut detail = json!({"persona": name});
    let mut said = Vec::new();
    // due now? (the work may have waited while the persona remembered more)
    let image = voice.image();
    if regroup_due(chunks(image, &persona), last_regrouped(image, name)) {
        let r = voice
            .memory()
            .rebuild_concepts(&persona.id)
            .await
            .map_err(|e| format!("{name}'s concepts could not be regrouped: {e}"))?;
        said.push(format!(
            "regrouped {name}'s {} chunks into {} concepts (were {})",
            r.chunks, r.after, r.before
        ));
        detail["regrouped"] = json!(r.chunks);
        detail["rebuilt"] = serde_json::to_value(&r).unwrap_or_default();
    }
    let named = telos_persona::name_concepts(voice, Some(&persona.id), &|_, _| {})
        .await
        .map_err(|e| e.to_string())?;
    if named.calls > 0 && named.named.is_empty() {
        return Err(format!(
            "BABS could not name {name}'s concepts: {}",
            named
                .failed
                .iter()
                .map(|(_, why)| why.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    said.push(format!(
        "named {} of {name}'s concepts ({} failed)",
        named.named.len(),
        named.failed.len()
    ));
    detail["named"] = serde_json::to_value(&named).unwrap_or_default();
    Ok((format!("BABS {}", said.join(", then ")), detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regrouping_is_due_first_at_a_size_then_at_half_as_much_again() {
        assert!(!regroup_due(REGROUP_FIRST - 1, None));
        assert!(regroup_due(REGROUP_FIRST, None));
        assert!(!regroup_due(149, Some(100)));
        assert!(regroup_due(150, Some(100)));
    }
}

//! The Curator: exchanges not judged yet are a motive (the personas do not know how well they
//! did), and its work is ALFRED judging them — a pass of `telos-ascend`'s curation, run as an
//! act like any other (budgeted, after the user's requests).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use telos_ascend::{Judge, curate, evaluation};
use telos_image::Image;

use crate::motive::{Finding, Signal};
use crate::work::{Proposal, Work, WorkKind};

/// A persona with this many exchanges waiting is curated.
pub const CURATE_AFTER: usize = 3;

/// Each persona with [`CURATE_AFTER`] or more exchanges not judged yet. The key names how
/// many of its exchanges are judged and the newest waiting, so a pass that judged some (a
/// backlog longer than a pass) or a new exchange is a new motive, and a pass that could
/// judge none is not retried until something changes.
pub(crate) fn unjudged(image: &Image) -> Vec<Finding> {
    let Ok(waiting) = curate::pending(image, None) else {
        return Vec::new();
    };
    let mut by: BTreeMap<&str, Vec<&telos_ascend::Exchange>> = BTreeMap::new();
    for e in &waiting {
        by.entry(e.persona.as_str()).or_default().push(e);
    }
    by.into_iter()
        .filter(|(_, list)| list.len() >= CURATE_AFTER)
        .map(|(persona, list)| {
            let newest = list.last().map_or("", |e| e.key.as_str());
            let judged = evaluation::evaluations(image, Some(persona)).len();
            Finding {
                signal: Signal::Unjudged,
                persona: persona.to_string(),
                key: format!("unjudged:{persona}:{judged}:{newest}"),
                summary: format!("{} exchanges of {persona}'s are not judged yet", list.len()),
                evidence: json!({
                    "persona": persona,
                    "waiting": list.len(),
                    "exchanges": list.iter().rev().take(5).map(|e| &e.key).collect::<Vec<_>>(),
                }),
                source: None,
                work: Some(Proposal {
                    kind: WorkKind::Curate,
                    persona: crate::JUDGE.into(),
                    subject: format!("{persona}'s exchanges"),
                    detail: json!({"persona": persona}),
                }),
            }
        })
        .collect()
}

/// The act: one curation pass over the persona's waiting exchanges.
pub(crate) async fn act(
    voice: &telos_persona::Voice,
    work: &Work,
) -> Result<(String, Value), String> {
    let persona = work.detail["persona"]
        .as_str()
        .ok_or_else(|| format!("{} names no persona", work.name))?;
    let judge = Judge::new(voice.clone());
    let done = curate::curate(
        &judge,
        Some(persona),
        curate::PASS,
        evaluation::GOLDEN,
        |_| {},
    )
    .await
    .map_err(|e| e.to_string())?;
    if done.judged == 0 && done.failed > 0 {
        return Err(format!(
            "ALFRED could not judge {persona}'s exchanges: {}",
            done.errors.join("; ")
        ));
    }
    Ok((
        format!(
            "ALFRED judged {} of {persona}'s exchanges ({} golden, {} failed, {} waiting)",
            done.judged, done.golden, done.failed, done.waiting
        ),
        serde_json::to_value(&done).unwrap_or_default(),
    ))
}

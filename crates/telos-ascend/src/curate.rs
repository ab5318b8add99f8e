//! The Curator: new exchanges judged by ALFRED, each score an `evaluation` object, all of one
//! pass committed as one cycle. Run from the agenda (budgeted like any other act), from
//! `telos curate`, or from the persona's Inspector.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::json;
use telos_image::Image;
use telos_persona::{Codex, resolve_persona};

use crate::evaluation;
use crate::exchange::{Exchange, ExchangeSource, exchanges};
use crate::judge::Judge;
use crate::rubric::Rubric;
use crate::{Error, Result};

/// Exchanges one pass judges at most (the rest wait for the next).
pub const PASS: usize = 8;

/// What a curation pass did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Curated {
    /// Exchanges judged, and how many of them scored at or above the threshold.
    pub judged: u32,
    pub golden: u32,
    /// Exchanges the judge could not score (each named in `errors`); they wait for the next pass.
    pub failed: u32,
    pub errors: Vec<String>,
    /// Exchanges still waiting after this pass.
    pub waiting: u32,
    /// The cycle holding the evaluations.
    pub cycle: Option<String>,
    /// The judge's model time and the whole pass's time (ms).
    pub model_ms: f64,
    pub ms: f64,
}

/// One step of a curation pass, as it happens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum CurateEvent {
    Started {
        exchanges: u32,
    },
    Judged {
        done: u32,
        of: u32,
        persona: String,
        overall: u8,
        rationale: String,
    },
    Failed {
        done: u32,
        of: u32,
        exchange: String,
        message: String,
    },
}

/// The exchanges not judged yet (of `persona`, when named), oldest first.
pub fn pending(image: &Image, persona: Option<&str>) -> Result<Vec<Exchange>> {
    let persona = persona.map(|p| resolve_persona(image, p)).transpose()?;
    let done = evaluation::judged(image);
    Ok(exchanges(image, persona.as_deref())
        .into_iter()
        .filter(|e| !done.contains(&e.key))
        .collect())
}

/// Judges up to `limit` waiting exchanges (of `persona`, when named), oldest first, and
/// commits their evaluations as one cycle. An exchange the judge cannot score is reported and
/// left for the next pass.
pub async fn curate(
    judge: &Judge,
    persona: Option<&str>,
    limit: usize,
    threshold: f64,
    mut progress: impl FnMut(CurateEvent) + Send,
) -> Result<Curated> {
    if !(1.0..=5.0).contains(&threshold) {
        return Err(Error::BadThreshold(threshold));
    }
    let began = Instant::now();
    let image = judge.voice().image().clone();
    let waiting = pending(&image, persona)?;
    let batch: Vec<Exchange> = waiting.iter().take(limit).cloned().collect();
    let of = batch.len() as u32;
    progress(CurateEvent::Started { exchanges: of });
    let mut out = Curated {
        waiting: (waiting.len() - batch.len()) as u32,
        ..Curated::default()
    };
    let mut scored = Vec::new();
    for (i, exchange) in batch.iter().enumerate() {
        let done = i as u32 + 1;
        let result = match resolve_persona(&image, &exchange.persona) {
            Ok(p) => {
                let rubric = Rubric::of(
                    &Codex::of(&image, &p),
                    exchange.source == ExchangeSource::Dialogue,
                );
                judge.score(&rubric, exchange).await
            }
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(s) => {
                out.model_ms += s.model_ms;
                progress(CurateEvent::Judged {
                    done,
                    of,
                    persona: exchange.persona.clone(),
                    overall: s.overall,
                    rationale: s.rationale.clone(),
                });
                scored.push((exchange, s));
            }
            Err(e) => {
                let message = e.to_string();
                progress(CurateEvent::Failed {
                    done,
                    of,
                    exchange: exchange.key.clone(),
                    message: message.clone(),
                });
                out.errors.push(format!("{}: {message}", exchange.key));
                out.failed += 1;
            }
        }
    }
    if !scored.is_empty() {
        let who = persona.unwrap_or("every persona");
        let mut cycle = image.begin(&format!("curate {who}"));
        for (n, (exchange, s)) in scored.iter().enumerate() {
            evaluation::stage(&mut cycle, exchange, s, n + 1)?;
            if f64::from(s.overall) >= threshold {
                out.golden += 1;
            }
        }
        out.judged = scored.len() as u32;
        cycle.note(
            "curate",
            json!({"judged": out.judged, "golden": out.golden, "failed": out.failed,
                   "threshold": threshold}),
        );
        out.cycle = Some(cycle.commit().await?.id);
    }
    out.waiting += out.failed;
    out.ms = began.elapsed().as_secs_f64() * 1e3;
    Ok(out)
}

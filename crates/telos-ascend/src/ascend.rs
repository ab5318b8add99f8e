//! Ascension: a persona tried on a candidate model. The persona is cloned into the image
//! (`PERSONA candidate`) pointing at the candidate, both answer the held-out prompts of its
//! golden dataset, and ALFRED judges each pair twice with the order swapped. The report —
//! wins, ties, losses, the win rate's Wilson interval, the sign test, the change per
//! criterion, latencies, whether the candidate fits the budget, the judge's length bias —
//! recommends promotion only when the interval's lower bound is above 0.5 and no criterion
//! falls by more than 0.5. Promotion is the user's decision ([`crate::lineage`]).

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use telos_image::{Image, Object, ObjectId};
use telos_persona::{Codex, SCRAPBOOK, Turn, resolve_persona};

use crate::dataset::Row;
use crate::judge::{Judge, PairOutcome, Scores};
use crate::rubric::Rubric;
use crate::stats::{percentile, sign_test, wilson};
use crate::{Error, Result};

/// The `kind` slot of an ascension object.
pub const ASCENSION: &str = "ascension";
/// The slot of a candidate clone naming the persona it was cloned from.
pub const CANDIDATE_OF: &str = "candidate_of";
/// Promotion needs the win rate's lower bound above this …
pub const LOWER_BOUND: f64 = 0.5;
/// … and no criterion falling by more than this.
pub const MAX_DROP: f64 = 0.5;

/// Where an ascension is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum AscensionState {
    /// The report waits for the user.
    Pending,
    Approved,
    Rejected,
    /// Approved, then reverted.
    Reverted,
}

/// One held-out prompt, answered by both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Pair {
    pub prompt: String,
    pub incumbent: String,
    pub candidate: String,
    /// From the candidate's side.
    pub outcome: PairOutcome,
    pub flipped: bool,
    pub incumbent_ms: f64,
    pub candidate_ms: f64,
    pub rationales: Vec<String>,
}

/// One criterion's mean score for each, and the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Criterion {
    pub name: String,
    pub incumbent: f64,
    pub candidate: f64,
    pub change: f64,
}

/// Latency percentiles (ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
}

/// Where an ascension's time went (ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Timing {
    pub answering: f64,
    pub judging: f64,
    pub bookkeeping: f64,
}

/// Whether the candidate fits the runtime's memory budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Fit {
    pub fits: bool,
    pub runtime: String,
    /// The candidate's footprint and the budget, in bytes, when known.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub footprint: Option<u64>,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub budget: u64,
}

/// The paired evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Report {
    pub pairs: Vec<Pair>,
    pub wins: u32,
    pub ties: u32,
    pub losses: u32,
    /// Pairs whose two asks gave opposite verdicts (counted as ties).
    pub flipped: u32,
    /// Wins plus half the ties, over all pairs.
    pub win_rate: f64,
    /// The Wilson 95% interval of the win rate.
    pub low: f64,
    pub high: f64,
    /// The two-sided sign test of wins against losses (ties left out).
    pub p_value: f64,
    pub criteria: Vec<Criterion>,
    pub incumbent_latency: Latency,
    pub candidate_latency: Latency,
    pub fit: Fit,
    /// The share of the judge's decisive verdicts that went to the longer answer (`None`
    /// when none was decisive).
    pub length_bias: Option<f64>,
    pub recommend: bool,
    /// Why it is or is not recommended, in words.
    pub why: String,
    pub timing: Timing,
}

impl Report {
    /// The statistics and the recommendation of `pairs`, judged by `rubric`.
    pub fn of(
        pairs: Vec<Pair>,
        scores: &[(Scores, Scores)],
        rubric: &Rubric,
        fit: Fit,
        length_bias: Option<f64>,
        timing: Timing,
    ) -> Self {
        let count = |o: PairOutcome| pairs.iter().filter(|p| p.outcome == o).count() as u32;
        let (wins, ties, losses) = (
            count(PairOutcome::Win),
            count(PairOutcome::Tie),
            count(PairOutcome::Loss),
        );
        let n = f64::from(wins + ties + losses);
        let won = f64::from(wins) + f64::from(ties) / 2.0;
        let (low, high) = wilson(won, n);
        let criteria: Vec<Criterion> = rubric
            .criteria
            .iter()
            .map(|c| {
                let mean = |candidate: bool| {
                    let v: Vec<f64> = scores
                        .iter()
                        .filter_map(|(a, b)| if candidate { a } else { b }.get(c).copied())
                        .collect();
                    if v.is_empty() {
                        0.0
                    } else {
                        v.iter().sum::<f64>() / v.len() as f64
                    }
                };
                let (candidate, incumbent) = (mean(true), mean(false));
                Criterion {
                    name: c.clone(),
                    incumbent,
                    candidate,
                    change: candidate - incumbent,
                }
            })
            .collect();
        let latency = |f: fn(&Pair) -> f64| {
            let v: Vec<f64> = pairs.iter().map(f).collect();
            Latency {
                p50: percentile(&v, 0.5).unwrap_or(0.0),
                p95: percentile(&v, 0.95).unwrap_or(0.0),
            }
        };
        let worst = criteria.iter().min_by(|a, b| a.change.total_cmp(&b.change));
        let dropped = worst.filter(|c| c.change < -MAX_DROP);
        let recommend = low > LOWER_BOUND && dropped.is_none() && n > 0.0;
        let why = if n == 0.0 {
            "no held-out prompt was judged".to_string()
        } else if low <= LOWER_BOUND {
            format!(
                "the win rate {:.2} has a 95% interval of {low:.2}–{high:.2}: its lower bound is \
                 not above {LOWER_BOUND}",
                won / n
            )
        } else if let Some(c) = dropped {
            format!(
                "{} falls by {:.2} (more than {MAX_DROP})",
                c.name, -c.change
            )
        } else {
            format!(
                "the win rate {:.2} has a 95% interval of {low:.2}–{high:.2}, above \
                 {LOWER_BOUND}, and no criterion falls by more than {MAX_DROP}",
                won / n
            )
        };
        let flipped = pairs.iter().filter(|p| p.flipped).count() as u32;
        Self {
            incumbent_latency: latency(|p| p.incumbent_ms),
            candidate_latency: latency(|p| p.candidate_ms),
            pairs,
            wins,
            ties,
            losses,
            flipped,
            win_rate: if n > 0.0 { won / n } else { 0.0 },
            low,
            high,
            p_value: sign_test(wins, losses),
            criteria,
            fit,
            length_bias,
            recommend,
            why,
            timing,
        }
    }
}

/// An ascension as the image holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Ascension {
    pub id: String,
    pub name: String,
    pub persona: String,
    /// The clone that answered with the candidate.
    pub candidate: String,
    pub candidate_model: String,
    /// The model the persona had (its codex's), and the one that answered for it.
    pub incumbent_model: String,
    pub incumbent_answered_by: String,
    pub state: AscensionState,
    pub report: Report,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub at: i64,
}

impl Ascension {
    pub fn of(o: &Object) -> Option<Self> {
        let s = &o.slots;
        if s.get("kind").and_then(Value::as_str) != Some(ASCENSION) {
            return None;
        }
        let text = |k: &str| {
            s.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Some(Self {
            id: o.id.to_string(),
            name: o.name.clone(),
            persona: text("persona"),
            candidate: text("candidate"),
            candidate_model: text("candidate_model"),
            incumbent_model: text("incumbent_model"),
            incumbent_answered_by: text("incumbent_answered_by"),
            state: serde_json::from_value(s.get("state")?.clone()).ok()?,
            report: serde_json::from_value(s.get("report")?.clone()).ok()?,
            at: s.get("at").and_then(Value::as_i64).unwrap_or(o.created),
        })
    }
}

/// Every ascension (of `persona`, when named), newest first.
pub fn ascensions(image: &Image, persona: Option<&str>) -> Vec<Ascension> {
    let mut all: Vec<Ascension> = image
        .objects()
        .iter()
        .filter_map(|o| Ascension::of(o))
        .filter(|a| persona.is_none_or(|p| a.persona == p))
        .collect();
    all.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)));
    all
}

/// One step of an ascension, as it happens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum AscensionEvent {
    /// The candidate is being fetched (an Ollama pull, a hub download).
    Fetching {
        status: String,
        #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
        done: Option<u64>,
        #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
        total: Option<u64>,
    },
    Cloned {
        candidate: String,
        prompts: u32,
    },
    Answered {
        done: u32,
        of: u32,
    },
    Judged {
        done: u32,
        of: u32,
        outcome: PairOutcome,
    },
}

/// What an ascension is asked to do.
#[derive(Debug, Clone)]
pub struct Request {
    pub persona: String,
    pub candidate_model: String,
    pub held_out: Vec<Row>,
    pub fit: Fit,
}

/// Runs an ascension and records its report as a pending `ascension` object. When the
/// candidate cannot answer, its clone is removed and the persona is as it was.
pub async fn ascend(
    judge: &Judge,
    request: &Request,
    mut progress: impl FnMut(AscensionEvent) + Send,
) -> Result<Ascension> {
    let mut bookkeeping = Instant::now();
    let voice = judge.voice();
    let image = voice.image().clone();
    let persona = resolve_persona(&image, &request.persona)?;
    if request.held_out.is_empty() {
        return Err(Error::NoHeldOut {
            persona: persona.name.clone(),
            rows: 0,
        });
    }
    let clone = clone_onto(&image, &persona, &request.candidate_model).await?;
    let mut booked = bookkeeping.elapsed().as_secs_f64() * 1e3;
    let of = request.held_out.len() as u32;
    progress(AscensionEvent::Cloned {
        candidate: clone.name.clone(),
        prompts: of,
    });
    // Anything failing from here on (an answer, a verdict, the record) removes the clone: the
    // image is as it was.
    let outcome = async {
        let answered = answer_all(judge, &persona, &clone, request, &mut progress).await?;
        let (answers, answering, incumbent_route) = answered;
        let rubric = Rubric::of(&Codex::of(&image, &persona), false);
        let judging_began = Instant::now();
        let mut pairs = Vec::new();
        let mut scores = Vec::new();
        let (mut decisive, mut longer) = (0u32, 0u32);
        for (i, (row, (inc, inc_ms), (cand, cand_ms))) in answers.into_iter().enumerate() {
            let paired = judge.compare(&rubric, &row.ask(), &cand, &inc).await?;
            for ask in &paired.asks {
                if ask.outcome != PairOutcome::Tie && cand.len() != inc.len() {
                    decisive += 1;
                    let cand_longer = cand.len() > inc.len();
                    if (ask.outcome == PairOutcome::Win) == cand_longer {
                        longer += 1;
                    }
                }
            }
            progress(AscensionEvent::Judged {
                done: i as u32 + 1,
                of,
                outcome: paired.outcome,
            });
            scores.push((paired.a.clone(), paired.b.clone()));
            pairs.push(Pair {
                prompt: row.ask(),
                incumbent: inc,
                candidate: cand,
                outcome: paired.outcome,
                flipped: paired.flipped,
                incumbent_ms: inc_ms,
                candidate_ms: cand_ms,
                rationales: paired.asks.iter().map(|a| a.rationale.clone()).collect(),
            });
        }
        let judging = judging_began.elapsed().as_secs_f64() * 1e3;
        bookkeeping = Instant::now();
        let length_bias = (decisive > 0).then(|| f64::from(longer) / f64::from(decisive));
        let mut report = Report::of(
            pairs,
            &scores,
            &rubric,
            request.fit.clone(),
            length_bias,
            Timing::default(),
        );
        let codex = Codex::of(&image, &persona);
        let mut cycle = image.begin(&format!(
            "ascend {} to {}",
            persona.name, request.candidate_model
        ));
        let genesis = cycle.resolve("genesis")?;
        let name = format!("ascension {}", cycle.id());
        let id = cycle.create(&name, &[genesis])?;
        booked += bookkeeping.elapsed().as_secs_f64() * 1e3;
        report.timing = Timing {
            answering,
            judging,
            bookkeeping: booked,
        };
        let slots = [
            ("kind", json!(ASCENSION)),
            ("persona", json!(persona.name)),
            ("candidate", json!(clone.name)),
            ("candidate_model", json!(request.candidate_model)),
            ("incumbent_model", json!(codex.model)),
            ("incumbent_answered_by", json!(incumbent_route)),
            ("state", json!(AscensionState::Pending)),
            ("report", serde_json::to_value(&report).unwrap_or_default()),
            ("at", json!(telos_image::now_ms())),
        ];
        for (slot, value) in slots {
            cycle.set_slot(&id, slot, value)?;
        }
        cycle.link(&id, "persona", &persona.id)?;
        cycle.link(&id, "candidate", &clone.id)?;
        cycle.commit().await?;
        let recorded = image.get(&id)?;
        Ascension::of(&recorded).ok_or(Error::NoAscension(name))
    }
    .await;
    if outcome.is_err() {
        remove(&image, &clone).await;
    }
    outcome
}

type Answers = (Vec<(Row, (String, f64), (String, f64))>, f64, String);

/// Both answer every held-out prompt; the candidate must answer with its own model (a route
/// that falls back to another model is refused: it would judge the wrong model).
async fn answer_all(
    judge: &Judge,
    persona: &Arc<Object>,
    clone: &Arc<Object>,
    request: &Request,
    progress: &mut (impl FnMut(AscensionEvent) + Send),
) -> Result<Answers> {
    let voice = judge.voice();
    let route = voice.route(clone).await?;
    if route.model != request.candidate_model || route.fallback.is_some() {
        return Err(Error::Candidate {
            model: request.candidate_model.clone(),
            reason: route.fallback.unwrap_or_else(|| {
                format!("the scheduler would answer with {} instead", route.model)
            }),
        });
    }
    let incumbent_route = voice.route(persona).await?.model;
    let began = Instant::now();
    let of = request.held_out.len() as u32;
    let mut out = Vec::new();
    for (i, row) in request.held_out.iter().enumerate() {
        let ask = |who: &Arc<Object>| answer(voice, Arc::clone(who), row.ask());
        // Taking turns on who answers first, so neither always finds the other's model loaded.
        let (inc, cand) = if i % 2 == 0 {
            let inc = ask(persona).await?;
            (
                inc,
                ask(clone).await.map_err(|e| candidate_failed(request, e))?,
            )
        } else {
            let cand = ask(clone).await.map_err(|e| candidate_failed(request, e))?;
            (ask(persona).await?, cand)
        };
        out.push((row.clone(), inc, cand));
        progress(AscensionEvent::Answered {
            done: i as u32 + 1,
            of,
        });
    }
    Ok((out, began.elapsed().as_secs_f64() * 1e3, incumbent_route))
}

/// One answer and how long it took; a reply cut at the runtime's token limit is kept as far
/// as it got (both sides answer under the same limit).
async fn answer(
    voice: &telos_persona::Voice,
    who: Arc<Object>,
    prompt: String,
) -> std::result::Result<(String, f64), telos_persona::Error> {
    let (text, _, ms) = crate::judge::heard(voice, &who, Turn::new(prompt), true).await?;
    Ok((text.trim().to_string(), ms))
}

fn candidate_failed(request: &Request, e: telos_persona::Error) -> Error {
    Error::Candidate {
        model: request.candidate_model.clone(),
        reason: e.to_string(),
    }
}

/// The persona cloned as `NAME candidate` (or `NAME candidate 2`, …) thinking with `model`,
/// its scrapbook empty; one cycle.
async fn clone_onto(image: &Image, persona: &Arc<Object>, model: &str) -> Result<Arc<Object>> {
    let base = format!("{} candidate", persona.name);
    let name = (1..)
        .map(|n| {
            if n == 1 {
                base.clone()
            } else {
                format!("{base} {n}")
            }
        })
        .find(|n| image.resolve(n).is_err())
        .unwrap_or(base);
    let mut cycle = image.begin(&format!("ascend {}: clone onto {model}", persona.name));
    let id = cycle.clone_object(&persona.id, &name)?;
    cycle.set_slot(&id, "model", json!(model))?;
    cycle.set_slot(&id, CANDIDATE_OF, json!(persona.id))?;
    cycle.remove_slot(&id, SCRAPBOOK)?;
    cycle.remove_slot(&id, "unread")?;
    cycle.commit().await?;
    Ok(image.get(&id)?)
}

/// Removes a clone whose candidate could not answer (its failure is already the error).
async fn remove(image: &Image, clone: &Object) {
    let mut cycle = image.begin(&format!("ascend: remove {}", clone.name));
    let removed = match cycle.delete(&clone.id) {
        Ok(()) => cycle.commit().await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = removed {
        tracing::warn!(
            "the candidate clone {} could not be removed: {e}",
            clone.name
        );
    }
}

/// The ascension `id_or_name` names.
pub fn find(image: &Image, id_or_name: &str) -> Result<(ObjectId, Ascension)> {
    let o = image
        .resolve(id_or_name)
        .map_err(|_| Error::NoAscension(id_or_name.to_string()))?;
    let a = Ascension::of(&o).ok_or_else(|| Error::NoAscension(id_or_name.to_string()))?;
    Ok((o.id.clone(), a))
}

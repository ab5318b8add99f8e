//! ALFRED as judge, through his `Voice` (so the scheduler) with structured output: an
//! exchange scored against its persona's rubric, and two answers to one prompt compared —
//! asked twice with the order swapped, so a verdict that follows the position is a tie.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use telos_image::Object;
use telos_persona::{Turn, Voice, resolve_persona};

use crate::exchange::{Exchange, JUDGE, Message};
use crate::rubric::{RATIONALE_CHARS, Rubric};
use crate::{Error, Result};

/// Criterion → mean score.
pub type Scores = BTreeMap<String, f64>;

/// A single exchange's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Scored {
    /// Criterion → 1..=5.
    pub scores: BTreeMap<String, u8>,
    pub overall: u8,
    pub rationale: String,
    /// The model that judged.
    pub judge: String,
    /// How long the judge's model took (ms).
    pub model_ms: f64,
}

/// How two answers compare, from the first one's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum PairOutcome {
    Win,
    Tie,
    Loss,
}

/// One of the two asks of a pairwise comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Ask {
    /// Whether `a` was shown first.
    pub a_first: bool,
    /// What the judge preferred, from `a`'s side.
    pub outcome: PairOutcome,
    pub rationale: String,
    pub model_ms: f64,
}

/// A pairwise verdict on answers `a` and `b` to one prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Paired {
    /// From `a`'s side: a win only when both orders say so; a tie when either says tie or
    /// the two disagree.
    pub outcome: PairOutcome,
    /// The two orders gave opposite decisive verdicts: the judge followed the position.
    pub flipped: bool,
    /// Each criterion's mean score over both asks.
    pub a: Scores,
    pub b: Scores,
    pub asks: Vec<Ask>,
}

#[derive(Deserialize)]
struct ScoreReply {
    scores: BTreeMap<String, u8>,
    overall: u8,
    rationale: String,
}

#[derive(Deserialize)]
struct PairReply {
    first: BTreeMap<String, u8>,
    second: BTreeMap<String, u8>,
    better: String,
    rationale: String,
}

/// ALFRED judging, over the personas' voices.
#[derive(Clone)]
pub struct Judge {
    voice: Voice,
}

impl Judge {
    pub fn new(voice: Voice) -> Self {
        Self { voice }
    }

    pub fn voice(&self) -> &Voice {
        &self.voice
    }

    /// Scores `exchange` against `rubric`.
    pub async fn score(&self, rubric: &Rubric, exchange: &Exchange) -> Result<Scored> {
        let prompt = format!(
            "You judge one exchange of {}.\n\n{}\n\n{}\n\nScore each criterion, give an overall \
             score from 1 to 5, and a one-sentence rationale.",
            exchange.persona,
            conversation(&exchange.messages),
            rubric.describe()
        );
        let (reply, judge, model_ms) = self.ask(prompt, rubric.score_schema()).await?;
        let parsed: ScoreReply = parse(&reply)?;
        Ok(Scored {
            scores: checked(rubric, parsed.scores, &reply)?,
            overall: in_scale(parsed.overall, "overall", &reply)?,
            rationale: clip(parsed.rationale),
            judge,
            model_ms,
        })
    }

    /// Compares answers `a` and `b` to `prompt`: asked with `a` first, then with `b` first.
    pub async fn compare(&self, rubric: &Rubric, prompt: &str, a: &str, b: &str) -> Result<Paired> {
        let mut asks = Vec::new();
        let mut a_scores = Scores::new();
        let mut b_scores = Scores::new();
        for a_first in [true, false] {
            let (first, second) = if a_first { (a, b) } else { (b, a) };
            let text = format!(
                "You compare two answers to one prompt, for {}.\n\nThe prompt:\n{prompt}\n\n\
                 The first answer:\n{first}\n\nThe second answer:\n{second}\n\n{}\n\nScore both \
                 answers, say which is better (first, second or tie) and give a one-sentence \
                 rationale.",
                rubric.persona,
                rubric.describe()
            );
            let (reply, _, model_ms) = self.ask(text, rubric.pair_schema()).await?;
            let parsed: PairReply = parse(&reply)?;
            let first_scores = checked(rubric, parsed.first, &reply)?;
            let second_scores = checked(rubric, parsed.second, &reply)?;
            let (mine, theirs) = if a_first {
                (first_scores, second_scores)
            } else {
                (second_scores, first_scores)
            };
            for (c, s) in mine {
                *a_scores.entry(c).or_default() += f64::from(s) / 2.0;
            }
            for (c, s) in theirs {
                *b_scores.entry(c).or_default() += f64::from(s) / 2.0;
            }
            let outcome = match (parsed.better.as_str(), a_first) {
                ("first", true) | ("second", false) => PairOutcome::Win,
                ("first", false) | ("second", true) => PairOutcome::Loss,
                ("tie", _) => PairOutcome::Tie,
                (other, _) => {
                    return Err(Error::Judge(format!(
                        "ALFRED named {other:?} as the better answer (first, second or tie): {reply}"
                    )));
                }
            };
            asks.push(Ask {
                a_first,
                outcome,
                rationale: clip(parsed.rationale),
                model_ms,
            });
        }
        let (one, two) = (asks[0].outcome, asks[1].outcome);
        let flipped = matches!(
            (one, two),
            (PairOutcome::Win, PairOutcome::Loss) | (PairOutcome::Loss, PairOutcome::Win)
        );
        let outcome = if one == two { one } else { PairOutcome::Tie };
        Ok(Paired {
            outcome,
            flipped,
            a: a_scores,
            b: b_scores,
            asks,
        })
    }

    /// One structured-output turn of ALFRED: the reply, the model that gave it, and the
    /// model's time (from asking to the last piece).
    async fn ask(&self, message: String, schema: Value) -> Result<(String, String, f64)> {
        let alfred = resolve_persona(self.voice.image(), JUDGE)?;
        let turn = Turn {
            format: Some(schema),
            ..Turn::new(message)
        };
        Ok(heard(&self.voice, &alfred, turn, false).await?)
    }
}

/// One turn of `who`, its reply gathered: the text, the model that gave it and the model's
/// time (from asking to the last piece). With `keep_cut`, a reply cut off (the runtime's token
/// limit) is kept as far as it got.
pub(crate) async fn heard(
    voice: &Voice,
    who: &Arc<Object>,
    turn: Turn,
    keep_cut: bool,
) -> telos_persona::Result<(String, String, f64)> {
    let grounded = voice.ground(who, turn).await;
    let began = Instant::now();
    let reply = voice.speak(&grounded).await?;
    let model = reply.route.model.clone();
    let mut stream = reply.stream;
    let mut text = String::new();
    while let Some(piece) = stream.next().await {
        match piece {
            Ok(p) => text.push_str(&p),
            Err(telos_scheduler::Error::Cut { reason, .. }) if keep_cut && !text.is_empty() => {
                tracing::debug!("{}'s reply was cut: {reason}", who.name);
                break;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok((text, model, began.elapsed().as_secs_f64() * 1e3))
}

/// The conversation as the judge reads it.
fn conversation(messages: &[Message]) -> String {
    messages
        .iter()
        .filter(|m| m.role != "system")
        .map(|m| {
            let who = if m.role == "assistant" {
                "Answer"
            } else {
                "Prompt"
            };
            format!("{who}: {}", m.content.trim())
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn parse<T: serde::de::DeserializeOwned>(reply: &str) -> Result<T> {
    serde_json::from_str(reply.trim()).map_err(|e| {
        Error::Judge(format!(
            "ALFRED's verdict is not the JSON asked for ({e}): {}",
            reply.chars().take(300).collect::<String>()
        ))
    })
}

fn in_scale(score: u8, what: &str, reply: &str) -> Result<u8> {
    if (1..=5).contains(&score) {
        Ok(score)
    } else {
        Err(Error::Judge(format!(
            "ALFRED scored {what} {score}, outside 1..5: {reply}"
        )))
    }
}

/// Every criterion of the rubric scored in 1..=5; a score of anything else is left out (the
/// schema allows none, so only a runtime without structured output writes one).
fn checked(
    rubric: &Rubric,
    mut scores: BTreeMap<String, u8>,
    reply: &str,
) -> Result<BTreeMap<String, u8>> {
    for c in &rubric.criteria {
        let Some(s) = scores.get(c) else {
            return Err(Error::Judge(format!(
                "ALFRED's verdict lacks the criterion {c:?}: {reply}"
            )));
        };
        in_scale(*s, c, reply)?;
    }
    scores.retain(|k, _| rubric.criteria.contains(k));
    Ok(scores)
}

fn clip(text: String) -> String {
    let text = text.trim();
    text.chars().take(RATIONALE_CHARS as usize).collect()
}

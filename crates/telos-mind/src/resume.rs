//! A dialogue in the Debugger: its cycle's trace read back thought by thought — each turn's
//! prompt, what grounded it, the reply, ALFRED's verdicts, the synthesis — and resumed from a
//! turn the user rewrote: the turns before it are kept, the later ones are thought anew, as a
//! new cycle that resolves the old one when it was suspended.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use telos_image::CycleRecord;
use telos_persona::Voice;
use telos_supervisor::Supervisor;
use tokio::sync::mpsc;

use crate::dialogue::{
    DEFAULT_ROUNDS, DialogueEvent, JUDGE, Judgement, MAX_ROUNDS, SPEAKERS, Seed, TurnRecord, begin,
};
use crate::{Error, Result};

/// One thought of a dialogue, as its trace recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Thought {
    /// `turn`, `verdict`, `synthesis`, or `yield` (the dialogue waited for the user).
    pub kind: String,
    pub round: u32,
    pub persona: String,
    /// What the model was asked.
    pub prompt: Option<String>,
    pub recalled: Vec<String>,
    /// The reply (a verdict's reason for a verdict).
    pub text: String,
    pub verdict: Option<String>,
    pub model: Option<String>,
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub ms: Option<f64>,
    /// Why the turn broke off, when it did.
    pub error: Option<String>,
    /// Kept from the dialogue this one resumed, or written by the user.
    pub kept: bool,
    pub edited: bool,
    /// For a turn that completed: its index among the dialogue's turns (what `resume` takes).
    pub turn: Option<u32>,
}

/// A dialogue cycle's story for the Debugger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DialogueTrace {
    pub question: String,
    pub rounds: u32,
    /// The two sides, in speaking order.
    pub sides: Vec<String>,
    pub thoughts: Vec<Thought>,
}

fn is_dialogue(record: &CycleRecord) -> bool {
    record.trigger.starts_with("dialogue ")
        || record
            .task
            .as_ref()
            .is_some_and(|t| t["kind"] == "dialogue")
}

/// The thoughts of a dialogue cycle, if it is one.
pub fn trace(record: &CycleRecord) -> Option<DialogueTrace> {
    if !is_dialogue(record) {
        return None;
    }
    let text = |v: &Value| v.as_str().map(str::to_string);
    let mut question = record
        .task
        .as_ref()
        .and_then(|t| text(&t["question"]))
        .unwrap_or_default();
    let mut rounds = DEFAULT_ROUNDS;
    let mut sides: Vec<String> = SPEAKERS.iter().map(|s| s.to_string()).collect();
    let mut thoughts = Vec::new();
    let mut turns = 0u32;
    for step in &record.steps {
        let d = &step.detail;
        match step.op.as_str() {
            "question" => {
                question = text(&d["question"]).unwrap_or(question);
                rounds = d["rounds"].as_u64().map_or(rounds, |r| r as u32);
                if let Some([a, b]) = d["sides"].as_array().map(Vec::as_slice) {
                    sides = [a, b].iter().filter_map(|s| text(s)).collect();
                }
            }
            "turn" | "verdict" | "synthesis" | "yield" => {
                let error = text(&d["error"]);
                let completed = step.op == "turn" && error.is_none();
                thoughts.push(Thought {
                    kind: step.op.clone(),
                    round: d["round"].as_u64().unwrap_or(0) as u32,
                    persona: text(&d["persona"]).unwrap_or_else(|| JUDGE.to_string()),
                    prompt: text(&d["prompt"]),
                    recalled: d["recalled"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(&text)
                        .collect(),
                    text: text(&d["text"])
                        .or_else(|| text(&d["reason"]))
                        .or_else(|| text(&d["partial"]))
                        .or_else(|| text(&d["why"]))
                        .unwrap_or_default(),
                    verdict: text(&d["verdict"]),
                    model: text(&d["model"]),
                    ms: d["ms"].as_f64(),
                    error,
                    kept: d["kept"] == Value::Bool(true),
                    edited: d["edited"] == Value::Bool(true),
                    turn: completed.then_some(turns),
                });
                if completed {
                    turns += 1;
                }
            }
            _ => {}
        }
    }
    if question.is_empty() {
        question = record.trigger.trim_start_matches("dialogue ").to_string();
    }
    Some(DialogueTrace {
        question,
        rounds,
        sides,
        thoughts,
    })
}

/// Resumes the dialogue of cycle `id`. With `edit` (`turn`, counted from 0 among the turns
/// that completed, and the text it now says): the turns before it and the verdicts of the
/// rounds before its round are kept, the rest is thought anew. Without: everything said and
/// judged is kept and the dialogue goes on from where it broke off. Either way as a new cycle,
/// which resolves the old one when it was suspended; the events stream back as a new
/// dialogue's do.
pub async fn resume(
    voice: &Voice,
    supervisor: &Supervisor,
    id: &str,
    edit: Option<(u32, String)>,
) -> Result<mpsc::Receiver<DialogueEvent>> {
    let image = voice.image();
    let record = image.cycle(id).await?;
    let story = trace(&record).ok_or_else(|| Error::NotADialogue(id.to_string()))?;
    let said: Vec<&Thought> = story.thoughts.iter().filter(|t| t.turn.is_some()).collect();
    let kept = |t: &&Thought| TurnRecord {
        round: t.round,
        persona: t.persona.clone(),
        text: t.text.clone(),
        recalled: t.recalled.clone(),
        model: t.model.clone().unwrap_or_default(),
        runtime: String::new(),
        ms: t.ms.unwrap_or(0.0),
        model_ms: 0.0,
    };
    let (turns, before, edited) = match edit {
        Some((turn, text)) => {
            let text = text.trim().to_string();
            if text.is_empty() {
                return Err(Error::EmptyTurn);
            }
            let Some(chosen) = said.get(turn as usize) else {
                return Err(Error::NoTurn {
                    cycle: id.to_string(),
                    turn,
                    have: said.len() as u32,
                });
            };
            let mut turns: Vec<TurnRecord> = said[..turn as usize].iter().map(kept).collect();
            turns.push(TurnRecord {
                text,
                recalled: Vec::new(),
                model: "edited by you".into(),
                ms: 0.0,
                model_ms: 0.0,
                ..kept(chosen)
            });
            (turns, chosen.round, Some(turn as usize))
        }
        None => (said.iter().map(kept).collect(), u32::MAX, None),
    };
    let judgements: Vec<Judgement> = story
        .thoughts
        .iter()
        .filter(|t| t.kind == "verdict" && t.round < before)
        .filter_map(|t| {
            Some(Judgement {
                round: t.round,
                verdict: serde_json::from_value(Value::String(t.verdict.clone()?)).ok()?,
                reason: t.text.clone(),
            })
        })
        .collect();
    let claim = if record.is_suspended() {
        Some(image.claim(&record.id)?)
    } else {
        None
    };
    let last = turns.last().map_or(1, |t| t.round);
    let rounds = story.rounds.clamp(last, MAX_ROUNDS);
    let seed = Seed {
        edited,
        turns,
        judgements,
        resumes: Some(record),
        claim,
    };
    let sides = match story.sides.as_slice() {
        [a, b] => [a.as_str(), b.as_str()],
        _ => SPEAKERS,
    };
    begin(
        voice,
        supervisor,
        &story.question,
        rounds,
        sides,
        None,
        seed,
    )
}

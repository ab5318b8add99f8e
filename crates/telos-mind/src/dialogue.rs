//! Socratic Contrapunto: a question argued by BRICK (logic, deconstruction) and ROBIN (empathy,
//! synthesis of feeling) in alternating turns, each a grounded `voice` turn with its own
//! memories and the transcript so far. After each round ALFRED judges, as structured output:
//! converged, continue or impasse. A hard cap on rounds and a stance check (the embeddings of
//! each side's latest position stop moving for two rounds) keep it from looping. ALFRED then
//! writes the synthesis, and the dialogue is recorded as one cycle (see `record.rs`); a
//! dialogue that fails or is cut is a suspended cycle with its trace.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use telos_image::{Cycle, ObjRef, Object};
use telos_persona::{Status, Turn, Voice, resolve_persona};
use telos_supervisor::{Shutdown, Supervisor};
use tokio::sync::mpsc;

pub use crate::prompts::verdict_schema;
use crate::prompts::{
    judge_prompt, recall_query, short, synthesis_prompt, to_last_sentence, turn_prompt,
};
use crate::record;
use crate::{Error, Result};

/// The two sides unless the user picks others, in speaking order.
pub const SPEAKERS: [&str; 2] = ["BRICK", "ROBIN"];
/// Who judges each round and writes the synthesis.
pub const JUDGE: &str = "ALFRED";
/// Rounds unless asked otherwise.
pub const DEFAULT_ROUNDS: u32 = 3;
/// The most rounds a dialogue may be given.
pub const MAX_ROUNDS: u32 = 10;
/// Memories recalled to ground each turn.
const GROUNDING: usize = 3;
/// The most a turn (or the synthesis) may say, in bytes (a few sentences are some hundreds).
pub const TURN_CHARS: usize = 2000;

/// ALFRED's judgement of a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Converged,
    Continue,
    Impasse,
}

/// How a dialogue ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub enum Ending {
    /// ALFRED found the sides agree.
    Converged,
    /// ALFRED found them stuck.
    Impasse,
    /// The cap on rounds came first.
    Cap,
    /// Neither side's position moved for two rounds.
    Stalled,
}

/// One turn of the transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TurnRecord {
    pub round: u32,
    pub persona: String,
    pub text: String,
    /// The memories that grounded it, as `SOURCE #CHUNK`.
    pub recalled: Vec<String>,
    pub model: String,
    pub runtime: String,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub ms: f64,
    /// Of which the model's: from asking the scheduler to the reply's last piece (a load
    /// included). The rest is the dialogue's own work: grounding, prompts, events, the trace.
    #[serde(default)]
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub model_ms: f64,
}

/// ALFRED's verdict on one round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Judgement {
    pub round: u32,
    pub verdict: Verdict,
    pub reason: String,
}

/// One event of a dialogue as it happens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum DialogueEvent {
    Started {
        question: String,
        rounds: u32,
        /// The two sides, in speaking order.
        sides: Vec<String>,
    },
    /// A persona begins a turn (or ALFRED the synthesis, as round 0; its verdicts come as
    /// `Verdict` events, not as turns).
    Turn {
        round: u32,
        persona: String,
        recalled: Vec<String>,
    },
    /// A piece of the current turn's text.
    Token { persona: String, text: String },
    /// ALFRED's verdict on a round.
    Verdict(Judgement),
    /// The dialogue is recorded: the `dialogue` object and its cycle.
    Done {
        dialogue: ObjRef,
        cycle: String,
        ending: Ending,
        synthesis: String,
    },
    /// It failed or was cut; `cycle` is the suspended cycle with its trace, when one was kept.
    Failed {
        message: String,
        cycle: Option<String>,
    },
}

/// Starts a dialogue on `question` between `sides` (two personas, by name or id, in speaking
/// order; [`SPEAKERS`] unless the user picked others) for at most `rounds` rounds, as a job of
/// `supervisor`; the events stream back (dropping the receiver cuts the dialogue, which is
/// then kept suspended).
pub fn dialogue(
    voice: &Voice,
    supervisor: &Supervisor,
    question: &str,
    rounds: u32,
    sides: [&str; 2],
) -> Result<mpsc::Receiver<DialogueEvent>> {
    begin(
        voice,
        supervisor,
        question,
        rounds,
        sides,
        None,
        Seed::default(),
    )
}

/// What a dialogue starts from: nothing, or (resumed from the Debugger) the turns and verdicts
/// kept from an earlier one, which the new cycle resolves when it was suspended.
#[derive(Default)]
pub(crate) struct Seed {
    pub(crate) turns: Vec<TurnRecord>,
    pub(crate) judgements: Vec<Judgement>,
    pub(crate) resumes: Option<telos_image::CycleRecord>,
    pub(crate) claim: Option<telos_image::ClaimGuard>,
    /// The turn the user wrote (its index in `turns`).
    pub(crate) edited: Option<usize>,
}

pub(crate) fn begin(
    voice: &Voice,
    supervisor: &Supervisor,
    question: &str,
    rounds: u32,
    sides: [&str; 2],
    gate: Option<Status>,
    seed: Seed,
) -> Result<mpsc::Receiver<DialogueEvent>> {
    let question = question.trim().to_string();
    if question.is_empty() {
        return Err(Error::EmptyQuestion);
    }
    if !(1..=MAX_ROUNDS).contains(&rounds) {
        return Err(Error::BadRounds {
            rounds,
            max: MAX_ROUNDS,
        });
    }
    resolve_persona(voice.image(), JUDGE)?;
    let sides = [
        resolve_persona(voice.image(), sides[0])?.name.clone(),
        resolve_persona(voice.image(), sides[1])?.name.clone(),
    ];
    if sides[0] == sides[1] {
        return Err(Error::OneSide(sides[0].clone()));
    }
    let (tx, rx) = mpsc::channel(64);
    let (voice, shutdown) = (voice.clone(), supervisor.shutdown());
    supervisor.job(format!("dialogue: {question}"), async move {
        let Seed {
            turns,
            judgements,
            resumes,
            claim,
            edited,
        } = seed;
        let _claim = claim;
        let mut cycle = match &resumes {
            Some(r) => voice.image().begin(&format!("dialogue resume {}", r.id)),
            None => voice
                .image()
                .begin(&format!("dialogue {}", short(&question))),
        };
        cycle.note(
            "question",
            json!({"question": question, "rounds": rounds, "sides": sides}),
        );
        if let Some(r) = resumes {
            cycle.note("resumes", json!({"cycle": r.id, "turn": edited}));
            if r.is_suspended() {
                cycle.set_resumes(r);
            }
        }
        // The kept turns and verdicts head the new trace, in the order they were thought.
        for (i, t) in turns.iter().enumerate() {
            let mut detail = serde_json::to_value(t).unwrap_or_default();
            detail["kept"] = json!(edited != Some(i));
            detail["edited"] = json!(edited == Some(i));
            cycle.note("turn", detail);
            if let Some(j) = judgements
                .iter()
                .find(|j| j.round == t.round && turns.get(i + 1).is_none_or(|n| n.round != t.round))
            {
                cycle.note(
                    "verdict",
                    json!({"round": j.round, "verdict": j.verdict, "reason": j.reason,
                           "kept": true}),
                );
            }
        }
        let mut d = Dialogue {
            cycle,
            voice,
            question,
            sides,
            turns,
            judgements,
            positions: HashMap::new(),
            tx,
            shutdown,
            gate,
        };
        let outcome = d.run(rounds).await;
        let tx = d.tx.clone();
        let event = match outcome {
            Ok((ending, synthesis)) => record::commit(d, ending, synthesis).await,
            Err(why) => record::suspend(d, why).await,
        };
        let _ = tx.send(event).await; // a listener that went away was told nothing more
    });
    Ok(rx)
}

/// A dialogue under way: its cycle (where the trace goes), the transcript and the verdicts.
pub(crate) struct Dialogue {
    pub(crate) voice: Voice,
    pub(crate) cycle: Cycle,
    pub(crate) question: String,
    /// The two sides, in speaking order.
    pub(crate) sides: [String; 2],
    pub(crate) turns: Vec<TurnRecord>,
    pub(crate) judgements: Vec<Judgement>,
    /// Each side's positions as embedded for the stance check, by text.
    pub(crate) positions: HashMap<String, Vec<f32>>,
    pub(crate) tx: mpsc::Sender<DialogueEvent>,
    shutdown: Shutdown,
    gate: Option<Status>,
}

impl Dialogue {
    async fn send(&self, event: DialogueEvent) -> std::result::Result<(), String> {
        self.tx
            .send(event)
            .await
            .map_err(|_| "cut: nobody is listening any more".to_string())
    }

    /// The rounds, then the synthesis: how it ended and ALFRED's text.
    async fn run(&mut self, rounds: u32) -> std::result::Result<(Ending, String), String> {
        self.send(DialogueEvent::Started {
            question: self.question.clone(),
            rounds,
            sides: self.sides.to_vec(),
        })
        .await?;
        // A resumed dialogue whose last kept verdict ended it goes straight to the synthesis.
        let mut ending = match self.judgements.last().map(|j| j.verdict) {
            Some(Verdict::Converged) => Ending::Converged,
            Some(Verdict::Impasse) => Ending::Impasse,
            _ => Ending::Cap,
        };
        let first = if ending == Ending::Cap { 1 } else { rounds + 1 };
        let mut still = 0;
        for round in first..=rounds {
            // A resumed dialogue skips what it kept: judged rounds, and turns already said.
            if self.judgements.iter().any(|j| j.round == round) {
                continue;
            }
            for speaker in self.sides.clone() {
                if self
                    .turns
                    .iter()
                    .any(|t| t.round == round && t.persona == speaker)
                {
                    continue;
                }
                let prompt = turn_prompt(&speaker, &self.question, &self.turns);
                let turn = self.speak(round, &speaker, prompt, None).await?;
                self.turns.push(turn);
            }
            // While ALFRED judges, the next round's first speaker's model loads in place of
            // the idle one that spoke last (the scheduler does it only if nothing waits).
            let (voice, first) = (self.voice.clone(), self.sides[0].clone());
            let prepare = async {
                let began = Instant::now();
                if round < rounds {
                    voice.prepare(&first).await;
                }
                began.elapsed().as_secs_f64() * 1e3
            };
            let (judgement, prepared) = tokio::join!(self.judge(round), prepare);
            if round < rounds {
                let detail = json!({"round": round, "persona": first, "ms": prepared});
                self.cycle.note("prepare", detail);
            }
            let judgement = judgement?;
            self.send(DialogueEvent::Verdict(judgement.clone())).await?;
            let verdict = judgement.verdict;
            self.judgements.push(judgement);
            match verdict {
                Verdict::Converged => {
                    ending = Ending::Converged;
                    break;
                }
                Verdict::Impasse => {
                    ending = Ending::Impasse;
                    break;
                }
                Verdict::Continue => {}
            }
            still = if self.positions_still().await {
                still + 1
            } else {
                0
            };
            if still >= 2 {
                ending = Ending::Stalled;
                self.cycle.note(
                    "stance",
                    json!({"round": round, "why": "neither side's position moved for two rounds"}),
                );
                break;
            }
        }
        let prompt = synthesis_prompt(&self.question, &self.turns, ending);
        let synthesis = self.speak(0, JUDGE, prompt, None).await?;
        Ok((ending, synthesis.text))
    }

    /// One grounded turn of `persona`, streamed to the listener and noted in the trace.
    async fn speak(
        &mut self,
        round: u32,
        persona: &str,
        prompt: String,
        format: Option<Value>,
    ) -> std::result::Result<TurnRecord, String> {
        let object = resolve_persona(self.voice.image(), persona).map_err(|e| e.to_string())?;
        if let Some(gate) = self.gate.as_ref().filter(|g| g.any_busy()) {
            let waited = Instant::now();
            gate.idle().await;
            self.cycle.note(
                "yield",
                json!({"round": round, "persona": persona, "why": "a user's request went first",
                       "ms": waited.elapsed().as_secs_f64() * 1e3}),
            );
        }
        let began = Instant::now();
        // A verdict is shown as its event, not as text.
        let streaming = format.is_none();
        let turn = Turn {
            message: prompt.clone(),
            recall: if format.is_some() { 0 } else { GROUNDING },
            query: Some(recall_query(&self.question, &self.turns)),
            history: 0,
            format,
        };
        let grounded = self.voice.ground(&object, turn).await;
        let recalled: Vec<String> = grounded
            .recalled
            .iter()
            .map(|m| format!("{} #{}", m.source, m.chunk_index))
            .collect();
        if streaming {
            self.send(DialogueEvent::Turn {
                round,
                persona: persona.to_string(),
                recalled: recalled.clone(),
            })
            .await?;
        }
        let shutdown = self.shutdown.clone();
        // A side may speak on the other side's loaded model, when the user allows sharing.
        let sides = &self.sides;
        let partner = sides
            .iter()
            .find(|s| *s != persona && sides.iter().any(|x| x == persona));
        let speaking = async {
            match partner {
                Some(partner) if streaming => self.voice.speak_beside(&grounded, partner).await,
                _ => self.voice.speak(&grounded).await,
            }
        };
        let asked = Instant::now();
        let reply = tokio::select! {
            reply = speaking => reply.map_err(|e| e.to_string()),
            () = shutdown.wait() => Err("cut: Telos is closing".to_string()),
        };
        let reply = match reply {
            Ok(r) => r,
            Err(e) => {
                self.cycle.note(
                    "turn",
                    json!({"round": round, "persona": persona, "prompt": prompt, "error": e}),
                );
                return Err(format!("{persona}'s turn: {e}"));
            }
        };
        let (mut stream, route) = (reply.stream, reply.route);
        let mut text = String::new();
        loop {
            let piece = tokio::select! {
                piece = stream.next() => piece,
                () = self.shutdown.wait() => Some(Err(telos_scheduler::Error::Cut {
                    model: route.model.clone(),
                    reason: "Telos is closing".into(),
                })),
            };
            match piece {
                None => break,
                Some(Ok(p)) => {
                    text.push_str(&p);
                    if streaming {
                        self.send(DialogueEvent::Token {
                            persona: persona.to_string(),
                            text: p,
                        })
                        .await?;
                        // A turn is a few sentences: a model that runs on (small ones loop)
                        // is stopped — dropping the stream ends its request — and the turn
                        // keeps what it said up to its last full sentence.
                        if text.len() >= TURN_CHARS {
                            let said = text.len();
                            text = to_last_sentence(&text);
                            self.cycle.note(
                                "trimmed",
                                json!({"round": round, "persona": persona, "chars": said,
                                       "kept": text.len(), "limit": TURN_CHARS}),
                            );
                            break;
                        }
                    }
                }
                Some(Err(e)) => {
                    self.cycle.note(
                        "turn",
                        json!({"round": round, "persona": persona, "prompt": prompt,
                               "partial": text, "error": e.to_string()}),
                    );
                    return Err(format!("{persona}'s turn broke off: {e}"));
                }
            }
        }
        drop(stream); // a trimmed turn's request ends here
        let record = TurnRecord {
            round,
            persona: object.name.clone(),
            text: text.trim().to_string(),
            recalled,
            model: route.model,
            runtime: route.runtime.to_string(),
            ms: began.elapsed().as_secs_f64() * 1e3,
            model_ms: asked.elapsed().as_secs_f64() * 1e3,
        };
        if !streaming {
            return Ok(record); // a verdict: `judge` notes it
        }
        self.cycle.note(
            if round == 0 { "synthesis" } else { "turn" },
            json!({"round": round, "persona": record.persona, "prompt": prompt,
                   "recalled": record.recalled, "text": record.text, "model": record.model,
                   "runtime": record.runtime, "ms": record.ms, "model_ms": record.model_ms}),
        );
        Ok(record)
    }

    /// ALFRED's structured verdict on `round`.
    async fn judge(&mut self, round: u32) -> std::result::Result<Judgement, String> {
        let prompt = judge_prompt(&self.question, &self.turns);
        let judged = self
            .speak(round, JUDGE, prompt.clone(), Some(verdict_schema()))
            .await?;
        let read = serde_json::from_str::<Value>(&judged.text)
            .map_err(|e| {
                format!(
                    "ALFRED's verdict is not the JSON asked for ({e}): {}",
                    short(&judged.text)
                )
            })
            .and_then(|v| {
                let verdict: Verdict =
                    serde_json::from_value(v["verdict"].clone()).map_err(|_| {
                        format!(
                            "ALFRED's verdict {} is not converged, continue or impasse",
                            v["verdict"]
                        )
                    })?;
                Ok((verdict, v))
            });
        let (verdict, v) = match read {
            Ok(read) => read,
            Err(why) => {
                // The Debugger shows what ALFRED said instead.
                self.cycle.note(
                    "verdict",
                    json!({"round": round, "persona": JUDGE, "prompt": prompt,
                           "text": judged.text, "error": why, "model": judged.model,
                           "ms": judged.ms}),
                );
                return Err(why);
            }
        };
        let judgement = Judgement {
            round,
            verdict,
            reason: v["reason"].as_str().unwrap_or_default().to_string(),
        };
        self.cycle.note(
            "verdict",
            json!({"round": round, "verdict": judgement.verdict, "reason": judgement.reason,
                   "prompt": prompt, "model": judged.model, "ms": judged.ms,
                   "model_ms": judged.model_ms}),
        );
        Ok(judgement)
    }
}

/// The persona objects of a dialogue: both sides and the judge (once, when he is a side).
pub(crate) fn participants(d: &Dialogue) -> Vec<Arc<Object>> {
    let mut names: Vec<&str> = d.sides.iter().map(String::as_str).collect();
    if !names.contains(&JUDGE) {
        names.push(JUDGE);
    }
    names
        .into_iter()
        .filter_map(|n| resolve_persona(d.voice.image(), n).ok())
        .collect()
}

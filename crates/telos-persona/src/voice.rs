//! Voice: one grounded turn of a persona. Every model call Telos makes — a chat, a forge
//! attempt, a summary of a document just read, and every loop to come — goes through here
//! and through the scheduler (DESIGN invariant 8): the codex in force's system prompt, what
//! the persona recalls about the message, its recent scrapbook, and the message, streamed by
//! the persona's model under a lease on it.
//!
//! A turn is two steps, so a caller can show what grounds the reply before the model (which
//! may have to load first) says anything: [`Voice::ground`], then [`Voice::speak`].

use std::sync::Arc;

use futures::StreamExt;
use serde_json::Value;
use telos_image::{Image, Object};
use telos_memory::{Memory, Recalled, RecalledConcept};
use telos_scheduler::{Message, Reply, Route, Runtimes};

use crate::codex::Codex;
use crate::error::Result;
use crate::find::slot_value;
use crate::roster::Roster;

/// The persona's slot holding its conversation: a list of exchanges, newest last.
pub const SCRAPBOOK: &str = "scrapbook";

/// What a turn asks of a persona.
#[derive(Debug, Clone, Default)]
pub struct Turn {
    pub message: String,
    /// Memories to recall about the message (0: none).
    pub recall: usize,
    /// What to recall by, when not the message (a dialogue recalls by its question and the
    /// turn before, not by its whole prompt with the transcript).
    pub query: Option<String>,
    /// Recent exchanges of the persona's scrapbook to include (0: none).
    pub history: usize,
    /// A JSON schema the reply must follow (structured output), if any.
    pub format: Option<Value>,
}

impl Turn {
    /// A bare turn: the message under the codex's system prompt, nothing recalled.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..Self::default()
        }
    }
}

/// A turn ready to be spoken: what grounds it, and the messages for the model.
#[derive(Debug, Clone)]
pub struct Grounded {
    pub persona: Arc<Object>,
    pub codex: Codex,
    pub recalled: Vec<Recalled>,
    /// The persona's named concepts nearest the message.
    pub concepts: Vec<RecalledConcept>,
    /// Why memory could not be searched (the turn goes on ungrounded).
    pub recall_error: Option<String>,
    pub messages: Vec<Message>,
    format: Option<Value>,
}

/// Personas' voices over one image, memory and the runtimes' schedulers. Cloning is shallow.
#[derive(Clone)]
pub struct Voice {
    image: Image,
    memory: Memory,
    runtimes: Runtimes,
    roster: Roster,
}

impl Voice {
    pub fn new(image: Image, memory: Memory, runtimes: Runtimes, roster: Roster) -> Self {
        Self {
            image,
            memory,
            runtimes,
            roster,
        }
    }

    /// Which runtime and model answer `persona` now (and why not its own model, if not).
    pub async fn route(&self, persona: &Object) -> Result<Route> {
        self.roster.sync();
        Ok(self.runtimes.route(&persona.name).await?)
    }

    pub fn image(&self) -> &Image {
        &self.image
    }

    pub fn memory(&self) -> &Memory {
        &self.memory
    }

    /// Grounds `turn` for `persona`: recalls, reads the codex in force and the scrapbook, and
    /// builds the messages. Never fails: a memory that cannot be searched is reported in the
    /// result and the turn goes on without it.
    pub async fn ground(&self, persona: &Arc<Object>, turn: Turn) -> Grounded {
        let codex = Codex::of(&self.image, persona);
        let (recalled, concepts, recall_error) = if turn.recall == 0 {
            (Vec::new(), Vec::new(), None)
        } else {
            match self
                .memory
                .recall_with_concepts(
                    Some(&persona.id),
                    turn.query.as_deref().unwrap_or(&turn.message),
                    turn.recall,
                    CONCEPTS_RECALLED,
                )
                .await
            {
                Ok((hits, concepts)) => (hits, concepts, None),
                Err(e) => {
                    tracing::warn!("recall for {}: {e}", persona.name);
                    (Vec::new(), Vec::new(), Some(e.to_string()))
                }
            }
        };
        let history = match slot_value(&self.image, persona, SCRAPBOOK) {
            Some(Value::Array(list)) => list,
            _ => Vec::new(),
        };
        let messages = messages(
            &codex,
            &recalled,
            &concepts,
            &history,
            turn.history,
            &turn.message,
        );
        Grounded {
            persona: Arc::clone(persona),
            codex,
            recalled,
            concepts,
            recall_error,
            messages,
            format: turn.format,
        }
    }

    /// Streams the persona's reply to a grounded turn through its runtime's scheduler, once
    /// its model is ready; the lease on the model is held until the stream ends or is dropped.
    /// The reply says which runtime and model gave it.
    pub async fn speak(&self, grounded: &Grounded) -> Result<Reply> {
        // A persona cloned or edited a moment ago is one the scheduler knows.
        self.roster.sync();
        let name = &grounded.persona.name;
        let reply = self
            .runtimes
            .chat(name, grounded.messages.clone(), grounded.format.clone())
            .await?;
        Ok(reply)
    }

    /// Gets `persona`'s model ready ahead of its turn (a dialogue's next speaker), when that
    /// costs no waiting request anything; a failure is only logged: the turn will load it.
    pub async fn prepare(&self, persona: &str) {
        self.roster.sync();
        match self.runtimes.prepare(persona).await {
            Ok(loaded) => tracing::debug!(persona, loaded, "prepared"),
            Err(e) => tracing::warn!("preparing {persona}'s model: {e}"),
        }
    }

    /// [`Voice::speak`] for a dialogue turn beside `partner`: with model sharing on (the
    /// user allows it), a turn whose own model is not loaded runs on `partner`'s if that one
    /// is (see `Runtimes::chat_beside`).
    pub async fn speak_beside(&self, grounded: &Grounded, partner: &str) -> Result<Reply> {
        self.roster.sync();
        let name = &grounded.persona.name;
        Ok(self
            .runtimes
            .chat_beside(
                name,
                partner,
                grounded.messages.clone(),
                grounded.format.clone(),
            )
            .await?)
    }

    /// A whole turn, its reply gathered: ground, speak, collect.
    pub async fn say(&self, persona: &Arc<Object>, turn: Turn) -> Result<String> {
        let grounded = self.ground(persona, turn).await;
        let mut stream = self.speak(&grounded).await?.stream;
        let mut reply = String::new();
        while let Some(piece) = stream.next().await {
            reply.push_str(&piece?);
        }
        Ok(reply)
    }
}

/// Named concepts a grounded turn recalls beside its chunks.
pub const CONCEPTS_RECALLED: usize = 2;
/// A concept this far from the message (cosine) grounds nothing.
pub const CONCEPT_FLOOR: f32 = 0.3;

/// The messages for the model: the codex's system prompt with the concepts and memories
/// recalled, the last `keep` exchanges of the scrapbook, the new message.
fn messages(
    codex: &Codex,
    recalled: &[Recalled],
    concepts: &[RecalledConcept],
    scrapbook: &[Value],
    keep: usize,
    message: &str,
) -> Vec<Message> {
    let mut system = codex.system_prompt.clone();
    let concepts: Vec<&RecalledConcept> = concepts
        .iter()
        .filter(|c| c.score >= CONCEPT_FLOOR)
        .collect();
    if !concepts.is_empty() {
        system.push_str("\n\nWhat you have come to understand from many memories:");
        for c in concepts {
            system.push_str(&format!(
                "\n[concept: {}, from {} passages] {}",
                c.label,
                c.size,
                c.definition.trim()
            ));
        }
    }
    if !recalled.is_empty() {
        system.push_str(
            "\n\nWhat you remember that may bear on this (cite the source when you use it):",
        );
        for m in recalled {
            system.push_str(&format!(
                "\n[{} #{}] {}",
                m.source,
                m.chunk_index,
                m.text.trim()
            ));
        }
    }
    let mut out = vec![Message::new("system", system)];
    for past in scrapbook.iter().rev().take(keep).rev() {
        let (Some(user), Some(reply)) = (past["user"].as_str(), past["reply"].as_str()) else {
            continue;
        };
        out.push(Message::new("user", user));
        let mut reply = reply.to_string();
        if past["cut"] == Value::Bool(true) {
            reply.push_str(" [cut off]");
        }
        out.push(Message::new("assistant", reply));
    }
    out.push(Message::new("user", message));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_turn_is_the_codex_prompt_the_memories_the_recent_exchanges_and_the_message() {
        let codex = crate::table::seed("BABS").unwrap().codex();
        let recalled = vec![Recalled {
            persona: "p".into(),
            source: "/kites.md".into(),
            document: "d".into(),
            chunk_index: 0,
            page: None,
            offset: 0,
            text: " A kite needs wind. ".into(),
            score: 0.9,
        }];
        let book = vec![
            json!({"user": "old", "reply": "older", "cut": false}),
            json!({"user": "hi", "reply": "hel", "cut": true}),
            json!({"note": "not an exchange"}),
        ];
        let concepts = vec![
            RecalledConcept {
                id: "c".into(),
                persona: "BABS".into(),
                label: "Kite flight".into(),
                definition: " How kites stay up. ".into(),
                size: 7,
                score: 0.6,
            },
            RecalledConcept {
                id: "far".into(),
                persona: "BABS".into(),
                label: "Taxes".into(),
                definition: "Unrelated.".into(),
                size: 3,
                score: 0.1,
            },
        ];
        let got = messages(&codex, &recalled, &concepts, &book, 2, "And now?");
        let shown: Vec<(&str, &str)> = got
            .iter()
            .map(|m| (m.role.as_str(), m.content.as_str()))
            .collect();
        let system = format!(
            "{}\n\nWhat you have come to understand from many memories:\n[concept: Kite flight, from 7 passages] How kites stay up.\n\nWhat you remember that may bear on this (cite the source when you use it):\n[/kites.md #0] A kite needs wind.",
            codex.system_prompt
        );
        assert_eq!(
            shown,
            [
                ("system", system.as_str()),
                ("user", "hi"),
                ("assistant", "hel [cut off]"),
                ("user", "And now?"),
            ]
        );
        let bare = messages(&codex, &[], &[], &book, 0, "x");
        assert_eq!(bare.len(), 2);
        assert_eq!(bare[0].content, codex.system_prompt);
    }
}

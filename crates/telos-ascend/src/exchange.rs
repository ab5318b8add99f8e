//! Exchanges: what a persona said, as conversations a judge can score and a trainer can learn
//! from — a chat from its scrapbook (the message and its reply), or its part in a dialogue
//! (the question, the other side's turns as the user's, its own as the assistant's; ALFRED's
//! part is the synthesis).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use telos_image::{Image, Object};
use telos_persona::{Codex, SCRAPBOOK, is_persona, slot_value};

/// The persona who sums up a dialogue.
pub const JUDGE: &str = "ALFRED";

/// Where an exchange comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum ExchangeSource {
    Chat,
    Dialogue,
}

/// One message of a conversation, in the chat format trainers read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: &str, content: impl Into<String>) -> Self {
        Self {
            role: role.to_string(),
            content: content.into(),
        }
    }
}

/// A persona's exchange, ready to judge: the conversation ends with its reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Exchange {
    /// What makes it this exchange: `chat:PERSONA_ID:AT:HASH`, `dialogue:DIALOGUE_ID:PERSONA` or
    /// `dialogue:DIALOGUE_ID:ALFRED:synthesis`.
    pub key: String,
    pub persona: String,
    pub source: ExchangeSource,
    /// The object an evaluation of it links to: the persona (a chat) or the dialogue.
    pub judged: String,
    /// When it happened (ms since the epoch).
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub at: i64,
    /// The model that answered, when the record says.
    pub model: Option<String>,
    /// The system prompt (the codex in force), then the turns; the last is the persona's.
    pub messages: Vec<Message>,
}

/// Every exchange in the image, oldest first: each persona's chats (from its scrapbook; cut
/// replies and dialogue entries left out) and each dialogue's parts. `persona` narrows to one.
pub fn exchanges(image: &Image, persona: Option<&Object>) -> Vec<Exchange> {
    let objects = image.objects();
    let mut out = Vec::new();
    for p in objects.iter().filter(|o| is_persona(image, o)) {
        if persona.is_some_and(|want| want.id != p.id) {
            continue;
        }
        out.extend(chats(image, p));
    }
    for d in objects.iter().filter(|o| is_dialogue(o)) {
        out.extend(
            dialogue_parts(image, d)
                .into_iter()
                .filter(|e| persona.is_none_or(|want| want.name == e.persona)),
        );
    }
    out.sort_by(|a, b| a.at.cmp(&b.at).then(a.key.cmp(&b.key)));
    out
}

fn is_dialogue(o: &Object) -> bool {
    o.slots.get("kind").and_then(Value::as_str) == Some("dialogue")
}

fn chats(image: &Image, persona: &Arc<Object>) -> Vec<Exchange> {
    let Some(Value::Array(book)) = slot_value(image, persona, SCRAPBOOK) else {
        return Vec::new();
    };
    let system = Codex::of(image, persona).system_prompt;
    book.iter()
        .filter(|e| e.get("dialogue").is_none() && e["cut"] != Value::Bool(true))
        .filter_map(|e| {
            let (user, reply) = (e["user"].as_str()?, e["reply"].as_str()?);
            if user.trim().is_empty() || reply.trim().is_empty() {
                return None;
            }
            let at = e["at"].as_i64()?;
            Some(Exchange {
                key: format!("chat:{}:{at}:{}", persona.id, short_hash(user, reply)),
                persona: persona.name.clone(),
                source: ExchangeSource::Chat,
                judged: persona.id.to_string(),
                at,
                model: e["model"].as_str().map(str::to_string),
                messages: vec![
                    Message::new("system", system.clone()),
                    Message::new("user", user),
                    Message::new("assistant", reply),
                ],
            })
        })
        .collect()
}

/// Eight hex digits of the exchange's text: two exchanges in one millisecond stay two.
fn short_hash(user: &str, reply: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(user.as_bytes())
        .chain_update([0])
        .chain_update(reply.as_bytes())
        .finalize();
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// A dialogue's parts: one multi-turn exchange per side, and ALFRED's synthesis.
fn dialogue_parts(image: &Image, d: &Object) -> Vec<Exchange> {
    let text = |slot: &str| {
        d.slots
            .get(slot)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let question = text("question");
    let turns: Vec<(String, String)> = match d.slots.get("turns") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|t| Some((t["persona"].as_str()?.into(), t["text"].as_str()?.into())))
            .collect(),
        _ => Vec::new(),
    };
    if question.trim().is_empty() || turns.is_empty() {
        return Vec::new();
    }
    let at = d.created;
    let system_of = |name: &str| {
        image
            .resolve(name)
            .map(|p| Codex::of(image, &p).system_prompt)
            .ok()
    };
    let mut out = Vec::new();
    let mut sides: Vec<&str> = Vec::new();
    for (p, _) in &turns {
        if !sides.contains(&p.as_str()) {
            sides.push(p);
        }
    }
    for side in sides {
        let Some(system) = system_of(side) else {
            continue;
        };
        let mut messages = vec![Message::new("system", system)];
        let mut pending = format!("A dialogue on the question: {question}");
        for (speaker, said) in &turns {
            if speaker == side {
                messages.push(Message::new("user", std::mem::take(&mut pending)));
                messages.push(Message::new("assistant", said.clone()));
                pending = String::new();
            } else {
                if !pending.is_empty() {
                    pending.push_str("\n\n");
                }
                pending.push_str(&format!("{speaker}: {said}"));
            }
        }
        out.push(Exchange {
            key: format!("dialogue:{}:{side}", d.id),
            persona: side.to_string(),
            source: ExchangeSource::Dialogue,
            judged: d.id.to_string(),
            at,
            model: None,
            messages,
        });
    }
    let synthesis = text("synthesis");
    if let (false, Some(system)) = (synthesis.trim().is_empty(), system_of(JUDGE)) {
        let transcript: Vec<String> = turns.iter().map(|(p, t)| format!("{p}: {t}")).collect();
        out.push(Exchange {
            key: format!("dialogue:{}:{JUDGE}:synthesis", d.id),
            persona: JUDGE.into(),
            source: ExchangeSource::Dialogue,
            judged: d.id.to_string(),
            at,
            model: None,
            messages: vec![
                Message::new("system", system),
                Message::new(
                    "user",
                    format!(
                        "Sum up the dialogue on the question: {question}\n\n{}",
                        transcript.join("\n\n")
                    ),
                ),
                Message::new("assistant", synthesis),
            ],
        });
    }
    out
}

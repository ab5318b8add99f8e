//! Chat with a persona, streamed and grounded: what the persona remembers about the message
//! (recall), its system prompt and the conversation so far (its scrapbook in the image) go
//! to its model through the scheduler; the reply streams back as typed events, and the
//! exchange is recorded in the scrapbook as one cycle — a reply cut short is kept, marked cut.

use std::sync::Arc;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use telos_image::Object;
use telos_image::ops::{self, Op};
use telos_scheduler::{Error as SchedError, Message};
use tokio::sync::mpsc;

use crate::Telos;
use crate::error::{Error, Result};
use crate::view::ObjRef;
use crate::world::{resolve_persona, slot_text, slot_value};

/// Longest message a user may send in one go.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// The persona's slot holding its conversation: a list of exchanges, newest last.
pub const SCRAPBOOK: &str = "scrapbook";
/// Exchanges kept in the scrapbook (the oldest drop off).
pub const SCRAPBOOK_KEEP: usize = 200;
/// Exchanges of the conversation sent with each message.
pub const HISTORY: usize = 6;
/// Memories recalled to ground each message.
pub const GROUNDING: usize = 4;

/// One event of a persona's streamed reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ChatEvent {
    /// The persona has the message; `model` is the model that will answer.
    Started {
        persona: ObjRef,
        model: Option<String>,
    },
    /// What was recalled to ground the reply: the sources, best first (`error` when memory
    /// could not be searched; the reply goes on ungrounded).
    Recalled {
        sources: Vec<String>,
        error: Option<String>,
    },
    /// A piece of the reply (the partial message so far is every piece in order).
    Token { text: String },
    /// The model cannot be reached; `message` says why and what to do.
    Offline { message: String },
    /// The reply failed; `partial` is what had arrived, kept in the scrapbook marked cut.
    Failed { message: String, partial: String },
    /// The reply is complete: the whole message.
    Done { text: String },
}

impl Telos {
    /// Sends `text` to `persona` and returns its reply as a stream of events. Dropping the
    /// receiver cancels the reply.
    pub fn chat(&self, persona: &str, text: &str) -> Result<mpsc::Receiver<ChatEvent>> {
        let image = self.image().clone();
        let object = resolve_persona(&image, persona)?;
        if text.trim().is_empty() {
            return Err(Error::EmptyMessage(object.name.clone()));
        }
        if text.len() > MAX_MESSAGE_BYTES {
            return Err(Error::MessageTooLong {
                persona: object.name.clone(),
                size: text.len(),
                limit: MAX_MESSAGE_BYTES,
            });
        }
        let (tx, rx) = mpsc::channel(64);
        let busy = self.status.enter_busy(object.id.clone());
        let telos = self.handles();
        let text = text.to_string();
        tokio::spawn(async move {
            let _busy = busy;
            telos.converse(object, text, tx).await;
        });
        Ok(rx)
    }
}

/// What a reply needs of Telos, cloned into its task.
#[derive(Clone)]
pub(crate) struct Handles {
    pub(crate) image: telos_image::Image,
    pub(crate) memory: telos_memory::Memory,
    pub(crate) scheduler: telos_scheduler::Scheduler,
}

impl Handles {
    async fn converse(self, object: Arc<Object>, text: String, tx: mpsc::Sender<ChatEvent>) {
        let model = slot_text(&self.image, &object, "model");
        let send = |e: ChatEvent| {
            let tx = tx.clone();
            async move { tx.send(e).await.is_ok() }
        };
        if !send(ChatEvent::Started {
            persona: ObjRef::named(&object),
            model: model.clone(),
        })
        .await
        {
            return;
        }
        // Grounding: what this persona remembers about the message.
        let (memories, error) = match self.memory.recall(Some(&object.id), &text, GROUNDING).await {
            Ok(hits) => (hits, None),
            Err(e) => {
                tracing::warn!("recall for {}: {e}", object.name);
                (Vec::new(), Some(e.to_string()))
            }
        };
        let sources = memories
            .iter()
            .map(|m| format!("{} #{}", m.source, m.chunk_index))
            .collect();
        if !send(ChatEvent::Recalled { sources, error }).await {
            return;
        }
        let messages = prompt(&self.image, &object, &memories, &text);
        let mut reply = String::new();
        let outcome = match self.scheduler.chat(&object.name, messages).await {
            Err(e) => Err(e),
            Ok(mut stream) => loop {
                match stream.next().await {
                    None => break Ok(()),
                    Some(Ok(piece)) => {
                        reply.push_str(&piece);
                        if !send(ChatEvent::Token { text: piece }).await {
                            // Cancelled: the reader went away. What arrived is kept, cut.
                            break Err(SchedError::Cut {
                                model: model.clone().unwrap_or_default(),
                                reason: "cancelled".into(),
                            });
                        }
                    }
                    Some(Err(e)) => break Err(e),
                }
            },
        };
        let (event, cut) = match outcome {
            Ok(()) => (
                ChatEvent::Done {
                    text: reply.clone(),
                },
                false,
            ),
            Err(e @ (SchedError::Offline { .. } | SchedError::ModelMissing { .. }))
                if reply.is_empty() =>
            {
                (
                    ChatEvent::Offline {
                        message: format!("{} is offline: {e}", object.name),
                    },
                    true,
                )
            }
            Err(e) => (
                ChatEvent::Failed {
                    message: e.to_string(),
                    partial: reply.clone(),
                },
                true,
            ),
        };
        // The exchange goes in the scrapbook, complete or cut (not when nothing came back).
        if !(cut && reply.is_empty()) {
            let entry = json!({
                "at": telos_image::now_ms(),
                "user": text,
                "reply": reply,
                "cut": cut,
                "model": model,
            });
            let op = Op::Append {
                object: object.id.to_string(),
                slot: SCRAPBOOK.into(),
                value: entry,
                keep: Some(SCRAPBOOK_KEEP),
            };
            if let Err(e) = ops::apply(&self.image, &format!("chat {}", object.name), &[op]).await {
                tracing::error!("recording {}'s exchange: {e}", object.name);
                let _ = tx
                    .send(ChatEvent::Failed {
                        message: format!("the exchange could not be recorded: {e}"),
                        partial: reply.clone(),
                    })
                    .await;
            }
        }
        let _ = tx.send(event).await; // the reader may have gone; nothing left to tell
    }
}

/// The messages for the model: the system prompt with the recalled memories, the recent
/// conversation, the new message.
fn prompt(
    image: &telos_image::Image,
    persona: &Object,
    memories: &[telos_memory::Recalled],
    text: &str,
) -> Vec<Message> {
    let mut system = slot_text(image, persona, "system_prompt").unwrap_or_else(|| {
        let role = slot_text(image, persona, "role").unwrap_or_default();
        format!("You are {}, the {role} persona of Telos.", persona.name)
    });
    if !memories.is_empty() {
        system.push_str(
            "\n\nWhat you remember that may bear on this (cite the source when you use it):",
        );
        for m in memories {
            system.push_str(&format!(
                "\n[{} #{}] {}",
                m.source,
                m.chunk_index,
                m.text.trim()
            ));
        }
    }
    let mut messages = vec![Message::new("system", system)];
    let history = match slot_value(image, persona, SCRAPBOOK) {
        Some(Value::Array(list)) => list,
        _ => Vec::new(),
    };
    for past in history.iter().rev().take(HISTORY).rev() {
        let (Some(user), Some(reply)) = (past["user"].as_str(), past["reply"].as_str()) else {
            continue;
        };
        messages.push(Message::new("user", user));
        let mut reply = reply.to_string();
        if past["cut"] == Value::Bool(true) {
            reply.push_str(" [cut off]");
        }
        messages.push(Message::new("assistant", reply));
    }
    messages.push(Message::new("user", text));
    messages
}

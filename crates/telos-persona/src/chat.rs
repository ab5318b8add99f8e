//! Chat with a persona, streamed and grounded: one [`Voice`] turn with what the persona
//! remembers about the message and the conversation so far; the reply streams back as typed
//! events, and the exchange is recorded in the scrapbook as one cycle — a reply cut short
//! (by the model, the reader going away, or Telos closing) is kept, marked cut.

use std::sync::Arc;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use telos_image::ops::{self, Op};
use telos_image::{ObjRef, Object};
use telos_scheduler::Error as SchedError;
use telos_supervisor::{Shutdown, Supervisor};
use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::find::resolve_persona;
use crate::status::Status;
use crate::voice::{SCRAPBOOK, Turn, Voice};

/// Longest message a user may send in one go.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
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
    /// The persona has the message; `model` is the model that will answer, on `runtime`
    /// (`ollama` or `embedded`); `fallback` says why it is not the persona's own model.
    Started {
        persona: ObjRef,
        model: Option<String>,
        runtime: Option<String>,
        fallback: Option<String>,
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

/// Sends `text` to `persona` and returns its reply as a stream of events; the persona shows
/// busy until the reply ends. The reply runs as a job of `supervisor`: dropping the receiver
/// cancels it, and so does Telos closing.
pub fn chat(
    voice: &Voice,
    status: &Status,
    supervisor: &Supervisor,
    persona: &str,
    text: &str,
) -> Result<mpsc::Receiver<ChatEvent>> {
    let object = resolve_persona(voice.image(), persona)?;
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
    let busy = status.enter_busy(object.id.clone());
    let voice = voice.clone();
    let text = text.to_string();
    let shutdown = supervisor.shutdown();
    supervisor.job(format!("chat with {}", object.name), async move {
        let _busy = busy;
        converse(voice, object, text, tx, shutdown).await;
    });
    Ok(rx)
}

async fn converse(
    voice: Voice,
    object: Arc<Object>,
    text: String,
    tx: mpsc::Sender<ChatEvent>,
    shutdown: Shutdown,
) {
    let send = |e: ChatEvent| {
        let tx = tx.clone();
        async move { tx.send(e).await.is_ok() }
    };
    let turn = Turn {
        message: text.clone(),
        recall: GROUNDING,
        history: HISTORY,
        ..Turn::default()
    };
    let grounded = voice.ground(&object, turn).await;
    let (model, runtime, fallback) = match voice.route(&object).await {
        Ok(r) => (Some(r.model), Some(r.runtime.to_string()), r.fallback),
        // Speaking fails the same way, and says so below.
        Err(_) => (
            Some(grounded.codex.model.clone()).filter(|m| !m.is_empty()),
            None,
            None,
        ),
    };
    let started = ChatEvent::Started {
        persona: ObjRef::named(&object),
        model: model.clone(),
        runtime: runtime.clone(),
        fallback,
    };
    if !send(started).await {
        return;
    }
    // What grounded it, for the scrapbook: the documents recalled, each one's best score, and
    // the best of all (none when memory could not be searched), which the mind's detectors
    // read (a document recalled only at a low score was not really recalled).
    let mut recalled_documents: Vec<&str> = Vec::new();
    let mut recall_scores = serde_json::Map::new();
    for m in &grounded.recalled {
        if !recalled_documents.contains(&m.document.as_str()) {
            recalled_documents.push(&m.document);
        }
        let best = recall_scores
            .get(&m.document)
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(f64::MIN);
        if f64::from(m.score) > best {
            recall_scores.insert(m.document.clone(), json!(m.score));
        }
    }
    let recalled_documents = json!(recalled_documents);
    let grounding = match &grounded.recall_error {
        Some(_) => serde_json::Value::Null,
        None => json!(
            grounded
                .recalled
                .iter()
                .map(|m| m.score)
                .fold(0.0f32, f32::max)
        ),
    };
    let sources = grounded
        .recalled
        .iter()
        .map(|m| format!("{} #{}", m.source, m.chunk_index))
        .collect();
    let recalled = ChatEvent::Recalled {
        sources,
        error: grounded.recall_error.clone(),
    };
    if !send(recalled).await {
        return;
    }
    let cut = |reason: &str| SchedError::Cut {
        model: model.clone().unwrap_or_default(),
        reason: reason.into(),
    };
    let mut reply = String::new();
    let mut answered = None;
    // Waiting for the model (it may have to load first) ends when Telos closes, too.
    let spoken = tokio::select! {
        spoken = voice.speak(&grounded) => spoken,
        () = shutdown.wait() => Err(Error::Scheduler(cut("Telos is closing"))),
    };
    let outcome = match spoken {
        Err(Error::Scheduler(e)) => Err(e),
        Err(e) => Err(cut(&e.to_string())),
        Ok(spoken) => {
            let mut stream = spoken.stream;
            answered = Some(spoken.route);
            loop {
                let piece = tokio::select! {
                    piece = stream.next() => piece,
                    () = shutdown.wait() => break Err(cut("Telos is closing")),
                };
                match piece {
                    None => break Ok(()),
                    Some(Ok(piece)) => {
                        reply.push_str(&piece);
                        if !send(ChatEvent::Token { text: piece }).await {
                            // Cancelled: the reader went away. What arrived is kept, cut.
                            break Err(cut("cancelled"));
                        }
                    }
                    Some(Err(e)) => break Err(e),
                }
            }
        }
    };
    let (event, cut) = match outcome {
        Ok(()) => (
            ChatEvent::Done {
                text: reply.clone(),
            },
            false,
        ),
        Err(
            e @ (SchedError::Offline { .. }
            | SchedError::ModelMissing { .. }
            | SchedError::EmbeddedMissing { .. }),
        ) if reply.is_empty() => (
            ChatEvent::Offline {
                message: format!("{} is offline: {e}", object.name),
            },
            true,
        ),
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
            "model": answered.as_ref().map_or(model.clone(), |r| Some(r.model.clone())),
            "runtime": answered.as_ref().map_or(runtime.clone(), |r| Some(r.runtime.to_string())),
            "recalled": recalled_documents,
            "recall_scores": recall_scores,
            "grounding": grounding,
        });
        let op = Op::Append {
            object: object.id.to_string(),
            slot: SCRAPBOOK.into(),
            value: entry,
            keep: Some(SCRAPBOOK_KEEP),
        };
        let trigger = format!("chat {}", object.name);
        if let Err(e) = ops::apply(voice.image(), &trigger, &[op]).await {
            tracing::error!("recording {}'s exchange: {e}", object.name);
            // How the chat ended: the reply (shown whole) was not kept.
            let _ = tx
                .send(ChatEvent::Failed {
                    message: format!("the exchange could not be recorded: {e}"),
                    partial: reply.clone(),
                })
                .await;
            return;
        }
    }
    let _ = tx.send(event).await; // the reader may have gone; nothing left to tell
}

//! Chat with a persona, streamed. The stream is real: the shell and the CLI read events as
//! they come. Until the model scheduler talks to Ollama, a persona answers with one honest
//! `Offline` event that says how to bring its model up.

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::Telos;
use crate::error::{Error, Result};
use crate::view::ObjRef;
use crate::world::{resolve_persona, slot_text};

/// Longest message a user may send in one go.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

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
    /// A piece of the reply.
    Token { text: String },
    /// The model cannot be reached; `message` says why and what to do.
    Offline { message: String },
    /// The reply is complete.
    Done,
}

impl Telos {
    /// Sends `text` to `persona` and returns its reply as a stream of events.
    pub fn chat(&self, persona: &str, text: &str) -> Result<mpsc::Receiver<ChatEvent>> {
        let image = self.image();
        let object = resolve_persona(image, persona)?;
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
        let model = slot_text(image, &object, "model");
        let (tx, rx) = mpsc::channel(64);
        let busy = self.status.enter_busy(object.id.clone());
        let persona = ObjRef::named(&object);
        tokio::spawn(async move {
            let _busy = busy;
            let message = offline_message(&persona.name, model.as_deref());
            for event in [
                ChatEvent::Started { persona, model },
                ChatEvent::Offline { message },
                ChatEvent::Done,
            ] {
                // The reader went away (window closed): nobody is listening any more.
                if tx.send(event).await.is_err() {
                    break;
                }
            }
        });
        Ok(rx)
    }
}

fn offline_message(persona: &str, model: Option<&str>) -> String {
    let model = model.unwrap_or("its model");
    format!(
        "{persona} is offline: Telos cannot run {model} yet — talking to Ollama arrives with \
         the model scheduler. To have the model ready: install Ollama, start it with \
         `ollama serve`, then run `ollama pull {model}`."
    )
}

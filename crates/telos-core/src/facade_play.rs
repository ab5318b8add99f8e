//! The Playground's operations: a message send written as a line of text (`receiver selector
//! args`), evaluated and recorded as a cycle with its answer; and every forge's progress, for
//! the window that shows it.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::Telos;
use crate::error::{Error, Result};
use crate::input::parse_json;

/// A line of the Playground, read: who receives which message with which arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MessageSend {
    pub receiver: String,
    pub selector: String,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Unknown))]
    pub args: Value,
}

impl MessageSend {
    /// Reads `receiver selector [args]`: the receiver by name or id (in double quotes when
    /// its name has spaces), the selector, and the arguments as one JSON value (default `[]`).
    pub fn parse(line: &str) -> Result<Self> {
        let bad = |reason: &str| Error::Config {
            name: format!("the line {:?}", line.trim()),
            reason: reason.into(),
        };
        let line = line.trim();
        let (receiver, rest) = if let Some(quoted) = line.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or_else(|| bad("the receiver's closing quote is missing"))?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            line.split_once(char::is_whitespace).ok_or_else(|| {
                bad("write `receiver selector [args]`, e.g. `ALFRED greet: [\"you\"]`")
            })?
        };
        let rest = rest.trim_start();
        let (selector, args) = rest
            .split_once(char::is_whitespace)
            .map_or((rest, ""), |(s, a)| (s, a.trim()));
        if receiver.trim().is_empty() || selector.is_empty() {
            return Err(bad(
                "write `receiver selector [args]`, e.g. `ALFRED greet: [\"you\"]`",
            ));
        }
        let args = if args.is_empty() {
            json!([])
        } else {
            parse_json(args, &format!("the arguments of {selector}"))?
        };
        Ok(Self {
            receiver: receiver.trim().to_string(),
            selector: selector.to_string(),
            args,
        })
    }
}

/// What a send answered, recorded as the cycle `cycle`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Answered {
    pub send: MessageSend,
    /// The answer, or why there is none (a failed forge names its suspended cycle).
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Unknown>))]
    pub value: Option<Value>,
    pub error: Option<String>,
    /// The suspended cycle of a forge that failed, for the Debugger.
    pub suspended: Option<String>,
    /// The cycle recording this evaluation.
    pub cycle: String,
    pub ms: f64,
}

impl Telos {
    /// Evaluates one line of the Playground as a message send, recorded as one cycle
    /// (`playground: RECEIVER SELECTOR`, its answer or error noted). A message nothing
    /// understands is forged on the way, as any send is.
    pub async fn evaluate(&self, line: &str) -> Result<Answered> {
        let send = MessageSend::parse(line)?;
        let began = Instant::now();
        let answer = self
            .image
            .send(&send.receiver, &send.selector, send.args.clone())
            .await;
        let ms = began.elapsed().as_secs_f64() * 1e3;
        let mut cycle = self
            .image
            .begin(&format!("playground: {} {}", send.receiver, send.selector));
        cycle.note(
            "send",
            json!({"receiver": send.receiver, "selector": send.selector, "args": send.args}),
        );
        let (value, error, suspended) = match answer {
            Ok(v) => (Some(v), None, None),
            Err(e) => {
                let suspended = match &e {
                    telos_image::Error::NotUnderstoodForgeFailed { suspended, .. } => {
                        suspended.clone()
                    }
                    _ => None,
                };
                (None, Some(e.to_string()), suspended)
            }
        };
        cycle.note("answer", json!({"value": value, "error": error, "ms": ms}));
        let record = cycle.commit().await?;
        Ok(Answered {
            send,
            value,
            error,
            suspended,
            cycle: record.id,
            ms,
        })
    }

    /// Every forge's progress from now on, whoever started it.
    pub fn subscribe_forge(&self) -> broadcast::Receiver<telos_forge::ForgeProgress> {
        self.forge.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_reads_as_receiver_selector_and_json_args() {
        let s = MessageSend::parse("  ALFRED greet: [\"you\", 2] ").unwrap();
        assert_eq!(
            (s.receiver.as_str(), s.selector.as_str(), s.args),
            ("ALFRED", "greet:", json!(["you", 2]))
        );
        let s = MessageSend::parse("\"BABS candidate\" name").unwrap();
        assert_eq!((s.receiver.as_str(), s.args), ("BABS candidate", json!([])));
        for bad in ["", "ALFRED", "\"BABS name", "ALFRED greet: [oops"] {
            let e = MessageSend::parse(bad).unwrap_err().to_string();
            assert!(!e.is_empty(), "{bad:?}");
        }
        let e = MessageSend::parse("ALFRED greet: [oops")
            .unwrap_err()
            .to_string();
        assert!(e.contains("greet:"), "{e}");
    }
}

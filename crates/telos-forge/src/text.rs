//! Text cut to size for prompts, traces and messages.

use serde_json::Value;

/// What the trace and BRICK see of a sandbox run's output: its last 2,000 characters.
const TAIL: usize = 2_000;

/// The last [`TAIL`] characters of `text`.
pub(crate) fn tail(text: &str) -> String {
    let count = text.chars().count();
    if count <= TAIL {
        text.to_string()
    } else {
        text.chars().skip(count - TAIL).collect()
    }
}

/// The first 200 characters of `text`.
pub(crate) fn excerpt(text: &str) -> String {
    text.chars().take(200).collect()
}

/// A JSON value on one line, cut after 300 characters.
pub(crate) fn compact(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 300 {
        s.chars().take(300).collect::<String>() + "…"
    } else {
        s
    }
}

//! Input from a user, checked before any cycle starts: JSON text and edited programs, with
//! errors that say what the input was for and quote its start.

use serde_json::Value;
use telos_image::ops::{self, Op};

use crate::error::{Error, Result};

/// Parses JSON text from a user, naming what it was for and where it went wrong.
pub fn parse_json(text: &str, what: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|source| Error::InvalidJson {
        what: what.to_owned(),
        excerpt: excerpt(text),
        source,
    })
}

/// The program of cycle `id` as the user edited it (a JSON operation list), if they did.
pub(crate) fn edited_program(id: &str, program: Option<&str>) -> Result<Option<Vec<Op>>> {
    program
        .map(|text| {
            ops::parse_ops(text).map_err(|source| Error::InvalidJson {
                what: format!("the edited program of cycle '{id}'"),
                excerpt: excerpt(text),
                source,
            })
        })
        .transpose()
}

/// The start of a long input, for error messages.
fn excerpt(text: &str) -> String {
    let mut short: String = text.chars().take(60).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_is_named_and_quoted() {
        let cases = [("short", "short"), ("{\"a\": ", "{\"a\": ")];
        for (text, quoted) in cases {
            assert_eq!(excerpt(text), quoted);
        }
        let long = "é".repeat(70);
        assert_eq!(excerpt(&long), format!("{}…", "é".repeat(60)));
        let e = parse_json("{nope", "slot 'x' of 'y'")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("invalid JSON for slot 'x' of 'y': '{nope': key must be a string"),
            "{e}"
        );
        let e = edited_program("c1", Some("[{\"op\": \"fly\"}]"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("invalid JSON for the edited program of cycle 'c1'"),
            "{e}"
        );
        assert!(edited_program("c1", None).unwrap().is_none());
    }
}

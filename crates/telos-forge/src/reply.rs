//! Reading BRICK's reply: the code and its test, as a JSON object alone or in a fenced block.

use serde_json::{Value, json};

use crate::text::excerpt;

/// The shape BRICK's reply must have (structured output holds the model to it).
pub(crate) fn reply_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "code": {"type": "string", "description": "tool.py, defining run(args)"},
            "test": {"type": "string", "description": "test.py, which imports run from tool and asserts"}
        },
        "required": ["code", "test"]
    })
}

/// The code and test from BRICK's reply: a JSON object `{"code", "test"}`, alone or in a
/// fenced block; else why not, in words BRICK is told.
pub fn parse_reply(reply: &str) -> Result<(String, String), String> {
    let text = reply.trim();
    let start = text.find('{');
    let end = text.rfind('}');
    let Some((start, end)) = start.zip(end).filter(|(s, e)| s < e) else {
        return Err(format!(
            "the reply held no JSON object: {:?}",
            excerpt(text)
        ));
    };
    let value: Value = serde_json::from_str(&text[start..=end])
        .map_err(|e| format!("the reply's JSON does not parse ({e}): {:?}", excerpt(text)))?;
    let field = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
            .ok_or_else(|| format!("the reply's JSON has no {name:?} string"))
    };
    Ok((field("code")?, field("test")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What parsing a reply gives: the code and the test, or why not.
    type Parsed = Result<(String, String), String>;

    #[test]
    fn replies_are_read_or_refused_with_a_reason() {
        let ok = |code: &str, test: &str| Ok((code.to_string(), test.to_string()));
        let cases: [(&str, Parsed); 8] = [
            (
                r#"{"code": "def run(a): return a", "test": "assert 1"}"#,
                ok("def run(a): return a", "assert 1"),
            ),
            (
                "Here you go:\n```json\n{\"code\": \"c\", \"test\": \"t\"}\n```\nGood luck.",
                ok("c", "t"),
            ),
            (
                r#"  {"test": "t", "code": "c", "extra": 1}  "#,
                ok("c", "t"),
            ),
            (
                "I cannot do that.",
                Err(r#"the reply held no JSON object: "I cannot do that.""#.into()),
            ),
            (
                "} backwards {",
                Err(r#"the reply held no JSON object: "} backwards {""#.into()),
            ),
            (
                r#"{"code": "c"}"#,
                Err(r#"the reply's JSON has no "test" string"#.into()),
            ),
            (
                r#"{"code": "  ", "test": "t"}"#,
                Err(r#"the reply's JSON has no "code" string"#.into()),
            ),
            (
                r#"{"code": 42, "test": "t"}"#,
                Err(r#"the reply's JSON has no "code" string"#.into()),
            ),
        ];
        for (reply, want) in cases {
            assert_eq!(parse_reply(reply), want, "{reply}");
        }
        let broken = parse_reply(r#"{"code": "c", "test": }"#).unwrap_err();
        assert!(
            broken.starts_with("the reply's JSON does not parse (expected value"),
            "{broken}"
        );
    }
}

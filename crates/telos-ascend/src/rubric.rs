//! The rubric a persona's exchanges are judged by: its codex's values become criteria, beside
//! "task done" (did it answer what was asked) and, for a dialogue, "dissonance resolved".

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use telos_persona::Codex;

/// Scores run from 1 (poor) to 5 (excellent).
pub const SCALE: [u8; 5] = [1, 2, 3, 4, 5];
/// The criterion every exchange is judged by.
pub const TASK_DONE: &str = "task done";
/// The criterion a dialogue is judged by as well.
pub const DISSONANCE_RESOLVED: &str = "dissonance resolved";
/// The longest rationale the judge may write (characters).
pub const RATIONALE_CHARS: u32 = 300;

/// What an exchange is judged by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Rubric {
    pub persona: String,
    pub role: String,
    /// Criterion names, in the order they are asked.
    pub criteria: Vec<String>,
}

impl Rubric {
    /// The rubric of `codex`'s persona: each value a criterion, then "task done" (and
    /// "dissonance resolved" for a dialogue). Values are deduplicated, case aside.
    pub fn of(codex: &Codex, dialogue: bool) -> Self {
        let mut criteria: Vec<String> = Vec::new();
        let mut extra = vec![TASK_DONE];
        if dialogue {
            extra.push(DISSONANCE_RESOLVED);
        }
        for c in codex
            .values
            .iter()
            .map(|v| v.trim())
            .chain(extra.iter().copied())
        {
            if !c.is_empty() && !criteria.iter().any(|have| have.eq_ignore_ascii_case(c)) {
                criteria.push(c.to_string());
            }
        }
        Self {
            persona: codex.name.clone(),
            role: codex.role.clone(),
            criteria,
        }
    }

    /// The rubric in words, for the judge.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "Score each criterion from 1 (poor) to 5 (excellent) for {}, the {}:",
            self.persona, self.role
        );
        for c in &self.criteria {
            out.push_str(&format!("\n- {c}"));
        }
        out
    }

    /// One score per criterion, as a JSON schema object.
    pub fn scores_schema(&self) -> Value {
        let properties: serde_json::Map<String, Value> = self
            .criteria
            .iter()
            .map(|c| (c.clone(), json!({"type": "integer", "enum": SCALE})))
            .collect();
        json!({
            "type": "object",
            "properties": properties,
            "required": self.criteria,
            "additionalProperties": false
        })
    }

    /// The shape of a single exchange's evaluation.
    pub fn score_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "scores": self.scores_schema(),
                "overall": {"type": "integer", "enum": SCALE},
                "rationale": {"type": "string", "maxLength": RATIONALE_CHARS}
            },
            "required": ["scores", "overall", "rationale"],
            "additionalProperties": false
        })
    }

    /// The shape of a pairwise verdict: both answers scored, the better one named.
    pub fn pair_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "first": self.scores_schema(),
                "second": self.scores_schema(),
                "better": {"type": "string", "enum": ["first", "second", "tie"]},
                "rationale": {"type": "string", "maxLength": RATIONALE_CHARS}
            },
            "required": ["first", "second", "better", "rationale"],
            "additionalProperties": false
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codex_values_become_criteria_beside_task_done() {
        let mut codex = telos_persona::table::seed("BRICK").unwrap().codex();
        codex.values.push("Task done".into());
        codex.values.push(" ".into());
        let chat = Rubric::of(&codex, false);
        assert_eq!(
            chat.criteria,
            [
                "rigour",
                "working code",
                "honesty about limits",
                "Task done"
            ]
        );
        let dialogue = Rubric::of(&codex, true);
        assert_eq!(dialogue.criteria.last().unwrap(), DISSONANCE_RESOLVED);
        let schema = chat.score_schema();
        assert_eq!(
            schema["properties"]["scores"]["required"],
            json!([
                "rigour",
                "working code",
                "honesty about limits",
                "Task done"
            ])
        );
        assert!(chat.describe().contains("- working code"));
    }
}

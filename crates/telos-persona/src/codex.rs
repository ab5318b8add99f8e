//! The codex: a persona's identity (name, role, model, system prompt, keep-alive, priority,
//! values). The codex *in force* is what the persona object's slots say ([`Codex::of`]); a
//! codex *file* is read with [`Codex::parse`], which names the line of whatever is wrong.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use telos_image::{Image, Object};
use telos_scheduler::KeepAlive;

use crate::find::{slot_text, slot_value};
use crate::table;

/// Longest system prompt.
pub const MAX_PROMPT: usize = 16 * 1024;

/// A persona's codex.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields)]
pub struct Codex {
    pub name: String,
    pub role: String,
    pub model: String,
    pub system_prompt: String,
    /// Ollama's form: `-1` (pinned), `0` (unload at once) or a duration such as `"5m"`.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Unknown))]
    pub keep_alive: Value,
    /// Higher stays loaded longer when VRAM is short.
    pub priority: i32,
    pub values: Vec<String>,
}

/// The fields an amendment may change, in the order they are shown.
pub(crate) const FIELDS: [&str; 6] = [
    "role",
    "model",
    "system_prompt",
    "keep_alive",
    "priority",
    "values",
];

/// One field an amendment changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FieldChange {
    pub field: String,
    /// The values as JSON text (exact).
    pub from: String,
    pub to: String,
}

/// A codex file that could not be read; the codex in force stays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CodexProblem {
    pub file: String,
    pub line: u32,
    pub message: String,
}

impl Codex {
    /// The codex in force: the persona object's slots, found through delegation. A persona
    /// made before its image held prompts and values (or one the table does not know) falls
    /// back to the table's, else to a prompt naming it.
    pub fn of(image: &Image, persona: &Object) -> Self {
        let slot = |name: &str| slot_value(image, persona, name);
        let text = |name: &str| slot_text(image, persona, name);
        let seed = table::seed(&persona.name);
        let role = text("role").unwrap_or_default();
        Self {
            name: persona.name.clone(),
            system_prompt: text("system_prompt")
                .filter(|p| !p.trim().is_empty())
                .or_else(|| seed.map(|s| s.system_prompt.to_string()))
                .unwrap_or_else(|| generic_prompt(&persona.name, &role)),
            role,
            model: text("model").unwrap_or_default(),
            keep_alive: slot("keep_alive").unwrap_or(json!("5m")),
            priority: slot("priority")
                .and_then(|v| v.as_i64())
                .unwrap_or(0)
                .clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
            values: slot("values")
                .and_then(|v| serde_json::from_value(v).ok())
                .or_else(|| seed.map(|s| s.values.iter().map(|v| v.to_string()).collect()))
                .unwrap_or_default(),
        }
    }

    /// Reads a codex file's text; errors name the file and line.
    pub fn parse(file: &Path, text: &str) -> Result<Self, CodexProblem> {
        let problem = |line: usize, message: String| CodexProblem {
            file: file.display().to_string(),
            line: line as u32,
            message,
        };
        let codex: Codex =
            serde_json::from_str(text).map_err(|e| problem(e.line(), e.to_string()))?;
        let line_of = |field: &str| {
            text.lines()
                .position(|l| l.contains(&format!("\"{field}\"")))
                .map_or(1, |i| i + 1)
        };
        let stem = file.file_stem().map(|s| s.to_string_lossy().to_string());
        if stem.as_deref() != Some(codex.name.as_str()) {
            return Err(problem(
                line_of("name"),
                format!(
                    "name {:?} does not match the file name (a codex cannot rename its persona)",
                    codex.name
                ),
            ));
        }
        if !is_model_name(&codex.model) {
            return Err(problem(
                line_of("model"),
                format!(
                    "model {:?} is not a model name: an Ollama tag (e.g. \"mistral:7b\"), \
                     gguf:NAME (NAME.gguf in the models folder) or hf:OWNER/REPO/FILE.gguf",
                    codex.model
                ),
            ));
        }
        if let Err(e) = serde_json::from_value::<KeepAlive>(codex.keep_alive.clone()) {
            return Err(problem(line_of("keep_alive"), e.to_string()));
        }
        if !(-100..=100).contains(&codex.priority) {
            return Err(problem(
                line_of("priority"),
                format!("priority {} is outside -100..=100", codex.priority),
            ));
        }
        if codex.system_prompt.trim().is_empty() || codex.system_prompt.len() > MAX_PROMPT {
            return Err(problem(
                line_of("system_prompt"),
                format!("system_prompt must be 1 to {MAX_PROMPT} bytes"),
            ));
        }
        if codex.values.len() > 32 || codex.values.iter().any(|v| v.len() > 500) {
            return Err(problem(
                line_of("values"),
                "values: at most 32, each at most 500 bytes".into(),
            ));
        }
        Ok(codex)
    }

    /// One field as JSON.
    pub fn field(&self, name: &str) -> Value {
        let all = serde_json::to_value(self).expect("a codex serialises");
        all[name].clone()
    }

    /// What `proposed` changes against `self`.
    pub fn changes(&self, proposed: &Codex) -> Vec<FieldChange> {
        FIELDS
            .iter()
            .filter_map(|f| {
                let (from, to) = (self.field(f), proposed.field(f));
                (from != to).then(|| FieldChange {
                    field: f.to_string(),
                    from: from.to_string(),
                    to: to.to_string(),
                })
            })
            .collect()
    }

    /// The codex as its file holds it: pretty JSON and a final newline.
    pub fn to_file_text(&self) -> String {
        serde_json::to_string_pretty(self).expect("a codex serialises") + "\n"
    }
}

/// The system prompt of a persona that has none and is not in the table.
fn generic_prompt(name: &str, role: &str) -> String {
    if role.trim().is_empty() {
        format!("You are {name}, a persona of Telos.")
    } else {
        format!("You are {name}, the {role} persona of Telos.")
    }
}

/// An Ollama tag, `gguf:NAME` or `hf:OWNER/REPO/FILE.gguf` (the runtime checks the rest).
fn is_model_name(model: &str) -> bool {
    if model.trim().is_empty() || model.contains(char::is_whitespace) {
        return false;
    }
    if let Some(name) = model.strip_prefix(telos_scheduler::runtimes::GGUF) {
        return !name.is_empty() && !name.contains(['/', '\\']) && !name.starts_with('.');
    }
    if let Some(path) = model.strip_prefix(telos_scheduler::runtimes::HF) {
        let path = path.split('@').next().unwrap_or_default();
        return path.split('/').count() >= 3
            && path.split('/').all(|p| !p.is_empty() && p != "..")
            && path.ends_with(".gguf");
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BRICK's codex file as seeded, with `edit` applied to its text.
    fn brick_with(edit: impl Fn(String) -> String) -> String {
        edit(table::seed("BRICK").unwrap().codex().to_file_text())
    }

    #[test]
    fn a_codex_file_round_trips() {
        let text = brick_with(|t| t);
        let codex = Codex::parse(Path::new("/d/BRICK.json"), &text).unwrap();
        assert_eq!(codex, table::seed("BRICK").unwrap().codex());
    }

    /// A bad codex: what is wrong, the edit that makes it so, the line and words it is named by.
    type Case = (&'static str, fn(String) -> String, u32, &'static str);

    #[test]
    fn each_kind_of_bad_codex_is_named_by_its_line() {
        let cases: [Case; 11] = [
            (
                "a missing comma",
                |t| t.replace("\"mistral:7b\",", "\"mistral:7b\""),
                5,
                "expected `,`",
            ),
            (
                "a renamed persona",
                |t| t.replace("\"BRICK\"", "\"BRICKS\""),
                2,
                "does not match the file name",
            ),
            (
                "an empty model",
                |t| t.replace("\"mistral:7b\"", "\"\""),
                4,
                "is not a model name",
            ),
            (
                "a model with a space",
                |t| t.replace("\"mistral:7b\"", "\"mistral 7b\""),
                4,
                "is not a model name",
            ),
            (
                "an embedded model with no name",
                |t| t.replace("\"mistral:7b\"", "\"gguf:\""),
                4,
                "gguf:NAME",
            ),
            (
                "a hub model that is not a file",
                |t| t.replace("\"mistral:7b\"", "\"hf:owner/repo\""),
                4,
                "hf:OWNER/REPO/FILE.gguf",
            ),
            (
                "a keep-alive in words",
                |t| t.replace("\"5m\"", "\"5 minutes\""),
                6,
                "bad keep-alive",
            ),
            (
                "a priority out of range",
                |t| t.replace("\"priority\": 2", "\"priority\": 101"),
                7,
                "outside -100..=100",
            ),
            (
                "an empty prompt",
                |t| {
                    let prompt = table::seed("BRICK").unwrap().system_prompt;
                    t.replace(prompt, " ")
                },
                5,
                "system_prompt must be 1 to",
            ),
            (
                "an unknown field",
                |t| t.replace("\"role\"", "\"rank\""),
                3,
                "unknown field `rank`",
            ),
            (
                "not JSON at all",
                |_| "BRICK is an engineer".into(),
                1,
                "expected value",
            ),
        ];
        for (what, edit, line, message) in cases {
            let problem =
                Codex::parse(Path::new("/d/BRICK.json"), &brick_with(edit)).expect_err(what);
            assert_eq!(problem.file, "/d/BRICK.json", "{what}");
            assert_eq!(problem.line, line, "{what}: {}", problem.message);
            assert!(
                problem.message.contains(message),
                "{what}: {}",
                problem.message
            );
        }
    }

    #[test]
    fn changes_list_the_fields_that_differ_in_order() {
        let now = table::seed("BRICK").unwrap().codex();
        let mut proposed = now.clone();
        proposed.priority = 3;
        proposed.keep_alive = json!("10m");
        let fields: Vec<_> = now
            .changes(&proposed)
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert_eq!(fields, ["keep_alive", "priority"]);
        assert!(now.changes(&now).is_empty());
    }
}

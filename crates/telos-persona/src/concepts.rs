//! BABS names concepts: for each concept memory says needs a name
//! ([`telos_memory::Memory::concepts_to_name`]), one structured-output turn of BABS reads
//! passages of it and answers `{label, definition}`, which memory records
//! ([`telos_memory::Memory::name_concept`]). A reply that is not such JSON fails that concept
//! alone, named in the report with what came back; the others go on.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use telos_image::ObjectId;
use telos_memory::{Concept, ToName};

use crate::error::Result;
use crate::find::resolve_persona;
use crate::voice::{Turn, Voice};

/// Who names concepts.
pub const NAMER: &str = "BABS";

/// What naming did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Named {
    pub named: Vec<Concept>,
    /// Concepts that could not be named: the concept's id and why.
    pub failed: Vec<(String, String)>,
    /// Model calls made (one per concept).
    pub calls: u32,
}

/// The schema BABS's answer follows.
pub fn naming_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "label": {"type": "string", "description": "two to five words"},
            "definition": {"type": "string", "description": "one or two sentences"}
        },
        "required": ["label", "definition"]
    })
}

/// What BABS is asked about one concept.
pub fn naming_prompt(concept: &ToName) -> String {
    let mut p = format!(
        "These {} passages from what {} remembers were found to be about one thing. \
         Name that thing in two to five words and define it in one or two sentences, \
         as JSON: {{\"label\": ..., \"definition\": ...}}.",
        concept.size, concept.persona
    );
    if let Some(old) = &concept.label {
        p.push_str(&format!(
            " It was called {old:?} before it changed; keep that name if it still fits."
        ));
    }
    for (i, e) in concept.excerpts.iter().enumerate() {
        p.push_str(&format!("\n\n[{}] {e}", i + 1));
    }
    p
}

#[derive(Deserialize)]
struct Answer {
    label: String,
    definition: String,
}

/// The `{label, definition}` in a reply (the JSON object in it, if the model wrapped it).
pub fn parse_naming(reply: &str) -> std::result::Result<(String, String), String> {
    let text = reply.trim();
    let json = match (text.find('{'), text.rfind('}')) {
        (Some(a), Some(b)) if a < b => &text[a..=b],
        _ => text,
    };
    let shown: String = text.chars().take(200).collect();
    let a: Answer = serde_json::from_str(json)
        .map_err(|e| format!("the answer is not {{label, definition}} JSON ({e}): {shown:?}"))?;
    Ok((a.label, a.definition))
}

/// Names the concepts of `persona` (every persona's when none) that need a name, one model
/// call each; `progress` is told (done, of how many) as it goes.
pub async fn name_concepts(
    voice: &Voice,
    persona: Option<&ObjectId>,
    progress: &(dyn Fn(usize, usize) + Send + Sync),
) -> Result<Named> {
    let memory = voice.memory();
    let todo = memory.concepts_to_name(persona);
    let namer = resolve_persona(voice.image(), NAMER)?;
    let mut report = Named {
        named: Vec::new(),
        failed: Vec::new(),
        calls: 0,
    };
    progress(0, todo.len());
    for (i, concept) in todo.iter().enumerate() {
        let turn = Turn {
            format: Some(naming_schema()),
            ..Turn::new(naming_prompt(concept))
        };
        report.calls += 1;
        let named = match voice.say(&namer, turn).await {
            Ok(reply) => match parse_naming(&reply) {
                Ok((label, definition)) => memory
                    .name_concept(&concept.id, &label, &definition)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            },
            Err(e) => Err(format!("{NAMER} could not answer: {e}")),
        };
        match named {
            Ok(c) => report.named.push(c),
            Err(why) => {
                tracing::warn!("concept {} was not named: {why}", concept.id);
                report.failed.push((concept.id.to_string(), why));
            }
        }
        progress(i + 1, todo.len());
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_naming_is_read_from_json_even_wrapped_and_a_bad_one_says_what_came() {
        let got =
            parse_naming("```json\n{\"label\": \"Kites\", \"definition\": \"Wind toys.\"}\n```");
        assert_eq!(got, Ok(("Kites".into(), "Wind toys.".into())));
        let bad = parse_naming("I think it is about kites").unwrap_err();
        assert!(bad.contains("I think it is about kites"), "{bad}");
    }

    #[test]
    fn the_prompt_holds_the_passages_and_the_old_name() {
        let t = ToName {
            id: ObjectId::parse("01JAAAAAAAAAAAAAAAAAAAAAA1").unwrap(),
            persona: "BRICK".into(),
            label: Some("Kites".into()),
            size: 2,
            excerpts: vec!["A kite needs wind.".into(), "Tails steady kites.".into()],
            sources: vec!["kites.md".into()],
        };
        let p = naming_prompt(&t);
        assert!(p.contains("[1] A kite needs wind.") && p.contains("[2] Tails steady kites."));
        assert!(p.contains("\"Kites\"") && p.contains("BRICK"));
    }
}

//! What the personas are asked in a dialogue: each side's turn (its stance and the transcript
//! so far), ALFRED's verdict (and the shape it must have), and the synthesis.

use serde_json::{Value, json};

use crate::dialogue::{Ending, TurnRecord};

/// The shape ALFRED's verdict must have.
pub fn verdict_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "verdict": {"type": "string", "enum": ["converged", "continue", "impasse"]},
            "reason": {"type": "string", "maxLength": 200}
        },
        "required": ["verdict", "reason"],
        "additionalProperties": false
    })
}

pub(crate) fn transcript(turns: &[TurnRecord]) -> String {
    turns
        .iter()
        .map(|t| format!("{} (round {}): {}", t.persona, t.round, t.text))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// How a side argues: BRICK from logic, ROBIN from empathy, any other persona the user put in
/// a dialogue from its own role (its codex is its system prompt).
pub(crate) fn stance(speaker: &str) -> &'static str {
    match speaker {
        "BRICK" => "Take it apart logically: name the assumptions, test them, say what follows.",
        "ROBIN" => {
            "Answer from empathy: what matters to the people involved, and how it feels to them."
        }
        _ => {
            "Argue from your own role and what you know: say what you see that the other does not."
        }
    }
}

/// What a side is asked: the question, its role in the dialogue, and the transcript so far.
pub(crate) fn turn_prompt(speaker: &str, question: &str, turns: &[TurnRecord]) -> String {
    let stance = stance(speaker);
    if turns.is_empty() {
        format!(
            "A dialogue on the question: {question}\n\n{stance} Give your position in a few sentences."
        )
    } else {
        format!(
            "A dialogue on the question: {question}\n\nSo far:\n\n{}\n\n{stance} Answer the \
             other side: where you agree, where you do not, and your position now, in a few \
             sentences.",
            transcript(turns)
        )
    }
}

pub(crate) fn judge_prompt(question: &str, turns: &[TurnRecord]) -> String {
    format!(
        "You judge a dialogue on the question: {question}\n\n{}\n\nHave the two sides converged \
         on a shared answer, should they go on, or are they at an impasse? Answer with the \
         verdict and a one-sentence reason.",
        transcript(turns)
    )
}

pub(crate) fn synthesis_prompt(question: &str, turns: &[TurnRecord], ending: Ending) -> String {
    let how = match ending {
        Ending::Converged => "They converged.",
        Ending::Impasse => "They are at an impasse.",
        Ending::Cap => "They ran out of rounds without agreeing.",
        Ending::Stalled => "Their positions stopped moving without agreement.",
    };
    format!(
        "The dialogue on the question: {question}\n\n{}\n\n{how} Write the synthesis: what both \
         sides got right, what remains open, and your answer to the question, in a short \
         paragraph.",
        transcript(turns)
    )
}

/// How much of the turn before a turn recalls by (characters).
const RECALL_BY_CHARS: usize = 200;

/// What a turn recalls by: the question and the turn before it (the part it answers), not the
/// whole prompt — shorter to embed, and about what is being argued now.
pub(crate) fn recall_query(question: &str, turns: &[TurnRecord]) -> String {
    let last: String = turns
        .last()
        .map(|t| t.text.chars().take(RECALL_BY_CHARS).collect())
        .unwrap_or_default();
    format!("{question}\n{last}").trim().to_string()
}

/// The first words of a question, for a cycle's trigger.
pub(crate) fn short(question: &str) -> String {
    let mut s: String = question.chars().take(60).collect();
    if s.len() < question.len() {
        s.push('…');
    }
    s
}

/// `text` up to its last full sentence (or whole, when it has none in its second half).
pub(crate) fn to_last_sentence(text: &str) -> String {
    let end = text
        .char_indices()
        .filter(|(_, c)| matches!(c, '.' | '!' | '?'))
        .map(|(i, c)| i + c.len_utf8())
        .next_back()
        .filter(|end| *end >= text.len() / 2)
        .unwrap_or(text.len());
    text[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialogue::TurnRecord;
    use crate::stance::cosine;

    #[test]
    fn the_prompts_carry_the_question_the_stance_and_the_transcript() {
        let first = turn_prompt("BRICK", "Should we fly?", &[]);
        assert!(first.contains("Should we fly?") && first.contains("logically"));
        let turn = TurnRecord {
            round: 1,
            persona: "BRICK".into(),
            text: "Wings first.".into(),
            recalled: vec![],
            model: "m".into(),
            runtime: "ollama".into(),
            ms: 1.0,
            model_ms: 1.0,
        };
        let second = turn_prompt("ROBIN", "Should we fly?", &[turn]);
        assert!(second.contains("BRICK (round 1): Wings first.") && second.contains("empathy"));
        assert!(turn_prompt("BABS", "Should we fly?", &[]).contains("your own role"));
        assert_eq!(short(&"x".repeat(80)).chars().count(), 61);
        assert_eq!(to_last_sentence("One. Two! Three"), "One. Two!");
        assert_eq!(
            to_last_sentence("Wo. And on and on and on"),
            "Wo. And on and on and on"
        );
        assert!((cosine(&[1.0, 0.0], &[1.0, 0.0]) - 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 1.0]), 0.0);
    }
}

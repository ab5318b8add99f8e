//! A dialogue's record: committed as one cycle — a `dialogue` object (question, turns,
//! verdicts, synthesis, ending) linked to its participants, and an entry in each participant's
//! scrapbook — or, when it failed or was cut, kept as a suspended cycle with its trace.

use serde_json::{Value, json};
use telos_image::ObjRef;
use telos_persona::{SCRAPBOOK, SCRAPBOOK_KEEP};

use crate::dialogue::{Dialogue, DialogueEvent, Ending, participants};

/// The link from a dialogue to the personas who took part.
pub const PARTICIPANTS: &str = "participants";

/// Commits the dialogue; the event that says how it went.
pub(crate) async fn commit(mut d: Dialogue, ending: Ending, synthesis: String) -> DialogueEvent {
    let people = participants(&d);
    let staged = (|| -> telos_image::Result<ObjRef> {
        let genesis = d.cycle.resolve("genesis")?;
        let name = format!("dialogue {}", d.cycle.id());
        let id = d.cycle.create(&name, &[genesis])?;
        let slots = [
            ("kind", json!("dialogue")),
            ("cycle", json!(d.cycle.id())),
            ("question", json!(d.question)),
            ("sides", json!(d.sides)),
            ("turns", serde_json::to_value(&d.turns).unwrap_or_default()),
            (
                "verdicts",
                serde_json::to_value(&d.judgements).unwrap_or_default(),
            ),
            ("synthesis", json!(synthesis)),
            ("ending", serde_json::to_value(ending).unwrap_or_default()),
        ];
        for (slot, value) in slots {
            d.cycle.set_slot(&id, slot, value)?;
        }
        for p in &people {
            d.cycle.link(&id, PARTICIPANTS, &p.id)?;
            // What it said last goes in its scrapbook; ALFRED's is the synthesis (he may
            // have taken turns too, when the user put him in the dialogue).
            let said = d
                .turns
                .iter()
                .rev()
                .find(|t| t.persona == p.name && p.name != crate::JUDGE)
                .map_or(synthesis.clone(), |t| t.text.clone());
            let mut book = match d.cycle.get(&p.id)?.slots.get(SCRAPBOOK) {
                Some(Value::Array(list)) => list.clone(),
                _ => Vec::new(),
            };
            book.push(json!({
                "at": telos_image::now_ms(),
                "user": d.question,
                "reply": said,
                "cut": false,
                "dialogue": name,
            }));
            let excess = book.len().saturating_sub(SCRAPBOOK_KEEP);
            book.drain(..excess);
            d.cycle.set_slot(&p.id, SCRAPBOOK, Value::Array(book))?;
        }
        Ok(ObjRef {
            id: id.to_string(),
            name,
        })
    })();
    let dialogue = match staged {
        Ok(r) => r,
        Err(e) => return suspend(d, format!("recording the dialogue: {e}")).await,
    };
    match d.cycle.commit().await {
        Ok(record) => DialogueEvent::Done {
            dialogue,
            cycle: record.id,
            ending,
            synthesis,
        },
        Err(e) => DialogueEvent::Failed {
            message: format!("the dialogue could not be recorded: {e}"),
            cycle: None,
        },
    }
}

/// Keeps the dialogue as a suspended cycle with its trace and what it had so far.
pub(crate) async fn suspend(mut d: Dialogue, why: String) -> DialogueEvent {
    // ALFRED leads the dialogue: its failure is his dissonance (the world shows it on him).
    d.cycle.set_task(json!({
        "kind": "dialogue",
        "persona": crate::JUDGE,
        "question": d.question,
        "sides": d.sides,
        "turns": d.turns,
        "verdicts": d.judgements,
    }));
    match d.cycle.abort(&why).await {
        Ok(record) => DialogueEvent::Failed {
            message: why,
            cycle: Some(record.id),
        },
        Err(e) => DialogueEvent::Failed {
            message: format!("{why} (its trace could not be kept: {e})"),
            cycle: None,
        },
    }
}

//! An act: one approved work, run as one cycle. It is marked running, then does its kind's
//! work — a dialogue, a research pass, a forge, a re-read — and the act's cycle records how
//! it went on the work object. A failed act is a suspended cycle (its task names the work),
//! which the detectors see as dissonance.

use std::time::Instant;

use serde_json::{Value, json};
use telos_image::ObjectId;
use telos_memory::ingest::CHUNKS;
use telos_persona::{Turn, resolve_persona};

use crate::agenda::Agenda;
use crate::dialogue::{self, DEFAULT_ROUNDS, DialogueEvent};
use crate::work::{Work, WorkKind, WorkState};
use crate::{Error, Result};

/// Memories a research pass reads.
const RESEARCH_RECALL: usize = 6;

/// Runs `work`; the work as it ended.
pub(crate) async fn act(agenda: &Agenda, work: Work) -> Result<Work> {
    let started = telos_image::now_ms();
    let work = agenda
        .set_work(
            &work,
            &format!("agenda start {}", work.name),
            [
                ("state", json!(WorkState::Running)),
                ("started", json!(started)),
            ],
        )
        .await?;
    let image = agenda.voice.image().clone();
    let mut cycle = image.begin(&format!(
        "agenda {}: {}",
        json!(work.kind).as_str().unwrap_or_default(),
        short(&work.subject)
    ));
    let began = Instant::now();
    let outcome = match work.kind {
        WorkKind::Dialogue => dialogue(agenda, &work).await,
        WorkKind::Research => research(agenda, &work).await,
        WorkKind::Forge => forge(agenda, &work).await,
        WorkKind::Reread => reread(agenda, &work).await,
        WorkKind::Curate => {
            agenda.status.idle().await;
            crate::curator::act(&agenda.voice, &work).await
        }
        WorkKind::Concepts => {
            agenda.status.idle().await;
            crate::abstraction::act(&agenda.voice, &work).await
        }
    };
    let ms = began.elapsed().as_secs_f64() * 1e3;
    match outcome {
        Ok((result, detail)) => {
            cycle.note(
                "act",
                json!({"work": work.name, "kind": work.kind, "result": result,
                                     "detail": detail, "ms": ms}),
            );
            let id = ObjectId::parse(&work.id).ok_or_else(|| Error::NoWork(work.id.clone()))?;
            let act = cycle.id().to_string();
            for (slot, value) in [
                ("state", json!(WorkState::Done)),
                ("result", json!(result)),
                ("ms", json!(ms)),
                ("cycle", json!(act)),
            ] {
                cycle.set_slot(&id, slot, value)?;
            }
            // a regrouping is remembered on its work: the next is due from there
            if let Some(n) = detail.get("regrouped") {
                cycle.set_slot(&id, crate::abstraction::REGROUPED, n.clone())?;
            }
            cycle.commit().await?;
            let now = agenda.work(&work.id)?;
            agenda.tell_work(&now);
            Ok(now)
        }
        Err(why) => {
            cycle.set_task(json!({
                "kind": "agenda",
                "persona": work.persona,
                "work": work.name,
                "act": work.kind,
                "subject": work.subject,
            }));
            let record = cycle.abort(&why).await?;
            agenda
                .set_work(
                    &work,
                    &format!("agenda failed {}", work.name),
                    [
                        ("state", json!(WorkState::Failed)),
                        ("result", json!(why)),
                        ("ms", json!(ms)),
                        ("cycle", json!(record.id)),
                    ],
                )
                .await
        }
    }
}

type Acted = std::result::Result<(String, Value), String>;

fn short(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// A dialogue on the subject; a dialogue that fails is its own suspended cycle, and the act
/// fails with it.
async fn dialogue(agenda: &Agenda, work: &Work) -> Acted {
    // Between BRICK and ROBIN, yielding to the user: before each turn it waits while a
    // persona is busy with a user's request.
    let mut rx = dialogue::begin(
        &agenda.voice,
        &agenda.supervisor,
        &work.subject,
        DEFAULT_ROUNDS,
        dialogue::SPEAKERS,
        Some(agenda.status.clone()),
        dialogue::Seed::default(),
    )
    .map_err(|e| e.to_string())?;
    while let Some(event) = rx.recv().await {
        match event {
            DialogueEvent::Done {
                dialogue,
                cycle,
                ending,
                synthesis,
            } => {
                return Ok((
                    synthesis,
                    json!({"dialogue": dialogue.name, "cycle": cycle, "ending": ending}),
                ));
            }
            DialogueEvent::Failed { message, cycle } => {
                return Err(match cycle {
                    Some(c) => format!("the dialogue failed (cycle {c}): {message}"),
                    None => format!("the dialogue failed: {message}"),
                });
            }
            _ => {}
        }
    }
    Err("the dialogue ended without a word".into())
}

/// BABS reads what is remembered about the subject (a document's own chunks, or what every
/// persona recalls), writes a short note, and remembers the note.
async fn research(agenda: &Agenda, work: &Work) -> Acted {
    let voice = &agenda.voice;
    let image = voice.image();
    let persona = resolve_persona(image, &work.persona).map_err(|e| e.to_string())?;
    let sources: Vec<(String, String)> = match work.detail["document"].as_str() {
        Some(doc) => {
            let doc = image.resolve(doc).map_err(|e| e.to_string())?;
            let source = doc.slots["source"].as_str().unwrap_or_default().to_string();
            doc.links
                .get(CHUNKS)
                .into_iter()
                .flatten()
                .take(RESEARCH_RECALL)
                .filter_map(|c| image.get(c).ok())
                .map(|c| {
                    let text = c.slots["text"].as_str().unwrap_or_default().to_string();
                    (format!("{source} #{}", c.slots["index"]), text)
                })
                .collect()
        }
        None => voice
            .memory()
            .recall(None, &work.subject, RESEARCH_RECALL)
            .await
            .map_err(|e| format!("memory could not be searched: {e}"))?
            .into_iter()
            .map(|m| (format!("{} #{}", m.source, m.chunk_index), m.text))
            .collect(),
    };
    let mut prompt = format!(
        "Research for the agenda: {}\n\nWrite a short note (a few sentences) that answers it \
         from what is remembered below, naming the sources you use; say plainly what is not \
         known.\n",
        work.subject
    );
    if sources.is_empty() {
        prompt.push_str("\nNothing is remembered about it yet.\n");
    }
    for (source, text) in &sources {
        prompt.push_str(&format!("\n[{source}] {}\n", text.trim()));
    }
    agenda.status.idle().await;
    let note = voice
        .say(&persona, Turn::new(prompt))
        .await
        .map_err(|e| format!("{}'s note: {e}", persona.name))?;
    let note = note.trim();
    if note.is_empty() {
        return Err(format!("{} wrote an empty note", persona.name));
    }
    std::fs::create_dir_all(&agenda.notes)
        .map_err(|e| format!("the notes folder {}: {e}", agenda.notes.display()))?;
    let path = agenda
        .notes
        .join(format!("{}.md", work.name.replace(' ', "-")));
    let cited: Vec<&str> = sources.iter().map(|(s, _)| s.as_str()).collect();
    let body = format!(
        "# {}\n\n{note}\n\nSources: {}\n",
        work.subject,
        if cited.is_empty() {
            "none".to_string()
        } else {
            cited.join(", ")
        }
    );
    std::fs::write(&path, body).map_err(|e| format!("writing {}: {e}", path.display()))?;
    let report = voice
        .memory()
        .ingest_file(&persona.id, &path, &|_| {})
        .await
        .map_err(|e| format!("{} could not remember its note: {e}", persona.name))?;
    Ok((
        note.to_string(),
        json!({"note": path.display().to_string(), "document": report.document,
               "sources": cited, "cycle": report.cycle}),
    ))
}

/// The selector is sent again: the forge writes it (its own cycle) and answers.
async fn forge(agenda: &Agenda, work: &Work) -> Acted {
    let d = &work.detail;
    let (Some(receiver), Some(selector)) = (d["receiver"].as_str(), d["selector"].as_str()) else {
        return Err(format!("{} names no receiver and selector", work.name));
    };
    agenda.status.idle().await;
    let answer = agenda
        .voice
        .image()
        .send(receiver, selector, d["args"].clone())
        .await
        .map_err(|e| e.to_string())?;
    Ok((
        format!("{receiver} {selector} answered {answer}"),
        json!({"answer": answer}),
    ))
}

/// The file is read again for its persona.
async fn reread(agenda: &Agenda, work: &Work) -> Acted {
    let d = &work.detail;
    let (Some(persona), Some(path)) = (d["persona"].as_str(), d["path"].as_str()) else {
        return Err(format!("{} names no persona and path", work.name));
    };
    let persona = agenda
        .voice
        .image()
        .resolve(persona)
        .map_err(|e| e.to_string())?;
    let report = agenda
        .voice
        .memory()
        .ingest_file(&persona.id, std::path::Path::new(path), &|_| {})
        .await
        .map_err(|e| format!("{path} still cannot be read: {e}"))?;
    Ok((
        format!(
            "{} remembers {path} ({} parts)",
            persona.name, report.chunks
        ),
        json!({"document": report.document, "cycle": report.cycle}),
    ))
}

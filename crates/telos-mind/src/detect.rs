//! The detectors: what the image and memory say the personas should look into. Each reads the
//! committed image and the recent cycle records, changes nothing, and returns findings with
//! the work that would answer them.
//!
//! Cognitive dissonance: a dialogue that ended without agreement, two dialogues on one
//! question that concluded differently, a forge whose every attempt failed, any other cycle
//! left suspended. Curiosity deficit: a question a persona could not ground (its best recall
//! scored low), a selector that was not understood and is still missing, a document never
//! recalled since it was remembered, a dropped file that could not be read, the same kind of
//! failure recurring, exchanges not judged yet (the Curator's, in `curator.rs`).

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};
use telos_image::{CycleRecord, CycleStatus, Image, Object, ObjectId};
use telos_memory::ingest::{CHUNKS, MEMORY};
use telos_persona::{SCRAPBOOK, is_persona, owners};

use crate::motive::{Finding, Signal};
use crate::work::{Proposal, WorkKind};

/// A question whose best recalled memory scored below this (cosine) was not grounded.
pub const UNGROUNDED: f64 = 0.35;
/// A document not recalled in this many grounded exchanges since it was remembered is never
/// recalled.
pub const UNRECALLED_AFTER: usize = 5;
/// The same kind of failure this many times is recurring.
pub const RECURRING: usize = 3;
/// Who researches.
pub const RESEARCHER: &str = "BABS";
/// The persona that owns findings no one else does.
const SUPERVISOR: &str = crate::JUDGE;
/// The slot of a persona listing files it could not read.
const UNREAD: &str = "unread";

/// Every finding in the image and the `recent` cycle records (newest first).
pub fn detect(image: &Image, recent: &[CycleRecord]) -> Vec<Finding> {
    let objects = image.objects();
    let dialogues: Vec<&Object> = objects
        .iter()
        .map(AsRef::as_ref)
        .filter(|o| is_dialogue(o))
        .collect();
    let personas: Vec<&Object> = objects
        .iter()
        .filter(|o| is_persona(image, o))
        .map(AsRef::as_ref)
        .collect();
    let mut out = Vec::new();
    out.extend(impasses(&dialogues));
    out.extend(contradictions(&dialogues));
    out.extend(suspended(image, recent));
    out.extend(not_understood(image, recent));
    out.extend(recurring(image, recent));
    out.extend(crate::curator::unjudged(image));
    out.extend(crate::abstraction::unabstracted(image));
    for p in personas {
        out.extend(ungrounded(p));
        out.extend(never_recalled(image, p));
        out.extend(unread(image, p));
    }
    out
}

fn is_dialogue(o: &Object) -> bool {
    o.slots.get("kind") == Some(&json!("dialogue"))
        || (o.name.starts_with("dialogue ") && o.slots.contains_key("ending"))
}

fn text<'a>(o: &'a Object, slot: &str) -> &'a str {
    o.slots
        .get(slot)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// A question with case, punctuation and spacing taken out, to compare and to key.
pub fn normalise(question: &str) -> String {
    question
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

fn research(subject: &str, detail: Value) -> Option<Proposal> {
    Some(Proposal {
        kind: WorkKind::Research,
        persona: RESEARCHER.into(),
        subject: subject.to_string(),
        detail,
    })
}

fn dialogue_on(question: &str) -> Option<Proposal> {
    Some(Proposal {
        kind: WorkKind::Dialogue,
        persona: SUPERVISOR.into(),
        subject: question.to_string(),
        detail: Value::Null,
    })
}

fn forge_of(persona: &str, receiver: &str, selector: &str, args: &Value) -> Option<Proposal> {
    Some(Proposal {
        kind: WorkKind::Forge,
        persona: persona.to_string(),
        subject: format!("{receiver} {selector}"),
        detail: json!({"receiver": receiver, "selector": selector, "args": args}),
    })
}

/// Dialogues that ended without agreement: the transcript is the evidence; BABS researches
/// the question.
fn impasses(dialogues: &[&Object]) -> Vec<Finding> {
    dialogues
        .iter()
        .filter(|d| !matches!(text(d, "ending"), "converged" | ""))
        .map(|d| {
            let question = text(d, "question");
            let turns: Vec<Value> = d
                .slots
                .get("turns")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|t| json!({"round": t["round"], "persona": t["persona"], "text": t["text"]}))
                .collect();
            Finding {
                signal: Signal::Impasse,
                persona: SUPERVISOR.into(),
                key: format!("impasse:{}", d.id),
                summary: format!(
                    "the dialogue on \"{question}\" ended without agreement ({})",
                    text(d, "ending")
                ),
                evidence: json!({
                    "dialogue": d.name,
                    "question": question,
                    "ending": text(d, "ending"),
                    "transcript": turns,
                    "verdicts": d.slots.get("verdicts").cloned().unwrap_or(Value::Null),
                    "synthesis": text(d, "synthesis"),
                }),
                source: d
                    .slots
                    .get("cycle")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                work: research(question, Value::Null),
            }
        })
        .collect()
}

/// Two dialogues on one question, one converged and one not: a dialogue to settle it.
fn contradictions(dialogues: &[&Object]) -> Vec<Finding> {
    let mut by_question: BTreeMap<String, Vec<&Object>> = BTreeMap::new();
    for d in dialogues {
        by_question
            .entry(normalise(text(d, "question")))
            .or_default()
            .push(d);
    }
    let mut out = Vec::new();
    for (_, group) in by_question {
        let agreed = group.iter().find(|d| text(d, "ending") == "converged");
        let not = group.iter().find(|d| text(d, "ending") != "converged");
        let (Some(a), Some(b)) = (agreed, not) else {
            continue;
        };
        let question = text(a, "question");
        let mut ids = [a.id.to_string(), b.id.to_string()];
        ids.sort();
        out.push(Finding {
            signal: Signal::Contradiction,
            persona: SUPERVISOR.into(),
            key: format!("contradiction:{}:{}", ids[0], ids[1]),
            summary: format!("two dialogues on \"{question}\" concluded differently"),
            evidence: json!({
                "question": question,
                "converged": {"dialogue": a.name, "synthesis": text(a, "synthesis")},
                "not": {"dialogue": b.name, "ending": text(b, "ending"),
                        "synthesis": text(b, "synthesis")},
            }),
            source: None,
            work: dialogue_on(&format!(
                "{question} (one dialogue concluded: \"{}\"; another did not agree: \"{}\")",
                short(text(a, "synthesis")),
                short(text(b, "synthesis"))
            )),
        });
    }
    out
}

fn short(s: &str) -> String {
    let mut out: String = s.chars().take(160).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

fn task_kind(record: &CycleRecord) -> &str {
    record
        .task
        .as_ref()
        .and_then(|t| t.get("kind"))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Suspended cycles: a failed forge (forged again), a failed dialogue (argued again), any
/// other (shown, for the user in the Debugger).
fn suspended(image: &Image, recent: &[CycleRecord]) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in recent.iter().filter(|r| r.is_suspended()) {
        let owner = owners(image, r)
            .first()
            .map_or(SUPERVISOR.to_string(), |p| p.name.clone());
        let task = r.task.clone().unwrap_or(Value::Null);
        let error = r.error.clone().unwrap_or_default();
        let (signal, summary, work) = match task_kind(r) {
            "forge" => {
                let receiver = task["receiver_name"].as_str().unwrap_or_default();
                let selector = task["selector"].as_str().unwrap_or_default();
                let attempts = task["attempts"].as_array().map_or(0, Vec::len);
                (
                    Signal::ForgeFailed,
                    format!("every attempt ({attempts}) to forge {receiver} {selector} failed"),
                    forge_of(&owner, receiver, selector, &task["args"]),
                )
            }
            "dialogue" => {
                let question = task["question"].as_str().unwrap_or_default();
                (
                    Signal::Suspended,
                    format!("the dialogue on \"{question}\" broke off: {error}"),
                    dialogue_on(question),
                )
            }
            _ => (
                Signal::Suspended,
                format!("{} was suspended: {error}", r.trigger),
                None,
            ),
        };
        let evidence = json!({"cycle": r.id, "trigger": r.trigger, "error": error,
                              "task": task});
        out.push(Finding {
            signal,
            persona: owner,
            key: format!("suspended:{}", r.id),
            summary,
            evidence,
            source: Some(r.id.clone()),
            work,
        });
    }
    out
}

/// Forges that failed and were given up (discarded or resolved) while the receiver still has
/// no method for the selector.
fn not_understood(image: &Image, recent: &[CycleRecord]) -> Vec<Finding> {
    let mut seen = HashMap::new();
    for r in recent {
        if r.status != CycleStatus::Aborted || r.is_suspended() || task_kind(r) != "forge" {
            continue;
        }
        let task = r.task.clone().unwrap_or(Value::Null);
        let (Some(receiver), Some(selector)) =
            (task["receiver"].as_str(), task["selector"].as_str())
        else {
            continue;
        };
        let Ok(object) = image.resolve(receiver) else {
            continue;
        };
        if matches!(image.lookup(&object.id, selector), Ok(Some(_))) {
            continue;
        }
        let key = format!("not_understood:{}#{selector}", object.id);
        seen.entry(key)
            .or_insert_with(|| (object.name.clone(), selector.to_string(), r.clone()));
    }
    seen.into_iter()
        .map(|(key, (receiver, selector, r))| {
            let task = r.task.clone().unwrap_or(Value::Null);
            let forger = task["persona"].as_str().unwrap_or("BRICK").to_string();
            Finding {
                signal: Signal::NotUnderstood,
                persona: forger.clone(),
                summary: format!("{receiver} still does not understand {selector}"),
                evidence: json!({"receiver": receiver, "selector": selector, "cycle": r.id,
                                 "error": r.error, "description": task["description"]}),
                source: Some(r.id.clone()),
                work: forge_of(&forger, &receiver, &selector, &task["args"]),
                key,
            }
        })
        .collect()
}

/// What kind of failure a failed cycle is: its task's kind (or its trigger's first word) and
/// the start of its error with the numbers taken out.
fn failure_class(r: &CycleRecord) -> String {
    let kind = match task_kind(r) {
        "" => r.trigger.split_whitespace().next().unwrap_or_default(),
        k => k,
    };
    // Ids and numbers differ between two failures of one kind.
    let words: Vec<&str> = r
        .error
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .take(6)
        .map(|w| {
            if w.contains(|c: char| c.is_ascii_digit()) {
                "#"
            } else {
                w
            }
        })
        .collect();
    format!("{kind}: {}", words.join(" "))
}

/// The same kind of failure at least three times among the recent cycles.
fn recurring(image: &Image, recent: &[CycleRecord]) -> Vec<Finding> {
    let mut classes: BTreeMap<String, Vec<&CycleRecord>> = BTreeMap::new();
    for r in recent.iter().filter(|r| r.status == CycleStatus::Aborted) {
        classes.entry(failure_class(r)).or_default().push(r);
    }
    classes
        .into_iter()
        .filter(|(_, rs)| rs.len() >= RECURRING)
        .map(|(class, rs)| {
            let owner = owners(image, rs[0])
                .first()
                .map_or(SUPERVISOR.to_string(), |p| p.name.clone());
            let cycles: Vec<&str> = rs.iter().map(|r| r.id.as_str()).collect();
            Finding {
                signal: Signal::Recurring,
                persona: owner,
                key: format!("recurring:{class}"),
                summary: format!("{} failures of one kind: {class}", rs.len()),
                evidence: json!({"class": class, "count": rs.len(), "cycles": cycles}),
                source: Some(rs[0].id.clone()),
                work: dialogue_on(&format!("Why does this keep failing: {class}?")),
            }
        })
        .collect()
}

/// The persona's exchanges (not a dialogue's) whose best recall scored low.
fn ungrounded(persona: &Object) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for entry in scrapbook(persona) {
        let (Some(best), Some(question)) = (entry["grounding"].as_f64(), entry["user"].as_str())
        else {
            continue;
        };
        if best >= UNGROUNDED || entry.get("dialogue").is_some() {
            continue;
        }
        let key = format!("ungrounded:{}:{}", persona.name, normalise(question));
        if out.iter().any(|f| f.key == key) {
            continue;
        }
        out.push(Finding {
            signal: Signal::Ungrounded,
            persona: persona.name.clone(),
            key,
            summary: format!(
                "{} could not ground \"{}\" (best recall {best:.2})",
                persona.name,
                short(question)
            ),
            evidence: json!({"question": question, "best": best, "at": entry["at"]}),
            source: None,
            work: research(question, Value::Null),
        });
    }
    out
}

fn scrapbook(persona: &Object) -> impl Iterator<Item = &Value> {
    persona
        .slots
        .get(SCRAPBOOK)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Documents of the persona that none of its grounded exchanges since recalled.
fn never_recalled(image: &Image, persona: &Object) -> Vec<Finding> {
    let mut out = Vec::new();
    for doc_id in persona.links.get(MEMORY).into_iter().flatten() {
        let Ok(doc) = image.get(doc_id) else {
            continue;
        };
        let remembered = doc
            .slots
            .get("remembered")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        // The grounded exchanges since (an exchange about nothing remembered says nothing
        // about this document), and whether any recalled it at a score that grounds.
        let since: Vec<&Value> = scrapbook(persona)
            .filter(|e| e["at"].as_i64().unwrap_or(0) > remembered && e["recalled"].is_array())
            .filter(|e| e["grounding"].as_f64().is_none_or(|g| g >= UNGROUNDED))
            .collect();
        let id = doc_id.to_string();
        let recalled = since.iter().any(|e| {
            let listed = e["recalled"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|d| d == &json!(id));
            // Older entries keep no scores: listed is recalled.
            listed
                && e["recall_scores"][&id]
                    .as_f64()
                    .is_none_or(|s| s >= UNGROUNDED)
        });
        if since.len() < UNRECALLED_AFTER || recalled {
            continue;
        }
        let source = text(&doc, "source");
        out.push(Finding {
            signal: Signal::NeverRecalled,
            persona: persona.name.clone(),
            key: format!("never_recalled:{doc_id}"),
            summary: format!(
                "{} has not recalled {source} in {} exchanges since it was read",
                persona.name,
                since.len()
            ),
            evidence: json!({"document": doc.name, "source": source,
                             "exchanges": since.len(), "chunks": chunk_count(&doc)}),
            source: None,
            work: research(&format!("What is in {source}?"), json!({"document": id})),
        });
    }
    out
}

fn chunk_count(doc: &Object) -> usize {
    doc.links.get(CHUNKS).map_or(0, Vec::len)
}

/// Files the persona could not read that it has not read since.
fn unread(image: &Image, persona: &Object) -> Vec<Finding> {
    let read: Vec<String> = persona
        .links
        .get(MEMORY)
        .into_iter()
        .flatten()
        .filter_map(|d: &ObjectId| image.get(d).ok())
        .map(|d| text(&d, "source").to_string())
        .collect();
    let mut out: Vec<Finding> = Vec::new();
    for entry in persona
        .slots
        .get(UNREAD)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(path) = entry["path"].as_str() else {
            continue;
        };
        let key = format!("unread:{}:{path}", persona.name);
        if read.iter().any(|r| r == path) || out.iter().any(|f| f.key == key) {
            continue;
        }
        out.push(Finding {
            signal: Signal::Unread,
            persona: persona.name.clone(),
            key,
            summary: format!(
                "{} could not read {path}: {}",
                persona.name, entry["reason"]
            ),
            evidence: entry.clone(),
            source: None,
            work: Some(Proposal {
                kind: WorkKind::Reread,
                persona: persona.name.clone(),
                subject: path.to_string(),
                detail: json!({"persona": persona.id, "path": path}),
            }),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_and_failures_are_compared_without_their_noise() {
        assert_eq!(
            normalise("  Should we FLY, a kite?! "),
            "should we fly a kite"
        );
        let r = |error: &str| CycleRecord {
            id: "c".into(),
            trigger: "cli apply x.json".into(),
            status: CycleStatus::Aborted,
            objects: vec![],
            steps: vec![],
            error: Some(error.into()),
            program: None,
            task: None,
            failed_at: None,
            resolution: None,
            started: 0,
            ended: 0,
        };
        assert_eq!(
            failure_class(&r("object 01ABC9 has no slot 12")),
            failure_class(&r("object 01ABC7 has no slot 3"))
        );
        assert_ne!(
            failure_class(&r("no such object")),
            failure_class(&r("a conflict"))
        );
    }
}

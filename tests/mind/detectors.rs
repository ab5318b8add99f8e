//! Each detector fires on a staged image and stays quiet on a healthy one; a planning pass
//! turns what is new into motives once.

use serde_json::{Value, json};
use telos_core::image::ops::{self, Op};
use telos_core::image::{Image, ObjectId};
use telos_core::{Signal, Telos};
use telos_tests::ollama_stub::{OllamaStub, Reply, Script};

use super::telos_on;

fn append(object: &str, slot: &str, value: Value) -> Op {
    Op::Append {
        object: object.into(),
        slot: slot.into(),
        value,
        keep: None,
    }
}

/// A chat exchange as the scrapbook records it.
fn exchange(at: i64, question: &str, grounding: f64, recalled: &[&str]) -> Value {
    json!({"at": at, "user": question, "reply": "…", "cut": false,
           "recalled": recalled, "grounding": grounding})
}

/// A dialogue object as a recorded dialogue leaves it.
async fn dialogue(image: &Image, name: &str, question: &str, ending: &str) {
    let program = vec![
        Op::New {
            name: name.into(),
            parents: vec!["genesis".into()],
        },
        Op::Set {
            object: name.into(),
            slot: "kind".into(),
            value: json!("dialogue"),
        },
        Op::Set {
            object: name.into(),
            slot: "question".into(),
            value: json!(question),
        },
        Op::Set {
            object: name.into(),
            slot: "ending".into(),
            value: json!(ending),
        },
        Op::Set {
            object: name.into(),
            slot: "turns".into(),
            value: json!([{"round": 1, "persona": "BRICK", "text": "No."},
                          {"round": 1, "persona": "ROBIN", "text": "Yes."}]),
        },
    ];
    ops::apply(image, "test dialogue", &program).await.unwrap();
}

/// A document BABS remembered at `at` (staged: no rows in LanceDB, which no detector reads).
async fn document(image: &Image, name: &str, source: &str, at: i64) -> ObjectId {
    let mut c = image.begin("test document");
    let genesis = c.resolve("genesis").unwrap();
    let babs = c.resolve("BABS").unwrap();
    let id = c.create(name, &[genesis]).unwrap();
    c.set_slot(&id, "kind", json!("document")).unwrap();
    c.set_slot(&id, "source", json!(source)).unwrap();
    c.set_slot(&id, "remembered", json!(at)).unwrap();
    c.link(&babs, "memory", &id).unwrap();
    c.commit().await.unwrap();
    id
}

/// A forge whose every attempt failed, kept suspended; `discarded`: given up in the Debugger.
async fn failed_forge(image: &Image, selector: &str, discarded: bool) -> String {
    let kite = image.resolve("kite").unwrap();
    let mut c = image.begin(&format!("forge kite.{selector}"));
    c.set_task(
        json!({"kind": "forge", "receiver": kite.id, "receiver_name": "kite",
                      "selector": selector, "description": "fly it", "args": [],
                      "persona": "BRICK", "model": "mistral:7b", "attempts": [{}, {}, {}]}),
    );
    let record = c.abort("every attempt failed").await.unwrap();
    if discarded {
        ops::discard(image, &record.id).await.unwrap();
    }
    record.id
}

async fn staged_telos(dir: &std::path::Path, stub: &OllamaStub) -> Telos {
    let telos = telos_on(dir, stub).await;
    let new_kite = Op::New {
        name: "kite".into(),
        parents: vec!["genesis".into()],
    };
    ops::apply(telos.image(), "test", &[new_kite])
        .await
        .unwrap();
    telos
}

fn signals(planned: &telos_core::Planned) -> Vec<Signal> {
    let mut s: Vec<Signal> = planned.motives.iter().map(|m| m.signal).collect();
    s.sort_by_key(|s| format!("{s:?}"));
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_detector_fires_on_a_staged_image_once() {
    let stub = OllamaStub::start(Script::design_table());
    let dir = tempfile::tempdir().unwrap();
    let telos = staged_telos(dir.path(), &stub).await;
    let image = telos.image().clone();
    // Dissonance: an impasse; a contradiction (the same question converged elsewhere); a
    // failed forge; a failed apply (any loop's suspended cycle), three times (recurring).
    dialogue(&image, "d1", "Should we fly?", "impasse").await;
    dialogue(&image, "d2", "should we FLY", "converged").await;
    let forge = failed_forge(&image, "soar", false).await;
    for n in 0..3 {
        let bad = Op::Set {
            object: format!("nobody{n}"),
            slot: "x".into(),
            value: json!(1),
        };
        assert!(
            ops::apply(&image, "cli apply bad.json", &[bad])
                .await
                .is_err()
        );
    }
    // Curiosity: a question BABS could not ground; a selector given up on and still missing;
    // a document never recalled in five grounded exchanges; a file it could not read.
    let doc = document(&image, "BABS memory kites", "/docs/kites.md", 1).await;
    let mut book = vec![append(
        "BABS",
        "scrapbook",
        exchange(2, "What is a kite?", 0.12, &[]),
    )];
    // The document rides along in every recall, but at a score that grounds nothing.
    let id = doc.to_string();
    for n in 0..5 {
        let q = format!("About wind {n}?");
        let mut e = exchange(3 + n, &q, 0.8, &["other", &id]);
        e["recall_scores"] = json!({"other": 0.8, id.clone(): 0.1});
        book.push(append("BABS", "scrapbook", e));
    }
    book.push(append(
        "BABS",
        "unread",
        json!({"path": "/docs/broken.pdf", "reason": "not a PDF", "at": 9}),
    ));
    ops::apply(&image, "test scrapbook", &book).await.unwrap();
    failed_forge(&image, "glide", true).await;

    let planned = telos.plan_agenda().await.unwrap();
    let got = signals(&planned);
    use Signal::*;
    let mut want = vec![
        Impasse,
        Contradiction,
        ForgeFailed,
        Suspended,
        Suspended,
        Suspended,
        Recurring,
        Ungrounded,
        NotUnderstood,
        NeverRecalled,
        Unread,
        // BABS's staged exchanges, not judged yet: the Curator's motive.
        Unjudged,
    ];
    want.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(got, want, "{:#?}", planned.motives);

    // The evidence names what was seen.
    let by = |s: Signal| planned.motives.iter().find(|m| m.signal == s).unwrap();
    assert_eq!(by(Impasse).evidence["transcript"][0]["text"], "No.");
    assert_eq!(by(ForgeFailed).source.as_deref(), Some(forge.as_str()));
    assert_eq!(by(ForgeFailed).persona, "BRICK");
    assert_eq!(by(Ungrounded).evidence["question"], "What is a kite?");
    assert_eq!(by(NeverRecalled).evidence["source"], "/docs/kites.md");
    assert_eq!(by(Unread).evidence["path"], "/docs/broken.pdf");
    assert_eq!(by(Recurring).evidence["count"], 3);

    // Ask (the default): one proposed work per distinct act; the forges of the failed and of
    // the given-up selector differ, the impasse and the ungrounded question are researched.
    let kinds: Vec<(String, String)> = planned
        .works
        .iter()
        .map(|w| (format!("{:?}", w.kind), format!("{:?}", w.state)))
        .collect();
    assert!(kinds.iter().all(|(_, s)| s == "Proposed"), "{kinds:?}");
    // (and the Curator's pass over BABS's exchanges)
    assert_eq!(
        planned.works.len(),
        9,
        "{:#?}",
        planned.works.iter().map(|w| &w.subject).collect::<Vec<_>>()
    );

    // Seen again: nothing new.
    let again = telos.plan_agenda().await.unwrap();
    assert!(again.motives.is_empty(), "{:#?}", again.motives);
    assert!(again.cycle.is_none());
    telos.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_detectors_stay_quiet_on_a_healthy_image() {
    let mut script = Script::design_table();
    let scored = json!({"scores": {"accuracy": 4, "sources": 4, "curiosity": 4, "task done": 4,
                                   "rigour": 4, "working code": 4, "honesty about limits": 4,
                                   "care": 4, "patience": 4, "kindness": 4, "clarity": 4,
                                   "economy": 4, "oversight": 4, "dissonance resolved": 4},
                        "overall": 4, "rationale": "fine"});
    script.replies.insert(
        "phi3:3.8b".into(),
        vec![Reply::Text(scored.to_string()); 20],
    );
    let stub = OllamaStub::start(script);
    let dir = tempfile::tempdir().unwrap();
    let telos = staged_telos(dir.path(), &stub).await;
    let image = telos.image().clone();
    dialogue(&image, "d1", "Should we fly?", "converged").await;
    dialogue(&image, "d2", "Should we fly?", "converged").await;
    let doc = document(&image, "BABS memory kites", "/docs/kites.md", 1).await;
    let id = doc.to_string();
    let mut book = Vec::new();
    for n in 0..6 {
        let q = format!("About kites {n}?");
        book.push(append(
            "BABS",
            "scrapbook",
            exchange(3 + n, &q, 0.7, &[&id]),
        ));
    }
    // A file that failed once and was read since.
    book.push(append(
        "BABS",
        "unread",
        json!({"path": "/docs/kites.md", "reason": "busy", "at": 0}),
    ));
    ops::apply(&image, "test scrapbook", &book).await.unwrap();
    // One failed apply is not recurring, and a resolved one is not suspended.
    let bad = Op::Set {
        object: "nobody".into(),
        slot: "x".into(),
        value: json!(1),
    };
    assert!(
        ops::apply(&image, "cli apply bad.json", &[bad])
            .await
            .is_err()
    );
    let recent = image.cycles(5).await.unwrap();
    let suspended = recent.iter().find(|r| r.is_suspended()).unwrap();
    ops::discard(&image, &suspended.id).await.unwrap();

    // Every exchange judged already (the stub's ALFRED scores each).
    let curated = telos.curate(None, 100, 4.0, |_| {}).await.unwrap();
    assert_eq!(curated.failed, 0, "{:?}", curated.errors);
    let planned = telos.plan_agenda().await.unwrap();
    assert!(planned.motives.is_empty(), "{:#?}", planned.motives);
    assert!(telos.motives().is_empty());
    telos.shutdown().await.unwrap();
}

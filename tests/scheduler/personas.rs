//! Personas are what their codex says, and the persona set follows the image live: the whole
//! system prompt a model is sent is the codex's, an edit made in the app reaches the scheduler
//! at once and rewrites the codex file (no amendment at the next start), a clone can chat at
//! once, and only an edit made in the file waits for approval.

use std::time::Duration;

use serde_json::{Value, json};
use telos_core::{ChatEvent, Config, Telos};

use super::*;

async fn open(dir: &std::path::Path, stub: &OllamaStub) -> Telos {
    let mut config = Config::from_data_dir(dir);
    config.ollama_host = stub.url();
    Telos::open(config).await.expect("open Telos")
}

/// The reply's last event, after it ran to the end.
async fn reply(telos: &Telos, persona: &str, text: &str) -> ChatEvent {
    let mut rx = telos.chat(persona, text).expect("chat starts");
    let mut last = None;
    while let Some(e) = rx.recv().await {
        last = Some(e);
    }
    last.expect("a reply")
}

/// The codex file of `persona` as JSON.
fn codex_file(telos: &Telos, persona: &str) -> Value {
    let path = telos.codex_dir().join(format!("{persona}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Waits (up to 10 s) until `ok`, panicking with `what` if it never holds.
async fn eventually(what: &str, mut ok: impl FnMut() -> bool) {
    for _ in 0..400 {
        if ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("never: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_personas_whole_system_prompt_in_chat_is_its_codexs() {
    let stub = OllamaStub::start(Script::design_table());
    let dir = tempfile::tempdir().unwrap();
    let telos = open(dir.path(), &stub).await;
    telos.scan_codex().unwrap();
    for seed in &telos_core::persona::SEEDS {
        let done = reply(&telos, seed.name, "Who are you?").await;
        assert!(
            matches!(done, ChatEvent::Done { .. }),
            "{}: {done:?}",
            seed.name
        );
        let sent = stub.last_messages(seed.model);
        let codex = codex_file(&telos, seed.name);
        assert_eq!(sent[0]["role"], "system");
        assert_eq!(
            sent[0]["content"], codex["system_prompt"],
            "{}'s system prompt is its codex's, whole",
            seed.name
        );
        assert_eq!(codex["system_prompt"], seed.system_prompt);
    }

    // The codex in force is what the model hears: an approved edit of the file changes it.
    let path = telos.codex_dir().join("ROBIN.json");
    let mut robin = codex_file(&telos, "ROBIN");
    robin["system_prompt"] = json!("You are ROBIN. Answer in one short, kind sentence.");
    std::fs::write(&path, serde_json::to_string_pretty(&robin).unwrap()).unwrap();
    let amendment = telos.scan_codex().unwrap().pending.remove(0);
    telos.approve_amendment(&amendment.id).await.unwrap();
    reply(&telos, "ROBIN", "How are you?").await;
    assert_eq!(
        stub.last_messages("gemma2:9b")[0]["content"],
        "You are ROBIN. Answer in one short, kind sentence."
    );
    telos.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_in_the_app_reaches_the_scheduler_at_once_and_the_next_start_proposes_nothing() {
    let stub = OllamaStub::start(Script::design_table());
    let dir = tempfile::tempdir().unwrap();
    let telos = open(dir.path(), &stub).await;
    telos.scan_codex().unwrap();

    // The Inspector's edit of BRICK's model and priority: one cycle each.
    telos
        .set_slot_json("BRICK", "model", "\"llama3:8b\"", "ui slot edit")
        .await
        .unwrap();
    telos
        .set_slot_json("BRICK", "priority", "1", "ui slot edit")
        .await
        .unwrap();
    let brick = |telos: &Telos| {
        telos
            .scheduler()
            .personas()
            .into_iter()
            .find(|p| p.name == "BRICK")
            .unwrap()
    };
    let seen = brick(&telos);
    assert_eq!((seen.model.as_str(), seen.priority), ("llama3:8b", 1));
    let listed = telos.personas().await;
    let row = listed.iter().find(|p| p.name == "BRICK").unwrap();
    assert_eq!((row.model.as_str(), row.priority), ("llama3:8b", 1));
    let view = telos.scheduler_status();
    assert!(
        view.personas.iter().any(|p| p.persona == "BRICK"),
        "{view:?}"
    );

    // The codex file is a view of the persona: rewritten, and no amendment proposed.
    eventually("BRICK's codex file says llama3:8b", || {
        codex_file(&telos, "BRICK")["model"] == "llama3:8b"
    })
    .await;
    assert_eq!(codex_file(&telos, "BRICK")["priority"], 1);
    let report = telos.scan_codex().unwrap();
    assert!(report.pending.is_empty(), "{report:?}");
    telos.shutdown().await.unwrap();

    // The next start agrees.
    let telos = open(dir.path(), &stub).await;
    let report = telos.scan_codex().unwrap();
    assert!(
        report.pending.is_empty() && report.problems.is_empty(),
        "{report:?}"
    );
    assert_eq!(brick(&telos).model, "llama3:8b");

    // An edit made in the file is the one thing that waits for approval.
    let path = telos.codex_dir().join("BRICK.json");
    let mut edited = codex_file(&telos, "BRICK");
    edited["model"] = json!("qwen2:7b");
    std::fs::write(&path, serde_json::to_string_pretty(&edited).unwrap()).unwrap();
    let report = telos.scan_codex().unwrap();
    assert_eq!(report.pending.len(), 1, "{report:?}");
    assert_eq!(report.pending[0].changes[0].field, "model");
    assert_eq!(brick(&telos).model, "llama3:8b", "not before approval");
    // An app edit of another field meanwhile leaves the user's file edit pending.
    telos
        .set_slot_json("BRICK", "role", "\"builder\"", "ui slot edit")
        .await
        .unwrap();
    let report = telos.scan_codex().unwrap();
    assert_eq!(report.pending.len(), 1, "{report:?}");
    assert_eq!(
        codex_file(&telos, "BRICK")["model"],
        "qwen2:7b",
        "the user's edit kept"
    );
    telos.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clone_of_a_persona_chats_at_once_and_a_deleted_one_is_forgotten() {
    let stub = OllamaStub::start(Script::design_table());
    let dir = tempfile::tempdir().unwrap();
    let telos = open(dir.path(), &stub).await;
    let copy = telos.clone_object("ROBIN", None).await.unwrap();
    assert_eq!(copy.name, "ROBIN copy");
    let done = reply(&telos, "ROBIN copy", "Hello, twin.").await;
    assert_eq!(
        done,
        ChatEvent::Done {
            text: "You said: Hello, twin.".into()
        }
    );
    eventually("the clone's codex file", || {
        telos.codex_dir().join("ROBIN copy.json").exists()
    })
    .await;
    assert!(telos.scan_codex().unwrap().problems.is_empty());

    let delete = telos_core::image::ops::Op::Delete {
        object: "ROBIN copy".into(),
    };
    telos.apply("delete the copy", vec![delete]).await.unwrap();
    assert!(
        telos
            .scheduler()
            .personas()
            .iter()
            .all(|p| p.name != "ROBIN copy"),
        "the scheduler forgets it at once"
    );
    eventually("the clone's codex file gone", || {
        !telos.codex_dir().join("ROBIN copy.json").exists()
    })
    .await;
    let report = telos.scan_codex().unwrap();
    assert!(
        report.problems.is_empty() && report.pending.is_empty(),
        "{report:?}"
    );
    telos.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approving_checks_the_proposal_again_and_refuses_one_edited_into_an_invalid_codex() {
    let stub = OllamaStub::start(Script::design_table());
    let dir = tempfile::tempdir().unwrap();
    let telos = open(dir.path(), &stub).await;
    telos.scan_codex().unwrap();
    let path = telos.codex_dir().join("BABS.json");
    let mut babs = codex_file(&telos, "BABS");
    babs["priority"] = json!(2);
    std::fs::write(&path, serde_json::to_string_pretty(&babs).unwrap()).unwrap();
    let amendment = telos.scan_codex().unwrap().pending.remove(0);

    // The stored proposal is edited behind the app's back: a priority no codex may have.
    let stored = dir
        .path()
        .join(telos_core::persona::AMENDMENTS)
        .join(format!("{}.json", amendment.id));
    let mut proposal: Value =
        serde_json::from_str(&std::fs::read_to_string(&stored).unwrap()).unwrap();
    proposal["proposed"]["priority"] = json!(5000);
    std::fs::write(&stored, serde_json::to_string_pretty(&proposal).unwrap()).unwrap();

    let err = telos
        .approve_amendment(&amendment.id)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("priority 5000 is outside -100..=100"), "{err}");
    assert!(err.contains(&amendment.id) && err.contains("BABS"), "{err}");
    let obj = telos.image().resolve("BABS").unwrap();
    assert_ne!(
        obj.slots.get("priority"),
        Some(&json!(5000)),
        "nothing was changed"
    );
    assert_eq!(
        telos.amendments().len(),
        1,
        "it waits, to be rejected or proposed anew"
    );
    telos.shutdown().await.unwrap();
}

//! A dialogue stepped and resumed from the Debugger: a turn rewritten, the later ones thought
//! anew as a new cycle that resolves the suspended one; a broken dialogue resumed as it was.

use serde_json::json;
use telos_core::image::Resolution;
use telos_core::view::CycleView;
use telos_core::{DialogueEvent, Ending};
use telos_tests::ollama_stub::{OllamaStub, Reply};

use super::{run, script, telos_on, verdict};

async fn drain(mut rx: tokio::sync::mpsc::Receiver<DialogueEvent>) -> Vec<DialogueEvent> {
    let mut out = Vec::new();
    while let Some(e) = rx.recv().await {
        out.push(e);
    }
    out
}

fn broken_then(robin_after: &str) -> OllamaStub {
    let mut s = script(
        &["A position."],
        &[],
        vec![
            verdict("converged", "they agree"),
            Reply::Text("Fly it.".into()),
        ],
    );
    s.replies.insert(
        "gemma2:9b".into(),
        vec![
            serde_json::from_value::<Reply>(json!({"error": "out of memory"})).unwrap(),
            Reply::Text(robin_after.into()),
        ],
    );
    OllamaStub::start(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_rewritten_in_the_debugger_is_thought_on_from_as_a_new_cycle() {
    let stub = broken_then("I agree: wind is free.");
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_on(dir.path(), &stub).await;
    let events = run(&telos, "Should we fly?", 3).await;
    let Some(DialogueEvent::Failed {
        cycle: Some(old), ..
    }) = events.last()
    else {
        panic!("{events:?}")
    };
    // The Debugger's view of it: the question, BRICK's turn, ROBIN's broken one.
    let view = CycleView::new(telos.image(), &telos.image().cycle(old).await.unwrap());
    let story = view.dialogue.expect("a dialogue's story");
    assert_eq!(story.question, "Should we fly?");
    let kinds: Vec<(&str, &str, Option<u32>)> = story
        .thoughts
        .iter()
        .map(|t| (t.kind.as_str(), t.persona.as_str(), t.turn))
        .collect();
    assert_eq!(kinds, [("turn", "BRICK", Some(0)), ("turn", "ROBIN", None)]);
    assert!(
        story.thoughts[0]
            .prompt
            .as_deref()
            .unwrap()
            .contains("Should we fly?")
    );
    assert!(
        story.thoughts[1]
            .error
            .as_deref()
            .unwrap()
            .contains("out of memory")
    );

    // Errors name the bad input and change nothing.
    let err = telos
        .resume_dialogue(old, Some((5, "x".into())))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no turn 5"), "{err}");
    let err = telos
        .resume_dialogue(old, Some((0, "  ".into())))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");

    let rewritten = "Wind is free, so flying costs nothing.";
    let events = drain(
        telos
            .resume_dialogue(old, Some((0, rewritten.into())))
            .await
            .unwrap(),
    )
    .await;
    let Some(DialogueEvent::Done {
        dialogue,
        cycle,
        ending,
        synthesis,
    }) = events.last()
    else {
        panic!("{events:?}")
    };
    assert_eq!(
        (*ending, synthesis.as_str()),
        (Ending::Converged, "Fly it.")
    );
    // ROBIN answered the rewritten turn.
    let sent = stub.last_messages("gemma2:9b");
    assert!(sent.to_string().contains(rewritten), "{sent}");
    let object = telos.image().resolve(&dialogue.name).unwrap();
    let turns = object.slots["turns"].as_array().unwrap();
    assert_eq!(turns[0]["text"], rewritten);
    assert_eq!(turns[0]["model"], "edited by you");
    assert_eq!(turns[1]["text"], "I agree: wind is free.");
    // The new cycle resolves the old one, and its story marks the edit.
    let before = telos.image().cycle(old).await.unwrap();
    assert!(!before.is_suspended());
    assert_eq!(
        before.resolution,
        Some(Resolution::Resumed {
            cycle: cycle.clone()
        })
    );
    let after = CycleView::new(telos.image(), &telos.image().cycle(cycle).await.unwrap());
    let story = after.dialogue.unwrap();
    assert!(story.thoughts[0].edited && !story.thoughts[0].kept);
    let kinds: Vec<&str> = story.thoughts.iter().map(|t| t.kind.as_str()).collect();
    assert_eq!(kinds, ["turn", "turn", "verdict", "synthesis"]);
    telos.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_dialogue_resumed_as_it_was_goes_on_from_where_it_broke() {
    let stub = broken_then("Yes, fly.");
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_on(dir.path(), &stub).await;
    let events = run(&telos, "Should we fly?", 3).await;
    let Some(DialogueEvent::Failed {
        cycle: Some(old), ..
    }) = events.last()
    else {
        panic!("{events:?}")
    };
    // The Debugger's plain Resume.
    let resumed = telos.resume(old, None).await.unwrap();
    let record = telos.image().cycle(&resumed.id).await.unwrap();
    assert!(!record.is_suspended(), "{record:?}");
    let story = telos_core::mind::trace(&record).unwrap();
    let said: Vec<(&str, &str, bool)> = story
        .thoughts
        .iter()
        .filter(|t| t.kind == "turn")
        .map(|t| (t.persona.as_str(), t.text.as_str(), t.kept))
        .collect();
    assert_eq!(
        said,
        [
            ("BRICK", "A position.", true),
            ("ROBIN", "Yes, fly.", false)
        ]
    );
    // A cycle that is not a dialogue is named.
    let cycles = telos.image().cycles(50).await.unwrap();
    let other = cycles
        .iter()
        .find(|r| telos_core::mind::trace(r).is_none())
        .unwrap();
    let err = telos
        .resume_dialogue(&other.id, None)
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(err.to_string().contains("is not a dialogue"), "{err}");
    telos.shutdown().await.unwrap();
}

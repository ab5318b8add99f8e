//! A dialogue end to end on the tiny model: its structure, that it ends, and its record — not
//! its wisdom.

use telos_core::{DialogueEvent, Ending};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialogue_on_the_tiny_model_ends_and_is_recorded_whole() {
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_embedded(dir.path()).await;
    let mut rx = telos.dialogue("Is a kite a toy or a tool?", 1).unwrap();
    let mut events = Vec::new();
    while let Some(e) = rx.recv().await {
        events.push(e);
    }
    let turns = events
        .iter()
        .filter(|e| matches!(e, DialogueEvent::Turn { round, .. } if *round > 0))
        .count();
    let verdicts = events
        .iter()
        .filter(|e| matches!(e, DialogueEvent::Verdict(_)))
        .count();
    match events.last().unwrap() {
        DialogueEvent::Done {
            dialogue,
            cycle,
            ending,
            synthesis,
        } => {
            // One verdict a round, two turns a round, at most two rounds.
            assert!((1..=2).contains(&verdicts), "{events:?}");
            assert_eq!(turns, verdicts * 2, "{events:?}");
            if verdicts == 2 {
                assert_ne!(
                    *ending,
                    Ending::Converged,
                    "a second round means the first went on"
                );
            }
            assert!(!synthesis.is_empty());
            let object = telos.image().resolve(&dialogue.name).unwrap();
            let recorded = object.slots["turns"].as_array().unwrap();
            assert_eq!(recorded.len(), turns);
            for t in recorded {
                assert_eq!(t["model"], DEFAULT_MODEL);
                assert_eq!(t["runtime"], "embedded");
            }
            assert!(!telos.image().cycle(cycle).await.unwrap().is_suspended());
        }
        // A turn cut at the token limit: kept suspended with what was said.
        DialogueEvent::Failed { message, cycle } => {
            assert!(message.contains("limit"), "{message}");
            let record = telos
                .image()
                .cycle(cycle.as_deref().unwrap())
                .await
                .unwrap();
            assert!(record.is_suspended());
        }
        other => panic!("the dialogue ended with {other:?}"),
    }
    telos.shutdown().await.unwrap();
}

/// An agenda pass on the tiny model: BABS cannot ground a question (it remembers nothing), the
/// agenda notices, proposes research, and the act — BABS writing a note and remembering it —
/// runs as one cycle. Structure, termination and the record are checked, not the note's sense.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agenda_pass_on_the_tiny_model_researches_an_ungrounded_question() {
    use telos_core::{AgendaStep, Autonomy, Signal, WorkKind, WorkState};
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_embedded(dir.path()).await;
    // The tiny model now and then runs on to the token limit, and a reply cut there is no
    // exchange in the scrapbook for the agenda to notice: asked again, at most three times.
    let mut events = Vec::new();
    for _ in 0..3 {
        events = chat_events(&telos, "BABS", "What makes a kite fly?").await;
        if matches!(events.last(), Some(ChatEvent::Done { .. })) {
            break;
        }
    }
    assert!(
        matches!(events.last(), Some(ChatEvent::Done { .. })),
        "{events:?}"
    );
    telos.set_autonomy(Autonomy::On).await.unwrap();
    let planned = telos.plan_agenda().await.unwrap();
    let ungrounded = planned
        .motives
        .iter()
        .find(|m| m.signal == Signal::Ungrounded)
        .unwrap_or_else(|| panic!("{:#?}", planned.motives));
    assert_eq!(ungrounded.evidence["question"], "What makes a kite fly?");
    let work = &planned.works[0];
    assert_eq!(
        (work.kind, work.state),
        (WorkKind::Research, WorkState::Approved)
    );
    let AgendaStep::Acted { work } = telos.agenda_step().await.unwrap() else {
        panic!("no act")
    };
    let record = telos
        .image()
        .cycle(work.cycle.as_deref().unwrap())
        .await
        .unwrap();
    match work.state {
        WorkState::Done => {
            assert!(!record.is_suspended());
            assert!(!work.result.as_deref().unwrap().is_empty());
            let babs = telos.image().resolve("BABS").unwrap();
            assert_eq!(babs.links["memory"].len(), 1, "BABS remembers its note");
        }
        // A note cut at the token limit: the act is kept suspended, naming its work.
        WorkState::Failed => {
            assert!(record.is_suspended(), "{record:?}");
            assert_eq!(record.task.as_ref().unwrap()["work"], work.name.as_str());
        }
        other => panic!("{other:?}: {work:#?}"),
    }
    println!(
        "the agenda's research took {:.1} s: {:?}",
        work.ms.unwrap() / 1e3,
        work.result
    );
    telos.shutdown().await.unwrap();
}

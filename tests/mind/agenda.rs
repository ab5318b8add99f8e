//! The agenda against the FAKE Ollama: an impasse becomes dissonance with its transcript, work
//! is proposed, approved and run as one cycle, the switch holds, and under a flood of motives
//! (every act failing into a new one) the budget and the user-first rule hold.

use std::time::Duration;

use serde_json::json;
use telos_core::image::ops::{self, Op};
use telos_core::scheduler::Mode;
use telos_core::{
    AgendaStep, Autonomy, ChatEvent, Config, DialogueEvent, Hold, MotiveKind, Signal, Telos, Work,
    WorkKind, WorkState,
};
use telos_tests::ollama_stub::{OllamaStub, Reply, Script};

use super::{run, script, telos_on, verdict};

async fn telos_with(dir: &std::path::Path, stub: &OllamaStub, per_hour: u32, share: f64) -> Telos {
    let mut config = Config::from_data_dir(dir);
    config.ollama_host = stub.url();
    config.llm = Mode::Ollama;
    config.forge_attempts = 1;
    config.agenda.per_hour = per_hour;
    config.agenda.share = share;
    config.agenda.tick = Duration::from_millis(100);
    Telos::open(config).await.expect("open Telos")
}

fn ungrounded(question: &str) -> Op {
    Op::Append {
        object: "BABS".into(),
        slot: "scrapbook".into(),
        value: json!({"at": 1, "user": question, "reply": "?", "cut": false,
                      "recalled": [], "grounding": 0.05}),
        keep: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_impasse_at_the_cap_raises_dissonance_with_the_transcript() {
    let stub = OllamaStub::start(script(
        &["No.", "Still no."],
        &["Yes.", "Still yes."],
        vec![
            verdict("continue", "they differ"),
            verdict("continue", "they still differ"),
            Reply::Text("They disagree.".into()),
        ],
    ));
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_on(dir.path(), &stub).await;
    let events = run(&telos, "Is it worth it?", 2).await;
    let Some(DialogueEvent::Done { dialogue, .. }) = events.last() else {
        panic!("{events:?}")
    };
    let planned = telos.plan_agenda().await.unwrap();
    let [motive] = planned.motives.as_slice() else {
        panic!("{:#?}", planned.motives)
    };
    assert_eq!(
        (motive.kind, motive.signal, motive.persona.as_str()),
        (MotiveKind::CognitiveDissonance, Signal::Impasse, "ALFRED")
    );
    assert_eq!(motive.evidence["ending"], "cap");
    assert_eq!(motive.evidence["dialogue"], json!(dialogue.name));
    let said: Vec<&str> = motive.evidence["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["text"].as_str().unwrap())
        .collect();
    assert_eq!(said, ["No.", "Yes.", "Still no.", "Still yes."]);
    // The motive was recorded by a cycle of its own, with the dialogue's cycle as its source.
    let record = telos
        .image()
        .cycle(planned.cycle.as_ref().unwrap())
        .await
        .unwrap();
    assert!(record.trigger.starts_with("agenda noticed"));
    assert!(motive.source.is_some());
    telos.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proposed_work_waits_for_approval_and_runs_as_one_cycle() {
    let mut s = Script::design_table();
    s.replies.insert(
        "qwen2:7b".into(),
        vec![Reply::Text("Kites are not remembered yet.".into())],
    );
    let stub = OllamaStub::start(s);
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_with(dir.path(), &stub, 12, 1.0).await;
    ops::apply(
        telos.image(),
        "test",
        &[ungrounded("What is a kite?"), ungrounded("Why fly?")],
    )
    .await
    .unwrap();
    // Off: motives, no work.
    telos.set_autonomy(Autonomy::Off).await.unwrap();
    telos
        .apply("test", vec![ungrounded("How high?")])
        .await
        .unwrap();
    let off = telos.plan_agenda().await.unwrap();
    // The three questions, and the Curator's motive: BABS's exchanges are not judged yet.
    assert_eq!(off.motives.len(), 4);
    assert_eq!(
        off.motives
            .iter()
            .filter(|m| m.signal == Signal::Unjudged)
            .count(),
        1
    );
    assert!(off.works.is_empty());
    assert_eq!(
        telos.agenda_step().await.unwrap(),
        AgendaStep::Held { hold: Hold::Off }
    );

    // Ask: proposed, then approved or rejected by the user.
    telos.set_autonomy(Autonomy::Ask).await.unwrap();
    telos
        .apply("test", vec![ungrounded("What is a kite, really?")])
        .await
        .unwrap();
    let asked = telos.plan_agenda().await.unwrap();
    let research: Vec<&Work> = asked
        .works
        .iter()
        .filter(|w| w.kind != WorkKind::Curate)
        .collect();
    let [work] = research.as_slice() else {
        panic!("{:#?}", asked.works)
    };
    assert_eq!(
        (work.kind, work.state, work.persona.as_str()),
        (WorkKind::Research, WorkState::Proposed, "BABS")
    );
    assert_eq!(
        telos.agenda_step().await.unwrap(),
        AgendaStep::Held {
            hold: Hold::NothingApproved
        }
    );
    let err = telos.reject_work("work nobody").await.unwrap_err();
    assert!(err.to_string().contains("work nobody"), "{err}");
    telos.approve_work(&work.id).await.unwrap();
    let again = telos.approve_work(&work.id).await.unwrap_err();
    assert!(again.to_string().contains("Approved"), "{again}");

    let AgendaStep::Acted { work: done } = telos.agenda_step().await.unwrap() else {
        panic!("no act")
    };
    assert_eq!(done.state, WorkState::Done, "{done:#?}");
    assert_eq!(
        done.result.as_deref(),
        Some("Kites are not remembered yet.")
    );
    // One cycle records the act; BABS remembers the note it wrote.
    let record = telos
        .image()
        .cycle(done.cycle.as_ref().unwrap())
        .await
        .unwrap();
    assert!(!record.is_suspended());
    assert!(
        record.trigger.starts_with("agenda research"),
        "{}",
        record.trigger
    );
    let act = record.steps.iter().find(|s| s.op == "act").unwrap();
    let note = act.detail["detail"]["note"].as_str().unwrap();
    assert!(
        std::fs::read_to_string(note)
            .unwrap()
            .contains("Kites are not remembered yet.")
    );
    let babs = telos.image().resolve("BABS").unwrap();
    assert_eq!(babs.links["memory"].len(), 1);
    // A proposed work can still be rejected; a done one cannot.
    assert!(telos.reject_work(&done.id).await.is_err());
    telos.shutdown().await.unwrap();
}

/// Every forge fails (BRICK's replies are not code), so every act raises a new motive and a new
/// forge: the agenda, left to run on its own, must keep to its share of the time, and start
/// nothing while the user's chat is under way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_flood_of_motives_the_budget_and_the_user_come_first() {
    let mut s = Script::design_table();
    s.token_ms = 4;
    let words = |n: usize| vec!["word"; n].join(" ");
    s.replies.insert(
        "mistral:7b".into(),
        (0..200).map(|_| Reply::Text(words(40))).collect(),
    );
    s.replies
        .insert("phi3:3.8b".into(), vec![Reply::Text(words(150))]);
    let stub = OllamaStub::start(s);
    let dir = tempfile::tempdir().unwrap();
    let share = 0.2;
    let telos = telos_with(dir.path(), &stub, 1000, share).await;
    ops::apply(
        telos.image(),
        "test",
        &[Op::New {
            name: "kite".into(),
            parents: vec!["genesis".into()],
        }],
    )
    .await
    .unwrap();
    // The first failure.
    assert!(telos.forge_method("kite", "soar", "fly it").await.is_err());
    telos.set_autonomy(Autonomy::On).await.unwrap();
    let began = telos_core::image::now_ms();
    telos.run_agenda();
    tokio::time::sleep(Duration::from_millis(2500)).await;

    // The user asks ALFRED: no act starts until the reply is done.
    let mut chat = telos.chat("ALFRED", "Hello?").unwrap();
    let busy_from = telos_core::image::now_ms();
    while let Some(e) = chat.recv().await {
        if matches!(e, ChatEvent::Done { .. } | ChatEvent::Failed { .. }) {
            break;
        }
    }
    let busy_to = telos_core::image::now_ms();
    tokio::time::sleep(Duration::from_millis(3000)).await;
    telos.set_autonomy(Autonomy::Off).await.unwrap();
    let ended = telos_core::image::now_ms();

    let acts: Vec<_> = telos
        .agenda()
        .works
        .into_iter()
        .filter(|w| w.started.is_some())
        .collect();
    assert!(acts.len() >= 2, "the agenda acted: {acts:#?}");
    assert!(acts.iter().all(|w| w.kind == WorkKind::Forge), "{acts:#?}");
    let used: f64 = acts.iter().filter_map(|w| w.ms).sum();
    let longest = acts.iter().filter_map(|w| w.ms).fold(0.0, f64::max);
    let elapsed = (ended - began) as f64;
    println!(
        "{} acts used {used:.0} ms of {elapsed:.0} ms ({:.1}%; budget {:.0}%), {} motives",
        acts.len(),
        100.0 * used / elapsed,
        share * 100.0,
        telos.motives().len()
    );
    assert!(
        used <= share * elapsed + longest,
        "the agenda used {used:.0} ms of {elapsed:.0} ms (share {share}, longest act {longest:.0} ms)"
    );
    // Each act's failure moved the agenda again: more motives than acts.
    assert!(telos.motives().len() > acts.len());
    for w in &acts {
        let s = w.started.unwrap();
        assert!(
            !(s > busy_from + 50 && s < busy_to),
            "{} started at {s} while the user's chat ran ({busy_from}..{busy_to})",
            w.name
        );
    }
    telos.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cap_on_acts_per_hour_holds() {
    let mut s = Script::design_table();
    s.replies.insert(
        "qwen2:7b".into(),
        (0..5).map(|n| Reply::Text(format!("Note {n}."))).collect(),
    );
    let stub = OllamaStub::start(s);
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_with(dir.path(), &stub, 2, 1.0).await;
    telos.set_autonomy(Autonomy::On).await.unwrap();
    let asks: Vec<Op> = ["One?", "Two?", "Three?"].map(ungrounded).to_vec();
    telos.apply("test", asks).await.unwrap();
    let planned = telos.plan_agenda().await.unwrap();
    // Three research passes and the Curator's.
    assert_eq!(planned.works.len(), 4);
    assert!(planned.works.iter().all(|w| w.state == WorkState::Approved));
    for _ in 0..2 {
        let step = telos.agenda_step().await.unwrap();
        assert!(matches!(step, AgendaStep::Acted { .. }), "{step:?}");
    }
    let held = telos.agenda_step().await.unwrap();
    assert!(
        matches!(held, AgendaStep::Held { hold: Hold::PerHour { until } } if until > telos_core::image::now_ms() + 3_500_000),
        "{held:?}"
    );
    telos.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_could_not_be_read_is_read_again_once_it_can_be() {
    let stub = OllamaStub::start(Script::design_table());
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_with(dir.path(), &stub, 12, 1.0).await;
    let file = dir.path().join("kites.pdf");
    std::fs::write(&file, "%PDF-1.7\n\u{0}\u{1} broken beyond reading").unwrap();
    let mut drop = telos.ingest("ROBIN", std::slice::from_ref(&file)).unwrap();
    while let Some(e) = drop.recv().await {
        if matches!(e, telos_core::IngestEvent::Finished(_)) {
            break;
        }
    }
    drop.close();
    let robin = telos.image().resolve("ROBIN").unwrap();
    assert_eq!(
        robin.slots["unread"][0]["path"],
        json!(file.display().to_string())
    );
    telos.set_autonomy(Autonomy::On).await.unwrap();
    let planned = telos.plan_agenda().await.unwrap();
    let [motive] = planned.motives.as_slice() else {
        panic!("{:#?}", planned.motives)
    };
    assert_eq!(
        (motive.signal, motive.persona.as_str()),
        (Signal::Unread, "ROBIN")
    );
    assert_eq!(planned.works[0].kind, WorkKind::Reread);

    // Fixed: it is text now (what a file is, is read from its content).
    std::fs::write(&file, "Kites need a steady wind of about ten knots.").unwrap();
    let AgendaStep::Acted { work } = telos.agenda_step().await.unwrap() else {
        panic!("no act")
    };
    assert_eq!(work.state, WorkState::Done, "{work:#?}");
    assert!(work.result.as_deref().unwrap().contains("ROBIN remembers"));
    let robin = telos.image().resolve("ROBIN").unwrap();
    assert_eq!(robin.links["memory"].len(), 1);
    // Read now: the re-read motive is quiet; what ROBIN remembers has grown a concept that
    // has no name yet, BABS's work.
    let planned = telos.plan_agenda().await.unwrap();
    let [motive] = planned.motives.as_slice() else {
        panic!("{:#?}", planned.motives)
    };
    assert_eq!(
        (motive.signal, motive.persona.as_str()),
        (Signal::Unabstracted, "ROBIN")
    );
    telos.shutdown().await.unwrap();
}

/// Concepts without a name are a motive; the work is BABS naming each (one structured-output
/// call), and a persona whose memories grew is regrouped first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn babs_names_a_personas_new_concepts_as_agenda_work() {
    let mut s = Script::design_table();
    s.replies.insert(
        "qwen2:7b".into(),
        vec![Reply::Text(
            json!({"label": "Kite flight", "definition": "How kites are lifted by the wind."})
                .to_string(),
        )],
    );
    let stub = OllamaStub::start(s);
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_with(dir.path(), &stub, 12, 1.0).await;
    let file = dir.path().join("kites.md");
    std::fs::write(&file, "A kite flies because the wind pushes on its sail.").unwrap();
    let mut drop = telos.ingest("BRICK", std::slice::from_ref(&file)).unwrap();
    while let Some(e) = drop.recv().await {
        if matches!(e, telos_core::IngestEvent::Finished(_)) {
            break;
        }
    }
    drop.close();
    telos.set_autonomy(Autonomy::On).await.unwrap();
    let planned = telos.plan_agenda().await.unwrap();
    let concepts: Vec<&Work> = planned
        .works
        .iter()
        .filter(|w| w.kind == WorkKind::Concepts)
        .collect();
    let [work] = concepts.as_slice() else {
        panic!("{:#?}", planned.works)
    };
    assert_eq!(
        (work.persona.as_str(), &work.detail),
        ("BABS", &json!({"persona": "BRICK", "regroup": false}))
    );
    // BRICK may still be summarising the drop: the agenda waits for the user's work first
    let mut step = telos.agenda_step().await.unwrap();
    for _ in 0..100 {
        if step
            != (AgendaStep::Held {
                hold: Hold::UserFirst,
            })
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        step = telos.agenda_step().await.unwrap();
    }
    let AgendaStep::Acted { work } = step else {
        panic!("no act: {step:?}")
    };
    assert_eq!(work.state, WorkState::Done, "{work:#?}");
    assert!(
        work.result
            .as_deref()
            .unwrap()
            .contains("named 1 of BRICK's concepts"),
        "{work:#?}"
    );
    assert_eq!(
        stub.last_format("qwen2:7b"),
        telos_core::persona::concepts::naming_schema()
    );
    let all = telos.concepts(Some("BRICK")).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].label.as_deref(), Some("Kite flight"));
    assert_eq!(
        all[0].definition.as_deref(),
        Some("How kites are lifted by the wind.")
    );
    // named: the motive is gone
    let planned = telos.plan_agenda().await.unwrap();
    assert!(
        planned
            .motives
            .iter()
            .all(|m| m.signal != Signal::Unabstracted),
        "{:#?}",
        planned.motives
    );
    telos.shutdown().await.unwrap();
}

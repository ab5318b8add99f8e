//! The mind against the FAKE Ollama (the personas' replies scripted): a dialogue that
//! converges in one round, one that reaches the cap at an impasse, and one cut by a model
//! error — each checked in its cycle record, its `dialogue` object and the scrapbooks.

mod agenda;
mod detectors;
mod resume;
mod share;

use serde_json::{Value, json};
use telos_core::scheduler::Mode;
use telos_core::{Config, DialogueEvent, Ending, Telos, Verdict};
use telos_tests::ollama_stub::{OllamaStub, Reply, Script};

fn script(brick: &[&str], robin: &[&str], alfred: Vec<Reply>) -> Script {
    let mut s = Script::design_table();
    let text = |xs: &[&str]| xs.iter().map(|x| Reply::Text(x.to_string())).collect();
    s.replies.insert("mistral:7b".into(), text(brick));
    s.replies.insert("gemma2:9b".into(), text(robin));
    s.replies.insert("phi3:3.8b".into(), alfred);
    s
}

fn verdict(v: &str, why: &str) -> Reply {
    Reply::Text(json!({"verdict": v, "reason": why}).to_string())
}

async fn telos_on(dir: &std::path::Path, stub: &OllamaStub) -> Telos {
    let mut config = Config::from_data_dir(dir);
    config.ollama_host = stub.url();
    config.llm = Mode::Ollama;
    Telos::open(config).await.expect("open Telos")
}

async fn run(telos: &Telos, question: &str, rounds: u32) -> Vec<DialogueEvent> {
    let mut rx = telos
        .dialogue(question, rounds)
        .expect("the dialogue starts");
    let mut out = Vec::new();
    while let Some(e) = rx.recv().await {
        out.push(e);
    }
    out
}

fn spoken(events: &[DialogueEvent]) -> Vec<(u32, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            DialogueEvent::Turn { round, persona, .. } => Some((*round, persona.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialogue_that_converges_in_one_round_is_one_cycle_with_its_record() {
    let stub = OllamaStub::start(script(
        &["Kites need wind; wind is free."],
        &["Flying one makes people glad."],
        vec![
            verdict("converged", "both say fly"),
            Reply::Text("Fly the kite.".into()),
        ],
    ));
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_on(dir.path(), &stub).await;
    let events = run(&telos, "Should we fly a kite?", 3).await;
    assert_eq!(
        spoken(&events),
        [
            (1, "BRICK".into()),
            (1, "ROBIN".into()),
            (0, "ALFRED".into())
        ]
    );
    let verdicts: Vec<&Verdict> = events
        .iter()
        .filter_map(|e| match e {
            DialogueEvent::Verdict(j) => Some(&j.verdict),
            _ => None,
        })
        .collect();
    assert_eq!(verdicts, [&Verdict::Converged]);
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
        (Ending::Converged, "Fly the kite.")
    );

    // One cycle: the dialogue object, its participants, three scrapbook entries.
    let record = telos.image().cycle(cycle).await.unwrap();
    assert!(!record.is_suspended());
    let ops: Vec<&str> = record.steps.iter().map(|s| s.op.as_str()).collect();
    assert!(
        // While ALFRED judged, BRICK's model was loaded for a round that did not come.
        ops.starts_with(&[
            "question",
            "turn",
            "turn",
            "verdict",
            "prepare",
            "synthesis"
        ]),
        "{ops:?}"
    );
    let object = telos.image().resolve(&dialogue.name).unwrap();
    assert_eq!(object.slots["question"], "Should we fly a kite?");
    assert_eq!(object.slots["synthesis"], "Fly the kite.");
    assert_eq!(object.slots["ending"], "converged");
    let turns = object.slots["turns"].as_array().unwrap();
    assert_eq!(turns.len(), 2);
    assert_eq!(turns[0]["persona"], "BRICK");
    assert_eq!(turns[0]["text"], "Kites need wind; wind is free.");
    assert_eq!(turns[0]["model"], "mistral:7b");
    assert_eq!(turns[1]["model"], "gemma2:9b");
    assert_eq!(object.links["participants"].len(), 3);
    for (who, said) in [
        ("BRICK", "Kites need wind; wind is free."),
        ("ROBIN", "Flying one makes people glad."),
        ("ALFRED", "Fly the kite."),
    ] {
        let p = telos.image().resolve(who).unwrap();
        let last = p.slots["scrapbook"]
            .as_array()
            .unwrap()
            .last()
            .cloned()
            .unwrap();
        assert_eq!(last["reply"], said, "{who}");
        assert_eq!(last["dialogue"], json!(dialogue.name));
    }
    // ROBIN was told what BRICK said (the transcript grounds each turn).
    let robin_prompt = &record.steps[2].detail["prompt"];
    assert!(
        robin_prompt
            .as_str()
            .unwrap()
            .contains("BRICK (round 1): Kites need wind")
    );
    telos.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialogue_that_never_agrees_stops_at_the_cap_and_says_so() {
    let stub = OllamaStub::start(script(
        &[
            "No.",
            "Still no, because cost.",
            "No: the cost is the point.",
        ],
        &[
            "Yes.",
            "Yes, for the joy of it.",
            "Yes: joy outweighs cost.",
        ],
        vec![
            verdict("continue", "they differ"),
            verdict("continue", "they still differ"),
            Reply::Text("They disagree on cost against joy.".into()),
        ],
    ));
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_on(dir.path(), &stub).await;
    let events = run(&telos, "Is it worth it?", 2).await;
    assert_eq!(
        spoken(&events).len(),
        5,
        "two rounds of two turns, then the synthesis"
    );
    let Some(DialogueEvent::Done { ending, .. }) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(*ending, Ending::Cap);
    telos.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialogue_a_model_breaks_off_is_kept_suspended_with_its_trace() {
    let mut s = script(&["A position."], &[], vec![]);
    s.replies.insert(
        "gemma2:9b".into(),
        vec![serde_json::from_value::<Reply>(json!({"error": "out of memory"})).unwrap()],
    );
    let stub = OllamaStub::start(s);
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_on(dir.path(), &stub).await;
    let before = telos.image().objects().len();
    let events = run(&telos, "Will it hold?", 3).await;
    let Some(DialogueEvent::Failed {
        message,
        cycle: Some(cycle),
    }) = events.last()
    else {
        panic!("{events:?}")
    };
    assert!(
        message.contains("ROBIN") && message.contains("out of memory"),
        "{message}"
    );
    let record = telos.image().cycle(cycle).await.unwrap();
    assert!(record.is_suspended(), "{record:?}");
    let task: &Value = record.task.as_ref().unwrap();
    assert_eq!(task["kind"], "dialogue");
    assert_eq!(task["turns"][0]["text"], "A position.");
    let ops: Vec<&str> = record.steps.iter().map(|s| s.op.as_str()).collect();
    assert_eq!(
        ops,
        ["question", "turn", "turn"],
        "BRICK's turn, then ROBIN's with its error"
    );
    assert_eq!(
        telos.image().objects().len(),
        before,
        "nothing was recorded"
    );
    // A failed dialogue is ALFRED's dissonance, pointing at its cycle.
    let dissonance = telos.dissonance().await.unwrap();
    assert!(
        dissonance
            .iter()
            .any(|d| d.name == "ALFRED" && &d.cycle == cycle),
        "{dissonance:?}"
    );

    // Bad input is refused before anything starts.
    assert!(telos.dialogue("  ", 3).is_err());
    assert!(telos.dialogue("Why?", 0).is_err());
    assert!(telos.dialogue("Why?", 11).is_err());
    telos.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialogue_between_a_picked_pair_is_argued_by_those_two() {
    // BABS and ALFRED argue (ALFRED also judges): his turn, verdict and synthesis come from
    // his model in that order.
    let mut s = script(&[], &[], vec![]);
    s.replies.insert(
        "qwen2:7b".into(),
        vec![Reply::Text("The sources say kites date to 500 BC.".into())],
    );
    s.replies.insert(
        "phi3:3.8b".into(),
        vec![
            Reply::Text("Then we keep the tradition.".into()),
            verdict("converged", "both favour kites"),
            Reply::Text("Kites, by history and habit.".into()),
        ],
    );
    let stub = OllamaStub::start(s);
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_on(dir.path(), &stub).await;
    let mut rx = telos
        .dialogue_between("Are kites worth keeping?", 3, ["BABS", "ALFRED"])
        .expect("the dialogue starts");
    let mut events = Vec::new();
    while let Some(e) = rx.recv().await {
        events.push(e);
    }
    let Some(DialogueEvent::Started { sides, .. }) = events.first() else {
        panic!("{events:?}")
    };
    assert_eq!(sides, &["BABS", "ALFRED"]);
    assert_eq!(
        spoken(&events),
        [
            (1, "BABS".into()),
            (1, "ALFRED".into()),
            (0, "ALFRED".into())
        ]
    );
    let Some(DialogueEvent::Done {
        dialogue, cycle, ..
    }) = events.last()
    else {
        panic!("{events:?}")
    };
    let object = telos.image().resolve(&dialogue.name).unwrap();
    assert_eq!(object.slots["sides"], json!(["BABS", "ALFRED"]));
    assert_eq!(object.links["participants"].len(), 2, "ALFRED once");
    let alfred = telos.image().resolve("ALFRED").unwrap();
    let last = alfred.slots["scrapbook"]
        .as_array()
        .unwrap()
        .last()
        .cloned();
    assert_eq!(last.unwrap()["reply"], "Kites, by history and habit.");
    // BABS argued from her own role; the Debugger's story names the sides.
    let record = telos.image().cycle(cycle).await.unwrap();
    let babs_prompt = record.steps[1].detail["prompt"].as_str().unwrap();
    assert!(babs_prompt.contains("your own role"), "{babs_prompt}");
    let story = telos_core::mind::trace(&record).unwrap();
    assert_eq!(story.sides, ["BABS", "ALFRED"]);

    // One persona is not a pair; an unknown one is named.
    let err = telos
        .dialogue_between("Why?", 3, ["BRICK", "BRICK"])
        .unwrap_err();
    assert!(err.to_string().contains("BRICK twice"), "{err}");
    let err = telos
        .dialogue_between("Why?", 3, ["BRICK", "nobody"])
        .unwrap_err();
    assert!(err.to_string().contains("nobody"), "{err}");
    telos.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_that_runs_on_is_stopped_at_its_last_full_sentence() {
    // Small models loop: BRICK says the same sentence 200 times.
    let runaway = "The wind decides everything here. ".repeat(200);
    let stub = OllamaStub::start(script(
        &[&runaway],
        &["Then let the wind decide."],
        vec![
            verdict("converged", "both defer to the wind"),
            Reply::Text("The wind decides.".into()),
        ],
    ));
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_on(dir.path(), &stub).await;
    let events = run(&telos, "Who decides?", 3).await;
    let Some(DialogueEvent::Done {
        dialogue, cycle, ..
    }) = events.last()
    else {
        panic!("{events:?}")
    };
    let object = telos.image().resolve(&dialogue.name).unwrap();
    let said = object.slots["turns"][0]["text"].as_str().unwrap();
    assert!(
        said.len() <= telos_core::mind::dialogue::TURN_CHARS && said.ends_with("here."),
        "{} bytes: {said:.80}",
        said.len()
    );
    let record = telos.image().cycle(cycle).await.unwrap();
    let trimmed = record.steps.iter().find(|s| s.op == "trimmed").unwrap();
    assert_eq!(trimmed.detail["persona"], "BRICK");
    assert_eq!(
        object.slots["turns"][1]["text"],
        "Then let the wind decide."
    );
    telos.shutdown().await.unwrap();
}

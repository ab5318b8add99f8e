//! The Tool Forge end to end against the Ollama stub (a FAKE BRICK, replies scripted in
//! `fixtures/forge/`) and the real sandbox: a buggy first attempt corrected from its test's
//! failure, a send that forges on a miss and answers in the same cycle, and a forge whose
//! every attempt fails — nothing installed, the image byte-for-byte as before, the cycle
//! suspended with its whole trace — then resumed with the user's edit. Needs root (the
//! sandbox), like `sandbox.rs`.

use serde_json::{Value, json};
use telos_core::forge::Error as ForgeError;
use telos_core::{Config, Edit, Error, Telos};
use telos_tests::ollama_stub::{OllamaStub, Script};
use telos_tests::snapshot;

fn script(fixture: &str) -> Script {
    Script::design_table().with_replies_from(&telos_tests::fixture(&format!("forge/{fixture}")))
}

async fn telos_on(dir: &std::path::Path, stub: &OllamaStub) -> Telos {
    let mut config = Config::from_data_dir(dir);
    config.ollama_host = stub.url();
    config.forge_attempts = 3;
    let telos = Telos::open(config).await.expect("open Telos");
    telos_tests::new_object(telos.image(), "abacus").await;
    telos
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_nothing_understands_forges_the_method_and_answers_with_it() {
    let stub = OllamaStub::start(script("buggy-then-fixed.json"));
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_on(dir.path(), &stub).await;

    let answer = telos
        .image()
        .send("abacus", "total", json!([1, 2, 3]))
        .await
        .expect("forged, then answered");
    assert_eq!(answer, json!(6));

    // Installed with its source, test and provenance.
    let abacus = telos.image().resolve("abacus").unwrap();
    let method = &abacus.methods["total"];
    assert_eq!(method.source, "def run(args):\n    return sum(args)\n");
    assert!(method.test.contains("assert run([1, 2, 3]) == 6"));
    assert_eq!(method.provenance.author, "BRICK");
    assert_eq!(method.provenance.model.as_deref(), Some("mistral:7b"));
    assert_eq!(method.provenance.attempts, Some(2));

    // One cycle holds the whole story: two prompts, two replies, two test runs (the first
    // failing on its assert), the method's run on the send's arguments, two verdicts.
    let cycle = telos
        .image()
        .cycle(method.provenance.cycle.as_deref().unwrap())
        .await
        .unwrap();
    let ops: Vec<&str> = cycle.steps.iter().map(|s| s.op.as_str()).collect();
    assert_eq!(
        ops,
        [
            "prompt",
            "reply",
            "code",
            "sandbox",
            "verdict",
            "prompt",
            "reply",
            "code",
            "sandbox",
            "sandbox",
            "verdict",
            "set-method"
        ],
        "{ops:?}"
    );
    let first_run = &cycle.steps[3].detail;
    assert_eq!(first_run["cause"], json!("exited"));
    assert!(
        first_run["stderr"]
            .as_str()
            .unwrap()
            .contains("AssertionError: 7"),
        "{first_run}"
    );
    // BRICK was told why the first attempt failed.
    let second_prompt = cycle.steps[5].detail["text"].as_str().unwrap();
    assert!(
        second_prompt.contains("previous attempt failed")
            && second_prompt.contains("AssertionError"),
        "{second_prompt}"
    );

    // BRICK was held to the reply's shape (Ollama's structured outputs).
    assert_eq!(
        stub.last_format("mistral:7b")["required"],
        json!(["code", "test"])
    );

    // The next send runs the installed method in the sandbox: no forging, no model.
    let chats = stub
        .actions()
        .iter()
        .filter(|a| a.starts_with("chat mistral"))
        .count();
    assert_eq!(chats, 2);
    let again = telos
        .image()
        .send("abacus", "total", json!([10, 20]))
        .await
        .unwrap();
    assert_eq!(again, json!(30));
    assert_eq!(
        stub.actions()
            .iter()
            .filter(|a| a.starts_with("chat mistral"))
            .count(),
        2
    );
    telos.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forge_whose_every_attempt_fails_installs_nothing_and_is_resumed_with_an_edit() {
    let stub = OllamaStub::start(script("always-failing.json"));
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_on(dir.path(), &stub).await;
    let before = snapshot(telos.image());

    let e = telos
        .forge_method("abacus", "total", "return the sum of the numbers in args")
        .await
        .unwrap_err();
    let Error::Forge(ForgeError::ForgeFailed { cycle, why }) = &e else {
        panic!("{e}")
    };
    assert!(why.contains("3 attempt(s) failed"), "{why}");
    // DESIGN invariant 2: the image is exactly as before.
    assert_eq!(snapshot(telos.image()), before);

    // Suspended, with the full trace: three attempts, the second not even JSON.
    let record = telos.image().cycle(cycle).await.unwrap();
    assert!(record.is_suspended());
    let task: telos_core::ForgeTask = serde_json::from_value(record.task.clone().unwrap()).unwrap();
    assert_eq!(task.attempts.len(), 3);
    assert!(task.attempts.iter().all(|a| !a.passed));
    assert!(
        task.attempts[0]
            .why
            .as_deref()
            .unwrap()
            .contains("AssertionError")
    );
    assert!(
        task.attempts[1]
            .why
            .as_deref()
            .unwrap()
            .contains("no JSON object"),
        "{:?}",
        task.attempts[1].why
    );
    assert!(task.attempts[1].runs.is_empty(), "nothing to run");
    assert_eq!(task.attempts[2].runs.len(), 1);
    let view = telos.cycle(cycle).await.unwrap();
    assert_eq!(view.summary.state, telos_core::view::CycleState::Suspended);

    // Attempt 2 never got as far as code and a test: an edit of it is refused up front, and
    // the cycle stays suspended.
    let e = telos
        .resume_forge(
            cycle,
            Some(Edit {
                attempt: 2,
                code: "def run(args):\n    return sum(args)\n".into(),
            }),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Forge(ForgeError::NoTest { attempt: 2, .. })),
        "{e}"
    );
    assert!(telos.image().cycle(cycle).await.unwrap().is_suspended());

    // The user fixes attempt 3's code in the Debugger and resumes: the test passes, the
    // method is installed, and the old cycle is marked resumed by the new one.
    let edited = telos
        .resume_forge(
            cycle,
            Some(Edit {
                attempt: 3,
                code: "def run(args):\n    return sum(args)\n".into(),
            }),
        )
        .await
        .unwrap();
    assert!(edited.installed);
    assert_eq!(edited.task.attempts.len(), 4);
    assert!(edited.task.attempts[3].edited && edited.task.attempts[3].passed);
    let abacus = telos.image().resolve("abacus").unwrap();
    assert_eq!(
        abacus.methods["total"].provenance.author,
        "user (after BRICK)"
    );
    assert_eq!(
        telos
            .image()
            .send("abacus", "total", json!([2, 2]))
            .await
            .unwrap(),
        json!(4)
    );
    let old = telos.image().cycle(cycle).await.unwrap();
    assert!(!old.is_suspended());
    assert_eq!(
        serde_json::to_value(&old.resolution).unwrap(),
        json!({"kind": "resumed", "cycle": edited.cycle.id})
    );
    // Resumed once only.
    assert!(telos.resume_forge(cycle, None).await.is_err());
    telos.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miss_with_ollama_offline_says_it_does_not_understand_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::from_data_dir(dir.path());
    config.ollama_host = "http://127.0.0.1:9".into();
    // Ollama alone: with the embedded runtime BRICK would forge it (tests/llm does).
    config.llm = telos_core::scheduler::Mode::Ollama;
    let telos = Telos::open(config).await.unwrap();
    let e = telos
        .image()
        .send("ALFRED", "fly", Value::Null)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("'ALFRED' does not understand 'fly'") && e.contains("ollama serve"),
        "{e}"
    );
    telos.shutdown().await.unwrap();
}

/// The Playground's path: a line evaluated as a send forges the miss, every step of the forge
/// is told as it happens (what the Playground shows live), and the evaluation is a cycle with
/// its answer; a failed forge's evaluation names the suspended cycle for the Debugger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_playground_line_forges_a_miss_with_its_progress_told_and_is_recorded_as_a_cycle() {
    use telos_core::ForgeProgress;
    let stub = OllamaStub::start(script("buggy-then-fixed.json"));
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_on(dir.path(), &stub).await;
    let mut progress = telos.subscribe_forge();

    let answered = telos.evaluate("abacus total [1, 2, 3]").await.unwrap();
    assert_eq!(answered.value, Some(json!(6)));
    assert_eq!(answered.error, None);
    let mut told = Vec::new();
    while let Ok(p) = progress.try_recv() {
        told.push(match p {
            ForgeProgress::Writing {
                attempt,
                of,
                persona,
                ..
            } => format!("{persona} writes {attempt}/{of}"),
            ForgeProgress::Testing { attempt, .. } => format!("testing {attempt}"),
            ForgeProgress::Failed { attempt, why, .. } => {
                assert!(why.contains("AssertionError"), "{why}");
                format!("failed {attempt}")
            }
            ForgeProgress::Passed { attempt, .. } => format!("passed {attempt}"),
            ForgeProgress::Suspended { .. } => "suspended".into(),
        });
    }
    assert_eq!(
        told,
        [
            "BRICK writes 1/3",
            "testing 1",
            "failed 1",
            "BRICK writes 2/3",
            "testing 2",
            "passed 2"
        ]
    );
    let record = telos.image().cycle(&answered.cycle).await.unwrap();
    assert_eq!(record.trigger, "playground: abacus total");
    let noted: Vec<&str> = record.steps.iter().map(|s| s.op.as_str()).collect();
    assert_eq!(noted, ["send", "answer"]);
    assert_eq!(record.steps[1].detail["value"], json!(6));

    // Bad lines name what is wrong and record nothing.
    let before = telos.cycles(100).await.unwrap().len();
    let e = telos.evaluate("abacus").await.unwrap_err().to_string();
    assert!(e.contains("receiver selector"), "{e}");
    let e = telos
        .evaluate("abacus total [1,")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("total"), "{e}");
    assert_eq!(telos.cycles(100).await.unwrap().len(), before);
    telos.shutdown().await.unwrap();

    // Every attempt failing: the answer is the error, naming the suspended forge.
    let stub = OllamaStub::start(script("always-failing.json"));
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_on(dir.path(), &stub).await;
    let mut progress = telos.subscribe_forge();
    let answered = telos.evaluate("abacus total [1, 2]").await.unwrap();
    assert_eq!(answered.value, None);
    let suspended = answered
        .suspended
        .clone()
        .expect("the suspended forge is named");
    assert!(answered.error.unwrap().contains(&suspended));
    let mut last = None;
    while let Ok(p) = progress.try_recv() {
        last = Some(p);
    }
    assert!(
        matches!(&last, Some(ForgeProgress::Suspended { cycle, .. }) if *cycle == suspended),
        "{last:?}"
    );
    let shown = telos.cycle(&suspended).await.unwrap();
    assert_eq!(shown.summary.state, telos_core::view::CycleState::Suspended);
    telos.shutdown().await.unwrap();
}

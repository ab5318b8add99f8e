//! Learning against the FAKE Ollama (every reply scripted, ALFRED's verdicts included): the
//! Curator's evaluations, the golden dataset's export, ascension's recommendation (a clear win
//! promotes, a tie does not, a verdict that flips with the order is a tie), promotion and
//! revert as cycles, and bad input — an unwritable dataset path, a candidate that cannot be
//! pulled or loaded, a trainer that crashes — each a clear error with the persona untouched.

mod train;

use serde_json::json;
use telos_core::ascend::ascend::AscensionState;
use telos_core::ascend::dataset;
use telos_core::scheduler::Mode;
use telos_core::{Ascension, Config, Telos};
use telos_tests::ollama_stub::{OllamaStub, Reply, Script, StubModel};

/// The candidate model the stub knows.
const CANDIDATE: &str = "babs-next:1b";
use telos_tests::learn::{BABS_CRITERIA as CRITERIA, babs_scores as scores};

fn script(alfred: Vec<Reply>, babs: usize, candidate: usize) -> Script {
    let mut s = Script::design_table();
    s.models.push(StubModel {
        name: CANDIDATE.into(),
        size: telos_core::scheduler::Bytes::gb(1.0),
        load_ms: 5,
    });
    let said = |who: &str, n: usize| {
        (0..n)
            .map(|i| Reply::Text(format!("{who} answer {i}: kites fly on wind.")))
            .collect()
    };
    s.replies.insert("qwen2:7b".into(), said("incumbent", babs));
    s.replies.insert(
        CANDIDATE.into(),
        said("candidate, longer and better", candidate),
    );
    s.replies.insert("phi3:3.8b".into(), alfred);
    s
}

async fn telos_on(dir: &std::path::Path, stub: &OllamaStub) -> Telos {
    let mut config = Config::from_data_dir(dir.join("data"));
    config.ollama_host = stub.url();
    config.llm = Mode::Ollama;
    config.embedded.models_dir = dir.join("models");
    Telos::open(config).await.expect("open Telos")
}

fn scored(overall: u8, why: &str) -> Reply {
    Reply::Text(
        json!({"scores": scores(overall), "overall": overall, "rationale": why}).to_string(),
    )
}

fn pair(better: &str, first: u8, second: u8) -> Reply {
    Reply::Text(
        json!({"first": scores(first), "second": scores(second), "better": better,
               "rationale": format!("{better} is better")})
        .to_string(),
    )
}

/// `n` golden exchanges of BABS's, staged as evaluations scored 5 (one cycle).
pub(crate) async fn seed_golden(telos: &Telos, n: usize) {
    telos_tests::learn::seed_golden(telos, n, n).await;
}

/// A data dir under `dir` whose BABS has `n` golden exchanges (staged with Telos closed after):
/// how many held-out prompts they give.
async fn seeded(dir: &std::path::Path, n: usize) -> usize {
    let probe = OllamaStub::start(script(vec![], 0, 0));
    let telos = telos_on(dir, &probe).await;
    seed_golden(&telos, n).await;
    let k = held_out(&telos);
    telos.shutdown().await.unwrap();
    k
}

/// How many held-out prompts BABS's golden dataset has.
fn held_out(telos: &Telos) -> usize {
    let golden = telos.golden("BABS", 4.0).unwrap().golden;
    dataset::split(&golden).held_out.len()
}

async fn ascend(telos: &Telos) -> telos_core::Result<Ascension> {
    telos.ascend("BABS", CANDIDATE, 4.0, |_| {}).await
}

fn model_of(telos: &Telos, persona: &str) -> String {
    telos.image().resolve(persona).unwrap().slots["model"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_curator_judges_each_exchange_once_as_an_evaluation_linked_to_what_it_judged() {
    let stub = OllamaStub::start(script(
        vec![scored(5, "accurate and sourced"), scored(2, "no source")],
        2,
        0,
    ));
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_on(dir.path(), &stub).await;
    for q in ["What do kites need?", "Who flew the first kite?"] {
        let mut rx = telos.chat("BABS", q).unwrap();
        while rx.recv().await.is_some() {}
    }
    let curated = telos.curate(Some("BABS"), 8, 4.0, |_| {}).await.unwrap();
    assert_eq!((curated.judged, curated.golden, curated.failed), (2, 1, 0));
    let cycle = telos
        .image()
        .cycle(curated.cycle.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(cycle.trigger, "curate BABS");
    let view = telos.golden("BABS", 4.0).unwrap();
    assert_eq!((view.evaluated, view.waiting, view.golden.len()), (2, 0, 1));
    let best = &view.golden[0];
    assert_eq!(best.overall, 5);
    assert_eq!(best.rationale, "accurate and sourced");
    assert_eq!(best.messages[1].content, "What do kites need?");
    let mut criteria: Vec<&str> = best.scores.keys().map(String::as_str).collect();
    criteria.sort_by_key(|c| CRITERIA.iter().position(|k| k == c));
    assert_eq!(
        criteria, CRITERIA,
        "one score per criterion of BABS's rubric"
    );
    let object = telos.image().resolve(&best.id).unwrap();
    let babs = telos.image().resolve("BABS").unwrap();
    assert_eq!(object.links["judged"], std::slice::from_ref(&babs.id));
    assert_eq!(view.performance.len(), 1);
    assert!((view.performance[0].mean - 3.5).abs() < 1e-9);
    // Judged once: a second pass finds nothing new.
    let again = telos.curate(Some("BABS"), 8, 4.0, |_| {}).await.unwrap();
    assert_eq!((again.judged, again.cycle), (0, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verdict_the_judge_cannot_give_leaves_the_exchange_waiting() {
    let stub = OllamaStub::start(script(vec![Reply::Text("five stars".into())], 1, 0));
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_on(dir.path(), &stub).await;
    let mut rx = telos.chat("BABS", "What do kites need?").unwrap();
    while rx.recv().await.is_some() {}
    let curated = telos.curate(None, 8, 4.0, |_| {}).await.unwrap();
    assert_eq!((curated.judged, curated.failed, curated.waiting), (0, 1, 1));
    assert!(
        curated.errors[0].contains("not the JSON asked for"),
        "{:?}",
        curated.errors
    );
    assert!(telos.golden("BABS", 4.0).unwrap().golden.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clear_win_is_recommended_promotes_as_one_cycle_and_reverts() {
    let dir = tempfile::tempdir().unwrap();
    // Enough golden rows for at least four held-out prompts (the split is by content hash).
    let n = 100;
    let k = seeded(dir.path(), n).await;
    assert!(k >= 4, "{k} held-out prompts");
    // The candidate wins with either order: first when it is shown first, second after.
    let alfred = (0..k)
        .flat_map(|_| [pair("first", 5, 3), pair("second", 3, 5)])
        .collect();
    let stub = OllamaStub::start(script(alfred, k, k));
    let telos = telos_on(dir.path(), &stub).await;
    let a = ascend(&telos).await.unwrap();
    let r = &a.report;
    assert_eq!((r.wins, r.ties, r.losses, r.flipped), (k as u32, 0, 0, 0));
    assert!(r.low > 0.5 && r.recommend, "{}", r.why);
    assert!(r.p_value < 0.13, "{}", r.p_value);
    assert!(
        r.criteria.iter().all(|c| (c.change - 2.0).abs() < 1e-9),
        "{:?}",
        r.criteria
    );
    // Every win went to the longer answer (the candidate's).
    assert_eq!(r.length_bias, Some(1.0));
    assert!(r.fit.fits, "{:?}", r.fit);
    assert_eq!(a.state, AscensionState::Pending);
    assert_eq!(a.candidate, "BABS candidate");
    assert_eq!(model_of(&telos, "BABS candidate"), CANDIDATE);
    assert_eq!(
        model_of(&telos, "BABS"),
        "qwen2:7b",
        "nothing changes before approval"
    );

    let approved = telos.approve_ascension(&a.name).await.unwrap();
    assert_eq!(approved.state, AscensionState::Approved);
    assert_eq!(model_of(&telos, "BABS"), CANDIDATE);
    let promoted = &telos.cycles(1).await.unwrap()[0];
    assert_eq!(promoted.trigger, format!("promoted BABS to {CANDIDATE}"));
    let route = telos.scheduler().route("BABS").await.unwrap();
    assert_eq!(
        route.model, CANDIDATE,
        "the scheduler's persona set follows"
    );
    // The candidate clone stays as the lineage's record.
    assert!(telos.image().resolve("BABS candidate").is_ok());
    assert!(
        telos.approve_ascension(&a.name).await.is_err(),
        "approved once"
    );

    let reverted = telos.revert_ascension("BABS").await.unwrap();
    assert_eq!(reverted.state, AscensionState::Reverted);
    assert_eq!(model_of(&telos, "BABS"), "qwen2:7b");
    let lineage = telos.lineage("BABS").unwrap();
    let actions: Vec<&str> = lineage.steps.iter().map(|s| s.action.as_str()).collect();
    assert_eq!(actions, ["promoted", "reverted"]);
    let err = telos
        .revert_ascension("BABS")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no earlier model"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tie_is_not_recommended_and_a_verdict_that_flips_with_the_order_is_a_tie() {
    let dir = tempfile::tempdir().unwrap();
    let k = seeded(dir.path(), 100).await;

    // Ties, honestly.
    let alfred = (0..k)
        .flat_map(|_| [pair("tie", 4, 4), pair("tie", 4, 4)])
        .collect();
    let stub = OllamaStub::start(script(alfred, k, k));
    let telos = telos_on(dir.path(), &stub).await;
    let a = ascend(&telos).await.unwrap();
    assert_eq!(
        (a.report.wins, a.report.ties, a.report.losses),
        (0, k as u32, 0)
    );
    assert!(
        !a.report.recommend && a.report.low < 0.5,
        "{}",
        a.report.why
    );
    assert_eq!(a.report.length_bias, None);
    assert!((a.report.p_value - 1.0).abs() < 1e-12);
    telos.reject_ascension(&a.name).await.unwrap();
    assert_eq!(model_of(&telos, "BABS"), "qwen2:7b");
    telos.shutdown().await.unwrap();

    // A judge that always prefers what it reads first: every pair flips, so every pair ties.
    let alfred = (0..k)
        .flat_map(|_| [pair("first", 5, 3), pair("first", 5, 3)])
        .collect();
    let stub = OllamaStub::start(script(alfred, k, k));
    let telos = telos_on(dir.path(), &stub).await;
    let a = ascend(&telos).await.unwrap();
    assert_eq!(a.candidate, "BABS candidate 2");
    assert_eq!(
        (a.report.wins, a.report.ties, a.report.flipped),
        (0, k as u32, k as u32)
    );
    assert!(!a.report.recommend);
    // Half its decisive verdicts went to the longer answer, half to the shorter.
    assert_eq!(a.report.length_bias, Some(0.5));
    // Scores average over both orders: no criterion changes.
    assert!(a.report.criteria.iter().all(|c| c.change.abs() < 1e-9));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_error_and_the_persona_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let stub = OllamaStub::start(script(vec![], 0, 0));
    let telos = telos_on(dir.path(), &stub).await;
    seed_golden(&telos, 20).await;
    let before = telos.image().resolve("BABS").unwrap();
    let objects = telos.image().len();

    // A dataset path that cannot be written: named, and nothing left behind.
    let bad = dir.path().join("no such folder/babs.jsonl");
    let err = telos
        .export_dataset("BABS", 4.0, &bad)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no such folder/babs.jsonl") && err.contains("cannot be written"),
        "{err}"
    );
    assert!(!dir.path().join("no such folder").exists());
    // A good one: the whole, and the split beside it.
    let good = dir.path().join("babs.jsonl");
    let out = telos.export_dataset("BABS", 4.0, &good).unwrap();
    assert_eq!(out.rows, 20);
    assert_eq!(out.train_rows + out.held_out_rows, 20);
    assert!(out.held_out_rows >= 1 && out.train_rows >= 1);
    let rows = dataset::read_rows(&good).unwrap();
    assert_eq!(rows.len(), 20);
    assert_eq!(rows[0].messages[0].role, "system");
    let again = telos
        .export_dataset("BABS", 4.0, &dir.path().join("again.jsonl"))
        .unwrap();
    assert_eq!(
        std::fs::read(&out.held_out).unwrap(),
        std::fs::read(&again.held_out).unwrap(),
        "the split is deterministic"
    );
    let err = telos
        .export_dataset("BABS", 6.0, &good)
        .unwrap_err()
        .to_string();
    assert!(err.contains("from 1 to 5"), "{err}");

    // A candidate Ollama does not have and cannot pull.
    let err = telos
        .ascend("BABS", "no-such-model:9b", 4.0, |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no-such-model:9b") && err.contains("cannot be pulled"),
        "{err}"
    );
    // A GGUF that is not one.
    let fake = dir.path().join("broken.gguf");
    std::fs::write(&fake, b"not a gguf").unwrap();
    let err = telos
        .ascend("BABS", &fake.display().to_string(), 4.0, |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot be loaded"), "{err}");
    let after = telos.image().resolve("BABS").unwrap();
    assert_eq!(after.version, before.version, "BABS is untouched");
    assert_eq!(
        telos.image().len(),
        objects,
        "no clone, training or ascension was kept"
    );
    assert!(telos.ascensions(Some("BABS")).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promotions_revert_newest_first_and_a_stale_report_cannot_be_approved() {
    const OTHER: &str = "babs-other:2b";
    let dir = tempfile::tempdir().unwrap();
    let k = seeded(dir.path(), 100).await;
    // Three ascensions' worth of clear wins for whichever candidate is asked.
    let alfred = (0..3 * k)
        .flat_map(|_| [pair("first", 5, 3), pair("second", 3, 5)])
        .collect();
    let mut s = script(alfred, 2 * k, 2 * k);
    s.models.push(StubModel {
        name: OTHER.into(),
        size: telos_core::scheduler::Bytes::gb(1.0),
        load_ms: 5,
    });
    s.replies.insert(
        OTHER.into(),
        (0..2 * k)
            .map(|i| {
                Reply::Text(format!(
                    "other answer {i}, the longest of all three answers."
                ))
            })
            .collect(),
    );
    let stub = OllamaStub::start(s);
    let telos = telos_on(dir.path(), &stub).await;
    let to_a = ascend(&telos).await.unwrap();
    let to_other = telos.ascend("BABS", OTHER, 4.0, |_| {}).await.unwrap();
    telos.approve_ascension(&to_a.name).await.unwrap();
    // The second report compared OTHER with qwen2:7b, which BABS no longer thinks with.
    let err = telos
        .approve_ascension(&to_other.name)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("qwen2:7b") && err.contains(CANDIDATE), "{err}");
    assert_eq!(model_of(&telos, "BABS"), CANDIDATE);
    telos.reject_ascension(&to_other.name).await.unwrap();
    let again = telos.ascend("BABS", OTHER, 4.0, |_| {}).await.unwrap();
    assert_eq!(again.incumbent_model, CANDIDATE);
    telos.approve_ascension(&again.name).await.unwrap();
    assert_eq!(model_of(&telos, "BABS"), OTHER);
    // Revert goes back one promotion at a time.
    telos.revert_ascension("BABS").await.unwrap();
    assert_eq!(model_of(&telos, "BABS"), CANDIDATE);
    telos.revert_ascension("BABS").await.unwrap();
    assert_eq!(model_of(&telos, "BABS"), "qwen2:7b");
    assert!(telos.revert_ascension("BABS").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ascension_the_judge_cannot_finish_leaves_no_clone() {
    let dir = tempfile::tempdir().unwrap();
    let probe = OllamaStub::start(script(vec![], 0, 0));
    let telos = telos_on(dir.path(), &probe).await;
    seed_golden(&telos, 20).await;
    let objects = telos.image().len();
    telos.shutdown().await.unwrap();
    // ALFRED answers prose where a verdict is asked.
    let stub = OllamaStub::start(script(vec![Reply::Text("Both fine.".into())], 10, 10));
    let telos = telos_on(dir.path(), &stub).await;
    let err = ascend(&telos).await.unwrap_err().to_string();
    assert!(err.contains("not the JSON asked for"), "{err}");
    assert!(
        telos.image().resolve("BABS candidate").is_err(),
        "the clone is gone"
    );
    assert_eq!(telos.image().len(), objects);
}

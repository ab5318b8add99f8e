//! Learning end to end on the tiny model, with the reference trainer (scripts/setup-trainer
//! installs it): a small scripted history is curated by ALFRED, exported, checked with
//! Hugging Face `datasets` and the model's own chat template, trained for a few steps into a
//! GGUF, and the persona ascends to it — report, approve, swap, revert. What the tiny judge
//! says varies; what must hold whatever it says is checked.

use std::process::Command;

use telos_core::ascend::ascend::AscensionState;

use super::*;

/// The reference trainer's Python (its venv, as setup installs it).
/// A chat answered whole, or cut at the runtime's token limit with what it had said.
fn answered(events: &[ChatEvent]) -> bool {
    matches!(events.last(), Some(ChatEvent::Done { .. }))
        || matches!(events.last(), Some(ChatEvent::Failed { message, partial })
            if message.contains("reached its limit") && !partial.is_empty())
}

fn trainer_python() -> PathBuf {
    let venv = std::env::var_os("TELOS_TRAINER_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/telos-trainer")
        });
    let python = venv.join("bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run scripts/setup-trainer",
        python.display()
    );
    python
}

/// Loads `rows` with `datasets` and renders every row with the base model's chat template:
/// the number of rows rendered.
fn rendered_by_hf(rows: &Path) -> usize {
    let check = r#"
import sys
from datasets import load_dataset
from transformers import AutoTokenizer
rows, gguf = sys.argv[1], sys.argv[2]
data = load_dataset("json", data_files=rows, split="train")
tok = AutoTokenizer.from_pretrained(str(__import__("pathlib").Path(gguf).parent), gguf_file=__import__("pathlib").Path(gguf).name)
n = 0
for row in data:
    text = tok.apply_chat_template(row["messages"], tokenize=False)
    assert row["messages"][-1]["content"].strip() in text, "the reply is not in the rendered row"
    n += 1
print(n)
"#;
    let out = Command::new(trainer_python())
        .arg("-c")
        .arg(check)
        .arg(rows)
        .arg(default_gguf())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curate_export_train_ascend_approve_and_revert_on_the_tiny_model() {
    let dir = tempfile::tempdir().unwrap();
    let models = models_folder(&["SmolLM2-135M-Instruct.Q4_1"]);
    let mut config = Config::from_data_dir(dir.path().join("data"));
    config.llm = Mode::Embedded;
    config.embedded.models_dir = models.path().to_path_buf();
    config.embedded.context = 2048;
    // Room for ALFRED's pairwise verdict (two sets of scores and a rationale, as JSON).
    config.embedded.max_tokens = 384;
    let telos = Telos::open(config).await.expect("open Telos");

    // A small scripted history.
    for q in [
        "What is a kite?",
        "Why does a kite need wind?",
        "What is rain?",
        "How do birds fly?",
        "What is the capital of France?",
        "What is a tree?",
    ] {
        let events = chat_events(&telos, "BABS", q).await;
        // Every chat is answered: a long history is trimmed to the context, not refused.
        assert!(answered(&events), "{q}: {events:?}");
    }
    // A reply cut at its token limit is not an exchange to learn from.
    let waiting = telos.golden("BABS", 1.0).unwrap().waiting;
    assert!(waiting >= 3, "{waiting} of 6 chats were whole");
    let curated = telos.curate(Some("BABS"), 8, 1.0, |_| {}).await.unwrap();
    assert_eq!(
        (curated.judged + curated.failed, curated.golden),
        (waiting, curated.judged)
    );
    assert!(curated.judged >= 2, "{:?}", curated.errors);
    let view = telos.golden("BABS", 1.0).unwrap();
    assert!(view.golden.iter().all(|e| (1..=5).contains(&e.overall)));

    // Export, read by Hugging Face datasets and rendered by the model's own template.
    let path = dir.path().join("babs.jsonl");
    let exported = telos.export_dataset("BABS", 1.0, &path).unwrap();
    assert_eq!(rendered_by_hf(&path), exported.rows as usize);
    assert!(exported.held_out_rows >= 1);

    // A few steps of the reference trainer; the result is an embedded model.
    let trained = telos
        .train("BABS", None, 1.0, 3, |_| {})
        .await
        .expect("the reference trainer runs");
    assert_eq!(trained.steps, 3);
    assert!(trained.losses.iter().all(|l| l.is_finite()));
    // The chat template travelled inside the GGUF: the golden prompt renders the same.
    telos_core::ascend::train::same_template(&default_gguf(), Path::new(&trained.path)).unwrap();

    // Ascend to it: the report, approval (the swap), revert.
    let a = telos.ascend("BABS", "trained", 1.0, |_| {}).await.unwrap();
    assert_eq!(a.candidate_model, trained.model);
    let r = &a.report;
    assert_eq!((r.wins + r.ties + r.losses) as usize, r.pairs.len());
    assert_eq!(r.pairs.len(), exported.held_out_rows as usize);
    assert!(r.low <= r.win_rate && r.win_rate <= r.high);
    assert!(r.fit.fits && r.timing.answering > 0.0 && r.timing.judging > 0.0);
    let approved = telos.approve_ascension(&a.name).await.unwrap();
    assert_eq!(approved.state, AscensionState::Approved);
    let route = telos.scheduler().route("BABS").await.unwrap();
    assert_eq!(
        route.model, trained.model,
        "BABS thinks with its trained model"
    );
    // The trained model answers (three steps at a high rate leave it rambling now and then:
    // a reply cut at the runtime's token limit is the limit at work, as above).
    let events = chat_events(&telos, "BABS", "What is a kite?").await;
    assert!(
        matches!(events.first(), Some(ChatEvent::Started { model: Some(m), fallback: None, .. })
            if *m == trained.model),
        "{events:?}"
    );
    assert!(answered(&events), "{events:?}");
    telos.revert_ascension("BABS").await.unwrap();
    let route = telos.scheduler().route("BABS").await.unwrap();
    assert_ne!(route.model, trained.model, "reverted");
    telos.shutdown().await.unwrap();
}

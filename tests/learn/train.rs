//! Training with a trainer command of the user's (`TELOS_TRAINER`): FAKE trainers here — one
//! that crashes, one that hands back its base model as the "trained" one — so what Telos does
//! around any trainer is checked without Python. The reference trainer runs in the real-model
//! tier (`tests/llm/learn.rs`).

use std::path::Path;

use telos_core::scheduler::Mode;
use telos_core::{Config, Telos, TrainEvent};
use telos_tests::ollama_stub::{OllamaStub, Script};

use crate::seed_golden;

/// The embedded default model's file (scripts/setup installs it).
fn base_gguf() -> std::path::PathBuf {
    let name = telos_core::llama::DEFAULT_MODEL
        .strip_prefix("gguf:")
        .unwrap();
    let path = telos_core::llama::models_dir().join(format!("{name}.gguf"));
    assert!(
        path.is_file(),
        "{} is missing: run scripts/setup",
        path.display()
    );
    path
}

async fn telos_with(dir: &Path, stub: &OllamaStub, trainer: &str) -> Telos {
    let models = dir.join("models");
    std::fs::create_dir_all(&models).unwrap();
    let base = models.join("base.gguf");
    if !base.exists() {
        std::os::unix::fs::symlink(base_gguf(), base).unwrap();
    }
    let script = dir.join("trainer.sh");
    std::fs::write(&script, trainer).unwrap();
    let mut config = Config::from_data_dir(dir.join("data"));
    config.ollama_host = stub.url();
    config.llm = Mode::Ollama;
    config.embedded.models_dir = models;
    config.trainer = Some(format!("sh {}", script.display()));
    Telos::open(config).await.expect("open Telos")
}

/// A FAKE trainer: reads its arguments as the reference trainer's, copies the base model as
/// its result, reports two steps.
const COPIES_ITS_BASE: &str = r#"
while [ $# -gt 0 ]; do
  case "$1" in --base) base=$2;; --out) out=$2;; --name) name=$2;; --data) data=$2;; esac
  shift
done
test -s "$data" || { echo '{"stage": "failed", "error": "no data"}'; exit 2; }
echo '{"stage": "load"}'
echo "a library's warning" >&2
echo '{"step": 1, "steps": 2, "loss": 2.5, "ms": 10}'
echo '{"step": 2, "steps": 2, "loss": 2.0, "ms": 12}'
cp "$base" "$out/$name.gguf"
echo "{\"stage\": \"done\", \"gguf\": \"$out/$name.gguf\"}"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trainer_that_crashes_is_named_with_its_log_and_nothing_is_registered() {
    let dir = tempfile::tempdir().unwrap();
    let stub = OllamaStub::start(Script::design_table());
    let crashes = "echo '{\"stage\": \"train\"}'; echo 'Traceback: boom' >&2; \
                   echo '{\"stage\": \"failed\", \"error\": \"RuntimeError: out of memory\"}'; exit 3";
    let telos = telos_with(dir.path(), &stub, crashes).await;
    seed_golden(&telos, 12).await;
    let before = telos.image().resolve("BABS").unwrap().version;
    let objects = telos.image().len();
    let err = telos
        .train("BABS", Some("gguf:base"), 4.0, 2, |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("RuntimeError: out of memory") && err.contains("log.txt"),
        "{err}"
    );
    let log = err.split("log: ").nth(1).unwrap().trim_end_matches(')');
    let log = std::fs::read_to_string(log).unwrap();
    assert!(log.contains("Traceback: boom"), "{log}");
    let registered: Vec<_> = std::fs::read_dir(dir.path().join("models"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(registered, ["base.gguf"]);
    assert_eq!(telos.image().resolve("BABS").unwrap().version, before);
    assert_eq!(telos.image().len(), objects);
    // An Ollama base cannot be read by the trainer: said before anything runs.
    let err = telos
        .train("BABS", None, 4.0, 2, |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("qwen2:7b") && err.contains("--base gguf:NAME"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trained_model_is_registered_recorded_and_is_the_next_candidate() {
    let dir = tempfile::tempdir().unwrap();
    let stub = OllamaStub::start(Script::design_table());
    let telos = telos_with(dir.path(), &stub, COPIES_ITS_BASE).await;
    seed_golden(&telos, 12).await;
    let mut events = Vec::new();
    let trained = telos
        .train("BABS", Some("gguf:base"), 4.0, 2, |e| events.push(e))
        .await
        .unwrap();
    assert!(
        trained.model.starts_with("gguf:babs-lora-"),
        "{}",
        trained.model
    );
    assert_eq!((trained.steps, trained.losses.clone()), (2, vec![2.5, 2.0]));
    assert!((trained.step_ms - 11.0).abs() < 1e-9);
    let path = Path::new(&trained.path);
    assert!(path.starts_with(dir.path().join("models")) && path.is_file());
    assert_eq!(trained.sha256.len(), 64);
    let stages: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Stage { stage } => Some(stage.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(stages, ["load", "check", "register"]);
    assert!(matches!(events[0], TrainEvent::Started { rows, .. } if rows > 0));
    // The training's data is the train split only.
    let held = telos_core::ascend::dataset::split(&telos.golden("BABS", 4.0).unwrap().golden);
    assert!(
        matches!(events[0], TrainEvent::Started { rows, .. } if rows as usize == held.train.len())
    );
    let record = telos
        .image()
        .resolve(&format!("training {}", trained.cycle.clone().unwrap()));
    assert!(record.is_ok(), "the training is recorded as an object");
    let modelfile =
        std::fs::read_to_string(Path::new(&trained.log).with_file_name("Modelfile")).unwrap();
    assert!(modelfile.starts_with("FROM "), "{modelfile}");
    // Ollama answered (the stub): the model was created there from the GGUF.
    assert_eq!(
        trained.ollama.as_deref(),
        Some(name_of(&trained.model)),
        "{:?}",
        trained.ollama_note
    );
    let tags: serde_json::Value = reqwest_get(&format!("{}/api/tags", stub.url())).await;
    assert!(
        tags["models"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == name_of(&trained.model)),
        "{tags}"
    );
    // `trained` names it as a candidate; the embedded runtime can read it.
    let models = telos.models().await;
    let name = trained.model.clone();
    assert!(
        models.iter().any(|m| m.name == name && m.problem.is_none()),
        "{models:?}"
    );
}

fn name_of(model: &str) -> &str {
    model.strip_prefix("gguf:").unwrap_or(model)
}

async fn reqwest_get(url: &str) -> serde_json::Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

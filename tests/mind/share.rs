//! Model sharing in a dialogue, when the user allows it (`TELOS_DIALOGUE_SHARE`): ROBIN
//! speaks on BRICK's loaded model instead of swapping it for his own; without it, each side
//! speaks with its own.

use telos_core::scheduler::Mode;
use telos_core::{Config, DialogueEvent, Telos};
use telos_tests::ollama_stub::{OllamaStub, Reply};

use super::{run, script, verdict};

async fn dialogue(share: bool) -> (Vec<String>, Vec<String>) {
    let stub = OllamaStub::start(script(
        &["Wind first."],
        &["Joy first."],
        vec![verdict("converged", "both fly"), Reply::Text("Fly.".into())],
    ));
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::from_data_dir(dir.path());
    config.ollama_host = stub.url();
    config.llm = Mode::Ollama;
    config.dialogue_share = share;
    let telos = Telos::open(config).await.unwrap();
    let events = run(&telos, "Should we fly?", 1).await;
    let Some(DialogueEvent::Done { dialogue, .. }) = events.last() else {
        panic!("{events:?}")
    };
    let object = telos.image().resolve(&dialogue.name).unwrap();
    let models = object.slots["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["model"].as_str().unwrap().to_string())
        .collect();
    telos.shutdown().await.unwrap();
    let loads = stub
        .actions()
        .into_iter()
        .filter(|a| a.starts_with("load "))
        .collect();
    (models, loads)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_sharing_allowed_robin_speaks_on_bricks_loaded_model() {
    let (models, loads) = dialogue(true).await;
    assert_eq!(models, ["mistral:7b", "mistral:7b"]);
    assert!(!loads.iter().any(|l| l.contains("gemma2")), "{loads:?}");

    let (models, loads) = dialogue(false).await;
    assert_eq!(models, ["mistral:7b", "gemma2:9b"]);
    assert!(loads.iter().any(|l| l.contains("gemma2")), "{loads:?}");
}

//! The real-model tier: SmolLM2-135M-Instruct (installed by `scripts/setup`) on the embedded
//! llama.cpp runtime, through the real scheduler — no stub anywhere. What a tiny model writes
//! varies; these tests check what must hold whatever it writes.

mod hub;
mod learn;
mod mind;
mod routes;
mod runtime;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use telos_core::llama::{DEFAULT_MODEL, Embedded, EmbeddedConfig, models_dir};
use telos_core::scheduler::{Bytes, KeepAlive, Message, Mode, Persona, Scheduler};
use telos_core::{ChatEvent, Config, Telos};

/// The default model's file, which setup installs.
fn default_gguf() -> PathBuf {
    let name = DEFAULT_MODEL.strip_prefix("gguf:").unwrap();
    let path = models_dir().join(format!("{name}.gguf"));
    assert!(
        path.is_file(),
        "{} is missing: run scripts/setup (it installs the embedded default model)",
        path.display()
    );
    path
}

/// A models folder holding the default model under each of `names` (links, not copies).
fn models_folder(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in names {
        std::os::unix::fs::symlink(default_gguf(), dir.path().join(format!("{name}.gguf")))
            .unwrap();
    }
    dir
}

fn persona(name: &str, model: &str, keep_alive: KeepAlive) -> Persona {
    Persona {
        name: name.into(),
        model: model.into(),
        keep_alive,
        priority: 1,
        size: Bytes(0),
    }
}

/// A scheduler over the embedded runtime reading `dir`, with `budget` of RAM.
fn embedded_scheduler(dir: &Path, budget: Bytes, personas: Vec<Persona>) -> Scheduler {
    let mut config = EmbeddedConfig::new(dir.to_path_buf());
    config.context = 1024;
    config.max_tokens = 64;
    Scheduler::new(Arc::new(Embedded::new(config)), budget, personas)
}

fn ask(text: &str) -> Vec<Message> {
    vec![
        Message::new("system", "You are a helpful assistant. Answer briefly."),
        Message::new("user", text),
    ]
}

/// Telos on the embedded runtime only (`TELOS_LLM=embedded`): every persona falls back to
/// the default model.
async fn telos_embedded(dir: &Path) -> Telos {
    let mut config = Config::from_data_dir(dir);
    config.llm = Mode::Embedded;
    config.embedded.context = 2048;
    // Room for the forge's reply (a tool and its test as JSON); a chat's is cut sooner by
    // the model itself, or at this limit.
    config.embedded.max_tokens = 768;
    config.forge_attempts = 2;
    Telos::open(config).await.expect("open Telos")
}

async fn chat_events(telos: &Telos, persona: &str, text: &str) -> Vec<ChatEvent> {
    let mut rx = telos.chat(persona, text).expect("chat starts");
    let mut out = Vec::new();
    while let Some(e) = rx.recv().await {
        out.push(e);
    }
    out
}

/// A reply's text and the error that ended it, if any.
pub(crate) async fn collect(
    mut stream: telos_core::scheduler::ollama::TokenStream,
) -> (String, Option<String>) {
    let mut text = String::new();
    while let Some(piece) = stream.next().await {
        match piece {
            Ok(p) => text.push_str(&p),
            Err(e) => return (text, Some(e.to_string())),
        }
    }
    (text, None)
}

pub(crate) async fn collect_ok(scheduler: &Scheduler, who: &str, text: &str) -> String {
    let (text, error) = collect(scheduler.chat(who, ask(text)).await.unwrap()).await;
    assert!(
        error.is_none() || error.as_deref().is_some_and(|e| e.contains("limit")),
        "{error:?}"
    );
    text
}

//! Every model of both runtimes, as `telos models ls` shows them.

use serde::{Deserialize, Serialize};
use telos_scheduler::{Runtime, Statuses};

/// One model: Ollama's (installed there) or the embedded runtime's (a GGUF file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ModelView {
    pub name: String,
    /// `ollama` or `embedded`.
    pub runtime: String,
    /// Bytes it takes loaded (embedded: weights plus KV cache) or on disk (Ollama).
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub size: u64,
    pub loaded: bool,
    /// The personas it answers now.
    pub personas: Vec<String>,
    /// Why it cannot be used (a truncated GGUF, no chat template), when it cannot.
    pub problem: Option<String>,
}

impl ModelView {
    /// Ollama's installed models and the embedded runtime's files, with who uses each.
    pub fn all(
        statuses: &Statuses,
        embedded: &[Result<telos_llama::ModelInfo, (String, telos_scheduler::Error)>],
    ) -> Vec<Self> {
        let users = |runtime: Runtime, model: &str| -> Vec<String> {
            statuses
                .routes
                .iter()
                .filter(|r| r.runtime == runtime && r.model == model)
                .map(|r| r.persona.clone())
                .collect()
        };
        let loaded = |runtime: Runtime, model: &str| match runtime {
            Runtime::Ollama => statuses
                .ollama
                .iter()
                .any(|s| s.models.iter().any(|m| m.model == model)),
            Runtime::Embedded => statuses
                .embedded
                .as_ref()
                .is_some_and(|s| s.models.iter().any(|m| m.model == model)),
        };
        // A model installed on several Ollama hosts is listed once.
        let mut installed: Vec<&(String, telos_scheduler::Bytes)> = Vec::new();
        for m in statuses
            .ollama
            .iter()
            .flat_map(|s| s.installed.iter().flatten())
        {
            if !installed.iter().any(|(name, _)| *name == m.0) {
                installed.push(m);
            }
        }
        let mut out: Vec<Self> = installed
            .into_iter()
            .map(|(name, size)| Self {
                name: name.clone(),
                runtime: Runtime::Ollama.to_string(),
                size: size.0,
                loaded: loaded(Runtime::Ollama, name),
                personas: users(Runtime::Ollama, name),
                problem: None,
            })
            .collect();
        for m in embedded {
            out.push(match m {
                Ok(info) => Self {
                    loaded: loaded(Runtime::Embedded, &info.name),
                    personas: users(Runtime::Embedded, &info.name),
                    runtime: Runtime::Embedded.to_string(),
                    size: info.footprint.0,
                    problem: (!info.chat_template).then(|| {
                        "it has no chat template (tokenizer.chat_template): it cannot chat".into()
                    }),
                    name: info.name.clone(),
                },
                Err((name, e)) => Self {
                    name: name.clone(),
                    runtime: Runtime::Embedded.to_string(),
                    size: 0,
                    loaded: false,
                    personas: users(Runtime::Embedded, name),
                    problem: Some(e.to_string()),
                },
            });
        }
        out
    }
}

/// How far a pull is: Ollama's status line (or `fetching`), and bytes when known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PullProgress {
    pub status: String,
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub done: Option<u64>,
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub total: Option<u64>,
}

/// A finished pull: a hub file's place, commit and checksum; an Ollama tag's runtime only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Pulled {
    pub model: String,
    /// `ollama` or `embedded`.
    pub runtime: String,
    pub path: Option<String>,
    pub commit: Option<String>,
    pub sha256: Option<String>,
}

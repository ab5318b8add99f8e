//! The other embedding backend: Ollama's embed API (`POST /api/embed`) with its `all-minilm`
//! model, the same all-MiniLM-L6-v2 served by a local Ollama. Chunks are still sized by the
//! MiniLM tokenizer, so only `tokenizer.json` is needed from the weights dir.
//!
//! Chosen by `TELOS_EMBEDDER=ollama`; `OLLAMA_HOST` (default `http://127.0.0.1:11434`) says
//! where Ollama listens and `TELOS_OLLAMA_EMBED_MODEL` (default `all-minilm`) which model.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use tokenizers::Tokenizer;

use crate::embed::{self, DIM, Embedder};
use crate::error::{Error, Result};

/// Ollama's default address.
pub const DEFAULT_HOST: &str = "http://127.0.0.1:11434";
/// Ollama's name for all-MiniLM-L6-v2.
pub const DEFAULT_MODEL: &str = "all-minilm";

/// Which backend embeds, from the environment (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// MiniLM in candle, in process (the default).
    Local,
    Ollama {
        host: String,
        model: String,
    },
}

impl Backend {
    /// `TELOS_EMBEDDER` = `local` (or unset) | `ollama`; anything else is an error naming it.
    pub fn from_env() -> Result<Self> {
        let var = |name: &str| std::env::var(name).ok();
        Self::parse(
            var("TELOS_EMBEDDER").as_deref(),
            var("OLLAMA_HOST"),
            var("TELOS_OLLAMA_EMBED_MODEL"),
        )
    }

    /// [`Backend::from_env`] from the variables' values; blank counts as unset.
    pub fn parse(
        embedder: Option<&str>,
        host: Option<String>,
        model: Option<String>,
    ) -> Result<Self> {
        let set = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
        match embedder.map(str::trim).filter(|e| !e.is_empty()) {
            None | Some("local") => Ok(Self::Local),
            Some("ollama") => Ok(Self::Ollama {
                host: set(host).unwrap_or_else(|| DEFAULT_HOST.to_owned()),
                model: set(model).unwrap_or_else(|| DEFAULT_MODEL.to_owned()),
            }),
            Some(other) => Err(Error::Embed(format!(
                "TELOS_EMBEDDER={other:?} is not a backend; use \"local\" or \"ollama\""
            ))),
        }
    }

    /// What makes the vectors, for `doctor`.
    pub fn describe(&self) -> String {
        match self {
            Self::Local => embed::MODEL.to_owned(),
            Self::Ollama { host, model } => format!("{model} (Ollama at {host})"),
        }
    }

    /// Loads the backend's embedder (the local weights, or the tokenizer for Ollama).
    pub fn load(&self) -> Result<std::sync::Arc<dyn Embedder>> {
        Ok(match self {
            Self::Local => std::sync::Arc::new(embed::MiniLm::load_default()?),
            Self::Ollama { host, model } => {
                let dir = embed::installed_weights_dir(&["tokenizer.json"])?;
                std::sync::Arc::new(OllamaEmbedder::new(host, model, &dir)?)
            }
        })
    }
}

/// Embeds through a running Ollama.
pub struct OllamaEmbedder {
    /// `HOST/api/embed`
    url: String,
    model: String,
    name: String,
    tokenizer: Tokenizer,
    client: reqwest::Client,
    /// Requests run on their own small runtime: `embed` is called from blocking threads
    /// and from plain code alike. (An `Option` so that drop can let it go without blocking:
    /// the embedder may be dropped on an async thread.)
    runtime: Option<tokio::runtime::Runtime>,
}

#[derive(Deserialize)]
struct EmbedResponse {
    embeddings: Vec<Vec<f32>>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: String,
}

impl OllamaEmbedder {
    /// `host` as `OLLAMA_HOST` gives it (`http://` is assumed when no scheme is given);
    /// `weights` is the dir holding MiniLM's `tokenizer.json` (checked against its pin).
    pub fn new(host: &str, model: &str, weights: &Path) -> Result<Self> {
        let host = host.trim_end_matches('/');
        let host = if host.contains("://") {
            host.to_owned()
        } else {
            format!("http://{host}")
        };
        let tokenizer = embed::load_tokenizer(weights)?;
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| Error::Embed(format!("HTTP client for Ollama: {e}")))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Embed(format!("runtime for Ollama requests: {e}")))?;
        Ok(Self {
            url: format!("{host}/api/embed"),
            name: Backend::Ollama {
                host: host.clone(),
                model: model.to_owned(),
            }
            .describe(),
            model: model.to_owned(),
            tokenizer,
            client,
            runtime: Some(runtime),
        })
    }

    async fn request(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let body = serde_json::json!({ "model": self.model, "input": texts, "truncate": true });
        let response = self.client.post(&self.url).json(&body).send().await.map_err(|e| {
            Error::Embed(format!(
                "Ollama at {} did not answer ({}); start it with `ollama serve` and `ollama pull {}`, or unset TELOS_EMBEDDER to embed locally",
                self.url,
                crate::hub::root_cause(&e),
                self.model
            ))
        })?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| {
            Error::Embed(format!("Ollama at {}: reading the answer: {e}", self.url))
        })?;
        if !status.is_success() {
            let why = serde_json::from_slice::<ErrorResponse>(&bytes)
                .map(|e| e.error)
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned());
            return Err(Error::Embed(format!(
                "Ollama at {} answered {status}: {why}",
                self.url
            )));
        }
        let answer: EmbedResponse = serde_json::from_slice(&bytes).map_err(|e| {
            Error::Embed(format!("Ollama at {}: not an embed answer: {e}", self.url))
        })?;
        if answer.embeddings.len() != texts.len() {
            return Err(Error::Embed(format!(
                "Ollama at {} gave {} embeddings for {} texts",
                self.url,
                answer.embeddings.len(),
                texts.len()
            )));
        }
        answer
            .embeddings
            .into_iter()
            .map(|mut v| {
                if v.len() != DIM {
                    return Err(Error::Embed(format!(
                        "{} gives {}-d vectors; memory needs {DIM}-d (all-MiniLM-L6-v2)",
                        self.model,
                        v.len()
                    )));
                }
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
                v.iter_mut().for_each(|x| *x /= norm);
                Ok(v)
            })
            .collect()
    }
}

impl Drop for OllamaEmbedder {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Embedder for OllamaEmbedder {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let runtime = self.runtime.as_ref().expect("taken only on drop");
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(embed::BATCH) {
            out.extend(runtime.block_on(self.request(batch))?);
        }
        Ok(out)
    }

    fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backend_comes_from_the_environment_with_defaults() {
        assert_eq!(Backend::parse(None, None, None).unwrap(), Backend::Local);
        assert_eq!(
            Backend::parse(Some(" "), None, None).unwrap(),
            Backend::Local
        );
        assert_eq!(
            Backend::parse(Some("ollama"), Some(String::new()), None).unwrap(),
            Backend::Ollama {
                host: DEFAULT_HOST.into(),
                model: DEFAULT_MODEL.into()
            }
        );
        assert_eq!(
            Backend::parse(
                Some("ollama"),
                Some("gpu-box:11434".into()),
                Some("mini".into())
            )
            .unwrap(),
            Backend::Ollama {
                host: "gpu-box:11434".into(),
                model: "mini".into()
            }
        );
        let err = Backend::parse(Some("olama"), None, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"olama\" is not a backend"), "{err}");
    }
}

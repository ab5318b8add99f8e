//! The LLM backend seam and its product implementation, Ollama over HTTP.
//!
//! `ollama-rs` carries the plain calls (`/api/tags`, `/api/generate` to load and unload).
//! `/api/ps` is raw HTTP (ollama-rs has no call for it), and so is the streamed `/api/chat`:
//! ollama-rs 0.3's stream drops a whole network chunk when a UTF-8 character is split across
//! two chunks, and logs and skips Ollama's mid-stream `{"error": …}` lines, so a reply could
//! silently lose text or end without saying why. Ours reassembles lines from bytes and turns
//! each of those into an error.

use std::pin::Pin;

use futures::future::BoxFuture;
use futures::{FutureExt, Stream};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::model::{Bytes, KeepAlive, Runtime};

/// Where Ollama listens unless `OLLAMA_HOST` says otherwise.
pub const DEFAULT_HOST: &str = "http://127.0.0.1:11434";

/// One chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: &str, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// A model Ollama has in memory (`/api/ps`).
#[derive(Debug, Clone, PartialEq)]
pub struct Running {
    pub model: String,
    pub size_vram: Bytes,
}

/// A reply as it streams: pieces of text, then the end (or an error, after which nothing
/// more comes).
pub type TokenStream = Pin<Box<dyn Stream<Item = Result<String>> + Send>>;

/// What the scheduler needs of an LLM server.
pub trait Backend: Send + Sync {
    /// Where it is, for messages.
    fn host(&self) -> &str;
    /// Which runtime it is (whose memory its models take).
    fn runtime(&self) -> Runtime {
        Runtime::Ollama
    }
    /// The models in memory now.
    fn ps(&self) -> BoxFuture<'_, Result<Vec<Running>>>;
    /// Loads `model` and sets its keep-alive; returns once the server says it is loaded.
    fn load<'a>(&'a self, model: &'a str, keep_alive: KeepAlive) -> BoxFuture<'a, Result<()>>;
    /// Asks the server to unload `model` (`keep_alive: 0`).
    fn unload<'a>(&'a self, model: &'a str) -> BoxFuture<'a, Result<()>>;
    /// Installed models and their sizes on disk (a first estimate of their VRAM).
    fn installed(&self) -> BoxFuture<'_, Result<Vec<(String, Bytes)>>>;
    /// Streams `model`'s reply to `messages`.
    /// With `format` (a JSON schema), the reply is JSON of that shape (Ollama's structured
    /// outputs).
    fn chat<'a>(
        &'a self,
        model: &'a str,
        messages: Vec<Message>,
        keep_alive: KeepAlive,
        format: Option<serde_json::Value>,
    ) -> BoxFuture<'a, Result<TokenStream>>;
}

/// Ollama at `host`.
pub struct Ollama {
    host: String,
    client: ollama_rs::Ollama,
    http: reqwest::Client,
}

impl Ollama {
    /// Ollama at `host` (`http://HOST:PORT`; a bare `HOST:PORT` is taken as http).
    pub fn new(host: &str) -> Result<Self> {
        let host = host.trim().trim_end_matches('/');
        let host = if host.contains("://") {
            host.to_string()
        } else {
            format!("http://{host}")
        };
        let url = reqwest::Url::parse(&host).map_err(|e| Error::Offline {
            host: host.clone(),
            reason: format!("not a URL: {e}"),
        })?;
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(3))
            .build()
            .map_err(|e| Error::Offline {
                host: host.clone(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            client: ollama_rs::Ollama::from_url(url),
            host,
            http,
        })
    }

    /// Ollama where `OLLAMA_HOST` says, else [`DEFAULT_HOST`].
    pub fn from_env() -> Result<Self> {
        match std::env::var("OLLAMA_HOST") {
            Ok(h) if !h.trim().is_empty() => Self::new(&h),
            _ => Self::new(DEFAULT_HOST),
        }
    }

    /// Ollama unreachable; the reason is the innermost cause ("Connection refused"), not
    /// reqwest's wrapping of it.
    fn offline(&self, e: impl std::error::Error + 'static) -> Error {
        Error::Offline {
            host: self.host.clone(),
            reason: crate::error::root_cause(&e),
        }
    }

    /// Turns an ollama-rs error into ours: unreachable, a missing model, or Ollama's message.
    fn client_error(&self, model: &str, e: ollama_rs::error::OllamaError) -> Error {
        use ollama_rs::error::OllamaError;
        match e {
            OllamaError::ReqwestError(e) if e.is_connect() || e.is_timeout() => self.offline(e),
            OllamaError::Other(body) => self.answer_error(model, &body),
            OllamaError::InternalError(e) => self.answer_error(model, &e.message),
            other => Error::Ollama {
                host: self.host.clone(),
                message: other.to_string(),
            },
        }
    }

    /// Ollama's `{"error": …}` (or plain text) as our error.
    fn answer_error(&self, model: &str, body: &str) -> Error {
        let message = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| body.trim().to_string());
        if message.contains("not found") {
            Error::ModelMissing {
                host: self.host.clone(),
                model: model.to_string(),
            }
        } else {
            Error::Ollama {
                host: self.host.clone(),
                message,
            }
        }
    }

    /// POSTs `body` to `path`; an answer that is not a success is Ollama's error about
    /// `model`.
    async fn post(&self, path: &str, body: &Value, model: &str) -> Result<reqwest::Response> {
        let response = self
            .http
            .post(format!("{}{path}", self.host))
            .json(body)
            .send()
            .await
            .map_err(|e| self.offline(e))?;
        if !response.status().is_success() {
            let text = response.text().await.unwrap_or_default();
            return Err(self.answer_error(model, &text));
        }
        Ok(response)
    }

    /// Pulls `model` into Ollama (`/api/pull`), calling `progress` with each status line and
    /// its byte counts as they stream.
    pub async fn pull(
        &self,
        model: &str,
        mut progress: impl FnMut(&str, Option<u64>, Option<u64>) + Send,
    ) -> Result<()> {
        let mut response = self
            .post(
                "/api/pull",
                &json!({ "model": model, "stream": true }),
                model,
            )
            .await?;
        let mut buffer = Vec::new();
        let mut last = String::new();
        while let Some(bytes) = response.chunk().await.map_err(|e| self.offline(e))? {
            buffer.extend_from_slice(&bytes);
            while let Some(end) = buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = buffer.drain(..=end).collect();
                let Ok(v) = serde_json::from_slice::<Value>(&line) else {
                    continue;
                };
                if let Some(message) = v.get("error").and_then(Value::as_str) {
                    return Err(Error::Ollama {
                        host: self.host.clone(),
                        message: format!("pulling {model}: {message}"),
                    });
                }
                last = v["status"].as_str().unwrap_or_default().to_string();
                progress(&last, v["completed"].as_u64(), v["total"].as_u64());
            }
        }
        if last != "success" {
            return Err(Error::Ollama {
                host: self.host.clone(),
                message: format!("the pull of {model} ended without success (last: {last:?})"),
            });
        }
        Ok(())
    }

    /// Creates `name` in Ollama from a GGUF file: the file goes up as a blob (unless Ollama
    /// has it already, by its SHA-256), then `/api/create` makes the model of it. The chat
    /// template is the one inside the GGUF.
    pub async fn create_from_gguf(
        &self,
        name: &str,
        path: &std::path::Path,
        sha256: &str,
    ) -> Result<()> {
        let digest = format!("sha256:{sha256}");
        let blob = format!("{}/api/blobs/{digest}", self.host);
        let have = self
            .http
            .head(&blob)
            .send()
            .await
            .map_err(|e| self.offline(e))?;
        if !have.status().is_success() {
            let bytes = tokio::fs::read(path).await.map_err(|e| Error::Ollama {
                host: self.host.clone(),
                message: format!("reading {} to upload it: {e}", path.display()),
            })?;
            let sent = self
                .http
                .post(&blob)
                .body(bytes)
                .send()
                .await
                .map_err(|e| self.offline(e))?;
            if !sent.status().is_success() {
                let text = sent.text().await.unwrap_or_default();
                return Err(self.answer_error(name, &text));
            }
        }
        let file = path.file_name().map_or_else(
            || "model.gguf".to_string(),
            |f| f.to_string_lossy().to_string(),
        );
        self.post(
            "/api/create",
            &json!({ "model": name, "files": { file: digest }, "stream": false }),
            name,
        )
        .await?;
        Ok(())
    }

    async fn keep_alive_request(&self, model: &str, keep_alive: KeepAlive) -> Result<()> {
        let mut request = ollama_rs::generation::completion::request::GenerationRequest::new(
            model.to_string(),
            "",
        );
        request.keep_alive = Some(to_client(keep_alive));
        self.client
            .generate(request)
            .await
            .map(|_| ())
            .map_err(|e| self.client_error(model, e))
    }
}

fn to_client(k: KeepAlive) -> ollama_rs::generation::parameters::KeepAlive {
    use ollama_rs::generation::parameters::{KeepAlive as K, TimeUnit};
    match k {
        KeepAlive::Forever => K::Indefinitely,
        KeepAlive::Zero => K::UnloadOnCompletion,
        KeepAlive::Seconds(s) => K::Until {
            time: s,
            unit: TimeUnit::Seconds,
        },
    }
}

impl Backend for Ollama {
    fn host(&self) -> &str {
        &self.host
    }

    fn ps(&self) -> BoxFuture<'_, Result<Vec<Running>>> {
        async move {
            let response = self
                .http
                .get(format!("{}/api/ps", self.host))
                .send()
                .await
                .map_err(|e| self.offline(e))?;
            let status = response.status();
            let body = response.text().await.map_err(|e| self.offline(e))?;
            if !status.is_success() {
                return Err(self.answer_error("", &body));
            }
            let v: Value = serde_json::from_str(&body).map_err(|e| Error::Ollama {
                host: self.host.clone(),
                message: format!("/api/ps is not JSON: {e}"),
            })?;
            Ok(v["models"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| {
                    Some(Running {
                        model: m
                            .get("model")
                            .or_else(|| m.get("name"))?
                            .as_str()?
                            .to_string(),
                        size_vram: Bytes(
                            m.get("size_vram")
                                .or_else(|| m.get("size"))
                                .and_then(Value::as_u64)
                                .unwrap_or(0),
                        ),
                    })
                })
                .collect())
        }
        .boxed()
    }

    fn load<'a>(&'a self, model: &'a str, keep_alive: KeepAlive) -> BoxFuture<'a, Result<()>> {
        self.keep_alive_request(model, keep_alive).boxed()
    }

    fn unload<'a>(&'a self, model: &'a str) -> BoxFuture<'a, Result<()>> {
        self.keep_alive_request(model, KeepAlive::Zero).boxed()
    }

    fn installed(&self) -> BoxFuture<'_, Result<Vec<(String, Bytes)>>> {
        async move {
            let models = self
                .client
                .list_local_models()
                .await
                .map_err(|e| self.client_error("", e))?;
            Ok(models
                .into_iter()
                .map(|m| (m.name, Bytes(m.size)))
                .collect())
        }
        .boxed()
    }

    fn chat<'a>(
        &'a self,
        model: &'a str,
        messages: Vec<Message>,
        keep_alive: KeepAlive,
        format: Option<serde_json::Value>,
    ) -> BoxFuture<'a, Result<TokenStream>> {
        async move {
            let mut body = json!({
                "model": model,
                "messages": messages,
                "stream": true,
                "keep_alive": keep_alive.to_json(),
            });
            if let Some(format) = format {
                body["format"] = format;
            }
            let response = self.post("/api/chat", &body, model).await?;
            Ok(ndjson_tokens(
                response,
                model.to_string(),
                self.host.clone(),
            ))
        }
        .boxed()
    }
}

/// The pieces of a streamed `/api/chat` reply, read line by line from the raw bytes.
fn ndjson_tokens(response: reqwest::Response, model: String, host: String) -> TokenStream {
    struct Reading {
        response: reqwest::Response,
        buffer: Vec<u8>,
        pending: std::collections::VecDeque<Result<String>>,
        over: bool,
    }
    let start = Reading {
        response,
        buffer: Vec::new(),
        pending: Default::default(),
        over: false,
    };
    let cut = move |reason: String| Error::Cut {
        model: model.clone(),
        reason,
    };
    Box::pin(futures::stream::unfold(start, move |mut r| {
        let cut = cut.clone();
        let host = host.clone();
        async move {
            loop {
                if let Some(item) = r.pending.pop_front() {
                    if item.is_err() {
                        r.over = true;
                        r.pending.clear();
                    }
                    return Some((item, r));
                }
                if r.over {
                    return None;
                }
                match r.response.chunk().await {
                    Ok(Some(bytes)) => {
                        r.buffer.extend_from_slice(&bytes);
                        while let Some(end) = r.buffer.iter().position(|&b| b == b'\n') {
                            let line: Vec<u8> = r.buffer.drain(..=end).collect();
                            match parse_line(&line, &host) {
                                Ok((piece, done)) => {
                                    if let Some(text) = piece {
                                        r.pending.push_back(Ok(text));
                                    }
                                    if done {
                                        r.over = true;
                                        break;
                                    }
                                }
                                Err(e) => {
                                    r.pending.push_back(Err(e));
                                    break;
                                }
                            }
                        }
                    }
                    Ok(None) => {
                        r.over = true;
                        r.pending.push_back(Err(cut(
                            "the stream ended before the reply was done".into()
                        )));
                    }
                    Err(e) => {
                        r.over = true;
                        r.pending
                            .push_back(Err(cut(format!("the connection broke: {e}"))));
                    }
                }
            }
        }
    }))
}

/// One line of a streamed reply: its text, if any, and whether it is the last.
fn parse_line(line: &[u8], host: &str) -> Result<(Option<String>, bool)> {
    let text = std::str::from_utf8(line).map_err(|e| Error::Ollama {
        host: host.to_string(),
        message: format!("a reply line is not UTF-8: {e}"),
    })?;
    if text.trim().is_empty() {
        return Ok((None, false));
    }
    let v: Value = serde_json::from_str(text).map_err(|e| Error::Ollama {
        host: host.to_string(),
        message: format!("a reply line is not JSON ({e}): {}", text.trim()),
    })?;
    if let Some(message) = v.get("error").and_then(Value::as_str) {
        return Err(Error::Ollama {
            host: host.to_string(),
            message: message.to_string(),
        });
    }
    let piece = v["message"]["content"]
        .as_str()
        .or_else(|| v["response"].as_str())
        .filter(|p| !p.is_empty())
        .map(str::to_string);
    Ok((piece, v["done"].as_bool() == Some(true)))
}

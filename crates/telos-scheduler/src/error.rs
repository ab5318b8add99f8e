//! What can go wrong in the scheduler, with the model, persona or input it concerns.

use std::path::PathBuf;

/// A scheduler error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The model is larger than the budget left once pinned models are counted; waiting
    /// cannot help.
    #[error(
        "{model} needs {need} of {} but the budget is {budget}, {pinned} of it held by pinned models: \
         raise the budget ({}) or give the persona a smaller model",
        runtime.memory(), runtime.budget_var()
    )]
    NeverFits {
        runtime: crate::Runtime,
        model: String,
        need: crate::Bytes,
        budget: crate::Bytes,
        pinned: crate::Bytes,
    },
    /// A size such as `8GiB` that does not parse.
    #[error("bad size {input:?}: {reason} (write e.g. 8GiB, 7.5GB, 512MiB or a byte count)")]
    BadSize { input: String, reason: String },
    /// A keep-alive such as `5m` that does not parse.
    #[error(
        "bad keep-alive {input:?}: write -1 (forever), 0 (unload at once) or a duration such as 30s, 5m, 1h"
    )]
    BadKeepAlive { input: String },
    /// A trace line that does not parse.
    #[error("{path}:{line}: {reason}")]
    Trace {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// A trace names a persona the scheduler does not know.
    #[error("{path}:{line}: unknown persona {persona:?} (known: {known})")]
    UnknownPersona {
        path: PathBuf,
        line: usize,
        persona: String,
        known: String,
    },
    /// The exact search for the optimum is exponential in the models a trace uses.
    #[error(
        "the optimum's exact search takes at most {max} models; this trace uses {models} (replay the online policies alone with --policy)"
    )]
    TooManyModels { models: usize, max: usize },
    /// A policy name that is not one of ours.
    #[error(
        "unknown policy {0:?} (telos, ollama-default, unload-always, optimum or optimum-no-expiry)"
    )]
    UnknownPolicy(String),
    /// Ollama does not answer.
    #[error(
        "Ollama is not running at {host} ({reason}): start it with `ollama serve` (or the Ollama \
         desktop app), or set OLLAMA_HOST to where it listens"
    )]
    Offline { host: String, reason: String },
    /// No Ollama host of several can run the model (`OLLAMA_HOSTS`), and there is no fallback.
    #[error("no Ollama host can run {model}: {why}")]
    NoHost { model: String, why: String },
    /// The model is not installed in Ollama.
    #[error("model {model} is not installed in Ollama at {host}: run `ollama pull {model}`")]
    ModelMissing { host: String, model: String },
    /// An embedded model that is not in the models folder.
    #[error(
        "no embedded model {model}: put its GGUF file in {dir} (gguf:NAME is NAME.gguf there), \
         or fetch one with `telos models pull hf:OWNER/REPO/FILE.gguf`"
    )]
    EmbeddedMissing { model: String, dir: PathBuf },
    /// A GGUF file the embedded runtime cannot use (truncated, corrupt, no chat template).
    #[error("{model} ({path}) cannot be used: {reason}")]
    BadModel {
        model: String,
        path: PathBuf,
        reason: String,
    },
    /// The embedded runtime failed while running a model.
    #[error("the embedded runtime, running {model}: {message}")]
    Embedded { model: String, message: String },
    /// Ollama answered with an error.
    #[error("Ollama at {host}: {message}")]
    Ollama { host: String, message: String },
    /// A streamed reply broke off before it was complete.
    #[error("the reply from {model} broke off: {reason}")]
    Cut { model: String, reason: String },
    /// Ollama did not confirm a load or unload in time.
    #[error(
        "Ollama at {host} did not confirm {action} of {model} within {secs} s (see `ollama ps`)"
    )]
    NotConfirmed {
        host: String,
        action: &'static str,
        model: String,
        secs: u64,
    },
    /// No persona of that name.
    #[error("no persona named {name:?} (personas: {known})")]
    NoPersona { name: String, known: String },
    /// Reading a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The innermost cause of an error ("Connection refused"): an HTTP client's own message only
/// repeats the URL.
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The scheduler's result type.
pub type Result<T> = std::result::Result<T, Error>;

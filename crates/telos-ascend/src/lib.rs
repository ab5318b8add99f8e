//! Telos learns from its own life. ALFRED judges exchanges against each persona's rubric (its
//! codex's values as criteria) with structured output, and compares two answers with the order
//! swapped ([`judge`]). The Curator, work on the agenda, scores new exchanges from scrapbooks
//! and dialogues as `evaluation` objects ([`curate`], [`evaluation`]); those at or above a
//! threshold are the persona's golden dataset, exported as chat-format JSONL with a
//! deterministic train / held-out split ([`dataset`]). A trainer (the reference one ships in
//! `trainer/train.py`; the user may name another) makes a LoRA of it, merged and converted to
//! GGUF ([`train`]). Ascension clones the persona onto a candidate model, answers the held-out
//! prompts with both, judges each pair twice and reports wins, ties and losses with a Wilson
//! interval and a sign test ([`ascend`]); promotion and revert are one cycle each, and the
//! persona keeps its lineage ([`lineage`]).
//!
//! Like every feature crate it makes every model call through the persona [`Voice`] (and so
//! the scheduler), and never names the core facade; the trainer's result is handed to Ollama
//! (`/api/create`) as a pull would be, not as a model call.
//!
//! [`Voice`]: telos_persona::Voice

pub mod ascend;
pub mod curate;
pub mod dataset;
pub mod evaluation;
pub mod exchange;
pub mod judge;
pub mod lineage;
pub mod rubric;
pub mod stats;
pub mod train;

pub use ascend::{Ascension, AscensionEvent, Criterion, Pair, Report};
pub use curate::{CurateEvent, Curated};
pub use dataset::{Exported, Row};
pub use evaluation::{Evaluation, WeekScore};
pub use exchange::{Exchange, ExchangeSource, Message};
pub use judge::{Judge, PairOutcome, Paired, Scored};
pub use lineage::Lineage;
pub use rubric::Rubric;
pub use train::{TrainEvent, Trained, Trainer};

use std::path::PathBuf;

/// What can go wrong while judging, curating, exporting, training or ascending.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the judge failed: {0}")]
    Judge(String),
    #[error("{persona} has no exchanges scored {min} or more (see `telos golden {persona}`)")]
    NoGolden { persona: String, min: f64 },
    #[error("the score threshold must be from 1 to 5, not {0}")]
    BadThreshold(f64),
    #[error("{} cannot be written: {source}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} cannot be read: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the trainer failed: {0}")]
    Trainer(String),
    #[error("the candidate {model:?} cannot be used: {reason}")]
    Candidate { model: String, reason: String },
    #[error("no ascension {0:?} (see `telos ascend ls`)")]
    NoAscension(String),
    #[error("{ascension} is {state}, so it cannot be {wanted}")]
    AscensionState {
        ascension: String,
        state: String,
        wanted: String,
    },
    #[error("{0} has no earlier model to revert to")]
    NoLineage(String),
    #[error("{persona} has no held-out prompts: its golden dataset has {rows} rows")]
    NoHeldOut { persona: String, rows: usize },
    #[error(transparent)]
    Persona(#[from] telos_persona::Error),
    #[error(transparent)]
    Image(#[from] telos_image::Error),
    #[error(transparent)]
    Scheduler(#[from] telos_scheduler::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

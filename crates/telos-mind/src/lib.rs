//! The mind: what the personas think without being asked one by one. First, Socratic
//! Contrapunto ([`dialogue`]): BRICK and ROBIN argue a question in alternating grounded turns,
//! ALFRED judges each round (converged, continue, impasse) and writes the synthesis, and the
//! whole dialogue is one cycle. Motives and the agenda are to come.
//!
//! Like every feature crate it speaks to models only through the persona [`Voice`] (and so the
//! scheduler), and never names the core facade.
//!
//! [`Voice`]: telos_persona::Voice

pub mod dialogue;
mod record;

pub use dialogue::{
    DEFAULT_ROUNDS, DialogueEvent, Ending, JUDGE, Judgement, MAX_ROUNDS, SPEAKERS, TurnRecord,
    Verdict, dialogue,
};

/// What can go wrong before a dialogue starts.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the question is empty")]
    EmptyQuestion,
    #[error("rounds must be from 1 to {max}, not {rounds}")]
    BadRounds { rounds: u32, max: u32 },
    #[error(transparent)]
    Persona(#[from] telos_persona::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

//! The mind: what the personas think without being asked one by one. First, Socratic
//! Contrapunto ([`dialogue`]): BRICK and ROBIN (or any two personas the user picks) argue a
//! question in alternating grounded turns, ALFRED judges each round (converged, continue, impasse) and writes the synthesis, and the
//! whole dialogue is one cycle. Then motives and the agenda ([`agenda`]): detectors over the
//! image and memory find cognitive dissonance and curiosity deficits ([`detect`]), each becomes
//! a `motive` object once, and ALFRED's agenda turns motives into work — a dialogue, a research
//! pass by BABS, a forge, a re-read — run one act (one cycle) at a time within a budget, after
//! the user's requests, as far as the autonomy switch allows.
//!
//! Like every feature crate it speaks to models only through the persona [`Voice`] (and so the
//! scheduler), and never names the core facade.
//!
//! [`Voice`]: telos_persona::Voice

pub mod abstraction;
mod act;
pub mod agenda;
pub mod curator;
pub mod detect;
pub mod dialogue;
pub mod motive;
mod prompts;
mod record;
mod resume;
mod stance;
pub mod work;

pub use agenda::{Agenda, AgendaEvent, Autonomy, Budget, Hold, Planned, Step};
pub use dialogue::{
    DEFAULT_ROUNDS, DialogueEvent, Ending, JUDGE, Judgement, MAX_ROUNDS, SPEAKERS, TurnRecord,
    Verdict, dialogue,
};
pub use motive::{Motive, MotiveKind, Signal};
pub use resume::{DialogueTrace, Thought, resume, trace};
pub use work::{Work, WorkKind, WorkState};

/// What can go wrong before a dialogue starts.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the question is empty")]
    EmptyQuestion,
    #[error("rounds must be from 1 to {max}, not {rounds}")]
    BadRounds { rounds: u32, max: u32 },
    #[error("a dialogue needs two different personas, not {0} twice")]
    OneSide(String),
    #[error(transparent)]
    Persona(#[from] telos_persona::Error),
    #[error(transparent)]
    Image(#[from] telos_image::Error),
    #[error("cycle {0} is not a dialogue")]
    NotADialogue(String),
    #[error("the resumed dialogue failed: {0}")]
    Resumed(String),
    #[error("the edited turn is empty")]
    EmptyTurn,
    #[error("cycle {cycle} has no turn {turn}: its dialogue has {have} turns, counted from 0")]
    NoTurn { cycle: String, turn: u32, have: u32 },
    #[error("no work {0:?} on the agenda (see `telos agenda ls`)")]
    NoWork(String),
    #[error("{work} is {state:?}, so it cannot become {wanted:?}")]
    WorkState {
        work: String,
        state: WorkState,
        wanted: WorkState,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

//! The Tool Forge: a message nothing understands is not a dead end. BRICK, through its
//! [`Voice`](telos_persona::Voice), writes a tool (`tool.py` defining `run(args)`) and its own
//! test; the [`Runner`] (the youki sandbox in the product) runs the test; failures go back to
//! BRICK; a passing tool is installed as a method of the receiver, with its source, test and
//! provenance, in one cycle. When every attempt fails the cycle aborts — nothing is installed
//! (DESIGN invariant 2) — and it is kept suspended with its whole story for the Debugger,
//! which can edit an attempt's code and resume from there.
//!
//! ```no_run
//! # async fn demo(voice: telos_persona::Voice) -> telos_forge::Result<()> {
//! use std::sync::Arc;
//! use telos_forge::{Forge, LocatedSandbox};
//!
//! let forge = Forge::new(voice, Arc::new(LocatedSandbox), 3);
//! let forged = forge.forge("ALFRED", "double:", "doubles a number", Some(21.into())).await?;
//! assert_eq!(forged.result, Some(42.into()));
//! # Ok(()) }
//! ```
//!
//! One file per verb: `run.rs` (the attempt loop), `progress.rs` (what a forge is doing, as
//! it happens), `ask.rs` (BRICK's prompt), `reply.rs`
//! (reading its answer), `resume.rs` (the Debugger's resume), `sandbox.rs` (the runner seam),
//! `seams.rs` (the image's Invoker and doesNotUnderstand), `task.rs` (the records).

mod ask;
mod error;
mod progress;
mod reply;
mod resume;
mod run;
mod sandbox;
mod seams;
mod task;
mod text;

use std::sync::Arc;
use std::time::Instant;

use telos_persona::Voice;

pub use error::{Error, Result};
pub use progress::ForgeProgress;
pub use reply::parse_reply;
pub use sandbox::{LocatedSandbox, Runner};
pub use seams::{ForgeOnMiss, RunnerInvoker};
pub use task::{Attempt, Edit, ForgeTask, Forged, RunReport};

/// Attempts BRICK gets before a forge gives up (`TELOS_FORGE_ATTEMPTS`).
pub const DEFAULT_ATTEMPTS: u32 = 3;
/// The persona that writes tools.
pub const FORGER: &str = "BRICK";

/// The forge: BRICK's voice, what runs tools, how many attempts. Cloning is shallow.
#[derive(Clone)]
pub struct Forge {
    voice: Voice,
    runner: Arc<dyn Runner>,
    attempts: u32,
    herald: progress::Herald,
}

impl Forge {
    pub fn new(voice: Voice, runner: Arc<dyn Runner>, attempts: u32) -> Self {
        Self {
            voice,
            runner,
            attempts,
            herald: progress::Herald::default(),
        }
    }

    /// Every forge's progress from now on (whoever started it), as it happens.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<ForgeProgress> {
        self.herald.subscribe()
    }
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

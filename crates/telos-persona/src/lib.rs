//! What a persona is, in one place below every feature that uses one: DESIGN.md's persona
//! table ([`table`], written once), the codex in force and its files ([`Codex`],
//! [`CodexFiles`]: an edit made in the file waits for approval as an amendment), the helpers
//! that find personas in the image, the [`Roster`] that keeps the scheduler thinking with the
//! personas the image holds now, live status (busy), and [`Voice`]: one grounded turn
//! through the scheduler, the only way anything in Telos talks to a model.
//!
//! ```no_run
//! # async fn demo(image: telos_image::Image, memory: telos_memory::Memory,
//! #               scheduler: telos_scheduler::Runtimes) -> telos_persona::Result<()> {
//! use telos_persona::{Roster, Turn, Voice, resolve_persona};
//!
//! telos_persona::awaken(&image).await?; // genesis and the four personas, one cycle
//! let roster = Roster::new(image.clone(), scheduler.clone());
//! let voice = Voice::new(image.clone(), memory, scheduler, roster);
//! let babs = resolve_persona(&image, "BABS")?;
//! let turn = Turn { recall: 4, ..Turn::new("What do kites need?") };
//! println!("{}", voice.say(&babs, turn).await?);
//! # Ok(()) }
//! ```
//!
//! This crate never names the core facade; features above it (the forge, ingest, the mind)
//! are handed a `Voice`.

mod chat;
pub mod codex;
pub mod codex_files;
mod codex_watch;
pub mod concepts;
mod dissonance;
mod error;
mod find;
mod recall;
pub mod roster;
mod status;
pub mod table;
pub mod voice;

pub use chat::{ChatEvent, GROUNDING, HISTORY, MAX_MESSAGE_BYTES, SCRAPBOOK_KEEP, chat};
pub use codex::{Codex, CodexProblem, FieldChange, MAX_PROMPT};
pub use codex_files::{AMENDMENTS, Amendment, CODEX, CodexFiles, CodexReport, WRITTEN};
pub use codex_watch::watch as watch_codex;
pub use concepts::{NAMER, Named, name_concepts};
pub use dissonance::{Dissonance, dissonance, owners};
pub use error::{Error, Result};
pub use find::{is_persona, personas, resolve_persona, slot_text, slot_value};
pub use recall::{MAX_RECALL, recall};
pub use roster::{Roster, of_image};
pub use status::{BusyGuard, Status, StatusChange};
pub use table::{SEEDS, Seed, awaken};
pub use voice::{Grounded, SCRAPBOOK, Turn, Voice};

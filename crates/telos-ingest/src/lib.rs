//! Documents given to a persona, by a drop or through its inbox folder: each file is read,
//! chunked, embedded and remembered as one cycle by episodic memory, with its progress
//! streamed as it goes; then the persona, through its voice, streams a short summary of what
//! it read. Folders are walked; a file that cannot be remembered is reported by name and the
//! rest of the drop goes on.
//!
//! ```no_run
//! # async fn demo(ingest: telos_ingest::Ingest) -> telos_ingest::Result<()> {
//! let mut events = ingest.give("BABS", &["notes/".into()])?;
//! while let Some(event) = events.recv().await {
//!     println!("{event:?}");
//! }
//! # Ok(()) }
//! ```
//!
//! Every drop is a job of the supervisor: Telos closing stops it between files (a file cut
//! short leaves nothing the next open's reconcile does not tidy).

mod drop;
mod error;
mod inbox;
pub mod quarantine;
mod summary;
mod walk;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use telos_image::ObjRef;
use telos_memory::{FileReport, Outcome, Progress};
use telos_persona::{Status, Voice, resolve_persona};
use telos_supervisor::Supervisor;
use tokio::sync::mpsc;

pub use error::{Error, Result};
pub use inbox::{INBOX, InboxEvent, QUIET, make_folders, watch as watch_inbox};

/// Most files one drop may expand to (a folder of folders).
pub const MAX_FILES: usize = 10_000;
/// Documents of one drop that get a summary (the first ones read): a folder dropped should
/// not hold the persona's model for an hour.
pub const SUMMARIES: usize = 3;
/// The persona's slot listing files it could not read (`{path, reason, at}`, newest last).
pub const UNREAD: &str = "unread";
/// Entries kept on the `unread` list.
pub const UNREAD_KEEP: usize = 50;

/// One event of an ingest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum IngestEvent {
    /// The files to read, folders expanded.
    Started { persona: ObjRef, files: Vec<String> },
    /// One file moved on (reading → chunking → embedding n/m → indexing → done or failed).
    File(Progress),
    /// Every file is done.
    Finished(IngestSummary),
    /// After `Finished`: a piece of the persona's short summary of a document it just read.
    Summary { path: String, text: String },
    /// A document's summary is complete.
    SummaryDone { path: String, text: String },
    /// A document could not be summarised (Ollama offline, …); it is remembered all the same.
    SummaryFailed { path: String, message: String },
}

/// What an ingest did, file by file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct IngestSummary {
    pub persona: ObjRef,
    pub remembered: Vec<FileReport>,
    pub failed: Vec<Refused>,
    /// Documents the persona remembers now.
    pub documents: u32,
    /// One line for a toast or a terminal.
    pub message: String,
}

/// A path that could not be remembered, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Refused {
    pub path: String,
    pub reason: String,
    /// The file killed its reader (a bomb, nesting too deep, a reader that overran its time):
    /// the inbox quarantines it rather than read it at every start.
    #[serde(default)]
    pub killed_reader: bool,
}

impl Refused {
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            reason: reason.into(),
            killed_reader: false,
        }
    }
}

impl IngestSummary {
    fn new(
        persona: ObjRef,
        remembered: Vec<FileReport>,
        failed: Vec<Refused>,
        documents: u32,
    ) -> Self {
        let mut summary = Self {
            persona,
            remembered,
            failed,
            documents,
            message: String::new(),
        };
        summary.message = summary.describe();
        summary
    }

    fn describe(&self) -> String {
        let count = |o: Outcome| self.remembered.iter().filter(|r| r.outcome == o).count();
        let chunks: u32 = self
            .remembered
            .iter()
            .filter(|r| r.outcome != Outcome::Unchanged)
            .map(|r| r.chunks)
            .sum();
        let mut parts = vec![format!(
            "{} remembered {} ({})",
            self.persona.name,
            plural(count(Outcome::Added), "new file"),
            plural(chunks as usize, "chunk")
        )];
        if count(Outcome::Replaced) > 0 {
            parts.push(format!("updated {}", count(Outcome::Replaced)));
        }
        if count(Outcome::Unchanged) > 0 {
            parts.push(format!("{} already known", count(Outcome::Unchanged)));
        }
        if !self.failed.is_empty() {
            parts.push(format!("{} failed", self.failed.len()));
        }
        parts.join(", ")
    }
}

/// "1 chunk", "2 chunks".
fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// What ingest needs: the personas' voices (memory and the image come with them), their live
/// status, and the supervisor its jobs run under. Cloning is shallow.
#[derive(Clone)]
pub struct Ingest {
    voice: Voice,
    status: Status,
    supervisor: Supervisor,
}

impl Ingest {
    pub fn new(voice: Voice, status: Status, supervisor: Supervisor) -> Self {
        Self {
            voice,
            status,
            supervisor,
        }
    }

    /// Gives `paths` (files or folders) to `persona` to remember. Checks the persona and that
    /// there are paths now; the files are then remembered one by one as a job, each as its
    /// own cycle, and the returned stream reports their progress and the summaries.
    pub fn give(&self, persona: &str, paths: &[PathBuf]) -> Result<mpsc::Receiver<IngestEvent>> {
        let object = resolve_persona(self.voice.image(), persona)?;
        if paths.is_empty() {
            return Err(Error::NoFiles(object.name.clone()));
        }
        let (tx, rx) = mpsc::channel(256);
        if !self.start(ObjRef::named(&object), paths.to_vec(), tx, None) {
            return Err(Error::Closing(format!("reading files for {}", object.name)));
        }
        Ok(rx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use telos_memory::FileReport;

    #[test]
    fn a_summary_says_what_was_new_updated_known_and_failed() {
        let report = |outcome, chunks| FileReport {
            path: "/f".into(),
            document: "d".into(),
            outcome,
            chunks,
            cycle: None,
        };
        let persona = ObjRef {
            id: "x".into(),
            name: "BABS".into(),
        };
        let cases = [
            (
                vec![report(Outcome::Added, 1)],
                0,
                "BABS remembered 1 new file (1 chunk)",
            ),
            (
                vec![
                    report(Outcome::Added, 3),
                    report(Outcome::Replaced, 2),
                    report(Outcome::Unchanged, 9),
                ],
                1,
                "BABS remembered 1 new file (5 chunks), updated 1, 1 already known, 1 failed",
            ),
            (
                vec![],
                2,
                "BABS remembered 0 new files (0 chunks), 2 failed",
            ),
        ];
        for (remembered, failed, want) in cases {
            let failed = (0..failed)
                .map(|i| Refused::new(format!("/bad{i}"), "no"))
                .collect();
            let summary = IngestSummary::new(persona.clone(), remembered, failed, 0);
            assert_eq!(summary.message, want);
        }
    }
}

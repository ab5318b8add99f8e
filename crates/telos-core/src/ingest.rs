//! Documents given to a persona: each file is read, chunked, embedded and remembered as one
//! cycle by episodic memory, with its progress streamed as it goes. Folders are walked; a
//! file that cannot be remembered is reported by name and the rest of the drop goes on.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use telos_image::ObjectId;
use telos_memory::{FileReport, Memory, Outcome, Progress, Stage};
use tokio::sync::mpsc;

use crate::Telos;
use crate::error::{Error, Result};
use crate::status::Status;
use crate::view::ObjRef;
use crate::world::resolve_persona;

/// Most files one drop may expand to (a folder of folders).
pub const MAX_FILES: usize = 10_000;

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

/// Documents of one drop that get a summary (the first ones read): a folder dropped should
/// not hold the persona's model for an hour.
pub const SUMMARIES: usize = 3;
/// Bytes of a document's text its summary is asked of.
const SUMMARY_EXCERPT: usize = 6_000;

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

impl Telos {
    /// Gives `paths` (files or folders) to `persona` to remember. Checks the persona and that
    /// there are paths now; the files are then remembered one by one in the background, each
    /// as its own cycle, and the returned stream reports their progress.
    pub fn ingest(&self, persona: &str, paths: &[PathBuf]) -> Result<mpsc::Receiver<IngestEvent>> {
        let object = resolve_persona(self.image(), persona)?;
        if paths.is_empty() {
            return Err(Error::NoFiles(object.name.clone()));
        }
        Ok(spawn_ingest(
            self.memory().clone(),
            &self.status,
            ObjRef::named(&object),
            object.id.clone(),
            paths.to_vec(),
            Some(self.scheduler().clone()),
        ))
    }
}

/// Remembers `paths` for a persona in the background, file by file, streaming progress; the
/// persona shows busy until the last file is done. Then, with a `scheduler`, the persona
/// streams a short summary of each new or changed document (the first [`SUMMARIES`]). The
/// drop path and the inbox share it.
pub(crate) fn spawn_ingest(
    memory: Memory,
    status: &Status,
    persona: ObjRef,
    id: ObjectId,
    paths: Vec<PathBuf>,
    scheduler: Option<telos_scheduler::Scheduler>,
) -> mpsc::Receiver<IngestEvent> {
    let busy = status.enter_busy(id.clone());
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(async move {
        let _busy = busy;
        let (files, mut failed) = expand(&paths).await;
        let shown = files.iter().map(|f| f.display().to_string()).collect();
        // A receiver that went away (a closed window) stops nothing: the files are still
        // remembered, so sends below may fail without consequence.
        let _ = tx
            .send(IngestEvent::Started {
                persona: persona.clone(),
                files: shown,
            })
            .await;
        let mut remembered = Vec::new();
        for file in files {
            let progress_tx = tx.clone();
            let progress = move |p: Progress| {
                // A reader that fell behind misses a step, never the end.
                let _ = progress_tx.try_send(IngestEvent::File(p));
            };
            match memory.ingest_file(&id, &file, &progress).await {
                Ok(report) => remembered.push(report),
                Err(e) => {
                    let path = file.display().to_string();
                    let error = e.to_string();
                    tracing::warn!("{} could not remember {path}: {error}", persona.name);
                    let _ = tx
                        .send(IngestEvent::File(Progress {
                            path: path.clone(),
                            stage: Stage::Failed {
                                error: error.clone(),
                            },
                        }))
                        .await;
                    failed.push(Refused {
                        path,
                        reason: error,
                    });
                }
            }
        }
        let documents = memory.document_count(&id) as u32;
        let fresh: Vec<FileReport> = remembered
            .iter()
            .filter(|r| r.outcome != Outcome::Unchanged)
            .take(SUMMARIES)
            .cloned()
            .collect();
        let _ = tx
            .send(IngestEvent::Finished(IngestSummary::new(
                persona.clone(),
                remembered,
                failed,
                documents,
            )))
            .await;
        if let Some(scheduler) = scheduler {
            for report in fresh {
                summarise(memory.image(), &scheduler, &persona, &report, &tx).await;
            }
        }
    });
    rx
}

/// Streams `persona`'s short summary of the document `report` remembered.
async fn summarise(
    image: &telos_image::Image,
    scheduler: &telos_scheduler::Scheduler,
    persona: &ObjRef,
    report: &FileReport,
    tx: &mpsc::Sender<IngestEvent>,
) {
    use futures::StreamExt;
    let path = report.path.clone();
    let mut excerpt = String::new();
    if let Ok(doc) = image.resolve(&report.document) {
        for chunk in doc.links.get(telos_memory::CHUNKS).into_iter().flatten() {
            if excerpt.len() >= SUMMARY_EXCERPT {
                break;
            }
            if let Ok(c) = image.resolve(chunk.as_str())
                && let Some(text) = c.slots.get("text").and_then(|t| t.as_str())
            {
                excerpt.push_str(text);
                excerpt.push('\n');
            }
        }
    }
    let mut cut = SUMMARY_EXCERPT.min(excerpt.len());
    while !excerpt.is_char_boundary(cut) {
        cut -= 1;
    }
    excerpt.truncate(cut);
    let name = std::path::Path::new(&path)
        .file_name()
        .map_or(path.clone(), |n| n.to_string_lossy().into_owned());
    let system = image
        .resolve(&persona.id)
        .ok()
        .map(|o| crate::codex::Codex::of(image, &o).system_prompt)
        .unwrap_or_default();
    let messages = vec![
        telos_scheduler::Message::new("system", system),
        telos_scheduler::Message::new(
            "user",
            format!(
                "You have just read and remembered the document {name}. In two or three \
                 sentences, say what it is about.\n\n{excerpt}"
            ),
        ),
    ];
    let failed = |message: String| IngestEvent::SummaryFailed {
        path: path.clone(),
        message,
    };
    let mut stream = match scheduler.chat(&persona.name, messages).await {
        Ok(s) => s,
        Err(e) => {
            let _ = tx.send(failed(e.to_string())).await;
            return;
        }
    };
    let mut text = String::new();
    while let Some(piece) = stream.next().await {
        match piece {
            Ok(piece) => {
                text.push_str(&piece);
                let event = IngestEvent::Summary {
                    path: path.clone(),
                    text: piece,
                };
                if tx.send(event).await.is_err() {
                    return; // nobody listens any more: stop using the model
                }
            }
            Err(e) => {
                let _ = tx.send(failed(e.to_string())).await;
                return;
            }
        }
    }
    let _ = tx.send(IngestEvent::SummaryDone { path, text }).await;
}

/// Files to read: files as given (made absolute), folders walked in name order (hidden
/// entries skipped), each folder once. What cannot be listed, and a folder linked into
/// itself, is refused by name.
pub(crate) async fn expand(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Refused>) {
    let paths = paths.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut walk = Walk::default();
        for path in &paths {
            let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            walk.visit(&path, &mut Vec::new());
        }
        (walk.files, walk.refused)
    })
    .await
    .unwrap_or_else(|e| {
        let refused = Refused {
            path: String::new(),
            reason: format!("listing the files failed: {e}"),
        };
        (Vec::new(), vec![refused])
    })
}

/// One drop's walk over its paths.
#[derive(Default)]
struct Walk {
    files: Vec<PathBuf>,
    refused: Vec<Refused>,
    /// Folders walked, by real path: one given twice (or inside another given) is read once.
    folders: std::collections::HashSet<PathBuf>,
}

impl Walk {
    fn refuse(&mut self, path: &Path, reason: String) {
        self.refused.push(Refused {
            path: path.display().to_string(),
            reason,
        })
    }

    /// Walks `path`; `within` holds the real paths of the folders it is inside.
    fn visit(&mut self, path: &Path, within: &mut Vec<PathBuf>) {
        if self.files.len() >= MAX_FILES {
            return self.refuse(path, format!("more than {MAX_FILES} files in one drop"));
        }
        // The kernel stops file loops (ELOOP, reported when the file is read).
        let is_dir = std::fs::metadata(path).is_ok_and(|m| m.is_dir());
        if !is_dir {
            self.files.push(path.to_owned());
            return;
        }
        let real = match std::fs::canonicalize(path) {
            Ok(real) => real,
            Err(e) => return self.refuse(path, format!("cannot resolve the folder: {e}")),
        };
        if within.contains(&real) {
            return self.refuse(
                path,
                format!(
                    "a folder loop: this links back to {}, which is being read",
                    real.display()
                ),
            );
        }
        if !self.folders.insert(real.clone()) {
            return;
        }
        if within.len() >= 16 {
            return self.refuse(path, "folders nested deeper than 16 levels".into());
        }
        let dir = match std::fs::read_dir(path) {
            Ok(dir) => dir,
            Err(e) => return self.refuse(path, format!("cannot list the folder: {e}")),
        };
        let mut entries = Vec::new();
        for entry in dir {
            match entry {
                Ok(e) if !e.file_name().to_string_lossy().starts_with('.') => {
                    entries.push(e.path())
                }
                Ok(_) => {}
                Err(e) => self.refuse(path, format!("cannot list an entry of the folder: {e}")),
            }
        }
        entries.sort();
        within.push(real);
        for entry in entries {
            self.visit(&entry, within);
        }
        within.pop();
    }
}

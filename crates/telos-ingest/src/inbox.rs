//! The inbox: a folder per persona under `DATA_DIR/inbox`. A file that appears there is
//! remembered by that persona like a drop, once it has been still for a moment (no writes,
//! the same size and modification time on two looks), so a file being copied in is never
//! read half-written. Files already there when the watch starts are remembered too; what was
//! remembered before is recognised by its bytes and skipped; a file that killed its reader is
//! quarantined (`quarantine.rs`) and not read again until it changes. Removing a file from the
//! inbox forgets nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind, RenameMode};
use notify::{RecursiveMode, Watcher};
use telos_image::{Image, ObjRef};
use telos_persona::{personas, resolve_persona};
use telos_supervisor::Shutdown;
use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::{Ingest, IngestEvent};

/// The inbox's folder in the data dir.
pub const INBOX: &str = "inbox";
/// How long a file must go without a write before it is read.
pub const QUIET: Duration = Duration::from_millis(1000);
/// How often waiting files are looked at.
const TICK: Duration = Duration::from_millis(250);

/// One ingest event of a file that arrived in a persona's inbox folder.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct InboxEvent {
    pub persona: ObjRef,
    pub event: IngestEvent,
}

/// Makes the inbox `dir` and a folder in it per persona.
pub fn make_folders(dir: &Path, image: &Image) -> Result<()> {
    for persona in personas(image) {
        let folder = dir.join(&persona.name);
        std::fs::create_dir_all(&folder).map_err(|e| Error::Inbox {
            path: folder.clone(),
            reason: e.to_string(),
        })?;
    }
    Ok(())
}

/// Watches the inbox `dir` until `shutdown` (a supervisor's service): every file that arrives
/// in a persona's folder, and every file already there, is given to that persona once it is
/// still; each ingest's events go to `events`. `Err` when the folder cannot be watched.
pub async fn watch(
    ingest: Ingest,
    dir: PathBuf,
    events: mpsc::Sender<InboxEvent>,
    shutdown: Shutdown,
) -> std::result::Result<(), String> {
    make_folders(&dir, ingest.voice.image()).map_err(|e| e.to_string())?;
    let (raw_tx, raw_rx) = mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |event| {
        // The watch ends only with the watcher; a send cannot outlive it.
        let _ = raw_tx.send(event);
    })
    .map_err(|e| watch_error(&dir, e))?;
    watcher
        .watch(&dir, RecursiveMode::Recursive)
        .map_err(|e| watch_error(&dir, e))?;
    let mut inbox = Inbox {
        dir: dir.clone(),
        ingest,
        pending: HashMap::new(),
        events,
    };
    // Files that arrived while Telos was closed. Registered after the watch starts, so
    // nothing falls between the two.
    for file in present(&dir) {
        inbox.arrived(file);
    }
    inbox.run(raw_rx, shutdown).await;
    drop(watcher);
    Ok(())
}

fn watch_error(dir: &Path, e: notify::Error) -> String {
    format!("cannot watch the folder {}: {e}", dir.display())
}

/// A file waiting to be still.
struct Pending {
    /// The last write (or arrival) seen.
    touched: Instant,
    /// Size and modification time at the last look.
    seen: Option<(u64, Option<SystemTime>)>,
}

struct Inbox {
    dir: PathBuf,
    ingest: Ingest,
    pending: HashMap<PathBuf, Pending>,
    events: mpsc::Sender<InboxEvent>,
}

impl Inbox {
    async fn run(
        mut self,
        mut raw: mpsc::UnboundedReceiver<notify::Result<notify::Event>>,
        shutdown: Shutdown,
    ) {
        let mut tick = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                () = shutdown.wait() => break,
                event = raw.recv() => match event {
                    Some(Ok(event)) => {
                        for path in arrivals(&event) {
                            self.arrived(path.to_owned());
                        }
                    }
                    Some(Err(e)) => tracing::warn!("inbox watch at {}: {e}", self.dir.display()),
                    None => break,
                },
                _ = tick.tick() => self.ingest_still_files(),
            }
        }
    }

    /// A file appeared or was written: (re)start its wait.
    fn arrived(&mut self, path: PathBuf) {
        if ignored(&path) || persona_folder(&self.dir, &path).is_none() {
            return;
        }
        let pending = self.pending.entry(path).or_insert(Pending {
            touched: Instant::now(),
            seen: None,
        });
        pending.touched = Instant::now();
        pending.seen = None;
    }

    /// Hands every file that has been still for `QUIET` to its persona.
    fn ingest_still_files(&mut self) {
        let mut ready: HashMap<String, Vec<PathBuf>> = HashMap::new();
        self.pending.retain(|path, p| {
            if p.touched.elapsed() < QUIET {
                return true;
            }
            let Ok(meta) = std::fs::metadata(path) else {
                // Gone (moved on, or deleted before it was read): nothing to remember.
                return false;
            };
            let now = (meta.len(), meta.modified().ok());
            if p.seen != Some(now) {
                p.seen = Some(now);
                return true;
            }
            if let Some(name) = persona_folder(&self.dir, path) {
                ready.entry(name).or_default().push(path.clone());
            }
            false
        });
        for (name, files) in ready {
            self.give(&name, files);
        }
    }

    fn give(&self, name: &str, files: Vec<PathBuf>) {
        let object = match resolve_persona(self.ingest.voice.image(), name) {
            Ok(o) => o,
            Err(_) => {
                tracing::warn!(
                    "inbox folder {} is not named after a persona; its files wait there",
                    self.dir.join(name).display()
                );
                return;
            }
        };
        let persona = ObjRef::named(&object);
        let (tx, mut progress) = mpsc::channel(256);
        // A file that killed its reader waits in the inbox's quarantine until it changes.
        if !self
            .ingest
            .start(persona.clone(), files, tx, Some(self.dir.clone()))
        {
            return; // Telos is closing: the files wait for the next start
        }
        let events = self.events.clone();
        self.ingest
            .supervisor
            .job(format!("inbox progress for {}", persona.name), async move {
                while let Some(event) = progress.recv().await {
                    let event = InboxEvent {
                        persona: persona.clone(),
                        event,
                    };
                    // Nobody listening (no window) is fine: the files are remembered regardless.
                    let _ = events.send(event).await;
                }
            });
    }
}

/// The persona folder of `inbox` that `path` is inside (not the folder itself).
fn persona_folder(inbox: &Path, path: &Path) -> Option<String> {
    let mut parts = path.strip_prefix(inbox).ok()?.components();
    let name = parts.next()?.as_os_str().to_str()?.to_owned();
    parts.next()?;
    Some(name)
}

/// The paths an event says were created, written, closed after writing or moved in.
/// Removals are not arrivals: forgetting is never a side effect of tidying the inbox.
fn arrivals(event: &notify::Event) -> &[PathBuf] {
    match event.kind {
        EventKind::Create(_)
        | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any)
        | EventKind::Modify(ModifyKind::Name(RenameMode::To))
        | EventKind::Access(AccessKind::Close(AccessMode::Write)) => &event.paths,
        // A rename inside the inbox: the new name (the second path) is what arrived.
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
            event.paths.get(1..).unwrap_or_default()
        }
        _ => &[],
    }
}

/// Hidden files and the partial files of downloads and editors are never read.
fn ignored(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return true;
    };
    name.starts_with('.')
        || name.ends_with('~')
        || [".part", ".crdownload", ".tmp", ".swp", ".download"]
            .iter()
            .any(|s| name.ends_with(s))
}

/// Every file now inside a persona folder of the inbox (folders are walked by the ingest).
fn present(dir: &Path) -> Vec<PathBuf> {
    let Ok(personas) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    personas
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| std::fs::read_dir(e.path()).ok())
        .flat_map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_and_hidden_files_are_ignored() {
        for name in ["a.part", ".hidden", "draft.txt~", "x.crdownload", "y.tmp"] {
            assert!(ignored(Path::new(name)), "{name}");
        }
        for name in ["notes.md", "report.pdf", "partial.txt"] {
            assert!(!ignored(Path::new(name)), "{name}");
        }
    }

    #[test]
    fn removals_are_not_arrivals() {
        let path = PathBuf::from("/inbox/BRICK/a.txt");
        let event = |kind| notify::Event::new(kind).add_path(path.clone());
        let removed = event(EventKind::Remove(notify::event::RemoveKind::File));
        assert!(arrivals(&removed).is_empty());
        let closed = event(EventKind::Access(AccessKind::Close(AccessMode::Write)));
        assert_eq!(arrivals(&closed), std::slice::from_ref(&path));
        let renamed = notify::Event::new(EventKind::Modify(ModifyKind::Name(RenameMode::Both)))
            .add_path(PathBuf::from("/inbox/BRICK/.a.txt.part"))
            .add_path(path.clone());
        assert_eq!(arrivals(&renamed), [path]);
    }
}

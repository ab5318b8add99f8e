//! The persona set follows the image, live: the scheduler thinks with the personas the image
//! holds now, each as its codex in force says. [`Roster::sync`] brings the scheduler in line
//! whenever anything was committed since it last looked (a cheap check, made before every
//! model call); [`Roster::run`] does it as commits happen and rewrites the codex files of
//! personas that changed, so a persona cloned, deleted or edited in the app or the CLI is
//! known at once and its codex file says what it is.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use telos_image::{Change, ChangeKind, Image, Object, ObjectId};
use telos_scheduler::{Bytes, KeepAlive, Persona, Runtimes};
use telos_supervisor::Shutdown;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use crate::codex::Codex;
use crate::codex_files::CodexFiles;
use crate::find::{is_persona, personas, slot_value};
use crate::table;

/// How long the roster lets a burst of persona changes settle before it looks.
const SETTLE: std::time::Duration = std::time::Duration::from_millis(100);

/// A footprint to assume for a model neither the table nor Ollama has sized yet.
const UNKNOWN_MODEL: f64 = 4.0;

/// Every persona of the image that has a model, as the scheduler sees it: model, keep-alive
/// and priority from its codex in force, and a first footprint (its `vram_estimate_gb`
/// slot, else the table's figure for the model, else 4 GB; the scheduler measures the real
/// one). In name order.
pub fn of_image(image: &Image) -> Vec<Persona> {
    let pairs: Vec<(Arc<Object>, Codex)> = personas(image)
        .into_iter()
        .map(|o| {
            let codex = Codex::of(image, &o);
            (o, codex)
        })
        .collect();
    scheduled(image, &pairs)
}

/// The scheduler's personas of `pairs` (each persona with its codex in force), by name.
fn scheduled(image: &Image, pairs: &[(Arc<Object>, Codex)]) -> Vec<Persona> {
    let mut out: Vec<Persona> = pairs
        .iter()
        .filter(|(_, codex)| !codex.model.is_empty())
        .map(|(o, codex)| {
            let size = slot_value(image, o, "vram_estimate_gb")
                .and_then(|v| v.as_f64())
                .filter(|gb| gb.is_finite() && *gb > 0.0)
                .map(Bytes::gb)
                .or_else(|| table::vram_estimate(&codex.model))
                .unwrap_or(Bytes::gb(UNKNOWN_MODEL));
            Persona {
                name: codex.name.clone(),
                keep_alive: serde_json::from_value(codex.keep_alive.clone())
                    .unwrap_or(KeepAlive::DEFAULT),
                model: codex.model.clone(),
                priority: codex.priority,
                size,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Keeps a scheduler's personas in line with an image. Cloning is shallow.
#[derive(Clone)]
pub struct Roster {
    image: Image,
    scheduler: Runtimes,
    /// What was last seen. A std lock: held only to compare and record, never across an
    /// `.await`.
    seen: Arc<Mutex<Seen>>,
}

#[derive(Default)]
struct Seen {
    /// The image's generation at the last look.
    generation: Option<u64>,
    /// Every persona's codex then.
    codices: Vec<Codex>,
    /// The personas then and everything they delegate to: a change to any of them may change
    /// a persona's codex.
    relevant: HashSet<ObjectId>,
}

impl Roster {
    pub fn new(image: Image, scheduler: Runtimes) -> Self {
        let roster = Self {
            image,
            scheduler,
            seen: Arc::default(),
        };
        roster.sync();
        roster
    }

    /// Brings the scheduler in line with the image if anything was committed since the last
    /// look; true when a persona was added, removed or had its codex changed.
    pub fn sync(&self) -> bool {
        let generation = self.image.generation();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.generation == Some(generation) {
            return false;
        }
        seen.generation = Some(generation);
        let pairs: Vec<(Arc<Object>, Codex)> = personas(&self.image)
            .into_iter()
            .map(|o| {
                let codex = Codex::of(&self.image, &o);
                (o, codex)
            })
            .collect();
        // Not only the codex: a persona's first footprint (`vram_estimate_gb`) counts too.
        let scheduled = scheduled(&self.image, &pairs);
        if scheduled != self.scheduler.personas() {
            self.scheduler.set_personas(scheduled);
        }
        seen.relevant = self.with_ancestors(pairs.iter().map(|(o, _)| o.id.clone()));
        let codices: Vec<Codex> = pairs.into_iter().map(|(_, c)| c).collect();
        let changed = codices != seen.codices;
        seen.codices = codices;
        changed
    }

    /// Whether a committed change may concern a persona: it touched a persona (or something a
    /// persona delegates to) at the last look, or made an object that is a persona now.
    pub fn concerns(&self, change: &Change) -> bool {
        let known = self
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .relevant
            .contains(&change.object);
        known
            || (change.kind != ChangeKind::Deleted
                && self
                    .image
                    .get(&change.object)
                    .is_ok_and(|o| is_persona(&self.image, &o)))
    }

    /// `ids` and every object they delegate to, however far up.
    fn with_ancestors(&self, ids: impl Iterator<Item = ObjectId>) -> HashSet<ObjectId> {
        let mut out = HashSet::new();
        let mut todo: Vec<ObjectId> = ids.collect();
        while let Some(id) = todo.pop() {
            if out.insert(id.clone())
                && let Ok(o) = self.image.get(&id)
            {
                todo.extend(o.parents.iter().cloned());
            }
        }
        out
    }

    /// Every persona's codex at the last look.
    pub fn codices(&self) -> Vec<Codex> {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .codices
            .clone()
    }

    /// Follows the image's commits until `shutdown` (a supervisor's service): the scheduler
    /// takes every persona change at once, and the codex files of changed personas are
    /// rewritten (an edit made in the file itself stays a pending amendment). Commits that
    /// concern no persona (say, a slot set on an object no persona delegates to) cost one
    /// lookup each. Before
    /// it returns it looks once more, so a commit made just before shutdown is not missed.
    pub async fn run(self, files: CodexFiles, shutdown: Shutdown) -> Result<(), String> {
        let mut changes = self.image.subscribe();
        // The codices the files were last brought in line with (a model call may have synced
        // the scheduler meanwhile: the files are judged on their own).
        let mut filed: Option<Vec<Codex>> = None;
        let (mut due, mut stop) = (true, false);
        loop {
            if due || stop {
                self.sync();
                let codices = self.codices();
                if filed.as_ref() != Some(&codices) {
                    match files.scan() {
                        Ok(_) => filed = Some(codices),
                        Err(e) => tracing::warn!("rewriting the codex files: {e}"),
                    }
                }
            }
            if stop {
                return Ok(());
            }
            let first = tokio::select! {
                () = shutdown.wait() => None,
                change = changes.recv() => Some(change),
            };
            due = false;
            // A burst of commits (a drop of many files) is one look.
            for change in first
                .into_iter()
                .chain(std::iter::from_fn(|| match changes.try_recv() {
                    Err(TryRecvError::Empty) => None,
                    other => Some(other.map_err(|e| match e {
                        TryRecvError::Lagged(n) => RecvError::Lagged(n),
                        _ => RecvError::Closed,
                    })),
                }))
            {
                match change {
                    Ok(change) => due |= self.concerns(&change),
                    Err(RecvError::Lagged(_)) => due = true,
                    Err(RecvError::Closed) => stop = true,
                }
            }
            stop |= shutdown.is_set();
            if due && !stop {
                // Let a burst settle: the files and the status can wait a moment, and a model
                // call syncs for itself.
                tokio::select! {
                    () = shutdown.wait() => stop = true,
                    () = tokio::time::sleep(SETTLE) => {}
                }
                loop {
                    match changes.try_recv() {
                        Ok(_) | Err(TryRecvError::Lagged(_)) => {}
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Closed) => {
                            stop = true;
                            break;
                        }
                    }
                }
            }
        }
    }
}

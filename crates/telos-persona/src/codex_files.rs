//! Codex files: each persona's codex as JSON in `DATA_DIR/codex/NAME.json`. The file is a view
//! of the persona — an edit made in the app or the CLI rewrites it — and changing the persona
//! *from the file* needs a human: an edit made in the file becomes a proposed amendment (kept
//! in `DATA_DIR/amendments/`) that the user approves (it commits to the persona as one cycle)
//! or rejects (the file is put back). A malformed file is reported by file and line, and the
//! codex in force stays.
//!
//! To tell the two kinds of edit apart, Telos keeps what it last wrote to each file in
//! `DATA_DIR/.codex-written/NAME.json`: a file that still says that was not edited by hand,
//! so when the persona changes it is simply written again.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use telos_image::ops::{self, Op};
use telos_image::{CycleRecord, Image};
use tokio::sync::broadcast;

use crate::codex::{Codex, CodexProblem, FieldChange};
use crate::error::{Error, Result};
use crate::find::personas;
use crate::table;

/// The codex folder in the data dir.
pub const CODEX: &str = "codex";
/// Pending amendments in the data dir.
pub const AMENDMENTS: &str = "amendments";
/// What Telos last wrote to each codex file.
pub const WRITTEN: &str = ".codex-written";

/// A proposed change to a persona's codex, waiting for a human.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Amendment {
    pub id: String,
    pub persona: String,
    pub changes: Vec<FieldChange>,
    pub proposed: Codex,
}

/// What a scan of the codex folder found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CodexReport {
    pub pending: Vec<Amendment>,
    pub problems: Vec<CodexProblem>,
}

/// The codex, written-codex and amendment folders of a data dir, over its image. Cloning is
/// shallow; every scan's report is also sent to [`CodexFiles::subscribe`]rs.
#[derive(Clone)]
pub struct CodexFiles {
    data_dir: PathBuf,
    image: Image,
    reports: broadcast::Sender<CodexReport>,
    /// Scans take turns, so two (the watch's and the roster's) never propose one edit twice.
    /// A std lock: a scan does no `.await`.
    turn: Arc<Mutex<()>>,
}

impl CodexFiles {
    pub fn new(data_dir: impl Into<PathBuf>, image: Image) -> Self {
        Self {
            data_dir: data_dir.into(),
            image,
            reports: broadcast::channel(16).0,
            turn: Arc::default(),
        }
    }

    /// `DATA_DIR/codex`.
    pub fn dir(&self) -> PathBuf {
        self.data_dir.join(CODEX)
    }

    fn amendments_dir(&self) -> PathBuf {
        self.data_dir.join(AMENDMENTS)
    }

    fn written_dir(&self) -> PathBuf {
        self.data_dir.join(WRITTEN)
    }

    /// Every scan's report from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CodexReport> {
        self.reports.subscribe()
    }

    /// Brings the folder in line with the image and reports what waits for a human:
    /// - a file missing is written (and a file whose persona is gone, unedited, removed);
    /// - a file that still says what Telos last wrote is rewritten when the persona changed;
    /// - a valid file edited by hand that differs from the persona is proposed as an amendment
    ///   (replacing an older proposal for that persona); a malformed one is a problem.
    pub fn scan(&self) -> Result<CodexReport> {
        let _turn = self.turn.lock().unwrap_or_else(|e| e.into_inner());
        let dir = self.dir();
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let mut report = CodexReport::default();
        let mut pending = self.load_amendments();
        // One pass over the image, not one per file: it may hold many thousand objects.
        let personas = personas(&self.image);
        let mut seen = Vec::new();
        for file in self.files()? {
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    report.problems.push(problem(&file, 0, e.to_string()));
                    continue;
                }
            };
            let in_file = match Codex::parse(&file, &text) {
                Ok(c) => c,
                Err(p) => {
                    report.problems.push(p);
                    continue;
                }
            };
            let name = in_file.name.clone();
            seen.push(name.clone());
            let written = self.written(&name);
            let unedited = written.as_ref() == Some(&in_file);
            let Some(persona) = personas.iter().find(|p| p.name == name) else {
                if unedited {
                    // The persona is gone and nobody touched its file: it goes too.
                    self.remove(&name);
                } else {
                    report
                        .problems
                        .push(problem(&file, 1, format!("no persona named {name:?}")));
                }
                continue;
            };
            let in_force = Codex::of(&self.image, persona);
            let old = pending.iter().position(|a| a.persona == name);
            if unedited || in_file == in_force {
                if in_file != in_force {
                    self.write(&in_force)?;
                } else if written.as_ref() != Some(&in_force) {
                    self.remember(&in_force)?;
                }
                if let Some(i) = old {
                    self.drop_amendment(&pending.remove(i).id);
                }
                continue;
            }
            let changes = in_force.changes(&in_file);
            if let Some(i) = old {
                if pending[i].proposed == in_file {
                    if pending[i].changes != changes {
                        pending[i].changes = changes;
                        self.store_amendment(&pending[i])?;
                    }
                    continue;
                }
                self.drop_amendment(&pending.remove(i).id);
            }
            let amendment = Amendment {
                id: ulid::Ulid::new().to_string().to_lowercase(),
                persona: name,
                changes,
                proposed: in_file,
            };
            self.store_amendment(&amendment)?;
            pending.push(amendment);
        }
        for persona in &personas {
            if !seen.contains(&persona.name) && !self.path(&persona.name).exists() {
                self.write(&Codex::of(&self.image, persona))?;
            }
        }
        // Proposals whose file went away are void.
        pending.retain(|a| {
            let live = seen.contains(&a.persona);
            if !live {
                self.drop_amendment(&a.id);
            }
            live
        });
        report.pending = pending;
        self.publish(report.clone());
        Ok(report)
    }

    /// Tells subscribers what a scan found.
    pub(crate) fn publish(&self, report: CodexReport) {
        // Nobody listening (a CLI run) is fine: the report is returned as well.
        let _ = self.reports.send(report);
    }

    /// The pending amendments.
    pub fn amendments(&self) -> Vec<Amendment> {
        self.load_amendments()
    }

    /// Approves amendment `id`: its codex commits to the persona as one cycle. A new model
    /// brings its own first footprint (the table's figure, else none until Ollama measures it).
    pub async fn approve(&self, id: &str) -> Result<CycleRecord> {
        let amendment = self.find(id)?;
        // Checked again as its file was: the stored proposal may have been edited since, and
        // it must still name this persona.
        let proposed = &Codex::parse(
            &self.path(&amendment.persona),
            &amendment.proposed.to_file_text(),
        )
        .map_err(|p| Error::InvalidAmendment {
            id: amendment.id.clone(),
            persona: amendment.persona.clone(),
            problem: p.message,
        })?;
        let persona = self.image.resolve(&amendment.persona)?;
        let changes = Codex::of(&self.image, &persona).changes(proposed);
        let object = persona.id.to_string();
        let mut list: Vec<Op> = changes
            .iter()
            .map(|c| Op::Set {
                object: object.clone(),
                slot: c.field.clone(),
                value: proposed.field(&c.field),
            })
            .collect();
        if changes.iter().any(|c| c.field == "model") {
            let estimate = table::vram_estimate(&proposed.model)
                .map_or(serde_json::Value::Null, |b| (b.0 as f64 / 1e9).into());
            list.push(Op::Set {
                object,
                slot: "vram_estimate_gb".into(),
                value: estimate,
            });
        }
        let trigger = format!(
            "amendment {} to {} approved",
            amendment.id, amendment.persona
        );
        let record = ops::apply(&self.image, &trigger, &list).await?;
        self.remember(proposed)?;
        self.drop_amendment(&amendment.id);
        Ok(record)
    }

    /// Rejects amendment `id`: the codex file is put back to the codex in force.
    pub fn reject(&self, id: &str) -> Result<()> {
        let _turn = self.turn.lock().unwrap_or_else(|e| e.into_inner());
        let amendment = self.find(id)?;
        let persona = self.image.resolve(&amendment.persona)?;
        self.write(&Codex::of(&self.image, &persona))?;
        self.drop_amendment(&amendment.id);
        Ok(())
    }

    fn find(&self, id: &str) -> Result<Amendment> {
        let id = id.trim().to_lowercase();
        let all = self.load_amendments();
        all.iter()
            .find(|a| a.id == id)
            .cloned()
            .ok_or_else(|| Error::NoAmendment {
                id,
                pending: all
                    .iter()
                    .map(|a| a.id.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The codex files, in name order.
    fn files(&self) -> Result<Vec<PathBuf>> {
        let dir = self.dir();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(io(&dir))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        Ok(files)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir().join(format!("{name}.json"))
    }

    /// Writes `codex` to its file, and remembers that Telos wrote it.
    fn write(&self, codex: &Codex) -> Result<()> {
        let path = self.path(&codex.name);
        write_atomically(&path, &codex.to_file_text()).map_err(io(&path))?;
        self.remember(codex)
    }

    /// Records `codex` as what its file says by Telos's hand.
    fn remember(&self, codex: &Codex) -> Result<()> {
        let dir = self.written_dir();
        let path = dir.join(format!("{}.json", codex.name));
        std::fs::create_dir_all(&dir)
            .and_then(|()| write_atomically(&path, &codex.to_file_text()))
            .map_err(io(&path))
    }

    /// What Telos last wrote to `name`'s file, if anything (and it still reads).
    fn written(&self, name: &str) -> Option<Codex> {
        let path = self.written_dir().join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn remove(&self, name: &str) {
        for path in [
            self.path(name),
            self.written_dir().join(format!("{name}.json")),
        ] {
            if let Err(e) = std::fs::remove_file(&path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!("removing {}: {e}", path.display());
            }
        }
    }

    fn load_amendments(&self) -> Vec<Amendment> {
        let Ok(entries) = std::fs::read_dir(self.amendments_dir()) else {
            return Vec::new();
        };
        let mut out: Vec<Amendment> = entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| {
                let text = std::fs::read_to_string(e.path()).ok()?;
                match serde_json::from_str(&text) {
                    Ok(a) => Some(a),
                    Err(err) => {
                        tracing::warn!("ignoring {}: {err}", e.path().display());
                        None
                    }
                }
            })
            .collect();
        out.sort_by(|a: &Amendment, b| a.id.cmp(&b.id));
        out
    }

    fn store_amendment(&self, a: &Amendment) -> Result<()> {
        let dir = self.amendments_dir();
        let path = dir.join(format!("{}.json", a.id));
        let text = serde_json::to_string_pretty(a).expect("an amendment serialises");
        std::fs::create_dir_all(&dir)
            .and_then(|()| write_atomically(&path, &text))
            .map_err(io(&path))
    }

    fn drop_amendment(&self, id: &str) {
        let path = self.amendments_dir().join(format!("{id}.json"));
        if let Err(e) = std::fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("removing {}: {e}", path.display());
        }
    }
}

fn problem(file: &Path, line: u32, message: String) -> CodexProblem {
    CodexProblem {
        file: file.display().to_string(),
        line,
        message,
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes through a temporary file and a rename, so a reader never sees half a file.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

//! Codex files: each persona's identity (name, role, model, system prompt, keep-alive,
//! priority, values) as JSON in `DATA_DIR/codex/NAME.json`, seeded from the image. The codex
//! is the persona's organisation, and changing it needs a human: a valid edit becomes a
//! *proposed amendment* (kept in `DATA_DIR/amendments/`), which the user approves — it then
//! commits to the persona object as one cycle — or rejects, which puts the file back. A
//! malformed codex is reported by file and line, and the codex in force stays.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use telos_image::ops::{self, Op};
use telos_image::{Image, Object};
use telos_scheduler::KeepAlive;

use crate::Telos;
use crate::error::{Error, Result};
use crate::inbox::watch_error;
use crate::view::CycleSummary;
use crate::world::{is_persona, slot_text, slot_value};

/// The codex folder in the data dir.
pub const CODEX: &str = "codex";
/// Pending amendments in the data dir.
pub const AMENDMENTS: &str = "amendments";
/// Longest system prompt.
pub const MAX_PROMPT: usize = 16 * 1024;

/// A persona's codex.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields)]
pub struct Codex {
    pub name: String,
    pub role: String,
    pub model: String,
    pub system_prompt: String,
    /// Ollama's form: `-1` (pinned), `0` (unload at once) or a duration such as `"5m"`.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Unknown))]
    pub keep_alive: Value,
    /// Higher stays loaded longer when VRAM is short.
    pub priority: i32,
    pub values: Vec<String>,
}

/// The fields an amendment may change, in the order they are shown.
const FIELDS: [&str; 6] = [
    "role",
    "model",
    "system_prompt",
    "keep_alive",
    "priority",
    "values",
];

/// One field an amendment changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FieldChange {
    pub field: String,
    /// The values as JSON text (exact).
    pub from: String,
    pub to: String,
}

/// A proposed change to a persona's codex, waiting for a human.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Amendment {
    pub id: String,
    pub persona: String,
    pub changes: Vec<FieldChange>,
    pub proposed: Codex,
}

/// A codex file that could not be read; the codex in force stays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CodexProblem {
    pub file: String,
    pub line: u32,
    pub message: String,
}

/// What a scan of the codex folder found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CodexReport {
    pub pending: Vec<Amendment>,
    pub problems: Vec<CodexProblem>,
}

fn default_prompt(name: &str, role: &str) -> String {
    match name {
        "ALFRED" => "You are ALFRED, the supervisor of Telos: you keep the other personas on task, answer briefly and plainly, and say when a question belongs to BRICK, ROBIN or BABS.".into(),
        "BRICK" => "You are BRICK, the engineer of Telos: you take problems apart into steps, write and check code, and state your assumptions.".into(),
        "ROBIN" => "You are ROBIN, the empathetic voice of Telos: you listen for what the person needs and answer with warmth and care.".into(),
        "BABS" => "You are BABS, the researcher of Telos: you answer factual questions from what you remember, cite sources, and say when you do not know.".into(),
        _ => format!("You are {name}, the {role} persona of Telos."),
    }
}

fn default_values(name: &str) -> Vec<String> {
    let v: &[&str] = match name {
        "ALFRED" => &["clarity", "economy", "oversight"],
        "BRICK" => &["rigour", "working code", "honesty about limits"],
        "ROBIN" => &["care", "patience", "kindness"],
        "BABS" => &["accuracy", "sources", "curiosity"],
        _ => &[],
    };
    v.iter().map(|s| s.to_string()).collect()
}

impl Codex {
    /// The codex in force: the persona object's slots (defaults where a slot is missing).
    pub fn of(image: &Image, persona: &Object) -> Self {
        let slot = |name: &str| slot_value(image, persona, name);
        let text = |name: &str| slot_text(image, persona, name);
        let role = text("role").unwrap_or_default();
        Self {
            name: persona.name.clone(),
            system_prompt: text("system_prompt")
                .unwrap_or_else(|| default_prompt(&persona.name, &role)),
            role,
            model: text("model").unwrap_or_default(),
            keep_alive: slot("keep_alive").unwrap_or(json!("5m")),
            priority: slot("priority")
                .and_then(|v| v.as_i64())
                .unwrap_or(0)
                .clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
            values: slot("values")
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_else(|| default_values(&persona.name)),
        }
    }

    /// Reads a codex file's text; errors name the file and line.
    pub fn parse(file: &Path, text: &str) -> std::result::Result<Self, CodexProblem> {
        let problem = |line: usize, message: String| CodexProblem {
            file: file.display().to_string(),
            line: line as u32,
            message,
        };
        let codex: Codex =
            serde_json::from_str(text).map_err(|e| problem(e.line(), e.to_string()))?;
        let line_of = |field: &str| {
            text.lines()
                .position(|l| l.contains(&format!("\"{field}\"")))
                .map_or(1, |i| i + 1)
        };
        let stem = file.file_stem().map(|s| s.to_string_lossy().to_string());
        if stem.as_deref() != Some(codex.name.as_str()) {
            return Err(problem(
                line_of("name"),
                format!(
                    "name {:?} does not match the file name (a codex cannot rename its persona)",
                    codex.name
                ),
            ));
        }
        if codex.model.trim().is_empty() || codex.model.contains(char::is_whitespace) {
            return Err(problem(
                line_of("model"),
                format!(
                    "model {:?} is not an Ollama model name (e.g. \"mistral:7b\")",
                    codex.model
                ),
            ));
        }
        if let Err(e) = serde_json::from_value::<KeepAlive>(codex.keep_alive.clone()) {
            return Err(problem(line_of("keep_alive"), e.to_string()));
        }
        if !(-100..=100).contains(&codex.priority) {
            return Err(problem(
                line_of("priority"),
                format!("priority {} is outside -100..=100", codex.priority),
            ));
        }
        if codex.system_prompt.trim().is_empty() || codex.system_prompt.len() > MAX_PROMPT {
            return Err(problem(
                line_of("system_prompt"),
                format!("system_prompt must be 1 to {MAX_PROMPT} bytes"),
            ));
        }
        if codex.values.len() > 32 || codex.values.iter().any(|v| v.len() > 500) {
            return Err(problem(
                line_of("values"),
                "values: at most 32, each at most 500 bytes".into(),
            ));
        }
        Ok(codex)
    }

    fn field(&self, name: &str) -> Value {
        let all = serde_json::to_value(self).expect("a codex serialises");
        all[name].clone()
    }

    /// What `proposed` changes against `self`.
    fn changes(&self, proposed: &Codex) -> Vec<FieldChange> {
        FIELDS
            .iter()
            .filter_map(|f| {
                let (from, to) = (self.field(f), proposed.field(f));
                (from != to).then(|| FieldChange {
                    field: f.to_string(),
                    from: from.to_string(),
                    to: to.to_string(),
                })
            })
            .collect()
    }
}

/// The codex and amendment folders of a data dir, over its image. Cloning is cheap.
#[derive(Clone)]
pub(crate) struct Codices {
    pub(crate) data_dir: PathBuf,
    pub(crate) image: Image,
}

impl Codices {
    /// `DATA_DIR/codex`.
    pub(crate) fn codex_dir(&self) -> PathBuf {
        self.data_dir.join(CODEX)
    }

    fn amendments_dir(&self) -> PathBuf {
        self.data_dir.join(AMENDMENTS)
    }

    /// Writes a codex file for every persona that has none (from the image).
    pub(crate) fn seed_codex(&self) -> Result<()> {
        let dir = self.codex_dir();
        let unwritable = |path: &Path| {
            let path = path.to_path_buf();
            move |e| Error::DataDirUnwritable { path, source: e }
        };
        std::fs::create_dir_all(&dir).map_err(unwritable(&dir))?;
        for o in &self.image.objects() {
            if !is_persona(&self.image, o) {
                continue;
            }
            let path = dir.join(format!("{}.json", o.name));
            if !path.exists() {
                write_codex(&path, &Codex::of(&self.image, o)).map_err(unwritable(&path))?;
            }
        }
        Ok(())
    }

    /// Reads every codex file: a valid one that differs from the persona is proposed as an
    /// amendment (replacing an older proposal for that persona); a malformed one is a problem.
    pub(crate) fn scan_codex(&self) -> Result<CodexReport> {
        self.seed_codex()?;
        let mut report = CodexReport::default();
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.codex_dir())
            .map_err(|e| Error::DataDirUnwritable {
                path: self.codex_dir(),
                source: e,
            })?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        let mut pending = self.load_amendments();
        for file in files {
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    report.problems.push(CodexProblem {
                        file: file.display().to_string(),
                        line: 0,
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            let proposed = match Codex::parse(&file, &text) {
                Ok(c) => c,
                Err(p) => {
                    report.problems.push(p);
                    continue;
                }
            };
            let Ok(persona) = &self.image.resolve(&proposed.name) else {
                report.problems.push(CodexProblem {
                    file: file.display().to_string(),
                    line: 1,
                    message: format!("no persona named {:?}", proposed.name),
                });
                continue;
            };
            let current = Codex::of(&self.image, persona);
            let changes = current.changes(&proposed);
            let old = pending.iter().position(|a| a.persona == proposed.name);
            if changes.is_empty() {
                if let Some(i) = old {
                    self.drop_amendment(&pending.remove(i).id);
                }
                continue;
            }
            if let Some(i) = old {
                if pending[i].proposed == proposed {
                    continue;
                }
                self.drop_amendment(&pending.remove(i).id);
            }
            let amendment = Amendment {
                id: ulid::Ulid::new().to_string().to_lowercase(),
                persona: proposed.name.clone(),
                changes,
                proposed,
            };
            self.store_amendment(&amendment)?;
            pending.push(amendment);
        }
        report.pending = pending;
        Ok(report)
    }

    /// The pending amendments.
    pub(crate) fn amendments(&self) -> Vec<Amendment> {
        self.load_amendments()
    }

    /// Rejects amendment `id`: the codex file is put back to the codex in force.
    pub(crate) fn reject_amendment(&self, id: &str) -> Result<()> {
        let amendment = self.find_amendment(id)?;
        let persona = &self.image.resolve(&amendment.persona)?;
        let path = self.codex_dir().join(format!("{}.json", amendment.persona));
        write_codex(&path, &Codex::of(&self.image, persona))
            .map_err(|e| Error::DataDirUnwritable { path, source: e })?;
        self.drop_amendment(id);
        Ok(())
    }

    pub(crate) fn find_amendment(&self, id: &str) -> Result<Amendment> {
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

    fn load_amendments(&self) -> Vec<Amendment> {
        let Ok(entries) = std::fs::read_dir(self.amendments_dir()) else {
            return Vec::new();
        };
        let mut out: Vec<Amendment> = entries
            .flatten()
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
        std::fs::create_dir_all(&dir)
            .and_then(|()| {
                std::fs::write(
                    &path,
                    serde_json::to_string_pretty(a).expect("an amendment serialises"),
                )
            })
            .map_err(|e| Error::DataDirUnwritable { path, source: e })
    }

    pub(crate) fn drop_amendment(&self, id: &str) {
        let path = self.amendments_dir().join(format!("{id}.json"));
        if let Err(e) = std::fs::remove_file(&path) {
            tracing::warn!("removing {}: {e}", path.display());
        }
    }
}

impl Telos {
    pub(crate) fn codices(&self) -> Codices {
        Codices {
            data_dir: self.data_dir.clone(),
            image: self.image().clone(),
        }
    }

    /// `DATA_DIR/codex`.
    pub fn codex_dir(&self) -> PathBuf {
        self.codices().codex_dir()
    }

    /// Writes a codex file for every persona that has none (from the image).
    pub fn seed_codex(&self) -> Result<()> {
        self.codices().seed_codex()
    }

    /// Reads every codex file: a valid one that differs from the persona is proposed as an
    /// amendment (replacing an older proposal for that persona); a malformed one is a problem.
    pub fn scan_codex(&self) -> Result<CodexReport> {
        self.codices().scan_codex()
    }

    /// The pending amendments.
    pub fn amendments(&self) -> Vec<Amendment> {
        self.codices().amendments()
    }

    /// Rejects amendment `id`: the codex file is put back to the codex in force.
    pub fn reject_amendment(&self, id: &str) -> Result<()> {
        self.codices().reject_amendment(id)
    }

    /// Approves amendment `id`: its codex commits to the persona as one cycle, and the
    /// scheduler takes the new model and keep-alive.
    pub async fn approve_amendment(&self, id: &str) -> Result<CycleSummary> {
        let codices = self.codices();
        let amendment = codices.find_amendment(id)?;
        let persona = &self.image.resolve(&amendment.persona)?;
        let current = Codex::of(&self.image, persona);
        let changes = current.changes(&amendment.proposed);
        let mut ops: Vec<Op> = changes
            .iter()
            .map(|c| Op::Set {
                object: persona.id.to_string(),
                slot: c.field.clone(),
                value: amendment.proposed.field(&c.field),
            })
            .collect();
        // A new model has a new footprint: DESIGN.md's figure when the table knows it, else
        // none (the scheduler assumes one until Ollama measures it).
        if changes.iter().any(|c| c.field == "model") {
            let estimate = telos_scheduler::default_personas()
                .into_iter()
                .find(|p| p.model == amendment.proposed.model)
                .map_or(Value::Null, |p| json!(p.size.0 as f64 / 1e9));
            ops.push(Op::Set {
                object: persona.id.to_string(),
                slot: "vram_estimate_gb".into(),
                value: estimate,
            });
        }
        let trigger = format!("amendment {id} to {} approved", amendment.persona);
        let record = ops::apply(&self.image, &trigger, &ops).await?;
        codices.drop_amendment(id);
        self.scheduler()
            .set_personas(crate::personas::of_image(&self.image));
        Ok(CycleSummary::new(&record))
    }
}

/// A running codex watch; it stops when dropped.
pub struct CodexWatch {
    _watcher: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CodexWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Edits settle for this long before the codex folder is read again.
const SETTLE: std::time::Duration = std::time::Duration::from_millis(300);

impl Telos {
    /// Seeds and reads the codex folder, then reads it again after every change to it; each
    /// reading's report (pending amendments, malformed files) comes on the stream.
    pub fn watch_codex(&self) -> Result<(CodexWatch, tokio::sync::mpsc::Receiver<CodexReport>)> {
        use notify::Watcher;
        let codices = self.codices();
        codices.seed_codex()?;
        let dir = codices.codex_dir();
        let (raw_tx, mut raw_rx) = tokio::sync::mpsc::unbounded_channel();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                // The receiver is gone only when the watch is: nothing to tell then.
                let _ = raw_tx.send(event.is_ok());
            })
            .map_err(|e| watch_error(&dir, e))?;
        watcher
            .watch(&dir, notify::RecursiveMode::NonRecursive)
            .map_err(|e| watch_error(&dir, e))?;
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        let task = tokio::spawn(async move {
            loop {
                let report = codices.scan_codex().unwrap_or_else(|e| CodexReport {
                    pending: codices.amendments(),
                    problems: vec![CodexProblem {
                        file: codices.codex_dir().display().to_string(),
                        line: 0,
                        message: e.to_string(),
                    }],
                });
                if tx.send(report).await.is_err() || raw_rx.recv().await.is_none() {
                    return;
                }
                // Let a burst of writes (an editor's save) settle.
                tokio::time::sleep(SETTLE).await;
                while raw_rx.try_recv().is_ok() {}
            }
        });
        Ok((
            CodexWatch {
                _watcher: watcher,
                task,
            },
            rx,
        ))
    }
}

fn write_codex(path: &Path, codex: &Codex) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(codex).expect("a codex serialises") + "\n";
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

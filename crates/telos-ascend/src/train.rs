//! Training: a trainer process makes a LoRA of a persona's golden dataset, merged into its
//! base model and converted to GGUF; Telos registers the file as an embedded model
//! (`gguf:NAME` in the models folder) once its chat template renders a golden prompt byte for
//! byte as the base's does.
//!
//! The trainer is a command: by default the reference trainer shipped in `trainer/train.py`
//! (written into the data dir, run by the trainer venv's Python, installed by
//! `scripts/setup-trainer`); `TELOS_TRAINER` names another (a GPU box, a cloud job) that takes
//! the same arguments — `--base GGUF --data JSONL --out DIR --name NAME --steps N` — and
//! prints the same JSON lines, the last `{"stage": "done", "gguf": PATH}`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use telos_image::{Image, ObjectId};
use tokio::io::{AsyncWriteExt, BufReader};

use crate::dataset::{Row, write_rows};
use crate::{Error, Result};

/// The reference trainer, shipped in the binary and written beside the runs.
pub const REFERENCE: &str = include_str!("../../../trainer/train.py");
/// The `kind` slot of a training object.
pub const TRAINING: &str = "training";
/// The link from a training to its persona.
pub const TRAINED: &str = "trained";
/// Optimizer steps when none are asked for.
pub const DEFAULT_STEPS: u32 = 60;
/// The prompt whose rendering must not change.
pub const GOLDEN_PROMPT: [(&str, &str); 4] = [
    ("system", "You are a persona of Telos."),
    ("user", "What is a kite?"),
    ("assistant", "A tethered wing that flies on the wind."),
    ("user", "And why does it fly?"),
];

/// Which trainer runs, and where its work goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Trainer {
    /// A shell command the trainer's arguments are appended to; `None`: the reference
    /// trainer in `venv`.
    pub command: Option<String>,
    /// The reference trainer's venv (`TELOS_TRAINER_VENV`, default ~/.cache/telos-trainer).
    pub venv: PathBuf,
    /// Where runs keep their data, log and output (`DATA_DIR/training`).
    pub runs: PathBuf,
    /// The embedded runtime's models folder, where the result is registered.
    pub models: PathBuf,
    /// Ollama's address: when it answers, the result is created there too.
    pub ollama: Option<String>,
}

/// One step of a training, as it happens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum TrainEvent {
    Started {
        persona: String,
        base: String,
        rows: u32,
        steps: u32,
        log: String,
    },
    /// The trainer moved to a stage: load, train, merge, convert; then Telos's own: check,
    /// register.
    Stage { stage: String },
    Step {
        step: u32,
        steps: u32,
        loss: f64,
        ms: f64,
    },
}

/// A finished training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Trained {
    pub persona: String,
    /// The new model, as a persona's codex names it (`gguf:NAME`).
    pub model: String,
    pub path: String,
    pub sha256: String,
    /// The model it was trained from.
    pub base: String,
    pub rows: u32,
    pub steps: u32,
    pub losses: Vec<f64>,
    /// The trainer's mean time per step (ms).
    pub step_ms: f64,
    pub log: String,
    pub ms: f64,
    /// The model's name in Ollama, when Ollama answered and created it; else why not.
    pub ollama: Option<String>,
    pub ollama_note: Option<String>,
    /// The cycle that recorded it.
    pub cycle: Option<String>,
}

/// What a training is asked to do.
#[derive(Debug, Clone)]
pub struct Request {
    pub persona: String,
    /// The base model's name and GGUF file.
    pub base: String,
    pub base_path: PathBuf,
    pub rows: Vec<Row>,
    pub steps: u32,
    /// The new model's name (`NAME.gguf`).
    pub name: String,
}

impl Trainer {
    /// The program and its arguments for `request`, run in `dir`.
    fn command(&self, dir: &Path, request: &Request) -> Result<tokio::process::Command> {
        let args = [
            "--base".to_string(),
            request.base_path.display().to_string(),
            "--data".into(),
            dir.join("data.jsonl").display().to_string(),
            "--out".into(),
            dir.display().to_string(),
            "--name".into(),
            request.name.clone(),
            "--steps".into(),
            request.steps.to_string(),
        ];
        let mut cmd = match &self.command {
            Some(line) => {
                let mut c = tokio::process::Command::new("/bin/sh");
                c.arg("-c")
                    .arg(format!("{line} \"$@\""))
                    .arg("telos-trainer");
                c
            }
            None => {
                let python = self.venv.join("bin/python");
                if !python.exists() {
                    return Err(Error::Trainer(format!(
                        "the reference trainer's venv is not installed at {} (run \
                         scripts/setup-trainer, or set TELOS_TRAINER to your own trainer)",
                        self.venv.display()
                    )));
                }
                let script = self.runs.join("train.py");
                write_file(&script, REFERENCE.as_bytes())?;
                let mut c = tokio::process::Command::new(python);
                c.arg(script);
                c
            }
        };
        cmd.args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        Ok(cmd)
    }

    /// Runs a training: the trainer with progress, then the template check, then the new
    /// model registered in the models folder. Dropping the future stops the trainer.
    pub async fn train(
        &self,
        request: &Request,
        mut progress: impl FnMut(TrainEvent) + Send,
    ) -> Result<Trained> {
        let began = Instant::now();
        let dir = self.runs.join(&request.name);
        std::fs::create_dir_all(&dir).map_err(|source| Error::Write {
            path: dir.clone(),
            source,
        })?;
        write_rows(&dir.join("data.jsonl"), request.rows.iter())?;
        let log_path = dir.join("log.txt");
        progress(TrainEvent::Started {
            persona: request.persona.clone(),
            base: request.base.clone(),
            rows: request.rows.len() as u32,
            steps: request.steps,
            log: log_path.display().to_string(),
        });
        let mut child = self
            .command(&dir, request)?
            .spawn()
            .map_err(|e| Error::Trainer(format!("it could not be started: {e}")))?;
        let mut log = tokio::fs::File::create(&log_path)
            .await
            .map_err(|source| Error::Write {
                path: log_path.clone(),
                source,
            })?;
        let mut losses = Vec::new();
        let mut step_ms = Vec::new();
        let mut done: Option<Value> = None;
        let mut failure: Option<String> = None;
        // Both pipes read in this task (no spawned readers), until both end.
        // Both pipes read in this task (no spawned readers), until both end; a line that is
        // not UTF-8 is read lossily rather than ending the reading.
        let mut out = child.stdout.take().map(BufReader::new);
        let mut err = child.stderr.take().map(BufReader::new);
        let (mut out_buf, mut err_buf) = (Vec::new(), Vec::new());
        let mut log_failed = false;
        loop {
            let (is_out, line) = tokio::select! {
                read = next_line(out.as_mut(), &mut out_buf), if out.is_some() => match read {
                    Some(l) => (true, l),
                    None => { out = None; continue }
                },
                read = next_line(err.as_mut(), &mut err_buf), if err.is_some() => match read {
                    Some(l) => (false, l),
                    None => { err = None; continue }
                },
                else => break,
            };
            if let Err(e) = log.write_all(format!("{line}\n").as_bytes()).await
                && !log_failed
            {
                tracing::warn!("writing the trainer's log {}: {e}", log_path.display());
                log_failed = true;
            }
            let event: Option<Value> = is_out.then(|| serde_json::from_str(&line).ok()).flatten();
            let Some(event) = event else { continue };
            if let Some(step) = event["step"].as_u64() {
                let (loss, ms) = (
                    event["loss"].as_f64().unwrap_or(f64::NAN),
                    event["ms"].as_f64().unwrap_or(0.0),
                );
                losses.push(loss);
                step_ms.push(ms);
                progress(TrainEvent::Step {
                    step: step as u32,
                    steps: event["steps"].as_u64().unwrap_or(0) as u32,
                    loss,
                    ms,
                });
            } else if let Some(stage) = event["stage"].as_str() {
                match stage {
                    "done" => done = Some(event.clone()),
                    "failed" => failure = event["error"].as_str().map(str::to_string),
                    _ => progress(TrainEvent::Stage {
                        stage: stage.to_string(),
                    }),
                }
            }
        }
        let _ = log.flush().await;
        let status = child
            .wait()
            .await
            .map_err(|e| Error::Trainer(format!("waiting for it: {e}")))?;
        let logged = log_path.display();
        if !status.success() {
            let why = failure.unwrap_or_else(|| format!("it exited with {status}"));
            return Err(Error::Trainer(format!("{why} (log: {logged})")));
        }
        let Some(gguf) = done
            .as_ref()
            .and_then(|d| d["gguf"].as_str())
            .map(PathBuf::from)
        else {
            return Err(Error::Trainer(format!(
                "it ended without naming its GGUF (a last line {{\"stage\": \"done\", \"gguf\": PATH}}; log: {logged})"
            )));
        };
        let gguf = if gguf.is_relative() {
            dir.join(gguf)
        } else {
            gguf
        };
        progress(TrainEvent::Stage {
            stage: "check".into(),
        });
        let base = request.base_path.clone();
        let checked = gguf.clone();
        blocking(move || same_template(&base, &checked)).await?;
        progress(TrainEvent::Stage {
            stage: "register".into(),
        });
        let me = self.clone();
        let name = request.name.clone();
        let (registered, sha256) = blocking(move || {
            let registered = me.register(&gguf, &name)?;
            let sha256 =
                telos_llama::hub::sha256_file(&registered).map_err(|source| Error::Read {
                    path: registered.clone(),
                    source,
                })?;
            Ok((registered, sha256))
        })
        .await?;
        let (ollama, ollama_note) = self
            .create_in_ollama(&request.name, &registered, &sha256)
            .await;
        Ok(Trained {
            ollama,
            ollama_note,
            persona: request.persona.clone(),
            model: format!("{}{}", telos_llama::GGUF, request.name),
            path: registered.display().to_string(),
            sha256,
            base: request.base.clone(),
            rows: request.rows.len() as u32,
            steps: losses.len() as u32,
            step_ms: if step_ms.is_empty() {
                0.0
            } else {
                step_ms.iter().sum::<f64>() / step_ms.len() as f64
            },
            losses,
            log: log_path.display().to_string(),
            ms: began.elapsed().as_secs_f64() * 1e3,
            cycle: None,
        })
    }

    /// Creates the model in Ollama when Ollama answers (from the registered GGUF, its template
    /// inside): its name there, or why it was not made.
    async fn create_in_ollama(
        &self,
        name: &str,
        gguf: &Path,
        sha256: &str,
    ) -> (Option<String>, Option<String>) {
        let Some(host) = &self.ollama else {
            return (None, Some("no Ollama is configured".into()));
        };
        let ollama = match telos_scheduler::Ollama::new(host) {
            Ok(o) => o,
            Err(e) => return (None, Some(e.to_string())),
        };
        if let Err(e) = telos_scheduler::Backend::ps(&ollama).await {
            return (None, Some(format!("not created in Ollama: {e}")));
        }
        match ollama.create_from_gguf(name, gguf, sha256).await {
            Ok(()) => (Some(name.to_string()), None),
            Err(e) => {
                tracing::warn!("creating {name} in Ollama: {e}");
                (None, Some(format!("Ollama could not create it: {e}")))
            }
        }
    }

    /// Moves (or copies) the trained GGUF into the models folder as `NAME.gguf`, and writes an
    /// Ollama Modelfile beside the run (`FROM` the file; its template is the GGUF's own).
    fn register(&self, gguf: &Path, name: &str) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.models).map_err(|source| Error::Write {
            path: self.models.clone(),
            source,
        })?;
        let target = self.models.join(format!("{name}.gguf"));
        if std::fs::rename(gguf, &target).is_err() {
            let part = self.models.join(format!(".{name}.gguf.part"));
            std::fs::copy(gguf, &part)
                .and_then(|_| std::fs::rename(&part, &target))
                .map_err(|source| Error::Write {
                    path: target.clone(),
                    source,
                })?;
        }
        if let Some(run) = gguf.parent() {
            write_file(
                &run.join("Modelfile"),
                format!("FROM {}\n", target.display()).as_bytes(),
            )?;
        }
        Ok(target)
    }
}

/// One line of `reader` (without its newline, read lossily); `None` at the end or when the
/// pipe fails (logged).
async fn next_line<R: tokio::io::AsyncBufRead + Unpin>(
    reader: Option<&mut R>,
    buf: &mut Vec<u8>,
) -> Option<String> {
    use tokio::io::AsyncBufReadExt as _;
    let reader = reader?;
    buf.clear();
    match reader.read_until(b'\n', buf).await {
        Ok(0) => None,
        Ok(_) => Some(
            String::from_utf8_lossy(buf)
                .trim_end_matches(['\n', '\r'])
                .to_string(),
        ),
        Err(e) => {
            tracing::warn!("reading the trainer's output: {e}");
            None
        }
    }
}

/// File and llama.cpp work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Trainer(format!("a check after training failed: {e}")))?
}

/// The golden prompt rendered by both files' chat templates, compared byte for byte.
pub fn same_template(base: &Path, trained: &Path) -> Result<()> {
    let before = telos_llama::catalog::render_chat(base, &GOLDEN_PROMPT)?;
    let after = telos_llama::catalog::render_chat(trained, &GOLDEN_PROMPT)?;
    if before != after {
        return Err(Error::Trainer(format!(
            "the chat template drifted: the golden prompt renders as {after:?} with {}, but as \
             {before:?} with the base model",
            trained.display()
        )));
    }
    Ok(())
}

/// Records `trained` in the image as one cycle: a `training` object linked to its persona.
pub async fn record(image: &Image, persona: &ObjectId, trained: &mut Trained) -> Result<()> {
    let mut cycle = image.begin(&format!("train {}", trained.persona));
    let genesis = cycle.resolve("genesis")?;
    let name = format!("training {}", cycle.id());
    let id = cycle.create(&name, &[genesis])?;
    let mut value = serde_json::to_value(&*trained).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.remove("cycle");
        map.insert("kind".into(), json!(TRAINING));
        for (slot, v) in map.iter() {
            cycle.set_slot(&id, slot, v.clone())?;
        }
    }
    cycle.link(&id, TRAINED, persona)?;
    trained.cycle = Some(cycle.commit().await?.id);
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| Error::Write {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, bytes).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// `persona`'s trainings, newest first.
pub fn trainings(image: &Image, persona: &str) -> Vec<Trained> {
    let mut all: Vec<(i64, Trained)> = image
        .objects()
        .iter()
        .filter(|o| o.slots.get("kind").and_then(Value::as_str) == Some(TRAINING))
        .filter_map(|o| {
            let t: Trained = serde_json::from_value(Value::Object(o.slots.clone())).ok()?;
            (t.persona == persona).then_some((o.created, t))
        })
        .collect();
    all.sort_by_key(|t| std::cmp::Reverse(t.0));
    all.into_iter().map(|(_, t)| t).collect()
}

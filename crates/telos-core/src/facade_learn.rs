//! The facade's learning operations, one call each into `telos-ascend`: judging and curation,
//! the golden dataset and its export, training, ascension, promotion and revert.

use std::path::{Path, PathBuf};

use telos_ascend::ascend::{self, Fit};
use telos_ascend::{
    Ascension, AscensionEvent, CurateEvent, Curated, Exported, Judge, Lineage, TrainEvent, Trained,
    curate, dataset, evaluation, lineage, train,
};
use telos_persona::resolve_persona;
use telos_scheduler::Runtime;

use crate::Telos;
use crate::error::{Error, Result};
use crate::facade::pull_model_from;
use crate::view::GoldenView;

/// The golden dataset's default threshold (overall score).
pub const GOLDEN_MIN: f64 = evaluation::GOLDEN;
/// The most optimizer steps a training may ask for.
pub const MAX_STEPS: u32 = 100_000;

/// Judging, curation, datasets, training and ascension.
impl Telos {
    fn judge(&self) -> Judge {
        self.roster.sync();
        Judge::new(self.voice.clone())
    }

    /// ALFRED judges up to `limit` exchanges not judged yet (of `persona`, when named); the
    /// evaluations are one cycle.
    pub async fn curate(
        &self,
        persona: Option<&str>,
        limit: usize,
        min: f64,
        progress: impl FnMut(CurateEvent) + Send,
    ) -> Result<Curated> {
        Ok(curate::curate(&self.judge(), persona, limit, min, progress).await?)
    }

    /// A persona's golden dataset (its evaluations scored `min` or more), its performance per
    /// week, its rubric and its lineage: what its Inspector shows.
    pub fn golden(&self, persona: &str, min: f64) -> Result<GoldenView> {
        check_min(min)?;
        let p = resolve_persona(&self.image, persona)?;
        let all = evaluation::evaluations(&self.image, Some(&p.name));
        let waiting = curate::pending(&self.image, Some(&p.name))?.len();
        Ok(GoldenView::new(
            &self.image,
            &p,
            min,
            &all,
            waiting,
            lineage::lineage(&self.image, &p.name)?,
        ))
    }

    /// Writes `persona`'s golden dataset to `path` (chat-format JSONL), with the train and
    /// held-out split beside it.
    pub fn export_dataset(&self, persona: &str, min: f64, path: &Path) -> Result<Exported> {
        check_min(min)?;
        let p = resolve_persona(&self.image, persona)?;
        let golden = evaluation::golden(&self.image, &p.name, min);
        Ok(dataset::export(&p.name, &golden, min, path)?)
    }

    /// Trains a LoRA of `persona`'s golden dataset (its train split) on `base` (default: the
    /// model that answers for it now, which must be an embedded GGUF), registers the result
    /// as `gguf:PERSONA-lora-TIME` and records the training (one cycle). It runs as background
    /// work of the supervisor: `progress` hears it while the caller waits.
    pub async fn train(
        &self,
        persona: &str,
        base: Option<&str>,
        min: f64,
        steps: u32,
        mut progress: impl FnMut(TrainEvent) + Send,
    ) -> Result<Trained> {
        check_min(min)?;
        if !(1..=MAX_STEPS).contains(&steps) {
            return Err(telos_ascend::Error::Trainer(format!(
                "steps must be from 1 to {MAX_STEPS}, not {steps}"
            ))
            .into());
        }
        let p = resolve_persona(&self.image, persona)?;
        let (base, named) = match base {
            Some(b) => (b.trim().to_string(), true),
            None => (self.voice.route(&p).await?.model, false),
        };
        if Runtime::of(&base) != Runtime::Embedded {
            let whose = if named {
                format!("the base {base:?} is an Ollama model")
            } else {
                format!("{} thinks with the Ollama model {base:?}", p.name)
            };
            return Err(Error::Config {
                name: "base".into(),
                reason: format!(
                    "{whose}, whose weights the trainer cannot read: name an embedded base \
                     with --base gguf:NAME"
                ),
            });
        }
        let info = self.llama.info(&base)?;
        let split = dataset::split(&evaluation::golden(&self.image, &p.name, min));
        if split.train.is_empty() {
            return Err(telos_ascend::Error::NoGolden {
                persona: p.name.clone(),
                min,
            }
            .into());
        }
        let name = format!(
            "{}-lora-{}",
            p.name.to_lowercase().replace(' ', "-"),
            telos_image::now_ms()
        );
        let request = train::Request {
            persona: p.name.clone(),
            base,
            base_path: info.path,
            rows: split.train,
            steps,
            name,
        };
        // Background work of the supervisor: it goes on when the caller stops listening (an
        // Inspector closed), and Telos closing stops the trainer.
        let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
        let (done_tx, mut done) = tokio::sync::oneshot::channel();
        let (trainer, image, persona_id) = (self.trainer.clone(), self.image.clone(), p.id.clone());
        let shutdown = self.supervisor.shutdown();
        let job = async move {
            let run = async {
                let mut trained = trainer
                    .train(&request, |e| {
                        let _ = tx.send(e);
                    })
                    .await?;
                train::record(&image, &persona_id, &mut trained).await?;
                Ok::<_, telos_ascend::Error>(trained)
            };
            let result = tokio::select! {
                r = run => r,
                () = shutdown.wait() => Err(telos_ascend::Error::Trainer("Telos is closing".into())),
            };
            let _ = done_tx.send(result);
        };
        if !self.supervisor.job(format!("train {}", p.name), job) {
            return Err(telos_ascend::Error::Trainer("Telos is closing".into()).into());
        }
        loop {
            tokio::select! {
                Some(e) = events.recv() => progress(e),
                result = &mut done => {
                    while let Ok(e) = events.try_recv() {
                        progress(e);
                    }
                    return match result {
                        Ok(r) => Ok(r?),
                        Err(_) => Err(telos_ascend::Error::Trainer("the training job ended without an answer".into()).into()),
                    };
                }
            }
        }
    }

    /// Tries `persona` on `candidate` (an Ollama tag, pulled with progress; `gguf:NAME`; a
    /// `.gguf` file, copied into the models folder; `hf:…`, fetched; or `trained`, its latest
    /// training): the held-out prompts answered by both and judged pairwise, the report kept
    /// as a pending ascension.
    pub async fn ascend(
        &self,
        persona: &str,
        candidate: &str,
        min: f64,
        mut progress: impl FnMut(AscensionEvent) + Send,
    ) -> Result<Ascension> {
        check_min(min)?;
        let p = resolve_persona(&self.image, persona)?;
        // The held-out prompts first: nothing is pulled or copied for an ascension that
        // cannot run.
        let golden = evaluation::golden(&self.image, &p.name, min);
        let split = dataset::split(&golden);
        if split.held_out.is_empty() {
            return Err(telos_ascend::Error::NoHeldOut {
                persona: p.name.clone(),
                rows: split.all.len(),
            }
            .into());
        }
        let model = self
            .candidate(&p.name, candidate.trim(), &mut progress)
            .await?;
        let fit = self.fit(&model).await;
        let request = ascend::Request {
            persona: p.name.clone(),
            candidate_model: model,
            held_out: split.held_out,
            fit,
        };
        Ok(ascend::ascend(&self.judge(), &request, progress).await?)
    }

    /// Every ascension (of `persona`, when named), newest first.
    pub fn ascensions(&self, persona: Option<&str>) -> Result<Vec<Ascension>> {
        let name = persona
            .map(|p| resolve_persona(&self.image, p).map(|p| p.name.clone()))
            .transpose()?;
        Ok(ascend::ascensions(&self.image, name.as_deref()))
    }

    /// Promotes a pending ascension (one cycle: the persona's model, lineage, the report's
    /// state).
    pub async fn approve_ascension(&self, ascension: &str) -> Result<Ascension> {
        let a = lineage::approve(&self.image, ascension).await?;
        self.roster.sync();
        Ok(a)
    }

    /// Rejects a pending ascension.
    pub async fn reject_ascension(&self, ascension: &str) -> Result<Ascension> {
        Ok(lineage::reject(&self.image, ascension).await?)
    }

    /// Reverts `persona`'s last promotion (one cycle).
    pub async fn revert_ascension(&self, persona: &str) -> Result<Ascension> {
        let a = lineage::revert(&self.image, persona).await?;
        self.roster.sync();
        Ok(a)
    }

    /// `persona`'s models over time.
    pub fn lineage(&self, persona: &str) -> Result<Lineage> {
        Ok(lineage::lineage(&self.image, persona)?)
    }

    /// The candidate as a model name the scheduler can load, fetched when it must be.
    async fn candidate(
        &self,
        persona: &str,
        candidate: &str,
        progress: &mut (impl FnMut(AscensionEvent) + Send),
    ) -> Result<String> {
        let bad = |reason: String| -> Error {
            telos_ascend::Error::Candidate {
                model: candidate.to_string(),
                reason,
            }
            .into()
        };
        if candidate.is_empty() {
            return Err(bad("no model named".into()));
        }
        if candidate == "trained" {
            let trainings = train::trainings(&self.image, persona);
            let latest = trainings.first().ok_or_else(|| {
                bad(format!(
                    "{persona} has not been trained yet (telos train {persona})"
                ))
            })?;
            return Ok(latest.model.clone());
        }
        let mut copied = None;
        let model = if candidate.ends_with(".gguf") && !candidate.starts_with(telos_llama::HF) {
            let (model, new) = self.copy_gguf(Path::new(candidate)).map_err(bad)?;
            copied = new;
            model
        } else if candidate.starts_with(telos_llama::GGUF) {
            candidate.to_string()
        } else {
            pull_model_from(Some(&self.ollama_host), candidate, |p| {
                progress(AscensionEvent::Fetching {
                    status: p.status,
                    done: p.done,
                    total: p.total,
                })
            })
            .await
            .map_err(|e| bad(format!("it cannot be pulled: {e}")))?;
            candidate.to_string()
        };
        if Runtime::of(&model) == Runtime::Embedded
            && let Err(e) = self.llama.info(&model)
        {
            // A file this call copied in goes again: the models folder is as it was.
            if let Some(path) = copied
                && let Err(gone) = std::fs::remove_file(&path)
            {
                tracing::warn!("removing {}: {gone}", path.display());
            }
            return Err(bad(format!("it cannot be loaded: {e}")));
        }
        Ok(model)
    }

    /// A GGUF file copied into the models folder as `gguf:STEM` (the same file there already
    /// is kept; a different one of that name is refused), and the copy when this call made it.
    fn copy_gguf(&self, path: &Path) -> std::result::Result<(String, Option<PathBuf>), String> {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .filter(|s| !s.is_empty() && !s.starts_with('.'))
            .ok_or_else(|| format!("{} names no file", path.display()))?;
        let dir: PathBuf = self.llama.config().models_dir.clone();
        let target = dir.join(format!("{stem}.gguf"));
        let sha = |p: &Path| {
            telos_llama::hub::sha256_file(p).map_err(|e| format!("{}: {e}", p.display()))
        };
        let source = sha(path)?;
        let mut copied = None;
        if target.exists() {
            if sha(&target)? != source {
                return Err(format!(
                    "a different {} is already in the models folder: rename the file",
                    target.display()
                ));
            }
        } else {
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let part = dir.join(format!(".{stem}.gguf.part"));
            std::fs::copy(path, &part)
                .and_then(|_| std::fs::rename(&part, &target))
                .map_err(|e| format!("copying it to {}: {e}", target.display()))?;
            copied = Some(target);
        }
        Ok((format!("{}{stem}", telos_llama::GGUF), copied))
    }

    /// Whether `model` fits its runtime's budget: an embedded model's footprint (weights and KV
    /// cache) against the RAM budget, an Ollama model's size against the VRAM budget.
    async fn fit(&self, model: &str) -> Fit {
        self.scheduler().refresh().await;
        let status = self.scheduler.status();
        let runtime = Runtime::of(model);
        let (footprint, budget) = match runtime {
            Runtime::Embedded => (
                self.llama.info(model).ok().map(|i| i.footprint.0),
                status.embedded.as_ref().map_or(0, |s| s.budget.0),
            ),
            // Several hosts: the size on any host that has it, against the largest budget.
            Runtime::Ollama => (
                status
                    .ollama
                    .iter()
                    .flat_map(|s| s.installed.iter().flatten())
                    .find(|(m, _)| telos_scheduler::runtimes::same_tag(m, model))
                    .map(|(_, b)| b.0),
                status.ollama.iter().map(|s| s.budget.0).max().unwrap_or(0),
            ),
        };
        Fit {
            fits: footprint.is_some_and(|f| f <= budget),
            runtime: runtime.to_string(),
            footprint,
            budget,
        }
    }
}

fn check_min(min: f64) -> Result<()> {
    if (1.0..=5.0).contains(&min) {
        Ok(())
    } else {
        Err(telos_ascend::Error::BadThreshold(min).into())
    }
}

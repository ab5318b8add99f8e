//! Every operation a front end offers, one call each into the crate that owns it, gathered
//! here so the desktop shell and the CLI make one call per command. Every change runs as an
//! operation list through `ops::apply` (or a feature's own cycle), so a change that fails is
//! kept as a suspended cycle like any other (DESIGN invariant 2).

use std::path::PathBuf;

use serde_json::{Value, json};
use telos_image::ops::{self, Op};
use telos_memory::{Health, Recalled};
use telos_persona::{Amendment, ChatEvent, CodexReport, Dissonance, StatusChange};
use tokio::sync::{broadcast, mpsc};

use crate::error::{Error, Result};
use crate::input::{edited_program, parse_json};
use crate::view::{
    self, AgendaView, CycleSummary, CycleView, ForgeOutcome, ModelView, MorphView, ObjRef,
    ObjectView, PINNED, POSITION, PersonaView, PullProgress, Pulled, SchedulerView, StepState,
};
use crate::{
    AgendaEvent, AgendaStep, Autonomy, DialogueEvent, Edit, InboxEvent, IngestEvent, Motive,
    Planned, Telos, Work,
};

/// How many of an object's cycles the Inspector lists.
const OBJECT_CYCLES: usize = 20;
/// The least time between two scheduler status events.
pub const STATUS_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Fetches `model` with progress, needing no open data dir: `hf:OWNER/REPO/FILE.gguf[@REV]`
/// from the Hugging Face hub into the models folder (resumable, pinned to a commit, checked by
/// SHA-256), or an Ollama tag into Ollama (`OLLAMA_HOST`). A `gguf:` name is a file to copy
/// into the folder, not something to pull.
pub async fn pull_model(model: &str, progress: impl FnMut(PullProgress) + Send) -> Result<Pulled> {
    pull_model_from(None, model, progress).await
}

/// [`pull_model`] from the Ollama at `host` (`None`: `OLLAMA_HOST`, else the default).
pub(crate) async fn pull_model_from(
    host: Option<&str>,
    model: &str,
    mut progress: impl FnMut(PullProgress) + Send,
) -> Result<Pulled> {
    use telos_scheduler::Runtime;
    let model = model.trim();
    match telos_scheduler::Runtime::of(model) {
        Runtime::Embedded if model.starts_with(telos_llama::HF) => {
            let (path, pin) = telos_llama::hub::pull(&telos_llama::models_dir(), model, |p| {
                progress(PullProgress {
                    status: "fetching".into(),
                    done: Some(p.done),
                    total: p.total,
                })
            })
            .await?;
            Ok(Pulled {
                model: model.to_string(),
                runtime: Runtime::Embedded.to_string(),
                path: Some(path.display().to_string()),
                commit: Some(pin.commit),
                sha256: Some(pin.sha256),
            })
        }
        Runtime::Embedded => Err(Error::Config {
            name: model.to_string(),
            reason: format!(
                "a gguf: model is a file in the models folder ({}): copy it there; only \
                 hf:OWNER/REPO/FILE.gguf and Ollama tags can be pulled",
                telos_llama::models_dir().display()
            ),
        }),
        Runtime::Ollama => {
            let ollama = match host {
                Some(h) => telos_scheduler::Ollama::new(h)?,
                None => telos_scheduler::Ollama::from_env()?,
            };
            ollama
                .pull(model, |status, done, total| {
                    progress(PullProgress {
                        status: status.to_string(),
                        done,
                        total,
                    })
                })
                .await?;
            Ok(Pulled {
                model: model.to_string(),
                runtime: Runtime::Ollama.to_string(),
                path: None,
                commit: None,
                sha256: None,
            })
        }
    }
}

/// The world and the Inspector.
impl Telos {
    /// Every morph: the personas, then pinned objects, oldest first.
    pub fn world(&self) -> Vec<MorphView> {
        view::world(&self.image, &self.scheduler().status(), &self.status)
    }

    /// Moves a morph: stores its position on its object, as one cycle.
    pub async fn move_morph(&self, object: &str, x: f64, y: f64) -> Result<CycleSummary> {
        let p = view::checked_point(object, x, y)?;
        let value = json!({ "x": p.x, "y": p.y });
        self.set_slot(object, POSITION, value, "move morph").await
    }

    /// Pins an object to the world (it gets a morph) or unpins it.
    pub async fn set_pinned(&self, object: &str, pinned: bool) -> Result<CycleSummary> {
        if pinned {
            return self
                .apply("pin", vec![set(object, PINNED, json!(true))])
                .await;
        }
        let op = Op::RemoveSlot {
            object: object.to_owned(),
            slot: PINNED.to_owned(),
        };
        self.apply("unpin", vec![op]).await
    }

    /// One object with its slots, parents, methods and the cycles that touched it.
    pub async fn object(&self, object: &str) -> Result<ObjectView> {
        let object = self.image.resolve(object)?;
        let cycles = self
            .image
            .cycles_touching(&object.id, OBJECT_CYCLES)
            .await?;
        Ok(ObjectView::new(&self.image, &object, &cycles))
    }

    /// Creates an object with these parents (names or ids, highest priority first).
    pub async fn create_object(&self, name: &str, parents: &[String]) -> Result<ObjRef> {
        let op = Op::New {
            name: name.to_owned(),
            parents: parents.to_vec(),
        };
        self.apply(&format!("new object {name}"), vec![op]).await?;
        let created = self.image.resolve(name)?;
        Ok(ObjRef::named(&created))
    }

    /// Sets `slot` of `object` to `value`, as one cycle.
    pub async fn set_slot(
        &self,
        object: &str,
        slot: &str,
        value: Value,
        trigger: &str,
    ) -> Result<CycleSummary> {
        self.apply(trigger, vec![set(object, slot, value)]).await
    }

    /// Sets `slot` of `object` to the JSON in `json`. Invalid JSON is refused naming the slot,
    /// before any cycle starts.
    pub async fn set_slot_json(
        &self,
        object: &str,
        slot: &str,
        json: &str,
        trigger: &str,
    ) -> Result<CycleSummary> {
        let value = parse_json(json, &format!("slot '{slot}' of '{object}'"))?;
        self.set_slot(object, slot, value, trigger).await
    }

    /// Clones `object` (Self's shallow clone) as `new_name`, or as "NAME copy", "NAME copy 2",
    /// …; a clone with a morph is placed a little below and right of the original.
    pub async fn clone_object(&self, object: &str, new_name: Option<&str>) -> Result<ObjRef> {
        let original = self.image.resolve(object)?;
        let name = new_name.map_or_else(
            || ops::free_copy_name(&self.image, &original.name),
            str::to_owned,
        );
        let mut list = vec![Op::Clone {
            object: original.id.to_string(),
            name: name.clone(),
        }];
        if let Some(position) = original.slots.get(POSITION) {
            list.push(set(&name, POSITION, view::offset_position(position)));
        }
        self.apply(&format!("clone {}", original.name), list)
            .await?;
        let copy = self.image.resolve(&name)?;
        Ok(ObjRef::named(&copy))
    }

    /// Runs an operation list as one cycle.
    pub async fn apply(&self, trigger: &str, list: Vec<Op>) -> Result<CycleSummary> {
        Ok(CycleSummary::new(
            &ops::apply(&self.image, trigger, &list).await?,
        ))
    }
}

/// Personas: chat, codex, the scheduler.
impl Telos {
    /// Sends `text` to `persona` and returns its reply as a stream of events. Dropping the
    /// receiver cancels the reply.
    pub fn chat(&self, persona: &str, text: &str) -> Result<mpsc::Receiver<ChatEvent>> {
        Ok(telos_persona::chat(
            &self.voice,
            &self.status,
            &self.supervisor,
            persona,
            text,
        )?)
    }

    /// A dialogue on `question`: BRICK and ROBIN argue it for at most `rounds` rounds, ALFRED
    /// judges each and writes the synthesis; the events stream back and the dialogue is
    /// recorded as one cycle (or kept suspended when it fails).
    pub fn dialogue(&self, question: &str, rounds: u32) -> Result<mpsc::Receiver<DialogueEvent>> {
        self.dialogue_between(question, rounds, telos_mind::SPEAKERS)
    }

    /// [`Telos::dialogue`] between two personas the user picked (by name or id, in speaking
    /// order; ALFRED still judges and sums up).
    pub fn dialogue_between(
        &self,
        question: &str,
        rounds: u32,
        sides: [&str; 2],
    ) -> Result<mpsc::Receiver<DialogueEvent>> {
        self.roster.sync();
        Ok(telos_mind::dialogue(
            &self.voice,
            &self.supervisor,
            question,
            rounds,
            sides,
        )?)
    }

    /// Every motive the agenda has noticed, newest first.
    pub fn motives(&self) -> Vec<Motive> {
        self.agenda.motives()
    }

    /// The agenda now: the switch, the caps, why nothing runs (if nothing may), the motives
    /// and the work.
    pub fn agenda(&self) -> AgendaView {
        AgendaView {
            autonomy: self.agenda.autonomy(),
            per_hour: self.agenda.budget().per_hour,
            share: self.agenda.budget().share,
            hold: self.agenda.hold(),
            motives: self.agenda.motives(),
            works: self.agenda.works(),
        }
    }

    /// Runs the detectors: what is new becomes motives and work (one cycle).
    pub async fn plan_agenda(&self) -> Result<Planned> {
        Ok(self.agenda.plan().await?)
    }

    /// Approves a proposed work.
    pub async fn approve_work(&self, id: &str) -> Result<Work> {
        Ok(self.agenda.approve(id).await?)
    }

    /// Rejects a work that has not run.
    pub async fn reject_work(&self, id: &str) -> Result<Work> {
        Ok(self.agenda.reject(id).await?)
    }

    /// One step of the agenda: the most pressing approved work acts, unless something holds
    /// it (the switch, the user, the budget).
    pub async fn agenda_step(&self) -> Result<AgendaStep> {
        self.roster.sync();
        Ok(self.agenda.run_once().await?)
    }

    /// Sets the autonomy switch.
    pub async fn set_autonomy(&self, autonomy: Autonomy) -> Result<Autonomy> {
        Ok(self.agenda.set_autonomy(autonomy).await?)
    }

    /// Changes on the agenda as they happen.
    pub fn subscribe_agenda(&self) -> broadcast::Receiver<AgendaEvent> {
        self.agenda.subscribe()
    }

    /// Starts the agenda as a supervised service for a long-running front end: it notices,
    /// proposes and acts as the switch and the budget allow, until Telos closes.
    pub fn run_agenda(&self) {
        let agenda = self.agenda.clone();
        self.supervisor
            .service("agenda", move |shutdown| agenda.clone().run(shutdown));
    }

    /// Live persona status changes (busy, …) as they happen.
    pub fn subscribe_status(&self) -> broadcast::Receiver<StatusChange> {
        self.status.subscribe()
    }

    /// The personas with their models' states now (Ollama is asked first).
    pub async fn personas(&self) -> Vec<PersonaView> {
        self.scheduler().refresh().await;
        PersonaView::all(&self.image, &self.scheduler.status())
    }

    /// Every model of both runtimes: size, runtime, loaded or not, the personas it answers
    /// (both runtimes are asked first).
    pub async fn models(&self) -> Vec<ModelView> {
        self.scheduler().refresh().await;
        let llama = self.llama.clone();
        let files = tokio::task::spawn_blocking(move || llama.models())
            .await
            .unwrap_or_default();
        ModelView::all(&self.scheduler.status(), &files)
    }

    /// The scheduler's status now.
    pub fn scheduler_status(&self) -> SchedulerView {
        SchedulerView::new(&self.scheduler().status())
    }

    /// Starts the scheduler's loop (a supervised service) for a long-running front end: it
    /// reads `/api/ps` every 2 s, loads the pinned personas' models and notices Ollama going
    /// and coming back, until Telos closes.
    pub fn run_scheduler(&self) {
        let scheduler = self.scheduler.clone();
        self.supervisor.service("scheduler", move |shutdown| {
            let scheduler = scheduler.clone();
            async move {
                scheduler.run(shutdown.wait()).await;
                Ok(())
            }
        });
    }

    /// Scheduler status changes, at most one every [`STATUS_EVERY`] (the latest wins), until
    /// the receiver is dropped or Telos closes.
    pub fn watch_scheduler(&self) -> mpsc::Receiver<SchedulerView> {
        let (tx, rx) = mpsc::channel(4);
        let scheduler = self.scheduler.clone();
        self.supervisor
            .service("scheduler status", move |shutdown| {
                let (scheduler, tx) = (scheduler.clone(), tx.clone());
                async move {
                    let mut changes = scheduler.watch();
                    loop {
                        changes.mark_seen();
                        scheduler.reroute();
                        let view = SchedulerView::new(&scheduler.status());
                        if tx.send(view).await.is_err() {
                            return Ok(());
                        }
                        tokio::select! {
                            () = shutdown.wait() => return Ok(()),
                            () = tokio::time::sleep(STATUS_EVERY) => {}
                        }
                        tokio::select! {
                            () = shutdown.wait() => return Ok(()),
                            changed = changes.changed() => if changed.is_err() { return Ok(()) },
                        }
                    }
                }
            });
        rx
    }

    /// `DATA_DIR/codex`.
    pub fn codex_dir(&self) -> PathBuf {
        self.codex.dir()
    }

    /// Brings the codex folder in line with the image and reports the amendments waiting for
    /// approval and any malformed codex file.
    pub fn scan_codex(&self) -> Result<CodexReport> {
        Ok(self.codex.scan()?)
    }

    /// The pending amendments.
    pub fn amendments(&self) -> Vec<Amendment> {
        self.codex.amendments()
    }

    /// Approves amendment `id`: its codex commits to the persona as one cycle, and the
    /// scheduler takes the new model and keep-alive.
    pub async fn approve_amendment(&self, id: &str) -> Result<CycleSummary> {
        Ok(CycleSummary::new(&self.codex.approve(id).await?))
    }

    /// Rejects amendment `id`: the codex file is put back to the codex in force.
    pub fn reject_amendment(&self, id: &str) -> Result<()> {
        Ok(self.codex.reject(id)?)
    }

    /// Watches the codex folder (a supervised service) and returns every scan's report from
    /// now on: the first comes at once.
    pub fn watch_codex(&self) -> Result<broadcast::Receiver<CodexReport>> {
        let dir = self.codex.dir();
        std::fs::create_dir_all(&dir)
            .map_err(|source| Error::DataDirUnwritable { path: dir, source })?;
        let reports = self.codex.subscribe();
        let files = self.codex.clone();
        self.supervisor.service("codex watch", move |shutdown| {
            telos_persona::watch_codex(files.clone(), shutdown)
        });
        Ok(reports)
    }

    /// Every persona with a suspended cycle among the recent ones (its newest).
    pub async fn dissonance(&self) -> Result<Vec<Dissonance>> {
        Ok(telos_persona::dissonance(&self.image).await?)
    }
}

/// Memory: drops, the inbox, recall, health.
impl Telos {
    /// Gives `paths` (files or folders) to `persona` to remember; the stream reports each
    /// file's progress, then the persona's summaries.
    pub fn ingest(&self, persona: &str, paths: &[PathBuf]) -> Result<mpsc::Receiver<IngestEvent>> {
        Ok(self.ingest.give(persona, paths)?)
    }

    /// `DATA_DIR/inbox`.
    pub fn inbox_dir(&self) -> PathBuf {
        self.data_dir.join(telos_ingest::INBOX)
    }

    /// Makes a folder per persona in the inbox and watches it (a supervised service); every
    /// ingest the inbox starts reports on the returned stream, as a drop's does.
    pub fn watch_inbox(&self) -> Result<mpsc::Receiver<InboxEvent>> {
        let dir = self.inbox_dir();
        telos_ingest::make_folders(&dir, &self.image)?;
        let (tx, rx) = mpsc::channel(1024);
        let ingest = self.ingest.clone();
        self.supervisor.service("inbox watch", move |shutdown| {
            telos_ingest::watch_inbox(ingest.clone(), dir.clone(), tx.clone(), shutdown)
        });
        Ok(rx)
    }

    /// The `k` chunks nearest to `query` among what `persona` remembers, or among what every
    /// persona remembers when `persona` is `None`.
    pub async fn recall(
        &self,
        persona: Option<&str>,
        query: &str,
        k: usize,
    ) -> Result<Vec<Recalled>> {
        Ok(telos_persona::recall(&self.memory, persona, query, k).await?)
    }

    /// Memory and the image compared: counts per store, orphans, missing, the index.
    pub async fn doctor(&self) -> Result<Health> {
        Ok(self.memory.doctor().await?)
    }
}

/// The Debugger and the forge.
impl Telos {
    /// The most recent cycles, newest first.
    pub async fn cycles(&self, limit: usize) -> Result<Vec<CycleSummary>> {
        Ok(self
            .image
            .cycles(limit)
            .await?
            .iter()
            .map(CycleSummary::new)
            .collect())
    }

    /// One cycle's trace and program.
    pub async fn cycle(&self, id: &str) -> Result<CycleView> {
        Ok(CycleView::new(&self.image, &self.image.cycle(id).await?))
    }

    /// Replays the first `step` operations of a cycle's program (or of `program`, the user's
    /// edit of it, a JSON operation list) in a cycle that is never committed, and shows what
    /// they stage.
    pub async fn cycle_step(
        &self,
        id: &str,
        step: usize,
        program: Option<&str>,
    ) -> Result<StepState> {
        let stepped = ops::step(&self.image, id, step, edited_program(id, program)?).await?;
        Ok(StepState::new(&self.image, &stepped))
    }

    /// Resumes a suspended cycle: its program as recorded, or `program` (a JSON operation
    /// list, as the user edited it), committed as a new cycle; a forge cycle resumes through
    /// the forge (BRICK gets its attempts again).
    pub async fn resume(&self, id: &str, program: Option<&str>) -> Result<CycleSummary> {
        let program = edited_program(id, program)?;
        // A dialogue goes on from where it broke off (its events are not watched here).
        let record = self.image.cycle(id).await?;
        if program.is_none() && telos_mind::trace(&record).is_some() {
            ops::suspended(&self.image, id).await?;
            let mut events = self.resume_dialogue(id, None).await?;
            while let Some(event) = events.recv().await {
                match event {
                    DialogueEvent::Done { cycle, .. }
                    | DialogueEvent::Failed {
                        cycle: Some(cycle), ..
                    } => return Ok(CycleSummary::new(&self.image.cycle(&cycle).await?)),
                    DialogueEvent::Failed {
                        message,
                        cycle: None,
                    } => return Err(Error::Mind(telos_mind::Error::Resumed(message))),
                    _ => {}
                }
            }
            return Err(Error::Mind(telos_mind::Error::Resumed(
                "the dialogue ended without a word".into(),
            )));
        }
        Ok(CycleSummary::new(
            &self.forge.resume_any(id, program).await?,
        ))
    }

    /// Resumes the dialogue of cycle `id` as a new cycle, its events streamed back: from its
    /// turn `edit.0` (counted from 0) rewritten as `edit.1`, the later turns thought anew, or
    /// (no edit) from where it broke off.
    pub async fn resume_dialogue(
        &self,
        id: &str,
        edit: Option<(u32, String)>,
    ) -> Result<mpsc::Receiver<DialogueEvent>> {
        self.roster.sync();
        Ok(telos_mind::resume(&self.voice, &self.supervisor, id, edit).await?)
    }

    /// Discards a suspended cycle.
    pub async fn discard(&self, id: &str) -> Result<CycleSummary> {
        Ok(CycleSummary::new(&ops::discard(&self.image, id).await?))
    }

    /// Forges `selector` for `receiver`: BRICK writes it, the sandbox tests it, and it is
    /// installed as one cycle.
    pub async fn forge_method(
        &self,
        receiver: &str,
        selector: &str,
        description: &str,
    ) -> Result<ForgeOutcome> {
        Ok(self
            .forge
            .forge(receiver, selector, description, None)
            .await?
            .into())
    }

    /// Resumes a suspended forge cycle, with the user's edit of one attempt's code.
    pub async fn resume_forge(&self, cycle: &str, edit: Option<Edit>) -> Result<ForgeOutcome> {
        Ok(self.forge.resume(cycle, edit).await?.into())
    }
}

fn set(object: &str, slot: &str, value: Value) -> Op {
    Op::Set {
        object: object.to_owned(),
        slot: slot.to_owned(),
        value,
    }
}

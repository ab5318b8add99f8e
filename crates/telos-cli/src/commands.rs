//! One function per command: open Telos, make one call into the core, print the answer.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use telos_core::image::ops;
use telos_core::{ChatEvent, Config, DialogueEvent, IngestEvent, Telos, parse_json};

use crate::learn::{DatasetCommand, Learn};
use crate::show;
use crate::{
    AmendmentsCommand, Cli, Command, CyclesCommand, ModelsCommand, MorphCommand, ObjCommand,
    PersonasCommand, SchedulerCommand,
};

pub async fn run(cli: Cli) -> Result<()> {
    // What-if tools and the sandbox need no image.
    let cli = match crate::scheduler::offline(cli)? {
        Some(cli) => cli,
        None => return Ok(()),
    };
    let cli = match crate::models::offline(cli).await? {
        Some(cli) => cli,
        None => return Ok(()),
    };
    let cli = match crate::sandbox::offline(cli).await? {
        Some(cli) => cli,
        None => return Ok(()),
    };
    let cli = match crate::backup::offline(cli).await? {
        Some(cli) => cli,
        None => return Ok(()),
    };
    // Arguments are checked before the data dir is opened, so bad input touches nothing.
    let work = Work::parse(cli.command)?;
    let config = Config::resolve(cli.data_dir.as_deref(), cli.endpoint.as_deref())?;
    // The app holding the data dir carries the command out, so its windows show the change.
    let Some(work) = crate::remote::forward(&config.data_dir, work, cli.json).await? else {
        return Ok(());
    };
    let telos = Telos::open(config).await?;
    let result = work.run(&telos, cli.json).await;
    let closed = telos.shutdown().await;
    result?;
    closed.context("closing the image")?;
    Ok(())
}

/// A command with its arguments parsed and validated (paths made absolute, files read), as
/// the app beside `telos` receives it.
#[derive(Serialize, Deserialize)]
pub(crate) enum Work {
    Init,
    List,
    Show(String),
    New(String, Vec<String>),
    Set(String, String, Value),
    Clone(String, String),
    Send(String, String, Value),
    Cycles(usize),
    Apply(String, Vec<ops::Op>),
    CycleShow(String),
    CycleStep(String, usize, Option<String>),
    Resume(String, Option<String>),
    ResumeForge(String, u32, String),
    Forge(String, String, String),
    Discard(String),
    Morphs,
    Move(String, f64, f64),
    Pin(String, bool),
    Chat(String, String),
    SchedulerStatus,
    Personas,
    Models,
    /// The question, the most rounds, and the two sides when the user picked them.
    Dialogue(String, u32, Option<[String; 2]>),
    ResumeDialogue(String, u32, String),
    Amendments,
    Approve(String),
    Reject(String),
    /// The paths cross the app's socket as their bytes: a name that is not UTF-8 is a file too.
    Ingest(
        String,
        #[serde(with = "path_bytes")] Vec<std::path::PathBuf>,
    ),
    Recall(Option<String>, String, usize),
    Doctor,
    Mind(crate::mind::Mind),
    Learn(crate::learn::Learn),
    Vsa(crate::vsa::VsaCommand),
    Concepts(crate::concepts::ConceptsCommand),
    Backup(crate::backup::BackupWork),
}

impl Work {
    fn parse(command: Command) -> Result<Self> {
        Ok(match command {
            Command::Init => Work::Init,
            Command::Obj(ObjCommand::Ls) => Work::List,
            Command::Obj(ObjCommand::Show { object }) => Work::Show(object),
            Command::Obj(ObjCommand::New { name, parents }) => Work::New(name, parents),
            Command::Obj(ObjCommand::Set {
                object,
                slot,
                value,
            }) => {
                let value = parse_json(&value, &format!("slot '{slot}' of '{object}'"))?;
                Work::Set(object, slot, value)
            }
            Command::Obj(ObjCommand::Clone { object, new_name }) => Work::Clone(object, new_name),
            Command::Send {
                object,
                selector,
                args,
            } => {
                let args = match args {
                    Some(a) => parse_json(&a, "the arguments")?,
                    None => json!([]),
                };
                Work::Send(object, selector, args)
            }
            Command::Cycles(CyclesCommand::Ls { limit }) => Work::Cycles(limit),
            Command::Cycles(CyclesCommand::Show { cycle }) => Work::CycleShow(cycle),
            Command::Cycles(CyclesCommand::Step { cycle, n, program }) => {
                let program = program.as_deref().map(read_input).transpose()?;
                Work::CycleStep(cycle, n, program)
            }
            Command::Cycles(CyclesCommand::Resume {
                cycle,
                program,
                edit,
            }) => match edit.as_slice() {
                [step, file] => {
                    let step: u32 = step.parse().map_err(|_| {
                        anyhow!("--edit {step:?}: STEP is an attempt's number, e.g. 3")
                    })?;
                    let code = read_input(Path::new(file))?;
                    Work::ResumeForge(cycle, step, code)
                }
                _ => {
                    let program = program.as_deref().map(read_input).transpose()?;
                    Work::Resume(cycle, program)
                }
            },
            Command::Forge {
                object,
                selector,
                task,
            } => Work::Forge(object, selector, task),
            Command::Cycles(CyclesCommand::Discard { cycle }) => Work::Discard(cycle),
            Command::Morph(MorphCommand::Ls) => Work::Morphs,
            Command::Morph(MorphCommand::Move { object, x, y }) => Work::Move(object, x, y),
            Command::Morph(MorphCommand::Pin { object }) => Work::Pin(object, true),
            Command::Morph(MorphCommand::Unpin { object }) => Work::Pin(object, false),
            Command::Ask { persona, message } => Work::Chat(persona, message),
            Command::Dialogue {
                question,
                rounds,
                between,
                resume,
                turn,
            } => {
                if question.trim().is_empty() {
                    return Err(anyhow!(if turn.is_some() {
                        "the turn's new text is empty"
                    } else {
                        "the question is empty"
                    }));
                }
                if let (Some(cycle), Some(turn)) = (resume, turn) {
                    return Ok(Work::ResumeDialogue(cycle, turn, question));
                }
                if !(1..=telos_core::mind::MAX_ROUNDS).contains(&rounds) {
                    return Err(anyhow!(
                        "--rounds {rounds}: from 1 to {}",
                        telos_core::mind::MAX_ROUNDS
                    ));
                }
                let sides = between
                    .map(|b| {
                        <[String; 2]>::try_from(b)
                            .map_err(|b| anyhow!("--between takes two personas, not {b:?}"))
                    })
                    .transpose()?;
                Work::Dialogue(question, rounds, sides)
            }
            Command::Ingest { persona, paths } => Work::Ingest(persona, absolute(paths)?),
            Command::Recall { persona, query, k } => {
                if query.trim().is_empty() {
                    return Err(anyhow!("the recall query is empty"));
                }
                Work::Recall(persona, query, k)
            }
            Command::Doctor => Work::Doctor,
            Command::Vsa(v) => Work::Vsa(v),
            Command::Concepts(c) => Work::Concepts(c),
            Command::Backup(b) => Work::Backup(crate::backup::BackupWork::parse(b)?),
            Command::Motives(_) => Work::Mind(crate::mind::Mind::Motives),
            Command::Agenda(a) => Work::Mind(crate::mind::Mind::Agenda(a)),
            Command::Autonomy { setting } => Work::Mind(crate::mind::Mind::autonomy(setting)?),
            Command::Curate {
                persona,
                limit,
                min_score,
            } => Work::Learn(Learn::Curate(persona, limit, min_score).checked()?),
            Command::Golden { persona, min_score } => {
                Work::Learn(Learn::Golden(persona, min_score).checked()?)
            }
            Command::Dataset(DatasetCommand::Export {
                persona,
                min_score,
                output,
            }) => {
                let output = std::path::absolute(&output)
                    .with_context(|| format!("{}", output.display()))?;
                Work::Learn(Learn::Export(persona, min_score, output).checked()?)
            }
            Command::Train {
                persona,
                base,
                steps,
                min_score,
            } => Work::Learn(Learn::Train(persona, base, steps, min_score).checked()?),
            Command::Ascend(args) => Work::Learn(Learn::ascend(args)?),
            Command::Scheduler(SchedulerCommand::Status) => Work::SchedulerStatus,
            Command::Scheduler(_) => unreachable!("what-if commands run before the image opens"),
            Command::Sandbox(_) => {
                unreachable!("sandbox runs need no image and run before it opens")
            }
            Command::Personas(PersonasCommand::Ls) => Work::Personas,
            Command::Models(ModelsCommand::Ls) => Work::Models,
            Command::Models(ModelsCommand::Pull { .. }) => {
                unreachable!("pulls run before the image opens")
            }
            Command::Amendments(AmendmentsCommand::Ls) => Work::Amendments,
            Command::Amendments(AmendmentsCommand::Approve { id }) => Work::Approve(id),
            Command::Amendments(AmendmentsCommand::Reject { id }) => Work::Reject(id),
            Command::Apply { file } => {
                let text = read_input(&file)?;
                let list = ops::parse_ops(&text)
                    .with_context(|| format!("{} is not a valid operation list", file.display()))?;
                Work::Apply(format!("cli apply {}", file.display()), list)
            }
        })
    }

    pub(crate) async fn run(self, telos: &Telos, json: bool) -> Result<()> {
        let image = telos.image();
        match self {
            Work::Init => {
                let awakened = telos.awakening().is_some();
                let out = json!({
                    "endpoint": image.endpoint(),
                    "awakened": awakened,
                    "objects": image.len(),
                });
                emit(json, &out, || {
                    if awakened {
                        format!(
                            "awakened a new image at {} ({} objects)",
                            image.endpoint(),
                            image.len()
                        )
                    } else {
                        format!(
                            "image at {} is awake ({} objects)",
                            image.endpoint(),
                            image.len()
                        )
                    }
                })
            }
            Work::List => {
                let objects = image.objects();
                let rows: Vec<Value> = objects.iter().map(|o| show::summary(image, o)).collect();
                emit(json, &Value::Array(rows), || show::table(image, &objects))
            }
            Work::Show(name) => {
                let object = image.resolve(&name)?;
                emit(json, &show::detail(image, &object), || {
                    show::describe(image, &object)
                })
            }
            Work::New(name, parents) => {
                let created = telos.create_object(&name, &parents).await?;
                emit(json, &serde_json::to_value(&created)?, || {
                    format!("created {name} ({})", created.id)
                })
            }
            Work::Set(object, slot, value) => {
                let summary = telos.set_slot(&object, &slot, value, "cli obj set").await?;
                let version = image.resolve(&object)?.version;
                let out = json!({ "slot": slot, "version": version, "cycle": summary.id });
                emit(json, &out, || {
                    format!(
                        "{object}.{slot} set (version {version}, cycle {})",
                        summary.id
                    )
                })
            }
            Work::Clone(object, new_name) => {
                let copy = telos.clone_object(&object, Some(&new_name)).await?;
                emit(json, &serde_json::to_value(&copy)?, || {
                    format!("cloned {object} as {new_name} ({})", copy.id)
                })
            }
            Work::Send(object, selector, args) => {
                let value = image.send(&object, &selector, args).await?;
                emit(json, &value, || show::value(&value))
            }
            Work::Cycles(limit) => {
                let cycles = telos.cycles(limit).await?;
                emit(json, &serde_json::to_value(&cycles)?, || {
                    show::cycles(&cycles)
                })
            }
            Work::CycleShow(id) => {
                let view = telos.cycle(&id).await?;
                emit(json, &serde_json::to_value(&view)?, || show::cycle(&view))
            }
            Work::CycleStep(id, n, program) => {
                let state = telos.cycle_step(&id, n, program.as_deref()).await?;
                emit(json, &serde_json::to_value(&state)?, || show::step(&state))
            }
            Work::Resume(id, program) => {
                let summary = telos.resume(&id, program.as_deref()).await?;
                emit(json, &serde_json::to_value(&summary)?, || {
                    format!("resumed {id} as cycle {}", summary.id)
                })
            }
            Work::ResumeForge(id, attempt, code) => {
                let edit = telos_core::Edit { attempt, code };
                let outcome = telos.resume_forge(&id, Some(edit)).await?;
                emit(json, &serde_json::to_value(&outcome)?, || {
                    show::forged(&outcome)
                })
            }
            Work::Forge(object, selector, task) => {
                let outcome = telos.forge_method(&object, &selector, &task).await?;
                emit(json, &serde_json::to_value(&outcome)?, || {
                    show::forged(&outcome)
                })
            }
            Work::Discard(id) => {
                telos.discard(&id).await?;
                emit(json, &json!({ "cycle": id, "discarded": true }), || {
                    format!("discarded {id}")
                })
            }
            Work::Morphs => {
                let world = telos.world();
                emit(json, &serde_json::to_value(&world)?, || {
                    show::morphs(&world)
                })
            }
            Work::Move(object, x, y) => {
                let summary = telos.move_morph(&object, x, y).await?;
                emit(json, &serde_json::to_value(&summary)?, || {
                    format!("moved {object} to ({x}, {y}) in cycle {}", summary.id)
                })
            }
            Work::Pin(object, pinned) => {
                let summary = telos.set_pinned(&object, pinned).await?;
                emit(json, &serde_json::to_value(&summary)?, || {
                    let verb = if pinned { "pinned" } else { "unpinned" };
                    format!("{verb} {object} in cycle {}", summary.id)
                })
            }
            Work::Chat(persona, message) => {
                let mut events = telos.chat(&persona, &message)?;
                let mut failure = None;
                while let Some(event) = events.recv().await {
                    if json {
                        outln!("{}", serde_json::to_string(&event)?);
                    } else {
                        out!("{}", show::chat_event(&event));
                    }
                    match event {
                        ChatEvent::Offline { message } => failure = Some(message),
                        ChatEvent::Failed { message, .. } => failure = Some(message),
                        _ => {}
                    }
                }
                failure.map_or(Ok(()), |m| Err(anyhow!(m)))
            }
            Work::SchedulerStatus => {
                telos.scheduler().refresh().await;
                let status = telos.scheduler_status();
                emit(json, &serde_json::to_value(&status)?, || {
                    show::scheduler(&status)
                })
            }
            Work::Amendments => {
                let report = telos.scan_codex()?;
                emit(json, &serde_json::to_value(&report)?, || {
                    show::amendments(&report)
                })?;
                match report.problems.len() {
                    0 => Ok(()),
                    n => Err(anyhow!(
                        "{n} codex file(s) malformed; the codex in force stays"
                    )),
                }
            }
            Work::Approve(id) => {
                let cycle = telos.approve_amendment(&id).await?;
                emit(json, &serde_json::to_value(&cycle)?, || {
                    format!("approved: committed as cycle {}", cycle.id)
                })
            }
            Work::Reject(id) => {
                telos.reject_amendment(&id)?;
                emit(json, &json!({ "rejected": id }), || {
                    format!("rejected {id}: the codex file is back to the codex in force")
                })
            }
            Work::Dialogue(..) | Work::ResumeDialogue(..) => {
                let mut events = match self {
                    Work::ResumeDialogue(cycle, turn, text) => {
                        telos.resume_dialogue(&cycle, Some((turn, text))).await?
                    }
                    Work::Dialogue(question, rounds, sides) => {
                        let sides = match &sides {
                            Some([a, b]) => [a.as_str(), b.as_str()],
                            None => telos_core::mind::SPEAKERS,
                        };
                        telos.dialogue_between(&question, rounds, sides)?
                    }
                    _ => unreachable!("matched above"),
                };
                let mut failure = None;
                while let Some(event) = events.recv().await {
                    if json {
                        outln!("{}", serde_json::to_string(&event)?);
                    } else {
                        out!("{}", show::dialogue_event(&event));
                    }
                    if let DialogueEvent::Failed { message, cycle } = event {
                        failure = Some(match cycle {
                            Some(c) => format!("{message} (its trace: telos cycles show {c})"),
                            None => message,
                        });
                    }
                }
                failure.map_or(Ok(()), |m| Err(anyhow!(m)))
            }
            Work::Mind(mind) => crate::mind::run(telos, mind, json).await,
            Work::Learn(learn) => crate::learn::run(telos, learn, json).await,
            Work::Vsa(v) => crate::vsa::run(telos, v, json).await,
            Work::Concepts(c) => crate::concepts::run(telos, c, json).await,
            Work::Backup(b) => crate::backup::run(telos, b, json).await,
            Work::Models => {
                let models = telos.models().await;
                emit(json, &serde_json::to_value(&models)?, || {
                    show::models(&models)
                })
            }
            Work::Personas => {
                let personas = telos.personas().await;
                emit(json, &serde_json::to_value(&personas)?, || {
                    show::personas(&personas)
                })
            }
            Work::Ingest(persona, paths) => {
                let mut events = telos.ingest(&persona, &paths)?;
                let mut line = show::ProgressLine::new();
                let mut summary = None;
                // What the persona says of each new document, after the files are done.
                let mut said = Vec::new();
                while let Some(event) = events.recv().await {
                    match event {
                        IngestEvent::Finished(s) => {
                            line.finish();
                            summary = Some(s);
                        }
                        IngestEvent::Summary { .. } => {}
                        IngestEvent::SummaryDone { path, text } => {
                            said.push(json!({ "path": path, "summary": text }));
                        }
                        IngestEvent::SummaryFailed { path, message } => {
                            said.push(json!({ "path": path, "error": message }));
                        }
                        other => line.show(&other),
                    }
                }
                // An index build the drop started would die with this process.
                if telos.memory().index_building() {
                    line.note("building the memory index");
                    telos.memory().index_settled().await;
                }
                line.finish();
                let summary =
                    summary.ok_or_else(|| anyhow!("the ingest stopped before it finished"))?;
                let mut out = serde_json::to_value(&summary)?;
                out["summaries"] = Value::Array(said.clone());
                emit(json, &out, || show::ingest(&summary, &said))?;
                match summary.failed.len() {
                    0 => Ok(()),
                    1 => Err(anyhow!("1 file could not be remembered")),
                    n => Err(anyhow!("{n} files could not be remembered")),
                }
            }
            Work::Recall(persona, query, k) => {
                let hits = telos.recall(persona.as_deref(), &query, k).await?;
                // the concepts show beside the chunks; the JSON stays the list of chunks
                let concepts = if json {
                    Vec::new()
                } else {
                    telos.recall_concepts(persona.as_deref(), &query, 3).await?
                };
                emit(json, &serde_json::to_value(&hits)?, || {
                    show::recall(&hits, &concepts)
                })
            }
            Work::Doctor => {
                let health = telos.doctor().await?;
                emit(json, &serde_json::to_value(&health)?, || {
                    show::doctor(&health)
                })
            }
            Work::Apply(trigger, list) => {
                let record = ops::apply(image, &trigger, &list).await?;
                let out = serde_json::to_value(&record)?;
                emit(json, &out, || {
                    format!(
                        "applied {} operations in cycle {} ({} objects changed)",
                        list.len(),
                        record.id,
                        record.objects.len()
                    )
                })
            }
        }
    }
}

pub(crate) fn emit(json: bool, value: &Value, human: impl FnOnce() -> String) -> Result<()> {
    if json {
        outln!("{}", serde_json::to_string_pretty(value)?);
    } else {
        outln!("{}", human());
    }
    Ok(())
}

/// `paths` made absolute: the app carrying a command out has a working dir of its own.
fn absolute(paths: Vec<std::path::PathBuf>) -> Result<Vec<std::path::PathBuf>> {
    paths
        .into_iter()
        .map(|p| std::path::absolute(&p).with_context(|| format!("{}", p.display())))
        .collect()
}

fn read_input(file: &Path) -> Result<String> {
    let mut bytes = Vec::new();
    if file == Path::new("-") {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("reading operations from stdin")?;
    } else {
        bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow!(
            "{} is not UTF-8 text (invalid byte at offset {})",
            file.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// Paths as their bytes (JSON arrays of numbers), so that any name the OS allows crosses the
/// app's socket unchanged; JSON strings hold only UTF-8.
mod path_bytes {
    use std::os::unix::ffi::OsStringExt;
    use std::path::PathBuf;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(paths: &[PathBuf], s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<&[u8]> = paths
            .iter()
            .map(|p| p.as_os_str().as_encoded_bytes())
            .collect();
        bytes.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
        let bytes = Vec::<Vec<u8>>::deserialize(d)?;
        Ok(bytes
            .into_iter()
            .map(|b| PathBuf::from(std::ffi::OsString::from_vec(b)))
            .collect())
    }
}

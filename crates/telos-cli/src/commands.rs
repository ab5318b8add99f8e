//! One function per command: open Telos, make one call into the core, print the answer.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use serde_json::{Value, json};
use telos_core::image::ops;
use telos_core::{Config, Telos};

use crate::show;
use crate::{Cli, Command, CyclesCommand, ObjCommand};

pub async fn run(cli: Cli) -> Result<()> {
    // Arguments are checked before the data dir is opened, so bad input touches nothing.
    let work = Work::parse(cli.command)?;
    let config = Config::resolve(cli.data_dir.as_deref(), cli.endpoint.as_deref())?;
    let telos = Telos::open(config).await?;
    let result = work.run(&telos, cli.json).await;
    let closed = telos.shutdown().await;
    result?;
    closed.context("closing the image")?;
    Ok(())
}

/// A command with its arguments parsed and validated.
enum Work {
    Init,
    List,
    Show(String),
    New(String, Vec<String>),
    Set(String, String, Value),
    Clone(String, String),
    Send(String, String, Value),
    Cycles(usize),
    Apply(String, Vec<ops::Op>),
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
                let text = value;
                let value = parse_json(&text).with_context(|| {
                    format!(
                        "invalid JSON for slot '{slot}' of '{object}': {}",
                        excerpt(&text)
                    )
                })?;
                Work::Set(object, slot, value)
            }
            Command::Obj(ObjCommand::Clone { object, new_name }) => Work::Clone(object, new_name),
            Command::Send {
                object,
                selector,
                args,
            } => {
                let args = match args {
                    Some(a) => parse_json(&a)
                        .with_context(|| format!("invalid JSON arguments: {}", excerpt(&a)))?,
                    None => json!([]),
                };
                Work::Send(object, selector, args)
            }
            Command::Cycles(CyclesCommand::Ls { limit }) => Work::Cycles(limit),
            Command::Apply { file } => {
                let text = read_input(&file)?;
                let list = ops::parse_ops(&text)
                    .with_context(|| format!("{} is not a valid operation list", file.display()))?;
                Work::Apply(format!("cli apply {}", file.display()), list)
            }
        })
    }

    async fn run(self, telos: &Telos, json: bool) -> Result<()> {
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
                let mut cycle = image.begin("cli obj new");
                let parents = parents
                    .iter()
                    .map(|p| cycle.resolve(p))
                    .collect::<Result<Vec<_>, _>>()?;
                let id = cycle.create(&name, &parents)?;
                let record = cycle.commit().await?;
                let out = json!({ "id": id, "name": name, "cycle": record.id });
                emit(json, &out, || {
                    format!("created {name} ({id}) in cycle {}", record.id)
                })
            }
            Work::Set(object, slot, value) => {
                let mut cycle = image.begin("cli obj set");
                let id = cycle.resolve(&object)?;
                cycle.set_slot(&id, &slot, value)?;
                let record = cycle.commit().await?;
                let version = image.get(&id)?.version;
                let out = json!({ "id": id, "slot": slot, "version": version, "cycle": record.id });
                emit(json, &out, || {
                    format!(
                        "{object}.{slot} set (version {version}, cycle {})",
                        record.id
                    )
                })
            }
            Work::Clone(object, new_name) => {
                let mut cycle = image.begin("cli obj clone");
                let id = cycle.resolve(&object)?;
                let new_id = cycle.clone_object(&id, &new_name)?;
                let record = cycle.commit().await?;
                let out = json!({ "id": new_id, "name": new_name, "cycle": record.id });
                emit(json, &out, || {
                    format!("cloned {object} as {new_name} ({new_id})")
                })
            }
            Work::Send(object, selector, args) => {
                let value = image.send(&object, &selector, args).await?;
                emit(json, &value, || show::value(&value))
            }
            Work::Cycles(limit) => {
                let cycles = image.cycles(limit).await?;
                emit(json, &serde_json::to_value(&cycles)?, || {
                    show::cycles(&cycles)
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

fn emit(json: bool, value: &Value, human: impl FnOnce() -> String) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{}", human());
    }
    Ok(())
}

fn parse_json(text: &str) -> serde_json::Result<Value> {
    serde_json::from_str(text)
}

/// The start of a long argument, for error messages.
fn excerpt(text: &str) -> String {
    let mut short: String = text.chars().take(60).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    format!("'{short}'")
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

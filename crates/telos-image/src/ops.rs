//! Operation lists: a JSON array of edits applied as one cycle, all or nothing
//! (`telos apply FILE`, and the UI's batched edits).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cycle::{Cycle, CycleRecord, Resolution};
use crate::error::{Error, Result};
use crate::image::Image;

/// One edit. Objects are named by name or id; names created earlier in the list can be used
/// by later operations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Op {
    /// Create an object with these parents (priority order).
    New {
        name: String,
        #[serde(default)]
        parents: Vec<String>,
    },
    /// Set a slot on an object.
    Set {
        object: String,
        slot: String,
        value: Value,
    },
    /// Shallow-clone an object under a new name.
    Clone { object: String, name: String },
    /// Delete an object (refused while another object delegates to it).
    Delete { object: String },
    /// Append a lowest-priority parent.
    AddParent { object: String, parent: String },
    /// Remove a slot the object itself holds (nothing if it has none).
    RemoveSlot { object: String, slot: String },
    /// Append `value` to the list in a slot (a missing slot is an empty list), keeping only the
    /// newest `keep` entries when given. Read and write are one staged step, so a concurrent
    /// append conflicts instead of being lost.
    Append {
        object: String,
        slot: String,
        value: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        keep: Option<usize>,
    },
}

impl Op {
    fn apply(&self, c: &mut Cycle) -> Result<()> {
        match self {
            Op::New { name, parents } => {
                let parents = parents
                    .iter()
                    .map(|p| c.resolve(p))
                    .collect::<Result<Vec<_>>>()?;
                c.create(name, &parents).map(drop)
            }
            Op::Set {
                object,
                slot,
                value,
            } => {
                let id = c.resolve(object)?;
                c.set_slot(&id, slot, value.clone())
            }
            Op::Clone { object, name } => {
                let id = c.resolve(object)?;
                c.clone_object(&id, name).map(drop)
            }
            Op::Delete { object } => {
                let id = c.resolve(object)?;
                c.delete(&id)
            }
            Op::AddParent { object, parent } => {
                let id = c.resolve(object)?;
                let parent = c.resolve(parent)?;
                c.add_parent(&id, &parent)
            }
            Op::RemoveSlot { object, slot } => {
                let id = c.resolve(object)?;
                c.remove_slot(&id, slot).map(drop)
            }
            Op::Append {
                object,
                slot,
                value,
                keep,
            } => {
                let id = c.resolve(object)?;
                c.append(&id, slot, value.clone(), *keep)
            }
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Op::New { .. } => "new",
            Op::Set { .. } => "set",
            Op::Clone { .. } => "clone",
            Op::Delete { .. } => "delete",
            Op::AddParent { .. } => "add-parent",
            Op::RemoveSlot { .. } => "remove-slot",
            Op::Append { .. } => "append",
        }
    }
}

/// Parses an operation list.
pub fn parse_ops(text: &str) -> serde_json::Result<Vec<Op>> {
    serde_json::from_str(text)
}

/// Applies `ops` as one cycle. The first failing operation aborts the cycle and is named in
/// the error; the aborted cycle is kept *suspended* (its program, the steps staged before the
/// failure, the error) for the Debugger.
pub async fn apply(image: &Image, trigger: &str, ops: &[Op]) -> Result<CycleRecord> {
    apply_resuming(image, trigger, ops, None).await
}

async fn apply_resuming(
    image: &Image,
    trigger: &str,
    ops: &[Op],
    resumes: Option<CycleRecord>,
) -> Result<CycleRecord> {
    let staged = stage(image, trigger, ops);
    let staged = match (staged, resumes) {
        (Ok(mut cycle), Some(original)) => {
            cycle.set_resumes(original);
            Ok(cycle)
        }
        (Err(mut failed), Some(original)) => {
            failed.cycle.set_resumes(original);
            Err(failed)
        }
        (staged, None) => staged,
    };
    match staged {
        Ok(cycle) => cycle.commit().await,
        Err(failed) => {
            let Failed {
                cycle,
                index,
                error,
            } = *failed;
            cycle.abort_at(&error.to_string(), Some(index)).await?;
            Err(error)
        }
    }
}

/// A program that failed while staging: the cycle as far as it got, and which operation failed.
pub struct Failed {
    pub cycle: Cycle,
    pub index: usize,
    pub error: Error,
}

/// Stages `ops` in a new cycle without committing it: what the Debugger shows when it steps
/// through a program.
pub fn stage(image: &Image, trigger: &str, ops: &[Op]) -> std::result::Result<Cycle, Box<Failed>> {
    let mut cycle = image.begin(trigger);
    cycle.set_program(ops);
    for (index, op) in ops.iter().enumerate() {
        if let Err(e) = op.apply(&mut cycle) {
            let error = Error::Operation {
                index,
                op: op.name(),
                error: Box::new(e),
            };
            return Err(Box::new(Failed {
                cycle,
                index,
                error,
            }));
        }
    }
    Ok(cycle)
}

/// Resumes a suspended cycle: runs its program (or `edited`, the program as the user fixed it)
/// as a new cycle. When that commits, the suspended cycle is marked resumed in the same
/// transaction and the new record returned. When it fails, the new attempt is suspended in its
/// turn, the old one is marked superseded by it (again in one transaction), and the error is
/// returned: one failure is only ever resumable once.
pub async fn resume(image: &Image, cycle: &str, edited: Option<Vec<Op>>) -> Result<CycleRecord> {
    let _claim = image.claim(cycle)?;
    let suspended = suspended(image, cycle).await?;
    let program = match (edited, &suspended.program) {
        (Some(ops), _) => ops,
        (None, Some(ops)) => ops.clone(),
        // A task's cycle (the forge's) is resumed by its owner, not as a program.
        (None, None) => return Err(Error::NoProgram(cycle.to_owned())),
    };
    let trigger = format!("debugger resume {cycle}");
    apply_resuming(image, &trigger, &program, Some(suspended)).await
}

/// Discards a suspended cycle: it stays aborted, and the Debugger stops offering to resume it.
pub async fn discard(image: &Image, cycle: &str) -> Result<CycleRecord> {
    let _claim = image.claim(cycle)?;
    let mut suspended = suspended(image, cycle).await?;
    suspended.resolution = Some(Resolution::Discarded);
    image
        .rewrite_records(std::slice::from_ref(&suspended))
        .await?;
    Ok(suspended)
}

/// The record of `cycle` if it is suspended (else `NotSuspended`).
pub async fn suspended(image: &Image, cycle: &str) -> Result<CycleRecord> {
    let record = image.cycle(cycle).await?;
    if !record.is_suspended() {
        return Err(Error::NotSuspended(cycle.to_owned()));
    }
    Ok(record)
}

/// What the first operations of a cycle's program stage: the uncommitted cycle (dropping it
/// writes nothing, not even a record) and why the last one applied failed, if it did.
pub struct Stepped {
    pub cycle: Cycle,
    /// Operations applied (0 = before the first).
    pub step: usize,
    /// Operations in the program.
    pub of: usize,
    pub error: Option<Error>,
}

/// Replays the first `upto` operations of `cycle`'s program (or of `edited`, the user's
/// version of it) against the image as it is now, in a cycle that is never committed: what
/// the Debugger shows when it steps.
pub async fn step(
    image: &Image,
    cycle: &str,
    upto: usize,
    edited: Option<Vec<Op>>,
) -> Result<Stepped> {
    let record = image.cycle(cycle).await?;
    let recorded = record
        .program
        .ok_or_else(|| Error::NoProgram(cycle.to_owned()))?;
    let program = edited.unwrap_or(recorded);
    let upto = upto.min(program.len());
    let trigger = format!("debugger step {cycle}");
    let (staged, error) = match stage(image, &trigger, &program[..upto]) {
        Ok(staged) => (staged, None),
        Err(failed) => (failed.cycle, Some(failed.error)),
    };
    Ok(Stepped {
        cycle: staged,
        step: upto,
        of: program.len(),
        error,
    })
}

/// Longest object name, in bytes.
const MAX_NAME_BYTES: usize = 128;

/// "NAME copy", or "NAME copy N" for the first free N, cut to fit the name limit: the name
/// a clone gets when the user gives none.
pub fn free_copy_name(image: &Image, name: &str) -> String {
    // Room for " copy 99999"; cut at a character boundary.
    let mut end = name.len().min(MAX_NAME_BYTES - 11);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    let stem = name[..end].trim_end();
    let taken = |n: &str| image.resolve(n).is_ok();
    let first = format!("{stem} copy");
    if !taken(&first) {
        return first;
    }
    (2..)
        .map(|i| format!("{stem} copy {i}"))
        .find(|n| !taken(n))
        .unwrap_or(first)
}

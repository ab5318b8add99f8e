//! Operation lists: a JSON array of edits applied as one cycle, all or nothing
//! (`telos apply FILE`, and the UI's batched edits).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cycle::{Cycle, CycleRecord};
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
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Op::New { .. } => "new",
            Op::Set { .. } => "set",
            Op::Clone { .. } => "clone",
            Op::Delete { .. } => "delete",
            Op::AddParent { .. } => "add-parent",
        }
    }
}

/// Parses an operation list.
pub fn parse_ops(text: &str) -> serde_json::Result<Vec<Op>> {
    serde_json::from_str(text)
}

/// Applies `ops` as one cycle. The first failing operation aborts the cycle (recorded as
/// aborted, with the steps staged before it) and is named in the error.
pub async fn apply(image: &Image, trigger: &str, ops: &[Op]) -> Result<CycleRecord> {
    let mut cycle = image.begin(trigger);
    for (index, op) in ops.iter().enumerate() {
        if let Err(e) = op.apply(&mut cycle) {
            let error = Error::Operation {
                index,
                op: op.name(),
                error: Box::new(e),
            };
            cycle.abort(&error.to_string()).await?;
            return Err(error);
        }
    }
    cycle.commit().await
}

//! The image in a backup: a full backup holds its dump; an incremental holds the change since
//! its parent (objects written or deleted, cycle records added, rewritten or pruned), found by
//! comparing each object's version and each record's hash with the parent's state.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use telos_image::{CycleRecord, Dump, Object};

use crate::error::{Error, Result};

/// Each object's version and each cycle record's hash, at one cut.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub objects: BTreeMap<String, u64>,
    pub cycles: BTreeMap<String, String>,
}

/// The image's change between two cuts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    pub cycle: Option<String>,
    /// Objects created or changed since, whole.
    pub objects: Vec<Object>,
    pub deleted: Vec<String>,
    /// Cycle records added or rewritten (a suspended cycle resolved) since.
    pub cycles: Vec<CycleRecord>,
    /// Records pruned from the history since.
    pub cycles_gone: Vec<String>,
}

fn record_hash(record: &CycleRecord) -> Result<String> {
    let text = serde_json::to_vec(record).map_err(|e| Error::Bad(format!("cycle record: {e}")))?;
    Ok(crate::repo::hex(&Sha256::digest(&text)))
}

impl State {
    pub fn of(dump: &Dump) -> Result<Self> {
        Ok(Self {
            objects: dump
                .objects
                .iter()
                .map(|o| (o.id.to_string(), o.version))
                .collect(),
            cycles: dump
                .cycles
                .iter()
                .map(|c| Ok((c.id.clone(), record_hash(c)?)))
                .collect::<Result<_>>()?,
        })
    }
}

impl Delta {
    /// What changed from `before` to `now`.
    pub fn between(before: &State, now: &Dump) -> Result<Self> {
        let current = State::of(now)?;
        let objects = now
            .objects
            .iter()
            .filter(|o| before.objects.get(o.id.as_str()) != Some(&o.version))
            .cloned()
            .collect();
        let deleted = before
            .objects
            .keys()
            .filter(|id| !current.objects.contains_key(*id))
            .cloned()
            .collect();
        let cycles = now
            .cycles
            .iter()
            .filter(|c| before.cycles.get(&c.id) != current.cycles.get(&c.id))
            .cloned()
            .collect();
        let cycles_gone = before
            .cycles
            .keys()
            .filter(|id| !current.cycles.contains_key(*id))
            .cloned()
            .collect();
        Ok(Self {
            cycle: now.cycle.clone(),
            objects,
            deleted,
            cycles,
            cycles_gone,
        })
    }
}

/// The dump a full backup's image and its incrementals' changes make, applied in order.
pub fn replay(mut dump: Dump, deltas: impl IntoIterator<Item = Delta>) -> Dump {
    for delta in deltas {
        let mut objects: HashMap<String, Object> = dump
            .objects
            .drain(..)
            .map(|o| (o.id.to_string(), o))
            .collect();
        for id in &delta.deleted {
            objects.remove(id);
        }
        for o in delta.objects {
            objects.insert(o.id.to_string(), o);
        }
        let mut cycles: BTreeMap<String, CycleRecord> =
            dump.cycles.drain(..).map(|c| (c.id.clone(), c)).collect();
        for id in &delta.cycles_gone {
            cycles.remove(id);
        }
        for c in delta.cycles {
            cycles.insert(c.id.clone(), c);
        }
        let mut objects: Vec<Object> = objects.into_values().collect();
        objects.sort_by(|a, b| a.id.cmp(&b.id));
        dump.objects = objects;
        dump.cycles = cycles.into_values().collect();
        dump.cycle = delta.cycle;
    }
    dump
}

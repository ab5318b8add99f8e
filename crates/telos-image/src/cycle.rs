//! Transactions of thought: a cycle stages every write in memory and commits them in one
//! database transaction, or aborts leaving nothing.
//!
//! A cycle never holds a database transaction while it works (cycles wait minutes on models):
//! it copies each object it changes on first write, remembering the version it started from,
//! and the commit checks those versions inside the transaction. Reads inside a cycle see its
//! own writes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::image::Image;
use crate::lookup::{Found, lookup_in};
use crate::object::{Method, Object, ObjectId, check_name, check_selector, encode_slot, now_ms};
use crate::ops::Op;

/// How a cycle ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CycleStatus {
    Committed,
    Aborted,
}

/// One staged operation of a cycle, kept for history and the Debugger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// `create`, `set`, `remove-slot`, `set-method`, `add-parent`, `set-parents`, `clone`, `delete`.
    pub op: String,
    /// The operation's arguments as given.
    pub detail: Value,
}

/// The history entry of a finished cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleRecord {
    pub id: String,
    /// What started it: `cli apply FILE`, `genesis`, `ui slot edit`, …
    pub trigger: String,
    pub status: CycleStatus,
    /// Objects the cycle changed (or would have, when aborted).
    pub objects: Vec<ObjectId>,
    pub steps: Vec<Step>,
    /// Why an aborted cycle stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The operation list the cycle ran, when it came from one (`telos apply`, the UI's
    /// edits): an aborted cycle that has one is *suspended*, and the Debugger can step it,
    /// edit it and resume it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<Vec<Op>>,
    /// The outside work a cycle did, when it was not an operation list: what its owner (the
    /// Tool Forge) needs to show it step by step and to resume it. An aborted cycle with a
    /// task is suspended like one with a program.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<Value>,
    /// Which operation failed; the program's length when the commit itself failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_at: Option<usize>,
    /// What became of a suspended cycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// Milliseconds since the Unix epoch.
    pub started: i64,
    pub ended: i64,
}

impl CycleRecord {
    /// An aborted cycle the Debugger can still resume or discard.
    pub fn is_suspended(&self) -> bool {
        self.status == CycleStatus::Aborted
            && (self.program.is_some() || self.task.is_some())
            && self.resolution.is_none()
    }
}

/// What the user did with a suspended cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Resolution {
    /// Resumed: its (possibly edited) program committed as `cycle`.
    Resumed { cycle: String },
    /// Resumed, but that attempt failed too: `cycle`, suspended in its turn, carries on.
    Superseded { cycle: String },
    /// Discarded: left aborted for good.
    Discarded,
}

/// One object a cycle has staged, beside what is committed, for the Debugger's view.
#[derive(Debug, Clone)]
pub struct StagedObject {
    pub id: ObjectId,
    /// The committed object (`None` when the cycle created it).
    pub committed: Option<Arc<Object>>,
    /// The object as the cycle would commit it (`None` when the cycle deleted it).
    pub staged: Option<Object>,
}

/// A staged object: `base` is the committed version it was copied from (`None` if the cycle
/// created it); `object` is `None` once the cycle deleted it.
#[derive(Debug, Clone)]
pub(crate) struct Staged {
    pub(crate) base: Option<u64>,
    pub(crate) object: Option<Object>,
}

/// A cycle of thought in progress. Dropping it without `commit` discards it (record nothing);
/// `abort` records it as aborted.
pub struct Cycle {
    image: Image,
    id: String,
    trigger: String,
    started: i64,
    staged: IndexMap<ObjectId, Staged>,
    /// The names of the objects this cycle created (names never change, so a committed
    /// object's name is looked up in the image): resolving a name is not a scan of `staged`.
    created: HashMap<String, ObjectId>,
    steps: Vec<Step>,
    program: Option<Vec<Op>>,
    task: Option<Value>,
    /// The suspended cycle this one resumes; its resolution is written with this cycle's end.
    resumes: Option<CycleRecord>,
}

impl Cycle {
    pub(crate) fn new(image: Image, trigger: &str) -> Self {
        Self {
            image,
            id: crate::object::fresh_ulid(),
            trigger: trigger.to_owned(),
            started: now_ms(),
            staged: IndexMap::new(),
            created: HashMap::new(),
            steps: Vec::new(),
            program: None,
            task: None,
            resumes: None,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The object as this cycle sees it.
    pub fn get(&self, id: &ObjectId) -> Result<Arc<Object>> {
        match self.staged.get(id) {
            Some(Staged {
                object: Some(o), ..
            }) => Ok(Arc::new(o.clone())),
            Some(Staged { object: None, .. }) => Err(Error::UnknownObject(id.to_string())),
            None => self.image.get(id),
        }
    }

    /// Finds an object by id or name, as this cycle sees the image.
    pub fn resolve(&self, name_or_id: &str) -> Result<ObjectId> {
        if let Some(id) = ObjectId::parse(name_or_id) {
            return self.get(&id).map(|o| o.id.clone());
        }
        let live =
            |id: &ObjectId| !matches!(self.staged.get(id), Some(Staged { object: None, .. }));
        if let Some(id) = self.created.get(name_or_id).filter(|id| live(id)) {
            return Ok(id.clone());
        }
        match self.image.id_of(name_or_id) {
            Some(id) if live(&id) => Ok(id),
            _ => Err(Error::UnknownObject(name_or_id.to_owned())),
        }
    }

    /// Looks `selector` up from `receiver` through its parents, seeing this cycle's writes.
    pub fn lookup(&self, receiver: &ObjectId, selector: &str) -> Result<Option<Found>> {
        lookup_in(receiver, selector, |id| self.get(id).ok())
    }

    /// Creates an object with the given parents (in priority order).
    pub fn create(&mut self, name: &str, parents: &[ObjectId]) -> Result<ObjectId> {
        self.check_new_name(name)?;
        for p in parents {
            self.get(p)?;
        }
        let object = Object::new(name.to_owned(), dedup(parents), now_ms());
        let id = object.id.clone();
        self.created.insert(name.to_owned(), id.clone());
        self.staged.insert(
            id.clone(),
            Staged {
                base: None,
                object: Some(object),
            },
        );
        self.step(
            "create",
            json!({ "name": name, "id": id, "parents": parents }),
        );
        Ok(id)
    }

    /// Sets a slot on the object itself (never on a parent).
    pub fn set_slot(&mut self, id: &ObjectId, slot: &str, value: Value) -> Result<()> {
        check_selector(slot)?;
        // Checked before staging, so a refused value leaves the object unstaged.
        encode_slot(&self.get(id)?.name, slot, &value)?;
        self.stage(id)?.slots.insert(slot.to_owned(), value.clone());
        self.step("set", json!({ "object": id, "slot": slot, "value": value }));
        Ok(())
    }

    /// Appends `value` to the list in a slot (a missing slot is an empty list), keeping only
    /// the newest `keep` entries when given. The step records the entry appended, not the
    /// list: a chat's record holds its exchange, not the whole scrapbook.
    pub fn append(
        &mut self,
        id: &ObjectId,
        slot: &str,
        value: Value,
        keep: Option<usize>,
    ) -> Result<()> {
        check_selector(slot)?;
        let object = self.get(id)?;
        let mut list = match object.slots.get(slot) {
            Some(Value::Array(list)) => list.clone(),
            Some(Value::Null) | None => Vec::new(),
            Some(_) => return Err(Error::NotAList(slot.to_owned())),
        };
        list.push(value.clone());
        if let Some(keep) = keep {
            let excess = list.len().saturating_sub(keep);
            list.drain(..excess);
        }
        let list = Value::Array(list);
        encode_slot(&object.name, slot, &list)?;
        self.stage(id)?.slots.insert(slot.to_owned(), list);
        let mut detail = json!({ "object": id, "slot": slot, "value": value });
        if let Some(keep) = keep {
            detail["keep"] = json!(keep);
        }
        self.step("append", detail);
        Ok(())
    }

    /// Removes a slot the object itself holds; true if there was one.
    pub fn remove_slot(&mut self, id: &ObjectId, slot: &str) -> Result<bool> {
        let removed = self.stage(id)?.slots.shift_remove(slot).is_some();
        self.step("remove-slot", json!({ "object": id, "slot": slot }));
        Ok(removed)
    }

    /// Installs (or replaces) a method on the object.
    pub fn set_method(&mut self, id: &ObjectId, selector: &str, method: Method) -> Result<()> {
        check_selector(selector)?;
        let detail = json!({ "object": id, "selector": selector, "method": method });
        self.stage(id)?.methods.insert(selector.to_owned(), method);
        self.step("set-method", detail);
        Ok(())
    }

    /// Appends `parent` as the object's lowest-priority parent. Refuses a delegation loop.
    pub fn add_parent(&mut self, id: &ObjectId, parent: &ObjectId) -> Result<()> {
        let current = self.get(id)?;
        if current.parents.contains(parent) {
            return Err(Error::AlreadyAParent(
                self.describe(parent),
                current.name.clone(),
            ));
        }
        let mut parents = current.parents.clone();
        parents.push(parent.clone());
        self.check_no_loop(id, &parents)?;
        self.stage(id)?.parents = parents;
        self.step("add-parent", json!({ "object": id, "parent": parent }));
        Ok(())
    }

    /// Replaces the object's parents (in priority order). Refuses a delegation loop.
    pub fn set_parents(&mut self, id: &ObjectId, parents: &[ObjectId]) -> Result<()> {
        let parents = dedup(parents);
        self.check_no_loop(id, &parents)?;
        self.stage(id)?.parents = parents.clone();
        self.step("set-parents", json!({ "object": id, "parents": parents }));
        Ok(())
    }

    /// Appends `to` to the object's `relation` links (a graph edge `id -relation-> to`).
    /// Linking a target twice is a no-op.
    pub fn link(&mut self, id: &ObjectId, relation: &str, to: &ObjectId) -> Result<()> {
        check_selector(relation)?;
        self.get(to)?;
        let targets = self
            .stage(id)?
            .links
            .entry(relation.to_owned())
            .or_default();
        if !targets.contains(to) {
            targets.push(to.clone());
        }
        self.step(
            "link",
            json!({ "object": id, "relation": relation, "to": to }),
        );
        Ok(())
    }

    /// Replaces the object's `relation` links with `targets` (in order); an empty list removes
    /// the relation.
    pub fn set_links(&mut self, id: &ObjectId, relation: &str, targets: &[ObjectId]) -> Result<()> {
        check_selector(relation)?;
        for t in targets {
            self.get(t)?;
        }
        let targets = dedup(targets);
        let object = self.stage(id)?;
        if targets.is_empty() {
            object.links.shift_remove(relation);
        } else {
            object.links.insert(relation.to_owned(), targets.clone());
        }
        self.step(
            "set-links",
            json!({ "object": id, "relation": relation, "to": targets }),
        );
        Ok(())
    }

    /// Self's shallow clone: a new object with copies of the slots and methods and the same
    /// parents. Changing the clone never changes the original. Links are not copied: they
    /// are what the original holds (a persona's memories), not what it is.
    pub fn clone_object(&mut self, id: &ObjectId, new_name: &str) -> Result<ObjectId> {
        self.check_new_name(new_name)?;
        let original = self.get(id)?;
        let mut copy = Object::new(new_name.to_owned(), original.parents.clone(), now_ms());
        copy.slots = original.slots.clone();
        copy.methods = original.methods.clone();
        let new_id = copy.id.clone();
        self.created.insert(new_name.to_owned(), new_id.clone());
        self.staged.insert(
            new_id.clone(),
            Staged {
                base: None,
                object: Some(copy),
            },
        );
        self.step(
            "clone",
            json!({ "object": id, "name": new_name, "id": new_id }),
        );
        Ok(new_id)
    }

    /// Deletes an object. Refused while another object delegates or links to it.
    pub fn delete(&mut self, id: &ObjectId) -> Result<()> {
        self.delete_all(std::slice::from_ref(id))
    }

    /// Deletes several objects with one look over the image (a document's chunks). Refused,
    /// deleting none, while an object outside the set delegates or links to one of them.
    pub fn delete_all(&mut self, ids: &[ObjectId]) -> Result<()> {
        let doomed: HashSet<&ObjectId> = ids.iter().collect();
        let objects = ids
            .iter()
            .map(|id| self.get(id))
            .collect::<Result<Vec<_>>>()?;
        let name_of = |id: &ObjectId| {
            objects
                .iter()
                .find(|o| &o.id == id)
                .map_or_else(|| id.to_string(), |o| o.name.clone())
        };
        for other in self.view_ids() {
            if doomed.contains(&other) {
                continue;
            }
            let Ok(o) = self.get(&other) else { continue };
            if let Some(p) = o.parents.iter().find(|p| doomed.contains(p)) {
                return Err(Error::StillAParent {
                    object: name_of(p),
                    child: o.name.clone(),
                });
            }
            for (relation, targets) in &o.links {
                if let Some(t) = targets.iter().find(|t| doomed.contains(t)) {
                    return Err(Error::StillLinked {
                        object: name_of(t),
                        from: o.name.clone(),
                        relation: relation.clone(),
                    });
                }
            }
        }
        for object in objects {
            match self.staged.get_mut(&object.id) {
                Some(s) => s.object = None,
                None => {
                    self.staged.insert(
                        object.id.clone(),
                        Staged {
                            base: Some(object.version),
                            object: None,
                        },
                    );
                }
            }
            self.step(
                "delete",
                json!({ "object": object.id, "name": object.name }),
            );
        }
        Ok(())
    }

    /// Records an outside step (a model call, a sandbox run) in the cycle's trace.
    pub fn note(&mut self, op: &str, detail: Value) {
        self.step(op, detail);
    }

    /// Every object this cycle has staged, beside its committed state, in staging order.
    pub fn staged(&self) -> Vec<StagedObject> {
        self.staged
            .iter()
            .map(|(id, s)| StagedObject {
                id: id.clone(),
                committed: s.base.and_then(|_| self.image.get(id).ok()),
                staged: s.object.clone(),
            })
            .collect()
    }

    /// Keeps the operation list this cycle runs in its record, so that if it aborts the
    /// Debugger can replay and resume it.
    pub(crate) fn set_program(&mut self, ops: &[Op]) {
        self.program = Some(ops.to_vec());
    }

    /// Keeps the outside work this cycle does (see [`CycleRecord::task`]) in its record; set
    /// it again as the work goes on, so an abort keeps the latest.
    pub fn set_task(&mut self, task: Value) {
        self.task = Some(task);
    }

    /// Makes this cycle the resumption of `original`: however it ends, `original` is resolved
    /// in the same store transaction (resumed by it, or superseded by it when it fails too).
    pub fn set_resumes(&mut self, original: CycleRecord) {
        self.resumes = Some(original);
    }

    /// Commits every staged write atomically. On any error nothing is written and the cycle
    /// is recorded as aborted with that error.
    pub async fn commit(self) -> Result<CycleRecord> {
        let image = self.image.clone();
        image.commit_cycle(self).await
    }

    /// Discards the staged writes and records the cycle as aborted with `reason`.
    pub async fn abort(self, reason: &str) -> Result<CycleRecord> {
        self.abort_at(reason, None).await
    }

    /// Aborts a cycle whose program failed at operation `failed_at`.
    pub(crate) async fn abort_at(
        self,
        reason: &str,
        failed_at: Option<usize>,
    ) -> Result<CycleRecord> {
        let objects = self.staged.keys().cloned().collect();
        let (image, _, mut draft) = self.into_parts();
        let resumes = draft.resumes.take();
        let mut record = draft.finish(CycleStatus::Aborted, objects, Some(reason.to_owned()));
        record.failed_at = failed_at;
        image.record_aborted(&record, resumes).await?;
        Ok(record)
    }

    pub(crate) fn into_parts(self) -> (Image, IndexMap<ObjectId, Staged>, CycleRecordDraft) {
        let draft = CycleRecordDraft {
            id: self.id,
            trigger: self.trigger,
            started: self.started,
            steps: self.steps,
            program: self.program,
            task: self.task,
            resumes: self.resumes,
        };
        (self.image, self.staged, draft)
    }

    fn stage(&mut self, id: &ObjectId) -> Result<&mut Object> {
        if !self.staged.contains_key(id) {
            let current = self.image.get(id)?;
            self.staged.insert(
                id.clone(),
                Staged {
                    base: Some(current.version),
                    object: Some((*current).clone()),
                },
            );
        }
        self.staged
            .get_mut(id)
            .and_then(|s| s.object.as_mut())
            .ok_or_else(|| Error::UnknownObject(id.to_string()))
    }

    fn step(&mut self, op: &str, detail: Value) {
        self.steps.push(Step {
            op: op.to_owned(),
            detail,
        });
    }

    fn describe(&self, id: &ObjectId) -> String {
        self.get(id)
            .map(|o| o.name.clone())
            .unwrap_or_else(|_| id.to_string())
    }

    fn check_new_name(&self, name: &str) -> Result<()> {
        check_name(name)?;
        if self.resolve(name).is_ok() {
            return Err(Error::NameTaken(name.to_owned()));
        }
        Ok(())
    }

    /// Refuses parents that are missing or that reach back to `id`.
    fn check_no_loop(&self, id: &ObjectId, parents: &[ObjectId]) -> Result<()> {
        for p in parents {
            self.get(p)?;
        }
        crate::lookup::check_acyclic(id, parents, |o| self.get(o).ok()).map_err(|culprit| {
            Error::DelegationLoop {
                child: self.describe(id),
                parent: self.describe(&culprit),
            }
        })
    }

    fn view_ids(&self) -> Vec<ObjectId> {
        let mut ids: HashSet<ObjectId> = self.image.ids().into_iter().collect();
        ids.extend(self.staged.keys().cloned());
        ids.into_iter().collect()
    }
}

/// What a cycle knows of itself before it ends.
pub(crate) struct CycleRecordDraft {
    pub(crate) id: String,
    pub(crate) trigger: String,
    pub(crate) started: i64,
    pub(crate) steps: Vec<Step>,
    pub(crate) program: Option<Vec<Op>>,
    pub(crate) task: Option<Value>,
    pub(crate) resumes: Option<CycleRecord>,
}

impl CycleRecordDraft {
    pub(crate) fn finish(
        self,
        status: CycleStatus,
        objects: Vec<ObjectId>,
        error: Option<String>,
    ) -> CycleRecord {
        CycleRecord {
            id: self.id,
            trigger: self.trigger,
            status,
            objects,
            steps: self.steps,
            error,
            program: self.program,
            task: self.task,
            failed_at: None,
            resolution: None,
            started: self.started,
            ended: now_ms(),
        }
    }
}

fn dedup(ids: &[ObjectId]) -> Vec<ObjectId> {
    let mut seen = HashSet::new();
    ids.iter().filter(|i| seen.insert(*i)).cloned().collect()
}

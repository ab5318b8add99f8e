//! The image handle: the committed world in memory, written through cycles to the store.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

use crate::cycle::{Cycle, CycleRecord, CycleStatus, Resolution};
use crate::error::{Error, Result};
use crate::lookup::{Found, check_acyclic, lookup_in};
use crate::object::{ObjRef, Object, ObjectId, check_selector};
use crate::send::{DoesNotUnderstand, Invocation, Invoker, NoInvoker, RefuseNotUnderstood};
use crate::store::{Endpoint, Relink, Store, StoreOptions, Write};

mod dump;
mod history;
mod live;
mod writable;
pub use dump::{Cut, Dump};
pub use history::ClaimGuard;
pub use writable::{FREE_TO_RESUME, ReadOnly};

/// What kind of change a commit made to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Created,
    Updated,
    Deleted,
}

/// One object's change, sent to subscribers after its cycle commits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub object: ObjectId,
    pub name: String,
    /// The version the object now has (the last version it had, when deleted).
    pub version: u64,
    pub kind: ChangeKind,
    pub cycle: String,
}

/// The committed objects, indexed by id and by name.
#[derive(Default)]
struct World {
    by_id: HashMap<ObjectId, Arc<Object>>,
    by_name: HashMap<String, ObjectId>,
    /// Commits published since the image opened.
    generation: u64,
}

impl World {
    fn insert(&mut self, object: Arc<Object>) {
        if let Some(old) = self.by_id.get(&object.id)
            && old.name != object.name
        {
            self.by_name.remove(&old.name);
        }
        self.by_name.insert(object.name.clone(), object.id.clone());
        self.by_id.insert(object.id.clone(), object);
    }

    fn remove(&mut self, id: &ObjectId) {
        if let Some(old) = self.by_id.remove(id) {
            self.by_name.remove(&old.name);
        }
    }
}

struct Inner {
    store: Store,
    /// std lock: held only to read or swap map entries, never across an `.await`.
    world: RwLock<World>,
    /// Lookup cache: receiver → selector → what answers (`None`: nothing does). A std lock,
    /// never held across an `.await`; emptied by every commit.
    lookups: RwLock<HashMap<ObjectId, HashMap<String, Option<Found>>>>,
    /// Serialises commits so the checks made before writing still hold when the write lands;
    /// a tokio lock because it is held across the store's `.await`.
    commit: tokio::sync::Mutex<()>,
    changes: broadcast::Sender<Change>,
    cycles: broadcast::Sender<CycleRecord>,
    /// Suspended cycles being resumed. A std lock: held only to insert or remove.
    claimed: Mutex<HashSet<String>>,
    invoker: RwLock<Arc<dyn Invoker>>,
    not_understood: RwLock<Arc<dyn DoesNotUnderstand>>,
    /// Cycle records kept (`StoreOptions::history_keep`), and commits since the last prune.
    history_keep: usize,
    since_prune: std::sync::atomic::AtomicUsize,
    writable: writable::Writable,
    /// A test seam: the next commit that reaches the store is written, then reported as
    /// unconfirmed (as a remote server's dropped connection would).
    unconfirm_next: std::sync::atomic::AtomicBool,
    /// The cycle records this process wrote lately, as (id, content hash): the live view
    /// does not announce them again.
    own: Mutex<std::collections::VecDeque<(String, u64)>>,
}

/// The living image. Cloning is shallow: every clone is the same image.
#[derive(Clone)]
pub struct Image {
    inner: Arc<Inner>,
}

impl Image {
    /// Opens (creating if needed) the image at `endpoint` and loads its objects.
    ///
    /// An embedded endpoint assumes this process is its only writer (the caller holds the data
    /// dir's lock); the in-memory view is then exact.
    pub async fn open(endpoint: &Endpoint, options: &StoreOptions) -> Result<Self> {
        let store = Store::open(endpoint, options).await?;
        let mut world = World::default();
        for object in store.load_all().await? {
            world.insert(Arc::new(object));
        }
        // History past the bound (a data dir from before it, or a lower bound set since).
        let pruned = store.prune_cycles(options.history_keep).await?;
        if pruned > 0 {
            tracing::info!(
                "{pruned} old cycle records deleted (keeping {})",
                options.history_keep
            );
        }
        let (changes, _) = broadcast::channel(1024);
        let (cycles, _) = broadcast::channel(256);
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                world: RwLock::new(world),
                lookups: RwLock::default(),
                commit: tokio::sync::Mutex::new(()),
                changes,
                cycles,
                claimed: Mutex::default(),
                invoker: RwLock::new(Arc::new(NoInvoker)),
                not_understood: RwLock::new(Arc::new(RefuseNotUnderstood)),
                history_keep: options.history_keep,
                since_prune: Default::default(),
                writable: writable::Writable::new(match endpoint {
                    Endpoint::SurrealKv { path } => Some(path.clone()),
                    _ => None,
                }),
                unconfirm_next: Default::default(),
                own: Mutex::default(),
            }),
        })
    }

    /// Opens a fresh in-memory image (tests, demos).
    pub async fn in_memory() -> Result<Self> {
        Self::open(&Endpoint::Memory, &StoreOptions::default()).await
    }

    /// Where the image is stored.
    pub fn endpoint(&self) -> &str {
        self.inner.store.endpoint()
    }

    /// Starts a cycle of thought; `trigger` says what started it.
    pub fn begin(&self, trigger: &str) -> Cycle {
        Cycle::new(self.clone(), trigger)
    }

    /// The committed object with this id.
    pub fn get(&self, id: &ObjectId) -> Result<Arc<Object>> {
        self.world()
            .by_id
            .get(id)
            .cloned()
            .ok_or_else(|| Error::UnknownObject(id.to_string()))
    }

    /// Names `id` as the image has it now (the bare id when it is gone).
    pub fn obj_ref(&self, id: &ObjectId) -> ObjRef {
        ObjRef {
            id: id.to_string(),
            name: self
                .get(id)
                .map_or_else(|_| id.to_string(), |o| o.name.clone()),
        }
    }

    /// Finds a committed object by id or by name.
    pub fn resolve(&self, name_or_id: &str) -> Result<Arc<Object>> {
        let id = match ObjectId::parse(name_or_id) {
            Some(id) => id,
            None => self
                .id_of(name_or_id)
                .ok_or_else(|| Error::UnknownObject(name_or_id.to_owned()))?,
        };
        self.get(&id)
            .map_err(|_| Error::UnknownObject(name_or_id.to_owned()))
    }

    pub(crate) fn id_of(&self, name: &str) -> Option<ObjectId> {
        self.world().by_name.get(name).cloned()
    }

    pub(crate) fn ids(&self) -> Vec<ObjectId> {
        self.world().by_id.keys().cloned().collect()
    }

    /// Every committed object, oldest first.
    pub fn objects(&self) -> Vec<Arc<Object>> {
        let mut all: Vec<_> = self.world().by_id.values().cloned().collect();
        all.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        all
    }

    /// How many commits this handle has published since the image opened: a cheap way to ask
    /// "has anything changed since I last looked?".
    pub fn generation(&self) -> u64 {
        self.world().generation
    }

    /// How many objects the image holds.
    pub fn len(&self) -> usize {
        self.world().by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A slot the object holds itself (no delegation).
    pub fn own_slot(&self, id: &ObjectId, slot: &str) -> Result<Option<Value>> {
        Ok(self.get(id)?.slots.get(slot).cloned())
    }

    /// Looks `selector` up from `receiver` through its parents, depth-first in order.
    ///
    /// The answer is cached per receiver and selector (an inline cache, as Self's VM keeps), so
    /// a slot far up a chain costs what one on the receiver does; every commit empties it.
    pub fn lookup(&self, receiver: &ObjectId, selector: &str) -> Result<Option<Found>> {
        check_selector(selector)?;
        // The world's read lock is held to the end, so a commit cannot empty the cache between
        // this walk and its caching.
        let world = self.world();
        let cached = read(&self.inner.lookups)
            .get(receiver)
            .and_then(|by_selector| by_selector.get(selector).cloned());
        if let Some(found) = cached {
            return Ok(found);
        }
        if !world.by_id.contains_key(receiver) {
            return Err(Error::UnknownObject(receiver.to_string()));
        }
        let found = lookup_in(receiver, selector, |id| world.by_id.get(id).cloned())?;
        self.inner
            .lookups
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(receiver.clone())
            .or_default()
            .insert(selector.to_owned(), found.clone());
        Ok(found)
    }

    /// Sends a message: a slot answers with its value, a method runs through the invoker, and
    /// when nothing in the delegation chain answers the `doesNotUnderstand` handler is called.
    pub async fn send(&self, receiver: &str, selector: &str, args: Value) -> Result<Value> {
        let receiver = self.resolve(receiver)?;
        match self.lookup(&receiver.id, selector)? {
            Some(Found::Slot { value, .. }) => Ok(value),
            Some(Found::Method { holder, method }) => {
                let invoker = read(&self.inner.invoker).clone();
                invoker
                    .invoke(Invocation {
                        image: self.clone(),
                        receiver,
                        holder,
                        selector: selector.to_owned(),
                        method,
                        args,
                    })
                    .await
            }
            None => {
                let handler = read(&self.inner.not_understood).clone();
                handler
                    .not_understood(self.clone(), receiver, selector.to_owned(), args)
                    .await
            }
        }
    }

    /// Installs what runs methods (the sandbox, in the product).
    pub fn set_invoker(&self, invoker: Arc<dyn Invoker>) {
        *self
            .inner
            .invoker
            .write()
            .unwrap_or_else(|e| e.into_inner()) = invoker;
    }

    /// Installs what answers messages nothing understands (the Tool Forge, in the product).
    pub fn set_not_understood(&self, handler: Arc<dyn DoesNotUnderstand>) {
        *self
            .inner
            .not_understood
            .write()
            .unwrap_or_else(|e| e.into_inner()) = handler;
    }

    /// Receives every committed change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.inner.changes.subscribe()
    }

    /// Receives every cycle record written from now on: committed, aborted, or a suspended
    /// cycle resolved (the Debugger's history stays live with it).
    pub fn subscribe_cycles(&self) -> broadcast::Receiver<CycleRecord> {
        self.inner.cycles.subscribe()
    }

    /// Flushes and closes the store. Other clones must not be used afterwards.
    pub async fn shutdown(&self) -> Result<()> {
        let _guard = self.inner.commit.lock().await;
        self.inner.store.shutdown().await
    }

    pub(crate) async fn commit_cycle(&self, cycle: Cycle) -> Result<CycleRecord> {
        let _guard = self.inner.commit.lock().await;
        let (_, staged, mut draft) = cycle.into_parts();
        let resumes = draft.resumes.take();
        // An object staged but left as it was (a refused edit, removing a slot it did not
        // have) is not written: its version does not move.
        let staged: Vec<_> = staged
            .into_iter()
            .filter(|(id, s)| match (s.base, &s.object) {
                (Some(_), Some(o)) => self.get(id).map_or(true, |c| *c != *o),
                _ => true,
            })
            .collect();
        let objects: Vec<ObjectId> = staged.iter().map(|(id, _)| id.clone()).collect();
        let now = crate::object::now_ms();
        let finals: Vec<Final> = staged
            .into_iter()
            .filter_map(|(id, s)| match (s.base, s.object) {
                (None, None) => None,
                (None, Some(mut o)) => {
                    o.version = 1;
                    Some(Final::Create(o))
                }
                (Some(base), Some(mut o)) => {
                    o.version = base + 1;
                    o.updated = now;
                    let committed = self.get(&id).ok();
                    let reparented = committed.as_ref().is_none_or(|c| c.parents != o.parents);
                    let relinked = relinks(committed.as_deref(), &o);
                    Some(Final::Update(o, base, reparented, relinked))
                }
                (Some(base), None) => Some(Final::Delete(id, base)),
            })
            .collect();
        let mut record = draft.finish(CycleStatus::Committed, objects, None);

        let resolved = resumes.clone().map(|mut original| {
            original.resolution = Some(Resolution::Resumed {
                cycle: record.id.clone(),
            });
            original
        });
        for r in std::iter::once(&record).chain(&resolved) {
            self.remember_own(r);
        }
        let checked = self
            .may_commit()
            .and_then(|()| self.check_against_committed(&finals));
        let result = match checked {
            Ok(()) => {
                let writes: Vec<Write<'_>> = finals.iter().map(Final::write).collect();
                let written = self
                    .inner
                    .store
                    .commit(&writes, &record, resolved.as_ref())
                    .await;
                let written = match written {
                    Ok(())
                        if self
                            .inner
                            .unconfirm_next
                            .swap(false, std::sync::atomic::Ordering::SeqCst) =>
                    {
                        Err(Error::Unconfirmed {
                            endpoint: self.endpoint().to_owned(),
                            cycle: record.id.clone(),
                        })
                    }
                    w => w,
                };
                match written {
                    Ok(()) => Ok(()),
                    Err(e) => {
                        let landed = self.read_back(&record.id, e).await;
                        if landed.is_ok() {
                            self.inner.store.committed(&writes);
                        }
                        landed
                    }
                }
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                self.committed();
                self.publish(&finals, &record.id);
                self.prune_now_and_then().await;
                for r in std::iter::once(&record).chain(&resolved) {
                    let _ = self.inner.cycles.send(r.clone());
                }
                Ok(record)
            }
            Err(error) => {
                self.commit_failed(&error);
                if matches!(error, Error::OutcomeUnknown { .. }) {
                    // Not recorded as aborted: it may have persisted.
                    return Err(error);
                }
                record.status = CycleStatus::Aborted;
                record.error = Some(error.to_string());
                record.failed_at = record.program.as_ref().map(Vec::len);
                if let Err(e) = self.record_aborted(&record, resumes).await {
                    tracing::warn!(cycle = %record.id, "could not record the aborted cycle: {e}");
                }
                Err(error)
            }
        }
    }

    /// Checks made under the commit lock against what is committed now: names still free,
    /// parents still present, delegation still acyclic once this cycle's parents land.
    fn check_against_committed(&self, finals: &[Final]) -> Result<()> {
        let world = self.world();
        let staged: HashMap<&ObjectId, Option<&Object>> =
            finals.iter().map(|f| (f.id(), f.object())).collect();
        let view = |id: &ObjectId| -> Option<Arc<Object>> {
            match staged.get(id) {
                Some(Some(o)) => Some(Arc::new((*o).clone())),
                Some(None) => None,
                None => world.by_id.get(id).cloned(),
            }
        };
        for object in finals.iter().filter_map(Final::object) {
            if let Some(owner) = world.by_name.get(&object.name)
                && owner != &object.id
                && !matches!(staged.get(owner), Some(None))
            {
                return Err(Error::NameTaken(object.name.clone()));
            }
            if let Some(p) = object.parents.iter().find(|p| view(p).is_none()) {
                return Err(Error::UnknownObject(p.to_string()));
            }
            check_acyclic(&object.id, &object.parents, view).map_err(|culprit| {
                Error::DelegationLoop {
                    child: object.name.clone(),
                    parent: culprit.to_string(),
                }
            })?;
        }
        Ok(())
    }

    fn publish(&self, finals: &[Final], cycle: &str) {
        let mut changes = Vec::new();
        {
            let mut world = self.inner.world.write().unwrap_or_else(|e| e.into_inner());
            self.world_changed(&mut world);
            for f in finals {
                let (name, version, kind) = match f {
                    Final::Create(o) => (o.name.clone(), o.version, ChangeKind::Created),
                    Final::Update(o, ..) => (o.name.clone(), o.version, ChangeKind::Updated),
                    Final::Delete(id, base) => {
                        let name = world.by_id.get(id).map(|o| o.name.clone());
                        (name.unwrap_or_default(), *base, ChangeKind::Deleted)
                    }
                };
                match f.object() {
                    Some(o) => world.insert(Arc::new(o.clone())),
                    None => world.remove(f.id()),
                }
                changes.push(Change {
                    object: f.id().clone(),
                    name,
                    version,
                    kind,
                    cycle: cycle.to_owned(),
                });
            }
        }
        for change in changes {
            // No receivers is normal (nobody is watching); that is the only send error.
            let _ = self.inner.changes.send(change);
        }
    }

    /// A commit (this process's or another's) is being swapped into `world`: the lookup
    /// cache is emptied — under the world's write lock, so no lookup is between its walk and
    /// its caching — and the generation moves.
    fn world_changed(&self, world: &mut World) {
        self.inner
            .lookups
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        world.generation += 1;
    }

    fn world(&self) -> std::sync::RwLockReadGuard<'_, World> {
        read(&self.inner.world)
    }
}

/// What a commit does to one object.
enum Final {
    Create(Object),
    /// The object, the version it was copied from, whether its parents changed, and its
    /// changed relations (with `Some(n)` when only targets after the n-th were added).
    Update(Object, u64, bool, Vec<(String, Option<usize>)>),
    Delete(ObjectId, u64),
}

/// The relations whose link edges an update must write, and how.
fn relinks(committed: Option<&Object>, staged: &Object) -> Vec<(String, Option<usize>)> {
    let empty = indexmap::IndexMap::new();
    let before = committed.map_or(&empty, |c| &c.links);
    let mut changed: Vec<(String, Option<usize>)> = Vec::new();
    for (relation, targets) in &staged.links {
        match before.get(relation) {
            Some(old) if old == targets => {}
            Some(old) if targets.starts_with(old) => {
                changed.push((relation.clone(), Some(old.len())))
            }
            Some(_) => changed.push((relation.clone(), None)),
            None => changed.push((relation.clone(), Some(0))),
        }
    }
    for relation in before.keys() {
        if !staged.links.contains_key(relation) {
            changed.push((relation.clone(), None));
        }
    }
    changed
}

impl Final {
    fn id(&self) -> &ObjectId {
        match self {
            Self::Create(o) | Self::Update(o, ..) => &o.id,
            Self::Delete(id, _) => id,
        }
    }

    fn object(&self) -> Option<&Object> {
        match self {
            Self::Create(o) | Self::Update(o, ..) => Some(o),
            Self::Delete(..) => None,
        }
    }

    fn write(&self) -> Write<'_> {
        match self {
            Self::Create(o) => Write::Create(o),
            Self::Update(object, base, reparented, relinked) => Write::Update {
                object,
                base: *base,
                reparented: *reparented,
                relinked: relinked
                    .iter()
                    .map(|(relation, from)| match from {
                        Some(from) => Relink::Append {
                            relation,
                            from: *from,
                        },
                        None => Relink::Rewrite { relation },
                    })
                    .collect(),
            },
            Self::Delete(id, base) => Write::Delete { id, base: *base },
        }
    }
}

/// A poisoned lock only means another thread panicked mid-read; the data is still whole
/// because every writer swaps complete entries.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

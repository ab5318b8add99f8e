//! The live view: an image on a SurrealDB server may have other writers (several Telos
//! processes on one server). Every commit writes its cycle record in its own transaction, so
//! a live query on the records says which objects another process changed; they are read
//! again and swapped into this process's world, and subscribers hear of them as of their own
//! commits. Conflicts need nothing new: a commit checks each object's stored version.

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;

use super::{Change, ChangeKind, Image, World};
use crate::cycle::{CycleRecord, CycleStatus};
use crate::error::{Error, Result};
use crate::object::{Object, ObjectId};

/// Own commits remembered, so their records are not announced twice.
const OWN_KEPT: usize = 1024;

impl Image {
    /// Follows the commits other processes make to this image until the connection closes
    /// (then an error: run it again, e.g. as a supervised service). Each time it starts it
    /// first catches up with everything committed since the world was read.
    pub async fn follow(&self) -> Result<()> {
        let mut records = self.inner.store.live_cycles().await?;
        self.catch_up().await?;
        while let Some(record) = records.next().await {
            let record = record?;
            // Ours is in the world and announced already (remembered before it was written).
            if self.is_own(&record) {
                continue;
            }
            if record.status == CycleStatus::Committed {
                self.apply_remote(Some(&record.objects), &record.id).await?;
            }
            // No receivers is normal.
            let _ = self.inner.cycles.send(record);
        }
        Err(Error::LiveEnded {
            endpoint: self.endpoint().to_owned(),
        })
    }

    /// Brings the world in line with the store: every object read again.
    pub async fn catch_up(&self) -> Result<()> {
        self.apply_remote(None, "").await
    }

    /// Notes a cycle record this process writes (before it is written, so its notification
    /// always finds it).
    pub(super) fn remember_own(&self, record: &CycleRecord) {
        let mut own = self.inner.own.lock().unwrap_or_else(|e| e.into_inner());
        if own.len() == OWN_KEPT {
            own.pop_front();
        }
        own.push_back(fingerprint(record));
    }

    /// Whether this process wrote `record` as it is (a record rewritten elsewhere is not).
    fn is_own(&self, record: &CycleRecord) -> bool {
        let print = fingerprint(record);
        let own = self.inner.own.lock().unwrap_or_else(|e| e.into_inner());
        own.contains(&print)
    }

    /// Reads `ids` again (`None`: every object) and swaps in what another process changed:
    /// a newer version, an object new here, one gone from the store.
    async fn apply_remote(&self, ids: Option<&[ObjectId]>, cycle: &str) -> Result<()> {
        // Under the commit lock: no commit of ours is between its checks and its swap.
        let _guard = self.inner.commit.lock().await;
        let (stored, ids) = match ids {
            Some(ids) => (self.inner.store.load_some(ids, cycle).await?, ids.to_vec()),
            None => {
                let all = self.inner.store.load_all().await?;
                let mut ids: Vec<ObjectId> = all.iter().map(|o| o.id.clone()).collect();
                let held: Vec<ObjectId> = self.world().by_id.keys().cloned().collect();
                let stored: std::collections::HashSet<&ObjectId> = ids.iter().collect();
                let gone: Vec<ObjectId> =
                    held.into_iter().filter(|id| !stored.contains(id)).collect();
                ids.extend(gone);
                (all, ids)
            }
        };
        let mut stored: HashMap<ObjectId, Object> =
            stored.into_iter().map(|o| (o.id.clone(), o)).collect();
        let mut changes = Vec::new();
        {
            let mut world = self.inner.world.write().unwrap_or_else(|e| e.into_inner());
            for id in ids {
                if let Some(change) = swap(&mut world, &id, stored.remove(&id), cycle) {
                    changes.push(change);
                }
            }
            if !changes.is_empty() {
                self.world_changed(&mut world);
            }
        }
        for change in changes {
            let _ = self.inner.changes.send(change);
        }
        Ok(())
    }
}

/// Puts `stored` (the object as the store has it now, `None`: gone) in `world` when it is
/// newer than what `world` holds; the change, if any.
fn swap(world: &mut World, id: &ObjectId, stored: Option<Object>, cycle: &str) -> Option<Change> {
    let held = world.by_id.get(id).map(|o| (o.version, o.name.clone()));
    let change = |name: String, version, kind| Change {
        object: id.clone(),
        name,
        version,
        kind,
        cycle: cycle.to_owned(),
    };
    match (stored, held) {
        (Some(o), None) => {
            let c = change(o.name.clone(), o.version, ChangeKind::Created);
            world.insert(Arc::new(o));
            Some(c)
        }
        (Some(o), Some((version, _))) if o.version > version => {
            let c = change(o.name.clone(), o.version, ChangeKind::Updated);
            world.insert(Arc::new(o));
            Some(c)
        }
        (Some(_), Some(_)) | (None, None) => None,
        (None, Some((version, name))) => {
            world.remove(id);
            Some(change(name, version, ChangeKind::Deleted))
        }
    }
}

/// A record's identity and content, to tell a record this process wrote from one rewritten.
fn fingerprint(record: &CycleRecord) -> (String, u64) {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(record)
        .unwrap_or_default()
        .hash(&mut h);
    (record.id.clone(), h.finish())
}

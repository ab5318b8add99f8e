//! Pages: the objects a commit creates in bulk, written as a few records instead of one each.
//!
//! SurrealDB's cost of a write is per record (about 20 µs, and as much again per index entry:
//! an object's unique name), so a restore, a large drop or concept building that creates
//! 10,000 objects spent most of its commit there. A commit of an embedded store that creates
//! at least [`PAGE_FROM`] objects writes them as `page` records of [`PAGE_SIZE`] objects each,
//! every object whole (slots, methods, parents, links) in one JSON text.
//!
//! A paged object is the same object to everything above the store; only its storage differs:
//! - **It leaves its page when it is next changed or deleted**, for good: a `left_page`
//!   record says so (pages are never rewritten), and an update writes its own `object` row
//!   and edges, which a later delete removes as any object's.
//! - **Its version check** is that it has not left its page (a paged object is at version
//!   1, the version of every object created). The store remembers which objects are paged
//!   ([`Paged`]); a stale guess only refuses a commit as a conflict.
//! - **Its name** is not in the `object_name` index. An embedded store has one writer, whose
//!   in-memory check under the commit lock already refuses a name taken; on a server, where
//!   several processes write and only the index keeps names apart, nothing is paged.
//! - **Reading**: the loader reads the pages after the rows and skips what has left them;
//!   the live view reads the pages of the cycle that made the objects. A paged object's
//!   parent or link target that no longer exists is dropped as the edge would have been.
//! - **Dropping**: an embedded store's loader (at open) deletes a page none of whose objects
//!   is still in it, with its `left_page` records. A page with a few objects still in it stays
//!   whole (rewriting such pages is not done yet).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::rows::Row;
use crate::error::{Error, Result};
use crate::object::{Object, ObjectId};

/// A commit creating at least this many objects pages them (fewer are cheap as rows).
pub(super) const PAGE_FROM: usize = 64;
/// Objects per page.
pub(super) const PAGE_SIZE: usize = 256;

/// One object as a page holds it.
#[derive(Serialize, Deserialize)]
struct Entry {
    row: Row,
    parents: Vec<String>,
    links: Vec<(String, Vec<String>)>,
}

/// The page records (`{id, cycle, objects}`) holding `objects`, made by `cycle`.
pub(super) fn page_records(objects: &[&Object], cycle: &str) -> Result<Vec<Value>> {
    objects
        .chunks(PAGE_SIZE)
        .map(|chunk| {
            let entries = chunk
                .iter()
                .map(|o| {
                    Ok(Entry {
                        row: Row::of(o)?,
                        parents: o.parents.iter().map(ToString::to_string).collect(),
                        links: o
                            .links
                            .iter()
                            .map(|(r, ts)| {
                                (r.clone(), ts.iter().map(ToString::to_string).collect())
                            })
                            .collect(),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let text = serde_json::to_string(&entries).map_err(|source| Error::Corrupt {
                what: "a page of objects".into(),
                source,
            })?;
            Ok(json!({
                "id": crate::object::fresh_ulid(),
                "cycle": cycle,
                "objects": text,
            }))
        })
        .collect()
}

/// A page as read: its record id and its objects' text.
#[derive(Deserialize)]
pub(super) struct PageRow {
    id: String,
    objects: String,
}

/// What pages hold, as a read found them.
#[derive(Default)]
pub(super) struct Unpaged {
    /// The objects kept, with their parents and links.
    pub(super) objects: Vec<Object>,
    /// Pages none of whose objects were kept, and those objects' oids.
    pub(super) dead: Vec<(String, Vec<String>)>,
}

/// The objects of `pages` for which `keep` holds (by oid).
pub(super) fn unpage(pages: Vec<PageRow>, keep: impl Fn(&str) -> bool) -> Result<Unpaged> {
    let mut out = Unpaged::default();
    for page in pages {
        let entries: Vec<Entry> =
            serde_json::from_str(&page.objects).map_err(|source| Error::Corrupt {
                what: format!("page '{}'", page.id),
                source,
            })?;
        let before = out.objects.len();
        let mut oids = Vec::with_capacity(entries.len());
        for entry in entries {
            if !keep(&entry.row.oid) {
                oids.push(entry.row.oid);
                continue;
            }
            out.objects.push(object_of(entry)?);
        }
        if out.objects.len() == before {
            out.dead.push((page.id, oids));
        }
    }
    Ok(out)
}

/// A page's entry as the object it is.
fn object_of(entry: Entry) -> Result<Object> {
    let name = entry.row.name.clone();
    let ids = |what: &str, all: Vec<String>| -> Result<Vec<ObjectId>> {
        all.into_iter()
            .map(|id| {
                ObjectId::parse(&id).ok_or_else(|| Error::Corrupt {
                    what: format!("{what} of object '{name}'"),
                    source: serde::de::Error::custom(format!("'{id}' is not an object id")),
                })
            })
            .collect()
    };
    let parents = ids("a parent", entry.parents)?;
    let mut links = indexmap::IndexMap::new();
    for (relation, targets) in entry.links {
        links.insert(relation, ids("a link", targets)?);
    }
    let mut object = entry.row.into_object()?;
    object.parents = parents;
    object.links = links;
    Ok(object)
}

/// The objects this store holds in pages (by oid), as far as this process has seen.
#[derive(Clone, Default)]
pub(super) struct Paged(Arc<Mutex<HashSet<String>>>);

impl Paged {
    fn set(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn len(&self) -> usize {
        self.set().len()
    }

    pub(super) fn contains(&self, id: &ObjectId) -> bool {
        self.set().contains(id.as_str())
    }

    /// `paged` are in pages (a read found them there, or a commit put them there); `out` are
    /// not (they have rows, or left their pages, or never had one).
    pub(super) fn note<'a>(
        &self,
        paged: impl IntoIterator<Item = &'a str>,
        out: impl IntoIterator<Item = &'a str>,
    ) {
        let mut set = self.set();
        for id in out {
            set.remove(id);
        }
        set.extend(paged.into_iter().map(str::to_string));
    }

    /// Forgets every object (before a whole read).
    pub(super) fn clear(&self) {
        self.set().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Endpoint, Store, StoreOptions, Write};
    use super::*;
    use crate::cycle::{CycleRecord, CycleStatus};

    fn record(objects: &[&ObjectId]) -> CycleRecord {
        let now = crate::object::now_ms();
        CycleRecord {
            id: crate::object::fresh_ulid(),
            trigger: "test".into(),
            status: CycleStatus::Committed,
            objects: objects.iter().map(|&id| id.clone()).collect(),
            steps: Vec::new(),
            error: None,
            program: None,
            task: None,
            failed_at: None,
            resolution: None,
            started: now,
            ended: now,
        }
    }

    fn update(object: &Object) -> Write<'_> {
        Write::Update {
            object,
            base: 1,
            reparented: false,
            relinked: Vec::new(),
        }
    }

    /// The guards of paged objects, for a writer whose idea of what is paged is stale (a
    /// second process): in one process the set is always current, so the row's own guard
    /// refuses first.
    #[tokio::test]
    async fn a_writer_that_still_thinks_an_object_paged_conflicts_once_it_changed_or_went() {
        let store = Store::open(&Endpoint::Memory, &StoreOptions::default())
            .await
            .unwrap();
        let objects: Vec<Object> = (0..PAGE_FROM)
            .map(|i| {
                let mut o = Object::new(format!("o{i}"), Vec::new(), 0);
                o.version = 1;
                o
            })
            .collect();
        let creates: Vec<Write<'_>> = objects.iter().map(Write::Create).collect();
        let ids: Vec<&ObjectId> = objects.iter().map(|o| &o.id).collect();
        store.commit(&creates, &record(&ids), None).await.unwrap();
        assert_eq!(store.paged_count(), PAGE_FROM);
        // A second writer on the same store, with its own idea of what is paged.
        let other = Store {
            paged: Paged::default(),
            ..store.clone()
        };
        assert_eq!(other.load_all().await.unwrap().len(), PAGE_FROM);
        assert_eq!(other.paged_count(), PAGE_FROM);

        // The first changes o1 and deletes o2.
        let mut changed = objects[1].clone();
        changed.version = 2;
        let writes = [
            update(&changed),
            Write::Delete {
                id: &objects[2].id,
                base: 1,
            },
        ];
        store
            .commit(&writes, &record(&[&objects[1].id, &objects[2].id]), None)
            .await
            .unwrap();
        assert_eq!(store.paged_count(), PAGE_FROM - 2);

        // The second still thinks both paged: each of its writes is refused.
        let stale = [
            update(&objects[1]),
            Write::Delete {
                id: &objects[1].id,
                base: 1,
            },
            update(&objects[2]),
            Write::Delete {
                id: &objects[2].id,
                base: 1,
            },
        ];
        for write in stale {
            let id = match &write {
                Write::Update { object, .. } => object.id.clone(),
                Write::Delete { id, .. } => (*id).clone(),
                Write::Create(_) => unreachable!(),
            };
            let err = other
                .commit(&[write], &record(&[&id]), None)
                .await
                .unwrap_err();
            assert!(
                matches!(&err, Error::Conflict { object } if *object == id),
                "{err}"
            );
        }
        // One still in its page, it changes as any writer would.
        let mut third = objects[3].clone();
        third.version = 2;
        other
            .commit(&[update(&third)], &record(&[&third.id]), None)
            .await
            .unwrap();
        let all = store.load_all().await.unwrap();
        assert_eq!(all.len(), PAGE_FROM - 1, "o2 is gone");
        let find = |id: &ObjectId| all.iter().find(|o| o.id == *id).unwrap();
        assert_eq!(find(&objects[1].id).version, 2);
        assert_eq!(find(&objects[3].id).version, 2);
        assert_eq!(store.paged_count(), PAGE_FROM - 3);
    }
}

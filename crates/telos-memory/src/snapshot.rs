//! Memory held still for a backup: its files are not tidied away while they are copied, and
//! each table's version at the backup's cut is tagged, so a restore opens that version.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lancedb::Table;

use crate::error::{Error, Result};
use crate::{Memory, concept_store, hyper, store};

/// Tags of backups start with this; a new backup's tag replaces the older ones (a tagged
/// version's files are kept by upkeep, so only the newest is held).
pub const TAG_PREFIX: &str = "backup-";

/// Memory's files held for a backup: no tidy-up deletes any while this lives.
pub struct Held {
    _files: tokio::sync::OwnedRwLockReadGuard<()>,
    /// The memory dir.
    pub dir: PathBuf,
    /// The tag given to every table's version.
    pub tag: String,
    /// Each table and its tagged version.
    pub versions: Vec<(String, u64)>,
}

impl Memory {
    /// Holds memory's files (waiting for a tidy-up under way to end) and tags every table's
    /// current version `backup-CYCLE`, dropping the tags of earlier backups.
    pub async fn hold_for_backup(&self, cycle: &str) -> Result<Held> {
        let dir = self.inner.store.path();
        if crate::location::is_object_store(dir) {
            return Err(Error::Unsupported {
                path: dir.to_owned(),
                detected: "memory on object storage: `telos backup` copies a local memory dir; \
                           back the bucket up with its own tools (versioning, replication)"
                    .into(),
            });
        }
        let files = Arc::clone(&self.inner.files).read_owned().await;
        let tag = format!("{TAG_PREFIX}{cycle}");
        // Each table's steps wait on the disk; the tables take theirs at once.
        let versions = futures::future::try_join_all(self.tables().map(|(name, table)| {
            let tag = &tag;
            async move {
                let version = table.version().await.map_err(|e| self.table_err(name, e))?;
                let mut tags = table.tags().await.map_err(|e| self.table_err(name, e))?;
                let old = tags.list().await.map_err(|e| self.table_err(name, e))?;
                for t in old.keys().filter(|t| t.starts_with(TAG_PREFIX)) {
                    tags.delete(t).await.map_err(|e| self.table_err(name, e))?;
                }
                tags.create(tag, version)
                    .await
                    .map_err(|e| self.table_err(name, e))?;
                Ok::<_, Error>((name.to_owned(), version))
            }
        }))
        .await?;
        Ok(Held {
            _files: files,
            dir: self.inner.store.path().to_path_buf(),
            tag,
            versions,
        })
    }

    /// The chunks the image holds, and the id and text of the one with the smallest id (a
    /// canary for a backup's verify to recall; none when memory holds no chunk): what a
    /// backup counts at its cut.
    pub fn chunk_census(&self) -> (usize, Option<(String, String)>) {
        let known = self.known();
        let first = known.keys().min().and_then(|first| {
            known[first]
                .chunk
                .slots
                .get("text")
                .and_then(|t| t.as_str())
                .map(|text| (first.clone(), text.to_owned()))
        });
        (known.len(), first)
    }

    fn tables(&self) -> [(&'static str, &Table); 3] {
        [
            (store::TABLE, self.inner.store.table()),
            (hyper::TABLE, self.inner.hyper.table()),
            (concept_store::TABLE, self.inner.concepts.table()),
        ]
    }

    fn table_err(&self, table: &str, e: lancedb::Error) -> Error {
        Error::Store {
            path: self.inner.store.path().join(format!("{table}.lance")),
            source: Box::new(e),
        }
    }
}

/// Brings every table in the memory dir `dir` (a restored copy) back to its version tagged
/// `tag`: later versions copied with it (rows written after the cut) are left behind.
pub async fn restore_tagged(dir: &Path, tag: &str) -> Result<()> {
    let err = |table: &str, e: lancedb::Error| Error::Store {
        path: dir.join(format!("{table}.lance")),
        source: Box::new(e),
    };
    let db = lancedb::connect(&dir.to_string_lossy())
        .execute()
        .await
        .map_err(|e| err("", e))?;
    for name in [store::TABLE, hyper::TABLE, concept_store::TABLE] {
        if !dir.join(format!("{name}.lance")).exists() {
            continue;
        }
        let table = db
            .open_table(name)
            .execute()
            .await
            .map_err(|e| err(name, e))?;
        let latest = table.version().await.map_err(|e| err(name, e))?;
        table.checkout_tag(tag).await.map_err(|e| err(name, e))?;
        if table.version().await.map_err(|e| err(name, e))? != latest {
            table.restore().await.map_err(|e| err(name, e))?;
        }
    }
    Ok(())
}

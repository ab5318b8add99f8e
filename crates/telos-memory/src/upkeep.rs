//! Upkeep of the LanceDB tables (`chunks`, `hypervectors`, `concepts`): every write (rows added, rows deleted) is a new version whose
//! files LanceDB keeps for good, and a deleted row stays in its data file. Now and then
//! (every [`MemoryConfig::tidy_every`](crate::MemoryConfig) writes, as a supervised job) the
//! small fragments are merged, which drops deleted rows, and the files of versions older than
//! the retention (`versions_keep`) are deleted.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::{Memory, Result};

/// What a tidy-up did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tidied {
    /// Fragments merged away (their live rows rewritten into new ones).
    pub fragments_merged: usize,
    /// Versions whose files were deleted.
    pub versions_removed: u64,
    pub bytes_removed: u64,
}

pub(crate) struct Upkeep {
    every: usize,
    keep: Duration,
    writes: AtomicUsize,
    running: Arc<AtomicBool>,
}

impl Upkeep {
    pub(crate) fn new(every: usize, keep: Duration) -> Self {
        Self {
            every: every.max(1),
            keep,
            writes: AtomicUsize::new(0),
            running: Arc::default(),
        }
    }
}

impl Memory {
    /// Counts a write to the table, and starts a tidy-up every `tidy_every` of them (not while
    /// one runs).
    pub(crate) fn wrote(&self) {
        let upkeep = &self.inner.upkeep;
        if !(upkeep.writes.fetch_add(1, Ordering::Relaxed) + 1).is_multiple_of(upkeep.every)
            || upkeep.running.swap(true, Ordering::SeqCst)
        {
            return;
        }
        let memory = self.clone();
        let running = Arc::clone(&upkeep.running);
        let started = self.inner.supervisor.job("memory upkeep", async move {
            match memory.tidy().await {
                Ok(t) => tracing::debug!(?t, "memory tidied"),
                // Nothing is lost: the next tidy-up tries again.
                Err(e) => tracing::warn!("tidying memory: {e}"),
            }
            running.store(false, Ordering::SeqCst);
        });
        if !started {
            upkeep.running.store(false, Ordering::SeqCst);
        }
    }

    /// Merges the tables' small fragments and deletes versions older than the retention, now.
    /// Waits for an index build to finish first, and for a backup copying the files, and holds
    /// the commit turn throughout, so no rows are written meanwhile. Returns what it did to all three.
    pub async fn tidy(&self) -> Result<Tidied> {
        self.inner.index.settled().await;
        let _files = self.inner.files.write().await;
        let _turn = self.inner.commit_turn.lock().await;
        let keep = self.inner.upkeep.keep;
        let mut done = self.inner.store.tidy(keep).await?;
        for t in [
            self.inner.hyper.tidy(keep).await?,
            self.inner.concepts.tidy(keep).await?,
        ] {
            done.fragments_merged += t.fragments_merged;
            done.versions_removed += t.versions_removed;
            done.bytes_removed += t.bytes_removed;
        }
        Ok(done)
    }
}

//! The image's history: cycle records read, written and pruned, and claims on suspended
//! cycles.

use crate::cycle::{CycleRecord, Resolution};
use crate::error::{Error, Result};
use crate::object::ObjectId;

use super::Image;

/// Commits between two prunings of the cycle history.
const PRUNE_EVERY: usize = 256;

impl Image {
    /// The most recent cycles, newest first.
    pub async fn cycles(&self, limit: usize) -> Result<Vec<CycleRecord>> {
        self.inner.store.cycles(limit).await
    }

    /// The most recent cycles that touched `object`, newest first.
    pub async fn cycles_touching(
        &self,
        object: &ObjectId,
        limit: usize,
    ) -> Result<Vec<CycleRecord>> {
        self.inner.store.cycles_touching(object, limit).await
    }

    /// One cycle's record.
    pub async fn cycle(&self, id: &str) -> Result<CycleRecord> {
        self.inner
            .store
            .cycle(id)
            .await?
            .ok_or_else(|| Error::UnknownCycle(id.to_owned()))
    }

    /// Writes the record of a cycle that changed nothing (aborted) and, when it was the
    /// resumption of a suspended cycle, that cycle's resolution (superseded by this one) in the
    /// same transaction.
    pub(crate) async fn record_aborted(
        &self,
        record: &CycleRecord,
        resumes: Option<CycleRecord>,
    ) -> Result<()> {
        let mut records = vec![record.clone()];
        if let Some(mut original) = resumes {
            original.resolution = Some(Resolution::Superseded {
                cycle: record.id.clone(),
            });
            records.push(original);
        }
        self.rewrite_records(&records).await
    }

    /// Writes cycle records (new, or a suspended one resolved) in one transaction, and tells
    /// cycle subscribers.
    pub(crate) async fn rewrite_records(&self, records: &[CycleRecord]) -> Result<()> {
        for r in records {
            self.remember_own(r);
        }
        self.inner.store.record_cycles(records).await?;
        for r in records {
            // No receivers is normal (nobody is watching); that is the only send error.
            let _ = self.inner.cycles.send(r.clone());
        }
        Ok(())
    }

    /// Claims a suspended cycle for resumption, so two resumes of it cannot run at once; the
    /// claim ends when the guard drops.
    pub fn claim(&self, cycle: &str) -> Result<ClaimGuard> {
        let mut claimed = self.inner.claimed.lock().unwrap_or_else(|e| e.into_inner());
        if !claimed.insert(cycle.to_owned()) {
            return Err(Error::Busy(cycle.to_owned()));
        }
        Ok(ClaimGuard {
            image: self.clone(),
            cycle: cycle.to_owned(),
        })
    }

    /// Every [`PRUNE_EVERY`] commits, the cycle history past its bound is deleted (under the
    /// commit lock). A failure is logged: the commit it follows stands.
    pub(super) async fn prune_now_and_then(&self) {
        use std::sync::atomic::Ordering;
        if self.inner.since_prune.fetch_add(1, Ordering::Relaxed) + 1 < PRUNE_EVERY {
            return;
        }
        self.inner.since_prune.store(0, Ordering::Relaxed);
        if let Err(e) = self.inner.store.prune_cycles(self.inner.history_keep).await {
            tracing::warn!("pruning the cycle history: {e}");
        }
    }
}

/// A suspended cycle claimed for resumption; dropping it ends the claim.
pub struct ClaimGuard {
    image: Image,
    cycle: String,
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        self.image
            .inner
            .claimed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.cycle);
    }
}

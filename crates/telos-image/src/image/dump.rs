//! The image cut at a cycle boundary and written into an empty store again: what a backup
//! holds of the image, and how a restore brings it back.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::cycle::CycleRecord;
use crate::error::{Error, Result};
use crate::object::Object;
use crate::store::{Endpoint, Snapshot, Store, StoreOptions, Write};

use super::Image;

/// Every committed object and every cycle record of the image at one cycle boundary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dump {
    /// The newest cycle the dump includes (cycle ids grow with time), `None` for an image
    /// that has no cycle record.
    pub cycle: Option<String>,
    pub objects: Vec<Object>,
    /// Oldest first.
    pub cycles: Vec<CycleRecord>,
}

/// The image cut between two commits ([`Image::cut`]), its cycle records not read yet. It
/// holds a store transaction open until it is read; dropped unread, the transaction is
/// cancelled in the background (SurrealDB's SDK 3 does not cancel a dropped one itself).
#[must_use = "a cut holds a store transaction open until it is read"]
pub struct Cut {
    objects: Vec<Arc<Object>>,
    records: Option<Snapshot>,
    store: Store,
}

impl Drop for Cut {
    fn drop(&mut self) {
        if let Some(records) = self.records.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(records.cancel());
        }
    }
}

impl Cut {
    /// The newest cycle the cut includes, what [`Dump::cycle`] will say, found without
    /// reading the records (a backup names memory's tag by it while they are read).
    pub async fn newest_cycle(&self) -> Result<Option<String>> {
        let records = self
            .records
            .as_ref()
            .expect("a cut holds its read until it is read");
        self.store.newest_cycle_in(records).await
    }

    /// Reads the cycle records as they stood at the cut: commits made since, and suspended
    /// cycles resolved since, are not in it.
    pub async fn read(mut self) -> Result<Dump> {
        let records = self.records.take().expect("a cut is read once");
        let mut cycles = self.store.cycles_in(records).await?;
        cycles.reverse();
        let cycle = cycles.iter().map(|c| c.id.clone()).max();
        Ok(Dump {
            cycle,
            objects: self.objects.iter().map(|o| (**o).clone()).collect(),
            cycles,
        })
    }
}

impl Image {
    /// The image as it stands between two commits: [`Image::cut`], then [`Cut::read`].
    pub async fn dump(&self) -> Result<Dump> {
        self.cut().await?.read().await
    }

    /// Cuts the image between two commits. The commit lock is held only while the committed
    /// world is taken (shared, not copied) and a read of the store is begun; the cycle
    /// records, which may be thousands, are read afterwards from that read's snapshot
    /// ([`Cut::read`]), so commits go on meanwhile and no cycle lands half inside.
    pub async fn cut(&self) -> Result<Cut> {
        let _guard = self.inner.commit.lock().await;
        Ok(Cut {
            objects: self.objects(),
            records: Some(self.inner.store.snapshot().await?),
            store: self.inner.store.clone(),
        })
    }

    /// Writes `dump` into the store at `endpoint`, which must hold no object yet, in one
    /// transaction; the image is then opened from it.
    pub async fn restore(endpoint: &Endpoint, options: &StoreOptions, dump: &Dump) -> Result<Self> {
        let store = Store::open(endpoint, options).await?;
        let present = store.load_all().await?.len();
        if present > 0 {
            store.shutdown().await?;
            return Err(Error::NotEmpty {
                endpoint: endpoint.to_string(),
                objects: present,
            });
        }
        let writes: Vec<Write<'_>> = dump.objects.iter().map(Write::Create).collect();
        store.restore(&writes, &dump.cycles).await?;
        store.shutdown().await?;
        Self::open(endpoint, options).await
    }
}

//! The image cut at a cycle boundary and written into an empty store again: what a backup
//! holds of the image, and how a restore brings it back.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::cycle::CycleRecord;
use crate::error::{Error, Result};
use crate::object::Object;
use crate::store::{Endpoint, Store, StoreOptions, Write};

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

impl Image {
    /// The image as it stands between two commits: the commit lock is held while the
    /// committed world and the cycle records are read, so no cycle lands half inside.
    pub async fn dump(&self) -> Result<Dump> {
        let _guard = self.inner.commit.lock().await;
        let objects: Vec<Arc<Object>> = self.objects();
        let mut cycles = self.inner.store.cycles(usize::MAX >> 1).await?;
        cycles.reverse();
        let cycle = cycles.iter().map(|c| c.id.clone()).max();
        Ok(Dump {
            cycle,
            objects: objects.iter().map(|o| (**o).clone()).collect(),
            cycles,
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

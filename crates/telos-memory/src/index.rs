//! The vector index: none (exact, flat search) while the table is small; past a threshold an
//! IVF index is built in the background, and rebuilt once the table has grown by half since.
//! Ingest and search never wait for it: LanceDB searches rows the index does not cover yet
//! by a flat scan and merges them in.

use std::sync::Arc;

use lancedb::index::Index;
use lancedb::index::vector::{IvfHnswSqIndexBuilder, IvfPqIndexBuilder};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, watch};

use crate::Memory;
use crate::store::{METRIC, Store};

/// Rows before the first index is built.
pub const DEFAULT_THRESHOLD: usize = 20_000;

/// Which IVF index to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexKind {
    IvfPq,
    IvfHnswSq,
}

impl IndexKind {
    pub const ALL: [IndexKind; 2] = [IndexKind::IvfPq, IndexKind::IvfHnswSq];

    /// The product's IVF partition count for a table of `rows` rows: 8,192 rows of PQ codes
    /// per partition (Lance's own target), and HNSW graphs of up to 2^17 rows. Lance's
    /// target for HNSW is 2^20, one graph per million rows, but a graph that size was still
    /// building after 13 minutes here, where one 100k-row graph builds in 37–47 s and a 1M
    /// table's 7 graphs in 9 minutes. Searches pick partitions by Lance's adaptive probing.
    /// (√n partitions, what we used before, cut an HNSW index into hundreds of tiny graphs
    /// and cost it 4–6 points of recall@10 on real MiniLM vectors; see ARCHITECTURE.md.)
    pub fn partitions(self, rows: usize) -> u32 {
        let target = match self {
            Self::IvfPq => 8_192,
            Self::IvfHnswSq => 1 << 17,
        };
        (rows / target).max(1) as u32
    }

    fn index(self, partitions: u32) -> Index {
        match self {
            Self::IvfPq => Index::IvfPq(
                IvfPqIndexBuilder::default()
                    .distance_type(METRIC)
                    .num_partitions(partitions)
                    .num_sub_vectors(48),
            ),
            Self::IvfHnswSq => Index::IvfHnswSq(
                IvfHnswSqIndexBuilder::default()
                    .distance_type(METRIC)
                    .num_partitions(partitions),
            ),
        }
    }
}

/// What `doctor` says of the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum IndexState {
    /// Exact search; the index comes at `threshold` rows.
    Flat {
        rows: usize,
        threshold: usize,
    },
    Building {
        kind: IndexKind,
        rows: usize,
    },
    Indexed {
        kind: IndexKind,
        indexed: usize,
        unindexed: usize,
    },
}

/// When to build, and whether a build runs.
pub(crate) struct IndexPolicy {
    pub(crate) kind: IndexKind,
    pub(crate) threshold: usize,
    /// Whether a build runs; [`IndexPolicy::settled`] waits on it.
    building: Arc<watch::Sender<bool>>,
    /// Rows the last build covered.
    built_at: Mutex<Option<usize>>,
    /// The last background build's error, shown by `doctor`.
    last_error: Arc<std::sync::Mutex<Option<String>>>,
}

const INDEX_NAME: &str = "vector_idx";

impl IndexPolicy {
    pub(crate) fn new(kind: IndexKind, threshold: usize) -> Self {
        Self {
            kind,
            threshold,
            building: Arc::new(watch::channel(false).0),
            built_at: Mutex::new(None),
            last_error: Arc::default(),
        }
    }

    /// After rows were added, and when memory opens: starts a background (re)build when one
    /// is due (so a table that grew past the threshold in a process killed before its build
    /// finished gets its index on the next start).
    pub(crate) async fn catch_up(&self, memory: &Memory) {
        let store = memory.inner.store.clone();
        let rows = match store.count().await {
            Ok(rows) => rows,
            Err(e) => {
                // Not this ingest's failure (its rows are in): the next one tries again.
                self.set_error(Some(format!("counting rows to decide on an index: {e}")));
                return;
            }
        };
        let mut built_at = self.built_at.lock().await;
        if built_at.is_none() && has_index(&store).await {
            *built_at = Some(rows);
        }
        let due = match *built_at {
            None => rows >= self.threshold,
            Some(n) => rows >= n + n / 2,
        };
        if !due || self.building.send_replace(true) {
            return;
        }
        *built_at = Some(rows);
        drop(built_at);
        let building = Arc::clone(&self.building);
        let last_error = Arc::clone(&self.last_error);
        let kind = self.kind;
        let supervisor = &memory.inner.supervisor;
        let shutdown = supervisor.shutdown();
        let done = Arc::clone(&self.building);
        let started = supervisor.job("memory index build", async move {
            let result = tokio::select! {
                result = build(&store, kind, rows) => result.err().map(|e| e.to_string()),
                // Cut short at close: Lance commits an index whole or not at all, and the next
                // open starts the build again.
                () = shutdown.wait() => None,
            };
            *last_error.lock().unwrap_or_else(|e| e.into_inner()) = result;
            building.send_replace(false);
        });
        if !started {
            done.send_replace(false);
        }
    }

    /// Returns once no build runs.
    pub(crate) async fn settled(&self) {
        let mut building = self.building.subscribe();
        // The sender lives as long as `self`, so waiting cannot fail.
        let _ = building.wait_for(|b| !b).await;
    }

    pub(crate) fn building(&self) -> bool {
        *self.building.borrow()
    }

    /// Builds the index now (tests, benchmarks); waits for it.
    pub(crate) async fn build_now(&self, store: &Store) -> crate::Result<()> {
        let rows = store.count().await?;
        build(store, self.kind, rows)
            .await
            .map_err(|e| crate::Error::Store {
                path: store.path().to_owned(),
                source: Box::new(e),
            })?;
        *self.built_at.lock().await = Some(rows);
        Ok(())
    }

    pub(crate) async fn state(&self, store: &Store) -> crate::Result<IndexState> {
        let rows = store.count().await?;
        if self.building() {
            return Ok(IndexState::Building {
                kind: self.kind,
                rows,
            });
        }
        match store.table().index_stats(INDEX_NAME).await {
            Ok(Some(stats)) => Ok(IndexState::Indexed {
                kind: self.kind,
                indexed: stats.num_indexed_rows,
                unindexed: stats.num_unindexed_rows,
            }),
            Ok(None) => Ok(IndexState::Flat {
                rows,
                threshold: self.threshold,
            }),
            Err(e) => Err(crate::Error::Store {
                path: store.path().to_owned(),
                source: Box::new(e),
            }),
        }
    }

    fn set_error(&self, error: Option<String>) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = error;
    }

    pub(crate) fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

async fn has_index(store: &Store) -> bool {
    matches!(store.table().index_stats(INDEX_NAME).await, Ok(Some(_)))
}

/// Builds (or replaces) the vector index of `kind` for a table of `rows` rows, and waits.
pub async fn build(store: &Store, kind: IndexKind, rows: usize) -> lancedb::Result<()> {
    build_partitioned(store, kind, kind.partitions(rows)).await
}

/// [`build`] with `partitions` IVF partitions (the benchmark compares layouts).
pub async fn build_partitioned(
    store: &Store,
    kind: IndexKind,
    partitions: u32,
) -> lancedb::Result<()> {
    store
        .table()
        .create_index(&["vector"], kind.index(partitions))
        .name(INDEX_NAME.to_owned())
        .replace(true)
        .execute()
        .await
}

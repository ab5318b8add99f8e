//! The cleanup memory: the LanceDB `hypervectors` table beside `chunks`, one row per symbol
//! object of the image (an atom or a composite, in one persona's codebook), its FHRR vector
//! stored as `2 × dim` floats scaled to unit length, so the dot product is the cosine. Like
//! `chunks` it is an index over the image, never the record: every vector can be made again
//! from the symbol object (an atom's from its seed, a composite's from its expression).
//!
//! The index does not search the full vectors (20,000 floats at dimension 10,000: LanceDB's
//! flat scan of 10,000 of them takes about 2 s, a one-bit RaBitQ index over them 6–12 ms).
//! It searches a *sketch*: the first [`SKETCH`] components, itself a random phasor vector
//! whose similarity estimates the whole's with noise 1/√(2·SKETCH). The best `k × REFINE`
//! sketches come back by name and are ranked here by exact cosine — an atom's vector made
//! again from its seed (faster than fetching its 80 KB), a composite's fetched — so the
//! similarities returned are exact. Past a threshold the sketch gets a RaBitQ index
//! (`IVF_RQ`) of [`BITS`] bits per float with one IVF partition: random symbols have no
//! clusters for partitions to follow, so probing a few would miss the answer as often as
//! not. Measured on 10,000 symbols (`vsa_bench`): sketches of 1,024 or 2,048 components lose
//! the answer of a 150-pair record half the time. At 4,096 components, one bit per float
//! keeps it only 91–94% of the time (the one-bit estimate's own error is about twice the
//! sketch's), three bits every time (1,500 of 1,500 queries up to 150 pairs) at 1.5–1.9× the
//! latency (p50 6.5 ms against 4.2 ms here). A cleanup that names the wrong symbol is worse
//! than a slower one, so the product takes three bits.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::types::Float32Type;
use arrow_array::{Array, FixedSizeListArray, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use futures::TryStreamExt;
use lancedb::index::Index;
use lancedb::index::vector::IvfRqIndexBuilder;
use lancedb::query::{ExecutableQuery, QueryBase, Select};
use lancedb::{DistanceType, Table};
use telos_vsa::Hv;

use crate::error::{Error, Result};

/// The table's name inside the memory dir.
pub const TABLE: &str = "hypervectors";
/// The sketch's index; its name says its bits, so an index of other bits is found and
/// built again.
const INDEX_NAME: &str = "sketch_rq3";
/// The one-bit index of tables made before three bits (it is replaced when next due).
const LEGACY_INDEX: &str = "hypervector_idx";
const _: () = assert!(BITS == 3, "INDEX_NAME says three bits: name the index anew");
const CODEBOOK_INDEX: &str = "codebook_idx";
const METRIC: DistanceType = DistanceType::Dot;
/// The kind of a symbol made from its seed alone.
pub const ATOM: &str = "atom";
/// Candidates re-ranked by their full vectors, per result asked for (with three-bit
/// estimates, five found every answer up to 150 pairs that ten did, for 1.5 ms less).
pub const REFINE: u32 = 5;
/// Bits per sketch float in the RaBitQ index (one sign bit and two of magnitude).
pub const BITS: u32 = 3;
/// Components in the sketch the index searches.
pub const SKETCH: usize = 4096;

/// How a cleanup searches (the benchmark tries settings; the product uses `default`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Search {
    /// Skip any index: a flat scan of the full vectors.
    pub exact: bool,
    /// Re-rank `k × refine` candidates by their full vectors.
    pub refine: Option<u32>,
}

impl Default for Search {
    fn default() -> Self {
        Self {
            exact: false,
            refine: Some(REFINE),
        }
    }
}

impl Search {
    pub const EXACT: Search = Search {
        exact: true,
        refine: None,
    };
}

/// One symbol as the cleanup memory keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolRow {
    /// The symbol object's id in the image.
    pub id: String,
    /// The codebook: the persona whose symbol it is.
    pub codebook: String,
    pub name: String,
    /// `atom`, `composite` or `concept`.
    pub kind: String,
    /// What a composite's vector is made of (empty for an atom).
    pub expression: String,
    pub vector: Hv,
    /// The cycle that wrote it (`reconcile` for a row made again).
    pub cycle: String,
}

/// What reconciliation compares of a row with its symbol object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolKey {
    pub id: String,
    pub codebook: String,
    pub name: String,
    pub kind: String,
    pub expression: String,
}

/// A symbol found by cleanup.
#[derive(Debug, Clone, PartialEq)]
pub struct Cleaned {
    pub id: String,
    pub codebook: String,
    pub name: String,
    pub kind: String,
    /// Cosine similarity to the query.
    pub similarity: f32,
}

/// The open table. Cloning is shallow.
#[derive(Clone)]
pub struct HyperStore {
    table: Table,
    dim: usize,
    path: Arc<PathBuf>,
    /// Set once the table is known to hold no older one-bit index.
    no_legacy: Arc<std::sync::atomic::AtomicBool>,
}

fn floats(n: usize) -> DataType {
    DataType::FixedSizeList(
        Arc::new(Field::new("item", DataType::Float32, true)),
        n as i32,
    )
}

fn sketch_dim(dim: usize) -> usize {
    dim.min(SKETCH)
}

/// The first `SKETCH` components of `hv`, scaled to unit length.
fn sketch(hv: &Hv) -> Hv {
    let m = sketch_dim(hv.dim());
    let mut v = hv.re()[..m].to_vec();
    v.extend_from_slice(&hv.im()[..m]);
    unit(&Hv::from_vec(v).expect("2 × m floats"))
}

fn schema(dim: usize) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("codebook", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("expression", DataType::Utf8, false),
        Field::new("sketch", floats(2 * sketch_dim(dim)), false),
        Field::new("vector", floats(2 * dim), false),
        Field::new("cycle", DataType::Utf8, false),
    ]))
}

impl HyperStore {
    /// Opens (creating if needed) the table under `dir` for hypervectors of `dim`. A table
    /// of another dimension (`TELOS_VSA_DIM` changed) or layout is dropped and made again
    /// empty: reconciling refills it from the image.
    pub async fn open(dir: &Path, dim: usize) -> Result<Self> {
        Self::open_with(dir, dim, &[]).await
    }

    /// [`HyperStore::open`] with storage options for object storage (see `location.rs`).
    pub async fn open_with(dir: &Path, dim: usize, options: &[(String, String)]) -> Result<Self> {
        let names = |s: &Schema| {
            s.fields()
                .iter()
                .map(|f| f.name().clone())
                .collect::<Vec<_>>()
        };
        let misfit = |found: &Schema| {
            let width = vector_width(found);
            (width != Some(2 * dim) || names(found) != names(&schema(dim))).then(|| {
                format!("holds vectors of {width:?} floats, not 2 × {dim}, or another layout")
            })
        };
        let table = crate::store::open_table(dir, options, TABLE, schema(dim), misfit).await?;
        let path = Arc::new(dir.to_owned());
        Ok(Self {
            table,
            dim,
            path,
            no_legacy: Arc::default(),
        })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn table(&self) -> &Table {
        &self.table
    }

    fn err(&self, e: lancedb::Error) -> Error {
        crate::store::store_error(&self.path, e)
    }

    /// Appends rows (one LanceDB commit).
    pub async fn add(&self, rows: &[SymbolRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        if let Some(bad) = rows.iter().find(|r| r.vector.dim() != self.dim) {
            return Err(Error::Unsupported {
                path: self.path.to_path_buf(),
                detected: format!(
                    "symbol {:?} of dimension {}, in a table of dimension {}",
                    bad.name,
                    bad.vector.dim(),
                    self.dim
                ),
            });
        }
        let batch = self.to_batch(rows).map_err(|e| self.err(e.into()))?;
        self.table
            .add(batch)
            .execute()
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Deletes the rows of these symbol ids.
    pub async fn delete(&self, ids: &[String]) -> Result<()> {
        for part in ids.chunks(500) {
            let list = part
                .iter()
                .map(|id| crate::store::quote(id))
                .collect::<Vec<_>>()
                .join(", ");
            self.table
                .delete(format!("id IN ({list})").as_str())
                .await
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// Deletes the rows of `ids` that `cycle` did not write: the versions it replaced, once
    /// it has committed.
    pub async fn settle(&self, ids: &[String], cycle: &str) -> Result<()> {
        for part in ids.chunks(500) {
            let list: Vec<String> = part.iter().map(|id| crate::store::quote(id)).collect();
            self.table
                .delete(
                    format!(
                        "id IN ({}) AND cycle != {}",
                        list.join(", "),
                        crate::store::quote(cycle)
                    )
                    .as_str(),
                )
                .await
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// Merges small fragments and deletes old versions (`store::tidy_table`).
    pub async fn tidy(&self, keep: std::time::Duration) -> Result<crate::Tidied> {
        crate::store::tidy_table(&self.table, &self.path, keep).await
    }

    /// Deletes every row a cycle wrote (its commit failed after the rows were added).
    pub async fn delete_cycle(&self, cycle: &str) -> Result<()> {
        self.table
            .delete(format!("cycle = {}", crate::store::quote(cycle)).as_str())
            .await
            .map_err(|e| self.err(e))
            .map(drop)
    }

    /// Builds the index when it is due: the table has `threshold` rows and no index, half as
    /// many rows again as the index covers, or an older one-bit index. Small tables build in
    /// well under a second (10,000 symbols of dimension 10,000: about 5 s at three bits, 1 s
    /// at one). Returns whether it built.
    pub async fn catch_up_index(&self, threshold: usize) -> Result<bool> {
        let rows = self.count().await?;
        let due = if self.legacy_index().await? {
            true
        } else {
            match self.table.index_stats(INDEX_NAME).await {
                Ok(Some(stats)) => stats.num_unindexed_rows * 2 > stats.num_indexed_rows,
                Ok(None) => rows >= threshold,
                Err(e) => return Err(self.err(e)),
            }
        };
        if due {
            self.build_index().await?;
        }
        Ok(due)
    }

    pub async fn count(&self) -> Result<usize> {
        self.table.count_rows(None).await.map_err(|e| self.err(e))
    }

    async fn collect(&self, query: impl ExecutableQuery) -> Result<Vec<RecordBatch>> {
        query
            .execute()
            .await
            .map_err(|e| self.err(e))?
            .try_collect()
            .await
            .map_err(|e| self.err(e))
    }

    /// What reconciliation compares of every row.
    pub async fn keys(&self) -> Result<Vec<SymbolKey>> {
        let batches = self
            .collect(self.table.query().select(Select::columns(&[
                "id",
                "codebook",
                "name",
                "kind",
                "expression",
            ])))
            .await?;
        let mut keys = Vec::new();
        for b in &batches {
            let col = |name| crate::store::strings(b, name).map_err(|e| self.err(e));
            let (id, codebook, name, kind) =
                (col("id")?, col("codebook")?, col("name")?, col("kind")?);
            let expression = col("expression")?;
            keys.extend((0..id.len()).map(|i| SymbolKey {
                id: id.value(i).to_owned(),
                codebook: codebook.value(i).to_owned(),
                name: name.value(i).to_owned(),
                kind: kind.value(i).to_owned(),
                expression: expression.value(i).to_owned(),
            }));
        }
        Ok(keys)
    }

    /// The `k` symbols nearest to `query` (of one codebook, or all), best first. `exact`
    /// skips the index: a flat scan of the full vectors.
    pub async fn cleanup(
        &self,
        query: &Hv,
        codebook: Option<&str>,
        k: usize,
        search: Search,
    ) -> Result<Vec<Cleaned>> {
        if query.dim() != self.dim {
            return Err(Error::Unsupported {
                path: self.path.to_path_buf(),
                detected: format!(
                    "a query of dimension {}, in a table of dimension {}",
                    query.dim(),
                    self.dim
                ),
            });
        }
        let (column, probe, limit) = if search.exact {
            ("vector", unit(query), k)
        } else {
            let r = search.refine.unwrap_or(1).max(1) as usize;
            ("sketch", sketch(query), k * r)
        };
        // An indexed search brings back names only: the candidates' full vectors (80 KB each
        // at dimension 10,000) cost more to fetch than an atom's to make again from its seed.
        let columns: &[&str] = if search.exact {
            &["id", "codebook", "name", "kind", "vector", "_distance"]
        } else {
            &["id", "codebook", "name", "kind", "_distance"]
        };
        let mut q = self
            .table
            .query()
            .nearest_to(probe.as_slice())
            .map_err(|e| self.err(e))?
            .column(column)
            .distance_type(METRIC)
            .limit(limit)
            .select(Select::columns(columns));
        if let Some(c) = codebook {
            q = q.only_if(format!("codebook = {}", crate::store::quote(c)));
        }
        if search.exact {
            q = q.bypass_vector_index();
        }
        let mut found = Vec::new();
        for b in &self.collect(q).await? {
            found.extend(candidates_of(b).map_err(|e| self.err(e))?);
        }
        self.fetch_composites(&mut found).await?;
        let query = unit(query);
        let scale = 1.0 / (self.dim as f32).sqrt();
        let mut scored: Vec<Cleaned> = found
            .into_iter()
            .map(|c| {
                let similarity = match &c.vector {
                    Some(v) => telos_vsa::dot(query.as_slice(), v),
                    // an atom is a unit phasor vector: its norm is √dim
                    None => {
                        let atom = Hv::atom(&c.codebook, &c.name, self.dim);
                        telos_vsa::dot(query.as_slice(), atom.as_slice()) * scale
                    }
                };
                Cleaned {
                    id: c.id,
                    codebook: c.codebook,
                    name: c.name,
                    kind: c.kind,
                    similarity,
                }
            })
            .collect();
        scored.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
        scored.truncate(k);
        Ok(scored)
    }

    /// Reads the stored vectors of the candidates that are not atoms (composites cannot be
    /// made again without their codebook), in one query.
    async fn fetch_composites(&self, found: &mut [Candidate]) -> Result<()> {
        let ids: Vec<String> = found
            .iter()
            .filter(|c| c.vector.is_none() && c.kind != ATOM)
            .map(|c| crate::store::quote(&c.id))
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let q = self
            .table
            .query()
            .only_if(format!("id IN ({})", ids.join(", ")))
            .select(Select::columns(&[
                "id", "codebook", "name", "kind", "vector",
            ]));
        let mut vectors = std::collections::HashMap::new();
        for b in &self.collect(q).await? {
            for c in candidates_of(b).map_err(|e| self.err(e))? {
                vectors.insert(c.id, c.vector);
            }
        }
        for c in found.iter_mut().filter(|c| c.kind != ATOM) {
            c.vector = vectors.remove(&c.id).flatten();
        }
        Ok(())
    }

    /// Whether the table still has the one-bit index of an older Telos (looked for until
    /// it is found gone).
    async fn legacy_index(&self) -> Result<bool> {
        use std::sync::atomic::Ordering;
        if self.no_legacy.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let indices = self.table.list_indices().await.map_err(|e| self.err(e))?;
        let there = indices.iter().any(|i| i.name == LEGACY_INDEX);
        if !there {
            self.no_legacy.store(true, Ordering::Relaxed);
        }
        Ok(there)
    }

    /// Builds (or replaces) the RaBitQ index and waits for it. An older one-bit index goes
    /// first (searches scan flat until the new one is there).
    pub async fn build_index(&self) -> Result<()> {
        if self.legacy_index().await?
            && let Err(e) = self.table.drop_index(LEGACY_INDEX).await
            // another catch-up dropped it first
            && self.legacy_index().await?
        {
            return Err(self.err(e));
        }
        self.table
            .create_index(
                &["sketch"],
                Index::IvfRq(
                    IvfRqIndexBuilder::default()
                        .distance_type(METRIC)
                        .num_partitions(1)
                        .num_bits(BITS),
                ),
            )
            .name(INDEX_NAME.to_owned())
            .replace(true)
            .execute()
            .await
            .map_err(|e| self.err(e))?;
        // Searches keep to one codebook: a bitmap of the codebooks makes that filter a lookup
        // instead of a scan of the column.
        self.table
            .create_index(&["codebook"], Index::Bitmap(Default::default()))
            .name(CODEBOOK_INDEX.to_owned())
            .replace(true)
            .execute()
            .await
            .map_err(|e| self.err(e))
    }

    /// Whether an index exists (rows added since it was built are scanned flat).
    pub async fn indexed(&self) -> bool {
        matches!(self.table.index_stats(INDEX_NAME).await, Ok(Some(_)))
    }

    fn to_batch(
        &self,
        rows: &[SymbolRow],
    ) -> std::result::Result<RecordBatch, arrow_schema::ArrowError> {
        let text =
            |f: fn(&SymbolRow) -> &str| Arc::new(StringArray::from_iter_values(rows.iter().map(f)));
        let list = |width: usize, f: fn(&Hv) -> Hv| {
            Arc::new(
                FixedSizeListArray::from_iter_primitive::<Float32Type, _, _>(
                    rows.iter().map(|r| {
                        Some(
                            f(&r.vector)
                                .into_vec()
                                .into_iter()
                                .map(Some)
                                .collect::<Vec<_>>(),
                        )
                    }),
                    width as i32,
                ),
            )
        };
        RecordBatch::try_new(
            schema(self.dim),
            vec![
                text(|r| &r.id),
                text(|r| &r.codebook),
                text(|r| &r.name),
                text(|r| &r.kind),
                text(|r| &r.expression),
                list(2 * sketch_dim(self.dim), sketch),
                list(2 * self.dim, unit),
                text(|r| &r.cycle),
            ],
        )
    }
}

/// `hv` scaled to unit length (as a real vector of 2 × dim floats).
fn unit(hv: &Hv) -> Hv {
    let n = hv.norm2().sqrt();
    let s = if n > 0.0 { 1.0 / n } else { 0.0 };
    Hv::from_vec(hv.as_slice().iter().map(|x| x * s).collect()).expect("same layout")
}

fn vector_width(schema: &Schema) -> Option<usize> {
    match schema.field_with_name("vector").ok()?.data_type() {
        DataType::FixedSizeList(_, n) => Some(*n as usize),
        _ => None,
    }
}

/// A row a search found: its full vector when the query asked for it.
struct Candidate {
    id: String,
    codebook: String,
    name: String,
    kind: String,
    vector: Option<Vec<f32>>,
}

/// The rows of a batch.
fn candidates_of(b: &RecordBatch) -> lancedb::Result<Vec<Candidate>> {
    let s = |name| crate::store::strings(b, name);
    let (id, codebook, name, kind) = (s("id")?, s("codebook")?, s("name")?, s("kind")?);
    let mut vectors = match b.column_by_name("vector") {
        None => None,
        Some(_) => Some(crate::store::float_rows(b, "vector")?.into_iter()),
    };
    Ok((0..b.num_rows())
        .map(|i| Candidate {
            id: id.value(i).to_owned(),
            codebook: codebook.value(i).to_owned(),
            name: name.value(i).to_owned(),
            kind: kind.value(i).to_owned(),
            vector: vectors.as_mut().and_then(Iterator::next),
        })
        .collect())
}

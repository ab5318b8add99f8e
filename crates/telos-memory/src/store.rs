//! The LanceDB side of memory: one `chunks` table in `DATA_DIR/memory`, an index over the
//! image's chunk objects (never the record: the image is). Cosine distance is pinned both
//! when an index is built and when a query runs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::types::Float32Type;
use arrow_array::{
    Array, FixedSizeListArray, Float32Array, Int64Array, RecordBatch, StringArray, UInt32Array,
    UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use futures::TryStreamExt;
use lancedb::query::{ExecutableQuery, QueryBase, Select};
use lancedb::{Connection, DistanceType, Table};

use crate::embed::DIM;
use crate::error::{Error, Result};

/// The table's name inside the memory dir.
pub const TABLE: &str = "chunks";
/// The one metric memory uses, at index build and at query time.
pub const METRIC: DistanceType = DistanceType::Cosine;

/// One chunk as LanceDB keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The chunk object's id in the image.
    pub chunk_id: String,
    pub persona: String,
    /// The document object's id.
    pub document: String,
    pub source: String,
    /// SHA-256 of the document's bytes.
    pub content_hash: String,
    pub chunk_index: u32,
    pub page: Option<u32>,
    pub offset: u64,
    pub text: String,
    pub vector: Vec<f32>,
    /// Milliseconds since the Unix epoch.
    pub created: i64,
    /// The cycle that remembered it.
    pub cycle: String,
}

/// A search result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub chunk_id: String,
    pub persona: String,
    pub document: String,
    pub source: String,
    pub chunk_index: u32,
    pub page: Option<u32>,
    pub offset: u64,
    pub text: String,
    /// Cosine distance (0 = same direction, 2 = opposite).
    pub distance: f32,
}

/// How a search uses the index (the benchmark tries settings; the product uses `default`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuning {
    /// Skip any index: an exact, flat scan.
    pub exact: bool,
    /// IVF partitions to probe; `None` lets LanceDB choose.
    pub nprobes: Option<usize>,
    /// Re-rank `k × refine` candidates by their full vectors, so scores are exact cosine.
    pub refine: Option<u32>,
    /// HNSW candidate list size; `None` is four times the candidates the refine step
    /// re-ranks (4 × k × refine: 160 for k = 10). On 100k real MiniLM vectors of short
    /// passages (`memory_bench`, `TELOS_BENCH_WORDS=8`) recall@10 was 0.947–0.952 at 2×,
    /// 0.974 at 3× and 0.985 at 4×, all at 0.08–0.09× the flat search's latency.
    pub ef: Option<usize>,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            exact: false,
            nprobes: None,
            refine: Some(4),
            ef: None,
        }
    }
}

impl Tuning {
    pub const EXACT: Tuning = Tuning {
        exact: true,
        nprobes: None,
        refine: None,
        ef: None,
    };
}

/// A chunk's vector, and its document (what concepts are grown from).
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkVector {
    pub chunk_id: String,
    pub document: String,
    pub vector: Vec<f32>,
}

/// What a row says of its chunk, as reconciliation compares it with the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowKey {
    pub chunk_id: String,
    pub persona: String,
    pub document: String,
    pub content_hash: String,
    pub text: String,
}

/// The open table. Cloning is shallow.
#[derive(Clone)]
pub struct Store {
    table: Table,
    path: Arc<PathBuf>,
}

pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("chunk_id", DataType::Utf8, false),
        Field::new("persona", DataType::Utf8, false),
        Field::new("document", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("content_hash", DataType::Utf8, false),
        Field::new("chunk_index", DataType::UInt32, false),
        Field::new("page", DataType::UInt32, true),
        Field::new("offset", DataType::UInt64, false),
        Field::new("text", DataType::Utf8, false),
        Field::new(
            "vector",
            DataType::FixedSizeList(
                Arc::new(Field::new("item", DataType::Float32, true)),
                DIM as i32,
            ),
            false,
        ),
        Field::new("created", DataType::Int64, false),
        Field::new("cycle", DataType::Utf8, false),
    ]))
}

impl Store {
    /// Opens (creating if needed) the chunks table under `dir`.
    pub async fn open(dir: &Path) -> Result<Self> {
        Self::open_with(dir, &[]).await
    }

    /// [`Store::open`] with storage options for object storage (see `location.rs`).
    pub async fn open_with(dir: &Path, options: &[(String, String)]) -> Result<Self> {
        let table = open_table(dir, options, TABLE, schema(), |_| None).await?;
        let path = Arc::new(dir.to_owned());
        Ok(Self { table, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn table(&self) -> &Table {
        &self.table
    }

    fn err(&self, e: lancedb::Error) -> Error {
        store_error(&self.path, e)
    }

    /// Appends rows (one LanceDB commit).
    pub async fn add(&self, rows: &[Row]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let batch = to_batch(rows).map_err(|e| self.err(e.into()))?;
        self.table
            .add(batch)
            .execute()
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Merges small fragments (dropping deleted rows) and deletes the files of versions older
    /// than `keep` (this process is the table's only writer: the data dir's lock).
    pub async fn tidy(&self, keep: std::time::Duration) -> Result<crate::Tidied> {
        tidy_table(&self.table, &self.path, keep).await
    }

    /// Deletes the rows of these chunk ids.
    pub async fn delete_chunks(&self, ids: &[String]) -> Result<()> {
        for part in ids.chunks(500) {
            let list = part
                .iter()
                .map(|id| quote(id))
                .collect::<Vec<_>>()
                .join(", ");
            self.table
                .delete(format!("chunk_id IN ({list})").as_str())
                .await
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// Deletes every row a cycle wrote (its commit failed after the rows were added).
    pub async fn delete_cycle(&self, cycle: &str) -> Result<()> {
        self.table
            .delete(format!("cycle = {}", quote(cycle)).as_str())
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub async fn count(&self) -> Result<usize> {
        self.table.count_rows(None).await.map_err(|e| self.err(e))
    }

    /// Runs a query and gathers its batches.
    async fn collect(&self, query: impl ExecutableQuery) -> Result<Vec<RecordBatch>> {
        query
            .execute()
            .await
            .map_err(|e| self.err(e))?
            .try_collect()
            .await
            .map_err(|e| self.err(e))
    }

    /// What reconciliation compares of every row: the chunk it is, and what it says of it.
    pub async fn row_keys(&self) -> Result<Vec<RowKey>> {
        let batches = self
            .collect(self.table.query().select(Select::columns(&[
                "chunk_id",
                "persona",
                "document",
                "content_hash",
                "text",
            ])))
            .await?;
        let mut keys = Vec::new();
        for b in &batches {
            let col = |name| strings(b, name).map_err(|e| self.err(e));
            let (id, persona, document, hash, text) = (
                col("chunk_id")?,
                col("persona")?,
                col("document")?,
                col("content_hash")?,
                col("text")?,
            );
            keys.extend((0..id.len()).map(|i| RowKey {
                chunk_id: id.value(i).to_owned(),
                persona: persona.value(i).to_owned(),
                document: document.value(i).to_owned(),
                content_hash: hash.value(i).to_owned(),
                text: text.value(i).to_owned(),
            }));
        }
        Ok(keys)
    }

    /// Every chunk id in the table.
    pub async fn chunk_ids(&self) -> Result<Vec<String>> {
        let batches = self
            .collect(self.table.query().select(Select::columns(&["chunk_id"])))
            .await?;
        let mut ids = Vec::new();
        for b in &batches {
            let col = strings(b, "chunk_id").map_err(|e| self.err(e))?;
            ids.extend((0..col.len()).map(|i| col.value(i).to_owned()));
        }
        Ok(ids)
    }

    /// The vectors of `persona`'s chunks.
    pub async fn persona_vectors(&self, persona: &str) -> Result<Vec<ChunkVector>> {
        self.vectors_where(format!("persona = {}", quote(persona)))
            .await
    }

    /// The vectors of the chunks `ids` (those the table holds).
    pub async fn vectors_of(&self, ids: &[String]) -> Result<Vec<ChunkVector>> {
        let mut out = Vec::with_capacity(ids.len());
        for part in ids.chunks(500) {
            let list: Vec<String> = part.iter().map(|id| quote(id)).collect();
            out.extend(
                self.vectors_where(format!("chunk_id IN ({})", list.join(", ")))
                    .await?,
            );
        }
        Ok(out)
    }

    async fn vectors_where(&self, filter: String) -> Result<Vec<ChunkVector>> {
        let batches = self
            .collect(
                self.table
                    .query()
                    .only_if(filter)
                    .select(Select::columns(&["chunk_id", "document", "vector"])),
            )
            .await?;
        let mut out = Vec::new();
        for b in &batches {
            out.extend(chunk_vectors_of(b).map_err(|e| self.err(e))?);
        }
        Ok(out)
    }

    /// The `k` chunks nearest to `vector` by cosine distance, of one persona or all.
    pub async fn search(
        &self,
        vector: &[f32],
        persona: Option<&str>,
        k: usize,
        tuning: Tuning,
    ) -> Result<Vec<Hit>> {
        let mut query = self
            .table
            .query()
            .nearest_to(vector)
            .map_err(|e| self.err(e))?
            .distance_type(METRIC)
            .limit(k)
            .select(Select::columns(&[
                "chunk_id",
                "persona",
                "document",
                "source",
                "chunk_index",
                "page",
                "offset",
                "text",
                // Asked for by name: LanceDB's scoring autoprojection (deprecated, and a warning
                // in the user's terminal) is not relied on.
                "_distance",
            ]));
        if let Some(p) = persona {
            query = query.only_if(format!("persona = {}", quote(p)));
        }
        if tuning.exact {
            query = query.bypass_vector_index();
        } else {
            if let Some(n) = tuning.nprobes {
                query = query.nprobes(n).map_err(|e| self.err(e))?;
            }
            if let Some(r) = tuning.refine {
                query = query.refine_factor(r);
            }
            let candidates = k * tuning.refine.unwrap_or(1).max(1) as usize;
            query = query.ef(tuning.ef.unwrap_or(4 * candidates));
        }
        let batches = self.collect(query).await?;
        let mut hits = Vec::new();
        for b in &batches {
            hits.extend(hits_of(b).map_err(|e| self.err(e))?);
        }
        hits.sort_by(|a, b| a.distance.total_cmp(&b.distance));
        hits.truncate(k);
        Ok(hits)
    }
}

/// [`Store::tidy`] for any of memory's tables.
pub(crate) async fn tidy_table(
    table: &Table,
    path: &Path,
    keep: std::time::Duration,
) -> Result<crate::Tidied> {
    use lancedb::table::{CompactionOptions, OptimizeAction};
    let err = |e| store_error(path, e);
    let compacted = table
        .optimize(OptimizeAction::Compact {
            options: CompactionOptions::default(),
            remap_options: None,
        })
        .await
        .map_err(err)?;
    let older_than = chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
    let pruned = table
        .optimize(OptimizeAction::Prune {
            older_than: Some(older_than),
            delete_unverified: Some(false),
            error_if_tagged_old_versions: Some(false),
        })
        .await
        .map_err(err)?;
    let prune = pruned.prune.unwrap_or_default();
    Ok(crate::Tidied {
        fragments_merged: compacted.compaction.map_or(0, |c| c.fragments_removed),
        versions_removed: prune.old_versions,
        bytes_removed: prune.bytes_removed,
    })
}

/// Opens table `name` of the memory dir at `dir`, creating it empty with `schema` if it is
/// missing. A table `misfit` finds fault with (another dimension or layout: the reason) is
/// dropped and made again empty; reconciling refills it from the image, its record.
pub(crate) async fn open_table(
    dir: &Path,
    options: &[(String, String)],
    name: &str,
    schema: SchemaRef,
    misfit: impl Fn(&Schema) -> Option<String>,
) -> Result<Table> {
    let err = |e| store_error(dir, e);
    let db: Connection = crate::location::connect(dir, options).await?;
    let names = db.table_names().execute().await.map_err(err)?;
    if names.iter().any(|n| n == name) {
        let table = db.open_table(name).execute().await.map_err(err)?;
        let found = table.schema().await.map_err(err)?;
        let Some(reason) = misfit(&found) else {
            return Ok(table);
        };
        tracing::warn!("the {name} table {reason}: it is made again");
        db.drop_table(name, &[]).await.map_err(err)?;
    }
    db.create_empty_table(name, schema)
        .execute()
        .await
        .map_err(err)
}

pub(crate) fn store_error(path: &Path, e: lancedb::Error) -> Error {
    Error::Store {
        path: path.to_owned(),
        source: Box::new(e),
    }
}

/// A SQL string literal. Ids are ULIDs, but quoting is still done properly.
pub(crate) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn to_batch(rows: &[Row]) -> std::result::Result<RecordBatch, arrow_schema::ArrowError> {
    let text = |f: fn(&Row) -> &str| Arc::new(StringArray::from_iter_values(rows.iter().map(f)));
    let vectors = FixedSizeListArray::from_iter_primitive::<Float32Type, _, _>(
        rows.iter()
            .map(|r| Some(r.vector.iter().copied().map(Some).collect::<Vec<_>>())),
        DIM as i32,
    );
    RecordBatch::try_new(
        schema(),
        vec![
            text(|r| &r.chunk_id),
            text(|r| &r.persona),
            text(|r| &r.document),
            text(|r| &r.source),
            text(|r| &r.content_hash),
            Arc::new(UInt32Array::from_iter_values(
                rows.iter().map(|r| r.chunk_index),
            )),
            Arc::new(UInt32Array::from_iter(rows.iter().map(|r| r.page))),
            Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.offset))),
            text(|r| &r.text),
            Arc::new(vectors),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.created))),
            text(|r| &r.cycle),
        ],
    )
}

pub(crate) fn column<'a, T: 'static>(b: &'a RecordBatch, name: &str) -> lancedb::Result<&'a T> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| lancedb::Error::Runtime {
            message: format!("memory table has no {name} column of the expected type"),
        })
}

fn chunk_vectors_of(b: &RecordBatch) -> lancedb::Result<Vec<ChunkVector>> {
    let (id, document) = (strings(b, "chunk_id")?, strings(b, "document")?);
    Ok(float_rows(b, "vector")?
        .into_iter()
        .enumerate()
        .map(|(i, vector)| ChunkVector {
            chunk_id: id.value(i).to_owned(),
            document: document.value(i).to_owned(),
            vector,
        })
        .collect())
}

/// The rows of a column of float vectors (a fixed-size list of `Float32`).
pub(crate) fn float_rows(b: &RecordBatch, name: &str) -> lancedb::Result<Vec<Vec<f32>>> {
    let list = column::<FixedSizeListArray>(b, name)?;
    let values = list
        .values()
        .as_any()
        .downcast_ref::<Float32Array>()
        .ok_or_else(|| lancedb::Error::Runtime {
            message: format!("the {name} column does not hold floats"),
        })?;
    let width = list.value_length() as usize;
    Ok((0..list.len())
        .map(|i| {
            let at = list.value_offset(i) as usize;
            values.values()[at..at + width].to_vec()
        })
        .collect())
}

pub(crate) fn strings<'a>(b: &'a RecordBatch, name: &str) -> lancedb::Result<&'a StringArray> {
    column::<StringArray>(b, name)
}

fn hits_of(b: &RecordBatch) -> lancedb::Result<Vec<Hit>> {
    let chunk_id = strings(b, "chunk_id")?;
    let persona = strings(b, "persona")?;
    let document = strings(b, "document")?;
    let source = strings(b, "source")?;
    let text = strings(b, "text")?;
    let index = column::<UInt32Array>(b, "chunk_index")?;
    let page = column::<UInt32Array>(b, "page")?;
    let offset = column::<UInt64Array>(b, "offset")?;
    let distance = column::<Float32Array>(b, "_distance")?;
    Ok((0..b.num_rows())
        .map(|i| Hit {
            chunk_id: chunk_id.value(i).to_owned(),
            persona: persona.value(i).to_owned(),
            document: document.value(i).to_owned(),
            source: source.value(i).to_owned(),
            chunk_index: index.value(i),
            page: (!page.is_null(i)).then(|| page.value(i)),
            offset: offset.value(i),
            text: text.value(i).to_owned(),
            distance: distance.value(i),
        })
        .collect())
}

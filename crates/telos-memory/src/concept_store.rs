//! The LanceDB `concepts` table beside `chunks`: one row per concept object of the image
//! (`concepts.rs`), holding what the image does not: the concept's centroid (the mean of its
//! chunks' vectors, which new chunks are compared with) and its *meaning* (the embedding of
//! its name and definition, which recall searches; the centroid until BABS has named it).
//! Like the other tables it is an index, never the record: both vectors are made again from
//! the image (the chunks' rows, the definition's text).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::types::Float32Type;
use arrow_array::{Array, FixedSizeListArray, RecordBatch, StringArray, UInt32Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use futures::TryStreamExt;
use lancedb::query::{ExecutableQuery, QueryBase, Select};
use lancedb::{DistanceType, Table};

use crate::embed::DIM;
use crate::error::{Error, Result};
use crate::store::{column, float_rows, open_table, quote, store_error, strings};

/// The table's name inside the memory dir.
pub const TABLE: &str = "concepts";

/// One concept as the table keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConceptRow {
    /// The concept object's id.
    pub id: String,
    pub persona: String,
    /// A digest of its chunks' ids (what reconciliation compares with the image).
    pub members: String,
    pub size: u32,
    pub label: String,
    pub definition: String,
    /// The mean of its chunks' vectors (not unit length).
    pub centroid: Vec<f32>,
    /// The embedding of `label: definition`, or the centroid while it has no definition.
    pub meaning: Vec<f32>,
    /// The cycle that wrote it (`reconcile` for a row made again).
    pub cycle: String,
}

/// What reconciliation compares of a row with its concept object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConceptKey {
    pub id: String,
    pub persona: String,
    pub members: String,
    pub definition: String,
}

/// A concept recall found.
#[derive(Debug, Clone, PartialEq)]
pub struct ConceptHit {
    pub id: String,
    pub persona: String,
    /// Cosine similarity of its meaning to the query.
    pub score: f32,
}

/// The open table. Cloning is shallow.
#[derive(Clone)]
pub struct ConceptStore {
    table: Table,
    path: Arc<PathBuf>,
}

fn floats() -> DataType {
    DataType::FixedSizeList(
        Arc::new(Field::new("item", DataType::Float32, true)),
        DIM as i32,
    )
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("persona", DataType::Utf8, false),
        Field::new("members", DataType::Utf8, false),
        Field::new("size", DataType::UInt32, false),
        Field::new("label", DataType::Utf8, false),
        Field::new("definition", DataType::Utf8, false),
        Field::new("centroid", floats(), false),
        Field::new("meaning", floats(), false),
        Field::new("cycle", DataType::Utf8, false),
    ]))
}

impl ConceptStore {
    /// Opens (creating if needed) the table under `dir`. A table of another layout is dropped
    /// and made again empty: reconciling refills it from the image.
    pub async fn open(dir: &Path) -> Result<Self> {
        Self::open_with(dir, &[]).await
    }

    /// [`ConceptStore::open`] with storage options for object storage (see `location.rs`).
    pub async fn open_with(dir: &Path, options: &[(String, String)]) -> Result<Self> {
        let fields = |s: &Schema| {
            s.fields()
                .iter()
                .map(|f| (f.name().clone(), f.data_type().clone()))
                .collect::<Vec<_>>()
        };
        let misfit = |found: &Schema| {
            (fields(found) != fields(&schema())).then(|| "has another layout".to_owned())
        };
        let table = open_table(dir, options, TABLE, schema(), misfit).await?;
        let path = Arc::new(dir.to_owned());
        Ok(Self { table, path })
    }

    fn err(&self, e: lancedb::Error) -> Error {
        store_error(&self.path, e)
    }

    /// Writes these rows beside any of the same ids (a cycle's new versions, written before
    /// it commits; [`ConceptStore::settle`] drops the old ones once it has).
    pub async fn add(&self, rows: &[ConceptRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        if let Some(bad) = rows
            .iter()
            .find(|r| r.centroid.len() != DIM || r.meaning.len() != DIM)
        {
            return Err(Error::Unsupported {
                path: self.path.to_path_buf(),
                detected: format!("concept {} with vectors not of {DIM} floats", bad.id),
            });
        }
        let batch = to_batch(rows).map_err(|e| self.err(e.into()))?;
        self.table
            .add(batch)
            .execute()
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Writes these rows in place of any of the same ids (reconciliation).
    pub async fn put(&self, rows: &[ConceptRow]) -> Result<()> {
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        self.delete(&ids).await?;
        self.add(rows).await
    }

    /// Deletes the rows of `ids` that `cycle` did not write: the versions it replaced, once
    /// it has committed.
    pub async fn settle(&self, ids: &[String], cycle: &str) -> Result<()> {
        for part in ids.chunks(500) {
            let list: Vec<String> = part.iter().map(|id| quote(id)).collect();
            self.table
                .delete(
                    format!("id IN ({}) AND cycle != {}", list.join(", "), quote(cycle)).as_str(),
                )
                .await
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    pub(crate) fn table(&self) -> &Table {
        &self.table
    }

    /// Merges small fragments and deletes old versions (`store::tidy_table`).
    pub async fn tidy(&self, keep: std::time::Duration) -> Result<crate::Tidied> {
        crate::store::tidy_table(&self.table, &self.path, keep).await
    }

    /// Deletes the rows of these concept ids.
    pub async fn delete(&self, ids: &[String]) -> Result<()> {
        for part in ids.chunks(500) {
            let list: Vec<String> = part.iter().map(|id| quote(id)).collect();
            self.table
                .delete(format!("id IN ({})", list.join(", ")).as_str())
                .await
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// Deletes every row a cycle wrote (its commit failed after the rows were written).
    pub async fn delete_cycle(&self, cycle: &str) -> Result<()> {
        self.table
            .delete(format!("cycle = {}", quote(cycle)).as_str())
            .await
            .map_err(|e| self.err(e))
            .map(drop)
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

    /// Every row of `persona`, vectors included.
    pub async fn rows(&self, persona: &str) -> Result<Vec<ConceptRow>> {
        let batches = self
            .collect(
                self.table
                    .query()
                    .only_if(format!("persona = {}", quote(persona))),
            )
            .await?;
        let mut rows = Vec::new();
        for b in &batches {
            rows.extend(rows_of(b).map_err(|e| self.err(e))?);
        }
        Ok(rows)
    }

    /// What reconciliation compares of every row.
    pub async fn keys(&self) -> Result<Vec<ConceptKey>> {
        let batches = self
            .collect(self.table.query().select(Select::columns(&[
                "id",
                "persona",
                "members",
                "definition",
            ])))
            .await?;
        let mut keys = Vec::new();
        for b in &batches {
            let col = |name| strings(b, name).map_err(|e| self.err(e));
            let (id, persona, members, definition) = (
                col("id")?,
                col("persona")?,
                col("members")?,
                col("definition")?,
            );
            keys.extend((0..id.len()).map(|i| ConceptKey {
                id: id.value(i).to_owned(),
                persona: persona.value(i).to_owned(),
                members: members.value(i).to_owned(),
                definition: definition.value(i).to_owned(),
            }));
        }
        Ok(keys)
    }

    /// The `k` defined concepts whose meaning is nearest to `vector`, of one persona or all.
    /// A flat scan: a persona has hundreds of concepts, not millions.
    pub async fn search(
        &self,
        vector: &[f32],
        persona: Option<&str>,
        k: usize,
    ) -> Result<Vec<ConceptHit>> {
        let mut filter = "definition != ''".to_owned();
        if let Some(p) = persona {
            filter.push_str(&format!(" AND persona = {}", quote(p)));
        }
        let query = self
            .table
            .query()
            .nearest_to(vector)
            .map_err(|e| self.err(e))?
            .column("meaning")
            .distance_type(DistanceType::Cosine)
            .bypass_vector_index()
            .only_if(filter)
            .limit(2 * k)
            .select(Select::columns(&["id", "persona", "_distance"]));
        let mut hits = Vec::new();
        for b in &self.collect(query).await? {
            let read = || -> lancedb::Result<Vec<ConceptHit>> {
                let (id, persona) = (strings(b, "id")?, strings(b, "persona")?);
                let distance = column::<arrow_array::Float32Array>(b, "_distance")?;
                Ok((0..b.num_rows())
                    .map(|i| ConceptHit {
                        id: id.value(i).to_owned(),
                        persona: persona.value(i).to_owned(),
                        score: 1.0 - distance.value(i),
                    })
                    .collect())
            };
            hits.extend(read().map_err(|e| self.err(e))?);
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        // a concept whose new row is written beside its old one (a cycle not yet settled)
        let mut seen = std::collections::HashSet::new();
        hits.retain(|h| seen.insert(h.id.clone()));
        hits.truncate(k);
        Ok(hits)
    }
}

fn rows_of(b: &RecordBatch) -> lancedb::Result<Vec<ConceptRow>> {
    let s = |name| strings(b, name);
    let (id, persona, members, label, definition, cycle) = (
        s("id")?,
        s("persona")?,
        s("members")?,
        s("label")?,
        s("definition")?,
        s("cycle")?,
    );
    let size = column::<UInt32Array>(b, "size")?;
    let centroids = float_rows(b, "centroid")?;
    let meanings = float_rows(b, "meaning")?;
    Ok(centroids
        .into_iter()
        .zip(meanings)
        .enumerate()
        .map(|(i, (centroid, meaning))| ConceptRow {
            id: id.value(i).to_owned(),
            persona: persona.value(i).to_owned(),
            members: members.value(i).to_owned(),
            size: size.value(i),
            label: label.value(i).to_owned(),
            definition: definition.value(i).to_owned(),
            centroid,
            meaning,
            cycle: cycle.value(i).to_owned(),
        })
        .collect())
}

fn to_batch(rows: &[ConceptRow]) -> std::result::Result<RecordBatch, arrow_schema::ArrowError> {
    let text =
        |f: fn(&ConceptRow) -> &str| Arc::new(StringArray::from_iter_values(rows.iter().map(f)));
    let list = |f: fn(&ConceptRow) -> &[f32]| {
        Arc::new(
            FixedSizeListArray::from_iter_primitive::<Float32Type, _, _>(
                rows.iter()
                    .map(|r| Some(f(r).iter().copied().map(Some).collect::<Vec<_>>())),
                DIM as i32,
            ),
        )
    };
    RecordBatch::try_new(
        schema(),
        vec![
            text(|r| &r.id),
            text(|r| &r.persona),
            text(|r| &r.members),
            Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.size))),
            text(|r| &r.label),
            text(|r| &r.definition),
            list(|r| &r.centroid),
            list(|r| &r.meaning),
            text(|r| &r.cycle),
        ],
    )
}

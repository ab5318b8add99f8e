//! Remembering a document: read → chunk → embed → one cycle. The document's image records
//! (a context-fractal object for it and for each chunk, linked persona → document → chunks)
//! and its LanceDB rows commit together: rows are written first, tagged with the cycle, and
//! the cycle commits after them. A crash in between leaves rows the image does not know,
//! which reconciliation deletes; the image never names a chunk LanceDB lacks unless a crash
//! interrupted a replace, which reconciliation re-embeds. The same cycle grows the persona's
//! concepts (`concepts.rs`): the new chunks join them, a replaced document's old chunks leave.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;
use telos_image::genesis::CONTEXT_FRACTAL;
use telos_image::{Object, ObjectId, now_ms};

use crate::Memory;
use crate::chunk::Chunk;
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::read::Document;
use crate::store::Row;

/// A persona's relation to the documents it remembers.
pub const MEMORY: &str = "memory";
/// A document's relation to its chunks, in order.
pub const CHUNKS: &str = "chunks";
/// Texts embedded per progress report.
const EMBED_STEP: usize = 64;

/// Where one file's ingest is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "stage", rename_all = "camelCase")]
pub enum Stage {
    Reading,
    /// The model's files are being fetched from the hub (a first ingest after installing).
    Fetching {
        file: String,
        done_mb: u32,
        total_mb: Option<u32>,
    },
    Chunking,
    Embedding {
        done: u32,
        total: u32,
    },
    Indexing,
    Done {
        outcome: Outcome,
        chunks: u32,
    },
    Failed {
        error: String,
    },
}

/// What ingesting one file did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// A new document.
    Added,
    /// The file changed since it was remembered: its old chunks were replaced.
    Replaced,
    /// The same bytes were remembered before: nothing was added.
    Unchanged,
}

/// One file's progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Progress {
    pub path: String,
    #[serde(flatten)]
    pub stage: Stage,
}

/// What became of one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FileReport {
    pub path: String,
    pub outcome: Outcome,
    /// The document object.
    pub document: String,
    pub chunks: u32,
    /// The cycle that remembered it (none when unchanged).
    pub cycle: Option<String>,
}

impl Memory {
    /// [`Memory::embedder`], reporting a download of the model's files while it waits.
    async fn embedder_reporting(
        &self,
        report: &(dyn Fn(Stage) + Send + Sync),
    ) -> Result<Arc<dyn Embedder>> {
        let load = self.embedder();
        tokio::pin!(load);
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
        let mut shown = None;
        loop {
            tokio::select! {
                got = &mut load => return got,
                _ = tick.tick() => {
                    let Some(d) = crate::hub::downloading() else { continue };
                    let mb = |bytes: u64| (bytes >> 20) as u32;
                    let stage = Stage::Fetching {
                        file: d.file,
                        done_mb: mb(d.done_bytes),
                        total_mb: d.total_bytes.map(mb),
                    };
                    if shown.as_ref() != Some(&stage) {
                        shown = Some(stage.clone());
                        report(stage);
                    }
                }
            }
        }
    }

    /// Remembers one file for `persona`, reporting each stage to `progress`.
    pub async fn ingest_file(
        &self,
        persona: &ObjectId,
        path: &Path,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<FileReport> {
        let shown = path.display().to_string();
        let report = |stage| {
            progress(Progress {
                path: shown.clone(),
                stage,
            })
        };
        report(Stage::Reading);
        let limit = self.inner.max_document_bytes;
        let doc = crate::reader::read(path, limit).await?;
        let persona_obj = self.inner.image.get(persona)?;
        match self.same_or_previous(&persona_obj, &doc) {
            (Some(same), None) => return Ok(unchanged(shown, &same)),
            // The file changed into a copy of another document: forgetting takes the turn.
            (Some(_), Some(_)) => {
                let _turn = self.inner.commit_turn.lock().await;
                let persona_obj = self.inner.image.get(persona)?;
                if let (Some(same), previous) = self.same_or_previous(&persona_obj, &doc) {
                    return self.known_bytes(shown, &persona_obj, &same, previous).await;
                }
            }
            (None, _) => {}
        }
        report(Stage::Chunking);
        let embedder = self.embedder_reporting(&report).await?;
        let chunker = self.chunker().await?;
        let (doc, chunks) = blocking(move || {
            let chunks = chunker.chunk(&doc);
            Ok((doc, chunks))
        })
        .await?;
        if chunks.is_empty() {
            return Err(Error::NoText {
                path: path.to_owned(),
            });
        }
        let total = chunks.len() as u32;
        let mut vectors: Vec<Vec<f32>> = Vec::with_capacity(chunks.len());
        report(Stage::Embedding { done: 0, total });
        for part in chunks.chunks(EMBED_STEP) {
            let texts: Vec<String> = part.iter().map(|c| c.text.clone()).collect();
            let e = embedder.clone();
            let got = blocking(move || {
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                e.embed(&refs)
            })
            .await?;
            vectors.extend(got);
            report(Stage::Embedding {
                done: vectors.len() as u32,
                total,
            });
        }
        report(Stage::Indexing);
        // One document commit at a time, each linking into its persona. Under the turn, look
        // again: the same file may have been remembered meanwhile (dropped twice at once, or
        // by the inbox and a drop), and must not become two documents.
        let turn = self.inner.commit_turn.lock().await;
        let persona_obj = self.inner.image.get(persona)?;
        let (same, previous) = self.same_or_previous(&persona_obj, &doc);
        if let Some(same) = same {
            return self.known_bytes(shown, &persona_obj, &same, previous).await;
        }
        let outcome = if previous.is_some() {
            Outcome::Replaced
        } else {
            Outcome::Added
        };
        let done = self
            .commit_document(&persona_obj, previous.as_ref(), &doc, &chunks, vectors)
            .await?;
        drop(turn);
        self.wrote();
        self.inner.index.catch_up(self).await;
        report(Stage::Done {
            outcome,
            chunks: total,
        });
        Ok(FileReport {
            path: shown,
            outcome,
            document: done.0.to_string(),
            chunks: total,
            cycle: Some(done.1),
        })
    }

    /// The persona's document with the same bytes, and the one from the same path.
    fn same_or_previous(
        &self,
        persona: &Object,
        doc: &Document,
    ) -> (Option<Object>, Option<Object>) {
        let source = doc.path.display().to_string();
        let bytes = source_bytes(&doc.path);
        let mut same = None;
        let mut previous = None;
        for id in persona.links.get(MEMORY).into_iter().flatten() {
            let Ok(d) = self.inner.image.get(id) else {
                continue;
            };
            if d.slots.get("hash").and_then(|h| h.as_str()) == Some(doc.hash.as_str()) {
                same = Some((*d).clone());
            } else if d.slots.get("source").and_then(|s| s.as_str()) == Some(source.as_str())
                // A document from before names were kept whole has no bytes: its source decides.
                && d.slots
                    .get(SOURCE_BYTES)
                    .is_none_or(|b| b.as_str() == bytes.as_deref())
            {
                previous = Some((*d).clone());
            }
        }
        (same, previous)
    }

    /// A file whose bytes the persona remembers already (as `same`). Nothing is embedded; if
    /// the file held other bytes before (`previous`, a document of the same path), it has
    /// changed into a copy of `same`, so its old document and chunks are forgotten in one
    /// cycle. The caller holds the commit turn.
    async fn known_bytes(
        &self,
        shown: String,
        persona: &Object,
        same: &Object,
        previous: Option<Object>,
    ) -> Result<FileReport> {
        let Some(previous) = previous else {
            return Ok(unchanged(shown, same));
        };
        let image = &self.inner.image;
        let mut c = image.begin(&format!("forget what {shown} held before"));
        let kept: Vec<ObjectId> = persona
            .links
            .get(MEMORY)
            .into_iter()
            .flatten()
            .filter(|id| **id != previous.id)
            .cloned()
            .collect();
        c.set_links(&persona.id, MEMORY, &kept)?;
        let old: Vec<ObjectId> = previous.links.get(CHUNKS).cloned().unwrap_or_default();
        let mut growth = self.growth(persona).await?;
        growth.leave(&old, &self.vectors_by_id(&old).await?);
        let staged = self.stage_growth(&mut c, persona, growth)?;
        let doomed: Vec<ObjectId> = old.iter().cloned().chain([previous.id.clone()]).collect();
        c.delete_all(&doomed)?;
        let cycle = c.id().to_owned();
        if let Err(e) = self.write_staged(&staged).await {
            self.unwrite_cycle(&cycle).await;
            return Err(e);
        }
        if let Err(e) = c.commit().await {
            self.unwrite_cycle(&cycle).await;
            return Err(e.into());
        }
        self.settle_staged(&staged, &cycle).await;
        self.delete_rows_of(&old, &cycle).await;
        Ok(FileReport {
            cycle: Some(cycle),
            outcome: Outcome::Replaced,
            ..unchanged(shown, same)
        })
    }

    /// Deletes the rows of chunks that `cycle` (committed) deleted from the image. A failure
    /// loses nothing: reconciliation deletes rows no object names.
    async fn delete_rows_of(&self, chunks: &[ObjectId], cycle: &str) {
        let ids: Vec<String> = chunks.iter().map(ToString::to_string).collect();
        if let Err(e) = self.inner.store.delete_chunks(&ids).await {
            tracing::warn!(%cycle, "rows of deleted chunks stay until reconciliation: {e}");
        }
        self.wrote();
    }

    /// Writes the rows, then commits the cycle that records the document and its chunks.
    /// The caller holds the commit turn.
    async fn commit_document(
        &self,
        persona: &Object,
        previous: Option<&Object>,
        doc: &Document,
        chunks: &[Chunk],
        vectors: Vec<Vec<f32>>,
    ) -> Result<(ObjectId, String)> {
        let image = &self.inner.image;
        let file = doc.path.file_name().map_or_else(
            || doc.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let mut c = image.begin(&format!("remember {file}"));
        let context = c.resolve(CONTEXT_FRACTAL)?;
        let stem = format!("{} memory {}", persona.name, &doc.hash[..16]);
        let doc_id = match previous {
            Some(p) => p.id.clone(),
            None => c.create(&stem, std::slice::from_ref(&context))?,
        };
        let source = doc.path.display().to_string();
        let now = now_ms();
        for (slot, value) in [
            ("kind", json!("document")),
            ("source", json!(source)),
            ("hash", json!(doc.hash)),
            ("format", json!(doc.format.name())),
            ("size", json!(doc.size)),
            ("chunk_count", json!(chunks.len())),
            ("persona", json!(persona.id)),
            ("remembered", json!(now)),
        ] {
            c.set_slot(&doc_id, slot, value)?;
        }
        if let Some(bytes) = source_bytes(&doc.path) {
            c.set_slot(&doc_id, SOURCE_BYTES, json!(bytes))?;
        }
        let mut rows = Vec::with_capacity(chunks.len());
        let mut ids = Vec::with_capacity(chunks.len());
        for (chunk, vector) in chunks.iter().zip(vectors) {
            let id = c.create(
                &format!("{stem} part {}", chunk.index),
                std::slice::from_ref(&context),
            )?;
            for (slot, value) in [
                ("text", json!(chunk.text)),
                ("index", json!(chunk.index)),
                ("offset", json!(chunk.offset)),
                ("page", json!(chunk.page)),
                ("document", json!(doc_id)),
            ] {
                c.set_slot(&id, slot, value)?;
            }
            rows.push(Row {
                chunk_id: id.to_string(),
                persona: persona.id.to_string(),
                document: doc_id.to_string(),
                source: source.clone(),
                content_hash: doc.hash.clone(),
                chunk_index: chunk.index,
                page: chunk.page,
                offset: chunk.offset,
                text: chunk.text.clone(),
                vector,
                created: now,
                cycle: c.id().to_owned(),
            });
            ids.push(id);
        }
        c.set_links(&doc_id, CHUNKS, &ids)?;
        let old: Vec<ObjectId> = previous
            .and_then(|p| p.links.get(CHUNKS).cloned())
            .unwrap_or_default();
        // the chunks grow the persona's concepts in this same cycle (old ones leave theirs
        // before they are deleted)
        let mut growth = self.growth(persona).await?;
        if !old.is_empty() {
            growth.leave(&old, &self.vectors_by_id(&old).await?);
        }
        for (id, row) in ids.iter().zip(&rows) {
            growth.join(id.clone(), &row.vector);
        }
        let staged = self.stage_growth(&mut c, persona, growth)?;
        if previous.is_none() {
            c.link(&persona.id, MEMORY, &doc_id)?;
        } else {
            c.delete_all(&old)?;
        }
        let cycle = c.id().to_owned();
        self.inner.store.add(&rows).await?;
        let written = self.write_staged(&staged).await;
        let done: Result<()> = match written {
            Ok(()) => c.commit().await.map(drop).map_err(Into::into),
            Err(e) => Err(e),
        };
        if let Err(e) = done {
            if let Err(cleanup) = self.inner.store.delete_cycle(&cycle).await {
                tracing::warn!(%cycle, "rows of a failed ingest stay until reconciliation: {cleanup}");
            }
            self.unwrite_cycle(&cycle).await;
            return Err(e);
        }
        self.settle_staged(&staged, &cycle).await;
        if !old.is_empty() {
            self.delete_rows_of(&old, &cycle).await;
        }
        Ok((doc_id, cycle))
    }
}

impl Memory {
    /// The stored vectors of `chunks`, by id.
    async fn vectors_by_id(
        &self,
        chunks: &[ObjectId],
    ) -> Result<std::collections::HashMap<String, Vec<f32>>> {
        let ids: Vec<String> = chunks.iter().map(ToString::to_string).collect();
        Ok(self
            .inner
            .store
            .vectors_of(&ids)
            .await?
            .into_iter()
            .map(|v| (v.chunk_id, v.vector))
            .collect())
    }
}

/// A document's slot holding its path's bytes (hex) when the path is not UTF-8: its `source`
/// shows such a name with U+FFFD, which two names differing only in those bytes share, so the
/// bytes tell them apart.
pub const SOURCE_BYTES: &str = "source_bytes";

/// The hex of `path`'s bytes when it is not UTF-8; None when `source` says it all.
fn source_bytes(path: &Path) -> Option<String> {
    path.to_str()
        .is_none()
        .then(|| crate::read::hex(path.as_os_str().as_encoded_bytes()))
}

/// The report for a file whose bytes `same` already holds.
fn unchanged(path: String, same: &Object) -> FileReport {
    FileReport {
        path,
        outcome: Outcome::Unchanged,
        document: same.id.to_string(),
        chunks: same.links.get(CHUNKS).map_or(0, Vec::len) as u32,
        cycle: None,
    }
}

/// Runs CPU-heavy or blocking work off the async runtime's threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Embed(format!("a worker thread failed: {e}")))?
}

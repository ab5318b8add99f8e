//! Recall (ranked chunks for a query), and keeping LanceDB in line with the image: `doctor`
//! compares the two, `reconcile` deletes rows the image does not name and re-embeds chunks
//! the table lacks.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use telos_image::{Object, ObjectId};

use crate::Memory;
use crate::error::Result;
use crate::index::IndexState;
use crate::ingest::{CHUNKS, MEMORY, blocking};
use crate::store::Row;

/// One remembered chunk, ranked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Recalled {
    pub persona: String,
    pub source: String,
    pub document: String,
    pub chunk_index: u32,
    pub page: Option<u32>,
    /// Byte offset of the chunk in the document's text.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub offset: u64,
    pub text: String,
    /// Cosine similarity to the query: 1 is the same direction.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub score: f32,
}

/// Memory's health: the image and LanceDB compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub documents: usize,
    /// Chunks the image holds (linked from a remembered document).
    pub image_chunks: usize,
    pub store_rows: usize,
    /// Rows in LanceDB the image does not name.
    pub orphans: usize,
    /// Chunks in the image LanceDB lacks.
    pub missing: usize,
    pub index: IndexState,
    /// The last background index build's error, if it failed.
    pub index_error: Option<String>,
    pub embedder: String,
}

/// A chunk the image names, with what its row needs.
struct Known {
    persona: ObjectId,
    document: std::sync::Arc<Object>,
    chunk: std::sync::Arc<Object>,
}

impl Memory {
    /// The `k` chunks nearest to `query`, of `persona` or of every persona.
    pub async fn recall(
        &self,
        persona: Option<&ObjectId>,
        query: &str,
        k: usize,
    ) -> Result<Vec<Recalled>> {
        let embedder = self.embedder().await?;
        let q = query.to_owned();
        let vector = blocking(move || Ok(embedder.embed(&[q.as_str()])?.remove(0))).await?;
        let persona = persona.map(ToString::to_string);
        let hits = self
            .inner
            .store
            .search(
                &vector,
                persona.as_deref(),
                k,
                crate::store::Tuning::default(),
            )
            .await?;
        Ok(hits
            .into_iter()
            .map(|h| Recalled {
                persona: self
                    .inner
                    .image
                    .resolve(&h.persona)
                    .map_or(h.persona.clone(), |p| p.name.clone()),
                source: h.source,
                document: h.document,
                chunk_index: h.chunk_index,
                page: h.page,
                offset: h.offset,
                text: h.text,
                score: 1.0 - h.distance,
            })
            .collect())
    }

    /// Every chunk the image names: persona → memory → document → chunks.
    fn known(&self) -> HashMap<String, Known> {
        let image = &self.inner.image;
        let mut known = HashMap::new();
        for persona in image.objects() {
            for doc_id in persona.links.get(MEMORY).into_iter().flatten() {
                let Ok(document) = image.get(doc_id) else {
                    continue;
                };
                for chunk_id in document.links.get(CHUNKS).into_iter().flatten() {
                    if let Ok(chunk) = image.get(chunk_id) {
                        known.insert(
                            chunk_id.to_string(),
                            Known {
                                persona: persona.id.clone(),
                                document: document.clone(),
                                chunk,
                            },
                        );
                    }
                }
            }
        }
        known
    }

    /// Compares the image with LanceDB; changes nothing.
    pub async fn doctor(&self) -> Result<Health> {
        let known = self.known();
        let rows: HashSet<String> = self.inner.store.chunk_ids().await?.into_iter().collect();
        let documents: HashSet<&str> = known.values().map(|k| k.document.id.as_str()).collect();
        Ok(Health {
            documents: documents.len(),
            image_chunks: known.len(),
            store_rows: rows.len(),
            orphans: rows.iter().filter(|id| !known.contains_key(*id)).count(),
            missing: known.keys().filter(|id| !rows.contains(*id)).count(),
            index: self.inner.index.state(&self.inner.store).await?,
            index_error: self.inner.index.last_error(),
            embedder: self.inner.embedder_name.clone(),
        })
    }

    /// Makes LanceDB hold exactly the chunks the image names: deletes the rest and
    /// re-embeds what is missing from the chunks' own text, then starts the index build if
    /// one is due. Returns the health after.
    pub async fn reconcile(&self) -> Result<Health> {
        let _turn = self.inner.commit_turn.lock().await;
        let known = self.known();
        let rows = self.inner.store.chunk_ids().await?;
        let present: HashSet<&String> = rows.iter().collect();
        let orphans: Vec<String> = rows
            .iter()
            .filter(|id| !known.contains_key(*id))
            .cloned()
            .collect();
        if !orphans.is_empty() {
            tracing::info!(
                count = orphans.len(),
                "deleting memory rows the image does not name"
            );
            self.inner.store.delete_chunks(&orphans).await?;
        }
        let missing: Vec<(&String, &Known)> = known
            .iter()
            .filter(|(id, _)| !present.contains(id))
            .collect();
        if !missing.is_empty() {
            tracing::info!(count = missing.len(), "re-embedding chunks memory lacks");
            let embedder = self.embedder().await?;
            for part in missing.chunks(64) {
                let texts: Vec<String> = part.iter().map(|(_, k)| text_of(&k.chunk)).collect();
                let e = embedder.clone();
                let vectors = blocking(move || {
                    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                    e.embed(&refs)
                })
                .await?;
                let rows: Vec<Row> = part
                    .iter()
                    .zip(vectors)
                    .map(|((id, k), vector)| row_of(id, k, vector))
                    .collect();
                self.inner.store.add(&rows).await?;
            }
        }
        drop(_turn);
        self.inner.index.catch_up(self).await;
        self.doctor().await
    }
}

fn text_of(chunk: &Object) -> String {
    chunk
        .slots
        .get("text")
        .and_then(|t| t.as_str())
        .unwrap_or_default()
        .to_owned()
}

fn row_of(id: &str, k: &Known, vector: Vec<f32>) -> Row {
    let doc = |slot: &str| k.document.slots.get(slot).cloned().unwrap_or_default();
    let chunk = |slot: &str| k.chunk.slots.get(slot).cloned().unwrap_or_default();
    Row {
        chunk_id: id.to_owned(),
        persona: k.persona.to_string(),
        document: k.document.id.to_string(),
        source: doc("source").as_str().unwrap_or_default().to_owned(),
        content_hash: doc("hash").as_str().unwrap_or_default().to_owned(),
        chunk_index: chunk("index").as_u64().unwrap_or_default() as u32,
        page: chunk("page").as_u64().map(|p| p as u32),
        offset: chunk("offset").as_u64().unwrap_or_default(),
        text: text_of(&k.chunk),
        vector,
        created: doc("remembered").as_i64().unwrap_or_default(),
        cycle: "reconcile".to_owned(),
    }
}

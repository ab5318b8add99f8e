//! Recall (ranked chunks for a query), and keeping LanceDB in line with the image: `doctor`
//! compares the two, `reconcile` deletes rows the image does not name, and re-embeds chunks
//! the table lacks or whose row says something else than the image (its text, persona,
//! document or the document's hash).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use telos_image::{Object, ObjectId};

use crate::Memory;
use crate::concept_store::ConceptRow;
use crate::concepts::{ABSTRACTION_OF, CONCEPTS, members_digest, slot_str};
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
    /// Rows whose content differs from the chunk the image holds.
    pub differing: usize,
    /// Symbols in the image's codebooks, and rows in the cleanup memory.
    pub symbols: usize,
    pub symbol_rows: usize,
    /// Concepts in the image, and rows in the concepts table.
    pub concepts: usize,
    pub concept_rows: usize,
    /// The memory found damaged at open, moved aside and rebuilt from the image (what was
    /// wrong, and where it went).
    pub rebuilt: Option<String>,
    pub index: IndexState,
    /// The last background index build's error, if it failed.
    pub index_error: Option<String>,
    pub embedder: String,
}

/// A chunk the image names, with what its row needs.
pub(crate) struct Known {
    persona: ObjectId,
    document: std::sync::Arc<Object>,
    pub(crate) chunk: std::sync::Arc<Object>,
}

impl Memory {
    /// The `k` chunks nearest to `query`, of `persona` or of every persona.
    pub async fn recall(
        &self,
        persona: Option<&ObjectId>,
        query: &str,
        k: usize,
    ) -> Result<Vec<Recalled>> {
        let vector = self.embed_query(query).await?;
        self.chunks_near(&vector, persona, k).await
    }

    /// The `k` chunks nearest to a vector already embedded (a chunk's own, as a backup's
    /// canary keeps it), of `persona` or of every persona: no model is asked.
    pub async fn recall_vector(
        &self,
        persona: Option<&ObjectId>,
        vector: &[f32],
        k: usize,
    ) -> Result<Vec<Recalled>> {
        self.chunks_near(vector, persona, k).await
    }

    /// The stored embedding of chunk `id`; `None` when the table has no row for it.
    pub async fn chunk_vector(&self, id: &str) -> Result<Option<Vec<f32>>> {
        let found = self.inner.store.vectors_of(&[id.to_owned()]).await?;
        Ok(found.into_iter().next().map(|c| c.vector))
    }

    /// [`Memory::recall`], and the `concepts` named concepts whose meaning is nearest (a
    /// broad question is grounded in what the persona has abstracted as well as in passages),
    /// the query embedded once.
    pub async fn recall_with_concepts(
        &self,
        persona: Option<&ObjectId>,
        query: &str,
        k: usize,
        concepts: usize,
    ) -> Result<(Vec<Recalled>, Vec<crate::RecalledConcept>)> {
        let vector = self.embed_query(query).await?;
        let chunks = self.chunks_near(&vector, persona, k).await?;
        let concepts = if concepts == 0 {
            Vec::new()
        } else {
            // concepts are extra grounding: without them the chunks still ground the turn
            self.concepts_near(&vector, persona, concepts)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!("recalling concepts: {e}");
                    Vec::new()
                })
        };
        Ok((chunks, concepts))
    }

    pub(crate) async fn embed_query(&self, query: &str) -> Result<Vec<f32>> {
        let embedder = self.embedder().await?;
        let q = query.to_owned();
        blocking(move || Ok(embedder.embed(&[q.as_str()])?.remove(0))).await
    }

    async fn chunks_near(
        &self,
        vector: &[f32],
        persona: Option<&ObjectId>,
        k: usize,
    ) -> Result<Vec<Recalled>> {
        let persona = persona.map(ToString::to_string);
        let hits = self
            .inner
            .store
            .search(
                vector,
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
    pub(crate) fn known(&self) -> HashMap<String, Known> {
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
        let keys = self.inner.store.row_keys().await?;
        let rows: HashSet<&str> = keys.iter().map(|k| k.chunk_id.as_str()).collect();
        let documents: HashSet<&str> = known.values().map(|k| k.document.id.as_str()).collect();
        let (symbols, symbol_rows) = self.symbol_counts().await?;
        Ok(Health {
            symbols,
            symbol_rows,
            concepts: self.known_concepts().len(),
            concept_rows: self.inner.concepts.count().await?,
            documents: documents.len(),
            image_chunks: known.len(),
            store_rows: keys.len(),
            orphans: rows.iter().filter(|id| !known.contains_key(**id)).count(),
            missing: known
                .keys()
                .filter(|id| !rows.contains(id.as_str()))
                .count(),
            differing: keys.iter().filter(|r| differs(r, &known)).count(),
            rebuilt: self.inner.rebuilt.clone(),
            index: self.inner.index.state(&self.inner.store).await?,
            index_error: self.inner.index.last_error(),
            embedder: self.inner.embedder_name.clone(),
        })
    }

    /// Makes LanceDB hold exactly the chunks the image names, as the image has them: deletes
    /// the rest and re-embeds, from the chunks' own text, what is missing or differs, then
    /// starts the index build if one is due. Returns the health after.
    pub async fn reconcile(&self) -> Result<Health> {
        self.reconcile_with(&|done, total| {
            if done == total || done % 1024 < 64 {
                tracing::info!("memory: re-embedding chunks from the image, {done} of {total}");
            }
        })
        .await
    }

    /// [`Memory::reconcile`], telling `progress` (chunks re-embedded, of how many) as it goes.
    pub async fn reconcile_with(&self, progress: &dyn Fn(usize, usize)) -> Result<Health> {
        let _turn = self.inner.commit_turn.lock().await;
        let known = self.known();
        let rows = self.inner.store.row_keys().await?;
        let present: HashSet<&str> = rows.iter().map(|r| r.chunk_id.as_str()).collect();
        // Rows the image does not name, and rows that say something else than the image: both
        // go, and the second kind is embedded again below.
        let stale: Vec<String> = rows
            .iter()
            .filter(|r| !known.contains_key(&r.chunk_id) || differs(r, &known))
            .map(|r| r.chunk_id.clone())
            .collect();
        let differing: HashSet<&str> = rows
            .iter()
            .filter(|r| differs(r, &known))
            .map(|r| r.chunk_id.as_str())
            .collect();
        if !stale.is_empty() {
            tracing::info!(
                count = stale.len(),
                differing = differing.len(),
                "deleting memory rows the image does not name, or names otherwise"
            );
            self.inner.store.delete_chunks(&stale).await?;
        }
        let missing: Vec<(&String, &Known)> = known
            .iter()
            .filter(|(id, _)| !present.contains(id.as_str()) || differing.contains(id.as_str()))
            .collect();
        if !missing.is_empty() {
            tracing::info!(count = missing.len(), "re-embedding chunks memory lacks");
            let embedder = self.embedder().await?;
            let mut done = 0;
            progress(done, missing.len());
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
                done += part.len();
                progress(done, missing.len());
            }
        }
        let (deleted, made) = self.reconcile_concepts().await?;
        if deleted + made > 0 {
            tracing::info!(
                deleted,
                made,
                "concepts table brought in line with the image's concepts"
            );
        }
        let (deleted, made) = self.reconcile_symbols().await?;
        if deleted + made > 0 {
            tracing::info!(
                deleted,
                made,
                "cleanup memory brought in line with the image's symbols"
            );
        }
        drop(_turn);
        self.inner.index.catch_up(self).await;
        self.doctor().await
    }
}

impl Memory {
    /// Every concept the image holds, by id, with its persona.
    fn known_concepts(&self) -> HashMap<String, (ObjectId, std::sync::Arc<Object>)> {
        let mut known = HashMap::new();
        for persona in self.inner.image.objects() {
            if persona.links.contains_key(CONCEPTS) {
                for o in self.concept_objects(&persona) {
                    known.insert(o.id.to_string(), (persona.id.clone(), o));
                }
            }
        }
        known
    }

    /// Makes the concepts table hold exactly the image's concepts: rows no concept names, or
    /// whose members or definition differ, go; missing ones are made again (the centroid
    /// from the chunks' rows, the meaning from the definition). Returns (deleted, made). The
    /// caller holds the commit turn, and has reconciled the chunks.
    async fn reconcile_concepts(&self) -> Result<(usize, usize)> {
        let known = self.known_concepts();
        let keys = self.inner.concepts.keys().await?;
        let stale: Vec<String> = keys
            .iter()
            .filter(|k| match known.get(&k.id) {
                None => true,
                Some((persona, o)) => {
                    k.persona != persona.as_str()
                        || k.members != members_digest(&members(o))
                        || k.definition != slot_str(o, "definition").unwrap_or_default()
                }
            })
            .map(|k| k.id.clone())
            .collect();
        if !stale.is_empty() {
            self.inner.concepts.delete(&stale).await?;
        }
        let kept: HashSet<&str> = keys
            .iter()
            .map(|k| k.id.as_str())
            .filter(|id| !stale.iter().any(|s| s == id))
            .collect();
        let mut rows = Vec::new();
        for (id, (persona, o)) in &known {
            if kept.contains(id.as_str()) {
                continue;
            }
            let members = members(o);
            let centroid = self.centroid_of(&members).await?;
            let (label, definition) = (
                slot_str(o, "label").unwrap_or_default().to_owned(),
                slot_str(o, "definition").unwrap_or_default().to_owned(),
            );
            let meaning = if definition.is_empty() {
                centroid.clone()
            } else {
                let embedder = self.embedder().await?;
                let text = format!("{label}: {definition}");
                blocking(move || Ok(embedder.embed(&[text.as_str()])?.remove(0))).await?
            };
            rows.push(ConceptRow {
                id: id.clone(),
                persona: persona.to_string(),
                members: members_digest(&members),
                size: members.len() as u32,
                label,
                definition,
                centroid,
                meaning,
                cycle: "reconcile".into(),
            });
        }
        for part in rows.chunks(256) {
            self.inner.concepts.put(part).await?;
        }
        Ok((stale.len(), rows.len()))
    }
}

fn members(concept: &Object) -> Vec<ObjectId> {
    concept
        .links
        .get(ABSTRACTION_OF)
        .cloned()
        .unwrap_or_default()
}

/// The row says something else of its chunk than the image does.
fn differs(row: &crate::store::RowKey, known: &HashMap<String, Known>) -> bool {
    let Some(k) = known.get(&row.chunk_id) else {
        return false;
    };
    let hash = k
        .document
        .slots
        .get("hash")
        .and_then(|h| h.as_str())
        .unwrap_or_default();
    row.persona != k.persona.as_str()
        || row.document != k.document.id.as_str()
        || row.content_hash != hash
        || row.text != text_of(&k.chunk)
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

//! Concept fractals: a persona's chunks grouped into concepts as they are remembered. A
//! concept is a `concept fractal` object, linked persona `-concepts->` concept
//! `-abstraction_of->` chunks, its centroid and meaning in the `concepts` table
//! (`concept_store.rs`). Growth is incremental and part of the document's own cycle: each new
//! chunk joins the concept whose centroid is nearest if its cosine is at least [`JOIN`], or
//! starts a new one; a forgotten or replaced document's chunks leave theirs (a concept left
//! empty goes). So a new document changes only the concepts it touches. The re-clustering
//! that tidies what growth leaves is `recluster.rs`.
//!
//! BABS names a new concept, and one that has doubled or halved since it was named
//! ([`Memory::concepts_to_name`], [`Memory::name_concept`]). A named concept is also a symbol
//! of its persona's codebook, `concept:LABEL`, whose hypervector is the role–filler record
//! `topic * LABEL + persona * PERSONA + source * (DOC + …)`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use telos_image::genesis::CONCEPT_FRACTAL;
use telos_image::{Cycle, Object, ObjectId};

use crate::Memory;
use crate::concept_store::ConceptRow;
use crate::error::{Error, Result};
use crate::symbols::{CODEBOOK, CONCEPT};

/// A persona's relation to its concepts.
pub const CONCEPTS: &str = "concepts";
/// A concept's relation to its chunks.
pub const ABSTRACTION_OF: &str = "abstraction_of";
/// The cosine to a concept's centroid at which a new chunk joins it (MiniLM: passages on
/// one subject sit at 0.5–0.8 from their mean, unrelated ones below 0.3). Measured on 1,200
/// labelled docstrings (`vsa_bench`): at 0.5, 300 concepts, 135 of them alone after
/// regrouping, 0.51 namings per document; at 0.45, 191, 58 alone, 0.39 namings, the same NMI
/// against the labels (0.529 vs 0.527); at 0.4, 132, 27 alone, 0.31 namings, NMI 0.522.
pub const JOIN: f32 = 0.45;
/// A concept is named again when its size has grown or shrunk by this factor since.
pub const RENAME_FACTOR: u64 = 2;
/// Passages of a concept BABS reads to name it.
pub const EXCERPTS: usize = 6;

/// A concept as the CLI and the app show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Concept {
    pub id: String,
    pub persona: String,
    /// BABS's name for it (none until named).
    pub label: Option<String>,
    pub definition: Option<String>,
    /// Its chunks, and the documents they are from.
    pub size: u32,
    pub documents: u32,
    /// Not named yet, or changed enough since to be named again.
    pub needs_name: bool,
    /// Its record in the persona's codebook (`concept:LABEL`), once named.
    pub symbol: Option<String>,
}

/// One chunk of a concept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConceptChunk {
    pub id: String,
    pub source: String,
    pub chunk_index: u32,
    pub text: String,
}

/// A concept with its chunks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConceptDetail {
    pub concept: Concept,
    pub chunks: Vec<ConceptChunk>,
}

pub(crate) fn slot_str<'a>(o: &'a Object, slot: &str) -> Option<&'a str> {
    o.slots
        .get(slot)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

pub(crate) fn slot_u64(o: &Object, slot: &str) -> u64 {
    o.slots.get(slot).and_then(Value::as_u64).unwrap_or(0)
}

/// Whether `o` is a concept object.
pub fn is_concept(o: &Object) -> bool {
    o.slots.get("kind") == Some(&json!(CONCEPT))
}

/// Whether concept `o` is to be named: it has no name, or its size has doubled or halved
/// since it was named.
pub fn needs_name(o: &Object) -> bool {
    let (size, named) = (slot_u64(o, "size"), slot_u64(o, "named_size"));
    named == 0 || size >= RENAME_FACTOR * named || size * RENAME_FACTOR <= named
}

/// A digest of a concept's members (order does not matter).
pub(crate) fn members_digest(members: &[ObjectId]) -> String {
    let mut ids: Vec<&str> = members.iter().map(ObjectId::as_str).collect();
    ids.sort_unstable();
    let mut h = Sha256::new();
    for id in ids {
        h.update(id.as_bytes());
        h.update(b"\n");
    }
    format!("{:x}", h.finalize())
}

pub(crate) fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        ab / (aa.sqrt() * bb.sqrt())
    }
}

/// The mean of `vectors` (none: an empty list).
pub(crate) fn mean<'a>(vectors: impl IntoIterator<Item = &'a [f32]>) -> Option<Vec<f32>> {
    let mut sum: Option<Vec<f32>> = None;
    let mut n = 0usize;
    for v in vectors {
        let s = sum.get_or_insert_with(|| vec![0.0; v.len()]);
        for (a, x) in s.iter_mut().zip(v) {
            *a += x;
        }
        n += 1;
    }
    sum.map(|mut s| {
        for a in &mut s {
            *a /= n as f32;
        }
        s
    })
}

/// One concept while a cycle changes it.
pub(crate) struct Grown {
    pub(crate) id: Option<ObjectId>,
    pub(crate) members: Vec<ObjectId>,
    /// The mean of its members' vectors (none: its row is lost; it takes no new chunks until
    /// reconciliation makes it again).
    pub(crate) centroid: Option<Vec<f32>>,
    /// Its meaning as the table holds it, kept while its definition stands.
    pub(crate) meaning: Option<Vec<f32>>,
    pub(crate) changed: bool,
}

/// A persona's concepts as one cycle grows them.
pub(crate) struct Growth {
    pub(crate) concepts: Vec<Grown>,
}

impl Growth {
    /// Takes `chunks` out of their concepts; `vectors` are theirs (from their rows).
    pub(crate) fn leave(&mut self, chunks: &[ObjectId], vectors: &HashMap<String, Vec<f32>>) {
        let leaving: HashSet<&ObjectId> = chunks.iter().collect();
        for g in &mut self.concepts {
            let before = g.members.len();
            let (gone, kept): (Vec<ObjectId>, Vec<ObjectId>) =
                g.members.drain(..).partition(|m| leaving.contains(m));
            g.members = kept;
            if gone.is_empty() {
                continue;
            }
            g.changed = true;
            // the mean without them: (n·mean − Σ gone) / (n − r); a vector not known makes
            // the centroid unknown until reconciliation
            g.centroid = match (&g.centroid, g.members.len()) {
                (_, 0) => None,
                (Some(c), left) => {
                    let mut sum: Vec<f32> = c.iter().map(|x| x * before as f32).collect();
                    let mut known = true;
                    for m in &gone {
                        match vectors.get(m.as_str()) {
                            Some(v) => sum.iter_mut().zip(v).for_each(|(a, x)| *a -= x),
                            None => known = false,
                        }
                    }
                    known.then(|| sum.into_iter().map(|a| a / left as f32).collect())
                }
                (None, _) => None,
            };
        }
    }

    /// Puts the chunk in the nearest concept within [`JOIN`], or a new one of its own.
    pub(crate) fn join(&mut self, chunk: ObjectId, vector: &[f32]) {
        let best = self
            .concepts
            .iter()
            .enumerate()
            .filter(|(_, g)| !g.members.is_empty())
            .filter_map(|(i, g)| Some((i, cosine(vector, g.centroid.as_ref()?))))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((i, sim)) if sim >= JOIN => {
                let g = &mut self.concepts[i];
                let n = g.members.len() as f32;
                if let Some(c) = &mut g.centroid {
                    for (a, x) in c.iter_mut().zip(vector) {
                        *a = (*a * n + x) / (n + 1.0);
                    }
                }
                g.members.push(chunk);
                g.changed = true;
            }
            _ => self.concepts.push(Grown {
                id: None,
                members: vec![chunk],
                centroid: Some(vector.to_vec()),
                meaning: None,
                changed: true,
            }),
        }
    }
}

/// What a cycle's growth writes to the tables before it commits.
#[derive(Default)]
pub(crate) struct Staged {
    pub(crate) rows: Vec<ConceptRow>,
    /// Concepts deleted (their rows in both tables go).
    pub(crate) deleted: Vec<String>,
}

impl Memory {
    /// `persona`'s concepts, the image's members with the table's centroids.
    pub(crate) async fn growth(&self, persona: &Object) -> Result<Growth> {
        // a concept may have two rows for a moment (a cycle's new one beside the old until it
        // settles): the one that says the image's members is its row
        let mut rows: HashMap<String, Vec<ConceptRow>> = HashMap::new();
        for r in self.inner.concepts.rows(persona.id.as_str()).await? {
            rows.entry(r.id.clone()).or_default().push(r);
        }
        let concepts = self
            .concept_objects(persona)
            .into_iter()
            .map(|o| {
                let members = o.links.get(ABSTRACTION_OF).cloned().unwrap_or_default();
                let digest = members_digest(&members);
                let row = rows
                    .remove(o.id.as_str())
                    .and_then(|list| list.into_iter().find(|r| r.members == digest));
                Grown {
                    id: Some(o.id.clone()),
                    members,
                    centroid: row.as_ref().map(|r| r.centroid.clone()),
                    meaning: row
                        .filter(|r| Some(r.definition.as_str()) == slot_str(&o, "definition"))
                        .map(|r| r.meaning),
                    changed: false,
                }
            })
            .collect();
        Ok(Growth { concepts })
    }

    /// `persona`'s concept objects, in the order it gained them.
    pub(crate) fn concept_objects(&self, persona: &Object) -> Vec<Arc<Object>> {
        let image = &self.inner.image;
        persona
            .links
            .get(CONCEPTS)
            .into_iter()
            .flatten()
            .filter_map(|id| image.get(id).ok())
            .collect()
    }

    /// Stages what `growth` changed in `c`: new concept objects, members and sizes, and the
    /// concepts left empty deleted. Returns the rows to write before `c` commits.
    pub(crate) fn stage_growth(
        &self,
        c: &mut Cycle,
        persona: &Object,
        growth: Growth,
    ) -> Result<Staged> {
        let mut staged = Staged::default();
        let mut n = 0usize;
        let mut removed = Vec::new();
        for g in growth.concepts.into_iter().filter(|g| g.changed) {
            if g.members.is_empty() {
                removed.extend(g.id);
                continue;
            }
            let id = match &g.id {
                Some(id) => id.clone(),
                None => {
                    n += 1;
                    let proto = c.resolve(CONCEPT_FRACTAL)?;
                    let name = format!("{} concept {}.{n}", persona.name, c.id());
                    let id = c.create(&name, &[proto])?;
                    c.set_slot(&id, "kind", json!(CONCEPT))?;
                    c.set_slot(&id, "persona", json!(persona.id))?;
                    c.link(&persona.id, CONCEPTS, &id)?;
                    id
                }
            };
            c.set_links(&id, ABSTRACTION_OF, &g.members)?;
            let documents: HashSet<String> = g
                .members
                .iter()
                .filter_map(|m| c.get(m).ok())
                .filter_map(|m| slot_str(&m, "document").map(str::to_owned))
                .collect();
            c.set_slot(&id, "size", json!(g.members.len()))?;
            c.set_slot(&id, "documents", json!(documents.len()))?;
            let Some(centroid) = g.centroid else {
                continue; // its row is made again by reconciliation
            };
            let o = c.get(&id)?;
            staged.rows.push(ConceptRow {
                id: id.to_string(),
                persona: persona.id.to_string(),
                members: members_digest(&g.members),
                size: g.members.len() as u32,
                label: slot_str(&o, "label").unwrap_or_default().to_owned(),
                definition: slot_str(&o, "definition").unwrap_or_default().to_owned(),
                meaning: g.meaning.unwrap_or_else(|| centroid.clone()),
                centroid,
                cycle: c.id().to_owned(),
            });
        }
        self.stage_removal(c, &persona.id, &removed)?;
        staged.deleted = removed.iter().map(ToString::to_string).collect();
        Ok(staged)
    }

    /// Stages the deletion of the concepts `ids`: unlinked from their persona's concepts and
    /// codebook first (a composite naming a record cannot be made again after).
    pub(crate) fn stage_removal(
        &self,
        c: &mut Cycle,
        persona: &ObjectId,
        ids: &[ObjectId],
    ) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let gone: HashSet<&ObjectId> = ids.iter().collect();
        let p = c.get(persona)?;
        for relation in [CONCEPTS, CODEBOOK] {
            if let Some(list) = p.links.get(relation)
                && list.iter().any(|x| gone.contains(x))
            {
                let kept: Vec<ObjectId> =
                    list.iter().filter(|x| !gone.contains(x)).cloned().collect();
                c.set_links(persona, relation, &kept)?;
            }
        }
        for id in ids {
            c.set_links(id, ABSTRACTION_OF, &[])?;
        }
        c.delete_all(ids)?;
        Ok(())
    }

    /// Writes a cycle's concept rows before it commits, beside the rows they replace.
    pub(crate) async fn write_staged(&self, staged: &Staged) -> Result<()> {
        self.inner.concepts.add(&staged.rows).await
    }

    /// Once the cycle has committed: the rows its rows replaced go, and the rows of the
    /// concepts it deleted (from both tables). A failure loses nothing: reconciliation
    /// deletes what the image does not say.
    pub(crate) async fn settle_staged(&self, staged: &Staged, cycle: &str) {
        let ids: Vec<String> = staged.rows.iter().map(|r| r.id.clone()).collect();
        let done = async {
            self.inner.concepts.settle(&ids, cycle).await?;
            if !staged.deleted.is_empty() {
                self.inner.concepts.delete(&staged.deleted).await?;
                self.inner.hyper.delete(&staged.deleted).await?;
            }
            Ok::<(), crate::Error>(())
        };
        if let Err(e) = done.await {
            tracing::warn!(%cycle, "replaced concept rows stay until reconciliation: {e}");
        }
    }

    /// After a failed commit: the rows it wrote go (the rows they were to replace stand).
    pub(crate) async fn unwrite_cycle(&self, cycle: &str) {
        if let Err(e) = self.inner.concepts.delete_cycle(cycle).await {
            tracing::warn!(%cycle, "concept rows of a failed cycle stay until reconciliation: {e}");
        }
        if let Err(e) = self.inner.hyper.delete_cycle(cycle).await {
            tracing::warn!(%cycle, "symbol rows of a failed cycle stay until reconciliation: {e}");
        }
    }

    /// The concept as the app shows it.
    pub fn concept_view(&self, o: &Object) -> Concept {
        let persona = slot_str(o, "persona")
            .and_then(|p| self.inner.image.resolve(p).ok())
            .map_or_else(String::new, |p| p.name.clone());
        let size = slot_u64(o, "size");
        Concept {
            id: o.id.to_string(),
            persona,
            label: slot_str(o, "label").map(str::to_owned),
            definition: slot_str(o, "definition").map(str::to_owned),
            size: size as u32,
            documents: slot_u64(o, "documents") as u32,
            needs_name: needs_name(o),
            symbol: slot_str(o, "symbol").map(str::to_owned),
        }
    }

    /// `persona`'s concepts (every persona's when none), largest first.
    pub fn concepts(&self, persona: Option<&ObjectId>) -> Vec<Concept> {
        let mut all: Vec<Concept> = self
            .personas_with_concepts(persona)
            .iter()
            .flat_map(|p| self.concept_objects(p))
            .map(|o| self.concept_view(&o))
            .collect();
        all.sort_by(|a, b| b.size.cmp(&a.size).then(a.id.cmp(&b.id)));
        all
    }

    pub(crate) fn personas_with_concepts(&self, persona: Option<&ObjectId>) -> Vec<Arc<Object>> {
        let image = &self.inner.image;
        match persona {
            Some(id) => image.get(id).into_iter().collect(),
            None => image
                .objects()
                .into_iter()
                .filter(|o| o.links.contains_key(CONCEPTS))
                .collect(),
        }
    }

    /// One concept with its chunks (in the order they joined).
    pub fn concept(&self, id: &ObjectId) -> Result<ConceptDetail> {
        let image = &self.inner.image;
        let o = image.get(id)?;
        if !is_concept(&o) {
            return Err(Error::Concept(format!("{} is not a concept", o.name)));
        }
        let chunks = o
            .links
            .get(ABSTRACTION_OF)
            .into_iter()
            .flatten()
            .filter_map(|m| image.get(m).ok())
            .map(|m| ConceptChunk {
                id: m.id.to_string(),
                source: slot_str(&m, "document")
                    .and_then(|d| image.resolve(d).ok())
                    .and_then(|d| slot_str(&d, "source").map(str::to_owned))
                    .unwrap_or_default(),
                chunk_index: slot_u64(&m, "index") as u32,
                text: slot_str(&m, "text").unwrap_or_default().to_owned(),
            })
            .collect();
        Ok(ConceptDetail {
            concept: self.concept_view(&o),
            chunks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ObjectId {
        ObjectId::parse(&format!("01JAAAAAAAAAAAAAAAAAAAAAA{n}")).expect("an id")
    }

    #[test]
    fn a_chunk_joins_the_nearest_concept_within_the_radius_or_starts_one() {
        let mut g = Growth {
            concepts: vec![Grown {
                id: Some(id(1)),
                members: vec![id(2)],
                centroid: Some(vec![1.0, 0.0, 0.0]),
                meaning: None,
                changed: false,
            }],
        };
        g.join(id(3), &[0.8, 0.6, 0.0]);
        assert_eq!(g.concepts.len(), 1);
        assert_eq!(g.concepts[0].members, [id(2), id(3)]);
        assert_eq!(
            g.concepts[0].centroid.as_deref(),
            Some(&[0.9, 0.3, 0.0][..])
        );
        g.join(id(4), &[0.0, 0.0, 1.0]);
        assert_eq!(g.concepts.len(), 2);
        assert!(g.concepts[1].id.is_none() && g.concepts[1].changed);
        let vectors = HashMap::from([(id(3).to_string(), vec![0.8, 0.6, 0.0])]);
        g.leave(&[id(3)], &vectors);
        let c = g.concepts[0].centroid.as_ref().unwrap();
        assert!((c[0] - 1.0).abs() < 1e-6 && c[1].abs() < 1e-6, "{c:?}");
        g.leave(&[id(2)], &HashMap::new());
        assert!(g.concepts[0].members.is_empty() && g.concepts[0].centroid.is_none());
    }
}

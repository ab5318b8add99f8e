//! Concepts: a persona's memories grouped and named (`telos concepts`, the Inspector's
//! concept list).

use telos_image::ObjectId;
use telos_memory::{Concept, ConceptDetail, Rebuilt, RecalledConcept};
use telos_persona::Named;

use crate::Telos;
use crate::error::{Error, Result};

/// What `telos concepts rebuild` did for one persona: the regrouping, then the naming.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConceptsRebuilt {
    pub rebuilt: Rebuilt,
    pub named: Named,
}

impl Telos {
    fn persona_id(&self, persona: &str) -> Result<ObjectId> {
        Ok(telos_persona::resolve_persona(&self.image, persona)?
            .id
            .clone())
    }

    /// The concepts of `persona` (everyone's when `None`), largest first.
    pub fn concepts(&self, persona: Option<&str>) -> Result<Vec<Concept>> {
        let id = persona.map(|p| self.persona_id(p)).transpose()?;
        Ok(self.memory.concepts(id.as_ref()))
    }

    /// The `k` named concepts of `persona` (everyone's when `None`) nearest to `query`.
    pub async fn recall_concepts(
        &self,
        persona: Option<&str>,
        query: &str,
        k: usize,
    ) -> Result<Vec<RecalledConcept>> {
        let id = persona.map(|p| self.persona_id(p)).transpose()?;
        Ok(self.memory.recall_concepts(id.as_ref(), query, k).await?)
    }

    /// One concept with its chunks, by id.
    pub fn concept(&self, id: &str) -> Result<ConceptDetail> {
        let id = ObjectId::parse(id).ok_or_else(|| {
            Error::Memory(telos_memory::Error::Concept(format!(
                "{id:?} is not a concept id (telos concepts ls shows them)"
            )))
        })?;
        Ok(self.memory.concept(&id)?)
    }

    /// Regroups the concepts of `persona` (every persona with memories when `None`), then
    /// has BABS name the new and changed ones; `progress` hears each stage in words.
    pub async fn rebuild_concepts(
        &self,
        persona: Option<&str>,
        progress: &(dyn Fn(String) + Send + Sync),
    ) -> Result<Vec<ConceptsRebuilt>> {
        let ids: Vec<ObjectId> = match persona {
            Some(p) => vec![self.persona_id(p)?],
            None => telos_persona::personas(&self.image)
                .into_iter()
                .filter(|p| self.memory.document_count(&p.id) > 0)
                .map(|p| p.id.clone())
                .collect(),
        };
        let mut out = Vec::new();
        for id in ids {
            let rebuilt = self.memory.rebuild_concepts(&id).await?;
            progress(format!(
                "{}: {} chunks in {} concepts (were {}); naming…",
                rebuilt.persona, rebuilt.chunks, rebuilt.after, rebuilt.before
            ));
            let who = rebuilt.persona.clone();
            let named = telos_persona::name_concepts(&self.voice, Some(&id), &|done, total| {
                if total > 0 {
                    progress(format!("{who}: named {done} of {total}"));
                }
            })
            .await?;
            out.push(ConceptsRebuilt { rebuilt, named });
        }
        Ok(out)
    }

    /// Has BABS name the concepts that need it (of `persona`, or everyone's).
    pub async fn name_concepts(&self, persona: Option<&str>) -> Result<Named> {
        let id = persona.map(|p| self.persona_id(p)).transpose()?;
        Ok(telos_persona::name_concepts(&self.voice, id.as_ref(), &|_, _| {}).await?)
    }
}

//! Naming concepts and recalling them. BABS names a new concept, and one that has doubled or
//! halved since it was named: [`Memory::concepts_to_name`] says which and what it reads,
//! [`Memory::name_concept`] records the name (one cycle) with its meaning embedded and its
//! record in the persona's codebook. Recall searches concepts' meanings beside chunks.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;
use telos_image::{Object, ObjectId};
use telos_vsa::{Expr, Hv};

use crate::Memory;
use crate::concept_store::ConceptRow;
use crate::concepts::{
    ABSTRACTION_OF, Concept, ConceptChunk, EXCERPTS, is_concept, mean, members_digest, slot_str,
    slot_u64,
};
use crate::error::{Error, Result};
use crate::hyper::SymbolRow;
use crate::ingest::blocking;
use crate::symbols::{CODEBOOK, CONCEPT};

/// Documents a concept's record names as its sources.
const RECORD_SOURCES: usize = 8;
const EXCERPT_CHARS: usize = 400;
const MAX_LABEL: usize = 80;
const MAX_DEFINITION: usize = 1000;

/// What BABS reads to name a concept.
#[derive(Debug, Clone, PartialEq)]
pub struct ToName {
    pub id: ObjectId,
    pub persona: String,
    /// Its name before, when it is named again.
    pub label: Option<String>,
    pub size: u32,
    /// Passages from as many of its documents as there are, first.
    pub excerpts: Vec<String>,
    pub sources: Vec<String>,
}

/// A concept recalled for a question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RecalledConcept {
    pub id: String,
    pub persona: String,
    pub label: String,
    pub definition: String,
    pub size: u32,
    /// Cosine similarity of its meaning to the question.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub score: f32,
}

impl Memory {
    /// The concepts BABS should name (of one persona, or all): new ones, and those that have
    /// doubled or halved since they were named.
    pub fn concepts_to_name(&self, persona: Option<&ObjectId>) -> Vec<ToName> {
        let mut out = Vec::new();
        for p in self.personas_with_concepts(persona) {
            for o in self.concept_objects(&p) {
                let view = self.concept_view(&o);
                if !view.needs_name {
                    continue;
                }
                let detail = match self.concept(&o.id) {
                    Ok(d) => d,
                    Err(e) => {
                        tracing::warn!("concept {}: {e}", o.name);
                        continue;
                    }
                };
                // the first passage of each document, then the rest in order
                let mut seen = HashSet::new();
                let (firsts, rest): (Vec<&ConceptChunk>, Vec<&ConceptChunk>) = detail
                    .chunks
                    .iter()
                    .partition(|c| seen.insert(c.source.clone()));
                let excerpts = firsts
                    .iter()
                    .chain(&rest)
                    .take(EXCERPTS)
                    .map(|c| excerpt(&c.text))
                    .collect();
                out.push(ToName {
                    id: o.id.clone(),
                    persona: p.name.clone(),
                    label: view.label,
                    size: view.size,
                    excerpts,
                    sources: seen.into_iter().collect(),
                });
            }
        }
        out
    }

    /// Names concept `id` (one cycle): its label and definition, its meaning embedded, and
    /// its record in the persona's codebook (`concept:LABEL`, the atoms it names made where
    /// missing). A label another of the persona's concepts has gets a number.
    pub async fn name_concept(
        &self,
        id: &ObjectId,
        label: &str,
        definition: &str,
    ) -> Result<Concept> {
        let label = clean_text(label, MAX_LABEL, "label")?;
        let definition = clean_text(definition, MAX_DEFINITION, "definition")?;
        let embedder = self.embedder().await?;
        let _turn = self.inner.commit_turn.lock().await;
        let image = &self.inner.image;
        let o = image.get(id)?;
        if !is_concept(&o) {
            return Err(Error::Concept(format!("{} is not a concept", o.name)));
        }
        let persona = slot_str(&o, "persona")
            .map(|p| image.resolve(p))
            .transpose()?
            .ok_or_else(|| Error::Concept(format!("{} names no persona", o.name)))?;
        let book = self.codebook(&persona.id);
        let label = unique_label(&label, &book, id);
        let symbol = format!("concept:{label}");
        let detail = self.concept(id)?;
        let mut by_count: HashMap<String, usize> = HashMap::new();
        for ch in &detail.chunks {
            *by_count.entry(source_name(&ch.source)).or_default() += 1;
        }
        let mut sources: Vec<(String, usize)> = by_count.into_iter().collect();
        sources.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        sources.truncate(RECORD_SOURCES);
        let docs: Vec<String> = sources.iter().map(|(s, _)| quoted(s)).collect();
        let mut text = format!(
            "topic * {} + persona * {}",
            quoted(&label),
            quoted(&persona.name)
        );
        if !docs.is_empty() {
            text.push_str(&format!(" + source * ({})", docs.join(" + ")));
        }
        let expr = Expr::parse(&text).map_err(|e| Error::Concept(e.to_string()))?;
        let meaning_text = format!("{label}: {definition}");
        let meaning =
            blocking(move || Ok(embedder.embed(&[meaning_text.as_str()])?.remove(0))).await?;

        let mut c = image.begin(&format!("name concept {label}"));
        let mut rows: Vec<SymbolRow> = Vec::new();
        let mut staged = HashSet::new();
        for name in expr.symbols() {
            if !book.contains_key(name) && staged.insert(name) {
                let (_, row) = self.stage_symbol(&mut c, &persona, &book, name, None)?;
                rows.push(row);
            }
        }
        let dim = self.inner.vsa_dim;
        let vector = expr
            .eval(&mut |n| match book.get(n) {
                Some(s) => self.vector_of(s, &book, 1),
                None => Ok(Hv::atom(persona.id.as_str(), n, dim)),
            })
            .map_err(crate::symbols::eval_error)?
            .to_phasors();
        let size = slot_u64(&o, "size");
        for (slot, value) in [
            ("label", json!(label)),
            ("definition", json!(definition)),
            ("named_size", json!(size)),
            ("symbol", json!(symbol)),
            ("expression", json!(expr.to_string())),
            ("codebook", json!(persona.id)),
            ("dim", json!(dim)),
        ] {
            c.set_slot(id, slot, value)?;
        }
        c.link(&persona.id, CODEBOOK, id)?;
        let cycle = c.id().to_owned();
        rows.push(SymbolRow {
            id: id.to_string(),
            codebook: persona.id.to_string(),
            name: symbol,
            kind: CONCEPT.to_owned(),
            expression: expr.to_string(),
            vector,
            cycle: cycle.clone(),
        });
        let members = o.links.get(ABSTRACTION_OF).cloned().unwrap_or_default();
        let centroid = self.centroid_of(&members).await?;
        let concept_row = ConceptRow {
            id: id.to_string(),
            persona: persona.id.to_string(),
            members: members_digest(&members),
            size: size as u32,
            label: label.clone(),
            definition: definition.clone(),
            centroid,
            meaning,
            cycle: cycle.clone(),
        };
        // the new rows beside the old ones until the cycle has committed
        let written = async {
            self.inner.hyper.add(&rows).await?;
            self.inner.concepts.add(&[concept_row]).await
        };
        let done: Result<()> = match written.await {
            Ok(()) => c.commit().await.map(drop).map_err(Into::into),
            Err(e) => Err(e),
        };
        if let Err(e) = done {
            self.unwrite_cycle(&cycle).await;
            return Err(e);
        }
        let ids = [id.to_string()];
        let settled = async {
            self.inner.hyper.settle(&ids, &cycle).await?;
            self.inner.concepts.settle(&ids, &cycle).await?;
            self.inner
                .hyper
                .catch_up_index(crate::symbols::INDEX_THRESHOLD)
                .await
                .map(drop)
        };
        if let Err(e) = settled.await {
            tracing::warn!(%cycle, "after naming a concept: {e} (reconciliation tidies it)");
        }
        self.wrote();
        let named = image.get(id)?;
        Ok(self.concept_view(&named))
    }

    /// The mean of the stored vectors of `members` (zeros when none is stored yet).
    pub(crate) async fn centroid_of(&self, members: &[ObjectId]) -> Result<Vec<f32>> {
        let ids: Vec<String> = members.iter().map(ToString::to_string).collect();
        let found = self.inner.store.vectors_of(&ids).await?;
        Ok(mean(found.iter().map(|v| v.vector.as_slice()))
            .unwrap_or_else(|| vec![0.0; crate::embed::DIM]))
    }

    /// The `k` named concepts whose meaning is nearest to `query`, of one persona or all.
    pub async fn recall_concepts(
        &self,
        persona: Option<&ObjectId>,
        query: &str,
        k: usize,
    ) -> Result<Vec<RecalledConcept>> {
        let vector = self.embed_query(query).await?;
        self.concepts_near(&vector, persona, k).await
    }

    pub(crate) async fn concepts_near(
        &self,
        vector: &[f32],
        persona: Option<&ObjectId>,
        k: usize,
    ) -> Result<Vec<RecalledConcept>> {
        let persona = persona.map(ToString::to_string);
        let hits = self
            .inner
            .concepts
            .search(vector, persona.as_deref(), k)
            .await?;
        let image = &self.inner.image;
        Ok(hits
            .into_iter()
            .filter_map(|h| {
                let o = image.resolve(&h.id).ok()?;
                let view = self.concept_view(&o);
                Some(RecalledConcept {
                    id: view.id,
                    persona: view.persona,
                    label: view.label?,
                    definition: view.definition?,
                    size: view.size,
                    score: h.score,
                })
            })
            .collect())
    }
}

/// Text fit for a label or definition: trimmed, whitespace folded, some, not too long.
fn clean_text(text: &str, max: usize, what: &str) -> Result<String> {
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.is_empty() {
        return Err(Error::Concept(format!("the concept's {what} is empty")));
    }
    if folded.chars().count() > max {
        return Err(Error::Concept(format!(
            "the concept's {what} {folded:?} is longer than {max} characters"
        )));
    }
    Ok(folded)
}

/// `label`, or `label 2`, `label 3`… when another symbol of the codebook has it.
fn unique_label(label: &str, book: &HashMap<String, Arc<Object>>, id: &ObjectId) -> String {
    let taken = |l: &str| {
        book.get(&format!("concept:{l}"))
            .is_some_and(|o| &o.id != id)
    };
    if !taken(label) {
        return label.to_owned();
    }
    (2..)
        .map(|n| format!("{label} {n}"))
        .find(|l| !taken(l))
        .expect("some number is free")
}

/// A name in the query language: quoted, `"` and `\` escaped.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A document's name in a record: its file name, cut to what a symbol name may be.
fn source_name(source: &str) -> String {
    let name = std::path::Path::new(source)
        .file_name()
        .map_or_else(|| source.to_owned(), |n| n.to_string_lossy().into_owned());
    let mut out = String::new();
    for ch in name.chars().filter(|c| !c.is_control()) {
        if out.len() + ch.len_utf8() > 120 {
            break;
        }
        out.push(ch);
    }
    if out.trim().is_empty() {
        "document".into()
    } else {
        out
    }
}

fn excerpt(text: &str) -> String {
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() <= EXCERPT_CHARS {
        return folded;
    }
    let cut: String = folded.chars().take(EXCERPT_CHARS).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_made_unique_and_names_quoted() {
        assert_eq!(quoted(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(source_name("/notes/kites.md"), "kites.md");
        assert!(clean_text("  ", 10, "label").is_err());
        assert_eq!(
            clean_text(" Kite\n flight ", 20, "label").unwrap(),
            "Kite flight"
        );
    }
}

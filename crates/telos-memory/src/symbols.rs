//! Symbols: hypervector objects in the image, one codebook per persona
//! (persona `-codebook->` symbol), each with its row in the cleanup memory (`hyper.rs`). The
//! image is the record: an atom's vector is made again from its codebook and name, a
//! composite's from its expression, so `reconcile` can always refill the table.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;
use telos_image::{Cycle, Object, ObjectId};
use telos_vsa::{Expr, Hv};

use crate::Memory;
use crate::error::{Error, Result};
pub use crate::hyper::ATOM;
use crate::hyper::{Search, SymbolRow};

/// The prototype every symbol is cloned from.
pub const HYPERVECTOR: &str = "hypervector";
/// The persona → symbol links.
pub const CODEBOOK: &str = "codebook";
/// The kind of a symbol made of others by an expression.
pub const COMPOSITE: &str = "composite";
/// The kind of a concept's record (a concept object in its persona's codebook, `concepts.rs`).
pub const CONCEPT: &str = "concept";
/// Rows past which the cleanup memory's index is built (a flat scan of the sketches below it
/// takes a few milliseconds).
pub const INDEX_THRESHOLD: usize = 256;
const MAX_NAME: usize = 128;
/// How deep composites may nest (each names symbols made before it, so it always ends).
const MAX_DEPTH: usize = 32;

/// A symbol as the CLI and the app show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Symbol {
    pub id: String,
    pub persona: String,
    pub name: String,
    /// `atom` or `composite`.
    pub kind: String,
    pub dim: usize,
    /// A composite's expression, in canonical form.
    pub expression: Option<String>,
    /// Whether this call made it (false: it was there).
    pub created: bool,
}

/// One symbol a query cleaned up to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SymbolHit {
    pub name: String,
    pub kind: String,
    pub id: String,
    /// Cosine similarity to the query's vector (exact).
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub similarity: f32,
}

/// A query's answer: the symbols nearest to what the expression denotes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Answer {
    /// The expression in canonical form.
    pub expression: String,
    pub persona: String,
    pub hits: Vec<SymbolHit>,
}

fn slot_str<'a>(o: &'a Object, slot: &str) -> Option<&'a str> {
    o.slots.get(slot).and_then(|v| v.as_str())
}

/// A symbol name fit for the query language and the image: some text, no control characters.
fn check_symbol_name(name: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::Symbol(format!("the symbol name {name:?} {why}")));
    if name.trim().is_empty() {
        return bad("is empty");
    }
    if name.len() > MAX_NAME {
        return bad("is longer than 128 bytes");
    }
    if name.chars().any(char::is_control) {
        return bad("holds a control character");
    }
    Ok(())
}

/// The symbol object's name: the persona's, then the symbol's with what an object name may
/// not hold replaced, and a short hash of the symbol name when anything was.
fn object_name(persona: &str, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = clean.trim().to_owned();
    if clean == name && name.len() <= 80 {
        return format!("{persona} symbol {name}");
    }
    let hash = telos_vsa::seed("object name", name);
    let short: String = clean.chars().take(60).collect();
    format!(
        "{persona} symbol {} {:02x}{:02x}{:02x}{:02x}",
        short.trim(),
        hash[0],
        hash[1],
        hash[2],
        hash[3]
    )
}

impl Memory {
    /// `persona`'s symbols, by name.
    pub fn codebook(&self, persona: &ObjectId) -> HashMap<String, Arc<Object>> {
        let image = &self.inner.image;
        let Ok(p) = image.get(persona) else {
            return HashMap::new();
        };
        p.links
            .get(CODEBOOK)
            .into_iter()
            .flatten()
            .filter_map(|id| image.get(id).ok())
            .filter_map(|o| Some((slot_str(&o, "symbol")?.to_owned(), o)))
            .collect()
    }

    /// `persona`'s symbols, sorted by name.
    pub fn symbols(&self, persona: &ObjectId) -> Vec<Symbol> {
        let name = self
            .inner
            .image
            .get(persona)
            .map_or_else(|_| persona.to_string(), |p| p.name.clone());
        let mut all: Vec<Symbol> = self
            .codebook(persona)
            .values()
            .map(|o| self.symbol_view(o, &name, false))
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// The vector of a symbol object, made again from what the image holds.
    pub(crate) fn vector_of(
        &self,
        symbol: &Object,
        book: &HashMap<String, Arc<Object>>,
        depth: usize,
    ) -> Result<Hv> {
        let codebook = slot_str(symbol, "codebook").unwrap_or_default();
        let name = slot_str(symbol, "symbol").unwrap_or_default();
        match slot_str(symbol, "kind") {
            Some(COMPOSITE | CONCEPT) => {
                if depth >= MAX_DEPTH {
                    return Err(Error::Symbol(format!(
                        "symbol {name:?} nests composites more than {MAX_DEPTH} deep"
                    )));
                }
                let text = slot_str(symbol, "expression").unwrap_or_default();
                let expr = Expr::parse(text).map_err(|e| Error::Symbol(e.to_string()))?;
                let v = expr
                    .eval(&mut |n| match book.get(n) {
                        Some(o) => self.vector_of(o, book, depth + 1),
                        None => Err(Error::Symbol(format!(
                            "composite {name:?} names {n:?}, which its codebook lacks"
                        ))),
                    })
                    .map_err(eval_error)?;
                Ok(v.to_phasors())
            }
            _ => Ok(Hv::atom(codebook, name, self.inner.vsa_dim)),
        }
    }

    /// The atom `name` of `persona`'s codebook: made (one cycle, its row written first) if it
    /// is not there yet.
    pub async fn atom(&self, persona: &ObjectId, name: &str) -> Result<Symbol> {
        self.make_symbol(persona, name, None).await
    }

    /// A composite symbol `name` of `persona`'s codebook: what `expression` (over symbols
    /// already in it) denotes, bundled to a phasor vector — a record such as
    /// `topic * rust + source * doc7`.
    pub async fn compose(
        &self,
        persona: &ObjectId,
        name: &str,
        expression: &str,
    ) -> Result<Symbol> {
        let expr = Expr::parse(expression).map_err(|e| Error::Symbol(e.to_string()))?;
        self.make_symbol(persona, name, Some(expr)).await
    }

    async fn make_symbol(
        &self,
        persona: &ObjectId,
        name: &str,
        expr: Option<Expr>,
    ) -> Result<Symbol> {
        check_symbol_name(name)?;
        let _turn = self.inner.commit_turn.lock().await;
        let image = &self.inner.image;
        let p = image.get(persona)?;
        let book = self.codebook(persona);
        let kind = if expr.is_some() { COMPOSITE } else { ATOM };
        let expression = expr.as_ref().map(ToString::to_string);
        if let Some(o) = book.get(name) {
            if slot_str(o, "kind") != Some(kind)
                || slot_str(o, "expression") != expression.as_deref()
            {
                return Err(Error::Symbol(format!(
                    "{} already has a symbol {name:?} ({}); a symbol is never redefined",
                    p.name,
                    slot_str(o, "expression").unwrap_or("an atom")
                )));
            }
            return Ok(self.symbol_view(o, &p.name, false));
        }
        if let Some(e) = &expr
            && let Some(missing) = e.symbols().into_iter().find(|n| !book.contains_key(*n))
        {
            return Err(Error::Symbol(format!(
                "{} has no symbol {missing:?} (make it first: telos vsa atom {missing:?} --persona {})",
                p.name, p.name
            )));
        }
        let mut c = image.begin(&format!("symbol {name}"));
        let (id, row) = self.stage_symbol(&mut c, &p, &book, name, expr.as_ref())?;
        let cycle = c.id().to_owned();
        self.inner.hyper.add(std::slice::from_ref(&row)).await?;
        if let Err(e) = c.commit().await {
            if let Err(cleanup) = self.inner.hyper.delete_cycle(&cycle).await {
                tracing::warn!(%cycle, "the row of a failed symbol stays until reconciliation: {cleanup}");
            }
            return Err(e.into());
        }
        self.wrote();
        self.inner.hyper.catch_up_index(INDEX_THRESHOLD).await?;
        let made = image.get(&id)?;
        Ok(self.symbol_view(&made, &p.name, true))
    }

    /// Stages the symbol object `name` of `persona`'s codebook (`book`: its symbols before
    /// this cycle) in `c`, the prototype first if the image lacks it; returns its id and the
    /// row to write before `c` commits.
    pub(crate) fn stage_symbol(
        &self,
        c: &mut Cycle,
        persona: &Object,
        book: &HashMap<String, Arc<Object>>,
        name: &str,
        expr: Option<&Expr>,
    ) -> Result<(ObjectId, SymbolRow)> {
        let proto = match c.resolve(HYPERVECTOR) {
            Ok(id) => id,
            Err(_) => {
                // an image awakened before symbols existed gets the prototype now
                let genesis = c.resolve(telos_image::genesis::GENESIS)?;
                let id = c.create(HYPERVECTOR, &[genesis])?;
                c.set_slot(&id, "kind", json!(HYPERVECTOR))?;
                c.set_slot(&id, "doc", json!("A symbol of a persona's codebook: an FHRR hypervector, an atom seeded by its name or a composite of others."))?;
                id
            }
        };
        let kind = if expr.is_some() { COMPOSITE } else { ATOM };
        let expression = expr.map(ToString::to_string);
        let id = c.create(&object_name(&persona.name, name), &[proto])?;
        for (slot, value) in [
            ("kind", json!(kind)),
            ("symbol", json!(name)),
            ("codebook", json!(persona.id)),
            ("dim", json!(self.inner.vsa_dim)),
        ] {
            c.set_slot(&id, slot, value)?;
        }
        if let Some(text) = &expression {
            c.set_slot(&id, "expression", json!(text))?;
        }
        c.link(&persona.id, CODEBOOK, &id)?;
        let vector = match expr {
            None => Hv::atom(persona.id.as_str(), name, self.inner.vsa_dim),
            Some(e) => self.evaluate(e, book)?,
        };
        let row = SymbolRow {
            id: id.to_string(),
            codebook: persona.id.to_string(),
            name: name.to_owned(),
            kind: kind.to_owned(),
            expression: expression.unwrap_or_default(),
            vector,
            cycle: c.id().to_owned(),
        };
        Ok((id, row))
    }

    /// What `expr` over the symbols of `book` denotes, as a phasor vector.
    pub(crate) fn evaluate(&self, expr: &Expr, book: &HashMap<String, Arc<Object>>) -> Result<Hv> {
        Ok(expr
            .eval(&mut |n| match book.get(n) {
                Some(o) => self.vector_of(o, book, 1),
                None => Err(Error::Symbol(format!(
                    "the expression names {n:?}, which its codebook lacks"
                ))),
            })
            .map_err(eval_error)?
            .to_phasors())
    }

    fn symbol_view(&self, o: &Object, persona: &str, created: bool) -> Symbol {
        Symbol {
            id: o.id.to_string(),
            persona: persona.to_owned(),
            name: slot_str(o, "symbol").unwrap_or_default().to_owned(),
            kind: slot_str(o, "kind").unwrap_or(ATOM).to_owned(),
            dim: o
                .slots
                .get("dim")
                .and_then(|d| d.as_u64())
                .unwrap_or_default() as usize,
            expression: slot_str(o, "expression").map(str::to_owned),
            created,
        }
    }

    /// What `expression` over `persona`'s symbols denotes, cleaned up to the `k` nearest of
    /// them: `(topic * rust + source * doc7) / source` → `doc7`.
    pub async fn vsa_query(
        &self,
        persona: &ObjectId,
        expression: &str,
        k: usize,
    ) -> Result<Answer> {
        let expr = Expr::parse(expression).map_err(|e| Error::Symbol(e.to_string()))?;
        let p = self.inner.image.get(persona)?;
        let book = self.codebook(persona);
        let q = expr
            .eval(&mut |n| match book.get(n) {
                Some(o) => self.vector_of(o, &book, 0),
                None => Err(Error::Symbol(format!(
                    "{} has no symbol {n:?} (telos vsa atom {n:?} --persona {} makes one)",
                    p.name, p.name
                ))),
            })
            .map_err(eval_error)?;
        let found = self
            .inner
            .hyper
            .cleanup(&q, Some(persona.as_str()), k, Search::default())
            .await?;
        Ok(Answer {
            expression: expr.to_string(),
            persona: p.name.clone(),
            hits: found
                .into_iter()
                .map(|c| SymbolHit {
                    name: c.name,
                    kind: c.kind,
                    id: c.id,
                    similarity: c.similarity,
                })
                .collect(),
        })
    }

    /// Every symbol the image holds, by id, with its persona.
    fn known_symbols(&self) -> HashMap<String, (ObjectId, Arc<Object>)> {
        let mut known = HashMap::new();
        for persona in self.inner.image.objects() {
            if persona.links.contains_key(CODEBOOK) {
                for (_, o) in self.codebook(&persona.id) {
                    known.insert(o.id.to_string(), (persona.id.clone(), o));
                }
            }
        }
        known
    }

    /// Makes the cleanup memory hold exactly the image's symbols: rows no symbol names (or
    /// naming it otherwise, or of another dimension) go, missing ones are made again. Returns
    /// (rows deleted, rows made). The caller holds the commit turn.
    pub(crate) async fn reconcile_symbols(&self) -> Result<(usize, usize)> {
        let known = self.known_symbols();
        let keys = self.inner.hyper.keys().await?;
        let stale: Vec<String> = keys
            .iter()
            .filter(|k| match known.get(&k.id) {
                None => true,
                Some((persona, o)) => {
                    k.codebook != persona.as_str()
                        || Some(k.name.as_str()) != slot_str(o, "symbol")
                        || Some(k.kind.as_str()) != slot_str(o, "kind")
                        || k.expression != slot_str(o, "expression").unwrap_or_default()
                }
            })
            .map(|k| k.id.clone())
            .collect();
        let stale_set: HashSet<&str> = stale.iter().map(String::as_str).collect();
        if !stale.is_empty() {
            self.inner.hyper.delete(&stale).await?;
        }
        let present: HashSet<&str> = keys
            .iter()
            .map(|k| k.id.as_str())
            .filter(|id| !stale_set.contains(id))
            .collect();
        let mut rows = Vec::new();
        let mut books: HashMap<ObjectId, HashMap<String, Arc<Object>>> = HashMap::new();
        for (id, (persona, o)) in &known {
            if present.contains(id.as_str()) {
                continue;
            }
            let book = books
                .entry(persona.clone())
                .or_insert_with(|| self.codebook(persona));
            match self.vector_of(o, book, 0) {
                Ok(vector) => rows.push(SymbolRow {
                    id: id.clone(),
                    codebook: persona.to_string(),
                    name: slot_str(o, "symbol").unwrap_or_default().to_owned(),
                    kind: slot_str(o, "kind").unwrap_or(ATOM).to_owned(),
                    expression: slot_str(o, "expression").unwrap_or_default().to_owned(),
                    vector,
                    cycle: "reconcile".into(),
                }),
                Err(e) => tracing::warn!("symbol {id} cannot be made again: {e}"),
            }
        }
        for part in rows.chunks(256) {
            self.inner.hyper.add(part).await?;
        }
        self.inner.hyper.catch_up_index(INDEX_THRESHOLD).await?;
        Ok((stale.len(), rows.len()))
    }

    /// Symbols in the image, and rows in the cleanup memory.
    pub(crate) async fn symbol_counts(&self) -> Result<(usize, usize)> {
        Ok((self.known_symbols().len(), self.inner.hyper.count().await?))
    }
}

pub(crate) fn eval_error(e: telos_vsa::EvalError<Error>) -> Error {
    match e {
        telos_vsa::EvalError::Symbol(e) => e,
        other @ telos_vsa::EvalError::Dimension { .. } => Error::Symbol(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_keep_what_they_can_and_stay_apart() {
        assert_eq!(object_name("BABS", "topic"), "BABS symbol topic");
        let a = object_name("BABS", "a/b");
        let b = object_name("BABS", "a:b");
        assert!(a.starts_with("BABS symbol a_b "), "{a}");
        assert_ne!(a, b);
        telos_image::check_name(&a).unwrap();
        telos_image::check_name(&object_name("BABS", &"x".repeat(128))).unwrap();
        assert!(check_symbol_name(" ").is_err());
        assert!(check_symbol_name("a\nb").is_err());
        assert!(check_symbol_name(&"x".repeat(129)).is_err());
    }
}

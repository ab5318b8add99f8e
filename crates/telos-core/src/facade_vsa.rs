//! The vector-symbolic layer: a persona's symbols made, listed and queried (`telos vsa`, and
//! the Playground's query box).

use telos_image::ObjectId;
use telos_memory::{Answer, Symbol};

use crate::Telos;
use crate::error::Result;

/// Whose codebook a symbol command uses when it names none: BABS, who researches.
pub const VSA_PERSONA: &str = "BABS";
/// The most symbols a query returns.
pub const MAX_VSA_RESULTS: usize = 100;

impl Telos {
    fn vsa_persona(&self, persona: Option<&str>) -> Result<ObjectId> {
        let p = telos_persona::resolve_persona(&self.image, persona.unwrap_or(VSA_PERSONA))?;
        Ok(p.id.clone())
    }

    /// The atom `name` of `persona`'s codebook (BABS's when `None`), made if it is new.
    pub async fn vsa_atom(&self, persona: Option<&str>, name: &str) -> Result<Symbol> {
        let id = self.vsa_persona(persona)?;
        Ok(self.memory.atom(&id, name).await?)
    }

    /// A composite symbol `name`: what `expression` over the codebook's symbols denotes.
    pub async fn vsa_compose(
        &self,
        persona: Option<&str>,
        name: &str,
        expression: &str,
    ) -> Result<Symbol> {
        let id = self.vsa_persona(persona)?;
        Ok(self.memory.compose(&id, name, expression).await?)
    }

    /// `expression` evaluated over the codebook and cleaned up to its `k` nearest symbols.
    pub async fn vsa_query(
        &self,
        persona: Option<&str>,
        expression: &str,
        k: usize,
    ) -> Result<Answer> {
        let id = self.vsa_persona(persona)?;
        Ok(self
            .memory
            .vsa_query(&id, expression, k.clamp(1, MAX_VSA_RESULTS))
            .await?)
    }

    /// The codebook's symbols, by name.
    pub fn vsa_symbols(&self, persona: Option<&str>) -> Result<Vec<Symbol>> {
        let id = self.vsa_persona(persona)?;
        Ok(self.memory.symbols(&id))
    }
}

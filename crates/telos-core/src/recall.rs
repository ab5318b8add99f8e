//! What a persona remembers: ranked chunks for a query, and memory's health.

use telos_memory::{Health, Recalled};

use crate::Telos;
use crate::error::{Error, Result};
use crate::world::resolve_persona;

/// Most chunks one recall returns.
pub const MAX_RECALL: usize = 100;

impl Telos {
    /// The `k` chunks nearest to `query` among what `persona` remembers, or among what every
    /// persona remembers when `persona` is `None`.
    pub async fn recall(
        &self,
        persona: Option<&str>,
        query: &str,
        k: usize,
    ) -> Result<Vec<Recalled>> {
        let id = match persona {
            Some(p) => Some(resolve_persona(self.image(), p)?.id.clone()),
            None => None,
        };
        if query.trim().is_empty() {
            return Err(Error::EmptyQuery);
        }
        let k = k.clamp(1, MAX_RECALL);
        Ok(self.memory().recall(id.as_ref(), query, k).await?)
    }

    /// Memory and the image compared: counts per store, orphans, missing, the index.
    pub async fn doctor(&self) -> Result<Health> {
        Ok(self.memory().doctor().await?)
    }
}

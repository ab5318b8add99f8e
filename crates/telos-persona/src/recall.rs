//! What a persona remembers: the chunks nearest a query, among its own memories or everyone's.

use telos_memory::{Memory, Recalled};

use crate::error::{Error, Result};
use crate::find::resolve_persona;

/// Most chunks one recall returns.
pub const MAX_RECALL: usize = 100;

/// The `k` chunks (1 to [`MAX_RECALL`]) nearest to `query` among what `persona` remembers,
/// or among what every persona remembers when `persona` is `None`.
pub async fn recall(
    memory: &Memory,
    persona: Option<&str>,
    query: &str,
    k: usize,
) -> Result<Vec<Recalled>> {
    let id = match persona {
        Some(p) => Some(resolve_persona(memory.image(), p)?.id.clone()),
        None => None,
    };
    if query.trim().is_empty() {
        return Err(Error::EmptyQuery);
    }
    Ok(memory
        .recall(id.as_ref(), query, k.clamp(1, MAX_RECALL))
        .await?)
}

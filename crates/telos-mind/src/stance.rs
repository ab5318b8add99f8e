//! The stance check: a dialogue whose two sides' latest positions stop moving (MiniLM's
//! embeddings of each side's latest turn against its one before) for two rounds without
//! agreement ends, rather than looping until the cap.

use serde_json::json;

use crate::dialogue::Dialogue;

/// A side whose latest position is at least this similar (cosine) to its previous one has not
/// moved.
const STILL: f32 = 0.97;

impl Dialogue {
    /// Whether both sides' latest positions are where they were a round before (MiniLM's
    /// embeddings). Without an embedder the check is skipped (noted in the trace).
    pub(crate) async fn positions_still(&mut self) -> bool {
        let latest = |who: &str, back: usize| {
            self.turns
                .iter()
                .rev()
                .filter(|t| t.persona == who)
                .nth(back)
                .map(|t| t.text.clone())
        };
        let mut texts = Vec::new();
        for who in &self.sides {
            match (latest(who, 0), latest(who, 1)) {
                (Some(now), Some(before)) => texts.extend([now, before]),
                _ => return false,
            }
        }
        // Each position is embedded once: a round's check reuses the round before's.
        let missing: Vec<String> = texts
            .iter()
            .filter(|t| !self.positions.contains_key(*t))
            .cloned()
            .collect();
        if !missing.is_empty() {
            let embedder = match self.voice.memory().embedder().await {
                Ok(e) => e,
                Err(e) => {
                    self.cycle.note("stance", json!({"skipped": e.to_string()}));
                    return false;
                }
            };
            let asked = missing.clone();
            let embedded = tokio::task::spawn_blocking(move || {
                let refs: Vec<&str> = asked.iter().map(String::as_str).collect();
                embedder.embed(&refs).map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r);
            match embedded {
                Ok(v) if v.len() == missing.len() => {
                    self.positions.extend(missing.into_iter().zip(v))
                }
                Ok(v) => {
                    let why = format!("{} embeddings for {} texts", v.len(), missing.len());
                    self.cycle.note("stance", json!({"skipped": why}));
                    return false;
                }
                Err(e) => {
                    self.cycle.note("stance", json!({"skipped": e}));
                    return false;
                }
            }
        }
        let at = |i: usize| &self.positions[&texts[i]];
        cosine(at(0), at(1)) >= STILL && cosine(at(2), at(3)) >= STILL
    }
}

pub(crate) fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

//! Dissonance: a persona with a suspended cycle. Its morph shows a badge that opens the
//! Debugger on that cycle. A cycle whose task names a persona (a forge names its forger)
//! belongs to that persona; any other to the personas it touched.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use telos_image::{CycleRecord, Image, Object};

use crate::error::Result;
use crate::find::is_persona;

/// A persona's newest suspended cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Dissonance {
    /// The persona's object id and name.
    pub persona: String,
    pub name: String,
    /// Its newest suspended cycle.
    pub cycle: String,
    pub trigger: String,
}

/// How far back the scan looks.
const WINDOW: usize = 500;

/// Every persona with a suspended cycle among the last 500 (its newest), newest first.
pub async fn dissonance(image: &Image) -> Result<Vec<Dissonance>> {
    let mut out: Vec<Dissonance> = Vec::new();
    for record in image.cycles(WINDOW).await? {
        if !record.is_suspended() {
            continue;
        }
        for persona in owners(image, &record) {
            let id = persona.id.to_string();
            if !out.iter().any(|d| d.persona == id) {
                out.push(Dissonance {
                    persona: id,
                    name: persona.name.clone(),
                    cycle: record.id.clone(),
                    trigger: record.trigger.clone(),
                });
            }
        }
    }
    Ok(out)
}

/// The personas a cycle belongs to: the one its task names, else every persona it touched.
pub fn owners(image: &Image, record: &CycleRecord) -> Vec<Arc<Object>> {
    let named = record
        .task
        .as_ref()
        .and_then(|t| t.get("persona"))
        .and_then(|p| p.as_str())
        .and_then(|p| image.resolve(p).ok())
        .filter(|p| is_persona(image, p));
    if let Some(p) = named {
        return vec![p];
    }
    record
        .objects
        .iter()
        .filter_map(|id| image.get(id).ok())
        .filter(|p| is_persona(image, p))
        .collect()
}

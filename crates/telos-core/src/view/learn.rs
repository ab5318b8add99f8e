//! What a persona's Inspector shows of its learning: the golden dataset with scores and
//! rationales, its performance per week, the rubric it is judged by, and its lineage.

use serde::{Deserialize, Serialize};
use telos_ascend::{Evaluation, Lineage, Rubric, WeekScore, evaluation};
use telos_image::{Image, Object};
use telos_persona::Codex;

/// A persona's golden dataset and how it has done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GoldenView {
    pub persona: String,
    pub min_score: f64,
    /// The criteria its chats are judged by.
    pub rubric: Vec<String>,
    /// Its evaluations scored `min_score` or more, newest first.
    pub golden: Vec<Evaluation>,
    /// Every evaluation of it, and the exchanges still waiting for the Curator.
    pub evaluated: u32,
    pub waiting: u32,
    /// The mean overall score per week, oldest first.
    pub performance: Vec<WeekScore>,
    pub lineage: Lineage,
}

impl GoldenView {
    pub fn new(
        image: &Image,
        persona: &Object,
        min: f64,
        all: &[Evaluation],
        waiting: usize,
        lineage: Lineage,
    ) -> Self {
        Self {
            persona: persona.name.clone(),
            min_score: min,
            rubric: Rubric::of(&Codex::of(image, persona), false).criteria,
            golden: all
                .iter()
                .filter(|e| f64::from(e.overall) >= min)
                .cloned()
                .collect(),
            evaluated: all.len() as u32,
            waiting: waiting as u32,
            performance: evaluation::performance(all),
            lineage,
        }
    }
}

//! The Debugger's operations: cycle history, a cycle's trace, stepping through a suspended
//! cycle's program (what each step would stage, never committed), and resuming (with the
//! user's edits) or discarding it.

use serde::{Deserialize, Serialize};
use telos_image::ops;

use crate::Telos;
use crate::error::{Error, Result};
use crate::inspect::excerpt;
use crate::view::{CycleSummary, CycleView, StagedView};

/// What a cycle's program stages after its first `step` operations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StepState {
    /// Operations applied (0 = before the first).
    pub step: u32,
    /// Operations in the program.
    pub of: u32,
    /// Why the last operation applied failed, if it did (stepping stops there).
    pub error: Option<String>,
    pub staged: Vec<StagedView>,
}

/// A persona with a suspended cycle: its morph shows a dissonance badge that opens the
/// Debugger on that cycle.
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

/// How far back the dissonance scan looks.
const DISSONANCE_WINDOW: usize = 500;

impl Telos {
    /// Every persona with a suspended cycle among the recent ones (its newest): a forge
    /// cycle belongs to the persona that forged, any other to the personas it touched.
    pub async fn dissonance(&self) -> Result<Vec<Dissonance>> {
        let image = self.image();
        let mut out: Vec<Dissonance> = Vec::new();
        for record in image.cycles(DISSONANCE_WINDOW).await? {
            if !record.is_suspended() {
                continue;
            }
            let forger = crate::forge::ForgeTask::of(&record)
                .and_then(|task| image.resolve(&task.persona).ok());
            let touched = record.objects.iter().filter_map(|id| image.get(id).ok());
            for persona in forger.into_iter().chain(touched) {
                let id = persona.id.to_string();
                if crate::world::is_persona(image, &persona) && !out.iter().any(|d| d.persona == id)
                {
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

    /// The most recent cycles, newest first.
    pub async fn cycles(&self, limit: usize) -> Result<Vec<CycleSummary>> {
        let records = self.image().cycles(limit).await?;
        Ok(records.iter().map(CycleSummary::new).collect())
    }

    /// One cycle's trace and program.
    pub async fn cycle(&self, id: &str) -> Result<CycleView> {
        let record = self.image().cycle(id).await?;
        Ok(CycleView::new(self.image(), &record))
    }

    /// Replays the first `step` operations of a cycle's program (or of `program`, the user's
    /// edit of it, a JSON operation list) against the image as it is now, in a cycle that is
    /// never committed, and shows what they stage.
    pub async fn cycle_step(
        &self,
        id: &str,
        step: usize,
        program: Option<&str>,
    ) -> Result<StepState> {
        let image = self.image();
        let record = image.cycle(id).await?;
        let recorded = record
            .program
            .ok_or_else(|| Error::NoProgram(id.to_owned()))?;
        let program = edited_program(id, program)?.unwrap_or(recorded);
        let upto = step.min(program.len());
        let trigger = format!("debugger step {id}");
        let (cycle, error) = match ops::stage(image, &trigger, &program[..upto]) {
            Ok(cycle) => (cycle, None),
            Err(failed) => (failed.cycle, Some(failed.error.to_string())),
        };
        let staged = cycle
            .staged()
            .iter()
            .map(|s| StagedView::new(image, s))
            .collect();
        // Dropping the cycle discards it: stepping writes nothing, not even a record.
        drop(cycle);
        Ok(StepState {
            step: upto as u32,
            of: program.len() as u32,
            error,
            staged,
        })
    }

    /// Resumes a suspended cycle: its program as recorded, or `program` (a JSON operation
    /// list, as the user edited it), committed as a new cycle.
    /// A forge cycle resumes through the forge (BRICK gets its attempts again).
    pub async fn resume(&self, id: &str, program: Option<&str>) -> Result<CycleSummary> {
        if program.is_none() && self.image().cycle(id).await?.task.is_some() {
            return Ok(self.resume_forge(id, None).await?.cycle);
        }
        let edited = edited_program(id, program)?;
        let record = ops::resume(self.image(), id, edited).await?;
        Ok(CycleSummary::new(&record))
    }

    /// Discards a suspended cycle.
    pub async fn discard(&self, id: &str) -> Result<CycleSummary> {
        let record = ops::discard(self.image(), id).await?;
        Ok(CycleSummary::new(&record))
    }
}

fn edited_program(id: &str, program: Option<&str>) -> Result<Option<Vec<ops::Op>>> {
    program
        .map(|text| {
            ops::parse_ops(text).map_err(|source| Error::InvalidJson {
                what: format!("the edited program of cycle '{id}'"),
                excerpt: excerpt(text),
                source,
            })
        })
        .transpose()
}

//! Resuming a suspended forge from the Debugger: the user's edit of one attempt's code is
//! tried first (against that attempt's test), then BRICK gets its attempts again — as one new
//! cycle that resolves the old one.

use telos_image::CycleRecord;
use telos_image::ops::{self, Op};

use crate::Forge;
use crate::error::{Error, Result};
use crate::task::{Attempt, Edit, ForgeTask, Forged};

impl Forge {
    /// Resumes the suspended forge cycle `id`, with the user's `edit` of one attempt's code.
    pub async fn resume(&self, id: &str, edit: Option<Edit>) -> Result<Forged> {
        let image = self.voice.image();
        let _claim = image.claim(id)?;
        let record = ops::suspended(image, id).await?;
        let task = ForgeTask::of(&record).ok_or_else(|| Error::NotAForge(record.id.clone()))?;
        let first = match edit {
            None => None,
            Some(edit) => {
                let base = task
                    .attempts
                    .iter()
                    .find(|a| a.n == edit.attempt)
                    .ok_or_else(|| Error::NoAttempt {
                        cycle: record.id.clone(),
                        attempt: edit.attempt,
                        have: task.attempts.len() as u32,
                    })?;
                if base.test.is_none() {
                    return Err(Error::NoTest {
                        cycle: record.id.clone(),
                        attempt: edit.attempt,
                    });
                }
                let n = task.attempts.len() as u32 + 1;
                Some(Attempt::edited(n, edit.code, base.test.clone()))
            }
        };
        let mut cycle = image.begin(&format!("debugger resume {}", record.id));
        cycle.set_resumes(record.clone());
        self.attempt_all(cycle, task, first).await
    }

    /// Resumes any suspended cycle: its program as recorded, or `program` (the user's edit),
    /// as a new cycle; a forge cycle with no edited program resumes through the forge (BRICK
    /// gets its attempts again).
    pub async fn resume_any(&self, id: &str, program: Option<Vec<Op>>) -> Result<CycleRecord> {
        let image = self.voice.image();
        if program.is_none() && image.cycle(id).await?.task.is_some() {
            return Ok(self.resume(id, None).await?.record);
        }
        Ok(ops::resume(image, id, program).await?)
    }
}

//! Getting ready for a request before it is asked: a dialogue knows who speaks next, and while
//! the judge gives his verdict the next round's first speaker's model can load in place of
//! the idle one that spoke last.

use super::*;
use crate::plan::{Decision, Policy, Want, decide};

impl Scheduler {
    /// Loads `persona`'s model ahead of its request when no request waits, nothing is loading
    /// or unloading, and room can be made by unloading idle models alone (the policy picks
    /// them); otherwise does nothing. True when it loaded the model.
    pub async fn prepare(&self, persona: &str) -> Result<bool> {
        let persona = self.persona(persona)?;
        // A model that goes at once would be wasted; a pinned one loads with the scheduler.
        if persona.keep_alive == KeepAlive::Zero || persona.keep_alive.pinned() {
            return Ok(false);
        }
        let size = self.footprint(&persona);
        let victims = {
            let mut s = self.inner.state.lock().unwrap();
            let settled = s.models.iter().all(|m| m.state == ModelState::Loaded);
            let loaded = s.models.iter().any(|m| m.resident.model == persona.model);
            if !s.seen || s.offline.is_some() || !s.tickets.is_empty() || !settled || loaded {
                return Ok(false);
            }
            let residents: Vec<Resident> = s.models.iter().map(|m| m.resident.clone()).collect();
            let want = Want {
                model: &persona.model,
                size,
                keep_alive: persona.keep_alive,
            };
            let idle = |v: &String| residents.iter().any(|r| &r.model == v && !r.busy);
            let victims = match decide(Policy::Telos, self.inner.budget, &residents, want) {
                Decision::Load => Vec::new(),
                Decision::Unload(v) if v.iter().all(idle) => v,
                _ => return Ok(false),
            };
            s.unloading(&victims);
            victims
        };
        for v in &victims {
            self.unload(v).await?;
        }
        {
            let mut s = self.inner.state.lock().unwrap();
            // A request may have loaded it, or taken the room, meanwhile.
            let used: u64 = s.models.iter().map(|m| m.resident.size.0).sum();
            if s.models.iter().any(|m| m.resident.model == persona.model)
                || used + size.0 > self.inner.budget.0
                || !s.tickets.is_empty()
            {
                return Ok(false);
            }
            s.loading(&persona.model, size, &persona);
        }
        if let Err(e) = self.load(&persona.model, persona.keep_alive).await {
            self.inner
                .state
                .lock()
                .unwrap()
                .models
                .retain(|m| !(m.resident.model == persona.model && m.state == ModelState::Loading));
            self.publish();
            self.inner.changed.notify_waiters();
            return Err(e);
        }
        Ok(true)
    }
}

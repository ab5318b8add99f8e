//! A request's turn: waiting for its model to be loaded and free, deciding with the policy
//! what loads and unloads, and the lease that holds the model while the reply runs.

use super::*;
use crate::plan::{Decision, Policy, Want, decide, never_fits};

impl Scheduler {
    /// Waits for `persona`'s model to be loaded and free, loading and unloading by policy.
    /// Cancel by dropping the future. A model that can never fit is refused at once.
    pub async fn acquire(&self, persona: &str) -> Result<Lease> {
        let persona = self.persona(persona)?;
        let seen = self.inner.state.lock().unwrap().seen;
        if !seen {
            self.refresh().await; // a one-off process (the CLI) without the poller
        }
        let size = self.footprint(&persona);
        // Refused before queueing: a request behind others would otherwise wait its turn
        // only to be told the same.
        let never = {
            let s = self.inner.state.lock().unwrap();
            let loaded: Vec<Resident> = s.models.iter().map(|m| m.resident.clone()).collect();
            let want = Want {
                model: &persona.model,
                size,
                keep_alive: persona.keep_alive,
            };
            never_fits(self.inner.budget, &loaded, want)
        };
        if let Some(pinned) = never {
            return Err(Error::NeverFits {
                runtime: self.inner.backend.runtime(),
                model: persona.model.clone(),
                need: size,
                budget: self.inner.budget,
                pinned,
            });
        }
        let ticket = {
            let mut s = self.inner.state.lock().unwrap();
            let id = s.next_ticket;
            s.next_ticket += 1;
            let outages = s.outages;
            s.tickets.insert(
                id,
                Ticket {
                    model: persona.model.clone(),
                    outages,
                },
            );
            TicketGuard {
                scheduler: self.clone(),
                id,
            }
        };
        self.publish();
        loop {
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let step = self.step(ticket.id, &persona, size)?;
            match step {
                Step::Go => {
                    drop(ticket);
                    return Ok(Lease {
                        scheduler: self.clone(),
                        model: persona.model.clone(),
                        keep_alive: persona.keep_alive,
                    });
                }
                Step::Load(model, keep_alive) => {
                    let done = self.load(&model, keep_alive).await;
                    if let Err(e) = done {
                        self.inner.state.lock().unwrap().models.retain(|m| {
                            !(m.resident.model == model && m.state == ModelState::Loading)
                        });
                        self.publish();
                        self.inner.changed.notify_waiters();
                        return Err(e);
                    }
                }
                Step::Unload(victims) => {
                    for v in victims {
                        self.unload(&v).await?;
                    }
                }
                Step::Wait => {
                    // Also look again now and then: Ollama may unload on its own.
                    let _ = tokio::time::timeout(SLOW_POLL, changed).await;
                }
            }
        }
    }

    pub(super) fn persona(&self, name: &str) -> Result<Persona> {
        let personas = self.inner.personas.lock().unwrap();
        personas
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .cloned()
            .ok_or_else(|| Error::NoPersona {
                name: name.to_string(),
                known: personas
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The VRAM `persona`'s model takes: measured, else its size on disk, else the codex's
    /// estimate.
    pub(super) fn footprint(&self, persona: &Persona) -> Bytes {
        let s = self.inner.state.lock().unwrap();
        s.measured
            .get(&persona.model)
            .or_else(|| s.on_disk.get(&persona.model))
            .copied()
            .unwrap_or(persona.size)
    }

    pub(super) fn step(&self, id: u64, persona: &Persona, size: Bytes) -> Result<Step> {
        let mut s = self.inner.state.lock().unwrap();
        if let (Some(_), Some(t)) = (&s.offline, s.tickets.get(&id))
            && s.outages > t.outages
        {
            return Err(Error::Offline {
                host: self.inner.backend.host().to_string(),
                reason: "it stopped answering while this request waited".into(),
            });
        }
        let model = persona.model.as_str();
        let older_same = s.tickets.range(..id).any(|(_, t)| t.model == model);
        if let Some(at) = s.models.iter().position(|m| m.resident.model == model) {
            let free = s.models[at].state == ModelState::Loaded && !s.models[at].resident.busy;
            let drained = id > s.drain_for && s.drain.iter().any(|d| d == model);
            if free && !older_same && !drained {
                let m = &mut s.models[at];
                m.resident.busy = true;
                m.resident.last_used = now_secs();
                m.resident.keep_alive = persona.keep_alive;
                m.resident.priority = persona.priority;
                s.touch(model);
                s.tickets.remove(&id);
                return Ok(Step::Go);
            }
            return Ok(Step::Wait);
        }
        // Only the oldest request that needs a load may act.
        let loaded: Vec<&str> = s.models.iter().map(|m| m.resident.model.as_str()).collect();
        let oldest = s
            .tickets
            .iter()
            .find(|(_, t)| !loaded.contains(&t.model.as_str()))
            .map(|(k, _)| *k);
        if oldest != Some(id) {
            return Ok(Step::Wait);
        }
        // Models on their way out still hold VRAM; they are not candidates.
        let leaving: u64 = s
            .models
            .iter()
            .filter(|m| m.state != ModelState::Loaded)
            .map(|m| m.resident.size.0)
            .sum();
        // A model an older request waits for is as good as busy: it is not evicted from
        // under that request, at most drained after it.
        let residents: Vec<Resident> = s
            .models
            .iter()
            .filter(|m| m.state == ModelState::Loaded)
            .map(|m| {
                let mut r = m.resident.clone();
                r.busy |= s.tickets.range(..id).any(|(_, t)| t.model == r.model);
                r
            })
            .collect();
        let budget = Bytes(self.inner.budget.0.saturating_sub(leaving));
        let want = Want {
            model,
            size,
            keep_alive: persona.keep_alive,
        };
        match decide(Policy::Telos, budget, &residents, want) {
            Decision::Run => unreachable!("the model is not loaded"),
            Decision::Load => {
                s.drain.clear();
                s.loading(model, size, persona);
                Ok(Step::Load(model.to_string(), persona.keep_alive))
            }
            Decision::Unload(victims) => {
                s.unloading(&victims);
                Ok(Step::Unload(victims))
            }
            Decision::Wait { drain } => {
                s.drain = drain;
                s.drain_for = id;
                Ok(Step::Wait)
            }
            Decision::Never { pinned } => {
                // Models still leaving may be what is in the way: wait for them.
                if leaving > 0 {
                    return Ok(Step::Wait);
                }
                Err(Error::NeverFits {
                    runtime: self.inner.backend.runtime(),
                    model: model.to_string(),
                    need: size,
                    budget: self.inner.budget,
                    pinned,
                })
            }
        }
    }

    pub(super) fn release(&self, model: &str, keep_alive: KeepAlive) {
        {
            let mut s = self.inner.state.lock().unwrap();
            let wanted = s.tickets.values().any(|t| t.model == model);
            if let Some(m) = s.models.iter_mut().find(|m| m.resident.model == model) {
                m.resident.busy = false;
                m.resident.last_used = now_secs();
                // Ollama unloads it at once: it counts until `/api/ps` says it is gone,
                // unless a request for it is already waiting (it then stays).
                if keep_alive == KeepAlive::Zero && !wanted {
                    m.state = ModelState::Unloading;
                }
            }
            s.touch(model);
        }
        self.publish();
        self.inner.changed.notify_waiters();
        if keep_alive == KeepAlive::Zero {
            // Follow the unload Ollama does by itself.
            let me = self.clone();
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    for _ in 0..200 {
                        me.refresh().await;
                        let leaving = me
                            .inner
                            .state
                            .lock()
                            .unwrap()
                            .models
                            .iter()
                            .any(|m| m.state == ModelState::Unloading);
                        if !leaving {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(25)).await;
                    }
                });
            }
        }
    }
}

/// Removes a waiting request that is given up (its future dropped).
struct TicketGuard {
    pub(super) scheduler: Scheduler,
    pub(super) id: u64,
}

impl Drop for TicketGuard {
    fn drop(&mut self) {
        {
            let mut s = self.scheduler.inner.state.lock().unwrap();
            s.tickets.remove(&self.id);
            s.drain.clear(); // recomputed by whoever is oldest now
            // A load begun for this request and not confirmed stays counted until the
            // next `/api/ps` read settles it.
        }
        self.scheduler.publish();
        self.scheduler.inner.changed.notify_waiters();
    }
}

/// A request's hold on its model: while it lives, the model is busy and stays loaded.
pub struct Lease {
    pub(super) scheduler: Scheduler,
    pub(super) model: String,
    pub(super) keep_alive: KeepAlive,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.scheduler.release(&self.model, self.keep_alive);
    }
}

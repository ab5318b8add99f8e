//! Keeping up with Ollama: the slow poll of `/api/ps`, and the pinned models loaded.

use super::*;

/// How often what is installed is read again.
const INSTALLED_EVERY: Duration = Duration::from_secs(30);

impl Scheduler {
    /// Keeps up with Ollama until `shutdown` resolves: reads `/api/ps` every [`SLOW_POLL`],
    /// (re)loads pinned models, and notices Ollama going away and coming back. Shutdown
    /// stops it at once, even mid-load (the load's request is dropped).
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let look = async {
                self.refresh().await;
                self.load_pinned().await;
            };
            tokio::select! {
                () = &mut shutdown => return,
                () = look => {}
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(SLOW_POLL) => {}
            }
        }
    }

    /// Reads `/api/ps` and makes the tables agree with it.
    pub async fn refresh(&self) {
        // What changes after this may not show in the answer yet (a model loaded by its
        // request and already released, say): only older entries are judged by it.
        let asked = self.inner.state.lock().unwrap().seq;
        let ps = self.inner.backend.ps().await;
        // What is installed changes rarely (a pull): read at first, then every half minute.
        let stale = self
            .inner
            .state
            .lock()
            .unwrap()
            .installed_at
            .is_none_or(|t| t.elapsed() >= INSTALLED_EVERY);
        let installed = match &ps {
            Ok(_) if stale => self.inner.backend.installed().await.ok(),
            _ => None,
        };
        {
            let personas = self.personas();
            let mut s = self.inner.state.lock().unwrap();
            if let Some(installed) = installed {
                s.on_disk = installed.into_iter().collect();
                s.installed_at = Some(Instant::now());
            }
            s.seen = true;
            match ps {
                Err(e) => s.down(e.to_string(), asked),
                Ok(running) => {
                    s.offline = None;
                    for r in &running {
                        if r.size_vram.0 > 0 {
                            s.measured.insert(r.model.clone(), r.size_vram);
                        }
                    }
                    // Gone from Ollama: unloaded (or expired) unless we are loading it.
                    // (A model with a request running stays: Ollama may be reloading it.)
                    s.models.retain(|m| {
                        m.state == ModelState::Loading
                            || m.resident.busy
                            || m.touched > asked
                            || running.iter().any(|r| r.model == m.resident.model)
                    });
                    for r in running {
                        match s.models.iter_mut().find(|m| m.resident.model == r.model) {
                            Some(m) => {
                                if r.size_vram.0 > 0 {
                                    m.resident.size = r.size_vram;
                                }
                            }
                            None => {
                                // Loaded by someone else (or before we started): it takes
                                // VRAM all the same.
                                let (keep_alive, priority) = personas
                                    .iter()
                                    .filter(|p| p.model == r.model)
                                    .map(|p| (p.keep_alive, p.priority))
                                    .max_by_key(|x| x.1)
                                    .unwrap_or((KeepAlive::DEFAULT, i32::MIN));
                                let touched = s.tick();
                                s.models.push(Entry {
                                    resident: Resident {
                                        model: r.model.clone(),
                                        size: r.size_vram,
                                        keep_alive,
                                        priority,
                                        busy: false,
                                        last_used: 0.0,
                                    },
                                    state: ModelState::Loaded,
                                    touched,
                                });
                            }
                        }
                    }
                }
            }
        }
        self.publish();
        self.inner.changed.notify_waiters();
    }

    /// Marks the backend down after `error` (a request found it gone): its loads are
    /// forgotten and the requests waiting on it are answered `Offline` at once. The next
    /// poll that reaches it brings it back.
    pub fn down(&self, error: &Error) {
        {
            let mut s = self.inner.state.lock().unwrap();
            let asked = s.seq;
            s.down(error.to_string(), asked);
        }
        self.publish();
        self.inner.changed.notify_waiters();
    }

    /// Loads every pinned persona's model that is not loaded (at start, after a restart).
    pub(super) async fn load_pinned(&self) {
        let pinned: Vec<Persona> = self
            .personas()
            .into_iter()
            .filter(|p| p.keep_alive.pinned())
            .collect();
        for p in pinned {
            let missing = {
                let s = self.inner.state.lock().unwrap();
                s.offline.is_none() && !s.models.iter().any(|m| m.resident.model == p.model)
            };
            if missing {
                // Failures show in the status; the next poll tries again.
                if let Err(e) = self.acquire(&p.name).await {
                    tracing::warn!("loading pinned {} ({}): {e}", p.name, p.model);
                }
            }
        }
    }
}

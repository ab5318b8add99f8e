//! Where each persona's requests go: its own model on the Ollama host [`place`] picks, or on
//! the embedded runtime, or the embedded default when no host can run it; and a request sent
//! again elsewhere when its host dies before its reply starts.

use super::*;
use crate::hosts::{place, rooms};

impl Runtimes {
    /// Where `persona` goes now, the hosts being as `statuses` say, it having been on
    /// `previous` (an Ollama host), with `promised` bytes per host already placed in this round.
    fn route_of(
        &self,
        p: &Persona,
        statuses: &[Status],
        previous: Option<&str>,
        promised: &mut [Bytes],
    ) -> Route {
        let route = |runtime, model: &str, fallback, host| Route {
            persona: p.name.clone(),
            runtime,
            model: model.to_string(),
            fallback,
            host,
        };
        if Runtime::of(&p.model) == Runtime::Embedded {
            return route(Runtime::Embedded, &p.model, None, None);
        }
        let fallback = |why: String| {
            route(
                Runtime::Embedded,
                &self.inner.default_model,
                Some(why),
                None,
            )
        };
        if self.inner.mode == Mode::Embedded && self.inner.embedded.is_some() {
            return fallback("TELOS_LLM=embedded".into());
        }
        // Before any host was asked nothing is known: Ollama is assumed (the first poll
        // follows at once), so nothing falls back at start. And a persona stays on a host
        // not asked yet: it is not moved for the hosts that happened to answer first.
        let unasked = |h: &str| statuses.iter().any(|s| s.host == h && !s.seen);
        if let Some(h) = previous.filter(|h| unasked(h)) {
            return route(Runtime::Ollama, &p.model, None, Some(h.to_string()));
        }
        if !statuses.iter().any(|s| s.seen) {
            let host = previous.map_or_else(|| statuses[0].host.clone(), str::to_string);
            return route(Runtime::Ollama, &p.model, None, Some(host));
        }
        match place(&p.model, &rooms(statuses, promised), previous) {
            Ok(i) => {
                if !statuses[i]
                    .models
                    .iter()
                    .any(|m| same_tag(&m.model, &p.model))
                {
                    promised[i].0 += p.size.0;
                }
                route(
                    Runtime::Ollama,
                    &p.model,
                    None,
                    Some(statuses[i].host.clone()),
                )
            }
            Err(why) => {
                if self.inner.embedded.is_some() && self.inner.mode == Mode::Auto {
                    return fallback(why);
                }
                // One host: it says itself what is wrong (it may have the model by now).
                // Several: no request goes to a host without the model.
                let host = (statuses.len() == 1).then(|| statuses[0].host.clone());
                route(Runtime::Ollama, &p.model, None, host)
            }
        }
    }

    /// Routes every persona again and gives each scheduler the personas it serves (with the
    /// model that answers them). Cheap when nothing changed.
    ///
    /// The routes stay locked from reading the personas to writing the routes: a reroute
    /// that read the personas before [`Runtimes::set_personas`] (the poll's) cannot write its
    /// routes over those of the reroute after it, which would drop a persona just added.
    pub fn reroute(&self) {
        let mut current = self.inner.routes.lock().unwrap_or_else(|e| e.into_inner());
        let personas = self.personas();
        let before = current.clone();
        let statuses: Vec<Status> = self.inner.hosts.iter().map(Scheduler::status).collect();
        let mut promised = vec![Bytes(0); self.inner.hosts.len()];
        let routes: Vec<Route> = personas
            .iter()
            .map(|p| {
                let previous = before
                    .iter()
                    .find(|r| r.persona == p.name && r.runtime == Runtime::Ollama)
                    .and_then(|r| r.host.as_deref());
                self.route_of(p, &statuses, previous, &mut promised)
            })
            .collect();
        let mut for_hosts = vec![Vec::new(); self.inner.hosts.len()];
        let mut for_embedded: Vec<Persona> = Vec::new();
        for (p, r) in personas.iter().zip(&routes) {
            let mut p = p.clone();
            match r.runtime {
                Runtime::Ollama => {
                    if let Some(i) = self.host_index(r) {
                        for_hosts[i].push(p);
                    }
                }
                Runtime::Embedded => {
                    if r.fallback.is_some() {
                        // The footprint is the embedded model's, which its scheduler reads
                        // from the file: the codex's VRAM estimate says nothing of it.
                        p.size = Bytes(0);
                    }
                    p.model = r.model.clone();
                    for_embedded.push(p);
                }
            }
        }
        // Personas that share a model keep it as long as the most lasting of them would.
        for p in 0..for_embedded.len() {
            let (keep, priority) = for_embedded
                .iter()
                .filter(|q| q.model == for_embedded[p].model)
                .fold((KeepAlive::Zero, i32::MIN), |(k, pr), q| {
                    (longer(k, q.keep_alive), pr.max(q.priority))
                });
            for_embedded[p].keep_alive = keep;
            for_embedded[p].priority = priority;
        }
        for (host, personas) in self.inner.hosts.iter().zip(for_hosts) {
            if host.personas() != personas {
                host.set_personas(personas);
            }
        }
        if let Some(e) = &self.inner.embedded
            && e.personas() != for_embedded
        {
            e.set_personas(for_embedded);
        }
        *current = routes;
    }

    /// Asks every Ollama host (and the embedded runtime) what is loaded now, and routes again.
    pub async fn refresh(&self) {
        futures::future::join_all(self.inner.hosts.iter().map(Scheduler::refresh)).await;
        if let Some(e) = &self.inner.embedded {
            e.refresh().await;
        }
        self.reroute();
    }

    /// The route for `persona`, having asked each Ollama host once if it never was.
    pub async fn route(&self, persona: &str) -> Result<Route> {
        if self.inner.mode != Mode::Embedded {
            let unseen = self.inner.hosts.iter().filter(|h| !h.status().seen);
            futures::future::join_all(unseen.map(Scheduler::refresh)).await;
        }
        self.reroute();
        self.routes()
            .into_iter()
            .find(|r| r.persona.eq_ignore_ascii_case(persona))
            .ok_or_else(|| Error::NoPersona {
                name: persona.to_string(),
                known: self
                    .personas()
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    fn host_index(&self, route: &Route) -> Option<usize> {
        let host = route.host.as_deref()?;
        self.inner.hosts.iter().position(|h| h.host() == host)
    }

    /// The scheduler `route` goes to; an error when no Ollama host can run it.
    pub(super) fn scheduler(&self, route: &Route) -> Result<&Scheduler> {
        match (route.runtime, &self.inner.embedded) {
            (Runtime::Embedded, Some(e)) => Ok(e),
            (Runtime::Embedded, None) => Ok(&self.inner.hosts[0]),
            (Runtime::Ollama, _) => match self.host_index(route) {
                Some(i) => Ok(&self.inner.hosts[i]),
                None => {
                    let statuses: Vec<Status> =
                        self.inner.hosts.iter().map(Scheduler::status).collect();
                    Err(Error::NoHost {
                        model: route.model.clone(),
                        why: place(&route.model, &rooms(&statuses, &[]), None)
                            .err()
                            .unwrap_or_else(|| "its host was dropped".into()),
                    })
                }
            },
        }
    }

    /// Streams `persona`'s reply to `messages`, with `format` (a JSON schema) when the reply
    /// must be JSON of that shape. When its host turns out to be down before the reply
    /// starts (it died while the request waited), the host is marked down — its loads
    /// forgotten — and the request is placed again, once per host at most.
    pub async fn chat(
        &self,
        persona: &str,
        messages: Vec<Message>,
        format: Option<serde_json::Value>,
    ) -> Result<Reply> {
        let mut tries = 0;
        loop {
            let route = self.route(persona).await?;
            let scheduler = self.scheduler(&route)?;
            let stream = match &format {
                Some(schema) => {
                    scheduler
                        .chat_json(persona, messages.clone(), schema.clone())
                        .await
                }
                None => scheduler.chat(persona, messages.clone()).await,
            };
            match stream {
                Ok(stream) => return Ok(Reply { stream, route }),
                Err(e @ Error::Offline { .. }) if tries < self.inner.hosts.len() => {
                    scheduler.down(&e);
                    self.reroute();
                    let again = self.route(persona).await?;
                    if again.runtime == route.runtime && again.host == route.host {
                        return Err(e);
                    }
                    tracing::warn!(
                        "{persona}'s request goes to {} instead: {e}",
                        again.host.as_deref().unwrap_or(again.model.as_str())
                    );
                    tries += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

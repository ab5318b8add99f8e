//! What the scheduler asks of the backend: loads and unloads confirmed with `/api/ps`, and
//! replies streamed under a lease.

use super::*;

impl Scheduler {
    /// Streams `persona`'s reply to `messages` once its model is ready. The lease is held
    /// until the stream ends or is dropped.
    pub async fn chat(&self, persona: &str, messages: Vec<Message>) -> Result<TokenStream> {
        self.chat_shaped(persona, messages, None).await
    }

    /// [`Scheduler::chat`] whose reply is JSON of the shape `schema` (a JSON schema) says.
    pub async fn chat_json(
        &self,
        persona: &str,
        messages: Vec<Message>,
        schema: serde_json::Value,
    ) -> Result<TokenStream> {
        self.chat_shaped(persona, messages, Some(schema)).await
    }

    pub(super) async fn chat_shaped(
        &self,
        persona: &str,
        messages: Vec<Message>,
        format: Option<serde_json::Value>,
    ) -> Result<TokenStream> {
        let lease = self.acquire(persona).await?;
        let stream = self
            .inner
            .backend
            .chat(&lease.model, messages, lease.keep_alive, format)
            .await;
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                if matches!(e, Error::Offline { .. }) {
                    self.down(&e);
                }
                return Err(e);
            }
        };
        Ok(Box::pin(futures::StreamExt::chain(
            stream,
            futures::stream::unfold(Some(lease), |lease| async move {
                drop(lease); // the reply is over: free the model
                None
            }),
        )))
    }

    pub(super) async fn load(&self, model: &str, keep_alive: KeepAlive) -> Result<()> {
        self.publish();
        // Ollama reads an empty request with `keep_alive: 0` as "unload": a model that is to
        // go at once is loaded by its request itself (its VRAM is counted from now on).
        if keep_alive != KeepAlive::Zero {
            self.inner.backend.load(model, keep_alive).await?;
            self.confirm(model, "the load", true).await?;
        }
        {
            let mut s = self.inner.state.lock().unwrap();
            s.loads += 1;
            if let Some(m) = s.models.iter_mut().find(|m| m.resident.model == model) {
                m.state = ModelState::Loaded;
            }
            s.touch(model);
        }
        self.publish();
        self.inner.changed.notify_waiters();
        Ok(())
    }

    /// Unloads the idle models no persona thinks with any more (the embedded runtime's, once
    /// the personas that fell back to them are back on Ollama). Not for Ollama: a model there
    /// may be another program's.
    pub async fn unload_unused(&self) -> Result<()> {
        let personas = self.personas();
        let unused: Vec<String> = {
            let mut s = self.inner.state.lock().unwrap();
            let waiting: Vec<String> = s.tickets.values().map(|t| t.model.clone()).collect();
            let unused: Vec<String> = s
                .models
                .iter()
                .filter(|m| m.state == ModelState::Loaded && !m.resident.busy)
                .map(|m| m.resident.model.clone())
                .filter(|m| !personas.iter().any(|p| &p.model == m) && !waiting.contains(m))
                .collect();
            for m in s
                .models
                .iter_mut()
                .filter(|m| unused.contains(&m.resident.model))
            {
                m.state = ModelState::Unloading;
            }
            for m in &unused {
                s.touch(m);
            }
            unused
        };
        for model in unused {
            self.unload(&model).await?;
        }
        Ok(())
    }

    pub(super) async fn unload(&self, model: &str) -> Result<()> {
        self.publish();
        self.inner.backend.unload(model).await?;
        self.confirm(model, "the unload", false).await?;
        {
            let mut s = self.inner.state.lock().unwrap();
            s.unloads += 1;
            // Only the entry this unload was for: by now a request may be loading it anew.
            s.models
                .retain(|m| !(m.resident.model == model && m.state == ModelState::Unloading));
        }
        self.publish();
        self.inner.changed.notify_waiters();
        Ok(())
    }

    /// Reads `/api/ps` until `model` is there (`present`) or gone.
    pub(super) async fn confirm(
        &self,
        model: &str,
        action: &'static str,
        present: bool,
    ) -> Result<()> {
        let started = Instant::now();
        loop {
            let running = self.inner.backend.ps().await?;
            if let Some(r) = running.iter().find(|r| r.model == model)
                && r.size_vram.0 > 0
            {
                let mut s = self.inner.state.lock().unwrap();
                s.measured.insert(model.to_string(), r.size_vram);
                if let Some(m) = s.models.iter_mut().find(|m| m.resident.model == model) {
                    m.resident.size = r.size_vram;
                }
            }
            if running.iter().any(|r| r.model == model) == present {
                return Ok(());
            }
            if started.elapsed() > CONFIRM {
                return Err(Error::NotConfirmed {
                    host: self.inner.backend.host().to_string(),
                    action,
                    model: model.to_string(),
                    secs: CONFIRM.as_secs(),
                });
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

//! The model scheduler as the front ends see it: its status as a view the UI can type, and a
//! stream of status changes at most every [`STATUS_EVERY`].

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::Telos;
use crate::world::ModelState;

/// The least time between two status events.
pub const STATUS_EVERY: Duration = Duration::from_millis(250);

/// One model in (or entering, or leaving) VRAM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LoadedModelView {
    pub model: String,
    /// Bytes of VRAM.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub size: u64,
    /// `loading`, `loaded` or `unloading`.
    pub state: String,
    pub busy: bool,
    pub pinned: bool,
    pub personas: Vec<String>,
}

/// The scheduler's status: the VRAM bar and the models in it, queues, Ollama's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SchedulerView {
    pub host: String,
    /// Why Ollama does not answer, with the fix; `None` while it does.
    pub offline: Option<String>,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub budget: u64,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub used: u64,
    pub models: Vec<LoadedModelView>,
    /// Requests waiting, per model.
    pub queues: Vec<(String, u32)>,
    /// Each persona's model state, for its morph.
    pub personas: Vec<PersonaModelState>,
}

/// A persona's model state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PersonaModelState {
    pub persona: String,
    pub state: ModelState,
}

impl SchedulerView {
    /// The view of `s`, with the states of `personas`' models.
    pub fn new(s: &telos_scheduler::Status, personas: &[telos_scheduler::Persona]) -> Self {
        Self {
            personas: personas
                .iter()
                .map(|p| PersonaModelState {
                    persona: p.name.clone(),
                    state: ModelState::of(s, Some(&p.model)),
                })
                .collect(),
            host: s.host.clone(),
            offline: if s.seen {
                s.offline.clone()
            } else {
                Some("Ollama has not been asked yet".into())
            },
            budget: s.budget.0,
            used: s.used.0,
            models: s
                .models
                .iter()
                .map(|m| LoadedModelView {
                    model: m.model.clone(),
                    size: m.size.0,
                    state: match m.state {
                        telos_scheduler::live::ModelState::Loading => "loading",
                        telos_scheduler::live::ModelState::Loaded => "loaded",
                        telos_scheduler::live::ModelState::Unloading => "unloading",
                    }
                    .into(),
                    busy: m.busy,
                    pinned: m.pinned,
                    personas: m.personas.clone(),
                })
                .collect(),
            queues: s
                .queues
                .iter()
                .map(|(m, n)| (m.clone(), *n as u32))
                .collect(),
        }
    }
}

impl Telos {
    /// The scheduler's status now.
    pub fn scheduler_status(&self) -> SchedulerView {
        let scheduler = self.scheduler();
        SchedulerView::new(&scheduler.status(), &scheduler.personas())
    }

    /// Status changes, at most one every [`STATUS_EVERY`] (the latest wins), until the
    /// receiver is dropped.
    pub fn watch_scheduler(&self) -> mpsc::Receiver<SchedulerView> {
        let scheduler = self.scheduler().clone();
        let mut changes = scheduler.watch();
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            loop {
                let status = changes.borrow_and_update().clone();
                let view = SchedulerView::new(&status, &scheduler.personas());
                if tx.send(view).await.is_err() {
                    return;
                }
                tokio::time::sleep(STATUS_EVERY).await;
                if changes.changed().await.is_err() {
                    return;
                }
            }
        });
        rx
    }
}

/// The scheduler's loop (`Scheduler::run`) in a task; it stops when this is dropped.
pub struct SchedulerRun {
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Telos {
    /// Starts the scheduler's loop for a long-running front end: it reads `/api/ps` every
    /// 2 s, loads the pinned personas' models and notices Ollama going and coming back.
    pub fn run_scheduler(&self) -> SchedulerRun {
        let scheduler = self.scheduler().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            scheduler
                .run(async {
                    // A dropped sender ends the loop as a sent stop would.
                    let _ = stopped.await;
                })
                .await;
        });
        SchedulerRun { _stop: stop }
    }
}

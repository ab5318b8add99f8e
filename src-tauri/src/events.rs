//! Events from the core to every window: committed image changes, as they happen.

use serde::{Deserialize, Serialize};
use tauri::AppHandle;
use tauri_specta::Event;
use telos_core::view::{ChangeView, CycleSummary};
use telos_core::{AgendaEvent, CodexReport, InboxEvent, SchedulerView, StatusChange, Telos};
use tokio::sync::broadcast::{self, error::RecvError};

/// One object changed by a committed cycle.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct ImageChanged(pub ChangeView);

/// A cycle record was written: committed, aborted, or a suspended cycle resolved.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct CycleRecorded(pub CycleSummary);

/// Changes came faster than a window could hear them: reload everything.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct ImageResync;

/// A persona's live status changed (busy, …): its badges update without a reload.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct PersonaStatus(pub StatusChange);

/// A file that arrived in a persona's inbox folder is being remembered: the progress a drop
/// streams, with the persona it is for.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct InboxProgress(pub InboxEvent);

/// The model scheduler's status changed (at most every 250 ms): the VRAM bar and the
/// personas' model states.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct SchedulerStatus(pub SchedulerView);

/// The codex folder was read again: pending amendments and malformed codex files.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct CodexChanged(pub CodexReport);

/// A background task failed (and is restarted after `restart_in` seconds), panicked, or was
/// given up: the world window says so.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct TaskIncident {
    pub task: String,
    pub what: String,
    pub restart_in: Option<f64>,
}

/// Asks the Debugger window to show a cycle.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct ShowCycle {
    pub cycle: String,
}

/// A forge's progress (BRICK writing attempt n of N, the sandbox testing, its verdict, how it
/// ended), whoever started it.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct ForgeProgressed(pub telos_core::ForgeProgress);

/// The Playground, already open, is asked to address `receiver` (Playground… from an
/// Inspector or a halo).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct AddressPlayground {
    pub receiver: String,
}

/// A motive was noticed, a work changed, or the autonomy switch moved.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct AgendaChanged(pub AgendaEvent);

/// The image became read-only (with why: the disk is full, or a commit's outcome is unknown),
/// or writes again (`reason` null): the world window shows a banner while it is read-only.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct ReadOnlyChanged {
    pub reason: Option<String>,
}

/// Forwards to every window, as supervised services that end when Telos closes: the image's
/// committed changes and cycle records, persona status, the scheduler's status, background
/// incidents — and, once started, what the inbox and codex watches find.
pub fn forward(app: &AppHandle, telos: &Telos) {
    let mut read_only = telos.image().watch_read_only();
    let to = app.clone();
    let shutdown = telos.supervisor().shutdown();
    telos
        .supervisor()
        .job("forward the read-only state", async move {
            loop {
                tokio::select! {
                    () = shutdown.wait() => return,
                    changed = read_only.changed() => if changed.is_err() { return },
                }
                let reason = read_only
                    .borrow_and_update()
                    .as_ref()
                    .map(|r| r.reason.clone());
                if let Err(e) = (ReadOnlyChanged { reason }).emit(&to) {
                    tracing::warn!("could not tell the windows the image is read-only: {e}");
                }
            }
        });
    let mut scheduler = telos.watch_scheduler();
    let to = app.clone();
    telos
        .supervisor()
        .job("forward scheduler status", async move {
            while let Some(view) = scheduler.recv().await {
                if let Err(e) = SchedulerStatus(view).emit(&to) {
                    tracing::warn!("could not tell the windows about the scheduler: {e}");
                }
            }
        });
    relay(
        app,
        telos,
        "forward persona status",
        telos.subscribe_status(),
        PersonaStatus,
    );
    relay(
        app,
        telos,
        "forward the agenda",
        telos.subscribe_agenda(),
        AgendaChanged,
    );
    relay(
        app,
        telos,
        "forward forge progress",
        telos.subscribe_forge(),
        ForgeProgressed,
    );
    relay(
        app,
        telos,
        "forward cycles",
        telos.image().subscribe_cycles(),
        |record| CycleRecorded(CycleSummary::new(&record)),
    );
    relay(
        app,
        telos,
        "forward image changes",
        telos.image().subscribe(),
        |change| ImageChanged(ChangeView::from(&change)),
    );
    relay(
        app,
        telos,
        "forward incidents",
        telos.supervisor().subscribe(),
        |i| TaskIncident {
            task: i.task,
            what: i.what,
            restart_in: i.restart_in,
        },
    );
}

/// Emits every message of `rx` as the event `to_event` makes of it, until Telos closes; a
/// window that fell behind is told to reload (`ImageResync`).
fn relay<T, E>(
    app: &AppHandle,
    telos: &Telos,
    name: &str,
    mut rx: broadcast::Receiver<T>,
    to_event: impl Fn(T) -> E + Send + 'static,
) where
    T: Clone + Send + 'static,
    E: Event + Serialize + Clone,
{
    let app = app.clone();
    let shutdown = telos.supervisor().shutdown();
    let task = name.to_string();
    telos.supervisor().job(name, async move {
        loop {
            let received = tokio::select! {
                () = shutdown.wait() => return,
                received = rx.recv() => received,
            };
            let sent = match received {
                Ok(message) => to_event(message).emit(&app),
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "windows fell behind ({task}); asking for a reload");
                    ImageResync.emit(&app)
                }
                Err(RecvError::Closed) => return,
            };
            if let Err(e) = sent {
                tracing::warn!("could not tell the windows ({task}): {e}");
            }
        }
    });
}

/// Starts watching the inbox folders and forwards the progress of what arrives there to every
/// window, until Telos closes.
pub fn watch_inbox(app: &AppHandle, telos: &Telos) -> telos_core::Result<()> {
    let mut events = telos.watch_inbox()?;
    let to = app.clone();
    telos
        .supervisor()
        .job("forward inbox progress", async move {
            while let Some(event) = events.recv().await {
                if let Err(e) = InboxProgress(event).emit(&to) {
                    tracing::warn!("could not tell the windows about an inbox file: {e}");
                }
            }
        });
    Ok(())
}

/// Starts watching the codex folder and tells every window what each reading finds, until
/// Telos closes.
pub fn watch_codex(app: &AppHandle, telos: &Telos) -> telos_core::Result<()> {
    let reports = telos.watch_codex()?;
    relay(
        app,
        telos,
        "forward codex reports",
        reports,
        |report: CodexReport| {
            for p in &report.problems {
                tracing::warn!("codex {}:{}: {}", p.file, p.line, p.message);
            }
            CodexChanged(report)
        },
    );
    Ok(())
}

//! Events from the core to every window: committed image changes, as they happen.

use serde::{Deserialize, Serialize};
use tauri::AppHandle;
use tauri_specta::Event;
use telos_core::view::{ChangeView, CycleSummary};
use telos_core::{
    CodexReport, CodexWatch, InboxEvent, InboxWatch, SchedulerView, StatusChange, Telos,
};
use tokio::sync::broadcast::error::RecvError;

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

/// Asks the Debugger window to show a cycle.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct ShowCycle {
    pub cycle: String,
}

/// Forwards the image's committed changes, cycle records and persona status to every window
/// until the image closes.
pub fn forward(app: AppHandle, telos: &telos_core::Telos) {
    // Inside the runtime: the watch spawns its task there.
    let mut scheduler = tauri::async_runtime::block_on(async { telos.watch_scheduler() });
    let to = app.clone();
    tauri::async_runtime::spawn(async move {
        while let Some(view) = scheduler.recv().await {
            if let Err(e) = SchedulerStatus(view).emit(&to) {
                tracing::warn!("could not tell the windows about the scheduler: {e}");
            }
        }
    });
    let mut status = telos.subscribe_status();
    let to = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let sent = match status.recv().await {
                Ok(change) => PersonaStatus(change).emit(&to),
                Err(RecvError::Lagged(_)) => ImageResync.emit(&to),
                Err(RecvError::Closed) => break,
            };
            if let Err(e) = sent {
                tracing::warn!("could not tell the windows about a persona's status: {e}");
            }
        }
    });
    let mut cycles = telos.image().subscribe_cycles();
    let to = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let sent = match cycles.recv().await {
                Ok(record) => CycleRecorded(CycleSummary::new(&record)).emit(&to),
                Err(RecvError::Lagged(_)) => ImageResync.emit(&to),
                Err(RecvError::Closed) => break,
            };
            if let Err(e) = sent {
                tracing::warn!("could not tell the windows about a cycle: {e}");
            }
        }
    });
    let mut changes = telos.image().subscribe();
    tauri::async_runtime::spawn(async move {
        loop {
            let sent = match changes.recv().await {
                Ok(change) => ImageChanged(ChangeView::from(&change)).emit(&app),
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "windows fell behind the image; asking for a reload");
                    ImageResync.emit(&app)
                }
                Err(RecvError::Closed) => break,
            };
            if let Err(e) = sent {
                tracing::warn!("could not tell the windows about a change: {e}");
            }
        }
    });
}

/// Starts watching the inbox folders and forwards the progress of what arrives there to every
/// window. The watch runs until the returned handle drops.
pub fn watch_inbox(app: &AppHandle, telos: &Telos) -> telos_core::Result<InboxWatch> {
    // Inside the runtime: the watch spawns its task there.
    let (watch, mut events) = tauri::async_runtime::block_on(async { telos.watch_inbox() })?;
    let to = app.clone();
    tauri::async_runtime::spawn(async move {
        while let Some(event) = events.recv().await {
            if let Err(e) = InboxProgress(event).emit(&to) {
                tracing::warn!("could not tell the windows about an inbox file: {e}");
            }
        }
    });
    Ok(watch)
}

/// Starts watching the codex folder and tells every window what each reading finds. The
/// watch runs until the returned handle drops.
pub fn watch_codex(app: &AppHandle, telos: &Telos) -> telos_core::Result<CodexWatch> {
    // Inside the runtime: the watch spawns its task there.
    let (watch, mut reports) = tauri::async_runtime::block_on(async { telos.watch_codex() })?;
    let to = app.clone();
    tauri::async_runtime::spawn(async move {
        while let Some(report) = reports.recv().await {
            for p in &report.problems {
                tracing::warn!("codex {}:{}: {}", p.file, p.line, p.message);
            }
            if let Err(e) = CodexChanged(report).emit(&to) {
                tracing::warn!("could not tell the windows about the codex: {e}");
            }
        }
    });
    Ok(watch)
}

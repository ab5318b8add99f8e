//! Events from the core to every window: committed image changes, as they happen.

use serde::{Deserialize, Serialize};
use tauri::AppHandle;
use tauri_specta::Event;
use telos_core::view::{ChangeView, CycleSummary};
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

/// Asks the Debugger window to show a cycle.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct ShowCycle {
    pub cycle: String,
}

/// Forwards the image's committed changes and cycle records to every window until the image
/// closes.
pub fn forward(app: AppHandle, telos: &telos_core::Telos) {
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

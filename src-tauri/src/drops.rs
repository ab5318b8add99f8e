//! Files dropped from the file manager, as the native window saw them. Ingest takes its
//! paths from here, never from the page: a page can only say which persona gets the files
//! the user actually dropped on its window.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use tauri::{DragDropEvent, Window, WindowEvent};

/// The last drop per window label. A std lock: held only to swap a list.
#[derive(Default)]
pub struct Drops(Mutex<HashMap<String, Vec<PathBuf>>>);

impl Drops {
    /// Keeps the paths of a drop on `window` until a command takes them.
    pub fn on_window_event(&self, window: &Window, event: &WindowEvent) {
        if let WindowEvent::DragDrop(DragDropEvent::Drop { paths, .. }) = event {
            self.lock().insert(window.label().to_owned(), paths.clone());
        }
    }

    /// The files last dropped on `label`, once.
    pub fn take(&self, label: &str) -> Option<Vec<PathBuf>> {
        self.lock().remove(label).filter(|p| !p.is_empty())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<PathBuf>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

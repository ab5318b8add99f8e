//! The codex folder, watched: it is scanned at once and again after every change to it (a
//! burst of writes, such as an editor's save, settles first). Each scan's report goes to
//! [`CodexFiles::subscribe`]rs.

use std::time::Duration;

use notify::Watcher;
use telos_supervisor::Shutdown;
use tokio::sync::mpsc;

use crate::codex::CodexProblem;
use crate::codex_files::{CodexFiles, CodexReport};
use crate::error::Error;

/// Edits settle for this long before the folder is read again.
const SETTLE: Duration = Duration::from_millis(300);

/// Watches the codex folder until `shutdown` (a supervisor's service). `Err` when the folder
/// cannot be watched.
pub async fn watch(files: CodexFiles, shutdown: Shutdown) -> Result<(), String> {
    let dir = files.dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (tx, mut events) = mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // The receiver is gone only when the watch is: nothing to tell then.
        let _ = tx.send(event.is_ok());
    })
    .map_err(|e| Error::watch(&dir, e).to_string())?;
    watcher
        .watch(&dir, notify::RecursiveMode::NonRecursive)
        .map_err(|e| Error::watch(&dir, e).to_string())?;
    loop {
        if let Err(e) = files.scan() {
            // The folder could not be read: say so where the amendments are shown.
            let report = CodexReport {
                pending: files.amendments(),
                problems: vec![CodexProblem {
                    file: dir.display().to_string(),
                    line: 0,
                    message: e.to_string(),
                }],
            };
            tracing::warn!("codex folder {}: {e}", dir.display());
            files.publish(report);
        }
        tokio::select! {
            () = shutdown.wait() => return Ok(()),
            event = events.recv() => if event.is_none() { return Ok(()) },
        }
        tokio::select! {
            () = shutdown.wait() => return Ok(()),
            () = tokio::time::sleep(SETTLE) => {}
        }
        while events.try_recv().is_ok() {}
    }
}

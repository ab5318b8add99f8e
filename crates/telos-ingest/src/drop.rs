//! One drop as a job: the files remembered one by one, progress streamed, then the summaries.

use std::path::PathBuf;

use serde_json::json;
use telos_image::ops::{self, Op};
use telos_image::{ObjRef, ObjectId, now_ms};
use telos_memory::{FileReport, Outcome, Progress, Stage};
use tokio::sync::mpsc;

use crate::walk::expand;
use crate::{
    Ingest, IngestEvent, IngestSummary, Refused, SUMMARIES, UNREAD, UNREAD_KEEP, quarantine,
};

impl Ingest {
    /// Starts the job that remembers `paths` for `persona`, reporting on `tx`; the persona
    /// shows busy until the last file is done. With `quarantine_dir` (an inbox folder), files
    /// its quarantine holds are passed over, and a file that kills its reader joins it. False
    /// when Telos is closing.
    pub(crate) fn start(
        &self,
        persona: ObjRef,
        paths: Vec<PathBuf>,
        tx: mpsc::Sender<IngestEvent>,
        quarantine_dir: Option<PathBuf>,
    ) -> bool {
        let Some(id) = ObjectId::parse(&persona.id) else {
            tracing::error!("{}: {:?} is not an object id", persona.name, persona.id);
            return false;
        };
        let busy = self.status.enter_busy(id.clone());
        let me = self.clone();
        let name = format!("reading files for {}", persona.name);
        self.supervisor.job(name, async move {
            let _busy = busy;
            me.remember(persona, id, paths, tx, quarantine_dir).await;
        })
    }

    async fn remember(
        self,
        persona: ObjRef,
        id: ObjectId,
        paths: Vec<PathBuf>,
        tx: mpsc::Sender<IngestEvent>,
        quarantine_dir: Option<PathBuf>,
    ) {
        let memory = self.voice.memory().clone();
        let shutdown = self.supervisor.shutdown();
        let (mut files, mut failed) = expand(&paths).await;
        if let Some(dir) = &quarantine_dir {
            let held = quarantine::load(dir);
            let before = files.len();
            files.retain(|f| match quarantine::holding(&held, f) {
                Some(q) => {
                    tracing::warn!(
                        "{} is not read: it killed its reader before ({}); touch it to try again",
                        f.display(),
                        q.reason
                    );
                    false
                }
                None => true,
            });
            if files.is_empty() && failed.is_empty() && before > 0 {
                return; // all quarantined: nothing to tell
            }
        }
        let shown = files.iter().map(|f| f.display().to_string()).collect();
        // A receiver that went away (a closed window) stops nothing: the files are still
        // remembered, so sends below may fail without consequence.
        let _ = tx
            .send(IngestEvent::Started {
                persona: persona.clone(),
                files: shown,
            })
            .await;
        let mut remembered = Vec::new();
        let mut unread = Vec::new();
        for file in files {
            let path = file.display().to_string();
            if shutdown.is_set() {
                failed.push(Refused::new(path, "Telos closed before this file was read"));
                continue;
            }
            let progress_tx = tx.clone();
            let progress = move |p: Progress| {
                // A reader that fell behind misses a step, never the end.
                let _ = progress_tx.try_send(IngestEvent::File(p));
            };
            let outcome = tokio::select! {
                outcome = memory.ingest_file(&id, &file, &progress) => outcome.map_err(|e| {
                    let killed = matches!(e, telos_memory::Error::ReaderDied { .. });
                    (e.to_string(), killed)
                }),
                // Cut short: rows written for it and not committed are tidied at the next open.
                () = shutdown.wait() => Err(("Telos closed while this file was read".into(), false)),
            };
            match outcome {
                Ok(report) => remembered.push(report),
                Err((error, killed)) => {
                    tracing::warn!("{} could not remember {path}: {error}", persona.name);
                    let _ = tx
                        .send(IngestEvent::File(Progress {
                            path: path.clone(),
                            stage: Stage::Failed {
                                error: error.clone(),
                            },
                        }))
                        .await;
                    if !shutdown.is_set() {
                        unread.push(json!({"path": path, "reason": error, "at": now_ms()}));
                    }
                    if let (true, Some(dir)) = (killed, &quarantine_dir)
                        && let Err(e) = quarantine::add(dir, &file, &error)
                    {
                        tracing::error!("{path} could not be quarantined: {e}");
                    }
                    failed.push(Refused {
                        killed_reader: killed,
                        ..Refused::new(path, error)
                    });
                }
            }
        }
        // Files that could not be read stay on the persona's `unread` list, so the mind can
        // try them again (a re-read on its agenda).
        if !unread.is_empty() {
            let ops: Vec<Op> = unread
                .into_iter()
                .map(|value| Op::Append {
                    object: id.to_string(),
                    slot: UNREAD.into(),
                    value,
                    keep: Some(UNREAD_KEEP),
                })
                .collect();
            let trigger = format!("unread by {}", persona.name);
            if let Err(e) = ops::apply(self.voice.image(), &trigger, &ops).await {
                tracing::error!("recording what {} could not read: {e}", persona.name);
            }
        }
        let documents = memory.document_count(&id) as u32;
        let fresh: Vec<FileReport> = remembered
            .iter()
            .filter(|r| r.outcome != Outcome::Unchanged)
            .take(SUMMARIES)
            .cloned()
            .collect();
        let summary = IngestSummary::new(persona.clone(), remembered, failed, documents);
        let _ = tx.send(IngestEvent::Finished(summary)).await;
        for report in fresh {
            if shutdown.is_set() {
                break;
            }
            self.summarise(&persona, &report, &tx).await;
        }
    }
}

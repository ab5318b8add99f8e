//! The persona's short summary of a document it has just read, streamed through its voice.

use futures::StreamExt;
use telos_image::ObjRef;
use telos_memory::FileReport;
use telos_persona::Turn;
use tokio::sync::mpsc;

use crate::{Ingest, IngestEvent};

/// Bytes of a document's text its summary is asked of.
const EXCERPT: usize = 6_000;

impl Ingest {
    /// Streams `persona`'s short summary of the document `report` remembered.
    pub(crate) async fn summarise(
        &self,
        persona: &ObjRef,
        report: &FileReport,
        tx: &mpsc::Sender<IngestEvent>,
    ) {
        let image = self.voice.image();
        let path = report.path.clone();
        let failed = |message: String| IngestEvent::SummaryFailed {
            path: path.clone(),
            message,
        };
        let object = match image.resolve(&persona.id) {
            Ok(o) => o,
            Err(e) => {
                let _ = tx.send(failed(e.to_string())).await;
                return;
            }
        };
        let name = std::path::Path::new(&path)
            .file_name()
            .map_or(path.clone(), |n| n.to_string_lossy().into_owned());
        let excerpt = excerpt(image, &report.document);
        let turn = Turn::new(format!(
            "You have just read and remembered the document {name}. In two or three \
             sentences, say what it is about.\n\n{excerpt}"
        ));
        let grounded = self.voice.ground(&object, turn).await;
        let shutdown = self.supervisor.shutdown();
        let spoken = tokio::select! {
            spoken = self.voice.speak(&grounded) => spoken.map(|r| r.stream).map_err(|e| e.to_string()),
            () = shutdown.wait() => Err("Telos is closing".to_string()),
        };
        let mut stream = match spoken {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.send(failed(e)).await;
                return;
            }
        };
        let mut text = String::new();
        loop {
            let piece = tokio::select! {
                piece = stream.next() => piece.map(|p| p.map_err(|e| e.to_string())),
                () = shutdown.wait() => Some(Err("Telos is closing".to_string())),
            };
            match piece {
                None => break,
                Some(Ok(piece)) => {
                    text.push_str(&piece);
                    let event = IngestEvent::Summary {
                        path: path.clone(),
                        text: piece,
                    };
                    if tx.send(event).await.is_err() {
                        return; // nobody listens any more: stop using the model
                    }
                }
                Some(Err(e)) => {
                    let _ = tx.send(failed(e)).await;
                    return;
                }
            }
        }
        let _ = tx.send(IngestEvent::SummaryDone { path, text }).await;
    }
}

/// The start of a document's text: its chunks in order, up to [`EXCERPT`] bytes.
fn excerpt(image: &telos_image::Image, document: &str) -> String {
    let mut excerpt = String::new();
    if let Ok(doc) = image.resolve(document) {
        for chunk in doc.links.get(telos_memory::CHUNKS).into_iter().flatten() {
            if excerpt.len() >= EXCERPT {
                break;
            }
            if let Ok(c) = image.resolve(chunk.as_str())
                && let Some(text) = c.slots.get("text").and_then(|t| t.as_str())
            {
                excerpt.push_str(text);
                excerpt.push('\n');
            }
        }
    }
    let mut cut = EXCERPT.min(excerpt.len());
    while !excerpt.is_char_boundary(cut) {
        cut -= 1;
    }
    excerpt.truncate(cut);
    excerpt
}

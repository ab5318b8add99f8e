//! Documents given to a persona. Until episodic memory exists the request is recorded on the
//! persona (slot `ingest_requests`, the newest 50) and answered "memory not available yet";
//! the memory issue replaces the answer with real ingestion.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::json;
use telos_image::now_ms;
use telos_image::ops::Op;

use crate::Telos;
use crate::error::{Error, Result};
use crate::view::ObjRef;
use crate::world::is_persona;

/// The slot holding recorded requests.
pub const INGEST_REQUESTS: &str = "ingest_requests";
const KEEP_REQUESTS: usize = 50;

/// What happened to a drop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct IngestAnswer {
    pub persona: ObjRef,
    /// The files recorded.
    pub files: Vec<String>,
    /// Paths refused, each with the reason.
    pub refused: Vec<Refused>,
    /// The cycle that recorded the request.
    pub cycle: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Refused {
    pub path: String,
    pub reason: String,
}

impl Telos {
    /// Gives `paths` to `persona` to remember, as one cycle. Paths are kept absolute; those
    /// that cannot be read are refused by name and the rest are still taken.
    pub async fn ingest(&self, persona: &str, paths: &[PathBuf]) -> Result<IngestAnswer> {
        let image = self.image();
        let object = image.resolve(persona)?;
        if !is_persona(image, &object) {
            return Err(Error::NotAPersona(persona.to_owned()));
        }
        if paths.is_empty() {
            return Err(Error::NoFiles(object.name.clone()));
        }
        let (mut files, mut refused) = (Vec::new(), Vec::new());
        for path in paths {
            let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            let shown = path.display().to_string();
            match tokio::fs::metadata(&path).await {
                Ok(m) if m.is_file() || m.is_dir() => files.push(shown),
                Ok(_) => refused.push(Refused {
                    path: shown,
                    reason: "not a regular file or folder".into(),
                }),
                Err(e) => refused.push(Refused {
                    path: shown,
                    reason: e.to_string(),
                }),
            }
        }
        let request = Op::Append {
            object: object.id.to_string(),
            slot: INGEST_REQUESTS.to_owned(),
            value: json!({ "files": files, "refused": refused, "at": now_ms() }),
            keep: Some(KEEP_REQUESTS),
        };
        let trigger = format!("ingest request for {}", object.name);
        let cycle = self.apply(&trigger, vec![request]).await?;
        Ok(IngestAnswer {
            persona: ObjRef {
                id: object.id.to_string(),
                name: object.name.clone(),
            },
            message: format!(
                "memory not available yet: {} recorded the request for {} file(s); episodic \
                 memory will read them once it exists",
                object.name,
                files.len()
            ),
            files,
            refused,
            cycle: cycle.id,
        })
    }
}

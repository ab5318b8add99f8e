//! Backups: `telos backup create|ls|verify|restore`. A backup is made by the Telos holding
//! the data dir (the app, when it runs); listing, verifying and restoring need only the
//! destination.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use telos_backup::{Canary, Manifest, Repo};

use crate::error::{Error, Result};
use crate::facade_backup_manager::Backups;
use crate::{Config, Telos};

/// One backup, as `ls` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BackupSummary {
    pub id: String,
    /// `full` or `incremental`.
    pub kind: String,
    pub parent: Option<String>,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub created: i64,
    /// The newest cycle it includes.
    pub cycle: Option<String>,
    pub objects: u32,
    pub cycles: u32,
    pub chunks: u32,
    pub files: u32,
    /// Bytes it added to the destination, and bytes of everything it refers to.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub stored_bytes: u64,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub total_bytes: u64,
    pub seconds: f64,
}

impl From<&Manifest> for BackupSummary {
    fn from(m: &Manifest) -> Self {
        Self {
            id: m.id.clone(),
            kind: m.kind.to_string(),
            parent: m.parent.clone(),
            created: m.created,
            cycle: m.cycle.clone(),
            objects: m.counts.objects as u32,
            cycles: m.counts.cycles as u32,
            chunks: m.counts.chunks as u32,
            files: m.files.len() as u32,
            stored_bytes: m.stored_bytes,
            total_bytes: m.total_bytes,
            seconds: m.seconds,
        }
    }
}

/// What a destination holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BackupList {
    pub dest: String,
    /// Complete backups, oldest first.
    pub backups: Vec<BackupSummary>,
    /// Backups begun and never finished (cut short): ignored by every other command.
    pub partial: Vec<String>,
}

/// One check `verify` made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BackupCheck {
    pub what: String,
    pub ok: bool,
    pub detail: String,
}

/// `verify`'s verdict on one backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BackupVerdict {
    pub id: String,
    pub ok: bool,
    /// Each file whose content is not what the manifest says, named.
    pub bad_files: Vec<String>,
    pub checks: Vec<BackupCheck>,
}

impl Backups {
    /// Makes one backup now (see [`Telos::backup_create`]).
    pub(crate) async fn create(
        &self,
        dest: &Path,
        full: bool,
        progress: &(dyn Fn(String) + Send + Sync),
    ) -> Result<BackupSummary> {
        // At the cut memory's chunks are counted and the canary's text taken; its recall runs
        // while the files are copied.
        let memory = &self.memory;
        let source = telos_backup::Source {
            data_dir: &self.data_dir,
            image: &self.image,
            memory,
            probe: Box::new(move || {
                let (chunks, first) = memory.chunk_census();
                Box::pin(async move {
                    Ok(telos_backup::Probe {
                        canary: canary(memory, first).await?,
                        chunks,
                    })
                })
            }),
        };
        // The copy's progress every tenth of the way, each tenth once (it reports after every
        // file, from several copiers).
        let tenths = std::sync::atomic::AtomicU64::new(0);
        let report = |p: telos_backup::Progress| {
            if p.total <= 1 {
                return progress(format!("backup: {}", p.stage));
            }
            let tenth = p.done * 10 / p.total;
            if tenths.fetch_max(tenth + 1, std::sync::atomic::Ordering::Relaxed) < tenth + 1 {
                progress(format!(
                    "backup: {} {}% ({} of {} MB)",
                    p.stage,
                    tenth * 10,
                    p.done / 1_000_000,
                    p.total / 1_000_000
                ));
            }
        };
        let made = telos_backup::create(dest, source, full, &report).await?;
        Ok(BackupSummary::from(&made))
    }
}

/// A recall to make again on a restored copy: the chunk with the smallest id (`first`: its
/// id and text) searched for by its stored embedding, and the chunk memory finds for it now
/// (itself, or one with the same text). A chunk whose row is missing is recalled by its
/// opening words, embedded.
async fn canary(
    memory: &telos_memory::Memory,
    first: Option<(String, String)>,
) -> telos_backup::Result<Option<Canary>> {
    let Some((id, text)) = first else {
        return Ok(None);
    };
    let query: String = text.chars().take(200).collect();
    let vector = memory.chunk_vector(&id).await?;
    let found = canary_recall(memory, vector.as_deref(), &query).await?;
    Ok(found.into_iter().next().map(|r| Canary {
        query,
        source: r.source,
        chunk_index: r.chunk_index,
        vector,
    }))
}

/// The canary's recall, the same at the backup and at its verify: by the chunk's stored
/// vector where there is one, else by its words, embedded.
async fn canary_recall(
    memory: &telos_memory::Memory,
    vector: Option<&[f32]>,
    words: &str,
) -> telos_memory::Result<Vec<telos_memory::Recalled>> {
    match vector {
        Some(v) => memory.recall_vector(None, v, 1).await,
        None => memory.recall(None, words, 1).await,
    }
}

/// The backups in `dest`.
pub fn backup_list(dest: &Path) -> Result<BackupList> {
    let listing = Repo::open(dest, false)?.list()?;
    Ok(BackupList {
        dest: dest.display().to_string(),
        backups: listing.backups.iter().map(BackupSummary::from).collect(),
        partial: listing.partial,
    })
}

fn manifest_of(repo: &Repo, id: Option<&str>) -> Result<Manifest> {
    match id {
        Some(id) => Ok(repo.manifest(id)?),
        None => repo.list()?.backups.pop().ok_or_else(|| {
            Error::Backup(telos_backup::Error::NoBackup {
                dest: repo.root().into(),
            })
        }),
    }
}

/// Restores backup `id` of `dest` as the new data dir `into` (which must not exist or be
/// empty: a data dir in use is never written over).
pub async fn backup_restore(dest: &Path, id: &str, into: &Path) -> Result<BackupSummary> {
    let restored = telos_backup::restore(dest, id, into).await?;
    Ok(BackupSummary::from(&restored.manifest))
}

/// Verifies backup `id` of `dest` (the newest when `None`): every file's SHA-256, then a
/// restore into a scratch dir opened as Telos (settings from `template`): the doctor's
/// invariants, the object, cycle and chunk counts, and the canary recall.
pub async fn backup_verify(
    template: &Config,
    dest: &Path,
    id: Option<&str>,
    progress: &(dyn Fn(String) + Send + Sync),
) -> Result<BackupVerdict> {
    let repo = Repo::open(dest, false)?;
    let manifest = manifest_of(&repo, id)?;
    progress(format!(
        "verify: re-hashing the {} files backup {} needs",
        manifest.blobs().len(),
        manifest.id
    ));
    let bad_files = telos_backup::check_blobs(&repo, &manifest);
    let mut verdict = BackupVerdict {
        id: manifest.id.clone(),
        ok: bad_files.is_empty(),
        bad_files,
        checks: Vec::new(),
    };
    if !verdict.ok {
        return Ok(verdict);
    }
    let scratch = scratch_dir(&manifest.id);
    progress(format!("verify: restoring into {}", scratch.display()));
    let checked = restore_and_check(template, &repo, &manifest, &scratch).await;
    let _ = std::fs::remove_dir_all(&scratch);
    verdict.checks = match checked {
        Ok(checks) => checks,
        Err(e) => vec![BackupCheck {
            what: "restore and open".into(),
            ok: false,
            detail: e.to_string(),
        }],
    };
    verdict.ok = verdict.checks.iter().all(|c| c.ok);
    Ok(verdict)
}

fn scratch_dir(id: &str) -> PathBuf {
    std::env::temp_dir().join(format!("telos-verify-{id}-{}", std::process::id()))
}

async fn restore_and_check(
    template: &Config,
    repo: &Repo,
    manifest: &Manifest,
    scratch: &Path,
) -> Result<Vec<BackupCheck>> {
    telos_backup::restore(repo.root(), &manifest.id, scratch).await?;
    let mut config = template.clone();
    config.data_dir = scratch.into();
    config.endpoint = None;
    let telos = Telos::open(config).await?;
    let mut checks = Vec::new();
    let mut check = |what: &str, ok: bool, detail: String| {
        checks.push(BackupCheck {
            what: what.into(),
            ok,
            detail,
        })
    };
    let want = &manifest.counts;
    let objects = telos.image.len();
    check(
        "objects",
        objects == want.objects,
        format!("{objects} restored, {} backed up", want.objects),
    );
    let cycles = telos.image.cycles(want.cycles + 1).await?.len();
    check(
        "cycle records",
        cycles == want.cycles,
        format!("{cycles} restored, {} backed up", want.cycles),
    );
    let health = telos.memory.doctor().await?;
    check(
        "chunks",
        health.image_chunks == want.chunks && health.store_rows == want.chunks,
        format!(
            "{} in the image and {} rows, {} backed up",
            health.image_chunks, health.store_rows, want.chunks
        ),
    );
    let whole = health.orphans == 0 && health.missing == 0 && health.differing == 0;
    check(
        "doctor",
        whole,
        format!(
            "{} orphan rows, {} missing, {} differing",
            health.orphans, health.missing, health.differing
        ),
    );
    match &manifest.canary {
        None => check("canary recall", true, "no memories to recall".into()),
        Some(canary) => {
            // A recall that fails (a vector of another length in an edited manifest, a
            // model missing for an older backup's words) is a failed check, named.
            let found = canary_recall(&telos.memory, canary.vector.as_deref(), &canary.query).await;
            let expected = format!("chunk {} of {}", canary.chunk_index, canary.source);
            match found {
                Ok(found) => {
                    let got = found.first().map(|r| (r.source.as_str(), r.chunk_index));
                    check(
                        "canary recall",
                        got == Some((canary.source.as_str(), canary.chunk_index)),
                        format!(
                            "expected {expected}, recalled {}",
                            got.map_or("nothing".into(), |(s, i)| format!("chunk {i} of {s}"))
                        ),
                    );
                }
                Err(e) => check(
                    "canary recall",
                    false,
                    format!("expected {expected}, the recall failed: {e}"),
                ),
            }
        }
    }
    telos.shutdown().await?;
    Ok(checks)
}

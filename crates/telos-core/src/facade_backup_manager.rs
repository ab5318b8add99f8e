//! The backup manager: an object in the image (`backup manager`) holding the schedule and how
//! the last backup went, and a supervised service making backups when they are due (an
//! incremental every few hours, a full one every few days), pruning old ones, and recording
//! each outcome in a cycle — so the world window and `telos backup status` show the last and
//! next backup and any failure.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use telos_backup::{Kind, Repo, Schedule};
use telos_image::ops::{self, Op};

use crate::Telos;
use crate::error::Result;
use crate::facade_backup::BackupSummary;

/// The manager object's name.
pub const BACKUP_MANAGER: &str = "backup manager";
/// A failed backup is tried again after this long (or at its next time, if sooner).
const RETRY: Duration = Duration::from_secs(600);

/// What backups need of Telos (a cheap clone, for the manager's service), and what the
/// running process knows beyond the image: the stage of the backup running now; one backup
/// runs at a time.
#[derive(Clone)]
pub(crate) struct Backups {
    pub(crate) image: telos_image::Image,
    pub(crate) memory: telos_memory::Memory,
    pub(crate) data_dir: std::path::PathBuf,
    stage: Arc<Mutex<Option<String>>>,
    turn: Arc<tokio::sync::Mutex<()>>,
}

/// The backup manager as the world window and `telos backup status` show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BackupStatus {
    /// The destination backups go to on their schedule (`None`: none is scheduled).
    pub dest: Option<String>,
    pub every_hours: f64,
    pub full_every_days: f64,
    pub keep: u32,
    pub last: Option<BackupSummary>,
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub last_full_at: Option<i64>,
    /// When the next backup is due (ms since the epoch) and of which kind.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub next_at: Option<i64>,
    pub next_kind: Option<String>,
    /// The stage of the backup running now.
    pub running: Option<String>,
    /// The last failure, if it came after the last success.
    pub error: Option<String>,
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub error_at: Option<i64>,
}

fn slot<T: serde::de::DeserializeOwned>(o: &telos_image::Object, name: &str) -> Option<T> {
    o.slots
        .get(name)
        .filter(|v| !v.is_null())
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}

impl Telos {
    /// Schedules backups into `schedule.dest` (made absolute by the caller), replacing any
    /// schedule before; the first into a new destination is due at once.
    pub async fn backup_schedule(&self, schedule: Schedule) -> Result<BackupStatus> {
        self.backups.schedule(schedule).await
    }

    /// The schedule, the last and next backup, and any failure.
    pub fn backup_status(&self) -> BackupStatus {
        self.backups.status()
    }

    /// Backs this data dir up into `dest` (incremental on the newest backup there unless
    /// `full`), cut at a cycle boundary while everything runs; recorded on the backup
    /// manager when `dest` is its destination.
    pub async fn backup_create(
        &self,
        dest: &std::path::Path,
        full: bool,
        progress: &(dyn Fn(String) + Send + Sync),
    ) -> Result<BackupSummary> {
        self.backups.run(dest, full, progress).await
    }

    /// Starts the backup manager as a supervised service (a long-running front end): it
    /// sleeps until the next backup is due or the schedule changes, makes it, prunes to the
    /// schedule's `keep`, and records how it went.
    pub fn run_backups(&self) {
        let backups = self.backups.clone();
        self.supervisor.service("backup manager", move |shutdown| {
            backups.clone().serve(shutdown)
        });
    }
}

impl Backups {
    pub(crate) fn new(
        image: telos_image::Image,
        memory: telos_memory::Memory,
        data_dir: std::path::PathBuf,
    ) -> Self {
        Self {
            image,
            memory,
            data_dir,
            stage: Arc::default(),
            turn: Arc::default(),
        }
    }

    /// Schedules backups into `schedule.dest` (made absolute by the caller), replacing any
    /// schedule before; the first is due at once.
    async fn schedule(&self, schedule: Schedule) -> Result<BackupStatus> {
        schedule.check()?;
        let mut program = Vec::new();
        if self.image.resolve(BACKUP_MANAGER).is_err() {
            program.push(Op::New {
                name: BACKUP_MANAGER.into(),
                parents: vec!["genesis".into()],
            });
        }
        // A new destination starts afresh: its first backup is due at once, and full.
        if self.status().dest.as_deref() != Some(&schedule.dest) {
            for slot in ["last", "last_full_at", "error", "error_at"] {
                program.push(Op::Set {
                    object: BACKUP_MANAGER.into(),
                    slot: slot.into(),
                    value: Value::Null,
                });
            }
        }
        program.push(Op::Set {
            object: BACKUP_MANAGER.into(),
            slot: "schedule".into(),
            value: json!(schedule),
        });
        ops::apply(
            &self.image,
            &format!("backup schedule {}", schedule.dest),
            &program,
        )
        .await?;
        Ok(self.status())
    }

    /// The schedule, the last and next backup, and any failure.
    fn status(&self) -> BackupStatus {
        let manager = self.image.resolve(BACKUP_MANAGER).ok();
        let get = |name: &str| manager.as_deref().and_then(|m| slot::<Value>(m, name));
        let schedule: Option<Schedule> = manager.as_deref().and_then(|m| slot(m, "schedule"));
        let last: Option<BackupSummary> = manager.as_deref().and_then(|m| slot(m, "last"));
        let last_full_at = get("last_full_at").and_then(|v| v.as_i64());
        let error_at = get("error_at").and_then(|v| v.as_i64());
        let error = get("error")
            .and_then(|v| v.as_str().map(str::to_owned))
            .filter(|_| error_at > last.as_ref().map(|l| l.created));
        let next = schedule.as_ref().map(|s| {
            let (mut at, kind) = s.next(last.as_ref().map(|l| l.created), last_full_at);
            if let Some(failed) = error_at.filter(|_| error.is_some()) {
                at = at.max(failed + RETRY.as_millis() as i64);
            }
            (at, kind)
        });
        let defaults = Schedule::default();
        let s = schedule.as_ref().unwrap_or(&defaults);
        BackupStatus {
            dest: schedule.as_ref().map(|s| s.dest.clone()),
            every_hours: s.every_hours,
            full_every_days: s.full_every_days,
            keep: s.keep as u32,
            last,
            last_full_at,
            next_at: next.map(|(at, _)| at),
            next_kind: next.map(|(_, k)| k.to_string()),
            running: self.stage.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            error,
            error_at,
        }
    }

    /// Makes one backup (one at a time), its stage shown while it runs, and records how it
    /// went on the manager when `dest` is the scheduled destination.
    async fn run(
        &self,
        dest: &std::path::Path,
        full: bool,
        progress: &(dyn Fn(String) + Send + Sync),
    ) -> Result<BackupSummary> {
        let _turn = self.turn.lock().await;
        let stage = Arc::clone(&self.stage);
        let show = |line: String| {
            *stage.lock().unwrap_or_else(|e| e.into_inner()) = Some(line.clone());
            progress(line);
        };
        show(format!("backup into {} starting", dest.display()));
        let made = self.create(dest, full, &show).await;
        *stage.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let scheduled = self.status().dest;
        if scheduled.as_deref() == Some(&*dest.to_string_lossy())
            && let Err(e) = self.record(&made).await
        {
            // The backup itself stands (or failed) as it did; only the manager's note is lost.
            tracing::warn!("recording the backup on the backup manager: {e}");
        }
        made
    }

    async fn record(&self, made: &Result<BackupSummary>) -> Result<()> {
        let set = |slot: &str, value: Value| Op::Set {
            object: BACKUP_MANAGER.into(),
            slot: slot.into(),
            value,
        };
        let program = match made {
            Ok(b) => {
                let mut p = vec![set("last", json!(b))];
                if b.kind == Kind::Full.to_string() {
                    p.push(set("last_full_at", json!(b.created)));
                }
                p
            }
            Err(e) => vec![
                set("error", json!(e.to_string())),
                set("error_at", json!(telos_image::now_ms())),
            ],
        };
        ops::apply(&self.image, "backup recorded", &program).await?;
        Ok(())
    }

    /// The manager's loop (see [`Telos::run_backups`]).
    async fn serve(self, shutdown: telos_supervisor::Shutdown) -> std::result::Result<(), String> {
        let mut changes = self.image.subscribe();
        loop {
            let status = self.status();
            let wait = match (status.dest.as_ref(), status.next_at) {
                (Some(_), Some(at)) => {
                    Duration::from_millis((at - telos_image::now_ms()).max(0) as u64)
                }
                _ => Duration::from_secs(24 * 3600),
            };
            let changed = async {
                loop {
                    match changes.recv().await {
                        Ok(c) if c.name == BACKUP_MANAGER => return,
                        Ok(_) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                        Err(_) => std::future::pending::<()>().await,
                    }
                }
            };
            tokio::select! {
                () = shutdown.wait() => return Ok(()),
                () = changed => continue,
                () = tokio::time::sleep(wait) => {}
            }
            let (Some(dest), Some(kind)) = (status.dest, status.next_kind) else {
                continue;
            };
            let dest = std::path::PathBuf::from(dest);
            let full = kind == Kind::Full.to_string();
            // A failure is recorded on the manager (and retried after `RETRY`).
            if let Ok(b) = self.run(&dest, full, &|_| {}).await {
                tracing::info!("{} backup {} into {}", b.kind, b.id, dest.display());
                let pruned = Repo::open(&dest, false)
                    .and_then(|r| telos_backup::prune(&r, status.keep as usize));
                match pruned {
                    Ok(p) if !p.backups.is_empty() => tracing::info!(
                        "pruned {} old backups ({} files, {} bytes)",
                        p.backups.len(),
                        p.blobs,
                        p.bytes
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!("pruning backups in {}: {e}", dest.display()),
                }
            }
        }
    }
}

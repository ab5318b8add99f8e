//! Backups: `telos backup create [--full] DEST` (made by whoever holds the data dir: the app
//! when it runs), `telos backup ls DEST`, `telos backup verify DEST [ID]` and
//! `telos backup restore DEST ID --into DIR` (these need only the destination).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use clap::Subcommand;
use telos_core::backup::Schedule;
use telos_core::{BackupList, BackupStatus, BackupSummary, BackupVerdict, Config, Telos};

use crate::commands::emit;
use crate::{Cli, Command};

#[derive(Subcommand, Debug)]
pub enum BackupCommand {
    /// Back the data dir up into DEST: incremental on the newest backup there, or full.
    Create {
        dest: PathBuf,
        /// The whole image, every file hashed again (an incremental holds the change since
        /// the newest backup).
        #[arg(long)]
        full: bool,
    },
    /// The backups in DEST, oldest first, and any that were cut short.
    Ls { dest: PathBuf },
    /// Check a backup (the newest by default): every file's SHA-256, then a restore into a
    /// scratch dir, opened, with the doctor's invariants, counts and a canary recall.
    Verify { dest: PathBuf, id: Option<String> },
    /// Have the backup manager back up into DEST on a schedule (the app runs it; the first
    /// backup is due at once).
    Schedule {
        dest: PathBuf,
        /// Hours between two backups.
        #[arg(long, default_value_t = 6.0)]
        every_hours: f64,
        /// Days between two full backups.
        #[arg(long, default_value_t = 7.0)]
        full_every_days: f64,
        /// Backups kept (older ones, and the files only they hold, are deleted).
        #[arg(long, default_value_t = 28)]
        keep: usize,
    },
    /// The backup manager: its schedule, the last and the next backup, any failure.
    Status,
    /// Restore a backup as a new data dir (never over one that exists and is not empty).
    Restore {
        dest: PathBuf,
        id: String,
        #[arg(long, value_name = "DIR")]
        into: PathBuf,
    },
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("{} cannot be made absolute", path.display()))
}

/// A backup command that needs the data dir, checked, its paths absolute (the app that
/// carries it out may run elsewhere).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) enum BackupWork {
    Create(PathBuf, bool),
    Schedule(Schedule),
    Status,
}

impl BackupWork {
    pub(crate) fn parse(command: BackupCommand) -> Result<Self> {
        Ok(match command {
            BackupCommand::Create { dest, full } => BackupWork::Create(absolute(&dest)?, full),
            BackupCommand::Schedule {
                dest,
                every_hours,
                full_every_days,
                keep,
            } => {
                let schedule = Schedule {
                    dest: absolute(&dest)?.to_string_lossy().into_owned(),
                    every_hours,
                    full_every_days,
                    keep,
                };
                schedule.check()?;
                BackupWork::Schedule(schedule)
            }
            BackupCommand::Status => BackupWork::Status,
            other => {
                return Err(anyhow!(
                    "backup {other:?} is carried out without the data dir"
                ));
            }
        })
    }
}

/// Runs a backup command on the Telos holding the data dir.
pub(crate) async fn run(telos: &Telos, work: BackupWork, json: bool) -> Result<()> {
    match work {
        BackupWork::Create(dest, full) => {
            let made = telos
                .backup_create(&dest, full, &|line| errln!("{line}"))
                .await?;
            emit(json, &serde_json::to_value(&made)?, || summary(&made))
        }
        BackupWork::Schedule(schedule) => {
            let status = telos.backup_schedule(schedule).await?;
            emit(json, &serde_json::to_value(&status)?, || {
                status_text(&status)
            })
        }
        BackupWork::Status => {
            let status = telos.backup_status();
            emit(json, &serde_json::to_value(&status)?, || {
                status_text(&status)
            })
        }
    }
}

/// Runs `cli` if it is a backup command that needs no data dir (`None` then), else hands it
/// back.
pub async fn offline(cli: Cli) -> Result<Option<Cli>> {
    let Command::Backup(command) = &cli.command else {
        return Ok(Some(cli));
    };
    let json = cli.json;
    match command {
        BackupCommand::Create { .. } | BackupCommand::Schedule { .. } | BackupCommand::Status => {
            Ok(Some(cli))
        }
        BackupCommand::Ls { dest } => {
            let list = telos_core::backup_list(&absolute(dest)?)?;
            emit(json, &serde_json::to_value(&list)?, || listing(&list))?;
            Ok(None)
        }
        BackupCommand::Verify { dest, id } => {
            let template = Config::resolve(cli.data_dir.as_deref(), cli.endpoint.as_deref())?;
            let verdict =
                telos_core::backup_verify(&template, &absolute(dest)?, id.as_deref(), &|line| {
                    errln!("{line}")
                })
                .await?;
            emit(json, &serde_json::to_value(&verdict)?, || {
                verdict_text(&verdict)
            })?;
            if verdict.ok {
                Ok(None)
            } else {
                Err(anyhow!("backup {} failed verification", verdict.id))
            }
        }
        BackupCommand::Restore { dest, id, into } => {
            let into = absolute(into)?;
            let done = telos_core::backup_restore(&absolute(dest)?, id, &into).await?;
            emit(json, &serde_json::to_value(&done)?, || {
                format!(
                    "restored backup {} ({} objects, {} chunks, cut after cycle {}) into {}\n\
                     open it with: telos --data-dir {} obj ls",
                    done.id,
                    done.objects,
                    done.chunks,
                    done.cycle.as_deref().unwrap_or("none"),
                    into.display(),
                    into.display()
                )
            })?;
            Ok(None)
        }
    }
}

fn when(ms: i64) -> String {
    let now = telos_core::image::now_ms();
    let mins = (ms - now) as f64 / 60_000.0;
    match mins {
        m if m.abs() < 1.0 => "now".into(),
        m if m > 0.0 && m < 120.0 => format!("in {m:.0} min"),
        m if m > 0.0 => format!("in {:.1} h", m / 60.0),
        m if m > -120.0 => format!("{:.0} min ago", -m),
        m => format!("{:.1} h ago", -m / 60.0),
    }
}

fn status_text(s: &BackupStatus) -> String {
    let Some(dest) = &s.dest else {
        return "no backups scheduled (telos backup schedule DEST)".into();
    };
    let mut out = format!(
        "backups into {dest}: every {} h, a full one every {} days, {} kept\n",
        s.every_hours, s.full_every_days, s.keep
    );
    match &s.last {
        Some(b) => {
            let _ = writeln!(out, "last: {} ({})", summary(b), when(b.created));
        }
        None => out.push_str("last: none yet\n"),
    }
    if let Some(stage) = &s.running {
        let _ = writeln!(out, "running: {stage}");
    }
    if let (Some(at), Some(kind)) = (s.next_at, &s.next_kind) {
        let _ = writeln!(out, "next: {kind}, {}", when(at));
    }
    if let Some(e) = &s.error {
        let _ = writeln!(
            out,
            "FAILED {}: {e}",
            s.error_at.map(when).unwrap_or_default()
        );
    }
    out.trim_end().to_owned()
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

fn summary(b: &BackupSummary) -> String {
    format!(
        "{} backup {}: {} objects, {} cycle records, {} chunks, {} files; {} stored of {} ({:.2} s)",
        b.kind,
        b.id,
        b.objects,
        b.cycles,
        b.chunks,
        b.files,
        bytes(b.stored_bytes),
        bytes(b.total_bytes),
        b.seconds
    )
}

fn listing(list: &BackupList) -> String {
    let mut out = String::new();
    if list.backups.is_empty() {
        let _ = writeln!(out, "no complete backup in {}", list.dest);
    }
    for b in &list.backups {
        let _ = writeln!(
            out,
            "{}  {:<11}  cycle {}  {} objects  {} stored of {}",
            b.id,
            b.kind,
            b.cycle.as_deref().unwrap_or("none"),
            b.objects,
            bytes(b.stored_bytes),
            bytes(b.total_bytes)
        );
    }
    for p in &list.partial {
        let _ = writeln!(out, "{p}  incomplete (cut short; ignored)");
    }
    out.trim_end().to_owned()
}

fn verdict_text(v: &BackupVerdict) -> String {
    let mut out = format!(
        "backup {}: {}\n",
        v.id,
        if v.ok { "verified" } else { "FAILED" }
    );
    for bad in &v.bad_files {
        let _ = writeln!(out, "  bad file: {bad}");
    }
    for c in &v.checks {
        let _ = writeln!(
            out,
            "  {} {}: {}",
            if c.ok { "ok  " } else { "FAIL" },
            c.what,
            c.detail
        );
    }
    out.trim_end().to_owned()
}

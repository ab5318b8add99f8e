//! When backups are due, and which are kept: the backup manager's schedule (an incremental
//! every few hours, a full one every few days) and retention (the newest backups kept, the
//! blobs no kept backup names deleted).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::manifest::Kind;
use crate::repo::Repo;

const HOUR_MS: f64 = 3_600_000.0;

/// What the backup manager is told to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// The destination (absolute).
    pub dest: String,
    /// Hours between two backups (an incremental, unless a full one is due).
    pub every_hours: f64,
    /// Days between two full backups.
    pub full_every_days: f64,
    /// Backups kept; older ones (and the files only they name) are deleted.
    pub keep: usize,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            dest: String::new(),
            every_hours: 6.0,
            full_every_days: 7.0,
            keep: 28,
        }
    }
}

impl Schedule {
    /// Refuses a schedule that could not run: an empty or relative destination, times that
    /// are not positive, nothing kept.
    pub fn check(&self) -> Result<()> {
        let bad = |why: String| Err(Error::Bad(why));
        if self.dest.is_empty() || !std::path::Path::new(&self.dest).is_absolute() {
            return bad(format!(
                "backup destination '{}' is not an absolute path",
                self.dest
            ));
        }
        if !(self.every_hours.is_finite() && self.every_hours > 0.0) {
            return bad(format!(
                "--every-hours {}: give a number of hours above 0",
                self.every_hours
            ));
        }
        if !(self.full_every_days.is_finite() && self.full_every_days > 0.0) {
            return bad(format!(
                "--full-every-days {}: give a number of days above 0",
                self.full_every_days
            ));
        }
        if self.keep == 0 {
            return bad("--keep 0: keep at least one backup".into());
        }
        Ok(())
    }

    /// The next backup after the last one (`None`: never backed up) and the last full one:
    /// when it is due and of which kind. A destination never backed up is due at once.
    pub fn next(&self, last: Option<i64>, last_full: Option<i64>) -> (i64, Kind) {
        let Some(last) = last else {
            return (0, Kind::Full);
        };
        let at = last + (self.every_hours * HOUR_MS) as i64;
        let full_due = last_full.map_or(0, |f| f + (self.full_every_days * 24.0 * HOUR_MS) as i64);
        let kind = if full_due <= at {
            Kind::Full
        } else {
            Kind::Incremental
        };
        (at, kind)
    }
}

/// What retention did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pruned {
    pub backups: Vec<String>,
    pub blobs: usize,
    pub bytes: u64,
}

/// Keeps the newest `keep` complete backups of `repo`, deletes the older manifests, then the
/// blobs no kept manifest names. While another backup runs (its marker names a live
/// process) no blob is deleted, so it loses nothing; the markers and temporary files of
/// backups cut short go with the blobs.
pub fn prune(repo: &Repo, keep: usize) -> Result<Pruned> {
    let listing = repo.list()?;
    let mut pruned = Pruned::default();
    let cut = listing.backups.len().saturating_sub(keep.max(1));
    for m in &listing.backups[..cut] {
        repo.forget(&m.id)?;
        pruned.backups.push(m.id.clone());
    }
    if !listing.running.is_empty() {
        return Ok(pruned);
    }
    repo.clear_leftovers(&listing.partial)?;
    let named: HashSet<String> = listing.backups[cut..]
        .iter()
        .flat_map(|m| m.blobs().into_iter().map(|(_, b)| b.sha256.clone()))
        .collect();
    for (sha, size) in repo.blob_names()? {
        if !named.contains(&sha) {
            repo.delete_blob(&sha)?;
            pruned.blobs += 1;
            pruned.bytes += size;
        }
    }
    Ok(pruned)
}

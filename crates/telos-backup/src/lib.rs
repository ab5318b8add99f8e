//! Backups of a Telos data dir, after ZODB's repozo: full and incremental, cut at a cycle
//! boundary while Telos runs, every file stored once by its SHA-256 under a manifest per
//! backup; `verify` re-hashes every file a backup needs (the caller then opens a restored copy
//! and checks it), `restore` brings one back as a new data dir.

mod create;
mod error;
mod image;
mod manifest;
mod repo;
mod restore;
mod schedule;

pub use create::{LEFT_OUT, Probe, ProbeFuture, Progress, Source, create};
pub use error::{Error, Result};
pub use image::{Delta, State};
pub use manifest::{Blob, Canary, Counts, FORMAT, FileEntry, Kind, Manifest};
pub use repo::{Listing, Repo};
pub use restore::{Restored, image_of, restore};
pub use schedule::{Pruned, Schedule, prune};

/// Re-hashes every blob backup `id` needs; each bad one is named with what it holds.
pub fn check_blobs(repo: &Repo, manifest: &Manifest) -> Vec<String> {
    manifest
        .blobs()
        .into_iter()
        .filter_map(|(what, blob)| repo.check(blob).map(|why| format!("{what}: {why}")))
        .collect()
}

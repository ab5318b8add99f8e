//! Bringing a backup back as a new data dir: its files copied out (each checked against its
//! SHA-256), the image's dump and changes replayed into a new store in one transaction, and
//! memory's tables returned to the version tagged at the cut. Everything is written beside
//! the target and renamed into place at the end, so a restore that fails leaves nothing.

use std::path::{Path, PathBuf};

use telos_image::{Dump, Endpoint, Image, StoreOptions};

use crate::create::decode;
use crate::error::{Error, Result};
use crate::image::{Delta, replay};
use crate::manifest::Manifest;
use crate::repo::Repo;

/// A backup restored: where, and what it holds.
#[derive(Debug, Clone)]
pub struct Restored {
    pub manifest: Manifest,
    pub data_dir: PathBuf,
    pub objects: usize,
}

/// The image a backup holds, its full dump and changes replayed.
pub fn image_of(repo: &Repo, manifest: &Manifest) -> Result<Dump> {
    let Some((first, rest)) = manifest.image.split_first() else {
        return Err(Error::Bad(format!("backup {} holds no image", manifest.id)));
    };
    let dump: Dump = decode(&repo.read(first, "the image dump")?, "image dump")?;
    let deltas = rest
        .iter()
        .enumerate()
        .map(|(i, b)| {
            decode::<Delta>(
                &repo.read(b, &format!("image changes #{}", i + 1))?,
                "image changes",
            )
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(replay(dump, deltas))
}

/// Restores backup `id` of `dest` into `into`, which must not exist or be empty.
pub async fn restore(dest: &Path, id: &str, into: &Path) -> Result<Restored> {
    let repo = Repo::open(dest, false)?;
    let manifest = repo.manifest(id)?;
    if into.exists() {
        let mut entries = std::fs::read_dir(into).map_err(|e| Error::io(into, e))?;
        if entries.next().is_some() {
            return Err(Error::NotEmpty { path: into.into() });
        }
    }
    let name = into
        .file_name()
        .map_or("restore".into(), |n| n.to_string_lossy().into_owned());
    let work = into.with_file_name(format!(".{name}.restoring-{}", manifest.id));
    if work.exists() {
        std::fs::remove_dir_all(&work).map_err(|e| Error::io(&work, e))?;
    }
    let done = fill(&repo, &manifest, &work).await;
    if let Err(e) = done {
        let _ = std::fs::remove_dir_all(&work);
        return Err(e);
    }
    if into.exists() {
        std::fs::remove_dir(into).map_err(|e| Error::io(into, e))?;
    }
    std::fs::rename(&work, into).map_err(|e| Error::io(into, e))?;
    Ok(Restored {
        objects: manifest.counts.objects,
        manifest,
        data_dir: into.into(),
    })
}

async fn fill(repo: &Repo, manifest: &Manifest, work: &Path) -> Result<()> {
    std::fs::create_dir_all(work).map_err(|e| Error::io(work, e))?;
    for f in &manifest.files {
        if f.path
            .split('/')
            .any(|part| part == ".." || part.is_empty())
        {
            return Err(Error::Bad(format!(
                "backup {} names a file outside the data dir: {}",
                manifest.id, f.path
            )));
        }
        repo.copy_out(&f.blob, &work.join(&f.path), &f.path)?;
    }
    let dump = image_of(repo, manifest)?;
    let endpoint = Endpoint::SurrealKv {
        path: work.join("image"),
    };
    let image = Image::restore(&endpoint, &StoreOptions::default(), &dump).await?;
    image.shutdown().await?;
    let memory = work.join("memory");
    if memory.exists() {
        telos_memory::snapshot::restore_tagged(&memory, &manifest.memory_tag).await?;
    }
    Ok(())
}

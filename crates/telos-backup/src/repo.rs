//! A backup destination: `blobs/AB/SHA256` holds every file once, by content; `backups/ID.json`
//! is one backup's manifest, written last (to a temporary name, synced, renamed), so a backup
//! cut short leaves only blobs and its `ID.partial` marker: it is listed as incomplete and
//! never used.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::manifest::{Blob, Manifest};

const BLOBS: &str = "blobs";
const BACKUPS: &str = "backups";
const MANIFEST: &str = ".json";
const PARTIAL: &str = ".partial";

/// One backup destination.
#[derive(Debug, Clone)]
pub struct Repo {
    root: PathBuf,
}

/// What `ls` finds in a destination.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Complete backups, oldest first.
    pub backups: Vec<Manifest>,
    /// Backups begun and never finished (cut short): ignored.
    pub partial: Vec<String>,
    /// Of those, the ones whose process still runs (a backup under way, not one cut short).
    pub running: Vec<String>,
}

impl Repo {
    /// The destination at `root`, made if `create` (a missing one is otherwise an error).
    pub fn open(root: &Path, create: bool) -> Result<Self> {
        if create {
            for dir in [BLOBS, BACKUPS] {
                std::fs::create_dir_all(root.join(dir)).map_err(|e| Error::io(root, e))?;
            }
        } else if !root.join(BACKUPS).is_dir() {
            return Err(Error::NoBackup { dest: root.into() });
        }
        Ok(Self { root: root.into() })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn blob_path(&self, sha256: &str) -> PathBuf {
        let (head, _) = sha256.split_at(2.min(sha256.len()));
        self.root.join(BLOBS).join(head).join(sha256)
    }

    /// Stores `bytes` (once: a blob already there is kept). Returns the blob and whether it
    /// was new.
    pub(crate) fn put_bytes(&self, bytes: &[u8]) -> Result<(Blob, bool)> {
        self.put_reader(&mut &bytes[..], Path::new("(generated)"))
    }

    /// Stores the file at `path`, hashing it as it is copied.
    pub(crate) fn put_file(&self, path: &Path) -> Result<(Blob, bool)> {
        let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
        self.put_reader(&mut f, path)
    }

    fn put_reader(&self, from: &mut dyn Read, what: &Path) -> Result<(Blob, bool)> {
        // Written into an unnamed file of the blobs folder (`O_TMPFILE`) and named once whole
        // and hashed: no temporary name to make and remove for each of a data dir's hundreds
        // of small files. A file system without unnamed files gets a temporary name instead.
        let unnamed = unnamed_file(&self.root.join(BLOBS)).ok();
        self.put_through(from, what, unnamed)
    }

    /// [`Repo::put_reader`] through `unnamed`, or a temporary name when there is none.
    fn put_through(
        &self,
        from: &mut dyn Read,
        what: &Path,
        unnamed: Option<File>,
    ) -> Result<(Blob, bool)> {
        let dir = self.root.join(BLOBS);
        let (mut out, tmp) = match unnamed {
            Some(f) => (f, None),
            None => {
                let tmp = dir.join(format!(".incoming-{}", ulid::Ulid::new()));
                (
                    File::create(&tmp).map_err(|e| Error::io(&tmp, e))?,
                    Some(tmp),
                )
            }
        };
        let written = tmp.as_deref().unwrap_or(&dir);
        let (sha256, size) = hash_through(from, Some(&mut out)).map_err(|side| match side {
            Side::Read(e) => Error::io(what, e),
            Side::Write(e) => Error::io(written, e),
        })?;
        let blob = Blob { sha256, size };
        let at = self.blob_path(&blob.sha256);
        // Not synced one by one: `finish` syncs the whole file system once before the
        // manifest that names the blobs lands. Linked, not renamed, into place: of two
        // copiers storing the same content at once, one finds the blob there and says so.
        let parent = at.parent().unwrap_or(&dir);
        let link = || match &tmp {
            Some(tmp) => std::fs::hard_link(tmp, &at),
            None => link_unnamed(&out, &at),
        };
        let mut linked = link();
        if linked
            .as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            linked = link();
        }
        let stored = match linked {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists || at.exists() => false,
            // A file system without hard links (FAT, exFAT, some network mounts): the
            // temporary name is renamed.
            Err(e) => match &tmp {
                Some(tmp) => {
                    std::fs::rename(tmp, &at).map_err(|e| Error::io(&at, e))?;
                    return Ok((blob, true));
                }
                // An unnamed file that cannot be named (a mount where linking through /proc
                // fails): its bytes are read back and stored under a temporary name.
                None => {
                    tracing::debug!(
                        "naming an unnamed blob failed ({e}); a temporary name instead"
                    );
                    out.seek(std::io::SeekFrom::Start(0))
                        .map_err(|e| Error::io(&dir, e))?;
                    return self.put_through(&mut out, what, None);
                }
            },
        };
        if let Some(tmp) = tmp {
            let _ = std::fs::remove_file(&tmp);
        }
        Ok((blob, stored))
    }

    /// Whether the blob is there with its size (its content is checked by [`Repo::check`]).
    pub(crate) fn has(&self, blob: &Blob) -> bool {
        std::fs::metadata(self.blob_path(&blob.sha256)).is_ok_and(|m| m.len() == blob.size)
    }

    /// Reads a blob whole, checking its SHA-256.
    pub(crate) fn read(&self, blob: &Blob, what: &str) -> Result<Vec<u8>> {
        let path = self.blob_path(&blob.sha256);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let got = hex(&Sha256::digest(&bytes));
        if got != blob.sha256 {
            return Err(Error::Bad(format!(
                "{what}: blob {} has SHA-256 {got}, not its name",
                path.display()
            )));
        }
        Ok(bytes)
    }

    /// Re-hashes a blob: `None` if it is whole, else what is wrong with it.
    pub fn check(&self, blob: &Blob) -> Option<String> {
        let path = self.blob_path(&blob.sha256);
        let mut f = match File::open(&path) {
            Ok(f) => f,
            Err(e) => return Some(format!("blob {} cannot be read: {e}", path.display())),
        };
        let (got, size) = match hash_through(&mut f, None) {
            Ok(hashed) => hashed,
            Err(Side::Read(e) | Side::Write(e)) => {
                return Some(format!("blob {} cannot be read: {e}", path.display()));
            }
        };
        if size != blob.size || got != blob.sha256 {
            return Some(format!(
                "blob {} holds {size} bytes with SHA-256 {got}; the manifest says {} bytes with {}",
                path.display(),
                blob.size,
                blob.sha256
            ));
        }
        None
    }

    /// Copies a blob out to `to`, checking its SHA-256 on the way.
    pub(crate) fn copy_out(&self, blob: &Blob, to: &Path, what: &str) -> Result<()> {
        let from = self.blob_path(&blob.sha256);
        let mut f = File::open(&from).map_err(|e| Error::io(&from, e))?;
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let mut out = File::create(to).map_err(|e| Error::io(to, e))?;
        let (got, _) = hash_through(&mut f, Some(&mut out)).map_err(|side| match side {
            Side::Read(e) => Error::io(&from, e),
            Side::Write(e) => Error::io(to, e),
        })?;
        if got != blob.sha256 {
            return Err(Error::Bad(format!(
                "{what}: blob {} has SHA-256 {got}, not its name",
                from.display()
            )));
        }
        Ok(())
    }

    /// Marks a backup as begun.
    pub(crate) fn begin(&self, id: &str) -> Result<()> {
        let path = self.root.join(BACKUPS).join(format!("{id}{PARTIAL}"));
        std::fs::write(&path, format!("{{\"pid\": {}}}\n", std::process::id()))
            .map_err(|e| Error::io(&path, e))
    }

    /// Writes a backup's manifest and clears its marker. Every blob is made durable first
    /// (one `syncfs` of the destination's file system), then the manifest is written to a
    /// temporary name, synced and renamed into place.
    pub(crate) fn finish(&self, manifest: &Manifest) -> Result<()> {
        sync_fs(&self.root)?;
        let dir = self.root.join(BACKUPS);
        let tmp = dir.join(format!(".{}.tmp", manifest.id));
        let at = dir.join(format!("{}{MANIFEST}", manifest.id));
        let text = serde_json::to_vec_pretty(manifest).map_err(|source| Error::Manifest {
            path: at.clone(),
            source,
        })?;
        let mut f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.write_all(&text).map_err(|e| Error::io(&tmp, e))?;
        f.sync_all().map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &at).map_err(|e| Error::io(&at, e))?;
        if let Ok(d) = File::open(&dir) {
            d.sync_all().map_err(|e| Error::io(&dir, e))?;
        }
        let marker = dir.join(format!("{}{PARTIAL}", manifest.id));
        std::fs::remove_file(&marker).map_err(|e| Error::io(&marker, e))
    }

    /// Every backup here: complete ones (oldest first) and the ones cut short.
    pub fn list(&self) -> Result<Listing> {
        let dir = self.root.join(BACKUPS);
        let mut listing = Listing::default();
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(PARTIAL) {
                listing.partial.push(id.to_owned());
            } else if let Some(id) = name.strip_suffix(MANIFEST)
                && !name.starts_with('.')
            {
                listing.backups.push(self.manifest(id)?);
            }
        }
        // A manifest that landed before its marker went is complete.
        let done: std::collections::HashSet<String> =
            listing.backups.iter().map(|m| m.id.clone()).collect();
        listing.partial.retain(|id| !done.contains(id));
        listing.partial.sort();
        listing.running = listing
            .partial
            .iter()
            .filter(|id| self.marker_alive(id))
            .cloned()
            .collect();
        listing.backups.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(listing)
    }

    /// Whether the process that began backup `id` still runs (its pid, written in the marker,
    /// names a live process).
    fn marker_alive(&self, id: &str) -> bool {
        let path = self.root.join(BACKUPS).join(format!("{id}{PARTIAL}"));
        let pid = std::fs::read(&path)
            .ok()
            .and_then(|t| serde_json::from_slice::<serde_json::Value>(&t).ok())
            .and_then(|v| v["pid"].as_u64());
        pid.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists())
    }

    /// Clears the marker of a backup that failed (its blobs stay until pruned).
    pub(crate) fn abandon(&self, id: &str) {
        let path = self.root.join(BACKUPS).join(format!("{id}{PARTIAL}"));
        if let Err(e) = std::fs::remove_file(&path) {
            tracing::warn!("{}: {e}", path.display());
        }
    }

    /// Deletes the marker of a backup cut short, and the temporary files of blobs being
    /// stored, once no backup runs.
    pub(crate) fn clear_leftovers(&self, cut_short: &[String]) -> Result<()> {
        for id in cut_short {
            let path = self.root.join(BACKUPS).join(format!("{id}{PARTIAL}"));
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
        let dir = self.root.join(BLOBS);
        for entry in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(".incoming-")
            {
                let path = entry.path();
                std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            }
        }
        Ok(())
    }

    /// Deletes one backup's manifest (its blobs stay until [`crate::prune`] finds them unnamed).
    pub(crate) fn forget(&self, id: &str) -> Result<()> {
        let path = self.root.join(BACKUPS).join(format!("{id}{MANIFEST}"));
        std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))
    }

    /// Every stored blob: its SHA-256 and size.
    pub(crate) fn blob_names(&self) -> Result<Vec<(String, u64)>> {
        let dir = self.root.join(BLOBS);
        let mut out = Vec::new();
        for fan in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let fan = fan.map_err(|e| Error::io(&dir, e))?.path();
            if !fan.is_dir() {
                continue;
            }
            for blob in std::fs::read_dir(&fan).map_err(|e| Error::io(&fan, e))? {
                let blob = blob.map_err(|e| Error::io(&fan, e))?;
                let size = blob
                    .metadata()
                    .map_err(|e| Error::io(blob.path(), e))?
                    .len();
                out.push((blob.file_name().to_string_lossy().into_owned(), size));
            }
        }
        Ok(out)
    }

    pub(crate) fn delete_blob(&self, sha256: &str) -> Result<()> {
        let path = self.blob_path(sha256);
        std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))
    }

    /// One backup's manifest.
    pub fn manifest(&self, id: &str) -> Result<Manifest> {
        let path = self.root.join(BACKUPS).join(format!("{id}{MANIFEST}"));
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::UnknownBackup {
                    id: id.into(),
                    dest: self.root.clone(),
                });
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        serde_json::from_slice(&text).map_err(|source| Error::Manifest { path, source })
    }
}

/// A file with no name in `dir`, to be named by [`link_unnamed`] (an unnamed file that is
/// never named goes when it is closed). Refused where `/proc` is not mounted, as naming one
/// goes through it.
fn unnamed_file(dir: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    static PROC: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if !*PROC.get_or_init(|| Path::new("/proc/self/fd").is_dir()) {
        return Err(std::io::Error::from(std::io::ErrorKind::Unsupported));
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o666)
        .custom_flags(libc::O_TMPFILE)
        .open(dir)
}

/// Names an unnamed file (`linkat` through its `/proc/self/fd` entry, as open(2) shows).
fn link_unnamed(file: &File, at: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let from = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))?;
    let to = CString::new(at.as_os_str().as_bytes())?;
    // SAFETY: both paths are NUL-terminated and live across the call; `file` keeps the
    // descriptor its /proc entry names open.
    let r = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Flushes every file of the file system `path` is on to its disk.
fn sync_fs(path: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    let dir = File::open(path).map_err(|e| Error::io(path, e))?;
    // SAFETY: `syncfs` only reads the descriptor, which `dir` keeps open for the call.
    if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
        return Err(Error::io(path, std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Which side of a copy failed.
enum Side {
    Read(std::io::Error),
    Write(std::io::Error),
}

/// Reads `from` to its end, writing each piece to `to` too when given: the SHA-256 (hex)
/// and size of what was read.
fn hash_through(
    from: &mut dyn Read,
    mut to: Option<&mut dyn Write>,
) -> std::result::Result<(String, u64), Side> {
    // One buffer per thread, not one per file: a data dir holds hundreds of small files.
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 256 << 10]);
    }
    BUF.with_borrow_mut(|buf| {
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        loop {
            let n = from.read(buf).map_err(Side::Read)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            if let Some(to) = to.as_mut() {
                to.write_all(&buf[..n]).map_err(Side::Write)?;
            }
            size += n as u64;
        }
        Ok((hex(&hasher.finalize()), size))
    })
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name under the blobs folder, sorted.
    fn names(repo: &Repo) -> Vec<String> {
        let mut out = Vec::new();
        for head in std::fs::read_dir(repo.root().join(BLOBS)).unwrap() {
            let head = head.unwrap().path();
            out.push(head.file_name().unwrap().to_string_lossy().into_owned());
            if head.is_dir() {
                for f in std::fs::read_dir(&head).unwrap() {
                    out.push(f.unwrap().file_name().to_string_lossy().into_owned());
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn a_blob_stored_unnamed_or_through_a_temporary_name_is_the_same_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::open(dir.path(), true).unwrap();
        let what = Path::new("test");
        let unnamed = || Some(unnamed_file(&repo.root().join(BLOBS)).expect("O_TMPFILE"));
        let (a, new_a) = repo
            .put_through(&mut &b"alpha"[..], what, unnamed())
            .unwrap();
        let (b, new_b) = repo.put_through(&mut &b"beta"[..], what, None).unwrap();
        assert!(new_a && new_b);
        // the same content again, each way: found there, not stored twice
        let (a2, again_a) = repo.put_through(&mut &b"alpha"[..], what, None).unwrap();
        let (b2, again_b) = repo
            .put_through(&mut &b"beta"[..], what, unnamed())
            .unwrap();
        assert_eq!(
            (a2, again_a, b2, again_b),
            (a.clone(), false, b.clone(), false)
        );
        assert_eq!(repo.read(&a, "alpha").unwrap(), b"alpha");
        assert_eq!(repo.read(&b, "beta").unwrap(), b"beta");
        let mut want = vec![
            a.sha256[..2].to_owned(),
            a.sha256.clone(),
            b.sha256[..2].to_owned(),
            b.sha256.clone(),
        ];
        want.sort();
        assert_eq!(names(&repo), want, "no temporary file is left");
        assert_eq!(
            std::fs::metadata(repo.blob_path(&a.sha256)).unwrap().len(),
            5
        );
    }
}

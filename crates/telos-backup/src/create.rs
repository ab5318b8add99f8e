//! Making a backup while Telos runs: the image is cut between two commits, memory's tables are
//! tagged at that cut and held from tidy-ups while their files are copied, and the manifest
//! lands last.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use telos_image::{Dump, Image};
use telos_memory::Memory;

use crate::error::{Error, Result};
use crate::image::{Delta, State};
use crate::manifest::{Blob, Canary, Counts, FORMAT, FileEntry, Kind, Manifest};
use crate::repo::Repo;

/// Entries of the data dir a backup leaves out: the image (dumped, not copied), the lock and
/// socket of the running app, models (fetched again) and training runs (made again).
pub const LEFT_OUT: [&str; 6] = [
    "image",
    "telos.lock",
    "telos.sock",
    "models",
    "training",
    "tmp",
];

/// How far a backup has come.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub stage: &'static str,
    pub done: u64,
    pub total: u64,
}

/// What a backup is made of, from the running Telos.
pub struct Source<'a> {
    pub data_dir: &'a Path,
    pub image: &'a Image,
    pub memory: &'a Memory,
    /// What memory says of itself: called at the cut (where it should count what the cut
    /// holds), and the future it returns (the recall) awaited while the files are copied.
    pub probe: Box<dyn FnOnce() -> ProbeFuture<'a> + Send + 'a>,
}

/// Memory's part of a backup, made while the files are copied.
pub type ProbeFuture<'a> = Pin<Box<dyn Future<Output = Result<Probe>> + Send + 'a>>;

/// What a backup learns from memory beside its files.
pub struct Probe {
    /// A recall to make again when verifying (none when memory is empty).
    pub canary: Option<Canary>,
    /// Chunks the image holds.
    pub chunks: usize,
}

/// Makes a backup in `dest`: incremental on the newest complete backup there unless `full`
/// (or there is none).
pub async fn create(
    dest: &Path,
    source: Source<'_>,
    full: bool,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<Manifest> {
    let started = Instant::now();
    let repo = Repo::open(dest, true)?;
    let parent = if full {
        None
    } else {
        repo.list()?.backups.pop()
    };
    let id = ulid::Ulid::new().to_string();
    repo.begin(&id)?;
    let made = fill(&repo, &id, parent, source, progress, started).await;
    if made.is_err() {
        repo.abandon(&id);
    }
    made
}

/// The image's part of a backup: the blobs of its chain (the parent's, then this backup's
/// dump or change), its state's blob, and the bytes newly stored.
struct ImagePart {
    chain: Vec<Blob>,
    state: Blob,
    stored: u64,
}

async fn fill(
    repo: &Repo,
    id: &str,
    parent: Option<Manifest>,
    source: Source<'_>,
    progress: &(dyn Fn(Progress) + Send + Sync),
    started: Instant,
) -> Result<Manifest> {
    progress(Progress {
        stage: "cutting the image",
        done: 0,
        total: 1,
    });
    let cut = source.image.cut().await?;
    let newest = cut.newest_cycle().await?;
    let probe = (source.probe)();
    let held = source
        .memory
        .hold_for_backup(newest.as_deref().unwrap_or("none"))
        .await?;
    // Three things at once, as none needs another: the image's records read, encoded and
    // stored (the store, then the CPU), the files copied (the file system), and memory's
    // probe (a recall). The first to fail ends the others (the copiers stop at their next
    // file).
    // Memory is held before them, not beside the dump: tagged as near the cut as it can
    // be, and a hold that fails (memory on object storage) leaves the cut unread, so
    // dropping it ends its snapshot.
    let image = {
        let repo = repo.clone();
        let parent = parent.as_ref().map(|p| (p.image.clone(), p.state.clone()));
        async move {
            let dump = cut.read().await?;
            if dump.cycle != newest {
                return Err(Error::Bad(format!(
                    "the image's cut ends at cycle {:?}, but its newest cycle was {newest:?}",
                    dump.cycle
                )));
            }
            let counts = (dump.cycle.clone(), dump.objects.len(), dump.cycles.len());
            let part = tokio::task::spawn_blocking(move || store_image(&repo, parent, &dump))
                .await
                .map_err(|e| Error::Bad(format!("storing the image stopped: {e}")))??;
            Ok::<_, Error>((part, counts))
        }
    };
    let known: HashMap<String, FileEntry> = parent
        .iter()
        .flat_map(|p| p.files.iter().cloned())
        .map(|f| (f.path.clone(), f))
        .collect();
    let files = copy_data_dir(repo, source.data_dir, known, progress);
    let ((image, (cut, objects, cycles)), (files, new_bytes), probe) =
        tokio::try_join!(image, files, probe)?;
    progress(Progress {
        stage: "syncing the destination",
        done: 0,
        total: 1,
    });
    let memory_versions = held.versions.clone();
    let memory_tag = held.tag.clone();
    drop(held);
    let total_bytes = image.chain.iter().map(|b| b.size).sum::<u64>()
        + image.state.size
        + files.iter().map(|f| f.blob.size).sum::<u64>();
    let manifest = Manifest {
        format: FORMAT,
        id: id.to_owned(),
        kind: if parent.is_some() {
            Kind::Incremental
        } else {
            Kind::Full
        },
        parent: parent.map(|p| p.id),
        created: telos_image::now_ms(),
        cycle: cut,
        telos: env!("CARGO_PKG_VERSION").into(),
        image: image.chain,
        state: image.state,
        files,
        memory_tag,
        memory_versions,
        counts: Counts {
            objects,
            cycles,
            chunks: probe.chunks,
        },
        canary: probe.canary,
        stored_bytes: image.stored + new_bytes,
        total_bytes,
        seconds: started.elapsed().as_secs_f64(),
    };
    repo.finish(&manifest)?;
    progress(Progress {
        stage: "done",
        done: 1,
        total: 1,
    });
    Ok(manifest)
}

/// Stores the image: a full backup's dump whole; an incremental's change since its parent
/// (`parent`: the parent's chain and state).
fn store_image(repo: &Repo, parent: Option<(Vec<Blob>, Blob)>, dump: &Dump) -> Result<ImagePart> {
    let mut stored = 0u64;
    let mut put = |bytes: Vec<u8>| -> Result<Blob> {
        let (blob, new) = repo.put_bytes(&bytes)?;
        if new {
            stored += blob.size;
        }
        Ok(blob)
    };
    let chain = match parent {
        Some((mut chain, state)) => {
            let before: State = decode(&repo.read(&state, "the parent's image state")?, "state")?;
            chain.push(put(encode(&Delta::between(&before, dump)?)?)?);
            chain
        }
        None => vec![put(encode(dump)?)?],
    };
    let state = put(encode(&State::of(dump)?)?)?;
    Ok(ImagePart {
        chain,
        state,
        stored,
    })
}

/// Copies the data dir's files (see [`walk`] and [`copy_files`]) off the async threads,
/// reporting how far it is in bytes.
async fn copy_data_dir(
    repo: &Repo,
    data_dir: &Path,
    known: HashMap<String, FileEntry>,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<(Vec<FileEntry>, u64)> {
    let repo = repo.clone();
    let data_dir = data_dir.to_path_buf();
    let dest = repo.root().to_path_buf();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, u64)>();
    // Dropped with this future (another part of the backup failed): the copiers stop.
    let stop = StopOnDrop(Arc::new(AtomicBool::new(false)));
    let stopped = stop.0.clone();
    let walked = tokio::task::spawn_blocking(move || {
        let mut found = Vec::new();
        walk(&data_dir, &data_dir, &dest, &mut found)?;
        copy_files(&repo, &data_dir, found, &known, &stopped, &|done, total| {
            // The receiver lives until the copy ends.
            let _ = tx.send((done, total));
        })
    });
    tokio::pin!(walked);
    loop {
        tokio::select! {
            // Every report is passed on before the copy's end (the sender goes with it).
            biased;
            Some((done, total)) = rx.recv() => progress(Progress {
                stage: "copying files",
                done,
                total,
            }),
            copied = &mut walked => {
                return copied.map_err(|e| Error::Bad(format!("the file copy stopped: {e}")))?;
            }
        }
    }
}

pub(crate) fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::Bad(format!("encoding the image: {e}")))
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::Bad(format!("the backup's {what}: {e}")))
}

/// Every file under `dir` a backup holds (see [`LEFT_OUT`]; a destination inside the data
/// dir is left out too).
fn walk(root: &Path, dir: &Path, dest: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let top = dir == root;
        if (top && LEFT_OUT.contains(&name.as_str())) || name.contains(".damaged-") || path == dest
        {
            continue;
        }
        let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
        if kind.is_dir() {
            walk(root, &path, dest, out)?;
        } else if kind.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// Sets its flag when dropped.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Files copied at once: a data dir is mostly small files (LanceDB's fragments, manifests and
/// transactions), so the copy waits on the file system's metadata more than on bytes.
const COPIERS: usize = 4;

/// Stores each file (one unchanged since the parent backup, by size and time, is not read
/// again), [`COPIERS`] at a time, and returns the entries with the bytes newly stored; `moved`
/// hears the bytes gone through after each file, of the total. Ends early once `stop` is set.
fn copy_files(
    repo: &Repo,
    root: &Path,
    found: Vec<PathBuf>,
    known: &HashMap<String, FileEntry>,
    stop: &AtomicBool,
    moved: &(dyn Fn(u64, u64) + Sync),
) -> Result<(Vec<FileEntry>, u64)> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, AtomicUsize};
    let sizes: Vec<u64> = found
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .collect();
    let total: u64 = sizes.iter().sum();
    moved(0, total);
    let (next, done, stored, failed) = (
        AtomicUsize::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicBool::new(false),
    );
    let entries = Mutex::new(Vec::with_capacity(found.len()));
    let first_error = Mutex::new(None);
    let work = || {
        while !failed.load(Ordering::Relaxed) {
            if stop.load(Ordering::Relaxed) {
                failed.store(true, Ordering::Relaxed);
                first_error
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert(Error::Bad("the file copy was stopped".into()));
                break;
            }
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(path) = found.get(i) else { break };
            match copy_one(repo, root, path, known) {
                Ok(Some((entry, new))) => {
                    if new {
                        stored.fetch_add(entry.blob.size, Ordering::Relaxed);
                    }
                    entries
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(entry);
                }
                Ok(None) => {}
                Err(e) => {
                    failed.store(true, Ordering::Relaxed);
                    first_error
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get_or_insert(e);
                }
            }
            moved(
                done.fetch_add(sizes[i], Ordering::Relaxed) + sizes[i],
                total,
            );
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..COPIERS.min(found.len()) {
            scope.spawn(work);
        }
        work();
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    moved(total, total);
    let mut entries = entries.into_inner().unwrap_or_else(|e| e.into_inner());
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((entries, stored.into_inner()))
}

/// Stores one file, or keeps its entry in the parent backup when its size and time are
/// unchanged; `None` for a file gone since the walk (a temporary file: nothing to keep).
/// Returns the entry and whether its blob is new.
fn copy_one(
    repo: &Repo,
    root: &Path,
    path: &Path,
    known: &HashMap<String, FileEntry>,
) -> Result<Option<(FileEntry, bool)>> {
    let rel = path
        .strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/");
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i128);
    if let Some(k) = known.get(&rel)
        && k.blob.size == meta.len()
        && k.mtime_ns == mtime_ns
        && repo.has(&k.blob)
    {
        return Ok(Some((k.clone(), false)));
    }
    let (blob, new) = match repo.put_file(path) {
        Ok(b) => b,
        // the file itself gone (not a folder of the destination, which is an error)
        Err(Error::Io { path: p, source })
            if p == path && source.kind() == std::io::ErrorKind::NotFound =>
        {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    Ok(Some((
        FileEntry {
            path: rel,
            blob,
            mtime_ns,
        },
        new,
    )))
}

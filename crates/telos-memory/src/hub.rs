//! Fetching the embedder's files from the Hugging Face hub when they are not installed: what
//! a user of the .deb gets on first use (a source checkout gets them from `scripts/setup`).
//! The files are those of one commit of the model's repository ([`REVISION`], never `main`).
//! Each file is streamed to `NAME.part` beside its final place, hashed on the way, and renamed
//! into place only when its SHA-256 is the one pinned in `weights.sha256`. A download that
//! breaks off keeps its `.part` and the next fetch resumes it (an HTTP range); a file larger
//! than [`MAX_FILE_BYTES`] is refused, and a hub that stops sending for the read timeout
//! (30 s) is given up on. Files already there are kept: loading checks them against the same
//! pins (once; they are 90 MB).
//!
//! `HF_ENDPOINT` points at another hub (a mirror); `TELOS_OFFLINE=1` or `HF_HUB_OFFLINE=1`
//! turns fetching off. [`downloading`] says what is being fetched, for progress shown while a
//! first ingest waits for the model.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::embed::{self, MODEL, weights_err};
use crate::error::Result;
use crate::read::hex;

/// The hub, unless `HF_ENDPOINT` names another.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";
/// The model's repository on the hub.
pub const REPO: &str = "sentence-transformers/all-MiniLM-L6-v2";
/// The repository's commit the files are fetched at (the pinned SHA-256s are its files').
pub const REVISION: &str = "c9745ed1d9f207416be6d2e6f8de32d1f16199bf";
/// No file of the model is larger (model.safetensors is 87 MiB).
pub const MAX_FILE_BYTES: u64 = 256 << 20;
/// How long the hub may send nothing before the download is given up on.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A file being fetched: how far it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub file: String,
    pub done_bytes: u64,
    /// From the hub's Content-Length, when it sends one.
    pub total_bytes: Option<u64>,
}

/// The download in flight. One per process: the files go to one cache folder, and a caller
/// that needs them waits for the one fetch (the embedder loads once).
static DOWNLOAD: Mutex<Option<Download>> = Mutex::new(None);

/// Held for a whole [`fetch`], so two callers never write the same `.part` file at once and
/// [`downloading`] speaks of one download.
static FETCHING: Mutex<()> = Mutex::new(());

/// The file being fetched now, if any.
pub fn downloading() -> Option<Download> {
    DOWNLOAD.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

fn set_downloading(download: Option<Download>) {
    *DOWNLOAD.lock().unwrap_or_else(|e| e.into_inner()) = download;
}

/// Clears [`DOWNLOAD`] however the fetch of one file ends.
struct Downloading;

impl Drop for Downloading {
    fn drop(&mut self) {
        set_downloading(None);
    }
}

/// Makes sure `names` (pinned files) are in `dir`, fetching what is missing from the hub
/// named by the environment, unless fetching is turned off.
pub fn ensure(dir: &Path, names: &[&str]) -> Result<()> {
    let flag = |name: &str| std::env::var(name).is_ok_and(|v| !matches!(v.trim(), "" | "0"));
    let missing = missing(dir, names)?;
    if missing.is_empty() {
        return Ok(());
    }
    if flag("TELOS_OFFLINE") || flag("HF_HUB_OFFLINE") {
        return Err(weights_err(
            dir,
            format!(
                "{} not installed and fetching is off (TELOS_OFFLINE / HF_HUB_OFFLINE): {}",
                missing.join(", "),
                how_to_add(dir)
            ),
        ));
    }
    let endpoint = std::env::var("HF_ENDPOINT")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
    fetch(dir, &missing, &endpoint)
}

/// The files among `names` that are not in `dir`.
fn missing<'a>(dir: &Path, names: &[&'a str]) -> Result<Vec<&'a str>> {
    let mut out = Vec::new();
    for &name in names {
        if embed::pin(name).is_none() {
            return Err(weights_err(
                dir,
                format!("weights.sha256 does not pin {name}"),
            ));
        }
        if !dir.join(name).is_file() {
            out.push(name);
        }
    }
    Ok(out)
}

/// Fetches `names` from `endpoint` into `dir`. Runs the requests on a thread of its own with
/// its own runtime, so it can be called from anywhere (it blocks the caller until done).
pub fn fetch(dir: &Path, names: &[&str], endpoint: &str) -> Result<()> {
    fetch_with(dir, names, endpoint, READ_TIMEOUT)
}

/// [`fetch`] giving up on a hub that sends nothing for `read_timeout`.
pub fn fetch_with(
    dir: &Path,
    names: &[&str],
    endpoint: &str,
    read_timeout: Duration,
) -> Result<()> {
    let _one_at_a_time = FETCHING.lock().unwrap_or_else(|e| e.into_inner());
    std::fs::create_dir_all(dir).map_err(|e| weights_err(dir, format!("creating it: {e}")))?;
    let (dir2, names2, endpoint2) = (
        dir.to_owned(),
        names.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
        endpoint.trim_end_matches('/').to_owned(),
    );
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| weights_err(&dir2, format!("runtime for the download: {e}")))?;
        runtime.block_on(async {
            let client = reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(15))
                .read_timeout(read_timeout)
                .build()
                .map_err(|e| weights_err(&dir2, format!("HTTP client: {e}")))?;
            for name in &names2 {
                fetch_one(&client, &dir2, name, &endpoint2).await?;
            }
            Ok(())
        })
    })
    .join()
    .map_err(|_| weights_err(dir, "the download thread panicked".into()))?
}

async fn fetch_one(client: &reqwest::Client, dir: &Path, name: &str, endpoint: &str) -> Result<()> {
    let url = format!("{endpoint}/{REPO}/resolve/{REVISION}/{name}");
    let fail = |why: String| {
        weights_err(
            dir,
            format!("fetching {name} from {url}: {why}; {}", how_to_add(dir)),
        )
    };
    let part = dir.join(format!("{name}.part"));
    // What an earlier, broken-off download left: hashed again, then asked for the rest.
    let mut hasher = Sha256::new();
    let mut got = match std::fs::read(&part) {
        Ok(bytes) if (bytes.len() as u64) < MAX_FILE_BYTES => {
            hasher.update(&bytes);
            bytes.len() as u64
        }
        _ => 0,
    };
    let mut request = client.get(&url);
    if got > 0 {
        request = request.header(reqwest::header::RANGE, format!("bytes={got}-"));
    }
    let mut response = request.send().await.map_err(|e| fail(root_cause(&e)))?;
    if got > 0 && response.status() == reqwest::StatusCode::RANGE_NOT_SATISFIABLE {
        // Nothing after what the part holds: it may be whole already.
        let sha = hex(&hasher.finalize());
        if Some(sha.as_str()) == embed::pin(name) {
            return std::fs::rename(&part, dir.join(name))
                .map_err(|e| fail(format!("{}: {e}", part.display())));
        }
        if let Err(e) = std::fs::remove_file(&part) {
            tracing::warn!("could not remove {}: {e}", part.display());
        }
        return Err(fail(format!(
            "the hub has nothing after byte {got}, and what was fetched is not the pinned file"
        )));
    }
    let resumed = got > 0 && response.status() == reqwest::StatusCode::PARTIAL_CONTENT;
    if !resumed {
        // Whole from the start (the hub ignored the range, or there was nothing to resume).
        hasher = Sha256::new();
        got = 0;
    }
    if !response.status().is_success() {
        return Err(fail(format!("the hub answered {}", response.status())));
    }
    let total = response.content_length().map(|rest| rest + got);
    if let Some(total) = total.filter(|t| *t > MAX_FILE_BYTES) {
        return Err(fail(format!(
            "it is {total} bytes, more than the {MAX_FILE_BYTES} any file of the model takes"
        )));
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(resumed)
        .truncate(!resumed)
        .open(&part)
        .map_err(|e| fail(format!("{}: {e}", part.display())))?;
    let mut logged = got;
    if resumed {
        tracing::info!("resuming {MODEL}'s {name} from {url} at {} MB", got >> 20);
    } else {
        tracing::info!("fetching {MODEL}'s {name} from {url}");
    }
    let progress = |done_bytes| {
        set_downloading(Some(Download {
            file: name.to_owned(),
            done_bytes,
            total_bytes: total,
        }))
    };
    let _clear = Downloading;
    progress(got);
    // A broken-off download keeps its part for the next fetch; a wrong or oversized file does
    // not.
    let mut keep_part = true;
    let result = async {
        while let Some(bytes) = response.chunk().await.map_err(|e| fail(root_cause(&e)))? {
            got += bytes.len() as u64;
            if got > MAX_FILE_BYTES {
                keep_part = false;
                return Err(fail(format!(
                    "it runs past {MAX_FILE_BYTES} bytes, more than any file of the model takes"
                )));
            }
            file.write_all(&bytes)
                .map_err(|e| fail(format!("{}: {e}", part.display())))?;
            hasher.update(&bytes);
            progress(got);
            if got - logged >= 16 << 20 {
                logged = got;
                tracing::info!(
                    "{name}: {} of {} MB",
                    got >> 20,
                    total.map_or("?".into(), |t| (t >> 20).to_string())
                );
            }
        }
        file.sync_all()
            .map_err(|e| fail(format!("{}: {e}", part.display())))?;
        let sha = hex(&hasher.finalize());
        let want = embed::pin(name).unwrap_or_default();
        if sha != want {
            keep_part = false;
            return Err(fail(format!("it has sha256 {sha}, expected {want}")));
        }
        std::fs::rename(&part, dir.join(name)).map_err(|e| fail(format!("{}: {e}", part.display())))
    }
    .await;
    if result.is_err()
        && !keep_part
        && let Err(e) = std::fs::remove_file(&part)
    {
        tracing::warn!("could not remove {}: {e}", part.display());
    }
    result
}

/// What to do when the files cannot be fetched, for a user of the .deb as for a source checkout.
fn how_to_add(dir: &Path) -> String {
    format!(
        "connect to the network and try again (or set HF_ENDPOINT to a mirror), or put {} from \
         https://huggingface.co/{REPO}/tree/{REVISION} into {} yourself (in a source checkout, \
         scripts/fetch-embedder does this); everything but memory works meanwhile",
        embed::WEIGHT_FILES.join(", "),
        dir.display()
    )
}

/// reqwest's own message only repeats the URL; the reason is at the end of the chain.
pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

//! Embedded models from the Hugging Face hub: `hf:OWNER/REPO/FILE.gguf`, optionally
//! `@REVISION` (a branch, tag or commit; `main` by default).
//!
//! A pull pins the revision to the commit the hub names (`X-Repo-Commit`), streams the file to
//! `FILE.gguf.COMMIT.part` (a broken pull resumes from there with a range request), checks the
//! whole file's SHA-256 against the one the hub gives for it (`X-Linked-Etag`, the LFS
//! object's id), and only then renames it into place and writes `FILE.gguf.pin` beside it: the
//! commit, the SHA-256 and the URL. A file without its pin is not a model. `HF_ENDPOINT` points
//! at another hub (a mirror); `HF_TOKEN` is sent when set.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use telos_scheduler::error::root_cause;
use telos_scheduler::{Error, Result};

use crate::catalog::HF;

/// The hub, unless `HF_ENDPOINT` names another.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// What a pull takes: a file the hub says is bigger than `max_bytes`, or bigger than the
/// models folder's free space, is refused before a byte is fetched (and one that sends more
/// than it said is cut off); a hub that sends nothing for `read_timeout` is given up on,
/// the bytes so far kept for the next pull to resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: u64,
    pub read_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 256 << 30,
            read_timeout: Duration::from_secs(60),
        }
    }
}

/// One file on the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubFile {
    pub owner: String,
    pub repo: String,
    /// The file's path in the repository (it may have folders).
    pub file: String,
    pub revision: Option<String>,
}

/// What a finished pull recorded beside the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    pub commit: String,
    pub sha256: String,
    pub url: String,
}

/// How far a pull is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    pub total: Option<u64>,
}

impl HubFile {
    /// Parses `hf:OWNER/REPO/FILE.gguf[@REVISION]`.
    pub fn parse(model: &str) -> std::result::Result<Self, String> {
        let spec = model
            .strip_prefix(HF)
            .ok_or_else(|| format!("{model:?} does not start with {HF}"))?;
        let (path, revision) = match spec.rsplit_once('@') {
            Some((p, r)) if !r.is_empty() && !r.contains('/') => (p, Some(r.to_string())),
            Some(_) => return Err(format!("{model:?}: a revision after @ is one word")),
            None => (spec, None),
        };
        let mut parts = path.splitn(3, '/');
        let (Some(owner), Some(repo), Some(file)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("{model:?} is not hf:OWNER/REPO/FILE.gguf"));
        };
        let clean = |s: &str| {
            !s.is_empty()
                && s.split('/').all(|p| !p.is_empty() && p != "." && p != "..")
                && !s.contains('\\')
        };
        if !clean(owner) || !clean(repo) || !clean(file) || !file.ends_with(".gguf") {
            return Err(format!("{model:?} is not hf:OWNER/REPO/FILE.gguf"));
        }
        Ok(Self {
            owner: owner.into(),
            repo: repo.into(),
            file: file.into(),
            revision,
        })
    }

    /// The model's name without a revision: what `telos models ls` shows.
    pub fn name(&self) -> String {
        format!("{HF}{}/{}/{}", self.owner, self.repo, self.file)
    }

    /// Where the file lives under the models folder.
    pub fn path_in(&self, dir: &Path) -> PathBuf {
        dir.join("hf")
            .join(&self.owner)
            .join(&self.repo)
            .join(&self.file)
    }

    fn pin_path(&self, dir: &Path) -> PathBuf {
        with_suffix(&self.path_in(dir), ".pin")
    }

    /// The pin a finished pull wrote, if any.
    pub fn pin(&self, dir: &Path) -> Option<Pin> {
        let text = std::fs::read_to_string(self.pin_path(dir)).ok()?;
        serde_json::from_str(&text).ok()
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Every hub file a pull finished under `dir` (its pin written).
pub fn fetched(dir: &Path) -> Vec<HubFile> {
    let root = dir.join("hf");
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(at) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&at) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let Some(rel) = path.strip_prefix(&root).ok().and_then(|r| r.to_str()) else {
                continue;
            };
            if let Some(file) = rel.strip_suffix(".gguf.pin")
                && let Ok(f) = HubFile::parse(&format!("{HF}{file}.gguf"))
                && f.path_in(dir).is_file()
            {
                out.push(f);
            }
        }
    }
    out.sort_by_key(HubFile::name);
    out
}

fn endpoint() -> String {
    std::env::var("HF_ENDPOINT")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string())
        .trim_end_matches('/')
        .to_string()
}

/// Fetches `model` (`hf:…`) into `dir` from the hub `HF_ENDPOINT` names (else the Hugging
/// Face hub), unless a pull of it already finished, calling `progress` as bytes arrive.
/// Returns where the file is and its pin.
pub async fn pull(
    dir: &Path,
    model: &str,
    progress: impl FnMut(Progress) + Send,
) -> Result<(PathBuf, Pin)> {
    pull_from(&endpoint(), dir, model, progress).await
}

/// [`pull`] from the hub at `base` (`https://huggingface.co` or a mirror).
pub async fn pull_from(
    base: &str,
    dir: &Path,
    model: &str,
    progress: impl FnMut(Progress) + Send,
) -> Result<(PathBuf, Pin)> {
    pull_limited(base, dir, model, Limits::default(), progress).await
}

/// [`pull_from`] within `limits`.
pub async fn pull_limited(
    base: &str,
    dir: &Path,
    model: &str,
    limits: Limits,
    mut progress: impl FnMut(Progress) + Send,
) -> Result<(PathBuf, Pin)> {
    let spec = HubFile::parse(model).map_err(|reason| Error::Embedded {
        model: model.to_string(),
        message: reason,
    })?;
    let target = spec.path_in(dir);
    if let Some(pin) = spec.pin(dir)
        && target.is_file()
        && spec.revision.as_ref().is_none_or(|r| *r == pin.commit)
    {
        return Ok((target, pin));
    }
    let base = base.trim_end_matches('/');
    let revision = spec.revision.clone().unwrap_or_else(|| "main".into());
    let url = |rev: &str| {
        format!(
            "{base}/{}/{}/resolve/{rev}/{}",
            spec.owner, spec.repo, spec.file
        )
    };
    let fail = |why: String| Error::Embedded {
        model: model.to_string(),
        message: format!("pulling {}: {why}", url(&revision)),
    };
    let token = std::env::var("HF_TOKEN").ok().filter(|t| !t.is_empty());
    let authed = |r: reqwest::RequestBuilder| match &token {
        Some(t) => r.bearer_auth(t),
        None => r,
    };
    // The headers that pin the file are on the hub's own answer, not on the CDN it redirects
    // to: ask without following.
    let head_client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(15))
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let head = authed(head_client.head(url(&revision)))
        .send()
        .await
        .map_err(|e| fail(root_cause(&e)))?;
    if !(head.status().is_success() || head.status().is_redirection()) {
        return Err(fail(format!("the hub answered {}", head.status())));
    }
    let header = |name: &str| {
        head.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim_matches('"').to_string())
    };
    let commit = header("x-repo-commit").ok_or_else(|| {
        fail("the hub did not say which commit this is (no X-Repo-Commit)".into())
    })?;
    let want_sha = header("x-linked-etag")
        .filter(|e| e.len() == 64 && e.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| {
            fail("the hub gave no SHA-256 for the file (no X-Linked-Etag): only LFS files can be pinned".into())
        })?;
    let total = header("x-linked-size").and_then(|s| s.parse::<u64>().ok());

    std::fs::create_dir_all(target.parent().unwrap_or(dir)).map_err(|e| fail(e.to_string()))?;
    let part = with_suffix(&target, &format!(".{commit}.part"));
    let have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    if let Some(total) = total {
        if total > limits.max_bytes {
            return Err(fail(format!(
                "the file is {}, more than the {} a pull takes",
                gb(total),
                gb(limits.max_bytes)
            )));
        }
        let free = free_bytes(target.parent().unwrap_or(dir));
        if let Some(free) = free.filter(|f| *f < total.saturating_sub(have)) {
            return Err(fail(format!(
                "the file needs {} more and {} has {} free",
                gb(total.saturating_sub(have)),
                target.parent().unwrap_or(dir).display(),
                gb(free)
            )));
        }
    }
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(15))
        .read_timeout(limits.read_timeout)
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let mut request = authed(client.get(url(&commit)));
    if have > 0 {
        request = request.header(reqwest::header::RANGE, format!("bytes={have}-"));
    }
    let mut response = request.send().await.map_err(|e| fail(root_cause(&e)))?;
    let resumed = response.status() == reqwest::StatusCode::PARTIAL_CONTENT;
    if !(response.status().is_success()) {
        return Err(fail(format!("the hub answered {}", response.status())));
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(resumed)
        .write(true)
        .truncate(!resumed)
        .open(&part)
        .map_err(|e| fail(format!("{}: {e}", part.display())))?;
    let mut done = if resumed { have } else { 0 };
    let total = total.or_else(|| response.content_length().map(|n| n + done));
    progress(Progress { done, total });
    while let Some(bytes) = response.chunk().await.map_err(|e| {
        fail(format!(
            "{} (the {} bytes so far are kept in {}; pull again to resume)",
            root_cause(&e),
            done,
            part.display()
        ))
    })? {
        done += bytes.len() as u64;
        let most = total.unwrap_or(limits.max_bytes).min(limits.max_bytes);
        if done > most {
            drop(file);
            let _ = std::fs::remove_file(&part);
            return Err(fail(format!(
                "the hub sent more than the {most} bytes the file may have: stopped, and \
                 what came removed"
            )));
        }
        file.write_all(&bytes)
            .map_err(|e| fail(format!("{}: {e}", part.display())))?;
        progress(Progress { done, total });
    }
    file.sync_all()
        .map_err(|e| fail(format!("{}: {e}", part.display())))?;
    drop(file);
    let sha = sha256_file(&part).map_err(|e| fail(format!("{}: {e}", part.display())))?;
    if sha != want_sha {
        std::fs::remove_file(&part).map_err(|e| fail(format!("{}: {e}", part.display())))?;
        return Err(fail(format!(
            "the file has SHA-256 {sha}, the hub says {want_sha}: removed, pull again"
        )));
    }
    std::fs::rename(&part, &target).map_err(|e| fail(format!("{}: {e}", part.display())))?;
    let pin = Pin {
        commit,
        sha256: sha,
        url: url(&revision),
    };
    let json = serde_json::to_string_pretty(&pin).map_err(|e| fail(e.to_string()))?;
    std::fs::write(spec.pin_path(dir), json).map_err(|e| fail(e.to_string()))?;
    Ok((target, pin))
}

/// `n` bytes in GiB, or MiB below one GiB, with one decimal.
fn gb(n: u64) -> String {
    if n >= 1 << 30 {
        format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64)
    } else {
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    }
}

/// The bytes free for an unprivileged user on the filesystem holding `dir`.
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: statvfs fills the struct it is given from a NUL-terminated path.
    (unsafe { libc::statvfs(c.as_ptr(), &mut st) } == 0)
        .then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

/// The SHA-256 of a file, as lowercase hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_names_parse_with_an_optional_revision() {
        let f =
            HubFile::parse("hf:bartowski/SmolLM2-GGUF/SmolLM2-360M-Q4_K_M.gguf@abc123").unwrap();
        assert_eq!(f.owner, "bartowski");
        assert_eq!(f.repo, "SmolLM2-GGUF");
        assert_eq!(f.file, "SmolLM2-360M-Q4_K_M.gguf");
        assert_eq!(f.revision.as_deref(), Some("abc123"));
        assert_eq!(
            f.name(),
            "hf:bartowski/SmolLM2-GGUF/SmolLM2-360M-Q4_K_M.gguf"
        );
        let nested = HubFile::parse("hf:o/r/sub/dir/m.gguf").unwrap();
        assert_eq!(nested.file, "sub/dir/m.gguf");
        assert_eq!(nested.revision, None);
        for bad in [
            "hf:o/r",
            "hf:o/r/m.bin",
            "hf:o/../m.gguf",
            "hf:o/r/../../m.gguf",
            "hf:o//m.gguf",
            "hf:o/r/m.gguf@",
            "gguf:x",
        ] {
            assert!(HubFile::parse(bad).is_err(), "{bad} parsed");
        }
    }
}

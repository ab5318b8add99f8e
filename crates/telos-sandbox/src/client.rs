//! Finds the helper and the rootfs, and drives one run.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::ROOTFS_VERSION;
use crate::proto::{Lang, Limits, Outcome, Request};

/// The helper's file name, beside the app's executable (the .deb ships it there).
const HELPER: &str = "telos-sandbox-helper";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "the sandbox helper {HELPER} was not found (looked in {}); build it with scripts/setup or set TELOS_SANDBOX_HELPER",
        .looked.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    NoHelper { looked: Vec<PathBuf> },
    #[error("the tool rootfs {} is missing or incomplete: build it once with `sudo telos-build-rootfs --system` (installed with the .deb; its install does this) or `sudo bash scripts/build-rootfs` (from the source), or set TELOS_ROOTFS", .path.display())]
    NoRootfs { path: PathBuf },
    #[error("a tool file name must be a plain name such as tool.py, not {name:?}")]
    BadName { name: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the sandbox helper {}: {why}", .helper.display())]
    Helper { helper: PathBuf, why: String },
}

pub type Result<T> = std::result::Result<T, Error>;

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}

/// A tool to run: its code (the entry file) and any other files beside it, its stdin, its
/// arguments and its limits.
#[derive(Debug, Clone)]
pub struct Tool {
    pub lang: Lang,
    /// `(name, text)`; the entry (`main.py` or `main.sh`) among them.
    pub files: Vec<(String, String)>,
    pub stdin: Option<Vec<u8>>,
    pub args: Vec<String>,
    /// A host folder shown read-only at `/input`.
    pub input_dir: Option<PathBuf>,
    pub limits: Limits,
}

impl Tool {
    /// A tool whose entry file holds `code`, with the default limits.
    pub fn new(lang: Lang, code: impl Into<String>) -> Self {
        Self {
            lang,
            files: vec![(lang.entry().to_string(), code.into())],
            stdin: None,
            args: Vec::new(),
            input_dir: None,
            limits: Limits::default(),
        }
    }

    /// Adds a file beside the entry (a module the entry imports, say).
    pub fn with_file(mut self, name: impl Into<String>, text: impl Into<String>) -> Self {
        self.files.push((name.into(), text.into()));
        self
    }

    pub fn with_stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// Where the helper, the rootfs and the containers' state are.
#[derive(Debug, Clone)]
pub struct Sandbox {
    pub helper: PathBuf,
    pub rootfs: PathBuf,
    pub state_dir: PathBuf,
}

impl Sandbox {
    /// The helper (`TELOS_SANDBOX_HELPER`, else beside this executable or one folder up, as
    /// in a cargo target dir), the rootfs (`TELOS_ROOTFS`, else the one build-rootfs
    /// caches for the user, else the system-wide one the .deb's postinst builds) and a state folder (`/run/telos-sandbox` as root, else under
    /// `XDG_RUNTIME_DIR`).
    pub fn locate() -> Result<Self> {
        let helper = find_helper()?;
        let rootfs = match std::env::var_os("TELOS_ROOTFS") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            // The user's own, else the one the .deb's postinst built for every user.
            _ => [default_rootfs(), system_rootfs()]
                .into_iter()
                .find(|r| r.join("usr/bin/python3").exists())
                .unwrap_or_else(default_rootfs),
        };
        if !rootfs.join("usr/bin/python3").exists() {
            return Err(Error::NoRootfs { path: rootfs });
        }
        let state_dir = if is_root() {
            PathBuf::from("/run/telos-sandbox")
        } else {
            dirs::runtime_dir()
                .unwrap_or_else(std::env::temp_dir)
                .join("telos-sandbox")
        };
        Ok(Self {
            helper,
            rootfs,
            state_dir,
        })
    }

    /// Runs `tool` in a fresh container and waits for it (at most its timeout, plus the
    /// container's setup and teardown). The container is gone when this returns.
    pub async fn run(&self, tool: &Tool) -> Result<Outcome> {
        let (_dir, request) = self.prepare(tool)?;
        self.ask(&request).await
    }

    /// Writes `tool`'s files to a fresh private folder (removed when the returned guard
    /// drops) and makes the request that runs them.
    pub fn prepare(&self, tool: &Tool) -> Result<(tempfile::TempDir, Request)> {
        let dir = tempfile::Builder::new()
            .prefix("telos-tool-")
            .tempdir()
            .map_err(io("a folder for the tool"))?;
        // The tool runs as an unprivileged user: it must be able to read its own code.
        let tool_dir = dir.path().join("tool");
        std::fs::create_dir(&tool_dir).map_err(io("the tool folder"))?;
        for (name, text) in &tool.files {
            if name.is_empty() || name.contains('/') || name == "." || name == ".." {
                return Err(Error::BadName { name: name.clone() });
            }
            let path = tool_dir.join(name);
            std::fs::write(&path, text).map_err(io(format!("writing {}", path.display())))?;
            set_mode(&path, 0o644)?;
        }
        // The tool's folder is shown to the container's unprivileged user; the folder around
        // it (and the stdin file beside it) only to us and the helper.
        set_mode(&tool_dir, 0o755)?;
        set_mode(dir.path(), 0o700)?;
        let stdin = match &tool.stdin {
            Some(bytes) => {
                let path = dir.path().join("stdin");
                std::fs::write(&path, bytes).map_err(io("writing the tool's stdin"))?;
                set_mode(&path, 0o600)?;
                Some(path)
            }
            None => None,
        };
        let request = Request {
            rootfs: self.rootfs.clone(),
            tool_dir,
            lang: tool.lang,
            args: tool.args.clone(),
            stdin,
            input_dir: tool.input_dir.clone(),
            limits: tool.limits,
            state_dir: self.state_dir.clone(),
        };
        Ok((dir, request))
    }

    /// Sends `request` to a new helper process and reads its answer.
    pub async fn ask(&self, request: &Request) -> Result<Outcome> {
        let helper_err = |why: String| Error::Helper {
            helper: self.helper.clone(),
            why,
        };
        // Its own process group: a Ctrl-C meant for the app does not kill the helper mid-run
        // (it would leave the container); the app stops it with SIGTERM, which it handles.
        let mut child = helper_command(&self.helper, delegation_scope())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| helper_err(format!("could not start: {e}")))?;
        // Dropped before the answer (the caller gave up, or the wait below ran out): the
        // helper is told to stop, and cleans up.
        let mut stop = StopOnDrop(child.id());
        let body = serde_json::to_vec(request).map_err(|e| helper_err(format!("{e}")))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin
            .write_all(&body)
            .await
            .map_err(|e| helper_err(format!("sending the request: {e}")))?;
        drop(stdin);
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let mut out = child.stdout.take().expect("piped stdout");
        let mut err = child.stderr.take().expect("piped stderr");
        // The run's own clock, plus room to make and delete the container.
        let patience = std::time::Duration::from_millis(request.limits.timeout_ms)
            + std::time::Duration::from_secs(30);
        let read = tokio::time::timeout(patience, async {
            tokio::join!(out.read_to_end(&mut stdout), err.read_to_end(&mut stderr))
        })
        .await
        .map_err(|_| {
            helper_err(format!(
                "no answer within {} s; it was told to stop",
                patience.as_secs()
            ))
        })?;
        read.0
            .and(read.1)
            .map_err(|e| helper_err(format!("reading its answer: {e}")))?;
        let status = child
            .wait()
            .await
            .map_err(|e| helper_err(format!("waiting for it: {e}")))?;
        stop.0 = None;
        serde_json::from_slice(&stdout).map_err(|e| {
            helper_err(format!(
                "no answer ({status}, {e}); it said: {}",
                String::from_utf8_lossy(&stderr).trim()
            ))
        })
    }
}

/// `systemd-run`, where a user without root can ask their systemd manager for a transient
/// scope with `Delegate=yes` (its user bus is there) and `TELOS_SANDBOX_SCOPE` is not `0`: the
/// helper then starts alone in a cgroup v2 folder of its own, and contains the tool with
/// cgroup limits (`rootless-cgroup`) rather than rlimits, as podman does.
fn delegation_scope() -> Option<PathBuf> {
    if is_root() || std::env::var_os("TELOS_SANDBOX_SCOPE").is_some_and(|v| v == "0") {
        return None;
    }
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")?;
    if !Path::new(&runtime).join("systemd/private").exists() {
        return None;
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("systemd-run"))
        .find(|p| p.is_file())
}

/// The helper's command: in a delegated scope made by `systemd_run` (which execs the helper
/// in it, keeping its pid and stdio), or plain.
fn helper_command(helper: &Path, systemd_run: Option<PathBuf>) -> tokio::process::Command {
    match systemd_run {
        Some(run) => {
            let mut c = tokio::process::Command::new(run);
            c.args([
                "--user",
                "--scope",
                "--quiet",
                "--collect",
                "-p",
                "Delegate=yes",
                "--",
            ])
            .arg(helper);
            c
        }
        None => tokio::process::Command::new(helper),
    }
}

/// Sends SIGTERM to the helper when dropped, unless disarmed (`.0 = None`).
struct StopOnDrop(Option<u32>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            // SAFETY: kill(2) on the helper we spawned and have not yet reaped.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGTERM);
            }
        }
    }
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(io(format!("permissions of {}", path.display())))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Where scripts/build-rootfs puts the rootfs.
pub fn default_rootfs() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(dirs::cache_dir)
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache
        .join("telos/rootfs")
        .join(ROOTFS_VERSION)
        .join("rootfs")
}

/// Where `telos-build-rootfs --system` (the .deb's postinst) puts the rootfs for every user.
pub fn system_rootfs() -> PathBuf {
    PathBuf::from("/var/lib/telos/rootfs")
        .join(ROOTFS_VERSION)
        .join("rootfs")
}

fn find_helper() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("TELOS_SANDBOX_HELPER").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(Error::NoHelper { looked: vec![p] })
        };
    }
    let mut looked = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        let mut dir = exe.parent().map(Path::to_path_buf);
        for _ in 0..2 {
            let Some(d) = dir else { break };
            let candidate = d.join(HELPER);
            if candidate.is_file() {
                return Ok(candidate);
            }
            looked.push(candidate);
            dir = d.parent().map(Path::to_path_buf);
        }
    }
    Err(Error::NoHelper { looked })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_wraps_the_helper_and_none_runs_it_plain() {
        let helper = Path::new("/usr/bin/telos-sandbox-helper");
        let scoped = helper_command(helper, Some(PathBuf::from("/usr/bin/systemd-run")));
        let std = scoped.as_std();
        assert_eq!(std.get_program(), "/usr/bin/systemd-run");
        let args: Vec<_> = std.get_args().collect();
        assert_eq!(
            args,
            [
                "--user",
                "--scope",
                "--quiet",
                "--collect",
                "-p",
                "Delegate=yes",
                "--",
                "/usr/bin/telos-sandbox-helper"
            ]
        );
        let plain = helper_command(helper, None);
        assert_eq!(plain.as_std().get_program(), helper.as_os_str());
        assert_eq!(plain.as_std().get_args().count(), 0);
    }
}

//! `telos-sandbox-helper`: runs one tool in a fresh youki container and says how it went.
//!
//! libcontainer clones the calling process, which is unsafe from a multithreaded (tokio)
//! process (youki issues #2425, #3011); this helper is single-threaded and does one run per
//! process. It reads a JSON [`Request`] on stdin and writes one JSON [`Outcome`] on stdout;
//! anything it cannot do is an `Outcome` with cause `refused` and the reason, never a panic.
//! `--spec` prints the OCI config a request would get instead of running it.
//!
//! A run: write an OCI bundle (config.json over the shared read-only rootfs), build and
//! start the container with our pipes as its stdio, then wait on the init process (pidfd)
//! while reading both pipes under their caps, until it exits or the clock runs out. A kill
//! is SIGKILL to the container's init through its pidfd: it is pid 1 of its own pid
//! namespace, so the kernel takes every process of the container with it. The cgroup's OOM
//! counter is read before the container, its cgroup and the bundle are deleted.
//!
//! How the run is contained (the outcome's `mode`) is a [`Containment`]: root, rootless in a
//! delegated cgroup (cgroup.rs), or rootless under rlimits (spec.rs's `Bounds`).

mod cgroup;
mod ns;
mod pidfd;
mod rootless;
mod seccomp;
mod signals;
mod spec;
mod watch;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::syscall::syscall::SyscallType;
use libcontainer::workload::default::DefaultExecutor;
use nix::fcntl::OFlag;
use nix::sys::wait::waitpid;
use telos_sandbox::proto::{Cause, Outcome, Request};

use crate::ns::{dev_read_only, loopback_up};
use crate::pidfd::Pidfd;
use crate::spec::Containment;
use crate::watch::Watch;

fn main() {
    // `--spec`: print the config.json a request would run with, and run nothing (the
    // benchmark gives the same spec to runc).
    if std::env::args().nth(1).as_deref() == Some("--spec") {
        let mut input = String::new();
        let request: Request = std::io::stdin()
            .read_to_string(&mut input)
            .map_err(|e| e.to_string())
            .and_then(|_| serde_json::from_str(&input).map_err(|e| e.to_string()))
            .unwrap_or_else(|e| {
                eprintln!("telos-sandbox-helper --spec: a request on stdin: {e}");
                std::process::exit(2)
            });
        let containment = if nix::unistd::geteuid().is_root() {
            Containment::Root
        } else {
            Containment::Rlimits
        };
        let config = spec::config(&request, "/telos-spec", containment);
        println!("{}", serde_json::to_string_pretty(&config).expect("json"));
        return;
    }
    // SIGINT, SIGTERM or SIGHUP (the app cancelled, or is going away) ends the run early and
    // still cleans up; handlers, unlike a blocked mask, do not pass on to the container.
    signals::install();
    let mut input = String::new();
    let outcome = match std::io::stdin().read_to_string(&mut input) {
        Err(e) => Outcome::refused(format!("reading the request: {e}")),
        Ok(_) => match serde_json::from_str::<Request>(&input) {
            Err(e) => Outcome::refused(format!("a malformed request: {e}")),
            Ok(request) => run(&request),
        },
    };
    let text = serde_json::to_string(&outcome).expect("an outcome serialises");
    let mut out = std::io::stdout().lock();
    // Nothing to do if the app has gone: it asked and no longer listens.
    let _ = writeln!(out, "{text}");
}

/// Runs `request` to the end, whatever happens; the container is gone when this returns.
fn run(request: &Request) -> Outcome {
    // Rootless: into a user namespace of our own first (see rootless.rs); from here on the
    // helper is root there, and every check below sees the namespace's view. Then into a
    // delegated cgroup where there is one, or rlimits.
    let mut delegation = None;
    let mut containment = Containment::Root;
    let entered = if nix::unistd::geteuid().is_root() {
        Ok(())
    } else {
        containment = Containment::Rlimits;
        rootless::enter().map(|()| {
            if let Ok(d) = cgroup::delegate() {
                delegation = Some(d);
                containment = Containment::Cgroup;
            }
        })
    };
    let mut outcome = match entered.and_then(|()| Run::prepare(request, containment)) {
        Err(reason) => Outcome::refused(reason),
        Ok(mut run) => {
            let outcome = run.go(request);
            let cleanup = run.clean_up();
            let mut outcome = outcome;
            if let Err(e) = cleanup {
                let note = format!("cleanup: {e}");
                outcome.reason = Some(match outcome.reason.take() {
                    Some(r) => format!("{r}; {note}"),
                    None => note,
                });
            }
            outcome
        }
    };
    if let Some(d) = delegation
        && let Err(e) = d.undo()
    {
        let note = format!("cleanup: {e}");
        outcome.reason = Some(match outcome.reason.take() {
            Some(r) => format!("{r}; {note}"),
            None => note,
        });
    }
    outcome.mode = containment.mode().to_string();
    outcome
}

/// One container from bundle to deletion.
struct Run {
    id: String,
    bundle: PathBuf,
    state_root: PathBuf,
    cgroup: String,
    containment: Containment,
    container: Option<libcontainer::container::Container>,
    /// The container's init, once it exists.
    init: Option<Pidfd>,
}

impl Run {
    fn prepare(request: &Request, containment: Containment) -> Result<Self, String> {
        check_request(request)?;
        let id = format!(
            "telos-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        );
        private_dir(&request.state_dir)?;
        let bundles = request.state_dir.join("bundles");
        let state_root = request.state_dir.join("containers");
        for dir in [&bundles, &state_root] {
            private_dir(dir)?;
        }
        sweep(&bundles, &state_root);
        let bundle = bundles.join(&id);
        private_dir(&bundle)?;
        // Flat, so that deleting the container leaves no parent cgroup behind.
        let cgroup = format!("/{id}");
        let config = spec::config(request, &cgroup, containment);
        let path = bundle.join("config.json");
        if let Err(e) = std::fs::write(&path, serde_json::to_vec_pretty(&config).expect("json")) {
            let _ = std::fs::remove_dir_all(&bundle);
            return Err(format!("writing {}: {e}", path.display()));
        }
        Ok(Self {
            id,
            bundle,
            state_root,
            cgroup,
            containment,
            container: None,
            init: None,
        })
    }

    fn go(&mut self, request: &Request) -> Outcome {
        let limits = request.limits;
        let started = Instant::now();
        let stdin: OwnedFd = match &request.stdin {
            Some(path) => match File::open(path) {
                Ok(f) => f.into(),
                Err(e) => return Outcome::refused(format!("stdin {}: {e}", path.display())),
            },
            None => match File::open("/dev/null") {
                Ok(f) => f.into(),
                Err(e) => return Outcome::refused(format!("/dev/null: {e}")),
            },
        };
        let (out_r, out_w) = match nix::unistd::pipe2(OFlag::O_CLOEXEC) {
            Ok(p) => p,
            Err(e) => return Outcome::refused(format!("a pipe: {e}")),
        };
        let (err_r, err_w) = match nix::unistd::pipe2(OFlag::O_CLOEXEC) {
            Ok(p) => p,
            Err(e) => return Outcome::refused(format!("a pipe: {e}")),
        };
        let built = ContainerBuilder::new(self.id.clone(), SyscallType::default())
            .with_executor(DefaultExecutor {})
            .with_root_path(&self.state_root)
            .map(|b| {
                b.with_stdin(stdin)
                    .with_stdout(out_w)
                    .with_stderr(err_w)
                    .as_init(&self.bundle)
                    .with_systemd(false)
                    .with_detach(true)
                    .build()
            });
        let container = match built {
            Ok(Ok(c)) => c,
            Ok(Err(e)) | Err(e) => {
                return Outcome::refused(format!("creating the container: {e}"));
            }
        };
        let pid = container.pid();
        self.container = Some(container);
        let Some(pid) = pid else {
            return Outcome::refused("the container was made without a process".to_string());
        };
        let init = match Pidfd::open(pid) {
            Ok(fd) => self.init.insert(fd),
            Err(e) => return Outcome::refused(format!("the container's init: {e}")),
        };
        // As root: loopback up in the container's network namespace and /dev read-only
        // (rootless, the container shares the helper's network namespace, whose loopback is
        // up, and /dev is a readonlyPath).
        if self.containment == Containment::Root {
            if let Err(e) = loopback_up(pid) {
                return Outcome::refused(format!("bringing up the container's loopback: {e}"));
            }
            if let Err(e) = dev_read_only(pid) {
                return Outcome::refused(format!("the container's /dev: {e}"));
            }
        }
        let container = self.container.as_mut().expect("set above");
        if let Err(e) = container.start() {
            return Outcome::refused(format!("starting the container: {e}"));
        }
        let deadline = started + Duration::from_millis(limits.timeout_ms);
        let mut watch = Watch::new(out_r, err_r, limits.output_bytes);
        let (status, cause, note) = watch.until_exit(init, deadline);
        let mut cause = cause;
        // Output past the cap read in the last moments (with the exit, or while draining).
        if cause == Cause::Exited && (watch.out.over || watch.err.over) {
            cause = Cause::OutputCap;
        }
        // An OOM kill the tool survived (a child of it killed, the tool exiting 0) is its
        // business; one that ended it is the cause.
        if cause == Cause::Exited && status != Some(0) && self.oom_killed() {
            cause = Cause::Oom;
        }
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        Outcome {
            cause,
            exit_code: status,
            stdout: String::from_utf8_lossy(&watch.out.bytes).into_owned(),
            stderr: String::from_utf8_lossy(&watch.err.bytes).into_owned(),
            duration_ms,
            reason: note,
            mode: String::new(),
        }
    }

    /// The cgroup's OOM-kill counter is above zero (v2 `memory.events`, v1 `oom_control`).
    fn oom_killed(&self) -> bool {
        let rel = self.cgroup.trim_start_matches('/');
        let files = [
            (Path::new("/sys/fs/cgroup").join(rel).join("memory.events")),
            (Path::new("/sys/fs/cgroup/memory")
                .join(rel)
                .join("memory.oom_control")),
        ];
        files.iter().any(|f| {
            std::fs::read_to_string(f).is_ok_and(|text| {
                text.lines().any(|l| {
                    l.strip_prefix("oom_kill ")
                        .and_then(|n| n.trim().parse::<u64>().ok())
                        .is_some_and(|n| n > 0)
                })
            })
        })
    }

    /// Deletes the container (and with it its cgroups) and the bundle.
    fn clean_up(&mut self) -> Result<(), String> {
        let mut problems = Vec::new();
        // A build that failed half way may still have left its state and cgroups.
        let container = self.container.take().or_else(|| {
            libcontainer::container::Container::load(self.state_root.join(&self.id)).ok()
        });
        // A container made but never started (or not yet reaped) has a live init: kill and
        // reap it first, so that deleting it need not find its processes through a cgroup,
        // which a rootless run may not have. Through its pidfd: once reaped, its pid may be
        // another process's.
        if let Some(init) = self.init.take() {
            reap(&init);
        }
        if let Some(mut c) = container
            && let Err(e) = c.delete(true)
        {
            problems.push(format!("deleting container {}: {e}", self.id));
        }
        if let Err(e) = std::fs::remove_dir_all(&self.bundle) {
            problems.push(format!("removing {}: {e}", self.bundle.display()));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// Kills the container's init (our child) if it is still running, waits up to a second for
/// it to exit, and reaps it.
fn reap(init: &Pidfd) {
    if init.kill() {
        init.wait(Duration::from_secs(1));
    }
    if init.exited() {
        // Ours and not yet reaped, or already reaped (ECHILD): either way nothing is left.
        let _ = waitpid(init.pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG));
    }
}

/// Makes `dir` (if needed) private to this user, and refuses one that is not: another user
/// who could write in it could rewrite a bundle's config between writing and loading.
fn private_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("creating {}: {e}", dir.display())),
    }
    let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let me = nix::unistd::geteuid().as_raw();
    if !meta.file_type().is_dir() || meta.uid() != me || meta.permissions().mode() & 0o022 != 0 {
        return Err(format!(
            "the state folder {} is not a folder of uid {me} that only it may write; remove it and try again",
            dir.display()
        ));
    }
    Ok(())
}

/// Deletes what helpers that were killed mid-run left: containers and bundles whose helper
/// (its pid is in the id) is gone.
fn sweep(bundles: &Path, state_root: &Path) {
    let Ok(entries) = std::fs::read_dir(bundles) else {
        return;
    };
    for entry in entries.flatten() {
        let id = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = id
            .strip_prefix("telos-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() as i32 || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        if let Ok(mut c) = libcontainer::container::Container::load(state_root.join(&id)) {
            match c.pid().map(Pidfd::open) {
                // Its init is still running: killed through a pidfd opened before checking
                // that it is that process (libcontainer's own kill goes by pid).
                Some(Ok(init)) if is_init_of(&init, &c) => {
                    init.kill();
                    init.wait(Duration::from_secs(1));
                    let _ = c.delete(true);
                }
                // Its pid is another process's now: only the state goes.
                Some(Ok(_)) => {
                    let _ = std::fs::remove_dir_all(state_root.join(&id));
                }
                _ => {
                    let _ = c.delete(true);
                }
            }
        }
        let _ = std::fs::remove_dir_all(entry.path());
    }
}

/// `init` started within seconds of `container`'s creation: it is the container's init, not a
/// process that took over its pid later.
fn is_init_of(init: &Pidfd, container: &libcontainer::container::Container) -> bool {
    let Some(created) = container.state.created.map(|t| t.timestamp()) else {
        return false;
    };
    let started = || -> Option<i64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", init.pid)).ok()?;
        // Field 22, starttime in clock ticks since boot; the name (field 2) may hold spaces.
        let ticks: i64 = stat
            .rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(19)?
            .parse()
            .ok()?;
        let boot: i64 = std::fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("btime "))?
            .trim()
            .parse()
            .ok()?;
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1);
        Some(boot + ticks / hz)
    };
    started().is_some_and(|s| (s - created).abs() <= 5)
}

fn check_request(r: &Request) -> Result<(), String> {
    let interpreter = r.rootfs.join(r.lang.interpreter().trim_start_matches('/'));
    if !interpreter.exists() {
        return Err(format!(
            "the rootfs {} has no {} (build it with `sudo telos-build-rootfs` or `sudo bash scripts/build-rootfs`)",
            r.rootfs.display(),
            r.lang.interpreter()
        ));
    }
    let entry = r.tool_dir.join(r.lang.entry());
    let meta = std::fs::symlink_metadata(&entry)
        .map_err(|e| format!("the tool's code {}: {e}", entry.display()))?;
    if !meta.file_type().is_file() {
        return Err(format!(
            "the tool's code {} is not a plain file",
            entry.display()
        ));
    }
    if let Some(dir) = &r.input_dir
        && !dir.is_dir()
    {
        return Err(format!(
            "the input folder {} is not a folder",
            dir.display()
        ));
    }
    let l = r.limits;
    if l.timeout_ms == 0
        || l.memory_mb < 8
        || l.pids < 1
        || !l.cpus.is_finite()
        || l.cpus <= 0.0
        || l.tmp_mb == 0
    {
        return Err(format!(
            "limits too small to run anything: {l:?} (timeout > 0, memory ≥ 8 MB, pids ≥ 1, cpus > 0, tmp > 0)"
        ));
    }
    Ok(())
}

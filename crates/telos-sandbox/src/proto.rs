//! What the app asks the sandbox helper for, and what it answers: one JSON [`Request`] on
//! the helper's stdin, one JSON [`Outcome`] on its stdout.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The language a tool is written in: the interpreter the container starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Python,
    Sh,
}

impl Lang {
    /// The interpreter, as a path inside the rootfs.
    pub fn interpreter(self) -> &'static str {
        match self {
            Lang::Python => "/usr/bin/python3",
            Lang::Sh => "/bin/sh",
        }
    }

    /// The file name the tool's code is written to under `/tool`.
    pub fn entry(self) -> &'static str {
        match self {
            Lang::Python => "main.py",
            Lang::Sh => "main.sh",
        }
    }
}

impl std::str::FromStr for Lang {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "python" | "python3" | "py" => Ok(Lang::Python),
            "sh" => Ok(Lang::Sh),
            other => Err(format!("unknown language {other:?}: use python or sh")),
        }
    }
}

/// What one run may use. Every limit is enforced by the kernel (cgroups, tmpfs size) or by
/// the helper (the clock, the output caps).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// Wall-clock time from start to kill, in milliseconds.
    pub timeout_ms: u64,
    /// Memory (and memory + swap) of the whole container, in MiB.
    pub memory_mb: u64,
    /// Processes and threads in the container.
    pub pids: i64,
    /// CPU time per wall-clock second (1.0 = one core).
    pub cpus: f64,
    /// Bytes kept of stdout and of stderr each; more kills the run (cause `output-cap`).
    pub output_bytes: u64,
    /// Size of the writable tmpfs at /tmp, in MiB.
    pub tmp_mb: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout_ms: 10_000,
            memory_mb: 256,
            pids: 64,
            cpus: 1.0,
            output_bytes: 1 << 20,
            tmp_mb: 64,
        }
    }
}

/// One run, as the helper receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The read-only root filesystem (python3 and sh).
    pub rootfs: PathBuf,
    /// A folder holding the tool's code; mounted read-only at `/tool`.
    pub tool_dir: PathBuf,
    pub lang: Lang,
    /// Arguments after `/tool/main.py` (or `main.sh`).
    pub args: Vec<String>,
    /// A file whose bytes are the tool's stdin (else it reads nothing).
    pub stdin: Option<PathBuf>,
    /// A folder mounted read-only at `/input`.
    pub input_dir: Option<PathBuf>,
    pub limits: Limits,
    /// Where container state lives while it runs (libcontainer's root path).
    pub state_dir: PathBuf,
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// The tool's process ended by itself (or by a signal it got from inside).
    Exited,
    /// The wall clock ran out: the container was killed.
    Timeout,
    /// The kernel's OOM killer ended a process of the container.
    Oom,
    /// stdout or stderr went past its cap: the container was killed.
    OutputCap,
    /// Not run: the request or the machine could not give the sandbox (see `reason`).
    Refused,
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Cause::Exited => "exited",
            Cause::Timeout => "timeout",
            Cause::Oom => "oom",
            Cause::OutputCap => "output-cap",
            Cause::Refused => "refused",
        })
    }
}

/// What a run gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub cause: Cause,
    /// The exit code; a process killed by signal N gives 128 + N. `None` when refused.
    pub exit_code: Option<i32>,
    /// stdout and stderr as text (invalid UTF-8 replaced), at most `output_bytes` each.
    pub stdout: String,
    pub stderr: String,
    /// From start to the last process gone, in milliseconds.
    pub duration_ms: f64,
    /// Why it was refused, or what else the helper has to say (e.g. a cleanup that failed).
    pub reason: Option<String>,
    /// How the sandbox was made: "root" (cgroup limits) or "rootless" (the helper in a user
    /// namespace of its own, rlimits instead of cgroups; see the README).
    pub mode: String,
}

impl Outcome {
    /// A run that did not happen.
    pub fn refused(reason: impl Into<String>) -> Self {
        Self {
            cause: Cause::Refused,
            exit_code: None,
            stdout: String::new(),
            stderr: String::new(),
            duration_ms: 0.0,
            reason: Some(reason.into()),
            mode: String::new(),
        }
    }
}

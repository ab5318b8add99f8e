//! The OCI runtime spec (config.json) of one run: what DESIGN.md invariant 4 asks, spelled
//! out for the runtime.

use serde_json::{Value, json};
use telos_sandbox::proto::Request;

use crate::seccomp;

/// The unprivileged user the tool runs as (Debian's `nobody`).
const NOBODY: u32 = 65534;

/// How a run is contained; the outcome's `mode` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Containment {
    /// The helper is root: every limit is a cgroup (v1 or v2), the network a namespace of the
    /// container's own.
    Root,
    /// Rootless, in a cgroup v2 folder delegated to the user with the memory, pids and cpu
    /// controllers: the container gets a cgroup of its own with the limits, as with root.
    Cgroup,
    /// Rootless with no delegation: rlimits, sized so that their total stays inside the
    /// memory limit (see [`Bounds`]).
    Rlimits,
}

impl Containment {
    pub fn mode(self) -> &'static str {
        match self {
            Self::Root => "root",
            Self::Cgroup => "rootless-cgroup",
            Self::Rlimits => "rootless-rlimits",
        }
    }

    pub fn rootless(self) -> bool {
        self != Self::Root
    }
}

const MIB: u64 = 1024 * 1024;

/// What a run with no cgroup gets, so that everything it can hold adds up to no more than
/// its memory limit: its processes' address spaces, their pipes' buffers (each pipe 64 KiB,
/// since growing one is denied, two descriptors a pipe), `/tmp` and `/dev/shm` (tmpfs pages
/// no rlimit counts). `memfd_create` and SysV IPC are denied there, and `/dev` is read-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub tmp_mb: u64,
    pub shm_mb: u64,
    pub processes: u64,
    pub address_space: u64,
    pub files: u64,
}

impl Bounds {
    /// Open files per process, and so pipes (two ends each) of 64 KiB.
    const FILES: u64 = 128;
    const PIPES_BYTES: u64 = Self::FILES / 2 * 64 * 1024;
    /// The share of the limit each process is given; more processes are allowed only where
    /// each still gets this much (two where both get the least, so a tool may start one
    /// process of its own).
    const SHARE: u64 = 64 * MIB;

    pub fn new(memory_mb: u64, pids: u64, tmp_mb: u64) -> Self {
        let memory = memory_mb * MIB;
        let tmp_mb = tmp_mb.min(memory_mb / 8).max(1);
        let shm_mb = (memory_mb / 16).clamp(1, 8);
        let left = memory.saturating_sub((tmp_mb + shm_mb) * MIB);
        // The least a process can do with: Python starts in 16 MiB of address space.
        let least = 16 * MIB + Self::PIPES_BYTES;
        let floor = if left >= 2 * least { 2 } else { 1 };
        let processes = (left / Self::SHARE).max(floor).min(pids).max(1);
        let address_space = (left / processes).saturating_sub(Self::PIPES_BYTES);
        Self {
            tmp_mb,
            shm_mb,
            processes,
            address_space,
            files: Self::FILES,
        }
    }

    /// The most the run can hold, by these bounds.
    #[cfg(test)]
    pub fn total(&self) -> u64 {
        self.processes * (self.address_space + Self::PIPES_BYTES)
            + (self.tmp_mb + self.shm_mb) * MIB
    }
}

/// The config.json for `request` under `containment`, its cgroup at `cgroup` (cgroupfs path).
pub fn config(request: &Request, cgroup: &str, containment: Containment) -> Value {
    let l = request.limits;
    let rootless = containment.rootless();
    let bounds = Bounds::new(l.memory_mb, l.pids.max(1) as u64, l.tmp_mb);
    let (tmp_mb, shm_mb, inodes) = match containment {
        Containment::Rlimits => (bounds.tmp_mb, bounds.shm_mb, 4096),
        _ => (l.tmp_mb, 8, 16384),
    };
    let entry = format!("/tool/{}", request.lang.entry());
    let mut args = vec![request.lang.interpreter().to_string(), entry];
    args.extend(request.args.iter().cloned());
    // Recursive bind options (rro…): plain ro applies to the top mount only, leaving a mount
    // nested under the folder writable. /dev is made read-only once its nodes are in place
    // (readonlyPaths rootless, where the nodes are bind mounts of their own; by the helper as
    // root, see ns.rs), so only /dev/shm is there to write, inside the limit.
    let mut mounts = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc",
               "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "strictatime", "mode=755", "size=256k", "nr_inodes=256"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts",
               "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
               "options": ["nosuid", "noexec", "nodev", "mode=1777", format!("size={shm_mb}m"), "nr_inodes=1024"]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
               "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "nodev", "mode=1777", format!("size={tmp_mb}m"), format!("nr_inodes={inodes}")]}),
        json!({"destination": "/tool", "type": "bind", "source": request.tool_dir,
               "options": ["rbind", "rro", "rnosuid", "rnodev"]}),
    ];
    if let Some(input) = &request.input_dir {
        mounts.push(
            json!({"destination": "/input", "type": "bind", "source": input,
                           "options": ["rbind", "rro", "rnosuid", "rnodev", "rnoexec"]}),
        );
    }
    let mut namespaces = vec![
        json!({"type": "pid"}),
        json!({"type": "mount"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "cgroup"}),
    ];
    // Rootless, the container shares the helper's own network namespace (loopback only, up;
    // see rootless.rs).
    if !rootless {
        namespaces.push(json!({"type": "network"}));
    }
    // Rootless: the helper runs in a user namespace of its own, as root there (the caller's
    // uid), and so does the tool, still with no capabilities.
    let (uid, gid) = if rootless { (0, 0) } else { (NOBODY, NOBODY) };
    let files = if containment == Containment::Rlimits {
        bounds.files
    } else {
        256
    };
    let mut rlimits = vec![
        json!({"type": "RLIMIT_CORE", "hard": 0, "soft": 0}),
        json!({"type": "RLIMIT_NOFILE", "hard": files, "soft": files}),
    ];
    let mut readonly = vec![
        "/proc/bus",
        "/proc/fs",
        "/proc/irq",
        "/proc/sys",
        "/proc/sysrq-trigger",
    ];
    if rootless {
        readonly.push("/dev");
    }
    let mut linux = json!({
        "namespaces": [],
        "maskedPaths": [
            "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
            "/sys/firmware"
        ],
        "readonlyPaths": readonly,
        "seccomp": seccomp::filter(containment)
    });
    // The cgroup path is given in every mode: rootless, libcontainer makes it only where the
    // helper's cgroup is delegated to the user, and otherwise leaves the container there.
    linux["cgroupsPath"] = json!(cgroup);
    if containment == Containment::Rlimits {
        rlimits.push(json!({"type": "RLIMIT_AS", "hard": bounds.address_space, "soft": bounds.address_space}));
        // Counted per user in the helper's user namespace: the tool's processes and the
        // helper itself (hence + 1).
        let nproc = bounds.processes + 1;
        rlimits.push(json!({"type": "RLIMIT_NPROC", "hard": nproc, "soft": nproc}));
        let cpu_secs = (l.timeout_ms / 1000).max(1);
        rlimits.push(json!({"type": "RLIMIT_CPU", "hard": cpu_secs, "soft": cpu_secs}));
    } else {
        let bytes = l.memory_mb * MIB;
        let period: u64 = 100_000;
        // swap is memory + swap: equal, so no swap (memory.swap.max = 0 on v2).
        linux["resources"] = json!({
            "memory": {"limit": bytes, "swap": bytes},
            "pids": {"limit": l.pids},
            "cpu": {"quota": (l.cpus * period as f64) as i64, "period": period}
        });
        if containment == Containment::Root {
            linux["resources"]["devices"] = json!([{"allow": false, "access": "rwm"}]);
        }
    }
    linux["namespaces"] = Value::Array(namespaces);
    json!({
        "ociVersion": "1.0.2",
        "root": {"path": request.rootfs, "readonly": true},
        "hostname": "tool",
        "mounts": mounts,
        "process": {
            "terminal": false,
            "user": {"uid": uid, "gid": gid, "additionalGids": []},
            "args": args,
            "env": [
                "PATH=/usr/local/bin:/usr/bin:/bin",
                "HOME=/tmp",
                "LANG=C.UTF-8",
                "PYTHONDONTWRITEBYTECODE=1",
                "PYTHONUNBUFFERED=1"
            ],
            "cwd": "/tmp",
            "capabilities": {
                "bounding": [], "effective": [], "inheritable": [], "permitted": [], "ambient": []
            },
            "rlimits": rlimits,
            "noNewPrivileges": true
        },
        "linux": linux
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bounds_add_up_to_no_more_than_the_limit() {
        for (memory, pids, tmp) in [
            (64, 32, 64),
            (256, 64, 64),
            (16, 1, 64),
            (4096, 256, 512),
            (8, 4, 1),
        ] {
            let b = Bounds::new(memory, pids, tmp);
            assert!(
                b.total() <= memory * MIB,
                "{memory} MB, {pids} pids: {b:?} holds {}",
                b.total()
            );
            assert!(b.processes >= 1 && b.processes <= pids.max(1), "{b:?}");
        }
        let b = Bounds::new(256, 64, 64);
        assert_eq!((b.tmp_mb, b.shm_mb, b.processes), (32, 8, 3), "{b:?}");
    }
}

//! The OCI runtime spec (config.json) of one run: what DESIGN.md invariant 4 asks, spelled
//! out for the runtime.

use serde_json::{Value, json};
use telos_sandbox::proto::Request;

/// The unprivileged user the tool runs as (Debian's `nobody`).
const NOBODY: u32 = 65534;

/// What a tool never needs. Denied with EPERM (the default action allows the rest): mounting
/// and namespaces, tracing and other processes' memory, kernel keys, modules, kexec, BPF,
/// reboot, swap, clocks, accounting, raw I/O ports and perf.
pub const DENIED: &[&str] = &[
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "unshare",
    "setns",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "pidfd_getfd",
    "keyctl",
    "add_key",
    "request_key",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "sethostname",
    "setdomainname",
    "iopl",
    "ioperm",
    "syslog",
    "quotactl",
    "lookup_dcookie",
    "open_by_handle_at",
    "name_to_handle_at",
    "nfsservctl",
    "vhangup",
    "personality",
    // io_uring: a large kernel surface a tool has no need of.
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
];

/// Socket families a tool may not open: AF_ALG (the kernel's crypto API, 38) and AF_VSOCK
/// (40), which the network namespace does not isolate (it reaches the hypervisor).
const DENIED_FAMILIES: [u64; 2] = [38, 40];

/// Namespace flags a `clone` may not carry (a new user namespace above all: it would give
/// the tool capabilities of its own).
const CLONE_NAMESPACES: [u64; 7] = [
    0x0002_0000, // CLONE_NEWNS
    0x0200_0000, // CLONE_NEWCGROUP
    0x0400_0000, // CLONE_NEWUTS
    0x0800_0000, // CLONE_NEWIPC
    0x1000_0000, // CLONE_NEWUSER
    0x2000_0000, // CLONE_NEWPID
    0x4000_0000, // CLONE_NEWNET
];

/// The seccomp rules: [`DENIED`] fails with EPERM; `clone` with a namespace flag too;
/// `clone3` (whose flags seccomp cannot see) says ENOSYS, so the C library falls back to
/// `clone`, as Docker's profile does.
fn syscall_rules() -> Value {
    let mut rules = vec![
        json!({"names": DENIED, "action": "SCMP_ACT_ERRNO", "errnoRet": 1}),
        json!({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}),
    ];
    for family in DENIED_FAMILIES {
        rules.push(
            json!({"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                          "args": [{"index": 0, "value": family, "op": "SCMP_CMP_EQ"}]}),
        );
    }
    for flag in CLONE_NAMESPACES {
        rules.push(json!({"names": ["clone"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                          "args": [{"index": 0, "value": flag, "valueTwo": flag, "op": "SCMP_CMP_MASKED_EQ"}]}));
    }
    Value::Array(rules)
}

fn native_arch() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "SCMP_ARCH_AARCH64"
    } else {
        "SCMP_ARCH_X86_64"
    }
}

/// The config.json for `request`, its cgroup at `cgroup` (cgroupfs path).
pub fn config(request: &Request, cgroup: &str, rootless: bool) -> Value {
    let l = request.limits;
    let entry = format!("/tool/{}", request.lang.entry());
    let mut args = vec![request.lang.interpreter().to_string(), entry];
    args.extend(request.args.iter().cloned());
    // Recursive bind options (rro…): plain ro applies to the top mount only, leaving a mount
    // nested under the folder writable.
    let mut mounts = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc",
               "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts",
               "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
               "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=8m", "nr_inodes=1024"]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
               "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "nodev", "mode=1777", format!("size={}m", l.tmp_mb), "nr_inodes=16384"]}),
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
    // uid), and so does the tool, still with no capabilities; the kernel gives a user no
    // cgroup limits without delegation, so the limits are rlimits.
    let (uid, gid) = if rootless { (0, 0) } else { (NOBODY, NOBODY) };
    let mut rlimits = vec![
        json!({"type": "RLIMIT_CORE", "hard": 0, "soft": 0}),
        json!({"type": "RLIMIT_NOFILE", "hard": 256, "soft": 256}),
    ];
    let mut linux = json!({
        "namespaces": [],
        "maskedPaths": [
            "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
            "/sys/firmware"
        ],
        "readonlyPaths": [
            "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
        ],
        "seccomp": {
            "defaultAction": "SCMP_ACT_ALLOW",
            // Native only: 32-bit entry points (socketcall above all) would get around the
            // argument rules; a call from another architecture is refused by default.
            "architectures": [native_arch()],
            "syscalls": syscall_rules()
        }
    });
    // The cgroup path is given in both modes: rootless, libcontainer makes it only where the
    // helper's cgroup is delegated to the user, and otherwise leaves the container there.
    linux["cgroupsPath"] = json!(cgroup);
    if rootless {
        let bytes = l.memory_mb * 1024 * 1024;
        rlimits.push(json!({"type": "RLIMIT_AS", "hard": bytes, "soft": bytes}));
        // Counted per user in the helper's user namespace: the tool's processes and the
        // helper itself (hence + 1).
        let nproc = l.pids + 1;
        rlimits.push(json!({"type": "RLIMIT_NPROC", "hard": nproc, "soft": nproc}));
        let cpu_secs = (l.timeout_ms / 1000).max(1);
        rlimits.push(json!({"type": "RLIMIT_CPU", "hard": cpu_secs, "soft": cpu_secs}));
    } else {
        let bytes = l.memory_mb * 1024 * 1024;
        let period: u64 = 100_000;
        linux["resources"] = json!({
            "memory": {"limit": bytes, "swap": bytes},
            "pids": {"limit": l.pids},
            "cpu": {"quota": (l.cpus * period as f64) as i64, "period": period},
            "devices": [{"allow": false, "access": "rwm"}]
        });
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

//! Containment that holds in every mode (root, rootless in a delegated cgroup, rootless under
//! rlimits): balloons of every kind end as `oom` or a refused allocation or write inside the
//! memory limit, `/dev` is read-only, and the seccomp allowlist refuses what a tool has no
//! need of, the 32-bit and x32 entry points included.

use super::rootless::{Rootless, delegated_cgroup};
use super::*;

/// The limits the balloons run under.
fn limits() -> Limits {
    Limits {
        timeout_ms: 15_000,
        memory_mb: 64,
        pids: 32,
        output_bytes: 64 * 1024,
        ..Limits::default()
    }
}

/// Python that holds what it can and prints `held N MB <why it stopped>`; `(name, code)`.
const BALLOONS: &[(&str, &str)] = &[
    // Eight processes, each allocating until refused; the parent adds up what they hold at
    // once (each waits, holding it, until the container ends), giving up on a child after a
    // few seconds (the OOM killer took it: exit 1).
    (
        "processes",
        r#"import os, select, time
r, w = os.pipe(); hold_r, hold_w = os.pipe(); kids = 0
for i in range(8):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        held = []
        try:
            while True:
                held.append(bytearray(4 << 20))
        except MemoryError:
            pass
        os.write(w, b'%d\n' % (len(held) * 4)); os.read(hold_r, 1); os._exit(0)
    kids += 1
os.close(w); total = 0; lines = 0; buf = b''; until = time.time() + 8
while lines < kids and time.time() < until:
    if select.select([r], [], [], 0.5)[0]:
        chunk = os.read(r, 4096)
        if not chunk: break
        buf += chunk; lines = buf.count(b'\n')
total = sum(int(x) for x in buf.split())
print('held', total, 'MB', 'MemoryError' if lines == kids else 'child lost')
raise SystemExit(0 if lines == kids else 1)"#,
    ),
    (
        "memfd",
        r#"import os, errno
try:
    fd = os.memfd_create('balloon')
except OSError as e:
    print('held 0 MB', errno.errorcode[e.errno]); raise SystemExit(0)
n = 0; chunk = b'x' * (1 << 20)
try:
    while n < 1024:
        os.write(fd, chunk); n += 1
    print('held', n, 'MB none')
except OSError as e:
    print('held', n, 'MB', errno.errorcode[e.errno])"#,
    ),
    // Pipes grown to 1 MiB where allowed, each filled until it would block.
    (
        "pipes",
        r#"import os, fcntl, errno
held = 0; pipes = []; why = 'none'
try:
    while held < (1 << 30):
        r, w = os.pipe(); pipes.append((r, w))
        try:
            fcntl.fcntl(w, 1031, 1 << 20)
        except OSError as e:
            why = 'F_SETPIPE_SZ ' + errno.errorcode[e.errno]
        os.set_blocking(w, False)
        try:
            while True:
                held += os.write(w, b'x' * 65536)
        except BlockingIOError:
            pass
except OSError as e:
    why = errno.errorcode[e.errno] + ' after ' + why
print('held', held >> 20, 'MB', why)"#,
    ),
];

/// Python that writes `path` a MiB at a time until refused.
fn fill(path: &str) -> String {
    format!(
        r#"import errno
n = 0
try:
    with open('{path}', 'wb') as f:
        while n < 1024:
            f.write(b'x' * (1 << 20)); f.flush(); n += 1
    print('held', n, 'MB none')
except OSError as e:
    print('held', n, 'MB', errno.errorcode[e.errno])"#
    )
}

/// What a balloon says it held, in MB, and why it stopped.
fn held(o: &Outcome) -> Option<(u64, String)> {
    let rest = o.stdout.trim().strip_prefix("held ")?;
    let (mb, why) = rest.split_once(" MB")?;
    Some((mb.parse().ok()?, why.trim().to_string()))
}

/// Every balloon under `mode`, run by `run`: killed by the OOM killer where a cgroup counts
/// it, or refused inside the limit.
fn balloons(cases: &mut Cases, mode: &str, mut run: impl FnMut(&Tool) -> Outcome) {
    let limit = limits().memory_mb;
    let fills = [("tmp", fill("/tmp/fill")), ("shm", fill("/dev/shm/fill"))];
    let all = BALLOONS
        .iter()
        .map(|(name, code)| (*name, code.to_string()))
        .chain(fills);
    for (name, code) in all {
        let o = run(&py(&code).with_limits(limits()));
        let refused_inside = held(&o)
            .is_some_and(|(mb, why)| o.cause == Cause::Exited && mb <= limit && why != "none");
        let ok = o.mode == mode
            && match (mode, name) {
                // What no rlimit counts is denied or sized inside the limit.
                ("rootless-rlimits", "memfd") => o.stdout.trim() == "held 0 MB EPERM",
                ("rootless-rlimits", "pipes") => {
                    refused_inside && o.stdout.contains("EMFILE after F_SETPIPE_SZ EPERM")
                }
                ("rootless-rlimits", "processes") => {
                    refused_inside && o.stdout.contains("MemoryError")
                }
                ("rootless-rlimits", _) => refused_inside && o.stdout.contains("ENOSPC"),
                // Where a cgroup counts it: the OOM killer, or refused inside the limit.
                _ => o.cause == Cause::Oom || refused_inside,
            };
        // The figures, for the log (`--nocapture`).
        eprintln!("{mode} {name}: {} {}", o.cause, o.stdout.trim());
        cases.check(&format!("{mode} {name} balloon"), ok, &o);
    }
    // /dev: read-only, its devices still work, /dev/shm is there to write.
    let o = run(&py(
        "import errno\nfor p in ['/dev/fill', '/dev/null', '/dev/shm/ok']:\n    try:\n        open(p, 'w').write('x'); print(p, 'written')\n    except OSError as e:\n        print(p, errno.errorcode[e.errno])",
    ));
    cases.check(
        &format!("{mode} /dev"),
        o.stdout == "/dev/fill EROFS\n/dev/null written\n/dev/shm/ok written\n",
        &o,
    );
    // The allowlist: calls a tool has no need of fail with EPERM; a call through the 32-bit
    // or the x32 entry point never runs (the process is killed, or refused).
    let o = run(&py(SYSCALLS));
    cases.check(
        &format!("{mode} seccomp"),
        o.stdout
            == "personality -1 EPERM\nuserfaultfd -1 EPERM\nkeyctl -1 EPERM\nbpf -1 EPERM\n\
                perf_event_open -1 EPERM\nopen_by_handle_at -1 EPERM\nx32 refused\nint80 refused\n",
        &o,
    );
}

/// x86_64 numbers.
const SYSCALLS: &str = r#"import ctypes, errno, mmap, os
libc = ctypes.CDLL(None, use_errno=True)
def say(name, r):
    print(name, r, errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno()))
say('personality', libc.syscall(135, 0x0400000))
say('userfaultfd', libc.syscall(323, 0))
say('keyctl', libc.syscall(250, 0, 0, 0, 0, 0))
say('bpf', libc.syscall(321, 0, 0, 0))
say('perf_event_open', libc.syscall(298, 0, 0, -1, -1, 0))
say('open_by_handle_at', libc.syscall(304, -100, 0, 0))
def child(name, call):
    pid = os.fork()
    if pid == 0:
        r = call()
        os._exit(0 if r == os.getpid() else 3)
    _, status = os.waitpid(pid, 0)
    print(name, 'ran' if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else 'refused')
child('x32', lambda: libc.syscall(0x40000000 | 39))
# getpid through int 0x80 (i386 number 20).
code = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
code.write(b'\xb8\x14\x00\x00\x00\xcd\x80\xc3')
fn = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(code)))
child('int80', fn)"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balloons_end_inside_the_limit_in_every_mode() {
    let _one = SERIAL.lock().await;
    let sb = sandbox();
    let mut cases = Cases {
        failures: Vec::new(),
    };
    let handle = tokio::runtime::Handle::current();
    balloons(&mut cases, "root", |tool| {
        tokio::task::block_in_place(|| handle.block_on(run(&sb, tool)))
    });
    let mut rl = Rootless::new(&sb);
    balloons(&mut cases, "rootless-rlimits", |tool| rl.run(tool));
    // A cgroup v2 folder delegated to the user: the cgroup's limits where the host gives v2
    // the memory, pids and cpu controllers, and rlimits where it does not (a v1/v2 hybrid
    // host such as CI's, where they are bound to v1).
    let delegated = delegated_cgroup();
    let mode = if super::vm::cgroup2_has_controllers() {
        "rootless-cgroup"
    } else {
        "rootless-rlimits"
    };
    rl.delegated = Some(delegated.clone());
    balloons(&mut cases, mode, |tool| rl.run(tool));
    rl.delegated = None;
    let left = ours(&delegated);
    std::fs::remove_dir(&delegated).unwrap();
    assert!(
        cases.failures.is_empty(),
        "{} of the containment cases failed:\n{}",
        cases.failures.len(),
        cases.failures.join("\n")
    );
    assert!(left.is_empty(), "left in the delegated cgroup: {left:?}");
    let left = leftovers(&sb);
    assert!(left.is_empty(), "left behind: {left:#?}");
}

/// Rootless in a delegated cgroup v2 folder whose parent hands it the memory, pids and cpu
/// controllers (a systemd desktop's session): the container's own cgroup counts everything it
/// does, tmpfs and memfd pages and pipe buffers included. On a host whose controllers are
/// bound to cgroup v1 (CI's), where the test above can only see the fallback, this test runs
/// itself in the test VM, whose kernel gives them to cgroup v2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balloons_end_inside_the_limit_in_a_delegated_cgroup_with_its_controllers() {
    // Held while the VM runs too: the emulation takes both of CI's cores, which the other
    // sandbox tests' time limits must not meet.
    let _one = SERIAL.lock().await;
    if !super::vm::cgroup2_has_controllers() {
        assert!(
            std::env::var_os(super::vm::IN_VM).is_none(),
            "the test VM's cgroup v2 should have the memory, pids and cpu controllers enabled"
        );
        let printed = tokio::task::block_in_place(|| {
            super::vm::run_test(
                "contain::balloons_end_inside_the_limit_in_a_delegated_cgroup_with_its_controllers",
            )
        });
        // What each balloon held, for the log (`--nocapture`).
        eprintln!("{printed}");
        return;
    }
    let sb = sandbox();
    let mut cases = Cases {
        failures: Vec::new(),
    };
    let mut rl = Rootless::new(&sb);
    let delegated = delegated_cgroup();
    rl.delegated = Some(delegated.clone());
    balloons(&mut cases, "rootless-cgroup", |tool| rl.run(tool));
    rl.delegated = None;
    let left = ours(&delegated);
    std::fs::remove_dir(&delegated).unwrap();
    assert!(
        cases.failures.is_empty(),
        "{} of the delegated-cgroup cases failed:\n{}",
        cases.failures.len(),
        cases.failures.join("\n")
    );
    assert!(left.is_empty(), "left in the delegated cgroup: {left:?}");
    let left = leftovers(&sb);
    assert!(left.is_empty(), "left behind: {left:#?}");
}

//! The sandbox against tools that try to get out (DESIGN invariant 4): each attempt is
//! contained, the host is unaffected and the outcome's cause is right. The cases run one
//! after another in one test, so that afterwards no container, cgroup or mount of ours may
//! be left on the machine. Needs root (CI runs as root), the helper and the rootfs (both
//! made by scripts/setup).

mod contain;
mod oci;
mod rootless;
mod vm;

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use telos_core::sandbox::proto::{Cause, Lang, Limits, Outcome, Request};
use telos_core::sandbox::{Sandbox, Tool};

/// The tests here run one at a time: the leftover check must not see another test's
/// container in flight.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn sandbox() -> Sandbox {
    Sandbox::locate().expect("the helper and the rootfs (run scripts/setup)")
}

fn py(code: &str) -> Tool {
    Tool::new(Lang::Python, code).with_limits(Limits {
        timeout_ms: 5_000,
        memory_mb: 64,
        pids: 32,
        output_bytes: 64 * 1024,
        ..Limits::default()
    })
}

/// A failed expectation, kept so that every case still runs.
struct Cases {
    failures: Vec<String>,
}

impl Cases {
    fn check(&mut self, case: &str, ok: bool, outcome: &Outcome) {
        if !ok {
            self.failures.push(format!(
                "{case}: cause {} exit {:?}\n  stdout: {}\n  stderr: {}\n  reason: {:?}",
                outcome.cause,
                outcome.exit_code,
                outcome.stdout.trim(),
                outcome.stderr.trim(),
                outcome.reason
            ));
        }
    }
}

async fn run(sandbox: &Sandbox, tool: &Tool) -> Outcome {
    sandbox.run(tool).await.expect("the helper answers")
}

/// Names under `dir` that start with `telos-` (containers, bundles, cgroups of ours).
fn ours(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("telos-"))
                .collect()
        })
        .unwrap_or_default()
}

fn leftovers(sandbox: &Sandbox) -> Vec<String> {
    let mut found = Vec::new();
    for dir in ["containers", "bundles"] {
        for n in ours(&sandbox.state_dir.join(dir)) {
            found.push(format!("{dir}/{n}"));
        }
    }
    for hierarchy in [
        "", "memory", "pids", "cpu", "cpuacct", "cpuset", "devices", "freezer", "blkio", "systemd",
        "unified",
    ] {
        let dir = Path::new("/sys/fs/cgroup").join(hierarchy);
        for n in ours(&dir) {
            found.push(format!("cgroup {}", dir.join(n).display()));
        }
    }
    let mut mountinfo = String::new();
    std::fs::File::open("/proc/self/mountinfo")
        .and_then(|mut f| f.read_to_string(&mut mountinfo))
        .expect("mountinfo");
    for line in mountinfo.lines() {
        if line.contains("telos-tool-") || line.contains(&*sandbox.rootfs.to_string_lossy()) {
            found.push(format!("mount {line}"));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_escape_is_contained_and_nothing_is_left_behind() {
    let _one = SERIAL.lock().await;
    let sb = sandbox();
    let mut cases = Cases {
        failures: Vec::new(),
    };

    // A plain run: the tool reads its stdin and answers on stdout, as nobody, in /tmp.
    let o = run(
        &sb,
        &py("import sys, os, json\nd = json.load(sys.stdin)\nprint(json.dumps({'sum': sum(d), 'uid': os.getuid(), 'cwd': os.getcwd()}))")
            .with_stdin("[1, 2, 3]"),
    )
    .await;
    cases.check(
        "plain run",
        o.cause == Cause::Exited
            && o.exit_code == Some(0)
            && o.stdout.trim() == r#"{"sum": 6, "uid": 65534, "cwd": "/tmp"}"#,
        &o,
    );

    // The host's loopback services: a listener here sees no connection.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let o = run(
        &sb,
        &py(&format!(
            "import socket\ns = socket.socket(); s.settimeout(2)\nprint(s.connect_ex(('127.0.0.1', {port})))"
        )),
    )
    .await;
    let accepted = listener.accept().is_ok();
    cases.check(
        "host loopback",
        o.cause == Cause::Exited && o.stdout.trim() == "111" && !accepted,
        &o,
    );

    // The outside world: no route at all. Its own loopback works.
    let o = run(
        &sb,
        &py("import socket\ns = socket.socket(); s.settimeout(2)\nprint(s.connect_ex(('1.1.1.1', 443)))\nsrv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen()\nc = socket.create_connection(srv.getsockname()); print('own loopback')"),
    )
    .await;
    cases.check(
        "outside address",
        o.cause == Cause::Exited && o.stdout == "101\nown loopback\n",
        &o,
    );

    // The host's secrets: /etc/shadow (the container has its own, unreadable by nobody) and
    // the data dir, which is simply not there.
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("secret.txt"), "host secret").unwrap();
    let secret = data.path().join("secret.txt");
    let o = run(
        &sb,
        &py(&format!(
            "for p in ['/etc/shadow', {:?}, '/proc/1/root/etc/shadow']:\n    try:\n        print(p, open(p).read()[:20])\n    except OSError as e:\n        print(p, type(e).__name__)",
            secret.display()
        )),
    )
    .await;
    let host_shadow = std::fs::read_to_string("/etc/shadow").unwrap_or_default();
    let first_line = host_shadow.lines().next().unwrap_or("root:");
    cases.check(
        "host files",
        o.cause == Cause::Exited
            && o.stdout.contains("/etc/shadow PermissionError")
            && o.stdout.contains("secret.txt FileNotFoundError")
            && !o.stdout.contains("host secret")
            && !o.stdout.contains(&first_line[..first_line.len().min(20)]),
        &o,
    );

    // Writing to the root filesystem or to the tool's own code: read-only, even where the
    // file modes would let anyone write (the tool's folder here is 0777, its code 0666).
    let open_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        open_dir.path().join("main.py"),
        "import errno\nfor p in ['/etc/passwd', '/usr/x', '/tool/main.py', '/tool/new', '/tmp/ok']:\n    try:\n        open(p, 'a').write('x'); print(p, 'written')\n    except OSError as e:\n        print(p, errno.errorcode[e.errno])\n",
    )
    .unwrap();
    set_mode(open_dir.path(), 0o777);
    set_mode(&open_dir.path().join("main.py"), 0o666);
    let o = sb.ask(&request(&sb, open_dir.path())).await.unwrap();
    cases.check(
        "read-only root",
        // /etc/passwd is root's: EACCES comes first. The rest are the mounts' doing.
        o.stdout
            == "/etc/passwd EACCES\n/usr/x EROFS\n/tool/main.py EROFS\n/tool/new EROFS\n/tmp/ok written\n",
        &o,
    );

    // A fork bomb meets the pids limit; the host's process table is untouched.
    let o = run(
        &sb,
        &py("import os, time\nn = 0\ntry:\n    while True:\n        if os.fork() == 0:\n            time.sleep(30); os._exit(0)\n        n += 1\nexcept OSError as e:\n    print('stopped after', n, e.errno)"),
    )
    .await;
    cases.check(
        "fork bomb",
        o.cause == Cause::Exited
            && o.stdout.starts_with("stopped after")
            && o.stdout.trim().ends_with(" 11"),
        &o,
    );

    // A memory balloon past the limit: the OOM killer, and the cause says so.
    let o = run(
        &sb,
        &py("chunks = []\nwhile True:\n    chunks.append(bytearray(16 << 20))"),
    )
    .await;
    cases.check(
        "memory balloon",
        o.cause == Cause::Oom && o.exit_code == Some(137),
        &o,
    );

    // A CPU spin past the timeout: killed at the deadline.
    let mut spin = py("while True:\n    pass");
    spin.limits.timeout_ms = 800;
    let started = Instant::now();
    let o = run(&sb, &spin).await;
    cases.check(
        "cpu spin",
        o.cause == Cause::Timeout
            && o.exit_code == Some(137)
            && o.duration_ms >= 800.0
            && started.elapsed() < Duration::from_secs(5),
        &o,
    );

    // Gigabytes of output: cut at the cap, the container killed.
    let mut flood = Tool::new(Lang::Sh, "yes 'a line of output'").with_limits(Limits {
        output_bytes: 100_000,
        ..Limits::default()
    });
    flood.limits.timeout_ms = 20_000;
    let o = run(&sb, &flood).await;
    cases.check(
        "gigabytes of output",
        o.cause == Cause::OutputCap && o.stdout.len() == 100_000 && o.duration_ms < 10_000.0,
        &o,
    );

    // A child that outlives the main process dies with the container.
    let o = run(
        &sb,
        &py("import os, time\nif os.fork() == 0:\n    time.sleep(3); print('child survived', flush=True)\nelse:\n    print('main exits')"),
    )
    .await;
    cases.check(
        "orphan child",
        o.cause == Cause::Exited && o.stdout == "main exits\n" && o.duration_ms < 2_500.0,
        &o,
    );

    // mount, ptrace, unshare, setns, setuid, a new user namespace by clone, kill(-1): each
    // refused, and a process of the host's survives the kill.
    let mut host_child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let o = run(
        &sb,
        &py(r#"import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
def say(name, r):
    print(name, r, errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno()))
say('mount', libc.mount(b'none', b'/tmp', b'tmpfs', 0, None))
say('umount', libc.umount2(b'/proc', 2))
say('ptrace', libc.ptrace(16, 1, 0, 0))
say('unshare', libc.unshare(0x10000000))
say('setns', libc.setns(0, 0))
say('clone-newuser', libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0))
try:
    os.setuid(0); print('setuid ok')
except OSError as e:
    print('setuid', errno.errorcode[e.errno])
say('io_uring_setup', libc.syscall(425, 1, None))
import socket
for name, family in [('vsock', 40), ('alg', 38)]:
    try:
        socket.socket(family, socket.SOCK_STREAM if family == 40 else socket.SOCK_SEQPACKET); print(name, 'opened')
    except OSError as e:
        print(name, errno.errorcode[e.errno])
say('kill', libc.kill(-1, 9))
"#),
    )
    .await;
    let host_alive = host_child.try_wait().unwrap().is_none();
    let _ = host_child.kill();
    let _ = host_child.wait();
    let expected = "mount -1 EPERM\numount -1 EPERM\nptrace -1 EPERM\nunshare -1 EPERM\nsetns -1 EPERM\nclone-newuser -1 EPERM\nsetuid EPERM\nio_uring_setup -1 EPERM\nvsock EPERM\nalg EPERM\n";
    cases.check(
        "privileged calls",
        o.stdout.starts_with(expected) && host_alive,
        &o,
    );

    // The helper told to stop (the app cancelled, or quits) mid-run: the container goes, and
    // the outcome says why.
    let (_dir, spin) = sb.prepare(&py("while True:\n    pass")).unwrap();
    let mut helper = std::process::Command::new(&sb.helper)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    serde_json::to_writer(helper.stdin.take().unwrap(), &spin).unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(helper.id() as i32, libc::SIGTERM) };
    let answer = helper.wait_with_output().unwrap();
    let o: Outcome = serde_json::from_slice(&answer.stdout).expect("an outcome");
    cases.check(
        "cancelled",
        o.cause == Cause::Refused
            && o.reason.as_deref().is_some_and(|r| r.contains("cancelled"))
            && o.duration_ms < 3_000.0,
        &o,
    );

    // Symlink tricks: a link in the tool's folder to a host file resolves inside the
    // container; links made in /tmp reach nothing of the host either.
    let tool_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        tool_dir.path().join("main.py"),
        "import os\nfor p in ['/tool/link', '/tmp/l2']:\n    try:\n        print(p, open(p).read()[:40])\n    except OSError as e:\n        print(p, type(e).__name__)\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(&secret, tool_dir.path().join("link")).unwrap();
    set_open(tool_dir.path());
    set_open(data.path());
    let o = sb.ask(&request(&sb, tool_dir.path())).await.unwrap();
    cases.check(
        "symlink in the tool folder",
        o.cause == Cause::Exited
            && o.stdout.contains("/tool/link FileNotFoundError")
            && !o.stdout.contains("host secret"),
        &o,
    );
    // The entry itself a link to a host file: refused before any container exists.
    let trick = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&secret, trick.path().join("main.py")).unwrap();
    let o = sb.ask(&request(&sb, trick.path())).await.unwrap();
    cases.check(
        "entry is a link",
        o.cause == Cause::Refused
            && o.reason
                .as_deref()
                .is_some_and(|r| r.contains("not a plain file")),
        &o,
    );
    // A file name that climbs out of the tool folder: refused by the client.
    let e = sb
        .run(&py("print(1)").with_file("../evil.py", "x"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("plain name"), "{e}");

    assert!(
        cases.failures.is_empty(),
        "{} of the cases failed:\n{}",
        cases.failures.len(),
        cases.failures.join("\n")
    );
    let left = leftovers(&sb);
    assert!(left.is_empty(), "left behind: {left:#?}");
}

/// A Python run of the folder `tool_dir` as it is (the client would write its own).
fn request(sb: &Sandbox, tool_dir: &Path) -> Request {
    Request {
        rootfs: sb.rootfs.clone(),
        tool_dir: tool_dir.to_path_buf(),
        lang: Lang::Python,
        args: vec![],
        stdin: None,
        input_dir: None,
        limits: Limits::default(),
        state_dir: sb.state_dir.clone(),
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Lets the unprivileged user inside read a folder made by the test.
fn set_open(dir: &Path) {
    set_mode(dir, 0o755);
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_file() {
            set_mode(&e.path(), 0o644);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_rootfs_or_a_bad_limit_is_refused_by_name() {
    let _one = SERIAL.lock().await;
    let sb = sandbox();
    let mut bad = sb.clone();
    bad.rootfs = std::env::temp_dir().join("no-such-rootfs");
    let o = bad.run(&py("print(1)")).await.unwrap();
    assert_eq!(o.cause, Cause::Refused);
    assert!(
        o.reason
            .as_deref()
            .is_some_and(|r| r.contains("no-such-rootfs") && r.contains("scripts/build-rootfs")),
        "{o:?}"
    );
    let mut tool = py("print(1)");
    tool.limits.memory_mb = 1;
    let o = sb.run(&tool).await.unwrap();
    assert_eq!(o.cause, Cause::Refused);
    assert!(o.reason.unwrap().contains("memory"));
}

//! The sandbox against tools that try to get out (DESIGN invariant 4): each attempt is
//! contained, the host is unaffected and the outcome's cause is right. The cases run one
//! after another in one test, so that afterwards no container, cgroup or mount of ours may
//! be left on the machine. Needs root (CI runs as root), the helper and the rootfs (both
//! made by scripts/setup).

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

// ---- an OCI image layout as the rootfs's source ------------------------------------------

/// Writes `bytes` as a blob of the layout at `dir`; its descriptor.
fn blob(dir: &Path, media: &str, bytes: &[u8]) -> serde_json::Value {
    use sha2::Digest;
    let digest = format!("{:x}", sha2::Sha256::digest(bytes));
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(blobs.join(&digest), bytes).unwrap();
    serde_json::json!({"mediaType": media, "digest": format!("sha256:{digest}"), "size": bytes.len()})
}

/// An OCI image layout at `dir` whose layers are the tar files `layers`, in order.
fn oci_layout(dir: &Path, layers: &[Vec<u8>]) {
    let config = blob(
        dir,
        "application/vnd.oci.image.config.v1+json",
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
    );
    let layers: Vec<_> = layers
        .iter()
        .map(|l| blob(dir, "application/vnd.oci.image.layer.v1.tar", l))
        .collect();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config,
        "layers": layers,
    });
    let m = blob(
        dir,
        "application/vnd.oci.image.manifest.v1+json",
        manifest.to_string().as_bytes(),
    );
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [m]});
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

/// A tar of what `tar` makes of `args` run in `cwd`.
fn tar(cwd: &Path, args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new("tar")
        .current_dir(cwd)
        .args(["--numeric-owner", "-cf", "-"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn build_rootfs(args: &[&str]) -> std::process::Output {
    std::process::Command::new("bash")
        .arg(telos_tests::package_dir().join("../scripts/build-rootfs"))
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oci_image_layout_is_an_alternative_rootfs_and_a_hostile_one_is_refused() {
    let _one = SERIAL.lock().await;
    let sb = sandbox();
    let work = tempfile::tempdir().unwrap();
    // Layer 1: the whole Debian rootfs. Layer 2: a file added, perl whited out.
    let base = tar(&sb.rootfs, &["."]);
    let extra = work.path().join("extra");
    std::fs::create_dir_all(extra.join("etc")).unwrap();
    std::fs::create_dir_all(extra.join("usr/bin")).unwrap();
    std::fs::write(extra.join("etc/oci-marker"), "from the image").unwrap();
    std::fs::write(extra.join("usr/bin/.wh.perl"), "").unwrap();
    let top = tar(&extra, &["etc/oci-marker", "usr/bin/.wh.perl"]);
    let layout = work.path().join("layout");
    oci_layout(&layout, &[base, top]);
    let dest = work.path().join("out");
    let out = build_rootfs(&[
        "--oci",
        layout.to_str().unwrap(),
        "--dest",
        dest.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rootfs = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(Path::new(&rootfs), dest.join("rootfs"));
    assert!(
        std::fs::read_to_string(dest.join("source.txt"))
            .unwrap()
            .starts_with("oci ")
    );
    let mut from_image = sb.clone();
    from_image.rootfs = rootfs.into();
    let o = from_image
        .run(&py(
            "import os\nprint(open('/etc/oci-marker').read(), os.path.exists('/usr/bin/perl'))",
        ))
        .await
        .unwrap();
    assert_eq!(o.stdout, "from the image False\n", "{o:?}");

    // A blob that is not what its digest says.
    let manifest_dir = layout.join("blobs/sha256");
    let tampered = std::fs::read_dir(&manifest_dir)
        .unwrap()
        .flatten()
        .max_by_key(|e| e.metadata().unwrap().len())
        .unwrap()
        .path();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&tampered)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"x"))
        .unwrap();
    let out = build_rootfs(&[
        "--oci",
        layout.to_str().unwrap(),
        "--dest",
        work.path().join("bad").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not match its digest"));

    // A layer that links out of the root, then writes and whites out through the link: refused,
    // and the host's folder is untouched.
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("keep"), "host file").unwrap();
    let evil = work.path().join("evil");
    std::fs::create_dir_all(&evil).unwrap();
    std::os::unix::fs::symlink(host.path(), evil.join("escape")).unwrap();
    let link = tar(&evil, &["escape"]);
    let through = work.path().join("through");
    std::fs::create_dir_all(through.join("escape")).unwrap();
    std::fs::write(through.join("escape/.wh.keep"), "").unwrap();
    std::fs::write(through.join("escape/planted"), "x").unwrap();
    let write = tar(&through, &["escape/.wh.keep", "escape/planted"]);
    let hostile = work.path().join("hostile");
    oci_layout(&hostile, &[link, write]);
    let out = build_rootfs(&[
        "--oci",
        hostile.to_str().unwrap(),
        "--dest",
        work.path().join("h").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("reaches out of the root"), "{err}");
    assert_eq!(
        std::fs::read_to_string(host.path().join("keep")).unwrap(),
        "host file"
    );
    assert!(!host.path().join("planted").exists());
}

// ---- rootless: the helper run by a user who is not root -----------------------------------

/// The uid and gid of the user the rootless runs are made as (no account needed).
const USER: u32 = 4242;

/// A helper, a rootfs and a state folder a user without root can reach (the shared ones are
/// under root's 0700 home), and the runs made through them as [`USER`].
struct Rootless {
    dir: tempfile::TempDir,
    helper: std::path::PathBuf,
    rootfs: std::path::PathBuf,
    state: std::path::PathBuf,
    runs: usize,
    /// A cgroup v2 folder delegated to [`USER`] (owned by it) that the helper starts in, as
    /// under a systemd desktop session; `None` starts it in the test's own cgroup.
    delegated: Option<std::path::PathBuf>,
}

impl Rootless {
    fn new(sb: &Sandbox) -> Self {
        use std::os::unix::fs::chown;
        let dir = tempfile::tempdir().unwrap();
        set_mode(dir.path(), 0o755);
        let helper = dir.path().join("telos-sandbox-helper");
        std::fs::copy(&sb.helper, &helper).unwrap();
        let rootfs = dir.path().join("rootfs");
        let copied = std::process::Command::new("cp")
            .arg("-a")
            .arg(&sb.rootfs)
            .arg(&rootfs)
            .status()
            .unwrap();
        assert!(copied.success(), "copying the rootfs");
        let state = dir.path().join("state");
        std::fs::create_dir(&state).unwrap();
        set_mode(&state, 0o700);
        chown(&state, Some(USER), Some(USER)).unwrap();
        Self {
            dir,
            helper,
            rootfs,
            state,
            runs: 0,
            delegated: None,
        }
    }

    /// Runs `tool` through the helper as [`USER`].
    fn run(&mut self, tool: &Tool) -> Outcome {
        self.runs += 1;
        let tool_dir = self.dir.path().join(format!("tool-{}", self.runs));
        std::fs::create_dir(&tool_dir).unwrap();
        // Anyone may write them, as far as the modes go: the mount is what says no.
        set_mode(&tool_dir, 0o777);
        for (name, text) in &tool.files {
            std::fs::write(tool_dir.join(name), text).unwrap();
            set_mode(&tool_dir.join(name), 0o666);
        }
        let stdin = tool.stdin.as_ref().map(|bytes| {
            let path = self.dir.path().join(format!("stdin-{}", self.runs));
            std::fs::write(&path, bytes).unwrap();
            set_mode(&path, 0o644);
            path
        });
        let request = Request {
            rootfs: self.rootfs.clone(),
            tool_dir,
            lang: tool.lang,
            args: tool.args.clone(),
            stdin,
            input_dir: None,
            limits: tool.limits,
            state_dir: self.state.clone(),
        };
        use std::os::unix::process::CommandExt;
        let mut helper = match &self.delegated {
            None => {
                let mut c = std::process::Command::new(&self.helper);
                c.uid(USER).gid(USER);
                c
            }
            // Moving a process between cgroups takes write access to their common
            // ancestor, so root moves the shell, which then becomes the user.
            Some(cgroup) => {
                let mut c = std::process::Command::new("sh");
                c.arg("-c")
                    .arg(r#"echo $$ > "$1/cgroup.procs" && exec setpriv --reuid="$2" --regid="$2" --clear-groups "$3""#)
                    .arg("sh")
                    .arg(cgroup)
                    .arg(USER.to_string())
                    .arg(&self.helper);
                c
            }
        };
        let mut helper = helper
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        serde_json::to_writer(helper.stdin.take().unwrap(), &request).unwrap();
        let answer = helper.wait_with_output().unwrap();
        serde_json::from_slice(&answer.stdout).unwrap_or_else(|e| {
            panic!(
                "no outcome from the rootless helper ({e}): {}",
                String::from_utf8_lossy(&answer.stdout)
            )
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rootless_run_is_contained_by_its_user_namespace_and_rlimits() {
    let _one = SERIAL.lock().await;
    let sb = sandbox();
    let mut rl = Rootless::new(&sb);
    let mut cases = Cases {
        failures: Vec::new(),
    };

    // A plain run, as root of the helper's user namespace (the caller outside).
    let o = rl.run(
        &py("import sys, os, json\nd = json.load(sys.stdin)\nprint(json.dumps({'sum': sum(d), 'uid': os.getuid()}))")
            .with_stdin("[1, 2, 3]"),
    );
    cases.check(
        "rootless plain run",
        o.cause == Cause::Exited
            && o.exit_code == Some(0)
            && o.mode == "rootless"
            && o.stdout.trim() == r#"{"sum": 6, "uid": 0}"#,
        &o,
    );

    // The network: the host's loopback and the outside are out of reach; its own loopback
    // is up (the helper, root of the namespace that owns it, brought it up).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let o = rl.run(&py(&format!(
        "import socket\ns = socket.socket(); s.settimeout(2)\nprint(s.connect_ex(('127.0.0.1', {port})))\ns = socket.socket(); s.settimeout(2)\nprint(s.connect_ex(('1.1.1.1', 443)))\nsrv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen()\nc = socket.create_connection(srv.getsockname()); print('own loopback')"
    )));
    cases.check(
        "rootless network",
        o.cause == Cause::Exited
            && o.stdout == "111\n101\nown loopback\n"
            && listener.accept().is_err(),
        &o,
    );

    // Files: the rootfs and the tool's code are read-only; root's files of the rootfs are
    // nobody's here, so /etc/shadow cannot be read; the host's files are not there.
    let secret = rl.dir.path().join("secret.txt");
    std::fs::write(&secret, "host secret").unwrap();
    set_mode(&secret, 0o644);
    let o = rl.run(&py(&format!(
        "import errno\nfor p in ['/etc/shadow', {:?}]:\n    try:\n        open(p).read(); print(p, 'read')\n    except OSError as e:\n        print(p, errno.errorcode[e.errno])\nfor p in ['/usr/x', '/tool/main.py', '/tmp/ok']:\n    try:\n        open(p, 'a').write('x'); print(p, 'written')\n    except OSError as e:\n        print(p, errno.errorcode[e.errno])\n",
        secret.display()
    )));
    cases.check(
        "rootless files",
        o.stdout
            == format!(
                "/etc/shadow EACCES\n{} ENOENT\n/usr/x EROFS\n/tool/main.py EROFS\n/tmp/ok written\n",
                secret.display()
            ),
        &o,
    );

    // The limits are rlimits: a fork bomb meets RLIMIT_NPROC (counted in the helper's user
    // namespace, so the user's other processes do not count), a balloon RLIMIT_AS.
    let o = rl.run(&py(
        "import os, time\nn = 0\ntry:\n    while True:\n        if os.fork() == 0:\n            time.sleep(30); os._exit(0)\n        n += 1\nexcept OSError as e:\n    print('stopped after', n, e.errno)",
    ));
    cases.check(
        "rootless fork bomb",
        o.cause == Cause::Exited
            && o.stdout.starts_with("stopped after")
            && o.stdout.trim().ends_with(" 11"),
        &o,
    );
    let o = rl.run(&py(
        "chunks = []\ntry:\n    while True:\n        chunks.append(bytearray(16 << 20))\nexcept MemoryError:\n    print('refused after', len(chunks) * 16, 'MB')",
    ));
    cases.check(
        "rootless memory balloon",
        o.cause == Cause::Exited
            && o.stdout.starts_with("refused after")
            && o.stdout
                .split_whitespace()
                .nth(2)
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|mb| mb < 64),
        &o,
    );

    // The wall clock, the output cap and an orphan work as they do as root.
    let mut spin = py("while True:\n    pass");
    spin.limits.timeout_ms = 800;
    let o = rl.run(&spin);
    cases.check(
        "rootless cpu spin",
        o.cause == Cause::Timeout && o.exit_code == Some(137),
        &o,
    );
    let mut flood = Tool::new(Lang::Sh, "yes 'a line of output'").with_limits(Limits {
        output_bytes: 100_000,
        ..Limits::default()
    });
    flood.limits.timeout_ms = 20_000;
    let o = rl.run(&flood);
    cases.check(
        "rootless output",
        o.cause == Cause::OutputCap && o.stdout.len() == 100_000,
        &o,
    );
    let o = rl.run(&py(
        "import os, time\nif os.fork() == 0:\n    time.sleep(3); print('child survived', flush=True)\nelse:\n    print('main exits')",
    ));
    cases.check(
        "rootless orphan",
        o.cause == Cause::Exited && o.stdout == "main exits\n" && o.duration_ms < 2_500.0,
        &o,
    );

    // Privileged calls: refused by seccomp and the missing capabilities; root of the
    // namespace is not root (no capability, and no other uid exists there: setuid to one is
    // EINVAL); kill(-1) reaches only the container, not a process of the same user on the
    // host.
    let mut host_child = std::process::Command::new("sleep");
    std::os::unix::process::CommandExt::uid(&mut host_child, USER);
    let mut host_child = host_child.arg("30").spawn().unwrap();
    let o = rl.run(&py(r#"import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
def say(name, r):
    print(name, r, errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno()))
say('mount', libc.mount(b'none', b'/tmp', b'tmpfs', 0, None))
say('unshare', libc.unshare(0x10000000))
say('ptrace', libc.ptrace(16, 1, 0, 0))
say('setns', libc.setns(0, 0))
say('clone-newuser', libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0))
try:
    os.setuid(1000); print('setuid ok')
except OSError as e:
    print('setuid', errno.errorcode[e.errno])
print('CapEff', open('/proc/self/status').read().split('CapEff:')[1].split()[0])
say('kill', libc.kill(-1, 9))
"#));
    let host_alive = host_child.try_wait().unwrap().is_none();
    let _ = host_child.kill();
    let _ = host_child.wait();
    cases.check(
        "rootless privileged calls",
        o.stdout.starts_with(
            "mount -1 EPERM\nunshare -1 EPERM\nptrace -1 EPERM\nsetns -1 EPERM\n\
             clone-newuser -1 EPERM\nsetuid EINVAL\nCapEff 0000000000000000\n",
        ) && host_alive,
        &o,
    );

    // A cgroup v2 subtree delegated to the user (what systemd gives a desktop session):
    // the container gets a cgroup of its own under the helper's, gone after the run. The
    // limits stay rlimits (see the README).
    let cgroup2 = std::fs::read_to_string("/proc/self/mounts")
        .unwrap()
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(2) == Some(&"cgroup2")).then(|| std::path::PathBuf::from(f[1]))
        })
        .expect("a cgroup v2 mount (the unified hierarchy)");
    let delegated = cgroup2.join(format!("telos-test-delegated-{}", std::process::id()));
    std::fs::create_dir(&delegated).unwrap();
    for file in [
        "",
        "cgroup.procs",
        "cgroup.threads",
        "cgroup.subtree_control",
    ] {
        std::os::unix::fs::chown(delegated.join(file), Some(USER), Some(USER)).unwrap();
    }
    rl.delegated = Some(delegated.clone());
    let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watcher = {
        let (dir, watching) = (delegated.clone(), watching.clone());
        std::thread::spawn(move || {
            let mut seen = std::collections::BTreeSet::new();
            while watching.load(std::sync::atomic::Ordering::SeqCst) {
                seen.extend(ours(&dir));
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            seen
        })
    };
    let o = rl.run(&py("import time\ntime.sleep(1)\nprint('done')"));
    watching.store(false, std::sync::atomic::Ordering::SeqCst);
    let seen = watcher.join().unwrap();
    let left = ours(&delegated);
    rl.delegated = None;
    std::fs::remove_dir(&delegated).unwrap();
    cases.check(
        "rootless in a delegated cgroup",
        o.cause == Cause::Exited && o.stdout == "done\n",
        &o,
    );

    assert!(
        cases.failures.is_empty(),
        "{} of the rootless cases failed:\n{}",
        cases.failures.len(),
        cases.failures.join("\n")
    );
    assert!(
        seen.len() == 1 && left.is_empty(),
        "the container's cgroups under {}: {seen:?} during the run, {left:?} after",
        delegated.display()
    );
    // Nothing left: no container state or bundle, no cgroup, no mount.
    let mut rl_sb = sb.clone();
    rl_sb.state_dir = rl.state.clone();
    rl_sb.rootfs = rl.rootfs.clone();
    let left = leftovers(&rl_sb);
    assert!(left.is_empty(), "left behind: {left:#?}");
}

//! Rootless: the helper run by a user who is not root, contained by its user namespace and
//! rlimits.

use super::*;

/// The uid and gid of the user the rootless runs are made as (no account needed).
const USER: u32 = 4242;

/// A helper, a rootfs and a state folder a user without root can reach (the shared ones are
/// under root's 0700 home), and the runs made through them as [`USER`].
pub(crate) struct Rootless {
    dir: tempfile::TempDir,
    helper: std::path::PathBuf,
    rootfs: std::path::PathBuf,
    state: std::path::PathBuf,
    runs: usize,
    /// A cgroup v2 folder delegated to [`USER`] (owned by it) that the helper starts in, as
    /// under a systemd desktop session; `None` starts it in the test's own cgroup.
    pub(crate) delegated: Option<std::path::PathBuf>,
}

/// A new cgroup v2 folder delegated to [`USER`] (it owns the folder and the files a
/// delegation hands over), as systemd makes one for a session or a `Delegate=yes` scope.
pub(crate) fn delegated_cgroup() -> std::path::PathBuf {
    let cgroup2 = super::vm::cgroup2_root().expect("a cgroup v2 mount (the unified hierarchy)");
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
    delegated
}

impl Rootless {
    pub(crate) fn new(sb: &Sandbox) -> Self {
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
    pub(crate) fn run(&mut self, tool: &Tool) -> Outcome {
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
            && o.mode == "rootless-rlimits"
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
    let delegated = delegated_cgroup();
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

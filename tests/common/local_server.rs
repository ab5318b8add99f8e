//! What the test servers (SurrealDB's, moto's S3) share: the binary a setup script installs,
//! and a server process started on a free port of 127.0.0.1 that dies with the thread that
//! started it.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `$VAR`, else the last line `scripts/SCRIPT` prints (it installs the tool if needed).
pub fn tool(var: &str, script: &str) -> PathBuf {
    if let Ok(bin) = std::env::var(var) {
        return bin.into();
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new("bash")
        .arg(root.join("scripts").join(script))
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("running scripts/{script}: {e}"));
    assert!(out.status.success(), "scripts/{script} failed");
    let path = String::from_utf8(out.stdout).expect("a path");
    PathBuf::from(
        path.lines()
            .last()
            .expect("the script prints the tool")
            .trim(),
    )
}

/// A free port of 127.0.0.1.
pub fn free_addr() -> SocketAddr {
    let port = TcpListener::bind("127.0.0.1:0").expect("a free port");
    port.local_addr().expect("its address")
}

/// Starts `command` (its stderr in a file of the temp dir, which a busy server cannot fill
/// as it would a pipe) and waits until `addr` accepts connections, 30 s at most; panics with
/// what the server said if it exits first.
pub fn spawn_listening(mut command: Command, addr: SocketAddr, what: &str) -> Child {
    let log = std::env::temp_dir().join(format!("telos-test-server-{}.log", addr.port()));
    let file = std::fs::File::create(&log).expect("the server's log file");
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(file);
    // SAFETY: prctl in the child before exec, async-signal-safe: the server dies with the
    // thread that started it (a test's, or `surreal_server::shared`'s).
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("starting {what}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("{what} exited ({status}): {said}");
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not listen within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Its writes go on into the unlinked file, which goes with it.
    let _ = std::fs::remove_file(&log);
    child
}

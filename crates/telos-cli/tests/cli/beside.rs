//! The CLI beside the running app: while a Telos holds the data dir and serves its socket (as
//! the desktop app does), `telos` commands are carried out by it — what they change is in its
//! image at once — and a process of another user is refused. With the app gone, `telos` opens
//! the data dir itself again.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::sync::Arc;

use telos_core::{Config, Telos};

use super::*;

/// A Telos holding `dir` and listening on its socket, as the app does.
async fn app(dir: &Path) -> Arc<Telos> {
    let mut config = Config::from_data_dir(dir);
    config.llm = telos_core::scheduler::Mode::Ollama;
    let telos = Arc::new(Telos::open(config).await.expect("open the app's Telos"));
    let served = Arc::clone(&telos);
    telos.supervisor().service("cli socket", move |shutdown| {
        telos_cli::serve(Arc::clone(&served), shutdown)
    });
    let socket = telos_cli::socket_path(dir);
    for _ in 0..200 {
        if socket.exists() {
            return telos;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{} never appeared", socket.display());
}

/// `telos` run off the async runtime's threads (the app answers on them).
async fn telos_async(dir: &Path, args: &[&str]) -> Output {
    let (dir, args): (std::path::PathBuf, Vec<String>) = (
        dir.to_path_buf(),
        args.iter().map(|a| a.to_string()).collect(),
    );
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        telos(&dir, &args)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_app_running_commands_go_to_it_and_another_user_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let telos = app(dir.path()).await;
    let socket = telos_cli::socket_path(dir.path());
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "owner-only");

    // The app holds the data dir's lock: only the app can have carried these out.
    let out = telos_async(dir.path(), &["obj", "new", "Kite", "--json"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(made["name"], json!("Kite"));
    assert!(
        telos.image().resolve("Kite").is_ok(),
        "the app's image has it at once"
    );
    let out = telos_async(dir.path(), &["obj", "set", "Kite", "colour", "\"red\""]).await;
    assert!(out.status.success());
    let shown = telos.image().resolve("Kite").unwrap();
    assert_eq!(shown.slots.get("colour"), Some(&json!("red")));

    // Errors come back as the command's own, with a failing exit and nothing on stdout.
    let out = telos_async(dir.path(), &["send", "Nobody", "hello"]).await;
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("Nobody"), "{said}");

    // A drop from a terminal: the file is named relative to the caller's working dir, not
    // the app's, and the app's image has the document when the command returns.
    std::fs::write(
        dir.path().join("kites.md"),
        "# Kites\n\nA kite needs steady wind and a long line.",
    )
    .unwrap();
    let dd = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_telos"))
            .current_dir(&dd)
            .args([
                "--data-dir",
                ".",
                "ingest",
                "--persona",
                "BABS",
                "kites.md",
                "--json",
            ])
            .env_remove("TELOS_DATA_DIR")
            .env_remove("TELOS_ENDPOINT")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["documents"], json!(1));
    let health = telos.doctor().await.unwrap();
    assert_eq!(health.documents, 1, "{health:?}");

    // Another user's telos cannot reach the socket (the data dir is open to it, the socket
    // is not). The binary is linked where that user can run it.
    let bin = tempfile::tempdir().unwrap();
    std::fs::set_permissions(bin.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = bin.path().join("telos");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_telos"), &exe).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_telos"), &exe).unwrap();
    }
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = dir.path().to_path_buf();
    let stranger = tokio::task::spawn_blocking(move || {
        Command::new(exe)
            .args(["--data-dir"])
            .arg(&data)
            .args(["obj", "new", "Intruder"])
            .env_clear()
            .env("HOME", "/nonexistent")
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!stranger.status.success());
    let said = String::from_utf8_lossy(&stranger.stderr);
    assert!(
        said.contains("refused you") && said.contains("another user"),
        "{said}"
    );
    assert!(telos.image().resolve("Intruder").is_err());

    // The app closes: its socket goes, and telos opens the data dir itself.
    telos.close().await.unwrap();
    drop(telos);
    assert!(!socket.exists(), "the socket went with the app");
    let listed = telos_async(dir.path(), &["obj", "ls", "--json"]).await;
    assert!(listed.status.success());
    assert!(String::from_utf8_lossy(&listed.stdout).contains("Kite"));
}

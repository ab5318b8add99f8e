//! A real SurrealDB server for tests: SurrealDB 3.3.5's own server code, built once by
//! `scripts/setup-surreal` (cached in ~/.cache/telos-surreal), started on a free port of
//! 127.0.0.1 with root credentials and an in-memory store. Killed with the test process.

use std::net::SocketAddr;
use std::process::{Child, Command};
use std::sync::OnceLock;

use telos_image::{Endpoint, StoreOptions};

pub const USER: &str = "root";
pub const PASS: &str = "telos-test-secret";

/// A running server.
pub struct SurrealServer {
    pub addr: SocketAddr,
    child: Child,
}

impl SurrealServer {
    /// Starts a server keeping its data in memory and waits until it accepts connections
    /// (30 s at most).
    pub fn start() -> Self {
        Self::start_with("memory")
    }

    /// Starts a server on `store` (`memory`, or `surrealkv://PATH` for data on disk).
    pub fn start_with(store: &str) -> Self {
        let addr = super::local_server::free_addr();
        let mut command = Command::new(super::local_server::tool(
            "TELOS_SURREAL_BIN",
            "setup-surreal",
        ));
        command
            .args(["start", "--no-banner", "--log", "warn", "--username", USER])
            .args(["--password", PASS, "--bind", &addr.to_string(), store])
            // On disk, as durable as the embedded store: every commit synced.
            .env("SURREAL_DATASTORE_SYNC", "every");
        let child = super::local_server::spawn_listening(command, addr, "the SurrealDB server");
        Self { addr, child }
    }

    /// `ws://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint::Remote { url: self.url() }
    }

    /// Store options signing in as root, using `database`.
    pub fn options(&self, database: &str) -> StoreOptions {
        StoreOptions {
            remote_user: Some((USER.into(), PASS.into())),
            database: database.into(),
            ..StoreOptions::default()
        }
    }

    /// Kills the server (as a crash would).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SurrealServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One server for the whole test process, started by a thread that lives as long as the
/// process (the server's parent-death signal follows that thread, not the test's).
pub fn shared() -> &'static SurrealServer {
    static SERVER: OnceLock<SurrealServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            tx.send(SurrealServer::start()).expect("the test waits");
            loop {
                std::thread::park();
            }
        });
        rx.recv().expect("the server thread starts it")
    })
}

/// A fresh database name (every test its own image on the shared server).
pub fn fresh_database() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("t{n}")
}

/// Whether the image tests run on the server (`TELOS_TEST_IMAGE=server`, set by scripts/test
/// for a second run of the image suite) rather than embedded.
pub fn images_on_server() -> bool {
    std::env::var("TELOS_TEST_IMAGE").is_ok_and(|v| v == "server")
}

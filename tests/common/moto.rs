//! A local S3-compatible server for tests: moto's server (PyPI `moto[server]`, installed by
//! `scripts/setup-moto` into ~/.cache/telos-moto), on a free port of 127.0.0.1, killed with
//! the test. A FAKE of S3 in that it keeps everything in memory; it speaks S3's HTTP API.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command};

/// A running moto server.
pub struct Moto {
    pub addr: SocketAddr,
    child: Child,
}

impl Moto {
    /// Starts moto's server and waits until it answers (30 s at most).
    pub fn start() -> Self {
        let addr = super::local_server::free_addr();
        let mut command =
            Command::new(super::local_server::tool("TELOS_MOTO_SERVER", "setup-moto"));
        command.args(["-H", "127.0.0.1", "-p", &addr.port().to_string()]);
        let child = super::local_server::spawn_listening(command, addr, "moto_server");
        Self { addr, child }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Makes the bucket `name` (moto accepts any credentials).
    pub fn bucket(&self, name: &str) {
        let mut s = TcpStream::connect(self.addr).expect("moto answers");
        write!(
            s,
            "PUT /{name} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        assert!(
            reply.starts_with("HTTP/1.1 200"),
            "making bucket {name}: {reply}"
        );
    }

    /// LanceDB's storage options for this server.
    pub fn storage_options(&self) -> Vec<(String, String)> {
        [
            ("aws_endpoint", self.url()),
            ("aws_access_key_id", "telos-test".into()),
            ("aws_secret_access_key", "telos-test".into()),
            ("aws_region", "us-east-1".into()),
            ("allow_http", "true".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

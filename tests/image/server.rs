//! The image on a real SurrealDB server (`telos_tests::surreal_server`, 127.0.0.1, with
//! credentials): two Telos processes on one image follow each other's commits through the
//! live view, and version checks catch their conflicts. (The whole image suite also runs on
//! the server: `TELOS_TEST_IMAGE=server`, in scripts/test.)

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::json;
use telos_core::{Config, Telos};
use telos_image::{ChangeKind, Error, Image};
use telos_tests::surreal_server::{self, PASS, USER};

/// The other process, and its stdout lines as they come.
struct Writer {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Writer {
    fn start(url: &str, database: &str, dir: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_image-writer"))
            .arg(dir)
            .env("TELOS_ENDPOINT", url)
            .env("TELOS_DB_USER", USER)
            .env("TELOS_DB_PASS", PASS)
            .env("TELOS_DB_NAME", database)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("image-writer starts");
        let out = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut me = Self { child, lines };
        me.expect(|l| l == "READY", "READY");
        me
    }

    /// Waits (20 s at most) for a line `ok` accepts, and returns it.
    fn expect(&mut self, ok: impl Fn(&str) -> bool, what: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if ok(&line) => return line,
                Ok(_) => {}
                Err(_) => panic!("image-writer never said {what}"),
            }
        }
    }

    /// Applies `ops` as one cycle in the other process: its `OK …` or `ERR …` line.
    fn apply(&mut self, ops: serde_json::Value) -> String {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{ops}").unwrap();
        stdin.flush().unwrap();
        self.expect(
            |l| l.starts_with("OK ") || l.starts_with("ERR "),
            "OK or ERR",
        )
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn eventually(what: &str, mut ok: impl FnMut() -> bool) {
    for _ in 0..200 {
        if ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

fn slot(image: &Image, object: &str, slot: &str) -> Option<serde_json::Value> {
    image.resolve(object).ok()?.slots.get(slot).cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_image_follow_each_other_and_their_conflicts_are_caught() {
    let server = surreal_server::shared();
    let database = surreal_server::fresh_database();
    let here = tempfile::tempdir().unwrap();
    let mut config = Config::from_data_dir(here.path());
    config.llm = telos_core::scheduler::Mode::Ollama;
    config.endpoint = Some(server.endpoint());
    config.store = server.options(&database);
    let telos = Telos::open(config).await.expect("Telos on the server");
    let image = telos.image().clone();
    let mut changes = image.subscribe();

    let there = tempfile::tempdir().unwrap();
    let mut other = Writer::start(&server.url(), &database, there.path());
    // It found the image this process awakened: no second genesis.
    let made = other.apply(json!([{"op": "new", "name": "kite", "parents": ["genesis"]},
                                  {"op": "set", "object": "kite", "slot": "color", "value": "red"}]));
    assert!(made.starts_with("OK "), "{made}");

    // Its commit reaches this process's world and subscribers.
    eventually("kite here", || {
        slot(&image, "kite", "color") == Some(json!("red"))
    })
    .await;
    let heard = loop {
        let c = changes.recv().await.unwrap();
        if c.name == "kite" {
            break c;
        }
    };
    assert_eq!(heard.kind, ChangeKind::Created);
    assert_eq!(format!("OK {}", heard.cycle), made);

    // And this process's commit reaches it.
    let ops = [telos_core::image::ops::Op::Set {
        object: "kite".into(),
        slot: "color".into(),
        value: json!("blue"),
    }];
    let record = telos_core::image::ops::apply(&image, "test", &ops)
        .await
        .unwrap();
    let version = image.resolve("kite").unwrap().version;
    other.expect(|l| l == format!("SAW kite {version}"), "SAW kite");

    // Both edit the kite: the one that commits second is refused, and changes nothing.
    let kite = image.resolve("kite").unwrap().id.clone();
    let mut mine = image.begin("test: a slow edit");
    mine.set_slot(&kite, "color", json!("green")).unwrap();
    let theirs =
        other.apply(json!([{"op": "set", "object": "kite", "slot": "color", "value": "yellow"}]));
    assert!(theirs.starts_with("OK "), "{theirs}");
    let refused = mine.commit().await.unwrap_err();
    assert!(matches!(refused, Error::Conflict { .. }), "{refused}");
    eventually("their yellow kite here", || {
        slot(&image, "kite", "color") == Some(json!("yellow"))
    })
    .await;
    // Names stay unique between processes: a name taken there meanwhile is refused here.
    let mut twin = image.begin("test: a twin");
    twin.create("twin", &[image.resolve("genesis").unwrap().id.clone()])
        .unwrap();
    let theirs = other.apply(json!([{"op": "new", "name": "twin", "parents": ["genesis"]}]));
    assert!(theirs.starts_with("OK "), "{theirs}");
    assert!(twin.commit().await.is_err());
    // What the other process deletes goes here too.
    let gone = other.apply(json!([{"op": "delete", "object": "twin"}]));
    assert!(gone.starts_with("OK "), "{gone}");
    eventually("the twin gone here", || image.resolve("twin").is_err()).await;
    assert_ne!(record.id, heard.cycle);
    drop(other);
    telos.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_view_ends_with_its_connection_so_its_service_starts_it_again() {
    // A server of its own, killed under the image.
    let mut server = surreal_server::SurrealServer::start();
    let options = server.options("image");
    let image = Image::open(&server.endpoint(), &options).await.unwrap();
    telos_core::persona::awaken(&image).await.unwrap();
    let follower = image.clone();
    let following = tokio::spawn(async move { follower.follow().await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.kill();
    let ended = tokio::time::timeout(Duration::from_secs(10), following)
        .await
        .expect("the live view ends with its connection")
        .unwrap();
    assert!(ended.is_err(), "{ended:?}");
}

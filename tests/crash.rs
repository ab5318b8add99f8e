//! Invariant 3: an acknowledged commit survives `kill -9` at any moment, and no cycle is ever
//! half-applied. A child process commits cycles in a loop; we SIGKILL it at random moments.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use rand::Rng;
use serde_json::json;
use telos_tests::{open_on_disk, slot};

const ROUNDS: usize = 24;

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_cycles_survive_sigkill_and_none_is_half_applied() {
    let dir = tempfile::tempdir().unwrap();
    {
        let telos = open_on_disk(dir.path()).await;
        let mut c = telos.image().begin("crash test setup");
        let counter = c.create("counter", &[]).unwrap();
        c.set_slot(&counter, "last", json!(-1)).unwrap();
        c.commit().await.unwrap();
        telos.shutdown().await.unwrap();
    }

    let mut acked: Vec<u64> = Vec::new();
    let mut next = 0u64;
    let mut rng = rand::rng();
    for round in 0..ROUNDS {
        let (mut child, rx, reader) =
            spawn_child(&[dir.path().as_os_str(), next.to_string().as_ref()]);
        // Wait for the first acknowledgement (the child is up), then kill at a random moment.
        let first = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("round {round}: the child acknowledged nothing"));
        acked.push(first);
        std::thread::sleep(Duration::from_millis(rng.random_range(0..300)));
        child.kill().expect("SIGKILL the child");
        child.wait().unwrap();
        reader.join().unwrap();
        acked.extend(rx.try_iter());
        next = acked.iter().max().unwrap() + 1;

        let telos = open_on_disk(dir.path()).await;
        let image = telos.image();
        for n in &acked {
            let o = image
                .resolve(&format!("crash-{n}"))
                .unwrap_or_else(|e| panic!("round {round}: acknowledged cycle {n} lost: {e}"));
            assert_eq!(slot(&o, "n"), json!(n));
            assert_eq!(slot(&o, "twin"), json!(n));
        }
        // Anything present is whole: both slots, and the counter saw it.
        let last = slot(&image.resolve("counter").unwrap(), "last");
        for o in image
            .objects()
            .iter()
            .filter(|o| o.name.starts_with("crash-"))
        {
            assert_eq!(
                slot(o, "n"),
                slot(o, "twin"),
                "round {round}: {} half-applied",
                o.name
            );
            assert!(
                slot(o, "n").as_u64() <= last.as_u64(),
                "round {round}: counter behind {}",
                o.name
            );
        }
        // A cycle may have committed after its ACK was cut off; continue after the newest.
        next = next.max(last.as_u64().map_or(0, |l| l + 1));
        telos.shutdown().await.unwrap();
    }
    assert!(acked.len() >= ROUNDS, "{} acknowledgements", acked.len());
}

/// Starts crash-child with `args`; its acknowledgements (`ACK n` lines) arrive on the channel
/// until it dies.
fn spawn_child(
    args: &[&std::ffi::OsStr],
) -> (
    std::process::Child,
    mpsc::Receiver<u64>,
    std::thread::JoinHandle<()>,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crash-child"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn crash-child");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(n) = line.strip_prefix("ACK ") {
                let _ = tx.send(n.parse::<u64>().expect("ACK n"));
            }
        }
    });
    (child, rx, reader)
}

const INGEST_ROUNDS: usize = 20;

/// `telos doctor --json` on `dir`, with the CLI binary `cargo test --workspace` built beside
/// this test's.
fn telos_doctor(dir: &std::path::Path) -> serde_json::Value {
    let exe = std::env::current_exe().unwrap();
    let telos = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("telos");
    assert!(
        telos.exists(),
        "{} is missing: build the CLI (cargo test --workspace builds it)",
        telos.display()
    );
    let out = Command::new(&telos)
        .arg("--data-dir")
        .arg(dir)
        .args(["doctor", "--json"])
        .env_remove("TELOS_DATA_DIR")
        .env_remove("TELOS_ENDPOINT")
        .output()
        .expect("run telos doctor");
    assert!(
        out.status.success(),
        "telos doctor failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("doctor --json prints JSON")
}

/// DESIGN invariant 1 under SIGKILL: a child drops documents on BRICK in batches; we kill
/// it at random moments. After every restart (`telos doctor --json`, which reconciles),
/// memory holds exactly what the image names — no orphans, nothing missing — and every
/// document acknowledged before the kill is remembered whole and found by recall.
#[tokio::test(flavor = "multi_thread")]
async fn memory_stays_consistent_with_the_image_through_sigkill_during_ingest() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let mut acked: Vec<u64> = Vec::new();
    let mut next = 0u64;
    let mut rng = rand::rng();
    for round in 0..INGEST_ROUNDS {
        let (mut child, rx, reader) = spawn_child(&[
            dir.as_os_str(),
            next.to_string().as_ref(),
            "--ingest".as_ref(),
        ]);
        let first = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("round {round}: the child remembered nothing"));
        let mut this_round = vec![first];
        // One document takes a few hundred ms: the kill lands anywhere in read → embed → write
        // rows → commit.
        std::thread::sleep(Duration::from_millis(rng.random_range(0..900)));
        child.kill().expect("SIGKILL the child");
        child.wait().unwrap();
        reader.join().unwrap();
        this_round.extend(rx.try_iter());
        acked.extend(&this_round);

        // The restart: `telos doctor --json` opens the data dir (reconciling) and reports.
        let health = telos_doctor(&dir);
        assert_eq!(
            (&health["orphans"], &health["missing"]),
            (&json!(0), &json!(0)),
            "round {round}: after restart {health}"
        );
        assert_eq!(
            health["store_rows"], health["image_chunks"],
            "round {round}"
        );
        let telos = open_on_disk(&dir).await;
        let brick = telos.image().resolve("BRICK").unwrap();
        let sources: Vec<String> = brick.links["memory"]
            .iter()
            .map(|d| {
                slot(&telos.image().get(d).unwrap(), "source")
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        for n in &acked {
            assert!(
                sources.iter().any(|s| s.ends_with(&format!("/doc-{n}.md"))),
                "round {round}: acknowledged document {n} lost"
            );
        }
        // Searchable: each chunk of this round's documents (of every round's, the last time)
        // is found first by its own text.
        let check = if round + 1 == INGEST_ROUNDS {
            &acked
        } else {
            &this_round
        };
        for n in check {
            let doc = brick.links["memory"]
                .iter()
                .map(|d| telos.image().get(d).unwrap())
                .find(|d| {
                    slot(d, "source")
                        .as_str()
                        .unwrap()
                        .ends_with(&format!("/doc-{n}.md"))
                })
                .unwrap();
            for chunk in &doc.links["chunks"] {
                let text = slot(&telos.image().get(chunk).unwrap(), "text");
                let hits = telos
                    .recall(Some("BRICK"), text.as_str().unwrap(), 1)
                    .await
                    .unwrap();
                assert_eq!(
                    hits[0].document,
                    doc.id.to_string(),
                    "round {round}: a chunk of document {n} is not found by its own text"
                );
            }
        }
        // A document remembered after its ACK was cut off is remembered again unchanged.
        next = acked.iter().max().unwrap() + 1;
        telos.shutdown().await.unwrap();
    }
    assert!(acked.len() >= INGEST_ROUNDS);
    println!(
        "{} documents acknowledged over {INGEST_ROUNDS} killed batch ingests; all searchable",
        acked.len()
    );
}

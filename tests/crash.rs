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
    with_counter(dir.path()).await;

    let mut acked: Vec<u64> = Vec::new();
    let mut next = 0u64;
    for round in 0..ROUNDS {
        // After the first acknowledgement (the child is up), a kill at a random moment.
        acked.extend(run_then_kill(
            &[dir.path().as_os_str(), next.to_string().as_ref()],
            0..300,
            &format!("round {round}: the child acknowledged nothing"),
        ));
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

/// A data dir holding the object `counter` (`last` = -1) the crash child's cycles bump.
async fn with_counter(dir: &std::path::Path) {
    let telos = open_on_disk(dir).await;
    let mut c = telos.image().begin("crash test setup");
    let counter = c.create("counter", &[]).unwrap();
    c.set_slot(&counter, "last", json!(-1)).unwrap();
    c.commit().await.unwrap();
    telos.shutdown().await.unwrap();
}

/// Runs crash-child with `args` until its first acknowledgement (within two minutes), lets it
/// go on for a random number of milliseconds from `run`, SIGKILLs it, and returns every
/// acknowledgement it made; panics with `nothing` if none came.
fn run_then_kill(args: &[&std::ffi::OsStr], run: std::ops::Range<u64>, nothing: &str) -> Vec<u64> {
    let (mut child, rx, reader) = spawn_child(args);
    let first = rx
        .recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|_| panic!("{nothing}"));
    std::thread::sleep(Duration::from_millis(rand::rng().random_range(run)));
    child.kill().expect("SIGKILL the child");
    child.wait().unwrap();
    reader.join().unwrap();
    std::iter::once(first).chain(rx.try_iter()).collect()
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

/// The CLI binary `cargo test --workspace` built beside this test's.
fn telos_exe() -> std::path::PathBuf {
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
    telos
}

/// `telos doctor --json` on `dir`.
fn telos_doctor(dir: &std::path::Path) -> serde_json::Value {
    let out = Command::new(telos_exe())
        .arg("--data-dir")
        .arg(dir)
        .args(["doctor", "--json"])
        // As the crash child has it: the restart builds the index when memory is past it.
        .env("TELOS_INDEX_THRESHOLD", "48")
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
    for round in 0..INGEST_ROUNDS {
        // One document takes a few hundred ms: the kill lands anywhere in read → embed → write
        // rows → commit.
        let this_round = run_then_kill(
            &[
                dir.as_os_str(),
                next.to_string().as_ref(),
                "--ingest".as_ref(),
            ],
            0..900,
            &format!("round {round}: the child remembered nothing"),
        );
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
        // the concepts the documents grew (in their own cycles) have their rows, no more
        assert_eq!(
            health["concept_rows"], health["concepts"],
            "round {round}: {health}"
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
    // Index builds started, cut short by kills and restarts, and started again: let one run to
    // the end, and the index covers memory.
    let mut config = telos_core::Config::from_data_dir(&dir);
    config.llm = telos_core::scheduler::Mode::Ollama;
    config.index_threshold = 48;
    let telos = telos_core::Telos::open(config).await.unwrap();
    telos.memory().index_settled().await;
    let health = telos.doctor().await.unwrap();
    assert!(
        matches!(health.index, telos_core::memory::IndexState::Indexed { indexed, .. } if indexed >= 48)
            && health.index_error.is_none(),
        "{health:?}"
    );
    telos.shutdown().await.unwrap();
    println!(
        "{} documents acknowledged over {INGEST_ROUNDS} killed batch ingests; all searchable",
        acked.len()
    );
}

/// Invariant 3 across the store's memtable flushes: cycles of 64 KiB on a 16 MiB memtable (the
/// store writes its memtable out every few hundred of them), the child killed after a random
/// stretch of seconds. Every acknowledged cycle is there whole, and the data dir shows the
/// flushes happened.
#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_cycles_survive_sigkill_across_memtable_flushes() {
    const BULK_ROUNDS: usize = 6;
    let dir = tempfile::tempdir().unwrap();
    with_counter(dir.path()).await;
    let mut acked: Vec<u64> = Vec::new();
    let mut next = 0u64;
    for round in 0..BULK_ROUNDS {
        acked.extend(run_then_kill(
            &[
                dir.path().as_os_str(),
                next.to_string().as_ref(),
                "--bulk".as_ref(),
            ],
            500..4000,
            &format!("round {round}: the child acknowledged nothing"),
        ));
        let telos = open_on_disk(dir.path()).await;
        let image = telos.image();
        for n in &acked {
            let o = image
                .resolve(&format!("crash-{n}"))
                .unwrap_or_else(|e| panic!("round {round}: acknowledged cycle {n} lost: {e}"));
            assert_eq!((slot(&o, "n"), slot(&o, "twin")), (json!(n), json!(n)));
            assert_eq!(slot(&o, "payload").as_str().map(str::len), Some(64 << 10));
        }
        let last = slot(&image.resolve("counter").unwrap(), "last");
        next = (acked.iter().max().unwrap() + 1).max(last.as_u64().map_or(0, |l| l + 1));
        telos.shutdown().await.unwrap();
    }
    let written = acked.len() as u64 * (64 << 10);
    let tables = std::fs::read_dir(dir.path().join("image/sstables"))
        .map(|d| d.count())
        .unwrap_or(0);
    println!(
        "{} cycles ({} MiB) acknowledged over {BULK_ROUNDS} killed runs; {tables} tables on disk",
        acked.len(),
        written >> 20
    );
    assert!(
        written > 16 << 20 && tables > 0,
        "the runs wrote {written} bytes and left {tables} tables: no memtable was flushed"
    );
}

/// DESIGN invariant 1 when the kill lands in a replace (a document's new rows written, its
/// cycle, its old rows deleted) or in the restart itself (opening, reconciling): one file
/// rewritten and dropped on BRICK again and again, the child killed at random, and the
/// restart killed too in every other round before a restart is let finish. Memory then holds
/// exactly the image's one document, as it was last acknowledged or later.
#[tokio::test(flavor = "multi_thread")]
async fn a_document_replaced_under_sigkill_and_a_killed_restart_leave_memory_consistent() {
    const REPLACE_ROUNDS: usize = 10;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let mut acked: Vec<u64> = Vec::new();
    let mut next = 0u64;
    let mut rng = rand::rng();
    for round in 0..REPLACE_ROUNDS {
        acked.extend(run_then_kill(
            &[
                dir.as_os_str(),
                next.to_string().as_ref(),
                "--replace".as_ref(),
            ],
            0..1500,
            &format!("round {round}: the child replaced nothing"),
        ));
        if round % 2 == 1 {
            // A restart killed while it opens and reconciles.
            let mut doctor = Command::new(telos_exe())
                .arg("--data-dir")
                .arg(&dir)
                .args(["doctor", "--json"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(rng.random_range(0..1500)));
            let _ = doctor.kill();
            doctor.wait().unwrap();
        }
        let health = telos_doctor(&dir);
        assert_eq!(
            (&health["orphans"], &health["missing"], &health["differing"]),
            (&json!(0), &json!(0), &json!(0)),
            "round {round}: after restart {health}"
        );
        assert_eq!(health["documents"], json!(1), "round {round}: {health}");
        assert_eq!(
            health["store_rows"], health["image_chunks"],
            "round {round}"
        );
        // each replace moved the chunks between concepts in its own cycle
        assert_eq!(
            health["concept_rows"], health["concepts"],
            "round {round}: {health}"
        );
        let telos = open_on_disk(&dir).await;
        let brick = telos.image().resolve("BRICK").unwrap();
        let doc = telos.image().get(&brick.links["memory"][0]).unwrap();
        let first_chunk = telos.image().get(&doc.links["chunks"][0]).unwrap();
        let version: u64 = slot(&first_chunk, "text")
            .as_str()
            .and_then(|t| t.strip_prefix("version "))
            .and_then(|t| t.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("round {round}: {first_chunk:?}"));
        let newest = *acked.iter().max().unwrap();
        assert!(
            version >= newest,
            "round {round}: memory holds version {version}, {newest} was acknowledged"
        );
        let hits = telos
            .recall(
                Some("BRICK"),
                &format!("the keeper of lighthouse number {version}"),
                1,
            )
            .await
            .unwrap();
        assert_eq!(hits[0].document, doc.id.to_string(), "round {round}");
        next = version + 1;
        telos.shutdown().await.unwrap();
    }
    println!(
        "{} replacements acknowledged over {REPLACE_ROUNDS} killed runs",
        acked.len()
    );
}

const SYMBOL_ROUNDS: usize = 8;

/// DESIGN invariant 1 for the cleanup memory: a child makes BABS's symbols (an atom and a
/// composite of it per number, each a row written then a cycle committed) and is killed at
/// random moments. After every restart the cleanup memory holds a row per symbol the image
/// holds, no more, and every acknowledged composite still answers what it binds.
#[tokio::test(flavor = "multi_thread")]
async fn symbols_stay_consistent_with_the_image_through_sigkill() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let mut acked: Vec<u64> = Vec::new();
    let mut next = 0u64;
    for round in 0..SYMBOL_ROUNDS {
        let this_round = run_then_kill(
            &[
                dir.as_os_str(),
                next.to_string().as_ref(),
                "--symbols".as_ref(),
            ],
            0..600,
            &format!("round {round}: the child made no symbol"),
        );
        acked.extend(&this_round);
        let health = telos_doctor(&dir);
        assert_eq!(
            health["symbol_rows"], health["symbols"],
            "round {round}: after restart {health}"
        );
        let telos = open_on_disk(&dir).await;
        for n in &this_round {
            let answer = telos
                .vsa_query(None, &format!("r{n} / topic"), 1)
                .await
                .unwrap_or_else(|e| panic!("round {round}: r{n}: {e}"));
            assert_eq!(
                answer.hits[0].name,
                format!("a{n}"),
                "round {round}: {answer:?}"
            );
        }
        next = acked.iter().max().unwrap() + 1;
        telos.shutdown().await.unwrap();
    }
    println!(
        "{} symbol pairs acknowledged over {SYMBOL_ROUNDS} killed runs; all answer",
        acked.len()
    );
}

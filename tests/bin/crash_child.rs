//! The crash test's child: commits cycles in a loop on a data dir and prints `ACK n` after each
//! commit is acknowledged, until it is killed. With `--ingest`, it instead writes documents
//! n, n + 1, … into DATA_DIR/../docs and drops them on BRICK in batches of 16, as the desktop
//! and `telos ingest` do, printing `ACK n` as each file's ingest reports it done. With
//! `--replace`, it rewrites one file (`version n`) and drops it on BRICK again and again, so
//! each ingest replaces the document's chunks. With `--bulk`, the cycles also carry a 64 KiB
//! payload on a 16 MiB memtable, so the store flushes it to disk every few hundred cycles.
//! With `--symbols`, it makes BABS's atom `an` and composite `rn` = `topic * an` for n, n + 1,
//! …, printing `ACK n` once both are made.
//! Test tooling, not part of the product.
//!
//! Usage: crash-child DATA_DIR START [--ingest | --replace | --bulk | --symbols]

use std::io::Write;

use serde_json::json;
use telos_core::IngestEvent;
use telos_core::memory::{Progress, Stage};

/// Files per drop.
const BATCH: usize = 16;
/// Memory's index threshold here (the crash test's restarts pass the same to `telos`).
const INDEX_THRESHOLD: usize = 48;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: crash-child DATA_DIR START");
    let start: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .expect("START must be a number");
    let mode = args.next().unwrap_or_default();
    let ingest = mode == "--ingest";
    let bulk = mode == "--bulk";
    let mut config = telos_core::Config::from_data_dir(&dir);
    config.llm = telos_core::scheduler::Mode::Ollama;
    if bulk {
        config.store.memtable_bytes = 16 << 20;
    }
    // Batches of documents pass it soon, so the IVF index is built (and rebuilt as memory
    // grows by half) in the background while the kills land.
    config.index_threshold = INDEX_THRESHOLD;
    let telos = telos_core::Telos::open(config).await.expect("open");
    let image = telos.image();
    let mut out = std::io::stdout();
    if mode == "--replace" {
        let file = std::path::Path::new(&dir).join("../churn.md");
        for n in start.. {
            let text = format!("version {n}\n\n{}", telos_tests::crash_document(n));
            std::fs::write(&file, text).expect("write the document");
            drop_acked(&telos, std::slice::from_ref(&file), |_| n.to_string()).await;
        }
    }
    if mode == "--symbols" {
        // The kills land in symbol writes: a row written, then the cycle that names it.
        telos.vsa_atom(None, "topic").await.expect("the atom topic");
        for n in start.. {
            telos
                .vsa_atom(None, &format!("a{n}"))
                .await
                .expect("an atom");
            telos
                .vsa_compose(None, &format!("r{n}"), &format!("topic * a{n}"))
                .await
                .expect("a composite");
            writeln!(out, "ACK {n}").expect("stdout");
            out.flush().expect("stdout");
        }
    }
    let payload = if bulk {
        "p".repeat(64 << 10)
    } else {
        String::new()
    };
    if ingest {
        let docs = std::path::Path::new(&dir).join("../docs");
        std::fs::create_dir_all(&docs).expect("docs dir");
        for batch in (start..).step_by(BATCH) {
            let files: Vec<std::path::PathBuf> = (batch..batch + BATCH as u64)
                .map(|n| {
                    let file = docs.join(format!("doc-{n}.md"));
                    std::fs::write(&file, telos_tests::crash_document(n)).expect("write document");
                    file
                })
                .collect();
            drop_acked(&telos, &files, |path| {
                path.rsplit_once("doc-")
                    .and_then(|(_, n)| n.strip_suffix(".md"))
                    .expect("a document of this batch")
                    .to_string()
            })
            .await;
        }
    }
    for n in start.. {
        let mut c = image.begin("crash test");
        // Three writes in one cycle: a new object with two slots and a counter bump. After a
        // crash, each cycle must be there in full or not at all.
        let id = c.create(&format!("crash-{n}"), &[]).expect("create");
        c.set_slot(&id, "n", json!(n)).expect("slot n");
        c.set_slot(&id, "twin", json!(n)).expect("slot twin");
        if bulk {
            c.set_slot(&id, "payload", json!(payload)).expect("payload");
        }
        let counter = c.resolve("counter").expect("counter exists");
        c.set_slot(&counter, "last", json!(n)).expect("counter");
        c.commit().await.expect("commit");
        writeln!(out, "ACK {n}").expect("stdout");
        out.flush().expect("stdout");
    }
}

/// Drops `files` on BRICK and prints `ACK n` as each one is done, `n` being what `number`
/// makes of its path; a file that fails ends the child.
async fn drop_acked(
    telos: &telos_core::Telos,
    files: &[std::path::PathBuf],
    number: impl Fn(&str) -> String,
) {
    let mut out = std::io::stdout();
    let mut events = telos.ingest("BRICK", files).expect("ingest");
    while let Some(event) = events.recv().await {
        match event {
            IngestEvent::File(Progress {
                path,
                stage: Stage::Done { .. },
            }) => {
                writeln!(out, "ACK {}", number(&path)).expect("stdout");
                out.flush().expect("stdout");
            }
            IngestEvent::File(Progress {
                path,
                stage: Stage::Failed { error },
            }) => panic!("{path}: {error}"),
            // A drop ends once its files are done (the summaries that follow need Ollama,
            // which is not here).
            IngestEvent::Finished(_) => break,
            _ => {}
        }
    }
}

//! The crash test's child: commits cycles in a loop on a data dir and prints `ACK n` after each
//! commit is acknowledged, until it is killed. With `--ingest`, it instead writes document n
//! into DATA_DIR/../docs and has BRICK remember it, printing `ACK n` once the ingest returns.
//! Test tooling, not part of the product.
//!
//! Usage: crash-child DATA_DIR START [--ingest]

use std::io::Write;

use serde_json::json;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: crash-child DATA_DIR START");
    let start: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .expect("START must be a number");
    let ingest = args.next().as_deref() == Some("--ingest");
    let telos = telos_tests::open_on_disk(std::path::Path::new(&dir)).await;
    let image = telos.image();
    let mut out = std::io::stdout();
    if ingest {
        let docs = std::path::Path::new(&dir).join("../docs");
        std::fs::create_dir_all(&docs).expect("docs dir");
        let brick = image.resolve("BRICK").expect("BRICK").id.clone();
        for n in start.. {
            let file = docs.join(format!("doc-{n}.md"));
            std::fs::write(&file, telos_tests::crash_document(n)).expect("write document");
            telos
                .memory()
                .ingest_file(&brick, &file, &|_| {})
                .await
                .expect("ingest");
            writeln!(out, "ACK {n}").expect("stdout");
            out.flush().expect("stdout");
        }
    }
    for n in start.. {
        let mut c = image.begin("crash test");
        // Three writes in one cycle: a new object with two slots and a counter bump. After a
        // crash, each cycle must be there in full or not at all.
        let id = c.create(&format!("crash-{n}"), &[]).expect("create");
        c.set_slot(&id, "n", json!(n)).expect("slot n");
        c.set_slot(&id, "twin", json!(n)).expect("slot twin");
        let counter = c.resolve("counter").expect("counter exists");
        c.set_slot(&counter, "last", json!(n)).expect("counter");
        c.commit().await.expect("commit");
        writeln!(out, "ACK {n}").expect("stdout");
        out.flush().expect("stdout");
    }
}

//! A second Telos process on one image (tests/image/server.rs): opens Telos with its
//! endpoint and credentials from the environment, as `telos` does (TELOS_ENDPOINT,
//! TELOS_DB_USER, TELOS_DB_PASS, TELOS_DB_NAME), prints `READY`, then applies each line of
//! stdin (a JSON list of operations, as `telos apply` takes) as one cycle, printing
//! `OK CYCLE` or `ERR MESSAGE`; and prints `SAW NAME VERSION` for each change another process
//! makes that its live view hears. Test tooling, not part of the product.
//!
//! Usage: image-writer DATA_DIR

use std::io::Write;

use telos_core::image::ops::{Op, apply};
use tokio::io::AsyncBufReadExt;

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[tokio::main]
async fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: image-writer DATA_DIR");
    let mut config = telos_core::Config::resolve(Some(std::path::Path::new(&dir)), None)
        .unwrap_or_else(|e| panic!("configuration: {e}"));
    config.llm = telos_core::scheduler::Mode::Ollama;
    let telos = telos_core::Telos::open(config)
        .await
        .unwrap_or_else(|e| panic!("opening Telos: {e}"));
    let image = telos.image().clone();
    let mut changes = image.subscribe();
    let mine = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
    let seen = mine.clone();
    tokio::spawn(async move {
        while let Ok(change) = changes.recv().await {
            if !seen.lock().unwrap().contains(&change.cycle) {
                say(&format!("SAW {} {}", change.name, change.version));
            }
        }
    });
    say("READY");
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let ops: Vec<Op> = match serde_json::from_str(&line) {
            Ok(ops) => ops,
            Err(e) => {
                say(&format!("ERR bad operations: {e}"));
                continue;
            }
        };
        match apply(&image, "image-writer", &ops).await {
            Ok(record) => {
                mine.lock().unwrap().insert(record.id.clone());
                say(&format!("OK {}", record.id));
            }
            Err(e) => say(&format!("ERR {e}")),
        }
    }
    telos.shutdown().await.expect("shutdown");
}

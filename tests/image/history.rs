//! History that does not grow without bound: a chat's record holds its exchange, not the
//! scrapbook; old settled records are pruned (suspended ones stay); 10,000 chats keep the
//! data dir under a stated bound.

use serde_json::json;
use telos_image::ops::{self, Op};
use telos_image::{CycleStatus, Endpoint, Image, StoreOptions};

/// One exchange as a chat records it (about 1 KB).
fn exchange(i: usize) -> serde_json::Value {
    json!({
        "at": 1_700_000_000_000u64 + i as u64,
        "user": format!("question {i}: {}", "what did the harbour log say about the tide? ".repeat(4)),
        "reply": format!("answer {i}: {}", "high tide came at 06:12, two minutes late. ".repeat(12)),
        "cut": false,
        "model": "smollm2:135m",
        "runtime": "embedded",
        "recalled": [],
        "recall_scores": [],
        "grounding": null,
    })
}

fn append(i: usize) -> Op {
    Op::Append {
        object: "BABS".into(),
        slot: "scrapbook".into(),
        value: exchange(i),
        keep: Some(200),
    }
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    walk(dir).iter().map(|(_, n)| n).sum()
}

fn walk(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u64)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        // A file tidied away (compaction) between the listing and its size takes no room.
        let meta = match e.metadata() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            meta => meta.unwrap(),
        };
        if meta.is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push((e.path(), meta.len()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_chats_keep_the_history_and_the_data_dir_bounded() {
    const CHATS: usize = 10_000;
    const KEEP: usize = 1_000;
    let dir = tempfile::tempdir().unwrap();
    let endpoint = Endpoint::SurrealKv {
        path: dir.path().join("image"),
    };
    let options = StoreOptions {
        history_keep: KEEP,
        ..StoreOptions::default()
    };
    let image = Image::open(&endpoint, &options).await.unwrap();
    super::new_babs(&image).await;
    // A suspended cycle from the start: retention keeps it however old it gets.
    let suspended = ops::apply(
        &image,
        "a failing program",
        &[Op::Set {
            object: "nobody".into(),
            slot: "x".into(),
            value: json!(1),
        }],
    )
    .await
    .unwrap_err();
    let suspended_id = image.cycles(1).await.unwrap()[0].id.clone();
    assert!(!suspended.to_string().is_empty());
    let started = std::time::Instant::now();
    let mut sizes = Vec::new();
    let mut peak = 0;
    for i in 0..CHATS {
        let record = ops::apply(&image, "chat BABS", &[append(i)]).await.unwrap();
        if i == 0 || i == CHATS - 1 {
            // The record holds the exchange appended, not the scrapbook (200 entries by the
            // end).
            let bytes = serde_json::to_vec(&record).unwrap().len();
            sizes.push(bytes);
            assert_eq!(record.steps.len(), 1, "{record:?}");
            assert_eq!(record.steps[0].op, "append");
            assert_eq!(record.steps[0].detail["value"], exchange(i));
        }
        if (i + 1) % 500 == 0 {
            let bytes = dir_bytes(dir.path());
            peak = peak.max(bytes);
            if (i + 1) % 2_500 == 0 {
                eprintln!(
                    "{} chats in {:.1} s: data dir {:.1} MiB",
                    i + 1,
                    started.elapsed().as_secs_f64(),
                    bytes as f64 / 1048576.0
                );
            }
        }
    }
    let scrapbook = image.resolve("BABS").unwrap().slots["scrapbook"].clone();
    assert_eq!(scrapbook.as_array().unwrap().len(), 200);
    assert!(
        sizes.iter().all(|&b| b < 4096),
        "a chat's record is {sizes:?} bytes (one exchange is about 1 KB)"
    );
    // Pruned every 256 commits: at most KEEP + 256 records, the suspended one among them.
    let history = image.cycles(CHATS).await.unwrap();
    assert!(
        history.len() <= KEEP + 256 + 1 && history.len() >= KEEP,
        "{} cycle records kept",
        history.len()
    );
    assert!(
        history
            .iter()
            .any(|r| r.id == suspended_id && r.status == CycleStatus::Aborted),
        "the suspended cycle was pruned"
    );
    image.shutdown().await.unwrap();
    drop(image);
    // Reopening prunes to the bound.
    let image = Image::open(&endpoint, &options).await.unwrap();
    let history = image.cycles(CHATS).await.unwrap();
    assert!(
        history.len() <= KEEP + 1,
        "{} after reopening",
        history.len()
    );
    assert!(history.iter().any(|r| r.id == suspended_id));
    image.shutdown().await.unwrap();
    drop(image);
    let bytes = dir_bytes(dir.path());
    let memtable = options.memtable_bytes;
    eprintln!(
        "{CHATS} chats: data dir {:.1} MiB at the end, {:.1} MiB at most (memtable {} MiB); \
         a chat's record {sizes:?} bytes; {:.1} s",
        bytes as f64 / 1048576.0,
        peak as f64 / 1048576.0,
        memtable >> 20,
        started.elapsed().as_secs_f64()
    );
    // The bound (README): the live data (a 200-entry scrapbook of about 1 KB each and 1,000
    // records, a few MB) plus five memtables of older versions waiting for compaction. The
    // chats wrote 10,000 versions of a 200 KB object: 2 GB.
    let live = 16 << 20;
    assert!(
        peak < live + 5 * memtable,
        "the data dir reached {peak} bytes (bound {})",
        live + 5 * memtable
    );
}

//! Storage that survives what disks do: a full disk fails a commit cleanly (the world in
//! memory and the store agree), leaves the image read-only with the reason, and writing
//! resumes when space returns; a commit the store did not confirm is read back, never recorded
//! as aborted when it persisted. Needs root (a small tmpfs).

use serde_json::json;
use telos_image::ops::{self, Op};
use telos_image::{CycleStatus, Endpoint, Image, StoreOptions};
use telos_tests::SmallDisk;

fn append(value: &str) -> Op {
    Op::Append {
        object: "BABS".into(),
        slot: "scrapbook".into(),
        value: json!(value),
        keep: None,
    }
}

fn scrapbook(image: &Image) -> Vec<serde_json::Value> {
    image
        .resolve("BABS")
        .unwrap()
        .slots
        .get("scrapbook")
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_the_commit_cleanly_and_writing_resumes_when_space_returns() {
    let disk = SmallDisk::new(24);
    let endpoint = Endpoint::SurrealKv {
        path: disk.path.join("image"),
    };
    let options = StoreOptions {
        memtable_bytes: 16 << 20,
        ..StoreOptions::default()
    };
    let image = Image::open(&endpoint, &options).await.unwrap();
    super::new_babs(&image).await;
    ops::apply(&image, "chat", &[append("before")])
        .await
        .unwrap();
    assert!(image.read_only().is_none());
    let filler = disk.fill();

    let big = "x".repeat(200_000);
    for _ in 0..3 {
        let e = ops::apply(&image, "chat", &[append(&big)])
            .await
            .unwrap_err();
        assert!(e.to_string().contains("No space left on device"), "{e}");
    }
    let why = image.read_only().expect("read-only after a full disk");
    assert!(!why.until_reopened);
    assert!(
        why.reason.contains("has 0 MiB free") && why.reason.contains("free some space"),
        "{}",
        why.reason
    );
    // Nothing of the failed commits in memory; reads go on.
    assert_eq!(scrapbook(&image), vec![json!("before")]);
    assert!(image.check_space(), "still full");

    std::fs::remove_file(&filler).unwrap();
    assert!(!image.check_space(), "space returned: writing again");
    assert!(image.read_only().is_none());
    ops::apply(&image, "chat", &[append("after")])
        .await
        .unwrap();
    assert_eq!(scrapbook(&image), vec![json!("before"), json!("after")]);
    image.shutdown().await.unwrap();
    drop(image);

    // The store agrees with what memory held.
    let image = Image::open(&endpoint, &options).await.unwrap();
    assert_eq!(scrapbook(&image), vec![json!("before"), json!("after")]);
    let committed: Vec<String> = image
        .cycles(50)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.status == CycleStatus::Committed)
        .map(|r| r.trigger)
        .collect();
    assert_eq!(committed, ["chat", "chat", "setup"]);
    image.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_commit_the_store_did_not_confirm_is_read_back_and_stands() {
    let image = Image::in_memory().await.unwrap();
    super::new_babs(&image).await;
    image.unconfirm_next_commit();
    let record = ops::apply(&image, "chat", &[append("landed")])
        .await
        .unwrap();
    assert_eq!(record.status, CycleStatus::Committed);
    assert_eq!(scrapbook(&image), vec![json!("landed")]);
    let history = image.cycles(10).await.unwrap();
    assert!(
        history.iter().all(|r| r.status == CycleStatus::Committed),
        "recorded as aborted although it persisted: {history:?}"
    );
    assert_eq!(history[0].id, record.id);
    // The next commit builds on it.
    ops::apply(&image, "chat", &[append("next")]).await.unwrap();
    assert_eq!(scrapbook(&image), vec![json!("landed"), json!("next")]);
}

//! Memory on object storage (`TELOS_MEMORY_URI=s3://BUCKET/PATH`) against a local S3 server
//! (moto's, `telos_tests::moto`): ingest, recall, the index build, reconcile, and a reopen —
//! the same calls as on disk, through LanceDB's S3 object store.

use super::*;
use telos_tests::moto::Moto;

#[tokio::test(flavor = "multi_thread")]
async fn ingest_recall_index_and_reconcile_work_on_an_s3_bucket() {
    let s3 = Moto::start();
    s3.bucket("telos");
    let dir = tempfile::tempdir().unwrap();
    let image = awake_in_memory().await;
    let brick = image.resolve("BRICK").unwrap().id.clone();
    let open = |threshold| {
        let mut config = MemoryConfig::new("s3://telos/memory");
        config.storage_options = s3.storage_options();
        config.embedder = Arc::new(|| Ok(minilm()));
        config.index_threshold = threshold;
        Memory::open(image.clone(), config)
    };
    let memory = open(40).await.expect("memory on S3");
    let tides = dir.path().join("tides.txt");
    std::fs::write(&tides, index::almanac(true, 1200)).unwrap();
    let rows = memory
        .ingest_file(&brick, &tides, &quiet)
        .await
        .unwrap()
        .chunks as usize;
    assert!(rows >= 40, "{rows} chunks");
    memory
        .ingest_file(&brick, &fixture("docs/page.html"), &quiet)
        .await
        .unwrap();
    let hits = memory
        .recall(Some(&brick), "how do I oil a bicycle chain?", 3)
        .await
        .unwrap();
    assert!(hits[0].source.ends_with("page.html"), "{hits:?}");

    // Past the threshold the index is built, on the bucket (the page's rows came after it
    // and are searched flat until the table grows by half).
    memory.index_settled().await;
    let health = memory.doctor().await.unwrap();
    assert_eq!(health.index_error, None);
    assert!(
        matches!(health.index, IndexState::Indexed { indexed, .. } if indexed >= rows),
        "{:?}",
        health.index
    );
    let ids = memory.store().chunk_ids().await.unwrap();

    // A row lost behind memory's back is restored by reconcile.
    memory.store().delete_chunks(&ids[..1]).await.unwrap();
    assert_eq!(memory.doctor().await.unwrap().missing, 1);
    let healed = memory.reconcile().await.unwrap();
    assert_eq!((healed.orphans, healed.missing), (0, 0));
    drop(memory);

    // Opened again, it finds its tables in the bucket, not on this machine's disk.
    let again = open(40).await.unwrap();
    assert_eq!(again.store().chunk_ids().await.unwrap().len(), ids.len());
    let hits = again
        .recall(Some(&brick), "the tug went over Gull Point at ten", 1)
        .await
        .unwrap();
    assert!(hits[0].source.ends_with("tides.txt"), "{hits:?}");
    assert!(!std::path::Path::new("s3:").exists());
    // A backup says it cannot hold memory that is not on this machine.
    let held = again.hold_for_backup("c1").await.err().expect("refused");
    assert!(held.to_string().contains("object storage"), "{held}");
}

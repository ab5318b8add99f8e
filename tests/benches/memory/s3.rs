//! Part `s3` of `memory_bench`: recall with memory on object storage against local disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use telos_memory::{Embedder, Memory, MemoryConfig};
use telos_tests::bench::percentile;

use super::{K, mixed_corpus};

/// Recall p50 with memory in an S3 bucket (moto's server on 127.0.0.1) vs on local disk: the
/// same documents ingested into each, the same queries.
pub(crate) async fn recall(root: &Path, model: &Arc<dyn Embedder>, scale: f64) {
    let corpus = mixed_corpus(root, (2_000_000.0 * scale.min(1.0)) as u64);
    let s3 = telos_tests::moto::Moto::start();
    s3.bucket("bench");
    let dir = tempfile::tempdir().expect("temp dir");
    let image = telos_image::Image::in_memory().await.expect("image");
    telos_core::persona::awaken(&image).await.expect("awaken");
    let brick = image.resolve("BRICK").expect("BRICK").id.clone();
    let open = |at: PathBuf, options: Vec<(String, String)>| {
        let mut config = MemoryConfig::new(at);
        config.storage_options = options;
        let shared = model.clone();
        config.embedder = Arc::new(move || Ok(shared.clone()));
        Memory::open(image.clone(), config)
    };
    let local = open(dir.path().join("memory"), Vec::new())
        .await
        .expect("memory on disk");
    let remote = open("s3://bench/memory".into(), s3.storage_options())
        .await
        .expect("memory on S3");
    let mut chunks = 0;
    for file in &corpus {
        // The second ingest of a file finds its document in the image: chunks are copied
        // into the other table by reconciling below.
        if let Ok(r) = local.ingest_file(&brick, file, &|_| {}).await {
            chunks += r.chunks;
        }
    }
    remote
        .reconcile()
        .await
        .expect("the S3 table filled from the image");
    let queries = [
        "how is the index built",
        "what does the scheduler unload first",
        "error handling of a failed commit",
        "reading a PDF file",
        "the persona's codex",
    ];
    let time = |memory: Memory| {
        let brick = brick.clone();
        async move {
            let mut samples = Vec::new();
            for round in 0..10 {
                for q in queries {
                    let t = Instant::now();
                    let hits = memory.recall(Some(&brick), q, K).await.expect("recall");
                    if round > 0 {
                        samples.push(t.elapsed().as_secs_f64() * 1e3);
                    }
                    std::hint::black_box(hits);
                }
            }
            percentile(&mut samples, 0.5)
        }
    };
    let (disk, bucket) = (time(local).await, time(remote).await);
    println!(
        "recall p50 with memory on an S3 server (moto on 127.0.0.1) vs local disk, {chunks} chunks: \
         {bucket:.1} ms vs {disk:.1} ms → {:.1}× (reported)",
        bucket / disk
    );
}

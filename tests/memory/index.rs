//! The IVF index: built in the background past the threshold, searched beside unindexed rows.

use super::*;

/// A long text of short numbered paragraphs (many chunks): tides, or else winds.
pub(crate) fn almanac(tides: bool, entries: usize) -> String {
    let (what, subjects, places) = if tides {
        (
            "Tide",
            [
                "ferry", "barge", "skiff", "trawler", "ketch", "dinghy", "tug",
            ],
            [
                "the weir",
                "the old mill",
                "Gull Point",
                "the north quay",
                "the sandbar",
            ],
        )
    } else {
        (
            "Wind",
            [
                "gale", "breeze", "squall", "gust", "zephyr", "storm", "draught",
            ],
            [
                "the moor",
                "the pine hills",
                "the orchard",
                "the chapel roof",
                "the barley",
            ],
        )
    };
    (0..entries)
        .map(|i| {
            format!(
                "{what} log {i}: the {} went over {} at {} o'clock.\n\n",
                subjects[i % subjects.len()],
                places[i % places.len()],
                i % 12 + 1,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn past_the_threshold_the_index_is_built_in_the_background_at_ingest_and_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let image = awake_in_memory().await;
    let brick = image.resolve("BRICK").unwrap().id.clone();
    let open = |threshold| {
        let mut config = MemoryConfig::new(dir.path().join("memory"));
        config.embedder = Arc::new(|| Ok(minilm()));
        config.index_threshold = threshold;
        Memory::open(image.clone(), config)
    };
    let (first, second) = (dir.path().join("tides.txt"), dir.path().join("winds.txt"));
    std::fs::write(&first, almanac(true, 1200)).unwrap();
    std::fs::write(&second, almanac(false, 1200)).unwrap();

    // Flat, under a threshold never reached.
    let flat = open(usize::MAX).await.unwrap();
    let rows = flat
        .ingest_file(&brick, &first, &quiet)
        .await
        .unwrap()
        .chunks as usize;
    assert!(rows >= 40, "{rows} chunks");
    assert!(!flat.index_building());
    let query = "the tug went over Gull Point at ten";
    let exact = flat.recall(Some(&brick), query, 5).await.unwrap();
    drop(flat);

    // Opened with a threshold the table is past: reconciling starts the build.
    let memory = open(40).await.unwrap();
    let health = memory.reconcile().await.unwrap();
    assert!(
        matches!(
            health.index,
            IndexState::Building { .. } | IndexState::Indexed { .. }
        ),
        "{:?}",
        health.index
    );
    memory.index_settled().await;
    let health = memory.doctor().await.unwrap();
    assert_eq!(
        (health.index.clone(), health.index_error),
        (
            IndexState::Indexed {
                kind: telos_memory::IndexKind::IvfHnswSq,
                indexed: rows,
                unindexed: 0
            },
            None
        )
    );
    let indexed = memory.recall(Some(&brick), query, 5).await.unwrap();
    assert_eq!(
        (indexed[0].chunk_index, &indexed[0].source),
        (exact[0].chunk_index, &exact[0].source)
    );

    // An ingest that grows the table by half starts a rebuild and does not wait for it;
    // search goes on meanwhile and finds the new rows (the unindexed ones are searched flat).
    let added = memory.ingest_file(&brick, &second, &quiet).await.unwrap();
    let building = memory.index_building();
    let found = memory
        .recall(Some(&brick), "a squall went over the orchard", 5)
        .await
        .unwrap();
    assert!(found[0].text.contains("Wind log"), "{:?}", found[0]);
    memory.index_settled().await;
    let total = rows + added.chunks as usize;
    let state = memory.doctor().await.unwrap().index;
    assert_eq!(
        state,
        IndexState::Indexed {
            kind: telos_memory::IndexKind::IvfHnswSq,
            indexed: total,
            unindexed: 0
        },
        "a rebuild was running after the ingest: {building}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn switching_to_the_ivf_index_keeps_results_correct() {
    let dir = tempfile::tempdir().unwrap();
    let (memory, brick, _) = memory(dir.path()).await;
    // 4,096 clustered unit vectors: 64 centres, 64 noisy points around each.
    let mut seed = 7u64;
    let mut rnd = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    };
    let unit = |v: Vec<f32>| {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect::<Vec<f32>>()
    };
    let centres: Vec<Vec<f32>> = (0..64)
        .map(|_| unit((0..DIM).map(|_| rnd()).collect()))
        .collect();
    let mut rows = Vec::new();
    for (c, centre) in centres.iter().enumerate() {
        for i in 0..64 {
            let v = unit(centre.iter().map(|x| x + 0.05 * rnd()).collect());
            rows.push(Row {
                chunk_id: format!("c{c}-{i}"),
                persona: brick.to_string(),
                document: format!("d{c}"),
                source: format!("/synthetic/{c}.txt"),
                content_hash: "0".repeat(64),
                chunk_index: i,
                page: None,
                offset: 0,
                text: String::new(),
                vector: v,
                created: 0,
                cycle: "synthetic".into(),
            });
        }
    }
    let queries: Vec<Vec<f32>> = rows.iter().step_by(97).map(|r| r.vector.clone()).collect();
    memory.store().add(&rows).await.unwrap();
    let store = memory.store();
    let mut exact = Vec::new();
    for q in &queries {
        exact.push(
            store
                .search(q, Some(&brick.to_string()), 10, Tuning::EXACT)
                .await
                .unwrap(),
        );
    }
    memory.build_index().await.unwrap();
    assert!(matches!(
        memory.doctor().await.unwrap().index,
        telos_memory::IndexState::Indexed { .. }
    ));
    let mut found = 0;
    for (q, truth) in queries.iter().zip(&exact) {
        let got = store
            .search(q, Some(&brick.to_string()), 10, Tuning::default())
            .await
            .unwrap();
        assert_eq!(
            got[0].chunk_id, truth[0].chunk_id,
            "a stored vector finds itself first"
        );
        found += got
            .iter()
            .filter(|h| truth.iter().any(|t| t.chunk_id == h.chunk_id))
            .count();
    }
    let recall = found as f64 / (10 * queries.len()) as f64;
    println!("recall@10 after the switch: {recall:.3}");
    assert!(recall >= 0.9, "recall@10 {recall}");
}

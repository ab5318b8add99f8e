//! The cleanup memory's table (`hypervectors`): symbols in, noisy vectors cleaned up to them,
//! each codebook apart, exact similarities back, and a change of dimension survived.

use telos_memory::hyper::{HyperStore, Search, SymbolRow};
use telos_vsa::{Expr, Hv};

fn row(codebook: &str, name: &str, dim: usize) -> SymbolRow {
    SymbolRow {
        id: format!("{codebook}/{name}"),
        codebook: codebook.into(),
        name: name.into(),
        kind: "atom".into(),
        expression: String::new(),
        vector: Hv::atom(codebook, name, dim),
        cycle: "test".into(),
    }
}

const NAMES: [&str; 8] = [
    "topic", "source", "persona", "rust", "doc7", "babs", "cats", "doc9",
];

async fn filled(dir: &std::path::Path, dim: usize) -> HyperStore {
    let store = HyperStore::open(dir, dim).await.unwrap();
    for codebook in ["BABS", "ROBIN"] {
        let rows: Vec<SymbolRow> = NAMES.iter().map(|n| row(codebook, n, dim)).collect();
        store.add(&rows).await.unwrap();
    }
    store
}

#[tokio::test]
async fn a_record_unbound_by_a_role_cleans_up_to_its_filler_in_its_own_codebook() {
    let dir = tempfile::tempdir().unwrap();
    let dim = 6000; // above the sketch: the index searches the first 4,096 components
    let store = filled(dir.path(), dim).await;
    let babs = |n: &str| Ok::<_, ()>(Hv::atom("BABS", n, dim));
    let q = Expr::parse("(topic * rust + source * doc7 + persona * babs) / source")
        .unwrap()
        .eval(&mut |n| babs(n))
        .unwrap();
    for indexed in [false, true] {
        if indexed {
            store.build_index().await.unwrap();
            assert!(store.indexed().await);
        }
        for search in [Search::default(), Search::EXACT] {
            let found = store.cleanup(&q, Some("BABS"), 3, search).await.unwrap();
            assert_eq!(
                found[0].name, "doc7",
                "{search:?}, indexed {indexed}: {found:?}"
            );
            assert_eq!(found[0].codebook, "BABS");
            // exact cosine, whatever the search: 1/√3 for one pair of three
            let exact = q.similarity(&Hv::atom("BABS", "doc7", dim));
            assert!(
                (found[0].similarity - exact).abs() < 1e-4,
                "{found:?} vs {exact}"
            );
            assert!(found[1].similarity < 0.1, "{found:?}");
        }
        // ROBIN's atoms of the same names are other vectors: nothing there is near
        let theirs = store
            .cleanup(&q, Some("ROBIN"), 1, Search::default())
            .await
            .unwrap();
        assert!(theirs[0].similarity < 0.1, "{theirs:?}");
        let any = store.cleanup(&q, None, 1, Search::default()).await.unwrap();
        assert_eq!(
            (any[0].codebook.as_str(), any[0].name.as_str()),
            ("BABS", "doc7")
        );
    }
    assert_eq!(store.count().await.unwrap(), 16);
    let keys = store.keys().await.unwrap();
    assert!(
        keys.iter()
            .any(|k| k.id == "ROBIN/cats" && k.kind == "atom")
    );
    store.delete(&["ROBIN/cats".to_owned()]).await.unwrap();
    assert_eq!(store.count().await.unwrap(), 15);
}

#[tokio::test]
async fn a_wrong_dimension_is_refused_by_name_and_a_new_dimension_starts_the_table_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path(), 256).await;
    let err = store.add(&[row("BABS", "odd", 128)]).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("\"odd\" of dimension 128, in a table of dimension 256"),
        "{err}"
    );
    let err = store
        .cleanup(&Hv::atom("BABS", "q", 512), None, 1, Search::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("a query of dimension 512"),
        "{err}"
    );
    drop(store);
    // reopened at the same dimension: the rows are there
    assert_eq!(
        HyperStore::open(dir.path(), 256)
            .await
            .unwrap()
            .count()
            .await
            .unwrap(),
        16
    );
    // at another: made again, empty (reconciling refills it from the image)
    let again = HyperStore::open(dir.path(), 512).await.unwrap();
    assert_eq!(again.count().await.unwrap(), 0);
    again.add(&[row("BABS", "topic", 512)]).await.unwrap();
}

async fn open_memory(image: &telos_image::Image, dir: &std::path::Path) -> telos_memory::Memory {
    let mut config = telos_memory::MemoryConfig::new(dir.join("memory"));
    config.vsa_dim = 2048;
    config.embedder = std::sync::Arc::new(|| Ok(super::minilm()));
    telos_memory::Memory::open(image.clone(), config)
        .await
        .unwrap()
}

async fn with_symbols(dir: &std::path::Path) -> (telos_memory::Memory, telos_image::ObjectId) {
    let image = telos_tests::awake_in_memory().await;
    let babs = image.resolve("BABS").unwrap().id.clone();
    (open_memory(&image, dir).await, babs)
}

#[tokio::test]
async fn symbols_live_in_the_image_and_a_record_answers_what_fills_a_role() {
    let dir = tempfile::tempdir().unwrap();
    let (memory, babs) = with_symbols(dir.path()).await;
    for n in ["topic", "source", "persona", "rust", "doc7", "BABS"] {
        let s = memory.atom(&babs, n).await.unwrap();
        assert!(s.created && s.kind == "atom" && s.dim == 2048, "{s:?}");
    }
    // asking again finds it; the image holds one object per symbol, linked from BABS
    assert!(!memory.atom(&babs, "topic").await.unwrap().created);
    assert_eq!(memory.codebook(&babs).len(), 6);
    let record = memory
        .compose(&babs, "record 1", "topic*rust + source*doc7 + persona*BABS")
        .await
        .unwrap();
    assert_eq!(
        record.expression.as_deref(),
        Some("topic * rust + source * doc7 + persona * BABS")
    );
    // "what is the record's source" and "what is it about" are an unbind and a cleanup
    for (q, want) in [
        ("\"record 1\" / source", "doc7"),
        ("\"record 1\" / topic", "rust"),
    ] {
        let answer = memory.vsa_query(&babs, q, 3).await.unwrap();
        assert_eq!(answer.hits[0].name, want, "{answer:?}");
        assert!(answer.hits[0].similarity > 0.4, "{answer:?}");
        assert!(answer.hits[1].similarity < 0.2, "{answer:?}");
    }
    // errors name what is wrong, and change nothing
    let err = memory
        .vsa_query(&babs, "cats * topic", 3)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("BABS has no symbol \"cats\""),
        "{err}"
    );
    let err = memory
        .compose(&babs, "r2", "topic * cats")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("has no symbol \"cats\""), "{err}");
    let err = memory
        .compose(&babs, "topic", "rust + doc7")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("never redefined"), "{err}");
    let err = memory
        .vsa_query(&babs, "topic * (rust", 3)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("column 14: expected `)`"), "{err}");
    let health = memory.doctor().await.unwrap();
    assert_eq!((health.symbols, health.symbol_rows), (7, 7));
}

#[tokio::test]
async fn reconcile_makes_lost_and_stray_symbol_rows_match_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let (memory, babs) = with_symbols(dir.path()).await;
    for n in ["a", "b", "c"] {
        memory.atom(&babs, n).await.unwrap();
    }
    memory.compose(&babs, "ab", "a * b").await.unwrap();
    let lost = memory.codebook(&babs)["ab"].id.to_string();
    let image = memory.image().clone();
    drop(memory);
    // while Telos is closed: a row lost (a file of the table deleted, say) and a row no
    // symbol names (a symbol's cycle that never committed)
    let hyper = HyperStore::open(&dir.path().join("memory"), 2048)
        .await
        .unwrap();
    hyper.delete(std::slice::from_ref(&lost)).await.unwrap();
    hyper.add(&[row("BABS", "stray", 2048)]).await.unwrap();
    let memory = open_memory(&image, dir.path()).await;
    let before = memory.doctor().await.unwrap();
    assert_eq!((before.symbols, before.symbol_rows), (4, 4));
    let after = memory.reconcile().await.unwrap();
    assert_eq!((after.symbols, after.symbol_rows), (4, 4));
    // a handle opened now sees the table as reconcile left it
    let hyper = HyperStore::open(&dir.path().join("memory"), 2048)
        .await
        .unwrap();
    let keys = hyper.keys().await.unwrap();
    assert!(keys.iter().any(|k| k.id == lost && k.kind == "composite"));
    assert!(!keys.iter().any(|k| k.name == "stray"));
    // the composite made again is the same vector: a / b cleans up to a
    let answer = memory.vsa_query(&babs, "ab / b", 1).await.unwrap();
    assert_eq!(answer.hits[0].name, "a");
    assert!(answer.hits[0].similarity > 0.99, "{answer:?}");
}

#[tokio::test]
async fn an_older_one_bit_index_is_replaced_by_the_three_bit_one_when_next_caught_up() {
    use lancedb::index::Index;
    use lancedb::index::vector::IvfRqIndexBuilder;
    let dir = tempfile::tempdir().unwrap();
    let dim = 6000;
    let store = filled(dir.path(), dim).await;
    // what Telos made before: one bit per float, under the old name
    store
        .table()
        .create_index(
            &["sketch"],
            Index::IvfRq(
                IvfRqIndexBuilder::default()
                    .distance_type(lancedb::DistanceType::Dot)
                    .num_partitions(1)
                    .num_bits(1),
            ),
        )
        .name("hypervector_idx".to_owned())
        .execute()
        .await
        .unwrap();
    let names = |store: HyperStore| async move {
        let mut names: Vec<String> = store
            .table()
            .list_indices()
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.name)
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(store.clone()).await, ["hypervector_idx"]);
    // far below the threshold: only the old index makes it due
    assert!(store.catch_up_index(1_000_000).await.unwrap());
    assert_eq!(names(store.clone()).await, ["codebook_idx", "sketch_rq3"]);
    assert!(store.indexed().await);
    assert!(
        !store.catch_up_index(1_000_000).await.unwrap(),
        "built once"
    );
    let q = Hv::atom("BABS", "doc7", dim);
    let found = store
        .cleanup(&q, Some("BABS"), 1, Search::default())
        .await
        .unwrap();
    assert_eq!(found[0].name, "doc7");
}

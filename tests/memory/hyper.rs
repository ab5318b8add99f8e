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

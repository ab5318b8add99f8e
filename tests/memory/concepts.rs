//! Concepts grown as documents are remembered, named, recalled, regrouped and reconciled,
//! against the real MiniLM and LanceDB: a labelled corpus (`fixtures/concepts`: four subjects,
//! four documents each) lands mostly inside its labels, and a new document changes only the
//! concepts it touches.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use telos_image::ObjectId;
use telos_memory::concept_store::{ConceptRow, ConceptStore};
use telos_memory::{Concept, Memory};
use telos_tests::fixture;

use super::{memory, quiet};

fn corpus() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixture("concepts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn label(source: &str) -> String {
    Path::new(source)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .split('-')
        .next()
        .unwrap()
        .to_owned()
}

/// Each concept's members by label; the purity of the grouping (the share of chunks in
/// their concept's most common label).
fn purity(memory: &Memory, concepts: &[Concept]) -> (f64, Vec<BTreeMap<String, usize>>) {
    let mut groups = Vec::new();
    let (mut majority, mut total) = (0, 0);
    for c in concepts {
        let detail = memory.concept(&ObjectId::parse(&c.id).unwrap()).unwrap();
        let mut by: BTreeMap<String, usize> = BTreeMap::new();
        for ch in &detail.chunks {
            *by.entry(label(&ch.source)).or_default() += 1;
        }
        majority += by.values().max().copied().unwrap_or(0);
        total += detail.chunks.len();
        groups.push(by);
    }
    (majority as f64 / total as f64, groups)
}

fn members(memory: &Memory, persona: &ObjectId) -> HashMap<String, HashSet<String>> {
    memory
        .concepts(Some(persona))
        .into_iter()
        .map(|c| {
            let d = memory.concept(&ObjectId::parse(&c.id).unwrap()).unwrap();
            (c.id, d.chunks.into_iter().map(|ch| ch.id).collect())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_labelled_corpus_grows_concepts_inside_its_labels_and_a_new_document_touches_only_its_own()
 {
    let dir = tempfile::tempdir().unwrap();
    let (memory, brick, _) = memory(dir.path()).await;
    let files = corpus();
    let (held_back, first) = files.split_last().unwrap();
    for f in first {
        memory.ingest_file(&brick, f, &quiet).await.unwrap();
    }
    let concepts = memory.concepts(Some(&brick));
    let (p, groups) = purity(&memory, &concepts);
    println!(
        "grown: {} concepts, purity {p:.3}: {groups:?}",
        concepts.len()
    );
    assert!(p >= 0.9, "purity {p:.3}: {groups:?}");
    assert!(
        concepts.len() < first.len(),
        "documents on one subject share concepts: {groups:?}"
    );
    assert!(concepts.iter().all(|c| c.label.is_none() && c.needs_name));
    let health = memory.doctor().await.unwrap();
    assert_eq!(
        (health.concepts, health.concept_rows),
        (concepts.len(), concepts.len())
    );

    // One more document: only the concept its chunk joined (or a new one) changes.
    let before = members(&memory, &brick);
    let report = memory.ingest_file(&brick, held_back, &quiet).await.unwrap();
    let after = members(&memory, &brick);
    let changed: Vec<&String> = after
        .iter()
        .filter(|(id, m)| before.get(*id) != Some(m))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(before.keys().all(|id| after.contains_key(id)));
    // the chunk joined in the document's own cycle
    let chunk = memory
        .image()
        .get(&ObjectId::parse(&report.document).unwrap())
        .unwrap()
        .links["chunks"][0]
        .to_string();
    assert!(after[changed[0]].contains(&chunk));
    let record = memory
        .image()
        .cycle(report.cycle.as_deref().unwrap())
        .await
        .unwrap();
    let steps = serde_json::to_string(&record.steps).unwrap();
    assert!(steps.contains("abstraction_of"), "{steps}");

    // Regrouping keeps the labels apart too, and keeps what did not change.
    let rebuilt = memory.rebuild_concepts(&brick).await.unwrap();
    println!("{rebuilt:?}");
    let concepts = memory.concepts(Some(&brick));
    let (p, groups) = purity(&memory, &concepts);
    println!(
        "regrouped: {} concepts, purity {p:.3}: {groups:?}",
        concepts.len()
    );
    assert!(p >= 0.9, "purity {p:.3}: {groups:?}");
    assert_eq!(rebuilt.chunks as usize, files.len());
    assert_eq!(
        rebuilt.after as usize,
        concepts.len(),
        "{rebuilt:?} {concepts:?}"
    );
    let health = memory.doctor().await.unwrap();
    assert_eq!(health.concepts, health.concept_rows);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_concept_is_recalled_and_its_record_answers_what_it_is_about() {
    let dir = tempfile::tempdir().unwrap();
    let (memory, brick, _) = memory(dir.path()).await;
    for f in corpus()
        .iter()
        .filter(|f| label(&f.display().to_string()) == "kites")
    {
        memory.ingest_file(&brick, f, &quiet).await.unwrap();
    }
    let todo = memory.concepts_to_name(Some(&brick));
    assert!(!todo.is_empty());
    assert!(
        todo[0].excerpts.iter().any(|e| e.contains("kite")),
        "{todo:?}"
    );
    let kite = todo[0].id.clone();
    let named = memory
        .name_concept(
            &kite,
            " Kite \n flight ",
            "How kites are lifted, launched and steered by the wind.",
        )
        .await
        .unwrap();
    assert_eq!(named.label.as_deref(), Some("Kite flight"));
    assert_eq!(named.symbol.as_deref(), Some("concept:Kite flight"));
    assert!(!named.needs_name);
    assert!(
        memory
            .concepts_to_name(Some(&brick))
            .iter()
            .all(|t| t.id != kite)
    );

    // a broad question finds the concept by its definition
    let found = memory
        .recall_concepts(Some(&brick), "what keeps a kite up in the air?", 3)
        .await
        .unwrap();
    assert_eq!(found[0].label, "Kite flight", "{found:?}");
    // its record: topic and source unbound, cleaned up to the label and a document
    let topic = memory
        .vsa_query(&brick, "\"concept:Kite flight\" / topic", 1)
        .await
        .unwrap();
    assert_eq!(topic.hits[0].name, "Kite flight", "{topic:?}");
    let source = memory
        .vsa_query(&brick, "\"concept:Kite flight\" / source", 1)
        .await
        .unwrap();
    assert!(source.hits[0].name.starts_with("kites-"), "{source:?}");

    // bad names are refused by what is wrong; a second concept of the same name is numbered
    let err = memory.name_concept(&kite, "  ", "x").await.unwrap_err();
    assert!(err.to_string().contains("label is empty"), "{err}");
    let err = memory.name_concept(&brick, "x", "y").await.unwrap_err();
    assert!(err.to_string().contains("is not a concept"), "{err}");
    if let Some(other) = memory
        .concepts(Some(&brick))
        .iter()
        .find(|c| c.id != kite.to_string())
    {
        let again = memory
            .name_concept(
                &ObjectId::parse(&other.id).unwrap(),
                "Kite flight",
                "More kites.",
            )
            .await
            .unwrap();
        assert_eq!(again.label.as_deref(), Some("Kite flight 2"));
    }
    let health = memory.doctor().await.unwrap();
    assert_eq!(health.symbol_rows, health.symbols);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_makes_lost_and_stray_concept_rows_match_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let (memory, brick, _) = memory(dir.path()).await;
    for f in corpus().iter().take(8) {
        memory.ingest_file(&brick, f, &quiet).await.unwrap();
    }
    let concepts = memory.concepts(Some(&brick));
    let kite = concepts[0].id.clone();
    memory
        .name_concept(
            &ObjectId::parse(&kite).unwrap(),
            "Kites",
            "Kites and how they fly.",
        )
        .await
        .unwrap();
    let image = memory.image().clone();
    drop(memory);
    // what a kill between a cycle's row writes and its commit leaves: a row lost, and a row
    // of a concept that never committed
    let store = ConceptStore::open(&dir.path().join("memory"))
        .await
        .unwrap();
    store.delete(std::slice::from_ref(&kite)).await.unwrap();
    store
        .put(&[ConceptRow {
            id: "01JAAAAAAAAAAAAAAAAAAAAAAA".into(),
            persona: brick.to_string(),
            members: "x".into(),
            size: 1,
            label: String::new(),
            definition: String::new(),
            centroid: vec![0.1; telos_memory::DIM],
            meaning: vec![0.1; telos_memory::DIM],
            cycle: "never committed".into(),
        }])
        .await
        .unwrap();
    let mut config = telos_memory::MemoryConfig::new(dir.path().join("memory"));
    config.embedder = std::sync::Arc::new(|| Ok(super::minilm()));
    let memory = Memory::open(image, config).await.unwrap();
    let before = memory.doctor().await.unwrap();
    assert_eq!(before.concept_rows, concepts.len());
    let after = memory.reconcile().await.unwrap();
    assert_eq!(
        (after.concepts, after.concept_rows),
        (concepts.len(), concepts.len())
    );
    // the lost row is made again with its meaning: the named concept is recalled
    let found = memory
        .recall_concepts(Some(&brick), "flying a kite in the wind", 1)
        .await
        .unwrap();
    assert_eq!(found[0].id, kite, "{found:?}");
}

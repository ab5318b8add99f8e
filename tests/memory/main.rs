//! Episodic memory against the real parts: the MiniLM weights the setup installs, LanceDB on
//! disk, the image. Needs the weights (`scripts/fetch-embedder`, run by `scripts/setup`).

mod backends;
mod concepts;
mod hyper;
mod index;
mod s3;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use telos_image::ObjectId;
use telos_memory::read::{self, Format};
use telos_memory::store::{Row, Tuning};
use telos_memory::{DIM, Embedder, IndexState, Memory, MemoryConfig, MiniLm, Outcome};
use telos_tests::{as_nobody, awake_in_memory, fixture};

/// The embedder, loaded once for the whole test binary.
fn minilm() -> Arc<dyn Embedder> {
    static MODEL: std::sync::OnceLock<Arc<dyn Embedder>> = std::sync::OnceLock::new();
    MODEL
        .get_or_init(|| Arc::new(MiniLm::load_default().expect("weights: run scripts/setup")))
        .clone()
}

async fn memory(dir: &Path) -> (Memory, ObjectId, ObjectId) {
    let image = awake_in_memory().await;
    let mut config = MemoryConfig::new(dir.join("memory"));
    config.embedder = Arc::new(|| Ok(minilm()));
    let memory = Memory::open(image.clone(), config).await.unwrap();
    let brick = image.resolve("BRICK").unwrap().id.clone();
    let robin = image.resolve("ROBIN").unwrap().id.clone();
    (memory, brick, robin)
}

fn quiet(_: telos_memory::Progress) {}

#[test]
fn the_embedder_matches_sentence_transformers_within_1e_4() {
    let sentences: Vec<String> =
        serde_json::from_slice(&std::fs::read(fixture("embeddings/sentences.json")).unwrap())
            .unwrap();
    let reference: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("embeddings/reference.json")).unwrap())
            .unwrap();
    let expected: Vec<Vec<f32>> = serde_json::from_value(reference["embeddings"].clone()).unwrap();
    assert!(sentences.len() >= 20);
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let got = minilm().embed(&refs).unwrap();
    let mut worst = (0.0f32, 0, 0);
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g.len(), DIM);
        for (j, (a, b)) in g.iter().zip(e).enumerate() {
            if (a - b).abs() > worst.0 {
                worst = ((a - b).abs(), i, j);
            }
        }
    }
    println!(
        "largest difference {:.2e} (sentence {}, component {})",
        worst.0, worst.1, worst.2
    );
    assert!(
        worst.0 <= 1e-4,
        "sentence {} component {} differs by {}",
        worst.1,
        worst.2,
        worst.0
    );
}

#[test]
fn every_format_is_read_from_a_real_file() {
    let read = |name: &str| {
        read::read(&fixture(&format!("docs/{name}")), read::MAX_DOCUMENT_BYTES).unwrap()
    };
    let md = read("notes.md");
    assert_eq!(md.format, Format::Markdown);
    assert!(md.text.contains("## Beans"));
    let html = read("page.html");
    assert_eq!(html.format, Format::Html);
    assert!(
        html.text.contains("# Bicycle maintenance") && html.text.contains("## Brakes"),
        "{}",
        html.text
    );
    assert!(!html.text.contains("<p>"), "{}", html.text);
    assert_eq!(read("story.txt").format, Format::Text);
    assert_eq!(
        read("sieve.py").format,
        Format::Code {
            language: "python".into()
        }
    );
    let pdf = read("report.pdf");
    assert_eq!(pdf.format, Format::Pdf);
    assert_eq!(pdf.pages.len(), 2);
    assert!(pdf.text.contains("lighthouse keeper"), "{}", pdf.text);
    let second = pdf.text.find("supply boat").unwrap();
    assert_eq!(pdf.page_of(second), Some(2));
}

#[test]
fn bad_files_are_refused_with_an_error_naming_them() {
    let err = |path: PathBuf| {
        read::read(&path, read::MAX_DOCUMENT_BYTES)
            .unwrap_err()
            .to_string()
    };
    let bad = |name: &str| fixture(&format!("bad/{name}"));
    let show = |name: &str| bad(name).display().to_string();
    assert_eq!(
        err(bad("image.txt")),
        format!("unsupported: {} (detected image/png)", show("image.txt"))
    );
    assert_eq!(
        err(bad("latin1.txt")),
        format!(
            "{} is not valid UTF-8 (first bad byte at offset 3)",
            show("latin1.txt")
        )
    );
    assert_eq!(
        err(bad("empty.txt")),
        format!("{} is empty", show("empty.txt"))
    );
    assert_eq!(
        err(bad("encrypted.pdf")),
        format!(
            "{} is an encrypted PDF; decrypt it first",
            show("encrypted.pdf")
        )
    );
    assert!(err(bad("corrupt.pdf")).starts_with(&format!(
        "{} is a PDF that cannot be read",
        show("corrupt.pdf")
    )));

    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("loop-a.txt");
    let b = dir.path().join("loop-b.txt");
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    let e = err(a.clone());
    assert!(
        e.starts_with(&format!("cannot read {}", a.display())) && e.contains("symbolic links"),
        "{e}"
    );

    let locked = dir.path().join("locked.txt");
    std::fs::write(&locked, "secret").unwrap();
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    let e = as_nobody(move || {
        read::read(&locked, read::MAX_DOCUMENT_BYTES)
            .unwrap_err()
            .to_string()
    });
    assert!(
        e.contains("locked.txt") && e.contains("Permission denied"),
        "{e}"
    );

    // 1 GB, sparse: refused from its size before a byte is read.
    let huge = dir.path().join("huge.txt");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    assert_eq!(
        err(huge.clone()),
        format!(
            "{} is 1073741824 bytes, over the 67108864-byte limit for one document",
            huge.display()
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_file_twice_adds_nothing_and_a_changed_file_replaces_its_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let (memory, brick, _) = memory(dir.path()).await;
    let file = dir.path().join("story.txt");
    std::fs::copy(fixture("docs/story.txt"), &file).unwrap();

    let first = memory.ingest_file(&brick, &file, &quiet).await.unwrap();
    assert_eq!(first.outcome, Outcome::Added);
    assert!(first.chunks >= 1);
    let again = memory.ingest_file(&brick, &file, &quiet).await.unwrap();
    assert_eq!(again.outcome, Outcome::Unchanged);
    assert_eq!(again.document, first.document);
    let health = memory.doctor().await.unwrap();
    assert_eq!(
        (health.documents, health.store_rows),
        (1, first.chunks as usize)
    );

    std::fs::write(&file, "The ferry was replaced by a bridge in the spring.\n").unwrap();
    let replaced = memory.ingest_file(&brick, &file, &quiet).await.unwrap();
    assert_eq!(replaced.outcome, Outcome::Replaced);
    assert_eq!(
        replaced.document, first.document,
        "the document object is kept"
    );
    let health = memory.doctor().await.unwrap();
    assert_eq!(
        (health.documents, health.image_chunks, health.store_rows),
        (1, 1, 1)
    );
    assert_eq!((health.orphans, health.missing), (0, 0));
    let hits = memory
        .recall(Some(&brick), "oranges on the ferry", 5)
        .await
        .unwrap();
    assert!(
        hits.iter().all(|h| !h.text.contains("oranges")),
        "old chunks are gone: {hits:?}"
    );
    assert!(hits[0].text.contains("bridge"));
    assert_eq!(memory.document_count(&brick), 1);

    // A file changed into a copy of another remembered file: its old chunks go, and the
    // copy's bytes stay one document.
    let copy = dir.path().join("copy.txt");
    std::fs::write(&copy, "The lighthouse was painted red and white in May.\n").unwrap();
    memory.ingest_file(&brick, &copy, &quiet).await.unwrap();
    assert_eq!(memory.document_count(&brick), 2);
    std::fs::copy(&file, &copy).unwrap();
    let became = memory.ingest_file(&brick, &copy, &quiet).await.unwrap();
    assert_eq!(
        (became.outcome, &became.document),
        (Outcome::Replaced, &replaced.document)
    );
    assert_eq!(memory.document_count(&brick), 1);
    let health = memory.doctor().await.unwrap();
    assert_eq!(
        (
            health.documents,
            health.store_rows,
            health.orphans,
            health.missing
        ),
        (1, health.image_chunks, 0, 0)
    );
    let hits = memory
        .recall(Some(&brick), "a red and white lighthouse", 5)
        .await
        .unwrap();
    assert!(
        hits.iter().all(|h| !h.text.contains("lighthouse")),
        "what copy.txt held before is forgotten: {hits:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_names_differing_only_in_bytes_that_are_not_utf8_are_two_documents() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let (memory, brick, _) = memory(dir.path()).await;
    // Latin-1 names: "café.txt" and "cafè.txt", both shown as "caf\u{FFFD}.txt".
    let e_acute = dir.path().join(std::ffi::OsStr::from_bytes(b"caf\xe9.txt"));
    let e_grave = dir.path().join(std::ffi::OsStr::from_bytes(b"caf\xe8.txt"));
    std::fs::write(&e_acute, "The café opens at seven for the fishermen.\n").unwrap();
    std::fs::write(&e_grave, "The bakery sells rye bread on Saturdays.\n").unwrap();
    let a = memory.ingest_file(&brick, &e_acute, &quiet).await.unwrap();
    let b = memory.ingest_file(&brick, &e_grave, &quiet).await.unwrap();
    assert_eq!((a.outcome, b.outcome), (Outcome::Added, Outcome::Added));
    assert_eq!(a.path, b.path, "both show alike");
    assert_ne!(a.document, b.document);
    assert_eq!(memory.document_count(&brick), 2);

    // A change to one replaces that one only.
    std::fs::write(&e_acute, "The café now opens at six.\n").unwrap();
    let changed = memory.ingest_file(&brick, &e_acute, &quiet).await.unwrap();
    assert_eq!(
        (changed.outcome, &changed.document),
        (Outcome::Replaced, &a.document)
    );
    assert_eq!(memory.document_count(&brick), 2);
    let hits = memory.recall(Some(&brick), "rye bread", 5).await.unwrap();
    assert!(hits[0].text.contains("rye bread"), "{hits:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn recall_ranks_the_right_chunk_first_and_keeps_to_its_persona() {
    let dir = tempfile::tempdir().unwrap();
    let (memory, brick, robin) = memory(dir.path()).await;
    for name in ["notes.md", "page.html", "report.pdf", "sieve.py"] {
        memory
            .ingest_file(&brick, &fixture(&format!("docs/{name}")), &quiet)
            .await
            .unwrap();
    }
    memory
        .ingest_file(&robin, &fixture("docs/story.txt"), &quiet)
        .await
        .unwrap();

    let hits = memory
        .recall(Some(&brick), "how do I oil a bicycle chain?", 3)
        .await
        .unwrap();
    assert!(hits[0].source.ends_with("page.html"), "{hits:?}");
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    let pdf = memory
        .recall(Some(&brick), "when does the supply boat come?", 1)
        .await
        .unwrap();
    assert!(
        pdf[0].source.ends_with("report.pdf") && pdf[0].page.is_some(),
        "{pdf:?}"
    );

    let ferry = "the ferry engine stopped halfway";
    let brick_only = memory.recall(Some(&brick), ferry, 10).await.unwrap();
    assert!(
        brick_only.iter().all(|h| h.persona == "BRICK"),
        "{brick_only:?}"
    );
    let everyone = memory.recall(None, ferry, 1).await.unwrap();
    assert_eq!(everyone[0].persona, "ROBIN");
    assert!(everyone[0].source.ends_with("story.txt"));
}

#[tokio::test(flavor = "multi_thread")]
async fn reconcile_deletes_rows_the_image_does_not_name_and_restores_missing_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (memory, brick, _) = memory(dir.path()).await;
    memory
        .ingest_file(&brick, &fixture("docs/notes.md"), &quiet)
        .await
        .unwrap();
    let before = memory.doctor().await.unwrap();
    let ids = memory.store().chunk_ids().await.unwrap();
    // A row no cycle committed (as after a crash between the two writes) …
    let stray = Row {
        chunk_id: "01KSTRAYSTRAYSTRAYSTRAYSTR".into(),
        persona: brick.to_string(),
        document: "gone".into(),
        source: "/nowhere.txt".into(),
        content_hash: "0".repeat(64),
        chunk_index: 0,
        page: None,
        offset: 0,
        text: "a memory nobody committed".into(),
        vector: vec![1.0 / (DIM as f32).sqrt(); DIM],
        created: 0,
        cycle: "never".into(),
    };
    memory.store().add(&[stray]).await.unwrap();
    // … and a committed chunk whose row is lost.
    memory.store().delete_chunks(&ids[..1]).await.unwrap();
    let hurt = memory.doctor().await.unwrap();
    assert_eq!((hurt.orphans, hurt.missing), (1, 1));

    let healed = memory.reconcile().await.unwrap();
    assert_eq!((healed.orphans, healed.missing), (0, 0));
    assert_eq!(healed.store_rows, before.store_rows);
    let mut now = memory.store().chunk_ids().await.unwrap();
    let mut was = ids.clone();
    now.sort();
    was.sort();
    assert_eq!(now, was);

    // A row whose text is not its chunk's (same id): found by content, and embedded again
    // from the image's text.
    let target = &ids[0];
    memory
        .store()
        .table()
        .update()
        .only_if(format!("chunk_id = '{target}'"))
        .column("text", "'a tampered memory of oranges'")
        .execute()
        .await
        .unwrap();
    let hurt = memory.doctor().await.unwrap();
    assert_eq!((hurt.orphans, hurt.missing, hurt.differing), (0, 0, 1));
    let healed = memory.reconcile().await.unwrap();
    assert_eq!(
        (healed.orphans, healed.missing, healed.differing),
        (0, 0, 0)
    );
    let rows = memory.store().row_keys().await.unwrap();
    assert!(rows.iter().all(|r| !r.text.contains("tampered")));
    assert_eq!(rows.len(), before.store_rows);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_or_deleted_memory_is_rebuilt_from_the_image_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let image = awake_in_memory().await;
    let open = |image: telos_image::Image| {
        let mut config = MemoryConfig::new(dir.path().join("memory"));
        config.embedder = Arc::new(|| Ok(minilm()));
        Memory::open(image, config)
    };
    let memory = open(image.clone()).await.unwrap();
    let brick = image.resolve("BRICK").unwrap().id.clone();
    memory
        .ingest_file(&brick, &fixture("docs/notes.md"), &quiet)
        .await
        .unwrap();
    let chunks = memory.doctor().await.unwrap().image_chunks;
    assert!(chunks >= 1);
    drop(memory);

    // Its data files lost (a disk error, a careless clean-up): the table opens but cannot be
    // read. It is moved aside, not deleted, and rebuilt from the image.
    let data = dir.path().join("memory/chunks.lance/data");
    for f in std::fs::read_dir(&data).unwrap().flatten() {
        std::fs::remove_file(f.path()).unwrap();
    }
    let memory = open(image.clone())
        .await
        .expect("a damaged memory does not stop the open");
    let progress = std::sync::Mutex::new(Vec::new());
    let health = memory
        .reconcile_with(&|done, total| progress.lock().unwrap().push((done, total)))
        .await
        .unwrap();
    assert_eq!(
        (health.store_rows, health.missing, health.differing),
        (chunks, 0, 0)
    );
    let rebuilt = health.rebuilt.expect("the doctor says it was rebuilt");
    assert!(rebuilt.contains("memory.damaged-"), "{rebuilt}");
    let progress = progress.into_inner().unwrap();
    assert_eq!(progress.first(), Some(&(0, chunks)));
    assert_eq!(progress.last(), Some(&(chunks, chunks)));
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("memory.damaged-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "the damaged memory is kept beside");
    let hits = memory.recall(Some(&brick), "notes", 3).await.unwrap();
    assert!(!hits.is_empty());
    drop(memory);

    // Deleted outright: an empty one is made and filled from the image.
    std::fs::remove_dir_all(dir.path().join("memory")).unwrap();
    let memory = open(image.clone()).await.unwrap();
    let health = memory.reconcile().await.unwrap();
    assert_eq!(
        (health.store_rows, health.missing, health.rebuilt),
        (chunks, 0, None)
    );
}

/// The `n`th sentence of a made-up harbour log: distinct, about 18 word pieces.
fn harbour_sentence(n: usize) -> String {
    format!(
        "On night {n} the keeper lit lantern number {n} before the fog rolled over the harbour wall. "
    )
}

#[test]
fn chunks_fit_the_model_overlap_and_keep_headings_with_their_text() {
    let chunker = telos_memory::Chunker::new(minilm().tokenizer()).unwrap();
    let max = telos_memory::chunk::MAX_TOKENS;

    // Markdown: sections of about 150 word pieces, so two never share a chunk; each heading
    // stays with its own text.
    let markdown: String = (0..8)
        .map(|s| {
            let text: String = (0..8).map(|i| harbour_sentence(s * 8 + i)).collect();
            format!("## Section {s}\n\n{text}\n\n")
        })
        .collect();
    let doc = read::parse(Path::new("log.md"), markdown.clone().into_bytes()).unwrap();
    assert_eq!(doc.format, Format::Markdown);
    let chunks = chunker.chunk(&doc);
    for s in 0..8 {
        let (heading, last) = (format!("## Section {s}\n"), harbour_sentence(s * 8 + 7));
        assert!(
            chunks
                .iter()
                .any(|c| c.text.contains(&heading) && c.text.contains(last.trim())),
            "section {s} is split from its heading: {chunks:#?}"
        );
    }

    // One long paragraph: cut between sentences, every chunk within the model's window,
    // each sharing its start with the end of the one before, nothing left out.
    let text: String = (0..60).map(harbour_sentence).collect();
    let doc = read::parse(Path::new("log.txt"), text.clone().into_bytes()).unwrap();
    let chunks = chunker.chunk(&doc);
    assert!(chunks.len() >= 4, "{} chunks", chunks.len());
    for c in &chunks {
        assert!(chunker.tokens(&c.text) <= max, "{c:?}");
        assert_eq!(&text[c.offset as usize..][..c.text.len()], c.text);
        assert!(
            c.text.starts_with("On night "),
            "cut inside a sentence: {c:?}"
        );
    }
    for pair in chunks.windows(2) {
        let end = pair[0].offset as usize + pair[0].text.len();
        assert!(
            (pair[1].offset as usize) < end,
            "chunks {} and {} do not overlap",
            pair[0].index,
            pair[1].index
        );
    }
    for n in 0..60 {
        let s = harbour_sentence(n);
        assert!(
            chunks.iter().any(|c| c.text.contains(s.trim())),
            "sentence {n} is lost"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tidy_up_drops_old_versions_and_deleted_rows_and_recall_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let image = awake_in_memory().await;
    let mut config = MemoryConfig::new(dir.path().join("memory"));
    config.embedder = Arc::new(|| Ok(minilm()));
    config.versions_keep = std::time::Duration::ZERO;
    // No tidy-up of its own in the middle: the one below is measured.
    config.tidy_every = usize::MAX;
    let memory = Memory::open(image.clone(), config).await.unwrap();
    let brick = image.resolve("BRICK").unwrap().id.clone();
    let file = dir.path().join("log.txt");
    // Each change replaces the document: its rows added, the old ones deleted.
    for i in 0..12 {
        std::fs::write(
            &file,
            format!(
                "{}\nEntry {i}: the tide came in.\n",
                (0..40).map(harbour_sentence).collect::<String>()
            ),
        )
        .unwrap();
        memory.ingest_file(&brick, &file, &quiet).await.unwrap();
    }
    let table = dir.path().join("memory");
    let before = du(&table);
    let versions_before = memory.store().table().list_versions().await.unwrap().len();
    let tidied = memory.tidy().await.unwrap();
    let after = du(&table);
    let versions_after = memory.store().table().list_versions().await.unwrap().len();
    eprintln!(
        "tidied {tidied:?}: {before} → {after} bytes, {versions_before} → {versions_after} versions"
    );
    assert!(
        tidied.versions_removed > 0 && tidied.bytes_removed > 0,
        "{tidied:?}"
    );
    assert!(after < before, "{before} → {after} bytes");
    assert!(versions_after < versions_before);
    let health = memory.doctor().await.unwrap();
    assert_eq!(
        (health.documents, health.orphans, health.missing),
        (1, 0, 0)
    );
    assert_eq!(health.store_rows, health.image_chunks);
    let hits = memory
        .recall(Some(&brick), "Entry 11 the tide", 3)
        .await
        .unwrap();
    assert!(hits.iter().any(|h| h.text.contains("Entry 11")), "{hits:?}");
}

fn du(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                du(&e.path())
            } else {
                meta.len()
            }
        })
        .sum()
}

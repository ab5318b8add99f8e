//! Episodic memory against the real parts: the MiniLM weights the setup installs, LanceDB on
//! disk, the image. Needs the weights (`scripts/fetch-embedder`, run by `scripts/setup`).

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
}

/// A long text of short numbered paragraphs (many chunks): tides, or else winds.
fn almanac(tides: bool, entries: usize) -> String {
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

/// A fake HTTP server for tests, one request per connection: `answer(method, path, body)`
/// gives the status line's code and reason, and the body. Returns `127.0.0.1:PORT`.
fn fake_http(
    answer: impl Fn(&str, &str, &[u8]) -> (&'static str, Vec<u8>) + Send + 'static,
) -> String {
    fake_http_paced(answer, None)
}

/// [`fake_http`], sending bodies in 1 MiB pieces `pace` apart when given (a slow link).
fn fake_http_paced(
    answer: impl Fn(&str, &str, &[u8]) -> (&'static str, Vec<u8>) + Send + 'static,
    pace: Option<std::time::Duration>,
) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let mut parts = request.split_whitespace();
            let (method, path) = (parts.next().unwrap(), parts.next().unwrap());
            let (status, answer) = answer(method, path, &body);
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                answer.len()
            );
            // The client may hang up early (a test of a failed download); that is its business.
            let _ = stream.write_all(head.as_bytes()).and_then(|()| match pace {
                None => stream.write_all(&answer),
                Some(pace) => answer.chunks(1 << 20).try_for_each(|piece| {
                    std::thread::sleep(pace);
                    stream.write_all(piece)
                }),
            });
        }
    });
    host
}

/// A fake Ollama for tests: answers `POST /api/embed` for the model `all-minilm` with the
/// local MiniLM's vectors (so recall behaves as with the real model), and any other model
/// with Ollama's "not found" error. Counts the texts it embedded.
struct FakeOllama {
    host: String,
    embedded: Arc<std::sync::atomic::AtomicUsize>,
}

impl FakeOllama {
    fn start() -> Self {
        let embedded = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = Arc::clone(&embedded);
        let host = fake_http(move |_, _, body| {
            let request: serde_json::Value = serde_json::from_slice(body).unwrap();
            let (status, answer) = if request["model"] == "all-minilm" {
                let texts: Vec<&str> = request["input"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_str().unwrap())
                    .collect();
                count.fetch_add(texts.len(), std::sync::atomic::Ordering::SeqCst);
                let vectors = minilm().embed(&texts).unwrap();
                (
                    "200 OK",
                    serde_json::json!({ "model": "all-minilm", "embeddings": vectors }),
                )
            } else {
                let model = request["model"].as_str().unwrap();
                let error = format!("model \"{model}\" not found, try pulling it first");
                ("404 Not Found", serde_json::json!({ "error": error }))
            };
            (status, answer.to_string().into_bytes())
        });
        Self { host, embedded }
    }
}

/// A fake Hugging Face hub serving the installed MiniLM files, with `damaged` served with
/// one byte changed.
fn fake_hub(damaged: Option<&'static str>) -> String {
    fake_hub_paced(damaged, None)
}

fn fake_hub_paced(damaged: Option<&'static str>, pace: Option<std::time::Duration>) -> String {
    let installed = telos_memory::embed::weights_dir().unwrap();
    fake_http_paced(
        move |method, path, _| {
            let prefix = format!("/{}/resolve/main/", telos_memory::hub::REPO);
            match path.strip_prefix(&prefix) {
                Some(name)
                    if method == "GET" && telos_memory::embed::WEIGHT_FILES.contains(&name) =>
                {
                    let mut bytes = std::fs::read(installed.join(name)).unwrap();
                    if damaged == Some(name) {
                        bytes[100] ^= 1;
                    }
                    ("200 OK", bytes)
                }
                _ => ("404 Not Found", b"Entry not found".to_vec()),
            }
        },
        pace,
    )
}

/// Taken by the tests that fetch from a fake hub: the progress they read is the process's one
/// download, so two of them at once would read each other's.
static HUB_TESTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_ingest_shows_the_model_download_as_progress() {
    let _alone = HUB_TESTS.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("weights");
    // 86 MiB at 1 MiB per 20 ms: about two seconds, several progress ticks.
    let hub = format!(
        "http://{}",
        fake_hub_paced(None, Some(std::time::Duration::from_millis(20)))
    );
    let image = awake_in_memory().await;
    let mut config = MemoryConfig::new(dir.path().join("memory"));
    let w = weights.clone();
    config.embedder = Arc::new(move || {
        telos_memory::hub::fetch(&w, &telos_memory::embed::WEIGHT_FILES, &hub)?;
        Ok(Arc::new(MiniLm::load(&w)?) as Arc<dyn Embedder>)
    });
    let memory = Memory::open(image.clone(), config).await.unwrap();
    let brick = image.resolve("BRICK").unwrap().id.clone();
    let note = dir.path().join("note.txt");
    std::fs::write(
        &note,
        "The first thing remembered needs the model fetched first.",
    )
    .unwrap();
    let stages = std::sync::Mutex::new(Vec::new());
    memory
        .ingest_file(&brick, &note, &|p| stages.lock().unwrap().push(p.stage))
        .await
        .unwrap();
    let stages = stages.into_inner().unwrap();
    let fetching: Vec<(u32, Option<u32>)> = stages
        .iter()
        .filter_map(|s| match s {
            telos_memory::Stage::Fetching {
                file,
                done_mb,
                total_mb,
            } if file == "model.safetensors" => Some((*done_mb, *total_mb)),
            _ => None,
        })
        .collect();
    assert!(fetching.len() >= 2, "{stages:?}");
    assert!(
        fetching.iter().all(|(_, total)| *total == Some(86)),
        "{fetching:?}"
    );
    assert!(fetching.windows(2).all(|w| w[0].0 < w[1].0), "{fetching:?}");
    let first_embedding = stages
        .iter()
        .position(|s| matches!(s, telos_memory::Stage::Embedding { .. }))
        .unwrap();
    let last_fetching = stages
        .iter()
        .rposition(|s| matches!(s, telos_memory::Stage::Fetching { .. }))
        .unwrap();
    assert!(last_fetching < first_embedding, "{stages:?}");
    assert!(telos_memory::hub::downloading().is_none());
}

#[test]
fn missing_weights_are_fetched_from_the_hub_and_checked() {
    let _alone = HUB_TESTS.blocking_lock();
    let dir = tempfile::tempdir().unwrap();
    let hub = format!("http://{}", fake_hub(None));
    telos_memory::hub::fetch(dir.path(), &telos_memory::embed::WEIGHT_FILES, &hub).unwrap();
    let model = MiniLm::load(dir.path()).unwrap();
    let v = model.embed(&["a fetched model embeds"]).unwrap();
    assert_eq!(
        v[0],
        minilm().embed(&["a fetched model embeds"]).unwrap()[0]
    );

    let dir = tempfile::tempdir().unwrap();
    let hub = format!("http://{}", fake_hub(Some("tokenizer.json")));
    let err = telos_memory::hub::fetch(dir.path(), &telos_memory::embed::WEIGHT_FILES, &hub)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("fetching tokenizer.json from") && err.contains("expected be50c362"),
        "{err}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        left,
        ["model.safetensors"],
        "no partial or damaged file is left"
    );

    let err = telos_memory::hub::fetch(
        dir.path(),
        &["config.json"],
        &format!("http://{}", fake_http(|_, _, _| ("404 Not Found", vec![]))),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("the hub answered 404"), "{err}");
}

async fn memory_through_ollama(dir: &Path, host: &str, model: &str) -> (Memory, ObjectId) {
    let image = awake_in_memory().await;
    let backend = telos_memory::ollama::Backend::Ollama {
        host: host.into(),
        model: model.into(),
    };
    let config = MemoryConfig::with_backend(dir.join("memory"), backend);
    let memory = Memory::open(image.clone(), config).await.unwrap();
    let brick = image.resolve("BRICK").unwrap().id.clone();
    (memory, brick)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ollama_backend_embeds_through_the_embed_api() {
    let ollama = FakeOllama::start();
    let dir = tempfile::tempdir().unwrap();
    let (memory, brick) = memory_through_ollama(dir.path(), &ollama.host, "all-minilm").await;
    for name in ["notes.md", "page.html"] {
        memory
            .ingest_file(&brick, &fixture(&format!("docs/{name}")), &quiet)
            .await
            .unwrap();
    }
    let after_ingest = ollama.embedded.load(std::sync::atomic::Ordering::SeqCst);
    assert!(after_ingest > 0, "the chunks went through Ollama");
    let hits = memory
        .recall(Some(&brick), "how do I oil a bicycle chain?", 3)
        .await
        .unwrap();
    assert!(hits[0].source.ends_with("page.html"), "{hits:?}");
    assert_eq!(
        ollama.embedded.load(std::sync::atomic::Ordering::SeqCst),
        after_ingest + 1,
        "so did the query"
    );
    let health = memory.doctor().await.unwrap();
    assert!(health.embedder.contains("Ollama at"), "{}", health.embedder);
}

#[tokio::test(flavor = "multi_thread")]
async fn ollama_errors_say_what_is_wrong_and_how_to_fix_it() {
    let ollama = FakeOllama::start();
    let dir = tempfile::tempdir().unwrap();
    let (memory, brick) = memory_through_ollama(dir.path(), &ollama.host, "no-such-model").await;
    let err = memory
        .ingest_file(&brick, &fixture("docs/notes.md"), &quiet)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("404") && err.contains("\"no-such-model\" not found, try pulling it"),
        "{err}"
    );

    // Nothing listens on a port just closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (memory, brick) =
        memory_through_ollama(dir.path(), &closed.to_string(), "all-minilm").await;
    let err = memory
        .ingest_file(&brick, &fixture("docs/notes.md"), &quiet)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&closed.to_string()) && err.contains("ollama serve"),
        "{err}"
    );
    assert_eq!(
        memory.doctor().await.unwrap().documents,
        0,
        "nothing half-remembered"
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

//! Where the weights and the vectors come from: the hub (fetched, checked, shown as progress)
//! and Ollama's embed API, each against a fake server.

use super::*;

/// A fake HTTP server for tests, one request per connection: `answer(method, path, body)`
/// gives the status line's code and reason, and the body. Returns `127.0.0.1:PORT`.
fn fake_http(
    answer: impl Fn(&str, &str, &[u8]) -> (&'static str, Vec<u8>) + Send + 'static,
) -> String {
    fake_http_paced(answer, None)
}

/// A request's first line, and the value of its header `wanted` (case-insensitive), if sent;
/// the rest of the head is read past.
fn read_head(reader: &mut impl std::io::BufRead, wanted: &str) -> (String, Option<String>) {
    let mut request = String::new();
    reader.read_line(&mut request).unwrap();
    let mut value = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            return (request, value);
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case(wanted)
        {
            value = Some(v.trim().to_string());
        }
    }
}

/// [`fake_http`], sending bodies in 1 MiB pieces `pace` apart when given (a slow link).
fn fake_http_paced(
    answer: impl Fn(&str, &str, &[u8]) -> (&'static str, Vec<u8>) + Send + 'static,
    pace: Option<std::time::Duration>,
) -> String {
    use std::io::{BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (request, length) = read_head(&mut reader, "content-length");
            let length = length.map_or(0, |v| v.parse().unwrap());
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
            let prefix = format!(
                "/{}/resolve/{}/",
                telos_memory::hub::REPO,
                telos_memory::hub::REVISION
            );
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

/// How a [`ranged_hub`] misbehaves.
#[derive(Clone, Copy)]
enum Fault {
    /// The first download of model.safetensors breaks off after this many bytes.
    BreakOnce(usize),
    /// Every file says it is this many bytes (a hub serving something else).
    Claims(u64),
    /// After this many bytes of model.safetensors, nothing more is sent for a minute.
    Stall(usize),
}

/// A fake hub serving the installed MiniLM files at [`telos_memory::hub::REVISION`],
/// honouring `Range: bytes=N-` (206), misbehaving as `fault` says; the requests it saw, by
/// path and range.
fn ranged_hub(fault: Fault) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufReader, Write};
    let installed = telos_memory::embed::weights_dir().unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let log = seen.clone();
    std::thread::spawn(move || {
        let mut broke = false;
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (request, range) = read_head(&mut reader, "range");
            let from: usize = range.map_or(0, |v| {
                v.trim_start_matches("bytes=")
                    .trim_end_matches('-')
                    .parse()
                    .unwrap()
            });
            let path = request.split_whitespace().nth(1).unwrap().to_string();
            log.lock().unwrap().push(format!("{path} from {from}"));
            let prefix = format!(
                "/{}/resolve/{}/",
                telos_memory::hub::REPO,
                telos_memory::hub::REVISION
            );
            let Some(name) = path.strip_prefix(&prefix) else {
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                continue;
            };
            let bytes = std::fs::read(installed.join(name)).unwrap();
            let body = &bytes[from.min(bytes.len())..];
            let (status, range) = if from > 0 {
                (
                    "206 Partial Content",
                    format!(
                        "Content-Range: bytes {from}-{}/{}\r\n",
                        bytes.len() - 1,
                        bytes.len()
                    ),
                )
            } else {
                ("200 OK", String::new())
            };
            let length = match fault {
                Fault::Claims(n) => n,
                _ => body.len() as u64,
            };
            let head = format!(
                "HTTP/1.1 {status}\r\n{range}Content-Length: {length}\r\nConnection: close\r\n\r\n"
            );
            let _ = stream.write_all(head.as_bytes());
            let big = name == "model.safetensors";
            let _ = match fault {
                Fault::BreakOnce(n) if big && !broke => {
                    broke = true;
                    stream.write_all(&body[..n]) // then the connection closes short
                }
                Fault::Stall(n) if big => {
                    let _ = stream.write_all(&body[..n]);
                    std::thread::sleep(std::time::Duration::from_secs(60));
                    Ok(())
                }
                Fault::Claims(_) => Ok(()),
                _ => stream.write_all(body),
            };
        }
    });
    (host, seen)
}

#[test]
fn a_download_that_breaks_off_resumes_where_it_broke_at_the_pinned_commit() {
    let _alone = HUB_TESTS.blocking_lock();
    let dir = tempfile::tempdir().unwrap();
    let (hub, seen) = ranged_hub(Fault::BreakOnce(10 << 20));
    let err = telos_memory::hub::fetch(dir.path(), &["model.safetensors"], &hub)
        .unwrap_err()
        .to_string();
    assert!(err.contains("fetching model.safetensors"), "{err}");
    let part = dir.path().join("model.safetensors.part");
    assert_eq!(
        std::fs::metadata(&part).unwrap().len(),
        10 << 20,
        "the part is kept"
    );
    telos_memory::hub::fetch(dir.path(), &telos_memory::embed::WEIGHT_FILES, &hub).unwrap();
    assert!(!part.exists());
    let seen = seen.lock().unwrap().clone();
    let weights = format!(
        "/{}/resolve/{}/model.safetensors",
        telos_memory::hub::REPO,
        telos_memory::hub::REVISION
    );
    assert_eq!(seen[0], format!("{weights} from 0"));
    assert_eq!(seen[1], format!("{weights} from {}", 10 << 20), "{seen:?}");
    let model = MiniLm::load(dir.path()).unwrap();
    assert_eq!(
        model.embed(&["a resumed model embeds"]).unwrap()[0],
        minilm().embed(&["a resumed model embeds"]).unwrap()[0]
    );
}

#[test]
fn a_file_larger_than_any_of_the_model_is_refused_and_a_silent_hub_is_given_up_on() {
    let _alone = HUB_TESTS.blocking_lock();
    let dir = tempfile::tempdir().unwrap();
    let (hub, _) = ranged_hub(Fault::Claims(10 << 30));
    let err = telos_memory::hub::fetch(dir.path(), &["config.json"], &hub)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("10737418240 bytes, more than the 268435456"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing is left"
    );

    let (hub, _) = ranged_hub(Fault::Stall(1 << 20));
    let began = std::time::Instant::now();
    let err = telos_memory::hub::fetch_with(
        dir.path(),
        &["model.safetensors"],
        &hub,
        std::time::Duration::from_secs(1),
    )
    .unwrap_err()
    .to_string();
    assert!(
        began.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        began.elapsed()
    );
    assert!(
        err.contains("fetching model.safetensors") && err.contains("timed out"),
        "{err}"
    );
}

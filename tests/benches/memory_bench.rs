//! Vector search: the IVF indexes (IVF_PQ and IVF_HNSW_SQ) against exact flat search on the
//! same table, in one run: recall@10 and p50/p95 latency per query. Two datasets: clustered
//! synthetic unit vectors (100k and 1M), and real MiniLM vectors of a real text corpus (100k
//! and 1M passages of the sources and docs on this machine; see [`real`]). Then end-to-end ingest
//! of a ≥ 10 MB mixed corpus through `Memory::ingest_file`: wall time, chunks/s, peak RSS.
//! Then recall p50 with memory on an S3 server on this machine (moto's, `TELOS_MEMORY_URI`)
//! against the same memory on local disk (part `s3`).
//!
//! Run: `cargo bench --workspace --bench memory_bench --profile dev`. `TELOS_BENCH_SCALE`
//! scales every size (0.1 for a short run); `TELOS_BENCH_PARTS` picks parts (a comma list of
//! `ingest`, `synthetic`, `real`, `s3`; all by default) and `TELOS_BENCH_VECTORS` the synthetic
//! sizes (a comma list, e.g. `100000`); `TELOS_BENCH_TUNINGS` adds searches with other
//! settings: a comma list of `key=value` joined by `+`, keys `ef` (HNSW candidate list, at
//! least k × refine or LanceDB refuses), `nprobes` and `refine`, e.g. `ef=80,nprobes=40+ef=80`;
//! `TELOS_BENCH_PARTITIONS` adds index layouts with other IVF partition counts (e.g. `1,12`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use telos_memory::index::{self, IndexKind};
use telos_memory::store::{Row, Store, Tuning};
use telos_memory::{DIM, Embedder, Memory, MemoryConfig, MiniLm};
use telos_tests::bench::{percentile, scale};

#[path = "memory/s3.rs"]
mod s3;

const QUERIES: usize = 100;
const K: usize = 10;

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
}

fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= n);
    v
}

/// `n` points around `n / 100` random centres, and `QUERIES` fresh points around the same.
fn clustered(n: usize) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let centres: Vec<Vec<f32>> = (0..(n / 100).max(8))
        .map(|_| unit((0..DIM).map(|_| rng.next()).collect()))
        .collect();
    let point = |rng: &mut Rng| {
        let c = &centres
            [(rng.next() + 0.5).mul_add(centres.len() as f32, 0.0) as usize % centres.len()];
        unit(c.iter().map(|x| x + 0.06 * rng.next()).collect())
    };
    let data = (0..n).map(|_| point(&mut rng)).collect();
    let queries = (0..QUERIES).map(|_| point(&mut rng)).collect();
    (data, queries)
}

fn rows_of(vectors: &[Vec<f32>]) -> Vec<Row> {
    vectors
        .iter()
        .enumerate()
        .map(|(i, v)| Row {
            chunk_id: format!("r{i}"),
            persona: "bench".into(),
            document: format!("d{}", i / 50),
            source: String::new(),
            content_hash: String::new(),
            chunk_index: i as u32,
            page: None,
            offset: 0,
            text: String::new(),
            vector: v.clone(),
            created: 0,
            cycle: "bench".into(),
        })
        .collect()
}

async fn timed_searches(
    store: &Store,
    queries: &[Vec<f32>],
    tuning: Tuning,
) -> (Vec<Vec<String>>, f64, f64) {
    let mut results = Vec::new();
    let mut times = Vec::new();
    for q in queries {
        let t = Instant::now();
        let hits = store.search(q, None, K, tuning).await.expect("search");
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        results.push(hits.into_iter().map(|h| h.chunk_id).collect());
    }
    let p50 = percentile(&mut times.clone(), 0.5);
    let p95 = percentile(&mut times, 0.95);
    (results, p50, p95)
}

async fn compare(name: &str, data: &[Vec<f32>], queries: &[Vec<f32>]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).await.expect("store");
    for part in rows_of(data).chunks(20_000) {
        store.add(part).await.expect("add");
    }
    let (truth, exact50, exact95) = timed_searches(&store, queries, Tuning::EXACT).await;
    println!(
        "{name}: {} vectors, {} queries, k = {K}",
        data.len(),
        queries.len()
    );
    println!("  exact flat search: p50 {exact50:.2} ms, p95 {exact95:.2} ms");
    for (kind, partitions) in layouts(data.len()) {
        let t = Instant::now();
        index::build_partitioned(&store, kind, partitions)
            .await
            .expect("index build");
        let built = t.elapsed().as_secs_f64();
        let kind = format!("{kind:?} ({partitions} partitions)");
        // The product's search settings, then any others to try (`TELOS_BENCH_TUNINGS`).
        let mut tunings = vec![("".to_string(), Tuning::default())];
        tunings.extend(extra_tunings());
        for (label, tuning) in tunings {
            let (got, p50, p95) = timed_searches(&store, queries, tuning).await;
            let found: usize = got
                .iter()
                .zip(&truth)
                .map(|(g, t)| g.iter().filter(|id| t.contains(id)).count())
                .sum();
            let recall = found as f64 / truth.iter().map(Vec::len).sum::<usize>().max(1) as f64;
            let ratio = p50 / exact50;
            let met = recall >= 0.95 && ratio <= 0.2 && p95 / exact95 <= 0.2;
            // Below 100k rows flat search is fast and memory keeps to it (the product indexes
            // past 20,000 rows); the goal is the issue's, at 100k and 1M.
            let goal = match (data.len() >= 100_000, met) {
                (false, _) => "goal set for 100k and 1M vectors",
                (true, true) => "goal recall ≥ 0.95 at ≤ 0.2×: met",
                (true, false) => "goal recall ≥ 0.95 at ≤ 0.2×: MISSED",
            };
            println!(
                "  {kind}{label}: built in {built:.1} s; recall@10 {recall:.3}; p50 {p50:.2} ms ({ratio:.2}× exact), \
                 p95 {p95:.2} ms ({:.2}× exact) ({goal})",
                p95 / exact95,
            );
        }
    }
}

/// Each index kind with the product's partition count for `rows`, then with each count
/// `TELOS_BENCH_PARTITIONS` lists (a comma list).
fn layouts(rows: usize) -> Vec<(IndexKind, u32)> {
    let extra: Vec<u32> = std::env::var("TELOS_BENCH_PARTITIONS")
        .unwrap_or_default()
        .split(',')
        .filter(|n| !n.trim().is_empty())
        .map(|n| {
            n.trim()
                .parse()
                .expect("TELOS_BENCH_PARTITIONS: a comma list of counts")
        })
        .collect();
    IndexKind::ALL
        .into_iter()
        .flat_map(|kind| {
            let product = kind.partitions(rows);
            std::iter::once(product)
                .chain(extra.iter().copied().filter(move |&n| n != product))
                .map(move |n| (kind, n))
        })
        .collect()
}

/// The settings `TELOS_BENCH_TUNINGS` names, each with its label.
fn extra_tunings() -> Vec<(String, Tuning)> {
    let list = std::env::var("TELOS_BENCH_TUNINGS").unwrap_or_default();
    list.split(',')
        .filter(|item| !item.trim().is_empty())
        .map(|item| {
            let mut tuning = Tuning::default();
            for setting in item.split('+') {
                let (key, value) = setting
                    .split_once('=')
                    .unwrap_or_else(|| panic!("TELOS_BENCH_TUNINGS: {setting:?} is not key=value"));
                let n: usize = value
                    .trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("TELOS_BENCH_TUNINGS: {setting:?} wants a number"));
                match key.trim() {
                    "ef" => tuning.ef = Some(n),
                    "nprobes" => tuning.nprobes = Some(n),
                    "refine" => tuning.refine = Some(n as u32),
                    other => panic!("TELOS_BENCH_TUNINGS: unknown setting {other:?}"),
                }
            }
            (format!(" with {}", item.trim()), tuning)
        })
        .collect()
}

/// A line of /proc/self/status in MiB: `VmHWM:` the peak RSS, `VmRSS:` the current one.
fn rss_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Calls `each` with every file under `top` (no symlinks) and its lower-case name, in name
/// order, depth first, until it returns false.
fn walk_sorted(top: PathBuf, each: &mut dyn FnMut(&Path, &str) -> bool) -> bool {
    let mut stack = vec![top];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        entries.reverse(); // popped in name order
        for p in entries {
            if p.is_symlink() {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            if !each(&p, &name) {
                return false;
            }
        }
    }
    true
}

/// ≥ 10 MB (scaled) of mixed documents: the node_modules READMEs (Markdown), their licences
/// (text) and JavaScript sources (code), then the same from the crates the build downloaded
/// (READMEs, licences, Rust sources), and the test fixtures' HTML and PDF.
pub(crate) fn mixed_corpus(root: &Path, bytes: u64) -> Vec<PathBuf> {
    let mut files = vec![
        root.join("tests/fixtures/docs/page.html"),
        root.join("tests/fixtures/docs/report.pdf"),
    ];
    let mut total = 0;
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .expect("CARGO_HOME or HOME");
    for top in [root.join("node_modules"), cargo_home.join("registry/src")] {
        walk_sorted(top, &mut |p, name| {
            if total >= bytes {
                return false;
            }
            let wanted = name == "readme.md"
                || name == "license"
                || name.ends_with(".js")
                || name.ends_with(".rs");
            let size = std::fs::metadata(p).map_or(0, |m| m.len());
            if wanted && size > 200 && size < 2_000_000 {
                total += size;
                files.push(p.to_path_buf());
            }
            true
        });
    }
    files
}

fn main() {
    // As the binaries do: before any runtime thread allocates.
    telos_memory::embed::tune_allocator();
    tokio::runtime::Runtime::new()
        .expect("async runtime")
        .block_on(run());
}

async fn run() {
    let scale = scale();
    let parts = telos_tests::bench::parts(&["ingest", "synthetic", "real", "s3"]);
    let runs = |part| parts.contains(&part);
    let root = telos_tests::package_dir().join("..");
    let model: Arc<dyn Embedder> =
        Arc::new(MiniLm::load_default().expect("weights: run scripts/setup"));
    if runs("ingest") {
        ingest(&root, &model, scale).await;
    }
    // Search.
    if runs("synthetic") {
        let sizes: Vec<usize> = match std::env::var("TELOS_BENCH_VECTORS") {
            Ok(list) => list
                .split(',')
                .map(|n| {
                    n.trim()
                        .parse()
                        .expect("TELOS_BENCH_VECTORS: a comma list of sizes")
                })
                .collect(),
            Err(_) if scale >= 1.0 => vec![100_000, 1_000_000],
            Err(_) => vec![((100_000.0 * scale) as usize).max(2_000)],
        };
        for n in sizes {
            let (data, queries) = clustered(n);
            compare("clustered synthetic", &data, &queries).await;
        }
    }
    if runs("real") {
        real(&root, &model, scale).await;
    }
    if runs("s3") {
        s3::recall(&root, &model, scale).await;
    }
}

/// End to end: files → memory, one cycle per document.
async fn ingest(root: &Path, model: &Arc<dyn Embedder>, scale: f64) {
    let corpus = mixed_corpus(root, (10_000_000.0 * scale.min(1.0)) as u64);
    let size: u64 = corpus
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    let dir = tempfile::tempdir().expect("temp dir");
    // On disk, as in the product (an in-memory store would count the image's storage too).
    let endpoint = telos_image::Endpoint::SurrealKv {
        path: dir.path().join("image"),
    };
    let image = telos_image::Image::open(&endpoint, &Default::default())
        .await
        .expect("image");
    telos_core::persona::awaken(&image).await.expect("awaken");
    let mut config = MemoryConfig::new(dir.path().join("memory"));
    let shared = model.clone();
    config.embedder = Arc::new(move || Ok(shared.clone()));
    let memory = Memory::open(image.clone(), config).await.expect("memory");
    let brick = image.resolve("BRICK").expect("BRICK").id.clone();
    let before = rss_mib("VmRSS:");
    let t = Instant::now();
    let (mut chunks, mut failed) = (0u64, 0usize);
    for file in &corpus {
        match memory.ingest_file(&brick, file, &|_| {}).await {
            Ok(r) => chunks += u64::from(r.chunks),
            Err(e) => {
                failed += 1;
                if failed <= 5 {
                    println!("  refused: {e}");
                }
            }
        }
    }
    let wall = t.elapsed().as_secs_f64();
    println!(
        "end-to-end ingest: {} files, {:.1} MB, {chunks} chunks ({failed} files refused) in {wall:.0} s: \
         {:.1} chunks/s, {:.0} KB/s; peak RSS of this process {:.0} MiB ({before:.0} MiB before \
         the first file, {:.0} MiB after the last)",
        corpus.len(),
        size as f64 / 1e6,
        chunks as f64 / wall,
        size as f64 / 1e3 / wall,
        rss_mib("VmHWM:"),
        rss_mib("VmRSS:")
    );
}

/// Real MiniLM vectors of real text: passages (paragraphs, long ones cut into windows of
/// ≤ `TELOS_BENCH_WORDS` words (32), each of at least a quarter of that, of at most 3 word
/// pieces a word, no repeats) of the crate sources and READMEs cargo downloaded, the C
/// headers, Python library and package docs Debian installed, and the node_modules READMEs,
/// in a fixed order. Embedding is bound by the
/// passages' tokens: on two cores 32-word passages (57 word pieces each, mostly code) go at
/// about 72/s, so a million take near 4 h, and 8-word ones (17) at about 240/s, 70 min. The
/// vectors are kept in `TELOS_BENCH_CACHE` (default `~/.cache/telos-bench`), one file per
/// passage length, and a later run embeds only what the cache lacks.
/// `TELOS_BENCH_REAL` lists the sizes (default 100000,1000000 at full scale); the 100 queries
/// are the passages right after the largest size, so no query is in any data set.
async fn real(root: &Path, model: &Arc<dyn Embedder>, scale: f64) {
    let sizes: Vec<usize> = match std::env::var("TELOS_BENCH_REAL") {
        Ok(list) => list
            .split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .expect("TELOS_BENCH_REAL: a comma list of sizes")
            })
            .collect(),
        Err(_) if scale >= 1.0 => vec![100_000, 1_000_000],
        Err(_) => vec![((10_000.0 * scale) as usize).max(1_000)],
    };
    let largest = sizes.iter().copied().max().unwrap_or(0);
    let vectors = real_vectors(root, model, largest + QUERIES);
    if vectors.len() < largest + QUERIES {
        println!(
            "real MiniLM vectors: the corpus gave only {} passages; sizes above {} skipped",
            vectors.len(),
            vectors.len().saturating_sub(QUERIES)
        );
    }
    let usable = vectors.len().saturating_sub(QUERIES);
    let queries = &vectors[usable..];
    for n in sizes.into_iter().filter(|&n| n <= usable) {
        compare("real MiniLM vectors", &vectors[..n], queries).await;
    }
}

/// The first `want` passage vectors: from the cache, then embedded and appended.
fn real_vectors(root: &Path, model: &Arc<dyn Embedder>, want: usize) -> Vec<Vec<f32>> {
    use std::io::Write;
    let dir = std::env::var_os("TELOS_BENCH_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/telos-bench")))
        .expect("TELOS_BENCH_CACHE or HOME");
    std::fs::create_dir_all(&dir).expect("bench cache dir");
    let words = passage_words();
    let path = dir.join(format!(
        "minilm-passages-v3-{}-{words}w.f32",
        model.name().replace('/', "_")
    ));
    let row = DIM * 4;
    let mut bytes = std::fs::read(&path).unwrap_or_default();
    bytes.truncate(bytes.len() / row * row); // a run killed mid-write leaves a part row
    let have = bytes.len() / row;
    if have < want {
        let t = Instant::now();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .expect("bench cache file");
        file.set_len(bytes.len() as u64).expect("bench cache file");
        let mut file = std::io::BufWriter::new(file);
        let (mut added, mut tokens) = (0, 0);
        let mut batch = Vec::new();
        let mut flush = |batch: &mut Vec<String>, added: &mut usize| {
            let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
            tokens += model
                .tokenizer()
                .encode_batch(refs.clone(), true)
                .expect("tokenizing passages")
                .iter()
                .map(|e| e.len().min(telos_memory::embed::MAX_SEQ))
                .sum::<usize>();
            for v in model.embed(&refs).expect("embedding passages") {
                let raw: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                file.write_all(&raw).expect("bench cache write");
                bytes.extend_from_slice(&raw);
            }
            file.flush().expect("bench cache write");
            *added += batch.len();
            batch.clear();
            if *added % 8192 < 512 {
                eprintln!(
                    "real corpus: {} of {want} passages embedded ({:.0}/s this run)",
                    have + *added,
                    *added as f64 / t.elapsed().as_secs_f64()
                );
            }
        };
        passages(root, model, words, have, want - have, &mut |text| {
            batch.push(text);
            if batch.len() == 512 {
                flush(&mut batch, &mut added);
            }
        });
        if !batch.is_empty() {
            flush(&mut batch, &mut added);
        }
        let secs = t.elapsed().as_secs_f64().max(1e-9);
        println!(
            "real corpus ({words}-word passages): {added} passages embedded in {secs:.0} s \
             ({:.0} passages/s, {:.1} tokens each, {:.0} tokens/s), {have} from the cache",
            added as f64 / secs,
            tokens as f64 / added.max(1) as f64,
            tokens as f64 / secs
        );
    }
    bytes
        .chunks_exact(row)
        .take(want)
        .map(|r| {
            r.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        })
        .collect()
}

/// The longest passage in words: `TELOS_BENCH_WORDS`, 32 by default.
fn passage_words() -> usize {
    std::env::var("TELOS_BENCH_WORDS").map_or(32, |w| {
        w.trim()
            .parse()
            .ok()
            .filter(|&w| w >= 4)
            .expect("TELOS_BENCH_WORDS: a number of words, at least 4")
    })
}

/// Calls `each` with passages `skip..skip + take` of the real corpus, in its fixed order:
/// windows of up to `words` words, each of at least a quarter of that and of at most three
/// of `model`'s word pieces a word (which leaves out hex tables, base64 and minified code).
fn passages(
    root: &Path,
    model: &Arc<dyn Embedder>,
    words: usize,
    skip: usize,
    take: usize,
    each: &mut dyn FnMut(String),
) {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .expect("CARGO_HOME or HOME");
    let tops = [
        cargo_home.join("registry/src"),
        PathBuf::from("/usr/include"),
        PathBuf::from("/usr/lib/python3"),
        PathBuf::from("/usr/share/doc"),
        root.join("node_modules"),
    ];
    let mut seen = std::collections::HashSet::new();
    let (mut index, end) = (0, skip + take);
    for top in tops {
        let more = walk_sorted(top, &mut |p, name| {
            let wanted = name.starts_with("readme")
                || [".rs", ".md", ".txt", ".h", ".py", ".js"]
                    .iter()
                    .any(|e| name.ends_with(e));
            let Some(text) = wanted.then(|| std::fs::read_to_string(p).ok()).flatten() else {
                return true;
            };
            for paragraph in text.split("\n\n") {
                let all: Vec<&str> = paragraph.split_whitespace().collect();
                for window in all.chunks(words).filter(|w| w.len() >= words / 4) {
                    let passage = window.join(" ");
                    let pieces = model
                        .tokenizer()
                        .encode_fast(passage.as_str(), false)
                        .map_or(usize::MAX, |e| e.len());
                    if pieces > 3 * window.len() || !seen.insert(passage.clone()) {
                        continue;
                    }
                    if index >= skip {
                        each(passage);
                    }
                    index += 1;
                    if index == end {
                        return false;
                    }
                }
            }
            true
        });
        if !more {
            return;
        }
    }
}

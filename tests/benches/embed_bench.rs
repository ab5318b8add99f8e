//! Embedding throughput: our MiniLM (candle) against the reference sentence-transformers
//! (torch) on this machine, same texts, same batch of 32, best of a few rounds each, in one
//! run. The texts are this repository's own documentation, chunked as memory chunks it.
//!
//! Run: `cargo bench --workspace --bench embed_bench --profile dev` (the reference needs
//! `scripts/setup-reference`; `TELOS_BENCH_SCALE=0.25` for a short run).

use std::time::Instant;

use telos_memory::read::parse;
use telos_memory::{Chunker, Embedder, MiniLm, embed};

fn main() {
    let scale = telos_tests::bench::scale();
    let model = MiniLm::load_default().expect("weights: run scripts/setup");
    let chunker = Chunker::new(model.tokenizer()).expect("chunker");
    let root = telos_tests::package_dir().join("..");
    let mut texts = Vec::new();
    for doc in [
        "README.md",
        "ARCHITECTURE.md",
        "tests/fixtures/docs/notes.md",
        "tests/fixtures/docs/story.txt",
    ] {
        let path = root.join(doc);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc = parse(&path, bytes).expect("a readable document");
        texts.extend(chunker.chunk(&doc).into_iter().map(|c| c.text));
    }
    let want = ((256.0 * scale) as usize).max(embed::BATCH);
    let base = texts.clone();
    while texts.len() < want {
        texts.extend(base.iter().cloned());
    }
    texts.truncate(want);
    let rounds = if scale < 1.0 { 2 } else { 3 };
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    model.embed(&refs[..embed::BATCH]).expect("warm-up");
    let mut best = f64::INFINITY;
    for _ in 0..rounds {
        let t = Instant::now();
        model.embed(&refs).expect("embedding");
        best = best.min(t.elapsed().as_secs_f64());
    }
    let ours = texts.len() as f64 / best;
    let mean_tokens =
        texts.iter().map(|t| chunker.tokens(t)).sum::<usize>() as f64 / texts.len() as f64;
    println!(
        "embedding: {} chunks (mean {mean_tokens:.0} word pieces), batch {}, best of {rounds}",
        texts.len(),
        embed::BATCH
    );
    println!(
        "  telos (candle, {} threads): {ours:.1} chunks/s",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let weights = embed::weights_dir().expect("a cache dir");
    let tmp = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(tmp.path(), serde_json::to_vec(&texts).unwrap()).unwrap();
    let reference = telos_tests::bench::run_reference(
        "embed_reference.py",
        &[
            weights.into_os_string(),
            tmp.path().as_os_str().to_owned(),
            embed::BATCH.to_string().into(),
            rounds.to_string().into(),
        ],
    );
    let theirs = reference["chunks_per_s"].as_f64().expect("chunks_per_s");
    println!(
        "  sentence-transformers (torch, {} threads): {theirs:.1} chunks/s",
        reference["threads"]
    );
    let ratio = ours / theirs;
    println!(
        "  ratio telos / reference: {ratio:.2}× (goal ≥ 1.0×: {})",
        if ratio >= 1.0 { "met" } else { "MISSED" }
    );
}

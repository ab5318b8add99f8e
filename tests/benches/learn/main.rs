//! Learning's benchmark, in one run:
//!
//! 1. Curation overhead per exchange beyond model time: the FAKE Ollama as ALFRED (token time
//!    zero, every verdict scripted), real image; what is left is reading the exchanges, the
//!    rubric, parsing and the evaluations' cycle.
//! 2. Export of 10,000 golden exchanges from the image (goal ≤ 2 s): reading the evaluations,
//!    deduplication, the split, three JSONL files.
//! 3. The reference trainer's time per step against a plain PEFT loop on the same rows, base
//!    and LoRA in the same run (goal ≤ 1.1×): each one's fastest whole epoch after the first.
//! 4. An ascension's wall time split into answering, judging and bookkeeping (the stub's token
//!    time 2 ms).
//!
//! Run: `cargo bench --workspace --bench learn_bench --profile dev`. `TELOS_BENCH_SCALE`
//! scales the exchanges curated and the trainer's epochs (the export is always 10,000).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Value, json};
use telos_core::image::ops::Op;
use telos_core::scheduler::{Bytes, Mode};
use telos_core::{Config, Telos};
use telos_tests::bench::scale;
use telos_tests::ollama_stub::{OllamaStub, Reply, Script, StubModel};

use telos_tests::learn::{babs_scores as scores, seed_golden};

async fn telos_on(dir: &Path, stub: &OllamaStub) -> Telos {
    let mut config = Config::from_data_dir(dir.join("data"));
    config.ollama_host = stub.url();
    config.llm = Mode::Ollama;
    Telos::open(config).await.expect("open Telos")
}

async fn curation(n: usize) {
    let verdict = json!({"scores": scores(4), "overall": 4, "rationale": "fine"}).to_string();
    let mut script = Script::design_table();
    script.token_ms = 0;
    script
        .replies
        .insert("phi3:3.8b".into(), vec![Reply::Text(verdict); n]);
    let stub = OllamaStub::start(script);
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_on(dir.path(), &stub).await;
    let book: Vec<Op> = (0..n)
        .map(|i| Op::Append {
            object: "BABS".into(),
            slot: "scrapbook".into(),
            value: json!({"at": 1_796_000_000_000_i64 + i as i64, "user": format!("Question {i}?"),
                          "reply": format!("Answer {i}."), "cut": false}),
            keep: None,
        })
        .collect();
    telos.apply("bench scrapbook", book).await.unwrap();
    let done = telos.curate(Some("BABS"), n, 4.0, |_| {}).await.unwrap();
    assert_eq!(done.judged as usize, n, "{:?}", done.errors);
    let per = (done.ms - done.model_ms) / n as f64;
    println!(
        "curation: {n} exchanges judged in {:.0} ms, model time {:.0} ms; overhead beyond model \
         time {per:.2} ms per exchange",
        done.ms, done.model_ms
    );
    telos.shutdown().await.unwrap();
}

async fn export() {
    let n = 10_000;
    let stub = OllamaStub::start(Script::design_table());
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_on(dir.path(), &stub).await;
    let seeded = Instant::now();
    seed_golden(&telos, n, 1_000).await;
    let seeded = seeded.elapsed().as_secs_f64();
    let path = dir.path().join("babs.jsonl");
    let began = Instant::now();
    let out = telos.export_dataset("BABS", 4.0, &path).unwrap();
    let wall = began.elapsed().as_secs_f64();
    assert_eq!(out.rows as usize, n);
    let bytes = std::fs::metadata(&path).unwrap().len();
    println!(
        "export of {n} golden exchanges: {wall:.2} s (goal ≤ 2 s: {}), of which the files {:.2} s; \
         {} train, {} held out, {:.1} MB (staging them in the image took {seeded:.1} s)",
        if wall <= 2.0 { "met" } else { "MISSED" },
        out.ms / 1e3,
        out.train_rows,
        out.held_out_rows,
        bytes as f64 / 1e6
    );
    telos.shutdown().await.unwrap();
}

fn trainer_python() -> PathBuf {
    std::env::var_os("TELOS_TRAINER_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/telos-trainer")
        })
        .join("bin/python")
}

fn base_gguf() -> PathBuf {
    let name = telos_core::llama::DEFAULT_MODEL
        .strip_prefix("gguf:")
        .unwrap();
    telos_core::llama::models_dir().join(format!("{name}.gguf"))
}

/// The mean step of the fastest whole epoch of `rows` steps after the first (warm-up): each
/// epoch holds the same rows, so epochs compare, and the fastest is the one least disturbed by
/// whatever else the machine did.
fn best_epoch(xs: &[f64], rows: usize) -> f64 {
    xs.chunks_exact(rows)
        .skip(1)
        .map(|e| e.iter().sum::<f64>() / rows as f64)
        .fold(f64::INFINITY, f64::min)
}

fn trainer(epochs: usize) {
    let dir = tempfile::tempdir().unwrap();
    let rows = 6;
    let data = dir.path().join("data.jsonl");
    let text: String = (0..rows)
        .map(|i| {
            json!({"messages": [
                {"role": "system", "content": "You are BABS, the researcher of Telos."},
                {"role": "user", "content": format!("What is fact {i} about kites?")},
                {"role": "assistant", "content": format!("Fact {i}: a kite flies because the wind over its wing gives lift, and its line holds it.")},
            ]})
            .to_string()
                + "\n"
        })
        .collect();
    std::fs::write(&data, text).unwrap();
    let steps = rows * epochs;
    let python = trainer_python();
    let began = Instant::now();
    let out = std::process::Command::new(&python)
        .arg(telos_tests::package_dir().join("../trainer/train.py"))
        .args(["--base".as_ref(), base_gguf().as_os_str()])
        .args(["--data".as_ref(), data.as_os_str()])
        .args(["--out".as_ref(), dir.path().join("out").as_os_str()])
        .args(["--name", "bench", "--steps", &steps.to_string()])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/setup-trainer", python.display()));
    let trainer_wall = began.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "the trainer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["ms"].as_f64())
        .collect();
    let plain = std::process::Command::new(&python)
        .arg(telos_tests::package_dir().join("benches/plain_peft.py"))
        .arg(base_gguf())
        .arg(&data)
        .arg(steps.to_string())
        .output()
        .unwrap();
    assert!(
        plain.status.success(),
        "the plain PEFT loop failed: {}",
        String::from_utf8_lossy(&plain.stderr)
    );
    let text = String::from_utf8_lossy(&plain.stdout);
    let last: Value = serde_json::from_str(text.trim().lines().last().unwrap()).unwrap();
    let theirs: Vec<f64> = last["step_ms"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    // The first epoch warms up (allocations, kernels): left out of both.
    let (a, b) = (best_epoch(&ours, rows), best_epoch(&theirs, rows));
    let ratio = a / b;
    println!(
        "trainer: {:.0} ms per step against a plain PEFT loop's {:.0} ms, each its fastest epoch \
         ({ratio:.2}×, goal ≤ 1.1×: {}), {steps} steps over {epochs} epochs of {rows} rows; the \
         whole run (load, train, merge, convert to GGUF) {trainer_wall:.1} s",
        a,
        b,
        if ratio <= 1.1 { "met" } else { "MISSED" }
    );
}

async fn ascension(k: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut script = Script::design_table();
    script.token_ms = 2;
    script.models.push(StubModel {
        name: "babs-next:1b".into(),
        size: Bytes::gb(1.0),
        load_ms: 20,
    });
    let stub0 = OllamaStub::start(script.clone());
    let telos = telos_on(dir.path(), &stub0).await;
    // Enough golden rows for about k held-out prompts (one in ten).
    seed_golden(&telos, k * 10, 500).await;
    let held = telos_core::ascend::dataset::split(&telos.golden("BABS", 4.0).unwrap().golden)
        .held_out
        .len();
    telos.shutdown().await.unwrap();
    let pair = |better: &str| {
        Reply::Text(
            json!({"first": scores(5), "second": scores(3), "better": better, "rationale": "r"})
                .to_string(),
        )
    };
    script.replies.insert(
        "phi3:3.8b".into(),
        (0..held)
            .flat_map(|_| [pair("first"), pair("second")])
            .collect(),
    );
    let answer = |who: &str| {
        (0..held)
            .map(|i| Reply::Text(format!("{who} answers question {i} in a sentence or two.")))
            .collect()
    };
    script.replies.insert("qwen2:7b".into(), answer("BABS"));
    script
        .replies
        .insert("babs-next:1b".into(), answer("The candidate"));
    let stub = OllamaStub::start(script);
    let telos = telos_on(dir.path(), &stub).await;
    let began = Instant::now();
    let a = telos
        .ascend("BABS", "babs-next:1b", 4.0, |_| {})
        .await
        .unwrap();
    let wall = began.elapsed().as_secs_f64() * 1e3;
    let t = a.report.timing;
    println!(
        "ascension over {held} held-out prompts: {wall:.0} ms in all — answering {:.0} ms \
         ({:.0}%), judging {:.0} ms ({:.0}%), bookkeeping {:.1} ms ({:.1}%), the rest (the \
         candidate's pull, reading the dataset) {:.0} ms",
        t.answering,
        100.0 * t.answering / wall,
        t.judging,
        100.0 * t.judging / wall,
        t.bookkeeping,
        100.0 * t.bookkeeping / wall,
        wall - t.answering - t.judging - t.bookkeeping
    );
    telos.shutdown().await.unwrap();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let s = scale();
    curation(((200.0 * s) as usize).max(20)).await;
    export().await;
    // At least three measured epochs: one epoch of six steps is too few to compare.
    trainer(((8.0 * s) as usize).max(4));
    ascension(((20.0 * s) as usize).max(4)).await;
}

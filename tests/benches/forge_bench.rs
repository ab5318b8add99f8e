//! Forge overhead per attempt beyond model time, measured in one run: BRICK is the Ollama
//! stub (a FAKE model, replies scripted here: an off-by-one, then the fix, per forge), the
//! sandbox is real. Each attempt times itself (`Attempt::ms`, `model_ms`, `sandbox_ms`);
//! this prints the medians and what is left beyond the model: the sandbox run of the test
//! plus the forge's own work (prompt, parse, trace, commit).
//!
//! Goal: ≤ 50 ms per attempt beyond model time.
//!
//! Run: `cargo bench --workspace --bench forge_bench --profile dev` (root: the sandbox).
//! `TELOS_BENCH_SCALE` scales the number of forges.

use serde_json::json;
use telos_core::{Config, Telos};
use telos_tests::bench::{percentile, scale};
use telos_tests::ollama_stub::{OllamaStub, Reply, Script};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let forges = ((20.0 * scale()) as usize).max(5);
    let test = "from tool import run\nassert run([1, 2, 3]) == 6\n";
    let buggy = json!({"code": "def run(args):\n    return sum(args) + 1\n", "test": test});
    let fixed = json!({"code": "def run(args):\n    return sum(args)\n", "test": test});
    let mut script = Script::design_table();
    script.token_ms = 0;
    let replies = (0..forges)
        .flat_map(|_| {
            [
                Reply::Text(buggy.to_string()),
                Reply::Text(fixed.to_string()),
            ]
        })
        .collect();
    script.replies.insert("mistral:7b".into(), replies);
    let stub = OllamaStub::start(script);
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::from_data_dir(dir.path());
    config.ollama_host = stub.url();
    let telos = Telos::open(config).await.expect("open Telos");
    telos_tests::new_object(telos.image(), "abacus").await;

    let (mut whole, mut model, mut sandbox, mut beyond, mut own, mut rest) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for i in 0..forges {
        let started = std::time::Instant::now();
        let outcome = telos
            .forge_method("abacus", &format!("total{i}"), "sum the numbers in args")
            .await
            .expect("the second attempt passes");
        let forge_ms = started.elapsed().as_secs_f64() * 1e3;
        assert_eq!(outcome.attempts, 2);
        // The first forge warms the model's load and the caches.
        if i == 0 {
            continue;
        }
        for a in &outcome.task.attempts {
            whole.push(a.ms);
            model.push(a.model_ms);
            sandbox.push(a.sandbox_ms);
            beyond.push(a.ms - a.model_ms);
            own.push(a.ms - a.model_ms - a.sandbox_ms);
        }
        // Once per forge, outside the attempts: opening the cycle and committing it.
        rest.push(forge_ms - outcome.task.attempts.iter().map(|a| a.ms).sum::<f64>());
    }
    telos.shutdown().await.unwrap();
    let med = |xs: &mut Vec<f64>| percentile(xs, 0.5);
    let p95 = |xs: &mut Vec<f64>| percentile(xs, 0.95);
    let b = med(&mut beyond);
    println!(
        "forge, {} attempts (2 per forge), medians per attempt: whole {:.1} ms, model {:.1}, sandbox {:.1}, the forge's own work {:.2} (p95 {:.2}); per forge, the cycle's setup and commit {:.1} ms",
        whole.len(),
        med(&mut whole),
        med(&mut model),
        med(&mut sandbox),
        med(&mut own),
        p95(&mut own),
        med(&mut rest),
    );
    println!(
        "beyond model time: median {b:.1} ms, p95 {:.1} ms per attempt (goal ≤ 50 ms: {})",
        p95(&mut beyond),
        if b <= 50.0 { "met" } else { "MISSED" }
    );
}

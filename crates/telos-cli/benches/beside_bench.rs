//! The CLI beside the app: a command carried out by the running app (over its socket) against
//! the same command opening the data dir itself, each the `telos` binary's whole wall time,
//! median of N, in one run. Goal: through the app ≤ 0.5× (it skips opening the image, memory
//! and the runtimes). `TELOS_BENCH_SCALE` scales N.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use telos_core::{Config, Telos};

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// `telos ARGS` on `dir`, its wall time in ms.
fn timed(dir: &Path, args: &[&str]) -> f64 {
    let began = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_telos"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("TELOS_DATA_DIR")
        .env_remove("TELOS_ENDPOINT")
        .env("TELOS_LLM", "ollama")
        .output()
        .expect("run telos");
    let ms = began.elapsed().as_secs_f64() * 1e3;
    assert!(
        out.status.success(),
        "telos {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ms
}

fn main() {
    let scale: f64 = std::env::var("TELOS_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let n = ((20.0 * scale).round() as usize).max(3);
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let args = ["obj", "ls", "--json"];

    // Opening the data dir itself (no app): the first call awakens the image, not counted.
    timed(dir.path(), &args);
    let alone: Vec<f64> = (0..n).map(|_| timed(dir.path(), &args)).collect();

    // Through the app holding it.
    let telos = runtime.block_on(async {
        let mut config = Config::from_data_dir(dir.path());
        config.llm = telos_core::scheduler::Mode::Ollama;
        let telos = Arc::new(Telos::open(config).await.expect("open the app's Telos"));
        let served = Arc::clone(&telos);
        telos.supervisor().service("cli socket", move |shutdown| {
            telos_cli::serve(Arc::clone(&served), shutdown)
        });
        telos
    });
    let socket = telos_cli::socket_path(dir.path());
    while !socket.exists() {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    timed(dir.path(), &args);
    let beside: Vec<f64> = (0..n).map(|_| timed(dir.path(), &args)).collect();
    runtime.block_on(telos.close()).unwrap();

    let (alone, beside) = (median(alone), median(beside));
    let ratio = beside / alone;
    let verdict = if ratio <= 0.5 { "met" } else { "MISSED" };
    println!(
        "`telos obj ls` wall time, median of {n}: through the running app {beside:.0} ms vs opening the data dir itself {alone:.0} ms → {ratio:.2}× (goal ≤ 0.5×: {verdict})"
    );
}

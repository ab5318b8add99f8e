//! The embedded runtime against llama-cpp-python (built from its PyPI source by
//! `scripts/setup-reference`, for the same instruction set): the same GGUF (the default model),
//! prompt, context and thread count, the same sampling, the median of a few rounds each after a
//! warm-up, in one run. Goals: generation tokens/s ≥ 0.95×, prompt tokens/s ≥ 0.95×, time to
//! first token ≤ 1.1×. Also each side's peak RSS, and the scheduler's overhead per request
//! beyond model time on the embedded runtime.
//!
//! Run: `cargo bench --workspace --bench llm_bench --profile dev` (`TELOS_BENCH_SCALE=0.3` for
//! a short run).

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use telos_core::llama::{DEFAULT_MODEL, Embedded, EmbeddedConfig, models_dir};
use telos_core::scheduler::{Backend, Bytes, KeepAlive, Message, Persona, Scheduler};

const CONTEXT: u32 = 2048;

fn messages() -> Vec<Message> {
    let readme = std::fs::read_to_string(telos_tests::package_dir().join("../README.md"))
        .expect("README.md");
    let excerpt: String = readme.chars().skip(200).take(1800).collect();
    vec![
        Message::new("system", "You are a careful technical writer."),
        Message::new(
            "user",
            format!("Here is part of a README:\n\n{excerpt}\n\nRetell it as a long story."),
        ),
    ]
}

/// One reply's time to first token, generation rate and pieces.
async fn one(backend: &dyn Backend, model: &str, messages: Vec<Message>) -> (f64, f64, usize) {
    let start = Instant::now();
    let mut stream = backend
        .chat(model, messages, KeepAlive::Forever, None)
        .await
        .expect("chat");
    let (mut first, mut pieces) = (None, 0usize);
    while let Some(piece) = stream.next().await {
        match piece {
            Ok(p) if !p.is_empty() => {
                pieces += 1;
                first.get_or_insert_with(Instant::now);
            }
            Ok(_) => {}
            Err(e) if e.to_string().contains("limit") => break,
            Err(e) => panic!("{e}"),
        }
    }
    let end = Instant::now();
    let first = first.expect("a first token");
    let ttft = (first - start).as_secs_f64();
    let rate = (pieces.saturating_sub(1)) as f64 / (end - first).as_secs_f64();
    (ttft, rate, pieces)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let scale = telos_tests::bench::scale();
    let rounds = ((5.0 * scale).round() as usize).max(2);
    let max_tokens = 128u32;
    let threads = std::thread::available_parallelism().map_or(4, |n| n.get());
    let mut config = EmbeddedConfig::new(models_dir());
    config.context = CONTEXT;
    config.threads = threads;
    config.max_tokens = max_tokens;
    let embedded = Embedded::new(config.clone());
    let info = embedded
        .info(DEFAULT_MODEL)
        .expect("the default model: run scripts/setup");
    println!(
        "embedded runtime vs llama-cpp-python: {} ({}), context {CONTEXT}, {threads} threads, \
         up to {max_tokens} tokens, median of {rounds} rounds after a warm-up",
        DEFAULT_MODEL, info.footprint
    );

    // Ours, the backend alone (model time).
    let mut ttfts = Vec::new();
    let mut rates = Vec::new();
    for r in 0..=rounds {
        let (ttft, rate, _) = one(&embedded, DEFAULT_MODEL, messages()).await;
        if r > 0 {
            ttfts.push(ttft);
            rates.push(rate);
        }
    }
    let (our_ttft, our_rate) = (median(ttfts), median(rates));
    let our_rss = peak_rss();

    // The reference, in its own process.
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec(&messages()).unwrap()).unwrap();
    let reference = telos_tests::bench::run_reference(
        "llm_reference.py",
        &[
            info.path.clone().into_os_string(),
            file.path().as_os_str().to_owned(),
            CONTEXT.to_string().into(),
            threads.to_string().into(),
            max_tokens.to_string().into(),
            rounds.to_string().into(),
        ],
    );
    let f = |k: &str| {
        reference[k]
            .as_f64()
            .unwrap_or_else(|| panic!("{k} in {reference}"))
    };
    let prompt_tokens = f("prompt_tokens");
    let (their_ttft, their_rate) = (f("ttft_s"), f("gen_tokens_per_s"));
    let (our_pp, their_pp) = (prompt_tokens / our_ttft, prompt_tokens / their_ttft);

    println!("  prompt: {prompt_tokens:.0} tokens");
    println!(
        "  time to first token: telos {:.1} ms, llama-cpp-python {:.1} ms: {:.2}× (goal ≤ 1.1×: {})",
        our_ttft * 1e3,
        their_ttft * 1e3,
        our_ttft / their_ttft,
        verdict(our_ttft / their_ttft <= 1.1)
    );
    println!(
        "  prompt processing: telos {our_pp:.0} tokens/s, llama-cpp-python {their_pp:.0} tokens/s: {:.2}× (goal ≥ 0.95×: {})",
        our_pp / their_pp,
        verdict(our_pp / their_pp >= 0.95)
    );
    println!(
        "  generation: telos {our_rate:.1} tokens/s, llama-cpp-python {their_rate:.1} tokens/s: {:.2}× (goal ≥ 0.95×: {})",
        our_rate / their_rate,
        verdict(our_rate / their_rate >= 0.95)
    );
    println!(
        "  peak RSS: telos {:.0} MB (the whole bench process), llama-cpp-python {:.0} MB",
        our_rss as f64 / 1e6,
        f("peak_rss_bytes") / 1e6
    );

    // The scheduler's overhead: the same short requests through it and straight to the
    // backend (one token each), alternating.
    let mut short = config;
    short.max_tokens = 1;
    let direct = Arc::new(Embedded::new(short));
    let scheduler = Scheduler::new(
        direct.clone(),
        Bytes::gib(4),
        vec![Persona {
            name: "BENCH".into(),
            model: DEFAULT_MODEL.into(),
            keep_alive: KeepAlive::Forever,
            priority: 1,
            size: Bytes(0),
        }],
    );
    let ask = || vec![Message::new("user", "Say yes.")];
    let drain = |mut s: telos_core::scheduler::ollama::TokenStream| async move {
        while let Some(p) = s.next().await {
            if p.is_err() {
                break; // the one-token limit
            }
        }
    };
    drain(scheduler.chat("BENCH", ask()).await.unwrap()).await; // loads it
    let n = ((40.0 * scale).round() as usize).max(10);
    let (mut through, mut straight) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let t = Instant::now();
        drain(scheduler.chat("BENCH", ask()).await.unwrap()).await;
        through.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        drain(
            direct
                .chat(DEFAULT_MODEL, ask(), KeepAlive::Forever, None)
                .await
                .unwrap(),
        )
        .await;
        straight.push(t.elapsed().as_secs_f64());
    }
    let (a, b) = (median(through), median(straight));
    println!(
        "  scheduler overhead per request: {:.2} ms over {:.2} ms of model time ({:.1}%; {n} one-token requests each way, medians)",
        (a - b) * 1e3,
        b * 1e3,
        (a - b) / b * 100.0
    );
}

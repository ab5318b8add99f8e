//! What the benchmarks share: the run's scale, percentiles, and the reference implementations
//! `scripts/setup-reference` installs.

/// `TELOS_BENCH_SCALE` (default 1.0): every benchmark's loops are multiplied by it.
pub fn scale() -> f64 {
    std::env::var("TELOS_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0)
}

/// The parts `TELOS_BENCH_PARTS` (a comma list; default: every one of `known`) asks a
/// benchmark for; a name it does not know is said once, with the ones it does.
pub fn parts(known: &[&'static str]) -> Vec<&'static str> {
    let Ok(asked) = std::env::var("TELOS_BENCH_PARTS") else {
        return known.to_vec();
    };
    let asked: Vec<&str> = asked.split(',').map(str::trim).collect();
    for part in asked.iter().filter(|p| !known.contains(p)) {
        println!(
            "TELOS_BENCH_PARTS: no part '{part}' (parts: {})",
            known.join(", ")
        );
    }
    known
        .iter()
        .copied()
        .filter(|k| asked.contains(k))
        .collect()
}

/// The `p` quantile (0..=1) of `xs`, nearest rank; sorts `xs`.
pub fn percentile(xs: &mut [f64], p: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[((p * xs.len() as f64).ceil() as usize).clamp(1, xs.len()) - 1]
}

/// Runs the reference script `benches/SCRIPT` with the venv's Python and `args`; its last line
/// of output is JSON.
pub fn run_reference(script: &str, args: &[std::ffi::OsString]) -> serde_json::Value {
    let venv = std::env::var_os("TELOS_REFERENCE_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").expect("HOME"))
                .join(".cache/telos-reference")
        });
    let python = venv.join("bin/python");
    let out = std::process::Command::new(&python)
        .arg(crate::package_dir().join("benches").join(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/setup-reference", python.display()));
    assert!(
        out.status.success(),
        "the reference {script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim().lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("the reference's output {text:?}: {e}"))
}

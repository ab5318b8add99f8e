//! What the benchmarks share: the run's scale and percentiles.

/// `TELOS_BENCH_SCALE` (default 1.0): every benchmark's loops are multiplied by it.
pub fn scale() -> f64 {
    std::env::var("TELOS_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0)
}

/// The `p` quantile (0..=1) of `xs`, nearest rank; sorts `xs`.
pub fn percentile(xs: &mut [f64], p: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[((p * xs.len() as f64).ceil() as usize).clamp(1, xs.len()) - 1]
}

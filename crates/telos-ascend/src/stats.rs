//! The statistics of a paired evaluation: the win rate's Wilson interval, the sign test, and
//! percentiles of latencies.

/// z for a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;

/// The Wilson score interval (95%) of a proportion `successes / n`; `(0, 1)` when `n` is 0.
/// `successes` may be fractional (a tie counts half).
pub fn wilson(successes: f64, n: f64) -> (f64, f64) {
    if n <= 0.0 {
        return (0.0, 1.0);
    }
    let p = (successes / n).clamp(0.0, 1.0);
    let z2 = Z95 * Z95;
    let centre = p + z2 / (2.0 * n);
    let spread = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let denominator = 1.0 + z2 / n;
    (
        ((centre - spread) / denominator).max(0.0),
        ((centre + spread) / denominator).min(1.0),
    )
}

/// The exact two-sided sign test of `wins` against `losses` (ties left out): the probability,
/// under no difference, of a split at least this uneven. 1 when there is nothing to test.
pub fn sign_test(wins: u32, losses: u32) -> f64 {
    let n = wins + losses;
    if n == 0 {
        return 1.0;
    }
    let k = wins.min(losses);
    // P(X ≤ k) for X ~ Binomial(n, 1/2), summed in logs so large n does not overflow.
    let ln_half_n = f64::from(n) * 0.5f64.ln();
    let mut ln_choose = 0.0; // ln C(n, 0)
    let mut tail = 0.0;
    for i in 0..=k {
        if i > 0 {
            ln_choose += (f64::from(n - i + 1)).ln() - f64::from(i).ln();
        }
        tail += (ln_choose + ln_half_n).exp();
    }
    (2.0 * tail).min(1.0)
}

/// The `q` quantile (0..=1) of `values` by the nearest rank; `None` when there are none.
pub fn percentile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_the_textbook_values() {
        // 8 of 10: (0.490, 0.943), as in Wilson (1927) and every table since.
        let (lo, hi) = wilson(8.0, 10.0);
        assert!(
            (lo - 0.4902).abs() < 1e-3 && (hi - 0.9433).abs() < 1e-3,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson(0.0, 10.0);
        assert!(lo == 0.0 && (hi - 0.2775).abs() < 1e-3, "{hi}");
        assert_eq!(wilson(0.0, 0.0), (0.0, 1.0));
        // Ten wins clear 0.5; five of ten do not.
        assert!(wilson(10.0, 10.0).0 > 0.5);
        assert!(wilson(5.0, 10.0).0 < 0.5);
    }

    #[test]
    fn the_sign_test_is_the_exact_binomial() {
        assert_eq!(sign_test(0, 0), 1.0);
        // 10–0: 2 × 0.5^10.
        assert!((sign_test(10, 0) - 2.0 / 1024.0).abs() < 1e-12);
        assert!((sign_test(0, 10) - 2.0 / 1024.0).abs() < 1e-12);
        // 8–2: 2 × (1 + 10 + 45) / 1024 = 0.109375.
        assert!((sign_test(8, 2) - 0.109_375).abs() < 1e-12);
        assert_eq!(sign_test(5, 5), 1.0);
        assert!(sign_test(600, 400) < 1e-9);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v = [5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(percentile(&v, 0.5), Some(3.0));
        assert_eq!(percentile(&v, 0.95), Some(5.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}

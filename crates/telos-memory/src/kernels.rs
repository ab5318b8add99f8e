//! The encoder's element-wise kernels: GELU and softmax, written so the compiler vectorises
//! them (no calls into libm in the loops: exp is a polynomial), and built twice — for the
//! baseline x86-64 and for AVX2 + FMA — with the CPU picking at run time.

/// exp by Cephes' `expf` (range reduction to [-ln 2 / 2, ln 2 / 2] and a degree-6
/// polynomial; relative error about 1e-7), branch-free so loops over it vectorise. Inputs
/// below -87.3 give about 1.2e-38 (no subnormals are made), above 88.3 about 2.4e38.
#[inline(always)]
fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.336_55, 88.376_26);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let y = p * r * r + r + 1.0;
    // 2^n through the exponent bits (n ≥ -126 after the clamp, so no subnormals).
    y * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// erf by Abramowitz and Stegun 7.1.26 (absolute error ≤ 1.5e-7), as PyTorch's
/// `Vectorized<float>::erf` computes it — the reference's GELU.
#[inline(always)]
fn erf(x: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [
        0.254_829_6,
        -0.284_496_74,
        1.421_413_8,
        -1.453_152,
        1.061_405_4,
    ];
    let ax = x.abs();
    let t = 1.0 / (1.0 + P * ax);
    let poly = ((((A[4] * t + A[3]) * t + A[2]) * t + A[1]) * t + A[0]) * t;
    (1.0 - poly * exp(-ax * ax)).copysign(x)
}

#[inline(always)]
fn gelu_generic(xs: &mut [f32]) {
    for x in xs {
        *x = *x * 0.5 * (1.0 + erf(*x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

#[inline(always)]
fn softmax_generic(row: &mut [f32]) {
    const LANES: usize = 8;
    let mut max = [f32::NEG_INFINITY; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for c in &mut chunks {
        for (m, &v) in max.iter_mut().zip(c) {
            *m = if v > *m { v } else { *m };
        }
    }
    let max = chunks
        .remainder()
        .iter()
        .chain(&max)
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    for x in row.iter_mut() {
        *x = exp(*x - max);
    }
    let mut sum = [0f32; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for c in &mut chunks {
        for (s, &v) in sum.iter_mut().zip(c) {
            *s += v;
        }
    }
    let sum: f32 = chunks.remainder().iter().sum::<f32>() + sum.iter().sum::<f32>();
    let inv = 1.0 / sum;
    for x in row.iter_mut() {
        *x *= inv;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn gelu_avx2(xs: &mut [f32]) {
    gelu_generic(xs)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn softmax_avx2(row: &mut [f32]) {
    softmax_generic(row)
}

#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

/// GELU, `x · (1 + erf(x / √2)) / 2`, in place.
pub fn gelu(xs: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has the features the function is compiled for.
        return unsafe { gelu_avx2(xs) };
    }
    gelu_generic(xs)
}

/// Softmax of one row, in place.
pub fn softmax(row: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has the features the function is compiled for.
        return unsafe { softmax_avx2(row) };
    }
    softmax_generic(row)
}

#[cfg(test)]
mod tests {
    #[test]
    fn exp_is_within_a_few_ulp_of_std() {
        let mut worst = 0f64;
        for i in -8700..=8800 {
            let x = i as f32 / 100.0;
            let want = f64::from(x).exp();
            let got = f64::from(super::exp(x));
            worst = worst.max(((got - want) / want).abs());
        }
        assert!(worst < 3e-7, "largest relative error {worst:e}");
        assert!(super::exp(-1000.0) <= f32::MIN_POSITIVE);
    }

    #[test]
    fn erf_is_within_the_formulas_bound() {
        // Reference values of erf (to 10 digits).
        for (x, want) in [
            (0.0f32, 0.0f64),
            (0.1, 0.112_462_916_0),
            (0.5, 0.520_499_877_8),
            (1.0, 0.842_700_792_9),
            (-1.5, -0.966_105_146_5),
            (2.5, 0.999_593_047_9),
            (4.0, 0.999_999_984_6),
            (12.0, 1.0),
        ] {
            let got = f64::from(super::erf(x));
            assert!((got - want).abs() <= 3e-7, "erf({x}) = {got}, want {want}");
        }
    }

    #[test]
    fn the_dispatched_kernels_match_plain_arithmetic() {
        let xs: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) / 37.0).collect();
        let mut g = xs.clone();
        super::gelu(&mut g);
        for (x, g) in xs.iter().zip(&g) {
            let want = f64::from(*x) * 0.5 * (1.0 + erf_f64(f64::from(*x) / 2f64.sqrt()));
            assert!(
                (f64::from(*g) - want).abs() < 1e-6,
                "gelu({x}) = {g}, want {want}"
            );
        }
        let mut row: Vec<f32> = (0..203)
            .map(|i| ((i * 7919) % 101) as f32 / 9.0 - 3.0)
            .collect();
        let plain: Vec<f64> = {
            let m = row.iter().copied().fold(f32::MIN, f32::max) as f64;
            let e: Vec<f64> = row.iter().map(|&v| (f64::from(v) - m).exp()).collect();
            let s: f64 = e.iter().sum();
            e.iter().map(|v| v / s).collect()
        };
        super::softmax(&mut row);
        for (got, want) in row.iter().zip(&plain) {
            assert!(
                (f64::from(*got) - want).abs() < 1e-7,
                "softmax {got} vs {want}"
            );
        }
    }

    /// The same formula in f64 with the standard library's exp.
    fn erf_f64(x: f64) -> f64 {
        let a = [
            0.254829592,
            -0.284496736,
            1.421413741,
            -1.453152027,
            1.061405429,
        ];
        let t = 1.0 / (1.0 + 0.3275911 * x.abs());
        let poly = ((((a[4] * t + a[3]) * t + a[2]) * t + a[1]) * t + a[0]) * t;
        (1.0 - poly * (-x * x).exp()).copysign(x)
    }
}

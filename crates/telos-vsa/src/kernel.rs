//! The element-wise loops every operation is made of, written so the compiler vectorises
//! them (split real and imaginary halves, no branches, reductions over eight lanes, outputs
//! written once into memory never zeroed first: zeroing them cost a quarter of a bind), and
//! compiled three times: for the x86-64 baseline and, chosen at run time, for AVX2 with FMA
//! and for AVX-512 (the workspace builds Rust for the baseline, which has only SSE2). Each
//! version computes the same floats in the same order, so results do not depend on the CPU.
//! AVX-512's full-line stores into a hypervector's cache-aligned storage are what let a bind
//! out of memory keep up with NumPy's (see `floats.rs`).

/// Defines `pub(crate) fn $name` that runs `$body` compiled for AVX-512, or AVX2 + FMA, where
/// the CPU has them, and for the baseline otherwise.
macro_rules! dispatch {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$doc])*
        pub(crate) fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                fn widest($($arg: $ty),*) $(-> $ret)? { body($($arg),*) }
                #[target_feature(enable = "avx2,fma")]
                fn wide($($arg: $ty),*) $(-> $ret)? { body($($arg),*) }
                // (a hypervisor may hide some features, so each is asked for)
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    if std::is_x86_feature_detected!("avx512f") {
                        // SAFETY: the CPU has the features `widest` was compiled for.
                        return unsafe { widest($($arg),*) };
                    }
                    // SAFETY: the CPU has the features `wide` was compiled for (checked above).
                    return unsafe { wide($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}

use std::mem::MaybeUninit;

const LANES: usize = 8;

dispatch! {
    /// `out = a ⊙ b` on complex numbers held as (re, im) halves: phases add.
    fn bind(a_re: &[f32], a_im: &[f32], b_re: &[f32], b_im: &[f32], o_re: &mut [MaybeUninit<f32>], o_im: &mut [MaybeUninit<f32>]) {
        let n = o_re.len();
        let (a_re, a_im, b_re, b_im, o_im) = (&a_re[..n], &a_im[..n], &b_re[..n], &b_im[..n], &mut o_im[..n]);
        for i in 0..n {
            o_re[i].write(a_re[i] * b_re[i] - a_im[i] * b_im[i]);
            o_im[i].write(a_re[i] * b_im[i] + a_im[i] * b_re[i]);
        }
    }
}

dispatch! {
    /// `out = a ⊙ conj(b)`: phases subtract (the inverse of `bind` for unit phasors).
    fn unbind(a_re: &[f32], a_im: &[f32], b_re: &[f32], b_im: &[f32], o_re: &mut [MaybeUninit<f32>], o_im: &mut [MaybeUninit<f32>]) {
        let n = o_re.len();
        let (a_re, a_im, b_re, b_im, o_im) = (&a_re[..n], &a_im[..n], &b_re[..n], &b_im[..n], &mut o_im[..n]);
        for i in 0..n {
            o_re[i].write(a_re[i] * b_re[i] + a_im[i] * b_im[i]);
            o_im[i].write(a_im[i] * b_re[i] - a_re[i] * b_im[i]);
        }
    }
}

dispatch! {
    /// `acc += w · v`.
    fn add_scaled(acc: &mut [f32], v: &[f32], w: f32) {
        let v = &v[..acc.len()];
        for (a, x) in acc.iter_mut().zip(v) {
            *a += w * x;
        }
    }
}

dispatch! {
    /// `acc += (x0 + x1) + (x2 + x3)`: four members of a bundle in one pass, so the sum is
    /// read and written once per four (one at a time, its traffic was twice the members').
    fn add4(acc: &mut [f32], x0: &[f32], x1: &[f32], x2: &[f32], x3: &[f32]) {
        let n = acc.len();
        let (x0, x1, x2, x3) = (&x0[..n], &x1[..n], &x2[..n], &x3[..n]);
        for i in 0..n {
            acc[i] += (x0[i] + x1[i]) + (x2[i] + x3[i]);
        }
    }
}

dispatch! {
    /// Σ a·b, summed in eight lanes (a plain fold cannot be reordered, so would not vectorise).
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        let b = &b[..a.len()];
        let mut lanes = [0.0f32; LANES];
        let (ac, bc) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
        let (ar, br) = (ac.remainder(), bc.remainder());
        for (x, y) in ac.zip(bc) {
            for l in 0..LANES {
                lanes[l] += x[l] * y[l];
            }
        }
        let tail: f32 = ar.iter().zip(br).map(|(x, y)| x * y).sum();
        lanes.iter().sum::<f32>() + tail
    }
}

dispatch! {
    /// Each complex component scaled to magnitude one; a component that is (near) zero
    /// becomes phase 0, so the result is always a unit phasor vector.
    fn to_phasors(re: &mut [f32], im: &mut [f32]) {
        let im = &mut im[..re.len()];
        for (r, i) in re.iter_mut().zip(im.iter_mut()) {
            let m2 = *r * *r + *i * *i;
            let zero = m2 <= f32::MIN_POSITIVE;
            let inv = if zero { 0.0 } else { 1.0 / m2.sqrt() };
            *r = if zero { 1.0 } else { *r * inv };
            *i *= inv;
        }
    }
}

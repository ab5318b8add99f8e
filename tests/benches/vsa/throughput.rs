//! Binding and bundling throughput against NumPy, one thread each, the same sizes.

use std::time::Instant;

use telos_vsa::{BundleRule, Hv, bundle};

pub fn run(scale: f64) {
    let dim = telos_vsa::DEFAULT_DIM;
    let pairs = ((2000.0 * scale) as usize).max(200);
    let members = 150;
    let bundles = ((200.0 * scale) as usize).max(20);
    let rounds = 5;
    let a: Vec<Hv> = (0..pairs)
        .map(|k| Hv::atom("a", &k.to_string(), dim))
        .collect();
    let b: Vec<Hv> = (0..pairs)
        .map(|k| Hv::atom("b", &k.to_string(), dim))
        .collect();
    let x: Vec<Hv> = (0..members)
        .map(|k| Hv::atom("x", &k.to_string(), dim))
        .collect();
    let (mut best_bind, mut best_bundle) = (f64::INFINITY, f64::INFINITY);
    let mut check = 0.0f32;
    // Both sides bind into outputs made beforehand (NumPy: `out=`): a fresh output is the
    // allocator's and the kernel's page faults, not the algebra, and NumPy's large arrays get
    // huge pages where 80 KB vectors do not.
    let mut bound: Vec<Hv> = (0..pairs).map(|_| Hv::zeros(dim)).collect();
    for _ in 0..rounds {
        let t = Instant::now();
        for ((p, q), o) in a.iter().zip(&b).zip(&mut bound) {
            p.bind_into(q, o);
        }
        best_bind = best_bind.min(t.elapsed().as_secs_f64());
        check += bound[pairs - 1].re()[0];
        let t = Instant::now();
        for _ in 0..bundles {
            check += bundle(dim, &x, BundleRule::Phasor).re()[0];
        }
        best_bundle = best_bundle.min(t.elapsed().as_secs_f64());
    }
    assert!(check.is_finite());
    let reference = telos_tests::bench::run_reference(
        "vsa_reference.py",
        &[pairs, dim, members, bundles, rounds].map(|n| n.to_string().into()),
    );
    println!(
        "throughput at dimension {dim}, one thread, best of {rounds} (NumPy {}):",
        reference["numpy"]
    );
    for (what, ours, theirs) in [
        (
            format!("bind ({pairs} pairs)"),
            pairs as f64 / best_bind,
            &reference["binds_per_s"],
        ),
        (
            format!("bundle ({members} members, phasor rule)"),
            bundles as f64 / best_bundle,
            &reference["bundles_per_s"],
        ),
    ] {
        let theirs = theirs.as_f64().expect("a rate");
        let ratio = ours / theirs;
        println!(
            "  {what}: telos {ours:.0}/s, NumPy {theirs:.0}/s, ratio {ratio:.2}× (goal ≥ 1.0×: {})",
            super::verdict(ratio >= 1.0)
        );
    }
}

//! The regrouping's cost as a persona's memory grows: `recluster::cluster` (HDBSCAN, then its
//! noise placed as growth places chunks) on synthetic MiniLM-sized unit vectors in clusters,
//! at doubling sizes, each time against the smallest size's, so the growth's exponent shows.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Dimension of the embeddings concepts group (MiniLM's).
const DIM: usize = 384;
/// Chunks per synthetic topic.
const PER_TOPIC: usize = 40;

/// `n` unit vectors around `n / PER_TOPIC` random centres (cosine to their centre ≈ 0.7).
fn points(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut gauss = move || {
        // Box–Muller
        let (u, v): (f32, f32) = (rng.random_range(f32::EPSILON..1.0), rng.random());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    };
    let unit = |v: Vec<f32>| {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect::<Vec<f32>>()
    };
    let centres: Vec<Vec<f32>> = (0..n.div_ceil(PER_TOPIC))
        .map(|_| unit((0..DIM).map(|_| gauss()).collect()))
        .collect();
    (0..n)
        .map(|i| {
            let c = &centres[i % centres.len()];
            unit(
                c.iter()
                    .map(|x| x + gauss() / (DIM as f32).sqrt())
                    .collect(),
            )
        })
        .collect()
}

pub fn run(scale: f64) {
    let largest = ((8000.0 * scale) as usize).max(1000);
    println!("\n== regrouping: HDBSCAN on {DIM}-dimensional chunk vectors, {PER_TOPIC} per topic");
    println!("  chunks   groups   alone   seconds   × time of the first   × its size");
    let mut n = largest / 8;
    let mut first: Option<(usize, f64)> = None;
    while n <= largest {
        let p = points(n, n as u64);
        let t = Instant::now();
        let (groups, alone) = telos_memory::recluster::cluster(&p);
        let s = t.elapsed().as_secs_f64();
        let (n0, s0) = *first.get_or_insert((n, s));
        println!(
            "  {n:6}   {:6}   {alone:5}   {s:7.2}   {:19.1}×   {:8.1}×",
            groups.len(),
            s / s0,
            n as f64 / n0 as f64
        );
        n *= 2;
    }
}

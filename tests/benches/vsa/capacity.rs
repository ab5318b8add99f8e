//! Capacity: how many role–filler pairs one record holds before unbinding a role and cleaning
//! up (exact nearest neighbour among every symbol of the codebook, roles included) stops
//! returning the filler. Both bundling rules, the same records and queries.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::index::sample;
use telos_vsa::{Bundle, BundleRule, Hv};

/// The codebook as one row-major matrix, `symbols × 2·dim`.
pub struct Codebook {
    pub dim: usize,
    pub rows: Vec<f32>,
}

impl Codebook {
    pub fn new(symbols: usize, dim: usize) -> Self {
        let mut rows = Vec::with_capacity(symbols * 2 * dim);
        for k in 0..symbols {
            rows.extend_from_slice(Hv::atom("bench", &format!("s{k}"), dim).as_slice());
        }
        Self { dim, rows }
    }

    pub fn len(&self) -> usize {
        self.rows.len() / (2 * self.dim)
    }

    pub fn get(&self, k: usize) -> Hv {
        let w = 2 * self.dim;
        Hv::from_vec(self.rows[k * w..(k + 1) * w].to_vec()).expect("a row")
    }

    /// The best symbol for each query (exact: every query against every symbol, as a
    /// matrix product; the codebook's rows all have the same norm, so the largest dot product
    /// is the largest cosine).
    pub fn cleanup(&self, queries: &[Hv]) -> Vec<usize> {
        let (q, n, w) = (queries.len(), self.len(), 2 * self.dim);
        let lhs: Vec<f32> = queries
            .iter()
            .flat_map(|h| h.as_slice().iter().copied())
            .collect();
        let mut scores = vec![0.0f32; q * n];
        // SAFETY: lhs is q × w, the codebook n × w (read transposed), scores q × n.
        unsafe {
            gemm::gemm(
                q,
                n,
                w,
                scores.as_mut_ptr(),
                1,
                n as isize,
                false,
                lhs.as_ptr(),
                1,
                w as isize,
                self.rows.as_ptr(),
                w as isize,
                1,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(0),
            );
        }
        scores
            .chunks_exact(n)
            .map(|row| {
                (0..n)
                    .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                    .expect("symbols")
            })
            .collect()
    }
}

/// Symbols in the benchmark's codebook.
pub const SYMBOLS: usize = 10_000;
/// The pairs in one record at which the capacity goal is held (≥ 99% right).
pub const GOAL_PAIRS: usize = 150;

pub fn run(scale: f64) -> Codebook {
    let (dim, symbols) = (telos_vsa::DEFAULT_DIM, SYMBOLS);
    let per_size = ((1000.0 * scale) as usize).max(50);
    let t = std::time::Instant::now();
    let book = Codebook::new(symbols, dim);
    println!(
        "\ncapacity: dimension {dim}, a codebook of {symbols} symbols (made in {:.1} s), {per_size} queries per size",
        t.elapsed().as_secs_f64()
    );
    println!("  pairs   right (phasor rule)   right (sum rule)   filler similarity (phasor)");
    let mut at_150 = 0.0;
    for pairs in [50, 100, 150, 200, 300, 400, 600, 800, 1000] {
        let mut rng = StdRng::seed_from_u64(pairs as u64);
        let (mut right, mut sim) = ([0usize; 2], 0.0f64);
        let mut asked = 0;
        while asked < per_size {
            let picks = sample(&mut rng, symbols, 2 * pairs).into_vec();
            let (roles, fillers) = picks.split_at(pairs);
            let bound: Vec<Hv> = roles
                .iter()
                .zip(fillers)
                .map(|(&r, &f)| book.get(r).bind(&book.get(f)))
                .collect();
            let ask = (per_size - asked).min(pairs);
            for (slot, rule) in [BundleRule::Phasor, BundleRule::Sum]
                .into_iter()
                .enumerate()
            {
                let mut b = Bundle::new(dim);
                bound.iter().for_each(|h| {
                    b.add(h);
                });
                let record = b.finish(rule);
                let queries: Vec<Hv> = roles[..ask]
                    .iter()
                    .map(|&r| record.unbind(&book.get(r)))
                    .collect();
                let best = book.cleanup(&queries);
                right[slot] += best.iter().zip(fillers).filter(|(b, f)| b == f).count();
                if slot == 0 {
                    sim += queries
                        .iter()
                        .zip(fillers)
                        .map(|(q, &f)| q.similarity(&book.get(f)) as f64)
                        .sum::<f64>();
                }
            }
            asked += ask;
        }
        let pct = |r: usize| 100.0 * r as f64 / asked as f64;
        println!(
            "  {pairs:5}   {:17.2}%   {:15.2}%   {:.4} (noise σ {:.4})",
            pct(right[0]),
            pct(right[1]),
            sim / asked as f64,
            telos_vsa::noise(dim)
        );
        if pairs == GOAL_PAIRS {
            at_150 = pct(right[0]).min(pct(right[1]));
        }
    }
    println!(
        "  goal ≥ 99% right at {GOAL_PAIRS} pairs: {at_150:.2}% ({})",
        super::verdict(at_150 >= 99.0)
    );
    book
}

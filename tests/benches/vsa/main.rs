//! The vector-symbolic layer's benchmark, each figure a ratio or a rate measured in this run:
//! - capacity: records of n role–filler pairs at dimension 10,000, unbound by a role and
//!   cleaned up exactly against a 10,000-symbol codebook, for both bundling rules (goal:
//!   ≥ 99% right at 150 pairs);
//! - cleanup through the index (the cleanup memory's LanceDB table) against exact search:
//!   top-1 agreement (goal ≥ 99.9%), p99 latency (goal ≤ 5 ms) and the ratio to a flat scan;
//! - throughput: binding and bundling against NumPy doing the same (goal ≥ 1.0×);
//! - concepts on a labelled corpus of 1,200 documents: purity and NMI against k-means on the
//!   same embeddings, and model calls per document remembered.
//!
//! Run: `cargo bench --workspace --bench vsa_bench --profile dev` (NumPy comes from
//! `scripts/setup-reference`; `TELOS_BENCH_SCALE=0.1` for a short run).

mod capacity;
mod cleanup;
mod concepts;
mod throughput;

fn main() {
    let scale = telos_tests::bench::scale();
    // first, while no other work (gemm's or LanceDB's threads) shares the two cores
    throughput::run(scale);
    let book = capacity::run(scale);
    cleanup::run(scale, &book);
    drop(book);
    concepts::run(scale);
}

/// "met" or "MISSED", for a goal line.
fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

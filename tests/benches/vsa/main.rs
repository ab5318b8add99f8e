//! The vector-symbolic layer's benchmark, each figure a ratio or a rate measured in this run:
//! - capacity: records of n role–filler pairs at dimension 10,000, unbound by a role and
//!   cleaned up exactly against a 10,000-symbol codebook, for both bundling rules (goal:
//!   ≥ 99% right at 150 pairs);
//! - cleanup through the index (the cleanup memory's LanceDB table) against exact search:
//!   top-1 agreement on records up to the capacity goal's 150 pairs (goal ≥ 99.9%), p99
//!   latency (goal ≤ 5 ms) and the ratio to a flat scan;
//! - throughput: binding and bundling against NumPy doing the same (goal ≥ 1.0×);
//! - concepts on a labelled corpus of 1,200 documents: purity and NMI against k-means on the
//!   same embeddings, and model calls per document remembered;
//! - regrouping: HDBSCAN's time as a persona's chunks double (synthetic clustered vectors).
//!
//! Run: `cargo bench --workspace --bench vsa_bench --profile dev` (NumPy comes from
//! `scripts/setup-reference`; `TELOS_BENCH_SCALE=0.1` for a short run; `TELOS_BENCH_PARTS`
//! picks parts: `throughput`, `capacity`, `cleanup`, `concepts`, `regroup`).

mod capacity;
mod cleanup;
mod concepts;
mod regroup;
mod throughput;

fn main() {
    let scale = telos_tests::bench::scale();
    let parts =
        telos_tests::bench::parts(&["throughput", "capacity", "cleanup", "concepts", "regroup"]);
    let runs = |part| parts.contains(&part);
    // first, while no other work (gemm's or LanceDB's threads) shares the two cores
    if runs("throughput") {
        throughput::run(scale);
    }
    if runs("capacity") || runs("cleanup") {
        // cleanup searches capacity's codebook
        let book = if runs("capacity") {
            capacity::run(scale)
        } else {
            capacity::Codebook::new(capacity::SYMBOLS, telos_vsa::DEFAULT_DIM)
        };
        if runs("cleanup") {
            cleanup::run(scale, &book);
        }
    }
    if runs("concepts") {
        concepts::run(scale);
    }
    if runs("regroup") {
        regroup::run(scale);
    }
}

/// "met" or "MISSED", for a goal line.
fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

//! Cleanup through the index: the codebook in the cleanup memory's LanceDB table, queries
//! unbound from records of role–filler pairs, and the index's best symbol compared with the
//! exact best (every symbol scored); latency against LanceDB's own flat scan in the same run,
//! and LanceDB's floor: the same queries through an index of a few hundred symbols.

use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::index::sample;
use telos_memory::hyper::{HyperStore, REFINE, Search, SymbolRow};
use telos_vsa::{Bundle, BundleRule};

use super::capacity::Codebook;

pub fn run(scale: f64, book: &Codebook) {
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    rt.block_on(measure(scale, book));
}

async fn measure(scale: f64, book: &Codebook) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = HyperStore::open(dir.path(), book.dim).await.expect("table");
    let t = Instant::now();
    for part in (0..book.len()).collect::<Vec<_>>().chunks(500) {
        store
            .add(&symbol_rows(book, part.iter().copied()))
            .await
            .expect("rows");
    }
    let written = t.elapsed().as_secs_f64();
    let t = Instant::now();
    store.build_index().await.expect("index");
    println!(
        "\ncleanup through the index: {} symbols of dimension {} written in {written:.1} s, RaBitQ index built in {:.1} s",
        book.len(),
        book.dim,
        t.elapsed().as_secs_f64()
    );
    let per_size = ((500.0 * scale) as usize).max(40);
    // The product's setting first (the goal lines are its), then wider re-rankings.
    let settings = [Search::default().refine, Some(2 * REFINE), Some(6 * REFINE)];
    let mut all_lat = Vec::new();
    let mut asked_all = Vec::new();
    let mut flat_lat = Vec::new();
    // Agreement is held to the goal on records within the capacity goal's 150 pairs; past it
    // (300) even exact search is near its limit, and the figure is reported.
    let (mut agreed, mut asked) = (0, 0);
    let (mut over_agreed, mut over_asked) = (0, 0);
    for pairs in [10, 50, 150, 300] {
        let mut rng = StdRng::seed_from_u64(1000 + pairs as u64);
        let mut queries = Vec::new();
        while queries.len() < per_size {
            let picks = sample(&mut rng, book.len(), 2 * pairs).into_vec();
            let (roles, fillers) = picks.split_at(pairs);
            let mut b = Bundle::new(book.dim);
            for (&r, &f) in roles.iter().zip(fillers) {
                b.add(&book.get(r).bind(&book.get(f)));
            }
            let record = b.finish(BundleRule::Phasor);
            let ask = (per_size - queries.len()).min(pairs);
            queries.extend(roles[..ask].iter().map(|&r| record.unbind(&book.get(r))));
        }
        let exact = book.cleanup(&queries);
        asked_all.extend(queries.iter().take(50).cloned());
        for (n, &refine) in settings.iter().enumerate() {
            let search = Search {
                refine,
                ..Search::default()
            };
            let (mut agree, mut lat) = (0, Vec::new());
            for (q, want) in queries.iter().zip(&exact) {
                let t = Instant::now();
                let got = store
                    .cleanup(q, Some("bench"), 1, search)
                    .await
                    .expect("cleanup");
                lat.push(t.elapsed().as_secs_f64() * 1e3);
                agree +=
                    usize::from(got.first().map(|c| c.name.as_str()) == Some(&format!("s{want}")));
            }
            println!(
                "  records of {pairs:3} pairs, {:3} candidates{}: top-1 agrees with exact search on {:6.2}% of {} queries, p50 {:.2} ms, p99 {:.2} ms",
                refine.unwrap_or(1),
                if n == 0 { " (the product's)" } else { "" },
                100.0 * agree as f64 / queries.len() as f64,
                queries.len(),
                telos_tests::bench::percentile(&mut lat.clone(), 0.5),
                telos_tests::bench::percentile(&mut lat.clone(), 0.99),
            );
            if n == 0 {
                all_lat.extend(lat);
                if pairs <= super::capacity::GOAL_PAIRS {
                    agreed += agree;
                    asked += queries.len();
                } else {
                    over_agreed += agree;
                    over_asked += queries.len();
                }
            }
        }
        for q in queries.iter().take(((20.0 * scale) as usize).max(5)) {
            let t = Instant::now();
            store
                .cleanup(q, Some("bench"), 1, Search::EXACT)
                .await
                .expect("flat");
            flat_lat.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    let p99 = telos_tests::bench::percentile(&mut all_lat.clone(), 0.99);
    let p50 = telos_tests::bench::percentile(&mut all_lat, 0.5);
    let flat50 = telos_tests::bench::percentile(&mut flat_lat, 0.5);
    let agreement = 100.0 * agreed as f64 / asked as f64;
    println!(
        "  the product's setting: top-1 agrees with exact search on {agreement:.2}% of {asked} queries from records of up to {} pairs (goal ≥ 99.9%: {}); {:.2}% of {over_asked} past them (reported)",
        super::capacity::GOAL_PAIRS,
        super::verdict(agreement >= 99.9),
        100.0 * over_agreed as f64 / over_asked.max(1) as f64,
    );
    println!(
        "  index p50 {p50:.2} ms vs LanceDB's flat scan p50 {flat50:.2} ms: {:.3}× its latency; p99 {p99:.2} ms (goal ≤ 5 ms: {})",
        p50 / flat50,
        super::verdict(p99 <= 5.0)
    );
    let (floor50, floor99) = floor(book, &asked_all).await;
    println!(
        "  LanceDB's floor: the same queries through an index of {FLOOR} symbols, p50 {floor50:.2} ms, p99 {floor99:.2} ms ({:.0}% of the p50 above is there at any size)",
        100.0 * floor50 / p50
    );
}

/// The codebook's symbols `ks` as the table's rows (atoms named `s{k}`).
fn symbol_rows(book: &Codebook, ks: impl Iterator<Item = usize>) -> Vec<SymbolRow> {
    ks.map(|k| SymbolRow {
        id: format!("s{k}"),
        codebook: "bench".into(),
        name: format!("s{k}"),
        kind: "atom".into(),
        expression: String::new(),
        vector: book.get(k),
        cycle: "bench".into(),
    })
    .collect()
}

/// Symbols in the table that measures what a query through LanceDB costs however few
/// symbols it searches (planning, opening the index, the filter, fetching the names).
const FLOOR: usize = 300;

/// p50 and p99 of `queries` cleaned up through an index of the codebook's first [`FLOOR`]
/// symbols.
async fn floor(book: &Codebook, queries: &[telos_vsa::Hv]) -> (f64, f64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = HyperStore::open(dir.path(), book.dim).await.expect("table");
    store
        .add(&symbol_rows(book, 0..FLOOR.min(book.len())))
        .await
        .expect("rows");
    store.build_index().await.expect("index");
    let mut lat = Vec::new();
    for q in queries {
        let t = Instant::now();
        store
            .cleanup(q, Some("bench"), 1, Search::default())
            .await
            .expect("cleanup");
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    (
        telos_tests::bench::percentile(&mut lat.clone(), 0.5),
        telos_tests::bench::percentile(&mut lat, 0.99),
    )
}

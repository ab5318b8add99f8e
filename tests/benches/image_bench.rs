//! Image benchmarks, each a ratio against a baseline measured in the same run:
//!
//! 1. durable commit of a one-object cycle vs the fsync floor (write + fsync a 4 KiB file in
//!    the same dir); goal p50 ≤ 3×;
//! 2. slot lookup through a 5-deep delegation chain vs a slot the receiver holds; goal ≤ 2×;
//! 3. 10,000 objects created in one cycle vs SQLite (WAL, synchronous=FULL) inserting the same
//!    rows in one transaction; goal ≤ 10×;
//! 4. a one-object commit on a SurrealDB server on this machine (SurrealKV on disk, reached
//!    over ws:// on 127.0.0.1) vs the embedded store's, p50 (reported).
//!
//! Run: `cargo bench --workspace --bench image_bench --profile dev` (dependencies are
//! optimised in the dev profile, so this reuses the test build). `TELOS_BENCH_SCALE=0.1`
//! shortens every loop; `TELOS_BENCH_PARTS` picks parts (a comma list of `commit`, `lookup`,
//! `bulk`; `commit` includes 4's server side; default all).

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::json;
use telos_tests::open_on_disk;

fn scale(n: usize) -> usize {
    let s: f64 = std::env::var("TELOS_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    ((n as f64 * s) as usize).max(5)
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn ratio_line(what: &str, ours: Duration, base: Duration, goal: Option<f64>) {
    let r = ours.as_secs_f64() / base.as_secs_f64();
    let verdict = match goal {
        Some(g) if r <= g => format!("goal ≤ {g}×: met"),
        Some(g) => format!("goal ≤ {g}×: MISSED"),
        None => "reported".into(),
    };
    println!("{what}: {} vs {} → {r:.2}× ({verdict})", ms(ours), ms(base));
}

/// `n` cycles each setting one slot of ALFRED, timed from begin to commit.
async fn one_object_commits(image: &telos_image::Image, n: usize) -> Vec<Duration> {
    let id = image.resolve("ALFRED").expect("ALFRED").id.clone();
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        let mut c = image.begin("bench");
        c.set_slot(&id, "counter", json!(i)).expect("set");
        c.commit().await.expect("commit");
        samples.push(t.elapsed());
    }
    samples
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    println!("telos image benchmarks (data dir {})", dir.path().display());
    let parts = telos_tests::bench::parts(&["commit", "lookup", "bulk"]);
    let runs = |part| parts.contains(&part);
    if runs("commit") {
        commit_parts(&rt, dir.path());
    }
    if runs("lookup") {
        lookup_part(&rt, dir.path());
    }
    if runs("bulk") {
        bulk_part(&rt, dir.path());
    }
}

/// 1. Durable commit vs fsync floor, and 4. the same commits on a local server.
fn commit_parts(rt: &tokio::runtime::Runtime, dir: &std::path::Path) {
    let n = scale(300);
    let mut floor = Vec::with_capacity(n);
    let block = vec![7u8; 4096];
    for i in 0..n {
        let path = dir.join(format!("floor-{}", i % 8));
        let t = Instant::now();
        let mut f = std::fs::File::create(&path).expect("create");
        f.write_all(&block).expect("write");
        f.sync_all().expect("fsync");
        floor.push(t.elapsed());
    }
    let commits = rt.block_on(async {
        let telos = open_on_disk(&dir.join("data")).await;
        let samples = one_object_commits(telos.image(), n).await;
        telos.shutdown().await.expect("shutdown");
        samples
    });
    // 4's server side, measured beside 1: the same loop on a local server.
    let served = rt.block_on(async {
        let server = telos_tests::surreal_server::SurrealServer::start_with(&format!(
            "surrealkv://{}",
            dir.join("server").display()
        ));
        let image = telos_image::Image::open(&server.endpoint(), &server.options("bench"))
            .await
            .expect("the image on the server");
        telos_core::persona::awaken(&image).await.expect("awaken");
        one_object_commits(&image, n).await
    });
    let (mut floor, mut commits, mut served) = (floor, commits, served);
    ratio_line(
        "durable one-object commit p50 vs write+fsync 4 KiB p50",
        percentile(&mut commits, 0.5),
        percentile(&mut floor, 0.5),
        Some(3.0),
    );
    println!(
        "  (p95: commit {}, fsync floor {})",
        ms(percentile(&mut commits, 0.95)),
        ms(percentile(&mut floor, 0.95))
    );

    ratio_line(
        "one-object commit p50 on a local SurrealDB server (ws://127.0.0.1, SurrealKV) vs embedded",
        percentile(&mut served, 0.5),
        percentile(&mut commits, 0.5),
        None,
    );
}

/// 2. Lookup through 5 parents vs a slot on the receiver.
fn lookup_part(rt: &tokio::runtime::Runtime, dir: &std::path::Path) {
    let (deep, direct) = rt.block_on(async {
        let telos = open_on_disk(&dir.join("lookup")).await;
        let image = telos.image().clone();
        let mut c = image.begin("bench chain");
        let mut ids = vec![c.create("base", &[]).expect("base")];
        c.set_slot(&ids[0], "x", json!("here")).expect("x");
        for i in 1..=5 {
            let id = c
                .create(&format!("o{i}"), &[ids[i - 1].clone()])
                .expect("o");
            // Each level carries slots of its own so the walk is not trivially short.
            for s in 0..8 {
                c.set_slot(&id, &format!("s{s}"), json!(s)).expect("s");
            }
            ids.push(id);
        }
        c.commit().await.expect("commit");
        let reps = scale(200_000);
        let time = |receiver: &telos_image::ObjectId| {
            let mut best = Duration::MAX;
            for _ in 0..5 {
                let t = Instant::now();
                for _ in 0..reps {
                    std::hint::black_box(image.lookup(receiver, "x").expect("lookup"));
                }
                best = best.min(t.elapsed() / reps as u32);
            }
            best
        };
        let out = (time(&ids[5]), time(&ids[0]));
        telos.shutdown().await.expect("shutdown");
        out
    });
    ratio_line(
        "slot lookup through 5 parents vs receiver's own slot (per lookup)",
        deep,
        direct,
        Some(2.0),
    );
}

/// 3. 10,000 objects in one cycle vs SQLite.
fn bulk_part(rt: &tokio::runtime::Runtime, dir: &std::path::Path) {
    let count = scale(10_000);
    let ours = rt.block_on(async {
        let telos = open_on_disk(&dir.join("bulk")).await;
        let image = telos.image();
        let t = Instant::now();
        let mut c = image.begin("bench bulk");
        for i in 0..count {
            let id = c.create(&format!("bulk-{i}"), &[]).expect("create");
            c.set_slot(&id, "i", json!(i)).expect("slot");
        }
        c.commit().await.expect("commit");
        let took = t.elapsed();
        telos.shutdown().await.expect("shutdown");
        took
    });
    let sqlite = {
        let conn = rusqlite::Connection::open(dir.join("bulk.sqlite")).expect("sqlite");
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
             CREATE TABLE object (oid TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL,
                                  slots TEXT NOT NULL, version INTEGER NOT NULL,
                                  created INTEGER NOT NULL, updated INTEGER NOT NULL);",
        )
        .expect("schema");
        let t = Instant::now();
        let mut conn = conn;
        let tx = conn.transaction().expect("tx");
        {
            let mut stmt = tx
                .prepare("INSERT INTO object VALUES (?1, ?2, ?3, 1, ?4, ?4)")
                .expect("prepare");
            for i in 0..count {
                let oid = format!("{:026}", i);
                let slots = format!(r#"[["i","{i}"]]"#);
                stmt.execute(rusqlite::params![oid, format!("bulk-{i}"), slots, i as i64])
                    .expect("insert");
            }
        }
        tx.commit().expect("commit");
        t.elapsed()
    };
    ratio_line(
        &format!("{count} objects in one cycle vs SQLite WAL+FULL one transaction"),
        ours,
        sqlite,
        Some(10.0),
    );
}

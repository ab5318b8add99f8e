//! Backup benchmarks, each against a baseline measured in the same run on the same data dir
//! (documents remembered by BRICK through MiniLM, as the app does):
//!
//! 1. a full backup vs `cp -a` of the data dir; goal ≤ 1.5×; also vs `cp -a` followed by a
//!    `sync -f` of the copy, as durable as the backup (reported);
//! 2. an incremental after a 1% change (one document in a hundred), as a share of the full
//!    backup's bytes; goal ≤ 5%;
//! 3. verify (every SHA-256, a restore, the open, the doctor, the canary) and restore alone,
//!    vs the same `cp -a`; reported.
//!
//! Run: `cargo bench --workspace --bench backup_bench --profile dev`; `TELOS_BENCH_SCALE=0.2`
//! remembers fewer documents.

use std::path::Path;
use std::time::{Duration, Instant};

use telos_tests::{bench::scale, open_on_disk, remember_logbooks};

fn cp_a(from: &Path, to: &Path) -> Duration {
    let _ = std::fs::remove_dir_all(to);
    let t = Instant::now();
    let ok = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("run cp");
    assert!(ok.success());
    t.elapsed()
}

/// `cp -a` then a `syncfs` of the copy's file system: a copy as durable as a backup is (the
/// removal of an earlier copy synced first, so the timed sync flushes only this copy).
fn cp_a_synced(from: &Path, to: &Path) -> Duration {
    let _ = std::fs::remove_dir_all(to);
    sync();
    let t = Instant::now();
    let copied = cp_a(from, to);
    let ok = std::process::Command::new("sync")
        .arg("-f")
        .arg(to)
        .status()
        .expect("run sync -f");
    assert!(ok.success());
    let took = t.elapsed();
    assert!(took >= copied);
    took
}

fn sync() {
    let ok = std::process::Command::new("sync")
        .status()
        .expect("run sync");
    assert!(ok.success());
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn line(what: &str, ours: Duration, base: Duration, goal: Option<f64>) {
    let r = ours.as_secs_f64() / base.as_secs_f64();
    let verdict = match goal {
        Some(g) if r <= g => format!("goal ≤ {g}×: met"),
        Some(g) => format!("goal ≤ {g}×: MISSED"),
        None => "reported".into(),
    };
    println!(
        "{what}: {:.1} ms vs cp -a {:.1} ms → {r:.2}× ({verdict})",
        ours.as_secs_f64() * 1e3,
        base.as_secs_f64() * 1e3
    );
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let tmp = tempfile::tempdir().expect("tempdir");
    let (data, dest) = (tmp.path().join("data"), tmp.path().join("dest"));
    let docs = ((100.0 * scale()) as u64).max(20);
    rt.block_on(async {
        let telos = open_on_disk(&data).await;
        remember_logbooks(&telos, tmp.path(), 0..docs).await;
        telos.memory().tidy().await.expect("tidy");
        // Each side starts with nothing dirty to flush (the ingest's writes synced first),
        // and the page cache warm; the median of three runs each, a full backup each time
        // into an empty destination.
        cp_a(&data, &tmp.path().join("warm"));
        let mut copies = Vec::new();
        let mut durable = Vec::new();
        let mut fulls = Vec::new();
        let mut full = None;
        // Where a full backup's time goes: up to its sync (the cut, then the image's dump, the
        // files and the canary together), and the sync with the manifest after it.
        let mut before_sync = Vec::new();
        let mut synced = Vec::new();
        for i in 0..3 {
            sync();
            copies.push(cp_a(&data, &tmp.path().join("copy")));
            sync();
            durable.push(cp_a_synced(&data, &tmp.path().join("copy")));
            sync();
            let to = if i == 2 { dest.clone() } else { tmp.path().join(format!("dest{i}")) };
            let syncing = std::sync::Mutex::new(None);
            let t = Instant::now();
            full = Some(
                telos
                    .backup_create(&to, true, &|stage| {
                        if stage.contains("syncing") {
                            syncing.lock().unwrap().get_or_insert_with(Instant::now);
                        }
                    })
                    .await
                    .expect("full backup"),
            );
            fulls.push(t.elapsed());
            let syncing = syncing.into_inner().unwrap().expect("a sync stage reported");
            before_sync.push(syncing - t);
            synced.push(syncing.elapsed());
        }
        let full = full.expect("three full backups");
        let (copy, took) = (median(copies), median(fulls));
        println!(
            "backup benchmarks: {docs} documents, {} objects, {} chunks, {:.1} MiB stored",
            full.objects,
            full.chunks,
            full.stored_bytes as f64 / (1 << 20) as f64
        );
        line("full backup (synced) vs cp -a of the data dir, medians of 3", took, copy, Some(1.5));
        println!(
            "  of which the cut, dump, file copy and canary {:.1} ms, the sync and manifest {:.1} ms (medians; reported)",
            median(before_sync).as_secs_f64() * 1e3,
            median(synced).as_secs_f64() * 1e3
        );
        let durable = median(durable);
        println!(
            "  and vs cp -a then sync -f of the copy (as durable as the backup): {:.1} ms → {:.2}× (reported)",
            durable.as_secs_f64() * 1e3,
            took.as_secs_f64() / durable.as_secs_f64()
        );
        let more = (docs / 100).max(1);
        remember_logbooks(&telos, tmp.path(), docs..docs + more).await;
        let inc = telos
            .backup_create(&dest, false, &|_| {})
            .await
            .expect("incremental");
        let share = inc.stored_bytes as f64 / full.stored_bytes as f64;
        println!(
            "incremental after {more} document(s) in {}: {} bytes, {:.2}% of the full backup's {} (goal ≤ 5%: {})",
            docs + more,
            inc.stored_bytes,
            100.0 * share,
            full.stored_bytes,
            if share <= 0.05 { "met" } else { "MISSED" }
        );
        telos.shutdown().await.expect("shutdown");
        let template = telos_core::Config::from_data_dir(tmp.path().join("unused"));
        sync();
        let t = Instant::now();
        let v = telos_core::backup_verify(&template, &dest, None, &|_| {})
            .await
            .expect("verify");
        let verify = t.elapsed();
        assert!(v.ok, "{v:#?}");
        line("verify of the incremental (hashes, restore, open, checks)", verify, copy, None);
        sync();
        let t = Instant::now();
        telos_core::backup_restore(&dest, &inc.id, &tmp.path().join("restored"))
            .await
            .expect("restore");
        line("restore of the incremental", t.elapsed(), copy, None);
    });
}

//! The sandbox against `runc run` (Debian's package) on the same rootfs with the same OCI
//! spec (the helper's own, from `telos-sandbox-helper --spec`), measured in one run,
//! alternating, for two tools: a `true`-equivalent (`sh` running an empty script) and
//! `python3 -c pass` (an empty Python script). Wall time from asking to having the outcome
//! (ours: the client writes the tool, the helper makes, runs and deletes the container;
//! runc: `runc run` of a bundle made beforehand, which also deletes the container).
//!
//! Goals: our median ≤ 1.0× runc's; our p95 ≤ 2× our median.
//!
//! Run: `cargo bench --workspace --bench sandbox_bench --profile dev` (root, with the helper
//! and rootfs from scripts/setup and runc installed). `TELOS_BENCH_SCALE` scales the runs.

use std::process::{Command, Stdio};
use std::time::Instant;

use telos_core::sandbox::proto::{Cause, Lang};
use telos_core::sandbox::{Sandbox, Tool};
use telos_tests::bench::{percentile, scale};

struct Stats {
    median: f64,
    p95: f64,
}

fn stats(xs: &mut [f64]) -> Stats {
    Stats {
        median: percentile(xs, 0.5),
        p95: percentile(xs, 0.95),
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sandbox = Sandbox::locate().expect("the helper and the rootfs (run scripts/setup)");
    let runs = ((60.0 * scale()) as usize).max(10);
    let runc_root = tempfile::tempdir().expect("a runc state dir");
    println!("sandbox vs runc, {runs} runs each, alternating (ms, wall clock per run)");
    for (name, tool) in [
        ("true (sh, empty)", Tool::new(Lang::Sh, "")),
        ("python3 -c pass", Tool::new(Lang::Python, "pass")),
    ] {
        // The same spec for runc: what the helper would run this tool with.
        let (dir, request) = sandbox.prepare(&tool).expect("the tool's folder");
        let mut helper = Command::new(&sandbox.helper)
            .arg("--spec")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the helper");
        serde_json::to_writer(helper.stdin.take().unwrap(), &request).unwrap();
        let spec = helper.wait_with_output().expect("the spec");
        assert!(spec.status.success(), "helper --spec failed");
        let bundle = dir.path().join("runc-bundle");
        std::fs::create_dir(&bundle).unwrap();
        std::fs::write(bundle.join("config.json"), &spec.stdout).unwrap();

        let mut ours = Vec::with_capacity(runs);
        let mut theirs = Vec::with_capacity(runs);
        for i in 0..runs + 2 {
            let t = Instant::now();
            let outcome = sandbox.run(&tool).await.expect("our run");
            let ours_ms = t.elapsed().as_secs_f64() * 1e3;
            assert!(
                outcome.cause == Cause::Exited && outcome.exit_code == Some(0),
                "our run: {outcome:?}"
            );
            let t = Instant::now();
            let status = Command::new("runc")
                .arg("--root")
                .arg(runc_root.path())
                .args(["run", "--bundle"])
                .arg(&bundle)
                .arg(format!("telos-bench-{i}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .status()
                .expect("runc (apt-get install runc)");
            let runc_ms = t.elapsed().as_secs_f64() * 1e3;
            assert!(status.success(), "runc run: {status}");
            // The first two of each warm the caches.
            if i >= 2 {
                ours.push(ours_ms);
                theirs.push(runc_ms);
            }
        }
        let o = stats(&mut ours);
        let r = stats(&mut theirs);
        let ratio = o.median / r.median;
        let spread = o.p95 / o.median;
        println!(
            "{name:<18} ours median {:.1} p95 {:.1} | runc median {:.1} p95 {:.1} | median {ratio:.2}× runc (goal ≤ 1.0×: {}) | our p95 {spread:.2}× our median (goal ≤ 2×: {})",
            o.median,
            o.p95,
            r.median,
            r.p95,
            verdict(ratio <= 1.0),
            verdict(spread <= 2.0),
        );
    }
}

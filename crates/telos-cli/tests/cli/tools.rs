//! The what-if scheduler replay, and the forge with the Debugger, from the command line.

use super::*;

/// The committed 1,000-request trace: the benchmark, and its goals as checks.
fn committed_trace() -> std::path::PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("../../tests/fixtures/scheduler/mixed-1000.jsonl")
}

/// The dialogue-heavy trace's goals, with the figures printed: ours waits no longer at p95
/// than the best online baseline and loads at most 1.05× the optimum's bytes; the sides
/// sharing a model (when the user allows it) wait less still. `telos scheduler trace
/// --dialogues` writes such a trace.
#[test]
fn on_dialogue_traffic_telos_waits_no_longer_than_the_best_online_policy() {
    let dir = tempfile::tempdir().unwrap();
    let trace = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("../../tests/fixtures/scheduler/dialogues-1000.jsonl");
    let generated = telos(
        dir.path(),
        &[
            "scheduler",
            "trace",
            "--dialogues",
            "--requests",
            "1000",
            "--seed",
            "1",
        ],
    );
    assert_eq!(
        String::from_utf8(generated.stdout).unwrap(),
        std::fs::read_to_string(&trace).unwrap(),
        "the committed trace is what the generator writes"
    );
    let out = ok_json(
        dir.path(),
        &[
            "scheduler",
            "replay",
            trace.to_str().unwrap(),
            "--budget",
            "8GiB",
            "--json",
        ],
    );
    let by = |name: &str| {
        out["reports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["policy"] == json!(name))
            .unwrap_or_else(|| panic!("no {name} report"))
            .clone()
    };
    let p95 = |name: &str| by(name)["p95_wait_s"].as_f64().unwrap();
    let bytes = |name: &str| by(name)["bytes_loaded"].as_f64().unwrap();
    let best = p95("ollama-default").min(p95("unload-always"));
    println!(
        "dialogue traffic: p95 wait telos {:.2} s, best online {best:.2} s, telos-shared {:.2} s; \
         bytes telos / optimum {:.3}",
        p95("telos"),
        p95("telos-shared"),
        bytes("telos") / bytes("optimum")
    );
    assert!(p95("telos") <= best, "p95 {} over {best}", p95("telos"));
    assert!(bytes("telos") <= 1.05 * bytes("optimum"));
    assert!(p95("telos-shared") < p95("telos"));
    for name in ["telos", "telos-shared"] {
        assert_eq!(by(name)["pinned_evictions"], json!(0), "{name}");
        assert!(
            by(name)["peak_vram"].as_u64() <= out["budget"].as_u64(),
            "{name}"
        );
    }
}

#[test]
fn scheduler_replay_compares_the_policies_on_a_trace() {
    let dir = tempfile::tempdir().unwrap();
    let trace = committed_trace();
    let out = ok_json(
        dir.path(),
        &[
            "scheduler",
            "replay",
            trace.to_str().unwrap(),
            "--budget",
            "8GiB",
            "--json",
        ],
    );
    assert!(
        !dir.path().join("image").exists(),
        "a replay opens no data dir"
    );
    assert_eq!(out["requests"], json!(1000));
    let budget = out["budget"].as_u64().unwrap();
    assert_eq!(budget, 8 << 30);
    let by = |name: &str| {
        out["reports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["policy"] == json!(name))
            .unwrap_or_else(|| panic!("no {name} report"))
            .clone()
    };
    let bytes = |name: &str| by(name)["bytes_loaded"].as_u64().unwrap();
    let ours = by("telos");
    for name in [
        "telos",
        "ollama-default",
        "unload-always",
        "optimum",
        "optimum-no-expiry",
    ] {
        let r = by(name);
        assert_eq!(r["refused"], json!(0), "{name}");
        assert!(r["loads"].as_u64().unwrap() > 0, "{name}");
        if name != "ollama-default" && name != "unload-always" {
            assert!(
                r["peak_vram"].as_u64().unwrap() <= budget,
                "{name} over budget"
            );
        }
    }
    assert_eq!(ours["pinned_evictions"], json!(0));
    assert!(bytes("telos") < bytes("ollama-default"));
    assert!(bytes("telos") < bytes("unload-always"));
    assert!(bytes("telos") as f64 <= 1.25 * bytes("optimum") as f64);
    assert!(bytes("optimum-no-expiry") <= bytes("optimum"));

    // One policy, a what-if size, and the human table.
    let out = telos(
        dir.path(),
        &[
            "scheduler",
            "replay",
            trace.to_str().unwrap(),
            "--policy",
            "telos,unload-always",
            "--size",
            "gemma2:9b=6.5GB",
        ],
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{table}");
    assert!(table.contains("budget 8 GiB"), "{table}");
    assert_eq!(
        table
            .lines()
            .filter(|l| l.starts_with("telos ") || l.starts_with("unload-always "))
            .count(),
        2,
        "{table}"
    );

    // Two hosts: the models spread over both, each within its own budget, and less waiting.
    let two = ok_json(
        dir.path(),
        &[
            "scheduler",
            "replay",
            trace.to_str().unwrap(),
            "--hosts",
            "8GiB,http://gpu2:11434=8GiB",
            "--policy",
            "telos",
            "--json",
        ],
    );
    let report = &two["reports"][0];
    let hosts = report["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 2, "{report}");
    for h in hosts {
        assert!(h["peak_vram"].as_u64() <= h["budget"].as_u64(), "{h}");
        assert!(!h["personas"].as_array().unwrap().is_empty(), "{h}");
    }
    assert_eq!(report["requests"], json!(1000));
    assert!(
        report["total_wait_s"].as_f64().unwrap() < ours["total_wait_s"].as_f64().unwrap(),
        "{report} vs {ours}"
    );

    // Bad input is named.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"at\": 0, \"persona\": \"BRICK\", \"prompt_tokens\": 5, \"reply_tokens\": 5}\n{\"at\": 1, \"persona\": \"HAL\", \"prompt_tokens\": 5, \"reply_tokens\": 5}\n",
    )
    .unwrap();
    let bad = bad.to_str().unwrap();
    let trace = trace.to_str().unwrap();
    for (args, says) in [
        (
            vec!["scheduler", "replay", bad],
            "bad.jsonl:2: unknown persona \"HAL\"",
        ),
        (
            vec!["scheduler", "replay", trace, "--budget", "8 parsecs"],
            "bad size \"8 parsecs\"",
        ),
        (
            vec!["scheduler", "replay", trace, "--policy", "fifo"],
            "unknown policy \"fifo\"",
        ),
        (
            vec!["scheduler", "replay", trace, "--size", "llama:70b=40GB"],
            "no persona uses \"llama:70b\"",
        ),
        (
            vec!["scheduler", "replay", "/nonexistent.jsonl"],
            "/nonexistent.jsonl: No such file",
        ),
    ] {
        let e = fails(dir.path(), &args);
        assert!(e.contains(says), "{args:?}: {e}");
    }
}

/// The stub with BRICK's replies from `tests/fixtures/forge/FIXTURE` (a FAKE model).
fn forge_stub(fixture: &str) -> telos_tests::ollama_stub::OllamaStub {
    use telos_tests::ollama_stub::{OllamaStub, Script};
    // This crate's dir at run time (see telos_tests::package_dir), then the tests package's.
    let here = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo runs the tests");
    let path = Path::new(&here)
        .join("../../tests/fixtures/forge")
        .join(fixture);
    OllamaStub::start(Script::design_table().with_replies_from(&path))
}

#[test]
fn forge_send_and_the_debugger_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    ok_json(
        dir.path(),
        &["obj", "new", "abacus", "--parent", "genesis", "--json"],
    );

    // A send nothing understands forges the method (buggy, then fixed) and answers.
    let stub = forge_stub("buggy-then-fixed.json");
    let host = stub.url();
    let out = telos_with_ollama(
        dir.path(),
        &host,
        &["send", "abacus", "total", "[4, 5]", "--json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        json!(9)
    );
    let shown = ok_json(dir.path(), &["obj", "show", "abacus", "--json"]);
    assert_eq!(
        shown["methods"]["total"]["provenance"]["attempts"],
        json!(2),
        "{shown}"
    );
    drop(stub);

    // Every attempt fails: non-zero, nothing installed, a suspended cycle with the trace.
    let stub = forge_stub("always-failing.json");
    let host = stub.url();
    let out = telos_with_ollama(
        dir.path(),
        &host,
        &["forge", "abacus", "double", "return args doubled"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        err.contains("3 attempt(s) failed") && err.contains("suspended"),
        "{err}"
    );
    let cycle = err
        .split("its cycle ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the cycle is named")
        .to_string();
    let view = ok_json(dir.path(), &["cycles", "show", &cycle, "--json"]);
    assert_eq!(view["summary"]["state"], json!("suspended"));
    assert_eq!(
        view["forge"]["attempts"].as_array().unwrap().len(),
        3,
        "{view}"
    );
    let shown = ok_json(dir.path(), &["obj", "show", "abacus", "--json"]);
    assert_eq!(shown["methods"].as_object().unwrap().len(), 1, "only total");

    // The user's fix of attempt 1, resumed from the command line.
    let fix = dir.path().join("fix.py");
    std::fs::write(&fix, "def run(args):\n    return sum(args)\n").unwrap();
    let resumed = ok_json(
        dir.path(),
        &[
            "cycles",
            "resume",
            &cycle,
            "--edit",
            "1",
            fix.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(resumed["installed"], json!(true));
    let again = ok_json(dir.path(), &["cycles", "show", &cycle, "--json"]);
    assert_eq!(again["summary"]["state"], json!("resumed"));
    let err = fails(dir.path(), &["cycles", "abort", &cycle]);
    assert!(err.contains("not suspended"), "{err}");
    let err = fails(
        dir.path(),
        &["cycles", "resume", &cycle, "--edit", "x", "y"],
    );
    assert!(err.contains("STEP is an attempt's number"), "{err}");
}

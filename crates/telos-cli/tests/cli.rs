//! The `telos` binary driven as a user drives it: commands, `--json`, and bad input.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

fn telos(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_telos"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("TELOS_DATA_DIR")
        .env_remove("TELOS_ENDPOINT")
        .output()
        .expect("run telos")
}

/// Runs a command that must succeed and returns its stdout as JSON.
fn ok_json(dir: &Path, args: &[&str]) -> Value {
    let out = telos(dir, args);
    assert!(
        out.status.success(),
        "telos {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "telos {args:?}: stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Runs a command that must fail and returns its stderr.
fn fails(dir: &Path, args: &[&str]) -> String {
    let out = telos(dir, args);
    assert!(!out.status.success(), "telos {args:?} should have failed");
    assert!(out.stdout.is_empty(), "nothing on stdout when failing");
    String::from_utf8(out.stderr).unwrap()
}

fn listing(dir: &Path) -> Value {
    ok_json(dir, &["obj", "ls", "--json"])
}

#[test]
fn init_awakens_once_and_lists_the_personas() {
    let dir = tempfile::tempdir().unwrap();
    let first = ok_json(dir.path(), &["--json", "init"]);
    assert_eq!(first["awakened"], json!(true));
    assert_eq!(first["objects"], json!(9));
    let again = ok_json(dir.path(), &["init", "--json"]);
    assert_eq!(again["awakened"], json!(false));

    let names: Vec<String> = listing(dir.path())
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_owned())
        .collect();
    for persona in ["ALFRED", "BRICK", "ROBIN", "BABS", "genesis", "persona"] {
        assert!(
            names.contains(&persona.to_owned()),
            "{persona} in {names:?}"
        );
    }
    let human = telos(dir.path(), &["obj", "show", "ALFRED"]);
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(text.contains("model = \"phi3:3.8b\""), "{text}");
}

#[test]
fn objects_are_made_set_cloned_and_answer_messages() {
    let dir = tempfile::tempdir().unwrap();
    let robot = ok_json(
        dir.path(),
        &["obj", "new", "robot", "--parent", "persona", "--json"],
    );
    let id = robot["id"].as_str().unwrap().to_owned();
    ok_json(
        dir.path(),
        &["obj", "set", "robot", "color", r#"{"r":255}"#, "--json"],
    );
    ok_json(dir.path(), &["obj", "clone", &id, "robot2", "--json"]);
    ok_json(
        dir.path(),
        &["obj", "set", "robot2", "color", "\"blue\"", "--json"],
    );

    assert_eq!(
        ok_json(dir.path(), &["send", "robot", "color", "--json"]),
        json!({"r":255})
    );
    assert_eq!(
        ok_json(dir.path(), &["send", "robot2", "color", "--json"]),
        json!("blue")
    );
    // Found by delegation through persona → genesis.
    assert_eq!(
        ok_json(dir.path(), &["send", "robot2", "kind", "--json"]),
        json!("persona")
    );
    let shown = ok_json(dir.path(), &["obj", "show", "robot", "--json"]);
    assert_eq!(shown["version"], json!(2));
    let copy = ok_json(dir.path(), &["obj", "show", "robot2", "--json"]);
    assert_eq!(
        copy["parent_names"],
        json!(["persona"]),
        "a clone keeps the parents"
    );
    assert_eq!(
        shown["slots"]["color"],
        json!({"r":255}),
        "the original is untouched"
    );

    let err = fails(dir.path(), &["send", "robot", "fly"]);
    assert!(err.contains("'robot' does not understand 'fly'"), "{err}");
}

#[test]
fn apply_is_all_or_nothing_and_failed_cycles_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let before = listing(dir.path());
    let file = dir.path().join("ops.json");
    std::fs::write(
        &file,
        r#"[{"op":"new","name":"a","parents":["genesis"]},
            {"op":"set","object":"a","slot":"x","value":1},
            {"op":"add-parent","object":"a","parent":"nowhere"},
            {"op":"clone","object":"a","name":"b"}]"#,
    )
    .unwrap();
    let err = fails(dir.path(), &["apply", file.to_str().unwrap()]);
    assert!(
        err.contains("operation 2 (add-parent): unknown object 'nowhere'"),
        "{err}"
    );
    assert_eq!(listing(dir.path()), before);

    let cycles = ok_json(dir.path(), &["cycles", "ls", "--json"]);
    assert_eq!(cycles[0]["state"], json!("suspended"));
    assert_eq!(cycles[1]["trigger"], json!("genesis"));

    std::fs::write(
        &file,
        r#"[{"op":"new","name":"a","parents":["genesis"]},
            {"op":"set","object":"a","slot":"x","value":1},
            {"op":"clone","object":"a","name":"b"},
            {"op":"delete","object":"b"}]"#,
    )
    .unwrap();
    let record = ok_json(dir.path(), &["apply", file.to_str().unwrap(), "--json"]);
    assert_eq!(record["program"].as_array().map(Vec::len), Some(4));
    assert_eq!(record["status"], json!("committed"));
    assert_eq!(ok_json(dir.path(), &["send", "a", "x", "--json"]), json!(1));
}

#[test]
fn bad_input_is_named_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let before = listing(dir.path());
    let cases: &[(&[&str], &str)] = &[
        (
            &["obj", "set", "ALFRED", "mood", "{not json"],
            "invalid JSON for slot 'mood' of 'ALFRED': '{not json'",
        ),
        (
            &["obj", "set", "nobody", "mood", "1"],
            "unknown object 'nobody'",
        ),
        (&["obj", "show", "nobody"], "unknown object 'nobody'"),
        (&["send", "ALFRED", "rm -rf"], "invalid selector 'rm -rf'"),
        (
            &["obj", "set", "ALFRED", "a.b", "1"],
            "invalid selector 'a.b'",
        ),
        (
            &["obj", "new", "ALFRED"],
            "an object named 'ALFRED' already exists",
        ),
        (
            &["obj", "new", "semi;colon"],
            "invalid object name 'semi;colon'",
        ),
        (
            &["apply", "/nonexistent/ops.json"],
            "cannot read /nonexistent/ops.json",
        ),
    ];
    for (args, expected) in cases {
        let err = fails(dir.path(), args);
        assert!(err.contains(expected), "telos {args:?}: {err}");
    }
    let file = dir.path().join("bad.json");
    std::fs::write(&file, r#"[{"op":"explode"}]"#).unwrap();
    let err = fails(dir.path(), &["apply", file.to_str().unwrap()]);
    assert!(
        err.contains("bad.json is not a valid operation list") && err.contains("explode"),
        "{err}"
    );
    std::fs::write(&file, b"[\xff\xfe]").unwrap();
    let err = fails(dir.path(), &["apply", file.to_str().unwrap()]);
    assert!(err.contains("bad.json is not UTF-8"), "{err}");

    // A slot value over 16 MiB, through a file because it would not fit in an argument.
    let big = "x".repeat(16 * 1024 * 1024 + 1);
    std::fs::write(
        &file,
        format!(r#"[{{"op":"set","object":"BRICK","slot":"essay","value":"{big}"}}]"#),
    )
    .unwrap();
    let err = fails(dir.path(), &["apply", file.to_str().unwrap()]);
    assert!(
        err.contains("slot 'essay' on 'BRICK' is 16777219 bytes"),
        "{err}"
    );
    assert_eq!(listing(dir.path()), before);

    let json_err = telos(dir.path(), &["--json", "obj", "show", "nobody"]);
    let v: Value = serde_json::from_slice(&json_err.stderr).expect("--json errors are JSON");
    assert_eq!(v["error"], json!("unknown object 'nobody'"));
}

#[test]
fn a_bad_data_dir_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let err = fails(&file, &["init"]);
    assert!(
        err.contains(&format!("data dir {} is not a directory", file.display())),
        "{err}"
    );
    let below = file.join("sub");
    let err = fails(&below, &["init"]);
    assert!(
        err.contains(&format!("data dir {} cannot be created", below.display())),
        "{err}"
    );
    let err = fails(dir.path(), &["--endpoint", "rocksdb:///x", "init"]);
    assert!(err.contains("invalid endpoint 'rocksdb:///x'"), "{err}");
}

#[test]
fn a_second_process_on_the_same_data_dir_is_told_who_owns_it() {
    let dir = tempfile::tempdir().unwrap();
    ok_json(dir.path(), &["init", "--json"]);
    let before = listing(dir.path());
    let _held = telos_core::DataDirLock::acquire(dir.path()).unwrap();
    let err = fails(dir.path(), &["obj", "set", "ALFRED", "mood", "1"]);
    assert!(
        err.contains(&format!("is in use by pid {}", std::process::id())),
        "{err}"
    );
    drop(_held);
    assert_eq!(listing(dir.path()), before);
}

#[test]
fn the_endpoint_can_be_an_in_memory_store() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok_json(dir.path(), &["--endpoint", "mem://", "init", "--json"]);
    assert_eq!(out["endpoint"], json!("mem://"));
    assert_eq!(out["awakened"], json!(true));
    assert!(
        !dir.path().join("image").exists(),
        "nothing written to disk"
    );
}

#[test]
fn morphs_are_listed_moved_and_pinned_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let world = ok_json(dir.path(), &["morph", "ls", "--json"]);
    assert_eq!(world.as_array().unwrap().len(), 4);
    ok_json(
        dir.path(),
        &["morph", "move", "BABS", "-20", "310.5", "--json"],
    );
    ok_json(dir.path(), &["morph", "pin", "tool", "--json"]);
    let world = ok_json(dir.path(), &["morph", "ls", "--json"]);
    let babs = world
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["object"]["name"] == "BABS")
        .unwrap();
    assert_eq!(babs["position"], json!({"x": -20.0, "y": 311.0}));
    assert_eq!(world.as_array().unwrap().len(), 5, "tool is pinned");
    let err = fails(dir.path(), &["morph", "move", "BABS", "1e300", "0"]);
    assert!(err.contains("invalid position"), "{err}");
}

/// `telos` with Ollama looked for at `host`.
fn telos_with_ollama(dir: &Path, host: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_telos"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("TELOS_DATA_DIR")
        .env_remove("TELOS_ENDPOINT")
        .env("OLLAMA_HOST", host)
        .output()
        .expect("run telos")
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn ask_without_ollama_says_how_to_start_it_and_ingest_names_a_non_persona() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let out = telos_with_ollama(dir.path(), &host, &["ask", "ALFRED", "hello", "--json"]);
    assert!(!out.status.success(), "offline is a failure");
    let events = json_lines(&out);
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["started", "recalled", "offline"]);
    let message = events[2]["message"].as_str().unwrap();
    assert!(
        message.contains(&host) && message.contains("ollama serve"),
        "{message}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("ollama serve"));

    let err = fails(dir.path(), &["ingest", "--persona", "genesis", "x.md"]);
    assert!(err.contains("'genesis' is not a persona"), "{err}");
}

#[test]
fn ask_personas_scheduler_and_amendments_against_the_ollama_stub() {
    use telos_tests::ollama_stub::{OllamaStub, Script};
    let stub = OllamaStub::start(Script::design_table());
    let host = stub.url();
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| telos_with_ollama(dir.path(), &host, args);

    let out = run(&["ask", "BRICK", "take it apart"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "You said: take it apart\n"
    );
    assert!(stub.actions().contains(&"load mistral:7b 5m".to_string()));

    let out = run(&["personas", "ls", "--json"]);
    let personas: Value = serde_json::from_slice(&out.stdout).unwrap();
    let brick = personas
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "BRICK")
        .unwrap();
    assert_eq!(brick["model"], "mistral:7b");
    assert_eq!(brick["keep_alive"], "5m");
    assert_eq!(brick["state"], "loaded", "BRICK's model stays 5 minutes");

    let out = run(&["scheduler", "status", "--json"]);
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["offline"], Value::Null);
    assert_eq!(status["budget"], json!(8u64 << 30));
    assert!(
        status["models"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["model"] == "mistral:7b")
    );

    // A codex edit waits for approval; approving commits it.
    let out = run(&["amendments", "ls", "--json"]);
    assert!(out.status.success());
    let file = dir.path().join("codex/BABS.json");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("\"priority\": 1", "\"priority\": 2")).unwrap();
    let out = run(&["amendments", "ls", "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = report["pending"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(report["pending"][0]["changes"][0]["field"], "priority");
    let out = run(&["amendments", "approve", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let babs = ok_json(dir.path(), &["obj", "show", "BABS", "--json"]);
    assert_eq!(babs["slots"]["priority"], json!(2), "{babs}");
    std::fs::write(&file, "{ not json").unwrap();
    let out = run(&["amendments", "ls"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("codex/BABS.json:1:"));
}

#[test]
fn ingest_recall_and_doctor_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.md");
    std::fs::write(
        &file,
        "# Kites\n\nA kite needs steady wind and a long line.",
    )
    .unwrap();
    let summary = ok_json(
        dir.path(),
        &[
            "ingest",
            "--persona",
            "BABS",
            file.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(summary["persona"]["name"], json!("BABS"));
    assert_eq!(summary["remembered"][0]["outcome"], json!("added"));
    assert_eq!(summary["documents"], json!(1));

    // A bad file among good ones: the good one is remembered, the run fails naming the bad one.
    let bad = dir.path().join("blob.txt");
    std::fs::write(&bad, b"\0\x01\x02binary").unwrap();
    let out = telos(
        dir.path(),
        &[
            "ingest",
            "--persona",
            "BABS",
            bad.to_str().unwrap(),
            file.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(!out.status.success());
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["remembered"][0]["outcome"], json!("unchanged"));
    assert!(
        summary["failed"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("blob.txt (detected binary data)")
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 file could not be remembered"));

    let hits = ok_json(
        dir.path(),
        &[
            "recall",
            "--persona",
            "BABS",
            "what does a kite need?",
            "-k",
            "3",
            "--json",
        ],
    );
    assert_eq!(hits[0]["source"], json!(file.display().to_string()));
    assert!(hits[0]["score"].as_f64().unwrap() > 0.3);
    let doctor = ok_json(dir.path(), &["doctor", "--json"]);
    assert_eq!(doctor["documents"], json!(1));
    assert_eq!(doctor["orphans"], json!(0));
    assert_eq!(doctor["missing"], json!(0));
    assert_eq!(doctor["store_rows"], doctor["image_chunks"]);
    assert_eq!(doctor["index"]["state"], json!("flat"));
}

#[test]
fn a_failed_apply_can_be_stepped_and_resumed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ops.json");
    std::fs::write(
        &file,
        r#"[{"op":"new","name":"a","parents":["genesis"]},
            {"op":"set","object":"a","slot":"x","value":1},
            {"op":"add-parent","object":"a","parent":"nowhere"}]"#,
    )
    .unwrap();
    fails(dir.path(), &["apply", file.to_str().unwrap()]);
    let cycles = ok_json(dir.path(), &["cycles", "ls", "--json"]);
    let id = cycles[0]["id"].as_str().unwrap().to_owned();
    let shown = ok_json(dir.path(), &["cycles", "show", &id, "--json"]);
    assert_eq!(shown["summary"]["state"], json!("suspended"));
    assert_eq!(shown["failed_at"], json!(2));
    let step = ok_json(dir.path(), &["cycles", "step", &id, "2", "--json"]);
    assert_eq!(step["staged"][0]["slots"][0]["after"], json!("1"));

    std::fs::write(
        &file,
        r#"[{"op":"new","name":"a","parents":["genesis"]},
            {"op":"set","object":"a","slot":"x","value":2}]"#,
    )
    .unwrap();
    let resumed = ok_json(
        dir.path(),
        &[
            "cycles",
            "resume",
            &id,
            "--program",
            file.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(resumed["state"], json!("committed"));
    assert_eq!(ok_json(dir.path(), &["send", "a", "x", "--json"]), json!(2));
    let err = fails(dir.path(), &["cycles", "discard", &id]);
    assert!(err.contains("is not suspended"), "{err}");
}

/// The committed 1,000-request trace: the issue's benchmark, and its goals as checks.
fn committed_trace() -> std::path::PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("../../tests/fixtures/scheduler/mixed-1000.jsonl")
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

#[test]
fn sandbox_run_prints_the_tools_output_and_exits_with_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let tool = dir.path().join("sum.py");
    std::fs::write(
        &tool,
        "import sys, json\nprint(json.dumps({'sum': sum(json.load(sys.stdin))}))\n",
    )
    .unwrap();
    let input = dir.path().join("in.json");
    std::fs::write(&input, "[1, 2, 3]").unwrap();
    let out = telos(
        dir.path(),
        &[
            "sandbox",
            "run",
            tool.to_str().unwrap(),
            "--stdin",
            input.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "{\"sum\": 6}\n");

    let spin = dir.path().join("spin.py");
    std::fs::write(&spin, "while True:\n    pass\n").unwrap();
    let out = telos(
        dir.path(),
        &[
            "sandbox",
            "run",
            spin.to_str().unwrap(),
            "--timeout",
            "0.5",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(124));
    let outcome: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["cause"], json!("timeout"));

    let err = fails(dir.path(), &["sandbox", "run", "missing.py"]);
    assert!(err.contains("reading the tool missing.py"), "{err}");
    let err = fails(
        dir.path(),
        &["sandbox", "run", tool.to_str().unwrap(), "--lang", "ruby"],
    );
    assert!(err.contains("unknown language \"ruby\""), "{err}");
}

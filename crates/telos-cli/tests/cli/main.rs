//! The `telos` binary driven as a user drives it: commands, `--json`, and bad input.

mod beside;
mod concepts;
mod mind;
mod models;
mod tools;
mod vsa;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

/// `telos` with personas on Ollama only (`TELOS_LLM=ollama`): these tests are of Ollama's
/// side (the stub, or Ollama offline); the embedded runtime's are in `models.rs`.
fn telos(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_telos"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("TELOS_DATA_DIR")
        .env_remove("TELOS_ENDPOINT")
        .env("TELOS_LLM", "ollama")
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

/// `telos` with Ollama looked for at `host`.
fn telos_with_ollama(dir: &Path, host: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_telos"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("TELOS_DATA_DIR")
        .env_remove("TELOS_ENDPOINT")
        .env("OLLAMA_HOST", host)
        .env("TELOS_LLM", "ollama")
        // The stub is an 8 GiB card, whatever GPU this machine has.
        .env("TELOS_VRAM_BUDGET", "8GiB")
        .output()
        .expect("run telos")
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

//! The commands that reach a model, against the FAKE Ollama: ask, personas, the scheduler,
//! amendments, ingest, recall and doctor.

use super::*;

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

/// `telos` as a user runs it (`TELOS_LLM` unset: Ollama when it answers, else the embedded
/// runtime), with Ollama looked for at `host`.
fn telos_auto(dir: &std::path::Path, host: &str, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_telos"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("TELOS_DATA_DIR")
        .env_remove("TELOS_ENDPOINT")
        .env_remove("TELOS_LLM")
        .env("OLLAMA_HOST", host)
        .env("TELOS_LLM_MAX_TOKENS", "48")
        .output()
        .expect("run telos")
}

#[test]
fn without_ollama_the_personas_answer_on_the_embedded_runtime_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let run = |args: &[&str]| telos_auto(dir.path(), &host, args);

    let out = run(&["ask", "BRICK", "Say hello in five words.", "--json"]);
    let events = json_lines(&out);
    assert_eq!(events[0]["type"], "started", "{events:?}");
    assert_eq!(events[0]["runtime"], "embedded");
    assert_eq!(events[0]["model"], "gguf:SmolLM2-135M-Instruct.Q4_1");
    let fallback = events[0]["fallback"].as_str().unwrap();
    assert!(fallback.contains(&host), "{fallback}");
    let tokens = events.iter().filter(|e| e["type"] == "token").count();
    assert!(tokens >= 2, "real tokens stream: {events:?}");
    let last = events.last().unwrap();
    assert!(
        last["type"] == "done"
            || last["message"]
                .as_str()
                .is_some_and(|m| m.contains("limit")),
        "{last}"
    );

    let out = run(&["personas", "ls", "--json"]);
    let personas: Value = serde_json::from_slice(&out.stdout).unwrap();
    for p in personas.as_array().unwrap() {
        assert_eq!(p["runtime"], "embedded", "{p}");
        assert_eq!(p["answered_by"], "gguf:SmolLM2-135M-Instruct.Q4_1", "{p}");
        assert!(
            p["fallback"]
                .as_str()
                .unwrap()
                .contains("Ollama does not answer"),
            "{p}"
        );
    }
    let table = String::from_utf8_lossy(&run(&["personas", "ls"]).stdout).to_string();
    assert!(
        table.contains("embedded gguf:SmolLM2-135M-Instruct.Q4_1"),
        "{table}"
    );

    let out = run(&["models", "ls", "--json"]);
    let models: Value = serde_json::from_slice(&out.stdout).unwrap();
    let smol = models
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "gguf:SmolLM2-135M-Instruct.Q4_1")
        .unwrap_or_else(|| panic!("{models}"));
    assert_eq!(smol["runtime"], "embedded");
    assert_eq!(
        smol["personas"],
        json!(["ALFRED", "BABS", "BRICK", "ROBIN"])
    );
    assert!(
        smol["size"].as_u64().unwrap() > 98_000_000,
        "weights and KV cache: {smol}"
    );

    let out = run(&["scheduler", "status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("RAM ") && text.contains("embedded llama.cpp"),
        "{text}"
    );
}

#[test]
fn a_hub_model_is_pulled_pinned_and_then_listed() {
    use telos_tests::hub_stub::{COMMIT, FILE, HubStub};
    let default = telos_core::llama::models_dir().join("SmolLM2-135M-Instruct.Q4_1.gguf");
    let stub = HubStub::serve(&default, false, false);
    let (data, models) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_telos"))
            .arg("--data-dir")
            .arg(data.path())
            .args(args)
            .env("HF_ENDPOINT", &stub.url)
            .env("TELOS_MODELS_DIR", models.path())
            .env("TELOS_LLM", "ollama")
            .env("OLLAMA_HOST", "http://127.0.0.1:9")
            .output()
            .expect("run telos")
    };
    let out = run(&["models", "pull", FILE, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pulled: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(pulled["commit"], COMMIT);
    assert_eq!(pulled["sha256"], json!(stub.sha256));
    let out = run(&["models", "ls", "--json"]);
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [FILE],
        "the pulled model, and only it, in this models folder"
    );
}

#[test]
fn an_ollama_pull_succeeds_and_a_missing_model_is_named() {
    use telos_tests::ollama_stub::{OllamaStub, Script};
    let stub = OllamaStub::start(Script::design_table());
    let dir = tempfile::tempdir().unwrap();
    let out = telos_auto(
        dir.path(),
        &stub.url(),
        &["models", "pull", "phi3:3.8b", "--json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pulled: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        pulled,
        json!({"model": "phi3:3.8b", "runtime": "ollama", "path": null, "commit": null, "sha256": null})
    );
    let out = telos_auto(dir.path(), &stub.url(), &["models", "pull", "nope:1b"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nope:1b") && err.contains("file does not exist"),
        "{err}"
    );
}

#[test]
fn a_pull_of_a_bad_name_says_what_a_name_looks_like() {
    let dir = tempfile::tempdir().unwrap();
    for (model, says) in [
        ("hf:owner/repo", "hf:OWNER/REPO/FILE.gguf"),
        ("gguf:mine", "copy it there"),
    ] {
        let out = telos_auto(dir.path(), "http://127.0.0.1:9", &["models", "pull", model]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{model}: {err}");
    }
    assert!(
        !dir.path().join("image").exists(),
        "a pull does not open the data dir"
    );
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
fn an_edit_from_the_command_line_is_what_personas_ls_says_and_proposes_no_amendment() {
    use telos_tests::ollama_stub::{OllamaStub, Script};
    let stub = OllamaStub::start(Script::design_table());
    let host = stub.url();
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = telos_with_ollama(dir.path(), &host, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    run(&["init"]);
    run(&["obj", "set", "BRICK", "model", "\"llama3:8b\""]);
    run(&["obj", "set", "BRICK", "keep_alive", "\"10m\""]);
    let personas: Value =
        serde_json::from_slice(&run(&["personas", "ls", "--json"]).stdout).unwrap();
    let brick = personas
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "BRICK")
        .unwrap();
    assert_eq!(
        (&brick["model"], &brick["keep_alive"]),
        (&json!("llama3:8b"), &json!("10m"))
    );
    // The codex file says so, and nothing waits for approval.
    let file = dir.path().join("codex/BRICK.json");
    let codex: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        (&codex["model"], &codex["keep_alive"]),
        (&json!("llama3:8b"), &json!("10m"))
    );
    let report: Value =
        serde_json::from_slice(&run(&["amendments", "ls", "--json"]).stdout).unwrap();
    assert_eq!(report["pending"], json!([]), "{report}");
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

//! Concepts from the command line: documents remembered grow them, `rebuild` regroups them and
//! has BABS (the FAKE Ollama) name them, `ls` and `show` show them, `recall` shows the named
//! ones beside the chunks, and a bad id is refused by name.

use serde_json::json;
use telos_tests::ollama_stub::{OllamaStub, Reply, Script};

use super::{fails, ok_json, telos_with_ollama};

#[test]
fn documents_grow_concepts_that_babs_names_on_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    let kites = [
        "A kite flies because the wind pushes against its sail and the line holds it.",
        "To launch a kite, stand with your back to the wind and let out some line.",
    ];
    for (i, text) in kites.iter().enumerate() {
        std::fs::write(docs.join(format!("kites-{i}.md")), text).unwrap();
    }
    let mut script = Script::design_table();
    // one naming per concept grown (MiniLM may or may not put the two sentences together)
    let naming = json!({"label": "Kite flight", "definition": "How kites are flown in the wind."});
    script
        .replies
        .insert("qwen2:7b".into(), vec![Reply::Text(naming.to_string()); 2]);
    let stub = OllamaStub::start(script);
    let run = |args: &[&str]| telos_with_ollama(&d, &stub.url(), args);
    let ingest = run(&["ingest", "--persona", "BRICK", docs.to_str().unwrap()]);
    assert!(
        ingest.status.success(),
        "{}",
        String::from_utf8_lossy(&ingest.stderr)
    );

    let grown = ok_json(&d, &["concepts", "ls", "--persona", "BRICK", "--json"]);
    let grown = grown.as_array().unwrap();
    assert!(!grown.is_empty(), "{grown:?}");
    assert!(
        grown
            .iter()
            .all(|c| c["label"].is_null() && c["needs_name"] == true)
    );
    assert_eq!(
        grown
            .iter()
            .map(|c| c["size"].as_u64().unwrap())
            .sum::<u64>(),
        2
    );

    let out = run(&["concepts", "rebuild", "--persona", "BRICK", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(done[0]["rebuilt"]["persona"], "BRICK", "{done}");
    assert_eq!(done[0]["rebuilt"]["chunks"], 2, "{done}");
    // progress went to stderr, as a user reads it
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("BRICK: 2 chunks in"), "{said}");

    let listed = ok_json(&d, &["concepts", "ls", "--json"]);
    let named: Vec<&serde_json::Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["label"] == "Kite flight")
        .collect();
    assert_eq!(named.len(), 1, "{listed}");
    let id = named[0]["id"].as_str().unwrap();
    let shown = ok_json(&d, &["concepts", "show", id, "--json"]);
    assert_eq!(
        shown["concept"]["definition"],
        "How kites are flown in the wind."
    );
    assert!(!shown["chunks"].as_array().unwrap().is_empty());
    let plain = run(&["concepts", "show", id]);
    let text = String::from_utf8_lossy(&plain.stdout);
    assert!(
        text.starts_with("Kite flight — BRICK's concept of"),
        "{text}"
    );
    assert!(text.contains("record: concept:Kite flight"), "{text}");

    // a broad question shows the concept beside the chunks
    let recall = run(&["recall", "--persona", "BRICK", "how are kites flown?"]);
    let text = String::from_utf8_lossy(&recall.stdout);
    assert!(text.starts_with("concept "), "{text}");
    assert!(text.contains("\"Kite flight\""), "{text}");

    let err = fails(&d, &["concepts", "show", "not-an-id"]);
    assert!(err.contains("\"not-an-id\" is not a concept id"), "{err}");
}

//! The mind from the command line: motives noticed, work proposed, approved and run, the
//! autonomy switch.

use serde_json::{Value, json};
use telos_tests::ollama_stub::{OllamaStub, Reply, Script};

use super::{fails, ok_json, telos, telos_with_ollama};

#[test]
fn motives_become_work_that_is_approved_and_run_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(ok_json(d, &["motives", "ls", "--json"]), json!([]));
    assert_eq!(ok_json(d, &["autonomy", "--json"]), json!("ask"));
    let err = fails(d, &["autonomy", "maybe"]);
    assert!(err.contains("maybe"), "{err}");

    // BABS could not ground a question.
    let ops = d.join("ops.json");
    let exchange = json!([{"op": "append", "object": "BABS", "slot": "scrapbook",
        "value": {"at": 1, "user": "What is a kite?", "reply": "?", "cut": false,
                  "recalled": [], "grounding": 0.1}}]);
    std::fs::write(&ops, exchange.to_string()).unwrap();
    ok_json(d, &["apply", ops.to_str().unwrap(), "--json"]);

    let planned = ok_json(d, &["agenda", "plan", "--json"]);
    assert_eq!(planned["motives"][0]["signal"], "ungrounded");
    assert_eq!(planned["motives"][0]["kind"], "curiosity_deficit");
    let work = planned["works"][0].clone();
    assert_eq!(
        (&work["kind"], &work["state"]),
        (&json!("research"), &json!("proposed"))
    );
    let listed = telos(d, &["agenda", "ls"]);
    let text = String::from_utf8(listed.stdout).unwrap();
    assert!(text.contains("autonomy ask"), "{text}");
    assert!(text.contains("proposed research (BABS"), "{text}");
    let motives = String::from_utf8(telos(d, &["motives", "ls"]).stdout).unwrap();
    assert!(
        motives.contains("could not ground \"What is a kite?\""),
        "{motives}"
    );

    let id = work["id"].as_str().unwrap();
    let err = fails(d, &["agenda", "approve", "work nobody"]);
    assert!(err.contains("work nobody"), "{err}");
    let approved = ok_json(d, &["agenda", "approve", id, "--json"]);
    assert_eq!(approved["state"], "approved");

    let mut script = Script::design_table();
    script.replies.insert(
        "qwen2:7b".into(),
        vec![Reply::Text("Nothing about kites is remembered.".into())],
    );
    let stub = OllamaStub::start(script);
    let out = telos_with_ollama(d, &stub.url(), &["agenda", "run", "--once", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let step: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(step["type"], "acted", "{step}");
    assert_eq!(step["work"]["state"], "done");
    assert_eq!(step["work"]["result"], "Nothing about kites is remembered.");
    let err = fails(d, &["agenda", "reject", id]);
    assert!(err.contains("Done"), "{err}");

    // A dialogue resumed from a turn names what is wrong.
    let err = fails(d, &["dialogue", "new words", "--turn", "0"]);
    assert!(err.contains("--resume"), "{err}");
    let err = fails(
        d,
        &["dialogue", "new words", "--resume", "nope", "--turn", "0"],
    );
    assert!(err.contains("nope"), "{err}");
    // A dialogue between a picked pair names a bad pick.
    let err = fails(d, &["dialogue", "Why?", "--between", "BRICK", "BRICK"]);
    assert!(err.contains("two different personas"), "{err}");
    let err = fails(d, &["dialogue", "Why?", "--between", "BRICK", "nobody"]);
    assert!(err.contains("nobody"), "{err}");

    assert_eq!(ok_json(d, &["autonomy", "off", "--json"]), json!("off"));
    let out = telos(d, &["agenda", "run", "--once"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("nothing runs: autonomy is off"), "{text}");
}

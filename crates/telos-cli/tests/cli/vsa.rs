//! Symbols from the command line: atoms made once, a record composed, a role unbound from it
//! and cleaned up to its filler; bad expressions and unknown names refused by name.

use serde_json::json;

use super::{fails, ok_json, telos};

#[test]
fn a_record_made_from_the_command_line_answers_what_fills_a_role() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for name in ["topic", "source", "rust", "doc7"] {
        let made = ok_json(d, &["vsa", "atom", name, "--json"]);
        assert_eq!(
            (made["name"].clone(), made["created"].clone()),
            (json!(name), json!(true))
        );
        assert_eq!(made["persona"], "BABS");
        assert_eq!(made["dim"], 10_000);
    }
    assert_eq!(
        ok_json(d, &["vsa", "atom", "topic", "--json"])["created"],
        false
    );
    let record = ok_json(
        d,
        &[
            "vsa",
            "compose",
            "record 1",
            "topic*rust + source*doc7",
            "--json",
        ],
    );
    assert_eq!(record["expression"], "topic * rust + source * doc7");
    let answer = ok_json(
        d,
        &["vsa", "query", "\"record 1\" / source", "-k", "2", "--json"],
    );
    assert_eq!(answer["hits"][0]["name"], "doc7", "{answer}");
    let s = answer["hits"][0]["similarity"].as_f64().unwrap();
    // one pair of two in a phasor bundle: √(π/4)/√2 ≈ 0.63
    let want = (std::f64::consts::PI / 8.0).sqrt();
    assert!(
        (s - want).abs() < 0.05,
        "one pair of two: about {want:.2}, got {s}"
    );
    assert!(answer["hits"][1]["similarity"].as_f64().unwrap() < 0.1);
    // the plain output, as a user reads it
    let out = telos(d, &["vsa", "query", "\"record 1\" / topic"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("\"record 1\" / topic in BABS's codebook:"),
        "{text}"
    );
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .trim_end()
            .ends_with("rust (atom)"),
        "{text}"
    );
    let listed = ok_json(d, &["vsa", "ls", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 5);
    // another persona's codebook is its own
    assert_eq!(
        ok_json(d, &["vsa", "ls", "--persona", "ROBIN", "--json"]),
        json!([])
    );

    let err = fails(d, &["vsa", "query", "topic * (rust"]);
    assert!(err.contains("column 14: expected `)`"), "{err}");
    let err = fails(d, &["vsa", "query", "kites / topic"]);
    assert!(err.contains("BABS has no symbol \"kites\""), "{err}");
    let err = fails(d, &["vsa", "atom", "x", "--persona", "NOBODY"]);
    assert!(err.contains("NOBODY"), "{err}");
    // nothing was made by the failures
    assert_eq!(
        ok_json(d, &["vsa", "ls", "--json"])
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

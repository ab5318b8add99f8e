//! Learning's test data: golden exchanges staged as `evaluation` objects, as ALFRED's
//! Curator would have left them.

use serde_json::{Value, json};
use telos_core::Telos;
use telos_core::image::ops::Op;

/// BABS's rubric: its values, then "task done".
pub const BABS_CRITERIA: [&str; 4] = ["accuracy", "sources", "curiosity", "task done"];

/// Every criterion of BABS's rubric scored `s`.
pub fn babs_scores(s: u8) -> Value {
    BABS_CRITERIA
        .iter()
        .map(|c| (c.to_string(), json!(s)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// `n` golden exchanges of BABS's, scored 5, staged `per` to a cycle.
pub async fn seed_golden(telos: &Telos, n: usize, per: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(per.max(1)) {
        let mut list = Vec::new();
        for &i in chunk {
            let name = format!("evaluation seeded {i}");
            list.push(Op::New {
                name: name.clone(),
                parents: vec!["genesis".into()],
            });
            let messages = json!([
                {"role": "system", "content": "You are BABS, the researcher of Telos."},
                {"role": "user", "content": format!("What is fact {i} about kites?")},
                {"role": "assistant", "content": format!("Fact {i}: a kite is a tethered wing; the wind over it gives lift.")},
            ]);
            for (slot, value) in [
                ("kind", json!("evaluation")),
                ("persona", json!("BABS")),
                ("exchange", json!(format!("chat:seeded:{i}"))),
                ("source", json!("chat")),
                ("messages", messages),
                ("scores", babs_scores(5)),
                ("overall", json!(5)),
                ("rationale", json!("seeded")),
                ("judge", json!("phi3:3.8b")),
                ("at", json!(1_796_000_000_000_i64 + i as i64)),
            ] {
                list.push(Op::Set {
                    object: name.clone(),
                    slot: slot.into(),
                    value,
                });
            }
        }
        telos.apply("seed golden", list).await.expect("seeded");
    }
}

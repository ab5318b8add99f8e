//! Human-readable and JSON renderings of objects and cycles.

use std::fmt::Write;

use serde_json::{Value, json};
use telos_core::image::{CycleRecord, Image, Object, ObjectId};

fn name_of(image: &Image, id: &ObjectId) -> String {
    image
        .get(id)
        .map(|o| o.name.clone())
        .unwrap_or_else(|_| id.to_string())
}

pub fn summary(image: &Image, o: &Object) -> Value {
    json!({
        "id": o.id,
        "name": o.name,
        "parents": o.parents.iter().map(|p| name_of(image, p)).collect::<Vec<_>>(),
        "slots": o.slots.len(),
        "methods": o.methods.len(),
        "version": o.version,
    })
}

pub fn detail(image: &Image, o: &Object) -> Value {
    let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
    v["parent_names"] = json!(
        o.parents
            .iter()
            .map(|p| name_of(image, p))
            .collect::<Vec<_>>()
    );
    v
}

pub fn table(image: &Image, objects: &[std::sync::Arc<Object>]) -> String {
    let mut out = format!(
        "{:<26}  {:<18}  {:>5}  {:>3}  PARENTS\n",
        "ID", "NAME", "SLOTS", "VER"
    );
    for o in objects {
        let parents: Vec<String> = o.parents.iter().map(|p| name_of(image, p)).collect();
        let _ = writeln!(
            out,
            "{:<26}  {:<18}  {:>5}  {:>3}  {}",
            o.id,
            o.name,
            o.slots.len(),
            o.version,
            parents.join(", ")
        );
    }
    out.trim_end().to_owned()
}

pub fn describe(image: &Image, o: &Object) -> String {
    let mut out = format!("{} ({})  version {}\n", o.name, o.id, o.version);
    let parents: Vec<String> = o.parents.iter().map(|p| name_of(image, p)).collect();
    let _ = writeln!(
        out,
        "parents: {}",
        if parents.is_empty() {
            "(none)".into()
        } else {
            parents.join(" → ")
        }
    );
    let _ = writeln!(out, "slots:");
    for (k, v) in &o.slots {
        let _ = writeln!(out, "  {k} = {}", value(v));
    }
    if o.methods.is_empty() {
        let _ = writeln!(out, "methods: (none)");
    } else {
        let _ = writeln!(out, "methods:");
        for (k, m) in &o.methods {
            let _ = writeln!(out, "  {k} [{}] by {}", m.language, m.provenance.author);
        }
    }
    out.trim_end().to_owned()
}

pub fn value(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

pub fn cycles(cycles: &[CycleRecord]) -> String {
    let mut out = format!("{:<26}  {:<9}  {:>4}  TRIGGER\n", "CYCLE", "STATUS", "OBJS");
    for c in cycles {
        let status = serde_json::to_value(c.status).unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<26}  {:<9}  {:>4}  {}{}",
            c.id,
            status.as_str().unwrap_or(""),
            c.objects.len(),
            c.trigger,
            c.error
                .as_deref()
                .map(|e| format!("  ({e})"))
                .unwrap_or_default()
        );
    }
    out.trim_end().to_owned()
}

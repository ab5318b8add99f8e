//! Objects and cycle records as rows: slot values and methods as JSON text, so every value
//! comes back byte-for-byte.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::cycle::CycleRecord;
use crate::error::{Error, Result};
use crate::object::{Object, ObjectId};

/// An object as stored: slot values and methods as JSON text, parents as edges.
#[derive(Serialize, Deserialize)]
pub(super) struct Row {
    pub(super) oid: String,
    pub(super) name: String,
    pub(super) slots: Vec<(String, String)>,
    pub(super) methods: Vec<(String, String)>,
    pub(super) version: u64,
    pub(super) created: i64,
    pub(super) updated: i64,
}

#[derive(Deserialize)]
pub(super) struct EdgeRow {
    pub(super) child: String,
    pub(super) parent: String,
}

#[derive(Deserialize)]
pub(super) struct LinkRow {
    pub(super) from: String,
    pub(super) to: String,
    pub(super) relation: String,
}

impl Row {
    pub(super) fn from_object(object: &Object) -> Result<Value> {
        serde_json::to_value(Self::of(object)?).map_err(|source| Error::Corrupt {
            what: format!("object '{}'", object.name),
            source,
        })
    }

    pub(super) fn of(object: &Object) -> Result<Self> {
        Ok(Row {
            oid: object.id.to_string(),
            name: object.name.clone(),
            slots: object
                .slots
                .iter()
                .map(|(k, v)| Ok((k.clone(), crate::object::encode_slot(&object.name, k, v)?)))
                .collect::<Result<_>>()?,
            methods: object
                .methods
                .iter()
                .map(|(k, m)| Ok((k.clone(), to_text(m, "method")?)))
                .collect::<Result<_>>()?,
            version: object.version,
            created: object.created,
            updated: object.updated,
        })
    }

    pub(super) fn into_object(self) -> Result<Object> {
        let what = |part: &str| format!("{part} of object '{}'", self.name);
        let id = ObjectId::parse(&self.oid).ok_or_else(|| Error::Corrupt {
            what: what("id"),
            source: serde::de::Error::custom(format!("'{}' is not an object id", self.oid)),
        })?;
        let mut slots = Map::new();
        for (k, text) in self.slots {
            let v = serde_json::from_str(&text).map_err(|source| Error::Corrupt {
                what: what(&format!("slot '{k}'")),
                source,
            })?;
            slots.insert(k, v);
        }
        let mut methods = indexmap::IndexMap::new();
        for (k, text) in self.methods {
            let m = serde_json::from_str(&text).map_err(|source| Error::Corrupt {
                what: what(&format!("method '{k}'")),
                source,
            })?;
            methods.insert(k, m);
        }
        Ok(Object {
            id,
            name: self.name,
            slots,
            methods,
            parents: Vec::new(),
            links: indexmap::IndexMap::new(),
            version: self.version,
            created: self.created,
            updated: self.updated,
        })
    }
}

fn to_text<T: Serialize>(value: &T, what: &str) -> Result<String> {
    serde_json::to_string(value).map_err(|source| Error::Corrupt {
        what: what.to_owned(),
        source,
    })
}

/// Cycle records keep their detail (steps, staged changes) as JSON text, like slots; the
/// objects they touched are a field of their own so "which cycles touched X" is a query.
pub(super) fn cycle_row(record: &CycleRecord) -> Result<Value> {
    Ok(json!({
        "cid": record.id,
        "started": record.started,
        "objects": record.objects,
        // Retention may delete it (see `Store::prune_cycles`).
        "settled": !record.is_suspended(),
        "detail": to_text(record, "cycle record")?,
    }))
}

pub(super) fn cycle_from_row(row: Value) -> Result<CycleRecord> {
    let text = row.get("detail").and_then(Value::as_str).unwrap_or("null");
    serde_json::from_str(text).map_err(|source| Error::Corrupt {
        what: "cycle record".into(),
        source,
    })
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(value: Value, what: &str) -> Result<T> {
    let value = if value.is_null() { json!([]) } else { value };
    serde_json::from_value(value).map_err(|source| Error::Corrupt {
        what: what.to_owned(),
        source,
    })
}

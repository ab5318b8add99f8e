//! The image's persistence: SurrealDB as a graph of `object` records joined by `delegates` edges.
//!
//! Records keep slot values and methods as JSON *text*, so that every value the image is given
//! comes back byte-for-byte (SurrealDB's own value model would turn a `u64` above `i64::MAX`
//! into a float and reorder object keys).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use surrealdb::Surreal;
use surrealdb::engine::any::Any;
use surrealdb::engine::local::Db;
use surrealdb_core::kvs::Datastore;

use crate::cycle::CycleRecord;
use crate::error::{Error, Result};
use crate::object::{Object, ObjectId};

const NAMESPACE: &str = "telos";
const DATABASE: &str = "image";
const CONFLICT_MARK: &str = "telos-conflict:";

/// Where the image lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// Embedded SurrealKV in a directory: durable, fsync on every commit.
    SurrealKv { path: std::path::PathBuf },
    /// Embedded in memory: for tests, gone at exit.
    Memory,
    /// A SurrealDB server (`ws://` or `wss://`), for images that outgrow one machine.
    Remote { url: String },
}

impl Endpoint {
    /// Parses `surrealkv://PATH`, `mem://` or `ws[s]://HOST[:PORT]`.
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = |reason: &str| Error::InvalidEndpoint {
            endpoint: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| invalid("expected SCHEME://…, e.g. surrealkv:///path or mem://"))?;
        match scheme {
            "surrealkv" if rest.is_empty() => Err(invalid("surrealkv:// needs a path")),
            "surrealkv" if rest.contains('?') => Err(invalid(
                "options in the URL are not supported; Telos sets them",
            )),
            "surrealkv" => Ok(Self::SurrealKv { path: rest.into() }),
            "mem" | "memory" if rest.is_empty() => Ok(Self::Memory),
            "mem" | "memory" => Err(invalid("mem:// takes no path")),
            "ws" | "wss" if rest.is_empty() => Err(invalid("a server URL needs a host")),
            "ws" | "wss" => Ok(Self::Remote {
                url: text.to_owned(),
            }),
            _ => Err(invalid("the scheme must be surrealkv, mem, ws or wss")),
        }
    }

    /// True when this process is the image's only writer, so the in-memory view stays exact.
    pub fn is_embedded(&self) -> bool {
        !matches!(self, Self::Remote { .. })
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SurrealKv { path } => write!(f, "surrealkv://{}", path.display()),
            Self::Memory => f.write_str("mem://"),
            Self::Remote { url } => f.write_str(url),
        }
    }
}

/// Tuning of the embedded engine.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// SurrealKV's block cache (its default is about half of RAM).
    pub block_cache_bytes: u64,
    /// SurrealKV's memtable; also the largest single transaction it accepts.
    pub memtable_bytes: u64,
    /// Credentials for a remote server, if it wants them.
    pub remote_user: Option<(String, String)>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            block_cache_bytes: 64 * 1024 * 1024,
            memtable_bytes: 256 * 1024 * 1024,
            remote_user: None,
        }
    }
}

#[derive(Clone)]
enum Conn {
    Local(Surreal<Db>, Arc<Datastore>),
    Remote(Surreal<Any>),
}

/// A connection to the image's database. Cloning is shallow.
#[derive(Clone)]
pub(crate) struct Store {
    conn: Conn,
    endpoint: Arc<str>,
}

/// An object as stored: slot values and methods as JSON text, parents as edges.
#[derive(Serialize, Deserialize)]
struct Row {
    oid: String,
    name: String,
    slots: Vec<(String, String)>,
    methods: Vec<(String, String)>,
    version: u64,
    created: i64,
    updated: i64,
}

#[derive(Deserialize)]
struct EdgeRow {
    child: String,
    parent: String,
}

#[derive(Deserialize)]
struct LinkRow {
    from: String,
    to: String,
    relation: String,
}

/// One object write of a commit.
pub(crate) enum Write<'a> {
    Create(&'a Object),
    /// `reparented`: the parents changed, so the object's delegation edges are rewritten.
    /// `relinked`: how each changed relation's link edges are written.
    Update {
        object: &'a Object,
        base: u64,
        reparented: bool,
        relinked: Vec<Relink<'a>>,
    },
    Delete {
        id: &'a ObjectId,
        base: u64,
    },
}

/// How one relation of an updated object is written.
pub(crate) enum Relink<'a> {
    /// Targets were only added at the end: relate the new ones after the `from`-th.
    Append { relation: &'a str, from: usize },
    /// Anything else: delete the relation's edges and relate them all again.
    Rewrite { relation: &'a str },
}

impl Store {
    pub(crate) async fn open(endpoint: &Endpoint, options: &StoreOptions) -> Result<Self> {
        let name = endpoint.to_string();
        let conn = match endpoint {
            Endpoint::SurrealKv { .. } | Endpoint::Memory => {
                let path = match endpoint {
                    Endpoint::SurrealKv { path } => format!("surrealkv://{}", path.display()),
                    _ => "memory".to_owned(),
                };
                let open_err = |e| open_error(&name, e);
                let config = surrealdb_cnf::ConfigMap::empty()
                    .with_key_value(
                        "surrealkv_block_cache_capacity",
                        options.block_cache_bytes.to_string(),
                    )
                    .with_key_value(
                        "surrealkv_max_memtable_size",
                        options.memtable_bytes.to_string(),
                    )
                    .with_key_value("datastore_sync", "every");
                // Built by hand, not with `engine::local::connect`, because only the builder
                // takes SurrealKV's cache and memtable sizes. The steps mirror `connect`.
                let ds = Datastore::builder()
                    .with_config(config)
                    .without_maintenance_tasks()
                    .build_with_path(&path)
                    .await
                    .map_err(open_err)?;
                ds.check_version().await.map_err(open_err)?;
                ds.bootstrap().await.map_err(open_err)?;
                ds.start_maintenance_tasks();
                let db = Surreal::<Db>::unstable_from_datastore(Arc::clone(&ds), None)
                    .await
                    .map_err(|source| Error::Store {
                        endpoint: name.clone(),
                        source: Box::new(source),
                    })?;
                Conn::Local(db, ds)
            }
            Endpoint::Remote { url } => {
                let db = surrealdb::engine::any::connect(url.as_str())
                    .await
                    .map_err(|source| Error::Store {
                        endpoint: name.clone(),
                        source: Box::new(source),
                    })?;
                if let Some((username, password)) = &options.remote_user {
                    db.signin(surrealdb::opt::auth::Root {
                        username: username.clone(),
                        password: password.clone(),
                    })
                    .await
                    .map_err(|source| Error::Store {
                        endpoint: name.clone(),
                        source: Box::new(source),
                    })?;
                }
                Conn::Remote(db)
            }
        };
        let store = Self {
            conn,
            endpoint: name.into(),
        };
        store.use_ns().await?;
        store
            .run(
                "DEFINE TABLE IF NOT EXISTS object SCHEMALESS;
                 DEFINE INDEX IF NOT EXISTS object_oid ON object FIELDS oid UNIQUE;
                 DEFINE INDEX IF NOT EXISTS object_name ON object FIELDS name UNIQUE;
                 DEFINE TABLE IF NOT EXISTS delegates TYPE RELATION FROM object TO object SCHEMALESS;
                 DEFINE INDEX IF NOT EXISTS delegates_in ON delegates FIELDS in;
                 DEFINE TABLE IF NOT EXISTS link TYPE RELATION FROM object TO object SCHEMALESS;
                 DEFINE INDEX IF NOT EXISTS link_in ON link FIELDS in, relation;
                 DEFINE TABLE IF NOT EXISTS cycle SCHEMALESS;
                 DEFINE INDEX IF NOT EXISTS cycle_started ON cycle FIELDS started;
",
                json!({}),
            )
            .await?;
        Ok(store)
    }

    async fn use_ns(&self) -> Result<()> {
        let res = match &self.conn {
            Conn::Local(db, _) => db.use_ns(NAMESPACE).use_db(DATABASE).await,
            Conn::Remote(db) => db.use_ns(NAMESPACE).use_db(DATABASE).await,
        };
        res.map(|_| ()).map_err(|source| self.err(source))
    }

    fn err(&self, source: surrealdb::Error) -> Error {
        Error::Store {
            endpoint: self.endpoint.to_string(),
            source: Box::new(source),
        }
    }

    /// Runs SurrealQL and returns each statement's result as JSON.
    async fn run(&self, sql: &str, vars: Value) -> Result<Vec<Value>> {
        let response = match &self.conn {
            Conn::Local(db, _) => db.query(sql.to_owned()).bind(vars).await,
            Conn::Remote(db) => db.query(sql.to_owned()).bind(vars).await,
        };
        let mut response = response.map_err(|e| self.err(e))?;
        let errors = response.take_errors();
        if !errors.is_empty() {
            return Err(self.statement_error(errors));
        }
        (0..response.num_statements())
            .map(|i| {
                response
                    .take::<surrealdb::types::Value>(i)
                    .map(surrealdb::types::Value::into_json_value)
                    .map_err(|e| self.err(e))
            })
            .collect()
    }

    /// Picks the error that explains a failed query: our own conflict mark first, then
    /// the earliest statement's error (later ones only say the transaction was cancelled).
    fn statement_error(&self, errors: std::collections::HashMap<usize, surrealdb::Error>) -> Error {
        let mut errors: Vec<_> = errors.into_iter().collect();
        errors.sort_by_key(|(i, _)| *i);
        for (_, e) in &errors {
            let text = e.to_string();
            if let Some(at) = text.find(CONFLICT_MARK) {
                let id: String = text[at + CONFLICT_MARK.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect();
                if let Some(object) = ObjectId::parse(&id) {
                    return Error::Conflict { object };
                }
            }
        }
        let cancelled = |e: &surrealdb::Error| {
            let t = e.to_string();
            t.contains("not executed") || t.contains("cancelled")
        };
        let pick = errors.iter().position(|(_, e)| !cancelled(e)).unwrap_or(0);
        let (_, e) = errors.swap_remove(pick);
        self.err(e)
    }

    /// Every object with its parents, for the in-memory view.
    pub(crate) async fn load_all(&self) -> Result<Vec<Object>> {
        let mut results = self
            .run(
                "SELECT oid, name, slots, methods, version, created, updated FROM object;
                 SELECT record::id(in) AS child, record::id(out) AS parent, priority
                    FROM delegates ORDER BY priority;
                 SELECT record::id(in) AS from, record::id(out) AS to, relation, position
                    FROM link ORDER BY position;",
                json!({}),
            )
            .await?;
        let links: Vec<LinkRow> = decode(results.pop().unwrap_or_default(), "links")?;
        let edges: Vec<EdgeRow> = decode(results.pop().unwrap_or_default(), "delegates")?;
        let rows: Vec<Row> = decode(results.pop().unwrap_or_default(), "objects")?;
        let mut objects: indexmap::IndexMap<String, Object> = indexmap::IndexMap::new();
        for row in rows {
            let object = row.into_object()?;
            objects.insert(object.id.to_string(), object);
        }
        for edge in edges {
            let Some(parent) = ObjectId::parse(&edge.parent) else {
                continue;
            };
            if let Some(child) = objects.get_mut(&edge.child) {
                child.parents.push(parent);
            }
        }
        for link in links {
            let Some(to) = ObjectId::parse(&link.to) else {
                continue;
            };
            if let Some(from) = objects.get_mut(&link.from) {
                from.links.entry(link.relation).or_default().push(to);
            }
        }
        Ok(objects.into_values().collect())
    }

    /// Writes one cycle's changes and its record in a single transaction. Each changed object's
    /// stored version must still be the version the cycle started from, or nothing is written.
    /// `resolved` is a suspended cycle's record, rewritten in the same transaction because this
    /// cycle resumed it.
    pub(crate) async fn commit(
        &self,
        writes: &[Write<'_>],
        record: &CycleRecord,
        resolved: Option<&CycleRecord>,
    ) -> Result<()> {
        let mut sql = String::from("BEGIN TRANSACTION;\n");
        let mut vars = Map::new();
        for (i, write) in writes.iter().enumerate() {
            let guard = |id: &ObjectId, base: u64| {
                format!(
                    "IF (SELECT VALUE version FROM ONLY type::record('object', '{id}')) != {base} \
                     {{ THROW '{CONFLICT_MARK}{id}' }};\n"
                )
            };
            match write {
                Write::Create(object) => {
                    sql += &format!(
                        "CREATE type::record('object', $o{i}.oid) CONTENT $o{i} RETURN NONE;\n"
                    );
                    relate(&mut sql, &mut vars, i, object);
                    for relation in object.links.keys() {
                        link(&mut sql, &mut vars, i, object, relation, 0);
                    }
                    vars.insert(format!("o{i}"), Row::from_object(object)?);
                }
                Write::Update {
                    object,
                    base,
                    reparented,
                    relinked,
                } => {
                    sql += &guard(&object.id, *base);
                    sql += &format!(
                        "UPDATE type::record('object', $o{i}.oid) CONTENT $o{i} RETURN NONE;\n"
                    );
                    if *reparented {
                        sql += &format!(
                            "DELETE delegates WHERE in = type::record('object', $o{i}.oid);\n"
                        );
                        relate(&mut sql, &mut vars, i, object);
                    }
                    for (k, relink) in relinked.iter().enumerate() {
                        let (relation, from) = match relink {
                            Relink::Append { relation, from } => (*relation, *from),
                            Relink::Rewrite { relation } => {
                                sql += &format!(
                                    "DELETE link WHERE in = type::record('object', $o{i}.oid) \
                                        AND relation = $r{i}_{k};\n"
                                );
                                vars.insert(format!("r{i}_{k}"), Value::String((*relation).into()));
                                (*relation, 0)
                            }
                        };
                        link(&mut sql, &mut vars, i, object, relation, from);
                    }
                    vars.insert(format!("o{i}"), Row::from_object(object)?);
                }
                Write::Delete { id, base } => {
                    sql += &guard(id, *base);
                    sql += &format!(
                        "DELETE delegates WHERE in = type::record('object', $d{i}) \
                            OR out = type::record('object', $d{i});\n\
                         DELETE link WHERE in = type::record('object', $d{i}) \
                            OR out = type::record('object', $d{i});\n\
                         DELETE type::record('object', $d{i});\n"
                    );
                    vars.insert(format!("d{i}"), Value::String(id.to_string()));
                }
            }
        }
        sql += "CREATE type::record('cycle', $cycle.cid) CONTENT $cycle RETURN NONE;\n";
        if let Some(resolved) = resolved {
            sql += "UPSERT type::record('cycle', $resolved.cid) CONTENT $resolved RETURN NONE;\n";
            vars.insert("resolved".into(), cycle_row(resolved)?);
        }
        sql += "COMMIT TRANSACTION;";
        vars.insert("cycle".into(), cycle_row(record)?);
        self.run(&sql, Value::Object(vars)).await.map(|_| ())
    }

    /// Writes cycle records that change nothing in the image (an aborted cycle, a suspended
    /// cycle's resolution) in one transaction.
    pub(crate) async fn record_cycles(&self, records: &[CycleRecord]) -> Result<()> {
        let mut sql = String::from("BEGIN TRANSACTION;\n");
        let mut vars = Map::new();
        for (i, record) in records.iter().enumerate() {
            sql += &format!("UPSERT type::record('cycle', $c{i}.cid) CONTENT $c{i} RETURN NONE;\n");
            vars.insert(format!("c{i}"), cycle_row(record)?);
        }
        sql += "COMMIT TRANSACTION;";
        self.run(&sql, Value::Object(vars)).await.map(|_| ())
    }

    /// The most recent `limit` cycles, newest first.
    pub(crate) async fn cycles(&self, limit: usize) -> Result<Vec<CycleRecord>> {
        let mut res = self
            .run(
                "SELECT * OMIT id FROM cycle ORDER BY started DESC, cid DESC LIMIT $limit;",
                json!({ "limit": limit }),
            )
            .await?;
        let rows: Vec<Value> = decode(res.pop().unwrap_or_default(), "cycles")?;
        rows.into_iter().map(cycle_from_row).collect()
    }

    /// The most recent `limit` cycles that changed (or, aborted, would have changed) `object`.
    pub(crate) async fn cycles_touching(
        &self,
        object: &ObjectId,
        limit: usize,
    ) -> Result<Vec<CycleRecord>> {
        let mut res = self
            .run(
                "SELECT * OMIT id FROM cycle WHERE objects CONTAINS $oid
                    ORDER BY started DESC, cid DESC LIMIT $limit;",
                json!({ "oid": object.as_str(), "limit": limit }),
            )
            .await?;
        let rows: Vec<Value> = decode(res.pop().unwrap_or_default(), "cycles")?;
        rows.into_iter().map(cycle_from_row).collect()
    }

    /// One cycle by id.
    pub(crate) async fn cycle(&self, cid: &str) -> Result<Option<CycleRecord>> {
        let mut res = self
            .run(
                "SELECT * OMIT id FROM cycle WHERE cid = $cid;",
                json!({ "cid": cid }),
            )
            .await?;
        let rows: Vec<Value> = decode(res.pop().unwrap_or_default(), "cycles")?;
        rows.into_iter().next().map(cycle_from_row).transpose()
    }

    /// Flushes and closes the embedded engine; a no-op for a remote server.
    pub(crate) async fn shutdown(&self) -> Result<()> {
        if let Conn::Local(_, ds) = &self.conn {
            ds.shutdown()
                .await
                .map_err(|e| open_error(&self.endpoint, e))?;
        }
        Ok(())
    }

    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

/// `surrealdb-core`'s datastore calls return `anyhow` errors; we keep them as the source.
fn open_error(endpoint: &str, e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
    Error::StoreOpen {
        endpoint: endpoint.to_owned(),
        source: e.into(),
    }
}

fn relate(sql: &mut String, vars: &mut Map<String, Value>, i: usize, object: &Object) {
    if object.parents.is_empty() {
        return;
    }
    let parents: Vec<Value> = object
        .parents
        .iter()
        .enumerate()
        .map(|(priority, p)| json!({ "oid": p.as_str(), "priority": priority }))
        .collect();
    vars.insert(format!("p{i}"), Value::Array(parents));
    *sql += &format!(
        "LET $from = type::record('object', $o{i}.oid);\n\
         FOR $p IN $p{i} {{ LET $to = type::record('object', $p.oid); \
         RELATE $from->delegates->$to SET priority = $p.priority RETURN NONE; }};\n"
    );
}

/// Relates `object`'s `relation` targets from the `from`-th on, each with its position.
fn link(
    sql: &mut String,
    vars: &mut Map<String, Value>,
    i: usize,
    object: &Object,
    relation: &str,
    from: usize,
) {
    let Some(targets) = object.links.get(relation) else {
        return;
    };
    if targets.len() <= from {
        return;
    }
    let n = vars.len();
    let edges: Vec<Value> = targets
        .iter()
        .enumerate()
        .skip(from)
        .map(|(position, to)| json!({ "oid": to.as_str(), "position": position }))
        .collect();
    vars.insert(format!("l{n}"), Value::Array(edges));
    vars.insert(format!("lr{n}"), Value::String(relation.to_owned()));
    *sql += &format!(
        "LET $from = type::record('object', $o{i}.oid);\n\
         FOR $l IN $l{n} {{ LET $to = type::record('object', $l.oid); \
         RELATE $from->link->$to SET relation = $lr{n}, position = $l.position RETURN NONE; }};\n"
    );
}

impl Row {
    fn from_object(object: &Object) -> Result<Value> {
        let row = Row {
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
        };
        serde_json::to_value(row).map_err(|source| Error::Corrupt {
            what: format!("object '{}'", object.name),
            source,
        })
    }

    fn into_object(self) -> Result<Object> {
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
fn cycle_row(record: &CycleRecord) -> Result<Value> {
    Ok(json!({
        "cid": record.id,
        "started": record.started,
        "objects": record.objects,
        "detail": to_text(record, "cycle record")?,
    }))
}

fn cycle_from_row(row: Value) -> Result<CycleRecord> {
    let text = row.get("detail").and_then(Value::as_str).unwrap_or("null");
    serde_json::from_str(text).map_err(|source| Error::Corrupt {
        what: "cycle record".into(),
        source,
    })
}

fn decode<T: serde::de::DeserializeOwned>(value: Value, what: &str) -> Result<T> {
    let value = if value.is_null() { json!([]) } else { value };
    serde_json::from_value(value).map_err(|source| Error::Corrupt {
        what: what.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_and_name_what_is_wrong() {
        assert_eq!(Endpoint::parse("mem://").unwrap(), Endpoint::Memory);
        assert_eq!(
            Endpoint::parse("surrealkv:///var/telos/image").unwrap(),
            Endpoint::SurrealKv {
                path: "/var/telos/image".into()
            }
        );
        assert!(matches!(
            Endpoint::parse("ws://db.example:8000").unwrap(),
            Endpoint::Remote { .. }
        ));
        for bad in ["", "surrealkv://", "rocksdb:///x", "/plain/path", "mem://x"] {
            let err = Endpoint::parse(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("'{bad}'")), "{err}");
        }
    }
}

//! Reading and writing the image: loading every object, one commit as one transaction, and
//! cycle records.

use serde_json::{Map, Value, json};

use super::rows::{EdgeRow, LinkRow, Row, cycle_from_row, cycle_row, decode};
use super::{CONFLICT_MARK, Store};
use crate::cycle::CycleRecord;
use crate::error::Result;
use crate::object::{Object, ObjectId};

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

    /// Deletes the settled cycle records older than the newest `keep` records; returns how
    /// many went. A suspended cycle is kept until it is resolved.
    pub(crate) async fn prune_cycles(&self, keep: usize) -> Result<usize> {
        let mut res = self
            .run(
                "LET $cut = (SELECT VALUE started FROM cycle ORDER BY started DESC LIMIT 1 START $keep)[0];
                 IF $cut = NONE { RETURN []; };
                 DELETE cycle WHERE settled = true AND started <= $cut RETURN BEFORE;",
                json!({ "keep": keep }),
            )
            .await?;
        let rows: Vec<Value> = decode(res.pop().unwrap_or_default(), "pruned cycles")?;
        Ok(rows.len())
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

//! Reading and writing the image: loading every object, one commit as one transaction, and
//! cycle records.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::pages::{self, Paged};
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
    /// Every object with its parents, for the in-memory view. An embedded store drops the
    /// pages none of whose objects is still in them ([`pages`]).
    pub(crate) async fn load_all(&self) -> Result<Vec<Object>> {
        let results = self
            .run(
                "SELECT oid, name, slots, methods, version, created, updated FROM object;
                 SELECT record::id(in) AS child, record::id(out) AS parent, priority
                    FROM delegates ORDER BY priority;
                 SELECT record::id(in) AS from, record::id(out) AS to, relation, position
                    FROM link ORDER BY position;
                 SELECT record::id(id) AS id, objects FROM page;
                 SELECT VALUE record::id(id) FROM left_page;",
                json!({}),
            )
            .await?;
        self.paged.clear();
        let (objects, dead) = self.objects_from(results, None)?;
        if self.pages_allowed() && !dead.pages.is_empty() {
            // Housekeeping: a store that cannot write now (a full disk) still opens.
            if let Err(e) = self.drop_pages(dead).await {
                tracing::warn!("dropping pages of objects since changed or deleted: {e}");
            }
        }
        Ok(objects)
    }

    /// Deletes pages none of whose objects is in them any more, with their objects'
    /// `left` records, in one transaction.
    async fn drop_pages(&self, dead: Dead) -> Result<()> {
        let count = dead.pages.len();
        self.run(
            "BEGIN TRANSACTION;
             DELETE $pages.map(|$p| type::record('page', $p)) RETURN NONE;
             DELETE $left.map(|$g| type::record('left_page', $g)) RETURN NONE;
             COMMIT TRANSACTION;",
            json!({ "pages": dead.pages, "left": dead.left }),
        )
        .await?;
        tracing::info!("{count} pages of objects since changed or deleted dropped");
        Ok(())
    }

    /// The objects of a query whose last five results are object rows, their `delegates`
    /// edges (in priority order), their `link` edges (in position order), pages and the
    /// ids of objects that left their pages. A page's object is kept when it has not left
    /// it and (given `only`) is among `only`. Also the pages none of whose objects is kept.
    pub(super) fn objects_from(
        &self,
        mut results: Vec<Value>,
        only: Option<&HashSet<&str>>,
    ) -> Result<(Vec<Object>, Dead)> {
        let left: HashSet<String> = decode(results.pop().unwrap_or_default(), "left pages")?;
        let pages: Vec<pages::PageRow> = decode(results.pop().unwrap_or_default(), "pages")?;
        let links: Vec<LinkRow> = decode(results.pop().unwrap_or_default(), "links")?;
        let edges: Vec<EdgeRow> = decode(results.pop().unwrap_or_default(), "delegates")?;
        let rows: Vec<Row> = decode(results.pop().unwrap_or_default(), "objects")?;
        let mut objects = Vec::with_capacity(rows.len());
        for row in rows {
            objects.push(row.into_object()?);
        }
        attach(&mut objects, edges, links);
        let with_rows: HashSet<String> = objects.iter().map(|o| o.id.to_string()).collect();
        let mut paged = pages::unpage(pages, |oid| {
            !with_rows.contains(oid)
                && !left.contains(oid)
                && only.is_none_or(|only| only.contains(oid))
        })?;
        if only.is_none() {
            // Every object is here: a paged object's parent or link target deleted meanwhile
            // (by a delete that raced the commit that paged it) goes, as its edge would.
            let exists: HashSet<String> = objects
                .iter()
                .chain(&paged.objects)
                .map(|o| o.id.to_string())
                .collect();
            for o in &mut paged.objects {
                o.parents.retain(|p| exists.contains(p.as_str()));
                for targets in o.links.values_mut() {
                    targets.retain(|t| exists.contains(t.as_str()));
                }
            }
        }
        self.paged.note(
            paged.objects.iter().map(|o| o.id.as_str()),
            with_rows
                .iter()
                .map(String::as_str)
                .chain(left.iter().map(String::as_str)),
        );
        objects.extend(paged.objects);
        let mut dead = Dead::default();
        for (page, oids) in paged.dead {
            dead.pages.push(page);
            dead.left
                .extend(oids.into_iter().filter(|oid| left.contains(oid)));
        }
        Ok((objects, dead))
    }
}

/// Pages none of whose objects is in them any more, and their objects' `left` records.
#[derive(Default)]
pub(super) struct Dead {
    pages: Vec<String>,
    left: Vec<String>,
}

/// Gives `objects` their parents and links; edges from objects not among them are skipped.
fn attach(objects: &mut [Object], edges: Vec<EdgeRow>, links: Vec<LinkRow>) {
    let at: std::collections::HashMap<String, usize> = objects
        .iter()
        .enumerate()
        .map(|(i, o)| (o.id.to_string(), i))
        .collect();
    for edge in edges {
        if let (Some(parent), Some(&i)) = (ObjectId::parse(&edge.parent), at.get(&edge.child)) {
            objects[i].parents.push(parent);
        }
    }
    for link in links {
        if let (Some(to), Some(&i)) = (ObjectId::parse(&link.to), at.get(&link.from)) {
            objects[i].links.entry(link.relation).or_default().push(to);
        }
    }
}

impl Store {
    /// Writes one cycle's changes and its record in a single transaction. Each changed object's
    /// stored version must still be the version the cycle started from, or nothing is written.
    /// `resolved` is a suspended cycle's record, rewritten in the same transaction because this
    /// cycle resumed it.
    ///
    /// The statements are per kind of write, not per object (a restore or a large drop writes
    /// thousands of objects in one cycle, and SurrealDB plans every statement): the objects
    /// created are one `INSERT`, their edges one `INSERT RELATION` per table, the version
    /// checks, updates and deletes one loop or one set each.
    pub(crate) async fn commit(
        &self,
        writes: &[Write<'_>],
        record: &CycleRecord,
        resolved: Option<&CycleRecord>,
    ) -> Result<()> {
        let batch = Batch::new(
            writes,
            &self.paged,
            self.pages_them(writes).then_some(&*record.id),
        )?;
        let mut vars = Map::new();
        let mut sql = batch.statements(&mut vars);
        sql += "CREATE type::record('cycle', $cycle.cid) CONTENT $cycle RETURN NONE;\n";
        if let Some(resolved) = resolved {
            sql += "UPSERT type::record('cycle', $resolved.cid) CONTENT $resolved RETURN NONE;\n";
            vars.insert("resolved".into(), cycle_row(resolved)?);
        }
        sql += "COMMIT TRANSACTION;";
        vars.insert("cycle".into(), cycle_row(record)?);
        self.run(&sql, Value::Object(vars)).await?;
        self.committed(writes);
        Ok(())
    }

    /// Notes which objects `writes`, committed, left in pages or took out of them (a commit
    /// that reported an error and turned out to have landed is noted by its image).
    pub(crate) fn committed(&self, writes: &[Write<'_>]) {
        let paged = self.pages_them(writes);
        let created = writes.iter().filter_map(|w| match w {
            Write::Create(o) if paged => Some(o.id.as_str()),
            _ => None,
        });
        let left = writes.iter().filter_map(|w| match w {
            Write::Update { object, .. } => Some(object.id.as_str()),
            Write::Delete { id, .. } => Some(id.as_str()),
            Write::Create(_) => None,
        });
        self.paged.note(created, left);
    }

    /// Whether the objects `writes` create go in pages: many, into an embedded store.
    fn pages_them(&self, writes: &[Write<'_>]) -> bool {
        let creates = writes
            .iter()
            .filter(|w| matches!(w, Write::Create(_)))
            .count();
        self.pages_allowed() && creates >= pages::PAGE_FROM
    }

    /// Writes a restored image (every object, created) and its cycle records in one
    /// transaction, into a store that holds no object.
    pub(crate) async fn restore(&self, writes: &[Write<'_>], cycles: &[CycleRecord]) -> Result<()> {
        let batch = Batch::new(
            writes,
            &self.paged,
            self.pages_them(writes).then_some("restore"),
        )?;
        let mut vars = Map::new();
        let mut sql = batch.statements(&mut vars);
        if !cycles.is_empty() {
            let rows = cycles.iter().map(cycle_row).collect::<Result<Vec<_>>>()?;
            let rows = rows
                .into_iter()
                .map(|mut row| {
                    if let Value::Object(fields) = &mut row {
                        let cid = fields.get("cid").cloned().unwrap_or(Value::Null);
                        fields.insert("id".into(), cid);
                    }
                    row
                })
                .collect();
            vars.insert("cycles".into(), Value::Array(rows));
            sql += "INSERT INTO cycle $cycles RETURN NONE;\n";
        }
        sql += "COMMIT TRANSACTION;";
        self.run(&sql, Value::Object(vars)).await?;
        self.committed(writes);
        Ok(())
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

    /// Every cycle record as `snapshot` sees them, newest first.
    pub(crate) async fn cycles_in(&self, snapshot: super::Snapshot) -> Result<Vec<CycleRecord>> {
        let mut res = self
            .run_in(
                snapshot,
                "SELECT * OMIT id FROM cycle ORDER BY started DESC, cid DESC;",
                json!({}),
            )
            .await?;
        let rows: Vec<Value> = decode(res.pop().unwrap_or_default(), "cycles")?;
        rows.into_iter().map(cycle_from_row).collect()
    }

    /// The newest cycle record's id as `snapshot` sees it (a record's id is its cycle's, and
    /// cycle ids grow with time), leaving the snapshot open: the table's keys read from their
    /// end, not its records.
    pub(crate) async fn newest_cycle_in(
        &self,
        snapshot: &super::Snapshot,
    ) -> Result<Option<String>> {
        let mut res = self
            .run_in_open(
                snapshot,
                "SELECT VALUE record::id(id) FROM cycle ORDER BY id DESC LIMIT 1;",
                json!({}),
            )
            .await?;
        let ids: Vec<String> = decode(res.pop().unwrap_or_default(), "the newest cycle")?;
        Ok(ids.into_iter().next())
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

/// One commit's writes gathered by kind, each kind written by one statement.
#[derive(Default)]
struct Batch {
    /// `{oid, base}` of every object with a row updated or deleted: its stored version must be
    /// `base`.
    guards: Vec<Value>,
    /// The oid of every paged object updated or deleted: it must not have left its page.
    paged_guards: Vec<Value>,
    created: Vec<Value>,
    /// Pages of objects created (`{id, cycle, objects}`).
    pages: Vec<Value>,
    updated: Vec<Value>,
    /// Rows of paged objects updated: they leave their page.
    unpaged: Vec<Value>,
    deleted: Vec<Value>,
    /// `{id}` of every paged object updated or deleted: it leaves its page.
    left: Vec<Value>,
    /// Objects whose delegation edges are written again.
    reparented: Vec<Value>,
    /// `{oid, relation}`: a relation whose link edges are written again.
    unlinked: Vec<Value>,
    /// `{from, to, priority}`.
    delegates: Vec<Value>,
    /// `{from, to, relation, position}`.
    links: Vec<Value>,
}

impl Batch {
    /// `writes` gathered; the objects created go in pages made by `page_cycle` when it is
    /// given ([`Store::pages_them`]). `paged` says which objects are in pages now.
    fn new(writes: &[Write<'_>], paged: &Paged, page_cycle: Option<&str>) -> Result<Self> {
        let mut batch = Self::default();
        let mut to_page: Vec<&Object> = Vec::new();
        for write in writes {
            match write {
                Write::Create(object) if page_cycle.is_some() => to_page.push(object),
                Write::Update { object, .. } if paged.contains(&object.id) => {
                    batch
                        .paged_guards
                        .push(Value::String(object.id.to_string()));
                    batch.unpaged.push(row_with_id(object)?);
                    batch.left.push(json!({ "id": object.id.as_str() }));
                    // Its edges were in its page: all are written now.
                    batch.parents(object);
                    for relation in object.links.keys() {
                        batch.targets(object, relation, 0);
                    }
                }
                Write::Delete { id, .. } if paged.contains(id) => {
                    batch.paged_guards.push(Value::String(id.to_string()));
                    batch.deleted.push(Value::String(id.to_string()));
                    batch.left.push(json!({ "id": id.as_str() }));
                }
                _ => batch.add(write)?,
            }
        }
        if let Some(cycle) = page_cycle {
            batch.pages = pages::page_records(&to_page, cycle)?;
        }
        Ok(batch)
    }

    fn add(&mut self, write: &Write<'_>) -> Result<()> {
        match write {
            Write::Create(object) => {
                self.created.push(row_with_id(object)?);
                self.parents(object);
                for relation in object.links.keys() {
                    self.targets(object, relation, 0);
                }
            }
            Write::Update {
                object,
                base,
                reparented,
                relinked,
            } => {
                self.guards
                    .push(json!({ "oid": object.id.as_str(), "base": base }));
                self.updated.push(Row::from_object(object)?);
                if *reparented {
                    self.reparented.push(Value::String(object.id.to_string()));
                    self.parents(object);
                }
                for relink in relinked {
                    match relink {
                        Relink::Append { relation, from } => self.targets(object, relation, *from),
                        Relink::Rewrite { relation } => {
                            self.unlinked
                                .push(json!({ "oid": object.id.as_str(), "relation": relation }));
                            self.targets(object, relation, 0);
                        }
                    }
                }
            }
            Write::Delete { id, base } => {
                self.guards
                    .push(json!({ "oid": id.as_str(), "base": base }));
                self.deleted.push(Value::String(id.to_string()));
            }
        }
        Ok(())
    }

    fn parents(&mut self, object: &Object) {
        for (priority, p) in object.parents.iter().enumerate() {
            self.delegates.push(
                json!({ "from": object.id.as_str(), "to": p.as_str(), "priority": priority }),
            );
        }
    }

    /// `object`'s `relation` targets from the `from`-th on, each with its position.
    fn targets(&mut self, object: &Object, relation: &str, from: usize) {
        let Some(targets) = object.links.get(relation) else {
            return;
        };
        for (position, to) in targets.iter().enumerate().skip(from) {
            self.links.push(json!({
                "from": object.id.as_str(), "to": to.as_str(),
                "relation": relation, "position": position,
            }));
        }
    }

    /// The transaction's statements up to the cycle record, in an order that holds whatever
    /// the writes: checks first, deletes before creates (a name freed and taken again in one
    /// cycle), edges removed before edges added. A paged object deleted has no row to delete
    /// (its `DELETE` finds none) but may have edges pointing to it.
    fn statements(self, vars: &mut Map<String, Value>) -> String {
        let mut sql = String::from("BEGIN TRANSACTION;\n");
        let mut bind = |sql: &mut String, name: &str, rows: Vec<Value>, statement: &str| {
            if !rows.is_empty() {
                vars.insert(name.into(), Value::Array(rows));
                *sql += statement;
            }
        };
        bind(
            &mut sql,
            "guards",
            self.guards,
            &format!(
                "FOR $g IN $guards {{ \
                    IF (SELECT VALUE version FROM ONLY type::record('object', $g.oid)) != $g.base \
                    {{ THROW string::concat('{CONFLICT_MARK}', $g.oid) }}; }};\n"
            ),
        );
        bind(
            &mut sql,
            "paged_guards",
            self.paged_guards,
            &format!(
                "FOR $g IN $paged_guards {{ \
                    IF (SELECT VALUE id FROM ONLY type::record('left_page', $g)) != NONE \
                    {{ THROW string::concat('{CONFLICT_MARK}', $g) }}; }};\n"
            ),
        );
        bind(
            &mut sql,
            "deleted",
            self.deleted,
            "LET $gone = $deleted.map(|$d| type::record('object', $d));\n\
             DELETE delegates WHERE in IN $gone OR out IN $gone;\n\
             DELETE link WHERE in IN $gone OR out IN $gone;\n\
             DELETE $gone;\n",
        );
        bind(
            &mut sql,
            "left",
            self.left,
            "INSERT INTO left_page $left RETURN NONE;\n",
        );
        bind(
            &mut sql,
            "updated",
            self.updated,
            "FOR $o IN $updated { \
                UPDATE type::record('object', $o.oid) CONTENT $o RETURN NONE; };\n",
        );
        bind(
            &mut sql,
            "created",
            self.created,
            "INSERT INTO object $created RETURN NONE;\n",
        );
        bind(
            &mut sql,
            "unpaged",
            self.unpaged,
            "INSERT INTO object $unpaged RETURN NONE;\n",
        );
        bind(
            &mut sql,
            "pages",
            self.pages,
            "INSERT INTO page $pages RETURN NONE;\n",
        );
        bind(
            &mut sql,
            "reparented",
            self.reparented,
            "DELETE delegates WHERE in IN $reparented.map(|$d| type::record('object', $d));\n",
        );
        bind(
            &mut sql,
            "unlinked",
            self.unlinked,
            "FOR $u IN $unlinked { \
                DELETE link WHERE in = type::record('object', $u.oid) AND relation = $u.relation; };\n",
        );
        bind(
            &mut sql,
            "delegates",
            self.delegates,
            "INSERT RELATION INTO delegates $delegates.map(|$e| { \
                in: type::record('object', $e.from), out: type::record('object', $e.to), \
                priority: $e.priority }) RETURN NONE;\n",
        );
        bind(
            &mut sql,
            "links",
            self.links,
            "INSERT RELATION INTO link $links.map(|$e| { \
                in: type::record('object', $e.from), out: type::record('object', $e.to), \
                relation: $e.relation, position: $e.position }) RETURN NONE;\n",
        );
        sql
    }
}

/// `object`'s row with its record id.
fn row_with_id(object: &Object) -> Result<Value> {
    let mut row = Row::from_object(object)?;
    if let Value::Object(fields) = &mut row {
        fields.insert("id".into(), Value::String(object.id.to_string()));
    }
    Ok(row)
}

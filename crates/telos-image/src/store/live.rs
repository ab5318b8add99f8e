//! What the live view reads: every committed cycle record as it lands (a `LIVE SELECT` on the
//! `cycle` table), and a few objects with their edges.

use futures::{Stream, StreamExt};
use serde_json::json;
use surrealdb::types::Action;

use super::rows::cycle_from_row;
use super::{Conn, Store};
use crate::cycle::CycleRecord;
use crate::error::Result;
use crate::object::{Object, ObjectId};

impl Store {
    /// Every cycle record written from now on (created, or rewritten when a suspended cycle
    /// is resolved), by any process; pruned records are not reported.
    pub(crate) async fn live_cycles(
        &self,
    ) -> Result<impl Stream<Item = Result<CycleRecord>> + Send + 'static + use<>> {
        let response = match &self.conn {
            Conn::Local(db, _) => db.query("LIVE SELECT * FROM cycle").await,
            Conn::Remote(db) => db.query("LIVE SELECT * FROM cycle").await,
        };
        let mut response = response.map_err(|e| self.err(e))?;
        let stream = response
            .stream::<surrealdb::Notification<surrealdb::types::Value>>(0)
            .map_err(|e| self.err(e))?;
        let me = self.clone();
        Ok(stream.filter_map(move |n| {
            futures::future::ready(match n {
                Err(e) => Some(Err(me.err(e))),
                Ok(n) if n.action == Action::Delete => None,
                Ok(n) => Some(cycle_from_row(n.data.into_json_value())),
            })
        }))
    }

    /// The objects among `ids` that exist, with their parents and links; those still in a
    /// page are looked for in the pages `cycle` made.
    pub(crate) async fn load_some(&self, ids: &[ObjectId], cycle: &str) -> Result<Vec<Object>> {
        let wanted: std::collections::HashSet<&str> = ids.iter().map(ObjectId::as_str).collect();
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let results = self
            .run(
                "LET $records = $ids.map(|$i| type::record('object', $i));
                 LET $left = $ids.map(|$i| type::record('left_page', $i));
                 SELECT oid, name, slots, methods, version, created, updated FROM $records;
                 SELECT record::id(in) AS child, record::id(out) AS parent, priority
                    FROM delegates WHERE in IN $records ORDER BY priority;
                 SELECT record::id(in) AS from, record::id(out) AS to, relation, position
                    FROM link WHERE in IN $records ORDER BY position;
                 SELECT record::id(id) AS id, objects FROM page WHERE cycle = $cycle;
                 SELECT VALUE record::id(id) FROM $left;",
                json!({ "ids": ids, "cycle": cycle }),
            )
            .await?;
        Ok(self.objects_from(results, Some(&wanted))?.0)
    }
}

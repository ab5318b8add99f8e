//! The image's persistence: SurrealDB as a graph of `object` records joined by `delegates` edges
//! (and `link` edges), and `page` records holding the objects a commit created in bulk.
//!
//! Records keep slot values and methods as JSON *text*, so that every value the image is given
//! comes back byte-for-byte (SurrealDB's own value model would turn a `u64` above `i64::MAX`
//! into a float and reorder object keys).

mod endpoint;
mod live;
mod pages;
mod rows;
mod write;

use std::sync::Arc;

use serde_json::{Value, json};
use surrealdb::Surreal;
use surrealdb::engine::any::Any;
use surrealdb::engine::local::Db;
use surrealdb_core::kvs::Datastore;

use crate::error::{Error, Result};
use crate::object::ObjectId;

pub use endpoint::{DATABASE, Endpoint, StoreOptions};
pub(crate) use write::{Relink, Write};

const NAMESPACE: &str = "telos";
pub(super) const CONFLICT_MARK: &str = "telos-conflict:";

/// A read of the store begun at one moment ([`Store::snapshot`]), made by [`Store::run_in`].
pub(crate) enum Snapshot {
    Local(surrealdb::method::Transaction<Db>),
    Remote(surrealdb::method::Transaction<Any>),
}

impl Snapshot {
    /// Ends the read unmade (a cut dropped unread); nobody waits on it, so a failure is
    /// logged.
    pub(crate) async fn cancel(self) {
        let ended = match self {
            Snapshot::Local(tx) => tx.cancel().await.map(drop),
            Snapshot::Remote(tx) => tx.cancel().await.map(drop),
        };
        if let Err(e) = ended {
            tracing::warn!("ending an unread cut's store transaction: {e}");
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
    /// The database it uses (embedded stores: always [`DATABASE`]).
    database: Arc<str>,
    /// Which objects are in pages ([`pages`]).
    paged: pages::Paged,
}

/// Values this large or larger would go to SurrealKV's value log: larger than any object.
const VLOG_THRESHOLD: usize = 1 << 30;

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
                    // SurrealKV 0.21 never reclaims its value log: a value written there
                    // (anything over 4 KiB by default; an object holding a scrapbook is
                    // rewritten whole by every chat) stays on disk for good. Kept in the LSM
                    // tree instead, an old version goes at compaction. Values logged by
                    // earlier versions stay readable.
                    .with_key_value("surrealkv_vlog_threshold", VLOG_THRESHOLD.to_string())
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
                endpoint.check_credentials(options)?;
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
        let database = match endpoint {
            Endpoint::Remote { .. } => options.database.as_str(),
            _ => DATABASE,
        };
        let store = Self {
            conn,
            endpoint: name.into(),
            database: database.into(),
            paged: pages::Paged::default(),
        };
        // Databases made at once on one server (several Telos processes starting, the test
        // suite's images) can conflict on the server's catalog; SurrealDB says such a
        // transaction can be retried, so it is, a few times.
        let mut tries = 0;
        loop {
            match store.define().await {
                Err(Error::Store { source, .. })
                    if tries < 5
                        && source.query_details()
                            == Some(&surrealdb::types::QueryError::TransactionConflict) =>
                {
                    tries += 1;
                    tracing::debug!(
                        "opening the image conflicted with another open ({source}); again"
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(10 << tries)).await;
                }
                other => break other?,
            }
        }
        Ok(store)
    }

    /// Selects the database and defines the image's tables and indexes (if not there).
    async fn define(&self) -> Result<()> {
        self.use_ns().await?;
        // An object's record key is its oid, so the oid needs no index of its own (images made
        // before this kept one: it is removed, as it cost every write an index entry).
        self.run(
                "DEFINE TABLE IF NOT EXISTS object SCHEMALESS;
                 REMOVE INDEX IF EXISTS object_oid ON object;
                 DEFINE INDEX IF NOT EXISTS object_name ON object FIELDS name UNIQUE;
                 DEFINE TABLE IF NOT EXISTS delegates TYPE RELATION FROM object TO object SCHEMALESS;
                 DEFINE INDEX IF NOT EXISTS delegates_in ON delegates FIELDS in;
                 DEFINE TABLE IF NOT EXISTS link TYPE RELATION FROM object TO object SCHEMALESS;
                 DEFINE INDEX IF NOT EXISTS link_in ON link FIELDS in, relation;
                 DEFINE TABLE IF NOT EXISTS page SCHEMALESS;
                 DEFINE INDEX IF NOT EXISTS page_cycle ON page FIELDS cycle;
                 DEFINE TABLE IF NOT EXISTS left_page SCHEMALESS;
                 DEFINE TABLE IF NOT EXISTS cycle SCHEMALESS;
                 DEFINE INDEX IF NOT EXISTS cycle_started ON cycle FIELDS started;
",
                json!({}),
            )
            .await
            .map(drop)
    }

    /// Whether a bulk create may be paged: only an embedded store, whose one writer keeps
    /// names unique in memory ([`pages`]).
    fn pages_allowed(&self) -> bool {
        matches!(self.conn, Conn::Local(..))
    }

    async fn use_ns(&self) -> Result<()> {
        let res = match &self.conn {
            Conn::Local(db, _) => db.use_ns(NAMESPACE).use_db(&*self.database).await,
            Conn::Remote(db) => db.use_ns(NAMESPACE).use_db(&*self.database).await,
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
        self.values(response)
    }

    /// Begins a read of the store as it stands now, to be made later: SurrealDB's
    /// transactions see the snapshot they began at, whatever commits in between.
    pub(crate) async fn snapshot(&self) -> Result<Snapshot> {
        let begun = match &self.conn {
            Conn::Local(db, _) => db.clone().begin().await.map(Snapshot::Local),
            Conn::Remote(db) => db.clone().begin().await.map(Snapshot::Remote),
        };
        begun.map_err(|e| self.err(e))
    }

    /// Runs `sql` in `snapshot`, then ends it (it wrote nothing: cancelled).
    pub(crate) async fn run_in(
        &self,
        snapshot: Snapshot,
        sql: &str,
        vars: Value,
    ) -> Result<Vec<Value>> {
        let values = self.run_in_open(&snapshot, sql, vars).await;
        let ended = match snapshot {
            Snapshot::Local(tx) => tx.cancel().await.map(drop),
            Snapshot::Remote(tx) => tx.cancel().await.map(drop),
        };
        let values = values?;
        ended.map_err(|e| self.err(e))?;
        Ok(values)
    }

    /// Runs `sql` in `snapshot` and leaves it open for another ([`Store::run_in`] ends it).
    pub(crate) async fn run_in_open(
        &self,
        snapshot: &Snapshot,
        sql: &str,
        vars: Value,
    ) -> Result<Vec<Value>> {
        let response = match snapshot {
            Snapshot::Local(tx) => tx.query(sql.to_owned()).bind(vars).await,
            Snapshot::Remote(tx) => tx.query(sql.to_owned()).bind(vars).await,
        };
        self.values(response)
    }

    /// The statements' results of a query, or the error that explains its failure.
    fn values(
        &self,
        response: std::result::Result<surrealdb::IndexedResults, surrealdb::Error>,
    ) -> Result<Vec<Value>> {
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

    /// Flushes and closes the embedded engine; a no-op for a remote server.
    pub(crate) async fn shutdown(&self) -> Result<()> {
        if let Conn::Local(_, ds) = &self.conn {
            ds.shutdown()
                .await
                .map_err(|e| open_error(&self.endpoint, e))?;
        }
        Ok(())
    }

    /// How many objects are in pages, as far as this process has seen.
    pub(crate) fn paged_count(&self) -> usize {
        self.paged.len()
    }

    /// How many page records the store holds (a test seam).
    pub(crate) async fn page_records(&self) -> Result<usize> {
        let mut res = self
            .run("SELECT VALUE record::id(id) FROM page;", json!({}))
            .await?;
        let ids: Vec<String> = rows::decode(res.pop().unwrap_or_default(), "pages")?;
        Ok(ids.len())
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

//! Episodic memory: documents given to a persona are read, chunked by the embedder's tokens,
//! embedded locally (all-MiniLM-L6-v2 in candle) and kept in LanceDB for search. The image
//! is the record — a context-fractal object per document and per chunk, linked
//! persona → document → chunks — and LanceDB an index over it that [`Memory::reconcile`]
//! brings back in line after any crash (DESIGN invariant 1).
//!
//! ```no_run
//! # async fn demo(image: telos_image::Image) -> telos_memory::Result<()> {
//! use telos_memory::{Memory, MemoryConfig};
//!
//! let memory = Memory::open(image.clone(), MemoryConfig::new("/tmp/telos/memory")).await?;
//! let brick = image.resolve("BRICK")?.id.clone();
//! memory.ingest_file(&brick, "notes.md".as_ref(), &|p| println!("{p:?}")).await?;
//! for hit in memory.recall(Some(&brick), "what did the notes say?", 5).await? {
//!     println!("{:.3} {}#{}", hit.score, hit.source, hit.chunk_index);
//! }
//! # Ok(()) }
//! ```

mod bert;
pub mod chunk;
mod concept_names;
pub mod concept_store;
pub mod concepts;
pub mod embed;
mod error;
pub mod hub;
pub mod hyper;
pub mod index;
pub mod ingest;
mod kernels;
pub mod location;
pub mod ollama;
pub mod read;
pub mod reader;
mod recall;
pub mod recluster;
pub mod snapshot;
pub mod store;
pub mod symbols;
mod upkeep;

use std::path::PathBuf;
use std::sync::Arc;

use telos_image::Image;
use tokio::sync::OnceCell;

pub use chunk::{Chunk, Chunker};
pub use concept_names::{RecalledConcept, ToName};
pub use concepts::{Concept, ConceptChunk, ConceptDetail};
pub use embed::{DIM, Embedder, MiniLm};
pub use error::{Error, Result};
pub use index::{IndexKind, IndexState};
pub use ingest::{CHUNKS, FileReport, MEMORY, Outcome, Progress, SOURCE_BYTES, Stage};
pub use recall::{Health, Recalled};
pub use recluster::Rebuilt;
pub use symbols::{Answer, Symbol, SymbolHit};
pub use upkeep::Tidied;

/// Makes the embedder when memory first needs it (loading MiniLM takes a moment).
pub type EmbedderLoader = Arc<dyn Fn() -> Result<Arc<dyn Embedder>> + Send + Sync>;

/// How memory is set up.
#[derive(Clone)]
pub struct MemoryConfig {
    /// The LanceDB dir (`DATA_DIR/memory` in the product), or object storage
    /// (`s3://BUCKET/PATH`: `TELOS_MEMORY_URI`; see `location.rs`).
    pub dir: PathBuf,
    /// LanceDB's storage options for object storage (endpoint, region, credentials); the
    /// environment's `AWS_*` variables fill in what these do not say.
    pub storage_options: Vec<(String, String)>,
    /// Larger files are refused before they are read.
    pub max_document_bytes: u64,
    pub index_kind: IndexKind,
    /// Rows before the first IVF index is built.
    pub index_threshold: usize,
    pub embedder: EmbedderLoader,
    /// What makes the vectors, as `doctor` reports it.
    pub embedder_name: String,
    /// What background index builds run under (the app's supervisor, which stops them when
    /// Telos closes; a build cut short starts again at the next open).
    pub supervisor: telos_supervisor::Supervisor,
    /// Writes to the table between two tidy-ups (see upkeep.rs).
    pub tidy_every: usize,
    /// How long the table's old versions are kept before a tidy-up deletes their files.
    pub versions_keep: std::time::Duration,
    /// The dimension of symbols' hypervectors (`telos_vsa::DEFAULT_DIM`).
    pub vsa_dim: usize,
}

/// Writes between two tidy-ups of the table, by default.
pub const DEFAULT_TIDY_EVERY: usize = 64;
/// How long old versions of the table are kept, by default.
pub const DEFAULT_VERSIONS_KEEP: std::time::Duration = std::time::Duration::from_secs(3600);

impl MemoryConfig {
    /// Defaults: the local MiniLM from the user's cache dir, IVF_HNSW_SQ past 20,000 rows.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self::with_backend(dir, ollama::Backend::Local)
    }

    /// Defaults, embedding with `backend`.
    pub fn with_backend(dir: impl Into<PathBuf>, backend: ollama::Backend) -> Self {
        Self {
            dir: dir.into(),
            storage_options: Vec::new(),
            max_document_bytes: read::MAX_DOCUMENT_BYTES,
            index_kind: IndexKind::IvfHnswSq,
            index_threshold: index::DEFAULT_THRESHOLD,
            embedder_name: backend.describe(),
            embedder: Arc::new(move || backend.load()),
            supervisor: telos_supervisor::Supervisor::new(),
            tidy_every: DEFAULT_TIDY_EVERY,
            versions_keep: DEFAULT_VERSIONS_KEEP,
            vsa_dim: telos_vsa::DEFAULT_DIM,
        }
    }
}

/// Memory over one image. Cloning is shallow.
#[derive(Clone)]
pub struct Memory {
    inner: Arc<Inner>,
}

struct Inner {
    image: Image,
    store: store::Store,
    /// The cleanup memory: symbols' hypervectors.
    hyper: hyper::HyperStore,
    /// Concepts' centroids and meanings.
    concepts: concept_store::ConceptStore,
    vsa_dim: usize,
    loader: EmbedderLoader,
    embedder: OnceCell<Arc<dyn Embedder>>,
    embedder_name: String,
    chunker: OnceCell<Chunker>,
    max_document_bytes: u64,
    index: index::IndexPolicy,
    supervisor: telos_supervisor::Supervisor,
    /// Document commits take turns: each links into its persona. A tokio lock, because a
    /// turn spans the LanceDB write and the image commit.
    commit_turn: tokio::sync::Mutex<()>,
    upkeep: upkeep::Upkeep,
    /// Held for reading while a backup copies the tables' files, for writing while a tidy-up
    /// deletes some.
    files: Arc<tokio::sync::RwLock<()>>,
    /// The memory found damaged at open and rebuilt: what was wrong, where it went.
    rebuilt: Option<String>,
}

impl Memory {
    /// Opens the LanceDB table. Reconciling with the image is a separate step
    /// ([`Memory::reconcile`]) so the caller decides whether to wait for it.
    ///
    /// A table that cannot be opened or read (a file of it lost or damaged) is moved aside
    /// (`memory.damaged-TIME` beside it, nothing deleted) and an empty one takes its place:
    /// reconciling then rebuilds it from the chunks the image holds.
    pub async fn open(image: Image, config: MemoryConfig) -> Result<Self> {
        let (dir, options) = (&config.dir, config.storage_options.as_slice());
        let remote = location::is_object_store(dir);
        let (store, rebuilt) = match open_readable(dir, options).await {
            Ok(store) => (store, None),
            // Nothing is moved aside on object storage: the error says what is wrong.
            Err(damage) if remote => return Err(damage),
            Err(damage) => {
                let aside = dir.with_file_name(format!(
                    "{}.damaged-{}",
                    dir.file_name()
                        .map_or("memory".into(), |n| n.to_string_lossy()),
                    telos_image::now_ms()
                ));
                std::fs::rename(dir, &aside).map_err(|e| Error::read(dir, e))?;
                let why = format!(
                    "memory at {} could not be read ({damage}); it was moved to {} and is rebuilt from the image",
                    dir.display(),
                    aside.display()
                );
                tracing::warn!("{why}");
                (store::Store::open_with(dir, options).await?, Some(why))
            }
        };
        // The symbols' and concepts' tables are made again from the image too: one that
        // cannot be opened is set aside and started anew.
        let hyper = match hyper::HyperStore::open_with(dir, config.vsa_dim, options).await {
            Ok(h) => h,
            Err(e) if remote => return Err(e),
            Err(e) => {
                set_aside(dir, hyper::TABLE, &e)?;
                hyper::HyperStore::open_with(dir, config.vsa_dim, options).await?
            }
        };
        let concepts = match concept_store::ConceptStore::open_with(dir, options).await {
            Ok(c) => c,
            Err(e) if remote => return Err(e),
            Err(e) => {
                set_aside(dir, concept_store::TABLE, &e)?;
                concept_store::ConceptStore::open_with(dir, options).await?
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                image,
                store,
                hyper,
                concepts,
                vsa_dim: config.vsa_dim,
                loader: config.embedder,
                embedder_name: config.embedder_name,
                embedder: OnceCell::new(),
                chunker: OnceCell::new(),
                max_document_bytes: config.max_document_bytes,
                index: index::IndexPolicy::new(config.index_kind, config.index_threshold),
                supervisor: config.supervisor,
                commit_turn: tokio::sync::Mutex::new(()),
                upkeep: upkeep::Upkeep::new(config.tidy_every, config.versions_keep),
                files: Arc::default(),
                rebuilt,
            }),
        })
    }

    pub fn image(&self) -> &Image {
        &self.inner.image
    }

    pub fn store(&self) -> &store::Store {
        &self.inner.store
    }

    /// The embedder, loaded on first use (off the async threads).
    pub async fn embedder(&self) -> Result<Arc<dyn Embedder>> {
        let loader = Arc::clone(&self.inner.loader);
        self.inner
            .embedder
            .get_or_try_init(|| ingest::blocking(move || loader()))
            .await
            .cloned()
    }

    async fn chunker(&self) -> Result<Chunker> {
        let embedder = self.embedder().await?;
        self.inner
            .chunker
            .get_or_try_init(|| async { Chunker::new(embedder.tokenizer()) })
            .await
            .cloned()
    }

    /// Builds the IVF index now and waits for it (benchmarks and tests).
    pub async fn build_index(&self) -> Result<()> {
        self.inner.index.build_now(&self.inner.store).await
    }

    /// Whether a background index build runs.
    pub fn index_building(&self) -> bool {
        self.inner.index.building()
    }

    /// Returns once no background index build runs (a short-lived process waits for it, or
    /// the build dies with the process and starts over on the next open).
    pub async fn index_settled(&self) {
        self.inner.index.settled().await
    }

    /// How many documents `persona` remembers.
    pub fn document_count(&self, persona: &telos_image::ObjectId) -> usize {
        self.inner
            .image
            .get(persona)
            .map_or(0, |p| p.links.get(MEMORY).map_or(0, Vec::len))
    }
}

/// Moves the LanceDB table `table` under `dir` aside (`TABLE.lance.damaged-TIME`), after
/// `why` it could not be opened.
fn set_aside(dir: &std::path::Path, table: &str, why: &Error) -> Result<()> {
    let from = dir.join(format!("{table}.lance"));
    let to = dir.join(format!("{table}.lance.damaged-{}", telos_image::now_ms()));
    tracing::warn!(
        "the {table} table at {} could not be opened ({why}); it is moved to {} and made again from the image",
        from.display(),
        to.display()
    );
    std::fs::rename(&from, &to).map_err(|e| Error::read(&from, e))
}

/// Opens the table and reads every row's id (which touches each of its data files).
async fn open_readable(
    dir: &std::path::Path,
    options: &[(String, String)],
) -> Result<store::Store> {
    let store = store::Store::open_with(dir, options).await?;
    store.chunk_ids().await?;
    Ok(store)
}

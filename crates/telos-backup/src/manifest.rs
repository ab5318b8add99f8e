//! What one backup holds, as its manifest says.

use serde::{Deserialize, Serialize};

/// The manifest format this Telos writes and reads.
pub const FORMAT: u32 = 1;

/// A stored file's content: its SHA-256 (its name in `blobs/`) and size.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Blob {
    pub sha256: String,
    pub size: u64,
}

/// A file of the data dir, as it was at the backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the data dir, `/`-separated.
    pub path: String,
    #[serde(flatten)]
    pub blob: Blob,
    /// Modification time (ns since the epoch): an incremental re-hashes a file only when
    /// its size or time moved.
    pub mtime_ns: i128,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The image whole, every file hashed again.
    Full,
    /// The image's changes since the parent backup, files hashed again only when changed.
    Incremental,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Full => "full",
            Kind::Incremental => "incremental",
        })
    }
}

/// What the data dir held at the cut, for verify to compare a restore with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub objects: usize,
    pub cycles: usize,
    /// Chunks the image holds (each must have its row after a restore).
    pub chunks: usize,
}

/// A recall made at the backup, made again by verify on the restored copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Canary {
    /// The opening words of the chunk with the smallest id (what the canary is about; a
    /// backup made without `vector` recalls by them).
    pub query: String,
    /// The best chunk's document source and index in it.
    pub source: String,
    pub chunk_index: u32,
    /// That chunk's stored embedding, the recall's query: neither the backup nor its verify
    /// asks the embedding model (which a backup leaves out), and it costs a search alone.
    /// Absent from the backups of an older Telos, which embedded `query` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector: Option<Vec<f32>>,
}

/// One backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// A ULID: backups sort by it in time.
    pub id: String,
    pub kind: Kind,
    /// The backup an incremental follows.
    pub parent: Option<String>,
    /// Milliseconds since the epoch.
    pub created: i64,
    /// The newest cycle the backup includes: it is cut between that cycle and the next.
    pub cycle: Option<String>,
    /// The Telos that wrote it.
    pub telos: String,
    /// The image: a full dump, then the changes of each incremental since, in order.
    pub image: Vec<Blob>,
    /// Every object's version and every cycle record's hash at the cut: what the next
    /// incremental is the change from.
    pub state: Blob,
    /// The data dir's files (memory's tables, codex, amendments, notes).
    pub files: Vec<FileEntry>,
    /// The tag each memory table's version at the cut carries.
    pub memory_tag: String,
    pub memory_versions: Vec<(String, u64)>,
    pub counts: Counts,
    pub canary: Option<Canary>,
    /// Bytes this backup added to the destination (blobs no earlier backup had).
    pub stored_bytes: u64,
    /// Bytes of everything it refers to.
    pub total_bytes: u64,
    /// Seconds it took.
    pub seconds: f64,
}

impl Manifest {
    /// Every blob a restore of this backup reads, once each, with what it is.
    pub fn blobs(&self) -> Vec<(String, &Blob)> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        let image = self.image.iter().enumerate().map(|(i, b)| {
            let what = if i == 0 {
                "image dump".to_owned()
            } else {
                format!("image changes #{i}")
            };
            (what, b)
        });
        let files = self.files.iter().map(|f| (f.path.clone(), &f.blob));
        for (what, blob) in image
            .chain(std::iter::once(("image state".to_owned(), &self.state)))
            .chain(files)
        {
            if seen.insert(&blob.sha256) {
                out.push((what, blob));
            }
        }
        out
    }
}

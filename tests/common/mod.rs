//! Helpers shared by the cross-crate tests, the crash test's child and the benchmarks.

use std::path::Path;

pub mod bench;
pub mod hub_stub;
pub mod learn;
pub mod local_server;
pub mod moto;
pub mod ollama_stub;
pub mod surreal_server;

use serde_json::Value;
use telos_core::{Config, Telos};
use telos_image::{Image, Object};

/// Opens Telos on embedded SurrealKV in `dir`, as the product does — with the personas on
/// Ollama alone (`TELOS_LLM=ollama`), which no one runs here: these tests are of the desk,
/// not of the models (the embedded runtime's are in `tests/llm`). With
/// `TELOS_TEST_IMAGE=server` the image is on the test SurrealDB server instead.
pub async fn open_on_disk(dir: &Path) -> Telos {
    let mut config = Config::from_data_dir(dir);
    config.llm = telos_core::scheduler::Mode::Ollama;
    if surreal_server::images_on_server() {
        // The image on the shared server, in a database of its own per data dir (so a
        // reopened data dir finds its image again).
        let server = surreal_server::shared();
        let name = format!("d{:016x}", {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            dir.hash(&mut h);
            h.finish()
        });
        config.endpoint = Some(server.endpoint());
        config.store = server.options(&name);
    }
    Telos::open(config)
        .await
        .unwrap_or_else(|e| panic!("opening {}: {e}", dir.display()))
}

/// Makes a plain object `name` (a child of genesis) in one cycle: a receiver to forge for.
pub async fn new_object(image: &Image, name: &str) {
    telos_core::image::ops::apply(
        image,
        "test setup",
        &[telos_core::image::ops::Op::New {
            name: name.into(),
            parents: vec!["genesis".into()],
        }],
    )
    .await
    .unwrap_or_else(|e| panic!("making {name}: {e}"));
}

/// A fresh awakened in-memory image (on the test SurrealDB server, in a database of its own,
/// when `TELOS_TEST_IMAGE=server`).
pub async fn awake_in_memory() -> Image {
    let image = if surreal_server::images_on_server() {
        let server = surreal_server::shared();
        let options = server.options(&surreal_server::fresh_database());
        Image::open(&server.endpoint(), &options)
            .await
            .expect("an image on the test server")
    } else {
        Image::in_memory().await.expect("in-memory image")
    };
    telos_core::persona::awaken(&image)
        .await
        .expect("awakening");
    image
}

/// Every object of the image, serialised: two snapshots are equal only if the images are.
pub fn snapshot(image: &Image) -> Vec<String> {
    image
        .objects()
        .iter()
        .map(|o| serde_json::to_string(&**o).expect("objects serialise"))
        .collect()
}

/// A slot the object holds itself, or panics naming what is missing.
pub fn slot(object: &Object, name: &str) -> Value {
    object
        .slots
        .get(name)
        .cloned()
        .unwrap_or_else(|| panic!("{} has no slot '{name}'", object.name))
}

/// This package's dir (`tests/`). Cargo sets `CARGO_MANIFEST_DIR` when it runs a test or a
/// bench; the path compiled in is only the fallback, because a test binary cargo deems fresh
/// may have been built from another clone sharing the target dir.
pub fn package_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into())
}

/// A file under `tests/fixtures`.
pub fn fixture(relative: &str) -> std::path::PathBuf {
    package_dir().join("fixtures").join(relative)
}

/// Runs `f` on a thread whose user is `nobody`, so file permissions apply even when the tests
/// run as root (root reads a mode-000 file). Only that thread changes: the raw `setresuid`
/// system call sets one thread's credentials, unlike glibc's wrapper, which sets them all.
pub fn as_nobody<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(move || {
        // SAFETY: a plain system call with integer arguments; it only affects this thread.
        let rc = unsafe { libc::syscall(libc::SYS_setresuid, 65534, 65534, 65534) };
        // As a normal user setresuid fails, and nothing needs to change: permissions apply.
        assert!(
            rc == 0 || unsafe { libc::geteuid() } != 0,
            "could not become nobody: {}",
            std::io::Error::last_os_error()
        );
        f()
    })
    .join()
    .expect("the thread running as nobody panicked")
}

/// Document n of the memory crash test: a few paragraphs (several chunks) naming n.
pub fn crash_document(n: u64) -> String {
    let mut text = format!("# Logbook {n}\n\n");
    for p in 0..6 {
        text += &format!(
            "Entry {p} of logbook {n}: the keeper of lighthouse number {n} checked the lamp, \
             wound the clockwork, wrote down the wind and the swell, and noted that ship {n}-{p} \
             passed the headland before the tide turned. "
        );
        text += &"The weather held and the oil lasted through the night. ".repeat(8);
        text += "\n\n";
    }
    text
}

/// Writes logbooks `range` ([`crash_document`]) into `dir/docs` and drops them on BRICK,
/// waiting for the ingest; panics naming any file that failed.
pub async fn remember_logbooks(telos: &Telos, dir: &Path, range: std::ops::Range<u64>) {
    let docs = dir.join("docs");
    std::fs::create_dir_all(&docs).expect("a docs dir");
    let paths: Vec<std::path::PathBuf> = range
        .map(|n| {
            let p = docs.join(format!("logbook-{n}.md"));
            std::fs::write(&p, crash_document(n)).expect("write a logbook");
            p
        })
        .collect();
    let mut events = telos.ingest("BRICK", &paths).expect("ingest");
    let mut finished = None;
    while let Some(event) = events.recv().await {
        if let telos_core::IngestEvent::Finished(s) = event {
            finished = Some(s);
        }
    }
    let summary = finished.expect("the ingest finishes");
    assert!(summary.failed.is_empty(), "{summary:?}");
}

/// A tmpfs of `mb` MiB, unmounted when dropped.
pub struct SmallDisk {
    _dir: tempfile::TempDir,
    pub path: std::path::PathBuf,
}

impl SmallDisk {
    pub fn new(mb: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk");
        std::fs::create_dir(&path).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mb}m"), "tmpfs"])
            .arg(&path)
            .status()
            .unwrap();
        assert!(mounted.success(), "mounting a tmpfs (the test needs root)");
        Self { _dir: dir, path }
    }

    /// Fills what is left with a file; returns its path.
    pub fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let filler = self.path.join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 1 << 20];
        while f.write_all(&block).is_ok() {}
        // The last partial block too.
        while f.write_all(&block[..4096]).is_ok() {}
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazily: the store's background threads may still hold a file for a moment.
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
    }
}

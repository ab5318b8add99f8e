//! A FAKE Hugging Face hub on 127.0.0.1, for tests only: it serves one file as the hub does —
//! `HEAD` answers with the commit, the LFS SHA-256 and the size (`X-Repo-Commit`,
//! `X-Linked-Etag`, `X-Linked-Size`); `GET` honours ranges, and can break off partway (once),
//! stop sending partway without closing (once), or serve the file with a byte changed.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::any;
use futures::StreamExt;

/// The commit the stub says every file is at.
pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
/// The stub's one file, by its Telos name.
pub const FILE: &str = "hf:telos-test/tiny-GGUF/tiny.Q4_1.gguf";

/// What the stub serves and what it saw.
pub struct HubStub {
    pub url: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
    /// Range requests served.
    pub ranges: AtomicUsize,
    break_once: AtomicBool,
    stall_once: AtomicBool,
    altered: bool,
}

impl HubStub {
    /// Serves `file` as [`FILE`]; `altered`: with a byte changed (its SHA-256 is the
    /// original's); `break_once`: the first download breaks off after 20 MiB.
    pub fn serve(file: &Path, altered: bool, break_once: bool) -> Arc<Self> {
        let bytes = std::fs::read(file).expect("the file to serve");
        let sha256 = telos_core::llama::hub::sha256_file(file).expect("its checksum");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        listener.set_nonblocking(true).expect("non-blocking");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let stub = Arc::new(Self {
            url,
            bytes,
            sha256,
            ranges: AtomicUsize::new(0),
            break_once: AtomicBool::new(break_once),
            stall_once: AtomicBool::new(false),
            altered,
        });
        let state = Arc::clone(&stub);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("the stub's runtime");
            runtime.block_on(async move {
                let app = Router::new()
                    .route("/{owner}/{repo}/resolve/{rev}/{*file}", any(resolve))
                    .with_state(state);
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                axum::serve(listener, app).await.expect("the hub stub");
            });
        });
        stub
    }

    /// The next download sends 20 MiB, then nothing, the connection left open.
    pub fn stall_next(&self) {
        self.stall_once.store(true, Ordering::SeqCst);
    }
}

async fn resolve(
    State(hub): State<Arc<HubStub>>,
    UrlPath((owner, repo, _rev, file)): UrlPath<(String, String, String, String)>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    if (owner.as_str(), repo.as_str(), file.as_str())
        != ("telos-test", "tiny-GGUF", "tiny.Q4_1.gguf")
    {
        return Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Body::empty())
            .expect("a response");
    }
    let base = Response::builder()
        .header("x-repo-commit", COMMIT)
        .header("x-linked-etag", format!("\"{}\"", hub.sha256))
        .header("x-linked-size", hub.bytes.len().to_string());
    if method == Method::HEAD {
        return base.body(Body::empty()).expect("a response");
    }
    let from = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.trim_end_matches('-').parse::<usize>().ok());
    let mut body = hub.bytes.clone();
    if hub.altered {
        body[1000] ^= 0xff;
    }
    let (status, body) = match from {
        Some(n) => {
            hub.ranges.fetch_add(1, Ordering::SeqCst);
            (StatusCode::PARTIAL_CONTENT, body[n..].to_vec())
        }
        None => (StatusCode::OK, body),
    };
    let len = body.len();
    let chunks: Vec<std::io::Result<Vec<u8>>> =
        body.chunks(1 << 20).map(|c| Ok(c.to_vec())).collect();
    let stream = futures::stream::iter(chunks);
    let body = if hub.break_once.swap(false, Ordering::SeqCst) {
        Body::from_stream(stream.take(20).chain(futures::stream::once(async {
            Err(std::io::Error::other("the connection broke"))
        })))
    } else if hub.stall_once.swap(false, Ordering::SeqCst) {
        Body::from_stream(stream.take(20).chain(futures::stream::pending()))
    } else {
        Body::from_stream(stream)
    };
    base.status(status)
        .header(header::CONTENT_LENGTH, len.to_string())
        .body(body)
        .expect("a response")
}

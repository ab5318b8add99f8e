//! Where memory's tables live: a local dir (`DATA_DIR/memory`), or object storage
//! (`TELOS_MEMORY_URI=s3://BUCKET/PATH`) through LanceDB's object store, configured by its
//! storage options — the endpoint, region and credentials, from the environment's `AWS_*`
//! variables unless given.
//!
//! LanceDB on plain S3 allows one writer per table at a time: one Telos process writes a
//! memory URI (the data dir's lock holder); a second writer needs a commit store (DynamoDB)
//! LanceDB supports, which Telos does not set up.

use std::path::Path;

use lancedb::Connection;

use crate::error::{Error, Result};

/// Whether `dir` names object storage (`s3://…`) rather than a local directory.
pub fn is_object_store(dir: &Path) -> bool {
    dir.to_str().is_some_and(|s| s.contains("://"))
}

/// Checks a memory URI: `s3://BUCKET/PATH` (errors name what is wrong).
pub fn check_uri(uri: &str) -> std::result::Result<(), String> {
    let Some(rest) = uri.strip_prefix("s3://") else {
        return Err(format!("{uri:?} is not an s3://BUCKET/PATH URI"));
    };
    match rest.split_once('/') {
        Some((bucket, path)) if !bucket.is_empty() && !path.trim_matches('/').is_empty() => Ok(()),
        _ => Err(format!(
            "{uri:?} needs a bucket and a path in it (s3://BUCKET/PATH)"
        )),
    }
}

/// Connects LanceDB to `dir`, creating a local dir; object storage gets `options` as its
/// storage options.
pub(crate) async fn connect(dir: &Path, options: &[(String, String)]) -> Result<Connection> {
    let uri = dir.to_str().ok_or_else(|| Error::Unsupported {
        path: dir.to_owned(),
        detected: "a memory dir whose path is not UTF-8".into(),
    })?;
    let mut builder = lancedb::connect(uri);
    if is_object_store(dir) {
        builder = builder.storage_options(options.iter().cloned());
    } else {
        std::fs::create_dir_all(dir).map_err(|e| Error::read(dir, e))?;
    }
    builder
        .execute()
        .await
        .map_err(|e| crate::store::store_error(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_uris_name_a_bucket_and_a_path() {
        assert_eq!(check_uri("s3://telos/memory"), Ok(()));
        assert!(
            check_uri("s3://telos")
                .unwrap_err()
                .contains("bucket and a path")
        );
        assert!(
            check_uri("s3:///memory")
                .unwrap_err()
                .contains("bucket and a path")
        );
        assert!(check_uri("gs://b/p").unwrap_err().contains("not an s3://"));
        assert!(is_object_store(Path::new("s3://b/p")));
        assert!(!is_object_store(Path::new(
            "/home/me/.local/share/telos/memory"
        )));
    }
}

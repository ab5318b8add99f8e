//! The files a drop expands to: files as given, folders walked in name order (hidden entries
//! skipped), each folder once by its real path; a link back into a folder being walked is
//! refused as a folder loop, and what cannot be listed is refused by name.

use std::path::{Path, PathBuf};

use crate::{MAX_FILES, Refused};

/// Files to read: files as given (made absolute), folders walked in name order (hidden
/// entries skipped), each folder once. What cannot be listed, and a folder linked into
/// itself, is refused by name.
pub(crate) async fn expand(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Refused>) {
    let paths = paths.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut walk = Walk::default();
        for path in &paths {
            let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            walk.visit(&path, &mut Vec::new());
        }
        (walk.files, walk.refused)
    })
    .await
    .unwrap_or_else(|e| {
        let refused = Refused {
            path: String::new(),
            reason: format!("listing the files failed: {e}"),
        };
        (Vec::new(), vec![refused])
    })
}

/// One drop's walk over its paths.
#[derive(Default)]
struct Walk {
    files: Vec<PathBuf>,
    refused: Vec<Refused>,
    /// Folders walked, by real path: one given twice (or inside another given) is read once.
    folders: std::collections::HashSet<PathBuf>,
}

impl Walk {
    fn refuse(&mut self, path: &Path, reason: String) {
        self.refused.push(Refused {
            path: path.display().to_string(),
            reason,
        })
    }

    /// Walks `path`; `within` holds the real paths of the folders it is inside.
    fn visit(&mut self, path: &Path, within: &mut Vec<PathBuf>) {
        if self.files.len() >= MAX_FILES {
            return self.refuse(path, format!("more than {MAX_FILES} files in one drop"));
        }
        // The kernel stops file loops (ELOOP, reported when the file is read).
        let is_dir = std::fs::metadata(path).is_ok_and(|m| m.is_dir());
        if !is_dir {
            self.files.push(path.to_owned());
            return;
        }
        let real = match std::fs::canonicalize(path) {
            Ok(real) => real,
            Err(e) => return self.refuse(path, format!("cannot resolve the folder: {e}")),
        };
        if within.contains(&real) {
            return self.refuse(
                path,
                format!(
                    "a folder loop: this links back to {}, which is being read",
                    real.display()
                ),
            );
        }
        if !self.folders.insert(real.clone()) {
            return;
        }
        if within.len() >= 16 {
            return self.refuse(path, "folders nested deeper than 16 levels".into());
        }
        let dir = match std::fs::read_dir(path) {
            Ok(dir) => dir,
            Err(e) => return self.refuse(path, format!("cannot list the folder: {e}")),
        };
        let mut entries = Vec::new();
        for entry in dir {
            match entry {
                Ok(e) if !e.file_name().to_string_lossy().starts_with('.') => {
                    entries.push(e.path())
                }
                Ok(_) => {}
                Err(e) => self.refuse(path, format!("cannot list an entry of the folder: {e}")),
            }
        }
        entries.sort();
        within.push(real);
        for entry in entries {
            self.visit(&entry, within);
        }
        within.pop();
    }
}

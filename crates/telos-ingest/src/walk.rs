//! The files a drop expands to: files as given, folders walked in name order (hidden entries
//! skipped), each folder once by its real path. Inside a dropped folder a link may only lead
//! somewhere inside that folder (a downloaded folder must not hand over `~/.ssh`); a link
//! back into a folder being walked is refused as a folder loop; what cannot be listed is
//! refused by name; past [`MAX_FILES`] the walk stops with one refusal.

use std::path::{Path, PathBuf};

use crate::{MAX_FILES, Refused};

/// Files to read: files as given (made absolute), folders walked in name order (hidden
/// entries skipped), each folder once. What cannot be listed, a link out of its dropped
/// folder, and a folder linked into itself, are refused by name.
pub(crate) async fn expand(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Refused>) {
    let paths = paths.to_vec();
    tokio::task::spawn_blocking(move || walk(&paths))
        .await
        .unwrap_or_else(|e| {
            let refused = Refused::new("", format!("listing the files failed: {e}"));
            (Vec::new(), vec![refused])
        })
}

/// [`expand`]'s walk, on this thread.
pub(crate) fn walk(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Refused>) {
    let mut walk = Walk::default();
    for path in paths {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
        walk.visit(&path, &mut Vec::new());
    }
    (walk.files, walk.refused)
}

/// One drop's walk over its paths.
#[derive(Default)]
struct Walk {
    files: Vec<PathBuf>,
    refused: Vec<Refused>,
    /// Folders walked, by real path: one given twice (or inside another given) is read once.
    folders: std::collections::HashSet<PathBuf>,
    /// The walk reached [`MAX_FILES`] and stopped.
    full: bool,
}

impl Walk {
    fn refuse(&mut self, path: &Path, reason: String) {
        self.refused
            .push(Refused::new(path.display().to_string(), reason))
    }

    /// Walks `path`; `within` holds the real paths of the folders it is inside, the dropped
    /// folder first.
    fn visit(&mut self, path: &Path, within: &mut Vec<PathBuf>) {
        if self.full {
            return;
        }
        if self.files.len() >= MAX_FILES {
            self.full = true;
            return self.refuse(
                path,
                format!(
                    "the drop stops at {MAX_FILES} files: {} and everything after it in the \
                     walk were not read",
                    path.display()
                ),
            );
        }
        if let Some(dropped) = within.first()
            && std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink())
        {
            match std::fs::canonicalize(path) {
                Ok(target) if target.starts_with(dropped) => {}
                Ok(target) => {
                    return self.refuse(
                        path,
                        format!(
                            "{} is a link that leads outside the dropped folder, to {}: not \
                             read (a link in a dropped folder may only lead inside it)",
                            path.display(),
                            target.display()
                        ),
                    );
                }
                Err(e) => {
                    return self.refuse(
                        path,
                        format!("{} is a link that cannot be followed: {e}", path.display()),
                    );
                }
            }
        }
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
                Ok(e) if !e.file_name().as_encoded_bytes().starts_with(b".") => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn names(files: &[PathBuf], root: &Path) -> Vec<String> {
        files
            .iter()
            .map(|f| f.strip_prefix(root).unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn a_link_out_of_the_dropped_folder_is_refused_by_name_and_one_inside_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("home/.ssh");
        std::fs::create_dir_all(&secrets).unwrap();
        std::fs::write(secrets.join("id_ed25519"), "PRIVATE KEY").unwrap();
        let drop = dir.path().join("downloads/folder");
        std::fs::create_dir_all(drop.join("notes")).unwrap();
        std::fs::write(drop.join("notes/a.md"), "# A").unwrap();
        symlink(&secrets, drop.join("keys")).unwrap();
        symlink(secrets.join("id_ed25519"), drop.join("key.txt")).unwrap();
        symlink("notes/a.md", drop.join("also-a.md")).unwrap();
        symlink("../folder/notes", drop.join("notes-again")).unwrap();

        let (files, refused) = walk(std::slice::from_ref(&drop));
        assert_eq!(names(&files, &drop), ["also-a.md", "notes/a.md"]);
        let mut out: Vec<(&str, &str)> = refused
            .iter()
            .map(|r| (r.path.rsplit('/').next().unwrap(), r.reason.as_str()))
            .collect();
        out.sort();
        assert_eq!(out.len(), 2, "{refused:?}");
        for ((name, reason), expected) in out.iter().zip(["key.txt", "keys"]) {
            assert_eq!(*name, expected);
            assert!(
                reason.contains("leads outside the dropped folder"),
                "{reason}"
            );
            assert!(reason.contains(&*secrets.display().to_string()), "{reason}");
        }

        // What the user dropped is read wherever its link leads.
        let given = dir.path().join("given.txt");
        symlink(secrets.join("id_ed25519"), &given).unwrap();
        let (files, refused) = walk(std::slice::from_ref(&given));
        assert_eq!((files, refused.len()), (vec![given], 0));
    }

    #[test]
    fn past_the_file_cap_the_walk_stops_with_one_refusal() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..MAX_FILES + 25 {
            std::fs::File::create(dir.path().join(format!("f{i:05}"))).unwrap();
        }
        let (files, refused) = walk(&[dir.path().to_owned()]);
        assert_eq!(files.len(), MAX_FILES);
        assert_eq!(refused.len(), 1, "one refusal, not one per entry");
        assert!(
            refused[0]
                .reason
                .starts_with(&format!("the drop stops at {MAX_FILES} files"))
        );
        assert!(
            refused[0].path.ends_with(&format!("f{MAX_FILES:05}")),
            "{refused:?}"
        );
    }
}

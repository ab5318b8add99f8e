//! The data dir: where it is, and the lock that gives one process ownership of it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Name of the lock file inside the data dir.
pub const LOCK_FILE: &str = "telos.lock";

/// The data dir from, in order: an explicit path, `TELOS_DATA_DIR`, the platform data dir.
pub fn resolve(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_owned());
    }
    if let Some(p) = std::env::var_os("TELOS_DATA_DIR").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    dirs::data_dir()
        .map(|d| d.join("telos"))
        .ok_or(Error::NoDataDir)
}

/// Exclusive ownership of a data dir for as long as it lives (an OS file lock, so it is
/// released even when the process is killed).
#[derive(Debug)]
pub struct DataDirLock {
    path: PathBuf,
    _file: File,
}

impl DataDirLock {
    /// Creates the dir if needed and takes its lock; a second owner gets `InUse` with the
    /// first owner's pid.
    pub fn acquire(path: &Path) -> Result<Self> {
        if path.exists() && !path.is_dir() {
            return Err(Error::DataDirNotADirectory(path.to_owned()));
        }
        let unwritable = |source| Error::DataDirUnwritable {
            path: path.to_owned(),
            source,
        };
        std::fs::create_dir_all(path).map_err(unwritable)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path.join(LOCK_FILE))
            .map_err(unwritable)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                // The owner writes its pid right after locking; an empty read means it is
                // between the two, which is still "in use".
                file.read_to_string(&mut pid).map_err(unwritable)?;
                let pid = pid.trim();
                return Err(Error::InUse {
                    path: path.to_owned(),
                    pid: if pid.is_empty() {
                        "unknown".into()
                    } else {
                        pid.into()
                    },
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(unwritable(e)),
        }
        file.set_len(0).map_err(unwritable)?;
        file.seek(SeekFrom::Start(0)).map_err(unwritable)?;
        write!(file, "{}", std::process::id()).map_err(unwritable)?;
        file.sync_all().map_err(unwritable)?;
        Ok(Self {
            path: path.to_owned(),
            _file: file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_owner_is_told_the_first_owners_pid() {
        let dir = tempfile::tempdir().unwrap();
        let _first = DataDirLock::acquire(dir.path()).unwrap();
        let err = DataDirLock::acquire(dir.path()).unwrap_err();
        assert!(
            err.to_string()
                .ends_with(&format!("in use by pid {}", std::process::id())),
            "{err}"
        );
    }

    #[test]
    fn the_lock_is_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        drop(DataDirLock::acquire(dir.path()).unwrap());
        DataDirLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn a_file_is_not_a_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        let err = DataDirLock::acquire(&file).unwrap_err().to_string();
        assert!(err.contains(&file.display().to_string()) && err.contains("not a directory"));
        let below = file.join("sub");
        let err = DataDirLock::acquire(&below).unwrap_err().to_string();
        assert!(err.contains(&below.display().to_string()), "{err}");
    }
}

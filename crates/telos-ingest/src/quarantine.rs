//! The inbox's quarantine: files that killed their reader (a Flate bomb, nesting too deep, a
//! reader that overran its time) are listed in `inbox/.quarantine.json`, so a bad file left in
//! the inbox is not read again at every start. A listed file is read again once it changes
//! (another size or modification time: `touch` it to retry).

use std::path::Path;

use serde::{Deserialize, Serialize};
use telos_image::now_ms;

/// The quarantine list's file in the inbox folder (hidden: the watch ignores it).
pub const QUARANTINE: &str = ".quarantine.json";
/// Entries kept, newest last.
const KEEP: usize = 500;

/// A file that killed its reader, as it was then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quarantined {
    /// The path as shown.
    pub path: String,
    /// The path's bytes (a name need not be UTF-8).
    pub bytes: Vec<u8>,
    pub size: u64,
    /// Modification time, ms since the epoch.
    pub modified: u64,
    pub reason: String,
    /// When it was quarantined, ms since the epoch.
    pub at: i64,
}

/// Size and modification time: what a file must keep to stay quarantined.
fn stamp(path: &Path) -> Option<(u64, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_millis() as u64;
    Some((meta.len(), modified))
}

/// The list in inbox `dir` (empty when there is none or it cannot be read).
pub fn load(dir: &Path) -> Vec<Quarantined> {
    let path = dir.join(QUARANTINE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!("{} cannot be read ({e}): starting it anew", path.display());
            Vec::new()
        }),
        Err(_) => Vec::new(),
    }
}

/// The entry holding `file` as it is now, if it is quarantined.
pub fn holding<'a>(list: &'a [Quarantined], file: &Path) -> Option<&'a Quarantined> {
    let bytes = file.as_os_str().as_encoded_bytes();
    let now = stamp(file)?;
    list.iter()
        .find(|q| q.bytes == bytes && (q.size, q.modified) == now)
}

/// Adds `file` (as it is now) to the list in inbox `dir`, with why its reader died.
pub fn add(dir: &Path, file: &Path, reason: &str) -> std::io::Result<()> {
    let Some((size, modified)) = stamp(file) else {
        return Ok(()); // gone already: nothing to keep out
    };
    let bytes = file.as_os_str().as_encoded_bytes().to_vec();
    // One change at a time: personas' drops may finish together.
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let mut list = load(dir);
    list.retain(|q| q.bytes != bytes);
    list.push(Quarantined {
        path: file.display().to_string(),
        bytes,
        size,
        modified,
        reason: reason.to_owned(),
        at: now_ms(),
    });
    let excess = list.len().saturating_sub(KEEP);
    list.drain(..excess);
    let path = dir.join(QUARANTINE);
    let part = dir.join(format!("{QUARANTINE}.{}.part", std::process::id()));
    let text = serde_json::to_vec_pretty(&list).expect("the list serialises");
    std::fs::write(&part, text).and_then(|()| std::fs::rename(&part, &path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarantined_file_stays_out_until_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bomb.pdf");
        std::fs::write(&file, "%PDF-1.4 bad").unwrap();
        assert!(holding(&load(dir.path()), &file).is_none());
        add(dir.path(), &file, "its reader ran out of memory").unwrap();
        let list = load(dir.path());
        let q = holding(&list, &file).expect("quarantined");
        assert_eq!(q.reason, "its reader ran out of memory");
        // Changed (another size): read again.
        std::fs::write(&file, "%PDF-1.4 bad, edited").unwrap();
        assert!(holding(&load(dir.path()), &file).is_none());
    }
}

//! The golden dataset as a file trainers read as is: one JSON object per line,
//! `{"messages": [{"role": "system", …}, {"role": "user", …}, {"role": "assistant", …}]}` —
//! the conversational format of TRL, Axolotl (`type: chat_template`) and Unsloth. A dialogue
//! is a multi-turn row. Rows are deduplicated, and split deterministically (by each row's
//! SHA-256) into a train file and a held-out file written beside the whole.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::evaluation::Evaluation;
use crate::exchange::Message;
use crate::{Error, Result};

/// One row in tenths goes to the held-out file (at least one row, when there are two).
pub const HELD_OUT_TENTHS: u64 = 1;

/// One training example.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Row {
    pub messages: Vec<Message>,
}

impl Row {
    /// The row's content hash: what deduplicates and splits it.
    pub fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        for m in &self.messages {
            h.update(m.role.as_bytes());
            h.update([0]);
            h.update(m.content.trim().as_bytes());
            h.update([0]);
        }
        h.finalize().into()
    }

    /// The last user message: what a held-out row asks.
    pub fn prompt(&self) -> &str {
        self.messages
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map_or("", |m| m.content.as_str())
    }

    /// What a held-out row asks: its last user message, after the conversation before it (a
    /// dialogue's question and turns) when there is one.
    pub fn ask(&self) -> String {
        let context = self.context();
        if context.is_empty() {
            return self.prompt().to_string();
        }
        let earlier: Vec<String> = context
            .iter()
            .map(|m| {
                let who = if m.role == "assistant" { "You" } else { "They" };
                format!("{who}: {}", m.content.trim())
            })
            .collect();
        format!(
            "Earlier in this conversation:\n\n{}\n\nNow: {}",
            earlier.join("\n\n"),
            self.prompt()
        )
    }

    /// The conversation before the last user message (system prompt left out).
    pub fn context(&self) -> &[Message] {
        let last_user = self
            .messages
            .iter()
            .rposition(|m| m.role == "user")
            .unwrap_or(0);
        let start = usize::from(self.messages.first().is_some_and(|m| m.role == "system"));
        &self.messages[start.min(last_user)..last_user]
    }
}

/// The rows and their split.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Split {
    /// Every row, oldest first.
    pub all: Vec<Row>,
    pub train: Vec<Row>,
    pub held_out: Vec<Row>,
    /// Rows dropped as copies of another.
    pub duplicates: u32,
}

/// The golden evaluations as rows, oldest first, deduplicated, split.
pub fn split(golden: &[Evaluation]) -> Split {
    let mut ordered: Vec<&Evaluation> = golden.iter().collect();
    ordered.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
    let mut seen = std::collections::HashSet::new();
    let mut out = Split::default();
    let mut rows: Vec<(Row, [u8; 32])> = Vec::new();
    for e in ordered {
        let row = Row {
            messages: e
                .messages
                .iter()
                .map(|m| Message::new(&m.role, m.content.trim()))
                .collect(),
        };
        let digest = row.digest();
        if seen.insert(digest) {
            rows.push((row, digest));
        } else {
            out.duplicates += 1;
        }
    }
    let bucket = |d: &[u8; 32]| u64::from_be_bytes(d[..8].try_into().unwrap_or_default()) % 10;
    let mut held: Vec<bool> = rows
        .iter()
        .map(|(_, d)| bucket(d) < HELD_OUT_TENTHS)
        .collect();
    // At least one row each way once there are two: the lowest hash is held out, the highest
    // trains.
    if rows.len() >= 2 {
        if !held.contains(&true) {
            held[position_by(&rows, |a, b| a < b)] = true;
        }
        if !held.contains(&false) {
            held[position_by(&rows, |a, b| a > b)] = false;
        }
    }
    for ((row, _), h) in rows.into_iter().zip(held) {
        out.all.push(row.clone());
        if h {
            out.held_out.push(row);
        } else {
            out.train.push(row);
        }
    }
    out
}

fn position_by(rows: &[(Row, [u8; 32])], better: impl Fn(&[u8; 32], &[u8; 32]) -> bool) -> usize {
    let mut best = 0;
    for (i, (_, d)) in rows.iter().enumerate() {
        if better(d, &rows[best].1) {
            best = i;
        }
    }
    best
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Exported {
    pub persona: String,
    pub min_score: f64,
    /// Every row, then the train and held-out files beside it.
    pub path: String,
    pub train: String,
    pub held_out: String,
    pub rows: u32,
    pub train_rows: u32,
    pub held_out_rows: u32,
    pub duplicates: u32,
    pub ms: f64,
}

/// The train and held-out files beside `path`: `NAME.train.jsonl`, `NAME.heldout.jsonl`.
pub fn beside(path: &Path) -> (PathBuf, PathBuf) {
    let stem = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let stem = stem.strip_suffix(".jsonl").unwrap_or(&stem).to_string();
    (
        path.with_file_name(format!("{stem}.train.jsonl")),
        path.with_file_name(format!("{stem}.heldout.jsonl")),
    )
}

/// Writes `golden`'s rows to `path` and the split beside it. Each file is written whole
/// (to a temporary file renamed into place), so a failed export leaves nothing half-written.
pub fn export(persona: &str, golden: &[Evaluation], min: f64, path: &Path) -> Result<Exported> {
    let began = Instant::now();
    if golden.is_empty() {
        return Err(Error::NoGolden {
            persona: persona.to_string(),
            min,
        });
    }
    let split = split(golden);
    let (train_path, held_path) = beside(path);
    write_rows(path, split.all.iter())?;
    write_rows(&train_path, split.train.iter())?;
    write_rows(&held_path, split.held_out.iter())?;
    Ok(Exported {
        persona: persona.to_string(),
        min_score: min,
        path: path.display().to_string(),
        train: train_path.display().to_string(),
        held_out: held_path.display().to_string(),
        rows: split.all.len() as u32,
        train_rows: split.train.len() as u32,
        held_out_rows: split.held_out.len() as u32,
        duplicates: split.duplicates,
        ms: began.elapsed().as_secs_f64() * 1e3,
    })
}

/// Writes rows as JSONL to `path`, whole or not at all.
pub fn write_rows<'a>(path: &Path, rows: impl Iterator<Item = &'a Row>) -> Result<()> {
    let failed = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let name = path
        .file_name()
        .ok_or_else(|| failed(std::io::Error::other("it names no file")))?;
    let part = path.with_file_name(format!(".{}.part", name.to_string_lossy()));
    let file = std::fs::File::create(&part).map_err(failed)?;
    let mut out = std::io::BufWriter::new(file);
    let written = (|| -> std::io::Result<()> {
        for row in rows {
            serde_json::to_writer(&mut out, row)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        out.get_ref().sync_all()?;
        std::fs::rename(&part, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&part);
        return Err(failed(e));
    }
    Ok(())
}

/// Reads rows from a JSONL file; errors name the file and line.
pub fn read_rows(path: &Path) -> Result<Vec<Row>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| Error::Read {
                path: path.to_path_buf(),
                source: std::io::Error::other(format!("line {}: {e}", i + 1)),
            })
        })
        .collect()
}

//! Readers: what a file is (by its content first, its extension second) and its text.
//! Plain text, Markdown, HTML (turned into Markdown so headings survive), PDF (the text
//! layer, page by page) and source code. Anything else is refused by name and detected type.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Default largest document: bigger files are refused before they are read.
pub const MAX_DOCUMENT_BYTES: u64 = 64 * 1024 * 1024;

/// What a document is, as far as chunking cares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Format {
    Text,
    Markdown,
    Html,
    Pdf,
    Code { language: String },
}

impl Format {
    pub fn name(&self) -> &str {
        match self {
            Self::Text => "text",
            Self::Markdown => "markdown",
            Self::Html => "html",
            Self::Pdf => "pdf",
            Self::Code { language } => language,
        }
    }
}

/// A document's text, ready to chunk.
#[derive(Debug, Clone)]
pub struct Document {
    pub path: PathBuf,
    pub format: Format,
    /// SHA-256 of the file's bytes, hex: the same file dropped twice is the same document.
    pub hash: String,
    pub size: u64,
    /// The text; Markdown for HTML (headings kept), pages joined by form feeds for PDF.
    pub text: String,
    /// Byte offsets in `text` where each PDF page starts (empty for other formats).
    pub pages: Vec<usize>,
}

impl Document {
    /// The 1-based page holding byte `offset`, for PDFs.
    pub fn page_of(&self, offset: usize) -> Option<u32> {
        if self.pages.is_empty() {
            return None;
        }
        let n = self.pages.partition_point(|&start| start <= offset);
        Some(n.max(1) as u32)
    }
}

/// Reads and recognises one file in this process, refusing what cannot be remembered with an
/// error naming it. For trusted input and tests: the app parses documents in a reader
/// process ([`crate::reader::read`]).
pub fn read(path: &Path, limit: u64) -> Result<Document> {
    parse(path, read_bytes(path, limit)?)
}

/// A file's bytes, at most `limit` of them. The file is opened first and what was opened is
/// checked (a file swapped for a pipe or a device after the walk saw it is refused, not waited
/// on: the open does not block).
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| Error::read(path, e))?;
    let meta = file.metadata().map_err(|e| Error::read(path, e))?;
    if meta.is_dir() {
        return Err(unsupported(path, "a directory"));
    }
    if !meta.is_file() {
        return Err(unsupported(path, "a special file (device, socket or pipe)"));
    }
    if meta.len() > limit {
        return Err(Error::TooLarge {
            path: path.to_owned(),
            size: meta.len(),
            limit,
        });
    }
    // Bounded even if the file grows while it is read.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::read(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::TooLarge {
            path: path.to_owned(),
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

/// Recognises and extracts a document from its bytes; `path` names it and hints its type.
pub fn parse(path: &Path, bytes: Vec<u8>) -> Result<Document> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::Empty {
            path: path.to_owned(),
        });
    }
    let hash = hex(&Sha256::digest(&bytes));
    let size = bytes.len() as u64;
    let doc = |format, text, pages| Document {
        path: path.to_owned(),
        format,
        hash: hash.clone(),
        size,
        text,
        pages,
    };
    if bytes.starts_with(b"%PDF-") {
        let (text, pages) = pdf_text(path, &bytes)?;
        return Ok(doc(Format::Pdf, text, pages));
    }
    let head = &bytes[..bytes.len().min(8192)];
    // A signature of two or three letters (BMP's `BM`, an EXE's `MZ`, MP3's `ID3`, Flash's
    // `FWS`) also begins plain prose ("BMW…", "FWS is folding white space…"): a head that
    // reads as text is text, unless its signature is itself text (RTF, PostScript).
    if let Some(kind) = infer::get(&bytes)
        && kind.matcher_type() != infer::MatcherType::Text
        && (TEXT_SIGNED.contains(&kind.mime_type()) || !reads_as_text(head))
    {
        return Err(unsupported(path, kind.mime_type()));
    }
    if head.contains(&0) {
        return Err(unsupported(path, "binary data"));
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            return Err(Error::InvalidUtf8 {
                path: path.to_owned(),
                offset: e.utf8_error().valid_up_to() as u64,
            });
        }
    };
    let text = text
        .strip_prefix('\u{feff}')
        .map(str::to_owned)
        .unwrap_or(text);
    let format = text_format(path, &text);
    let text = match format {
        Format::Html => htmd::HtmlToMarkdown::builder()
            .skip_tags(vec!["script", "style", "noscript", "template", "head"])
            .build()
            .convert(&text)
            .map_err(|e| Error::Unsupported {
                path: path.to_owned(),
                detected: format!("HTML that cannot be converted: {e}"),
            })?,
        _ => text,
    };
    if text.trim().is_empty() {
        return Err(Error::NoText {
            path: path.to_owned(),
        });
    }
    Ok(doc(format, text, Vec::new()))
}

/// Formats `infer` knows by a signature of plain text: markup Telos does not read.
const TEXT_SIGNED: [&str; 2] = ["application/rtf", "application/postscript"];

/// Whether the first bytes of a file are UTF-8 text (a character cut at the end of `head`
/// aside) without control characters other than tab, line feed, form feed and return.
fn reads_as_text(head: &[u8]) -> bool {
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).expect("valid up to there")
        }
        Err(_) => return false,
    };
    !text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'))
}

/// Which text format: HTML by content or extension, then Markdown and code by extension,
/// then code by its `#!` line (a script without an extension).
fn text_format(path: &Path, text: &str) -> Format {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let start = text
        .trim_start()
        .get(..15)
        .unwrap_or("")
        .to_ascii_lowercase();
    if matches!(ext.as_str(), "html" | "htm" | "xhtml")
        || start.starts_with("<!doctype html")
        || start.starts_with("<html")
    {
        return Format::Html;
    }
    if matches!(ext.as_str(), "md" | "markdown" | "mdown" | "mkd") {
        return Format::Markdown;
    }
    match code_language(&ext).or_else(|| script_language(text)) {
        Some(language) => Format::Code {
            language: language.to_owned(),
        },
        None => Format::Text,
    }
}

/// The language a `#!` line names: `#!/bin/sh`, `#!/usr/bin/env python3 -u`, ….
fn script_language(text: &str) -> Option<&'static str> {
    let line = text.strip_prefix("#!")?.lines().next()?;
    let mut words = line.split_whitespace();
    let mut program = words.next()?.rsplit('/').next()?;
    if program == "env" {
        program = words.find(|w| !w.starts_with('-'))?;
    }
    let name = program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    Some(match name {
        "python" => "python",
        "sh" | "bash" | "dash" | "zsh" | "ksh" => "shell",
        "node" | "deno" | "bun" => "javascript",
        "ruby" => "ruby",
        "perl" => "perl",
        _ => return None,
    })
}

fn code_language(ext: &str) -> Option<&'static str> {
    Some(match ext {
        "rs" => "rust",
        "py" => "python",
        "js" | "mjs" | "cjs" => "javascript",
        "ts" | "tsx" => "typescript",
        "c" | "h" => "c",
        "cc" | "cpp" | "cxx" | "hpp" => "cpp",
        "go" => "go",
        "java" => "java",
        "rb" => "ruby",
        "sh" | "bash" => "shell",
        "toml" => "toml",
        "yaml" | "yml" => "yaml",
        "json" => "json",
        "sql" => "sql",
        "css" => "css",
        _ => return None,
    })
}

/// The PDF's text layer, page by page. PDFs with an empty user password (an owner password
/// only restricts printing and the like) are read; others are refused as encrypted.
fn pdf_text(path: &Path, bytes: &[u8]) -> Result<(String, Vec<usize>)> {
    let bad = |reason: String| Error::BadPdf {
        path: path.to_owned(),
        reason,
    };
    // The extractor panics on some malformed files; a panic is this file's error, not ours.
    let extracted = std::panic::catch_unwind(|| -> Result<(String, Vec<usize>)> {
        let encrypted = || Error::EncryptedPdf {
            path: path.to_owned(),
        };
        let has_encrypt = || bytes.windows(8).any(|w| w == b"/Encrypt");
        let doc = match pdf_extract::Document::load_mem(bytes) {
            Ok(doc) => doc,
            Err(_) if has_encrypt() => return Err(encrypted()),
            Err(e) => return Err(bad(e.to_string())),
        };
        // lopdf decrypts on load when the empty user password opens the file; otherwise
        // the document stays locked and only its trailer says so.
        if doc.trailer.get(b"Encrypt").is_ok() && !doc.was_encrypted() {
            return Err(encrypted());
        }
        let mut text = String::new();
        let mut pages = Vec::new();
        for number in doc.get_pages().into_keys() {
            pages.push(text.len());
            let mut page = String::new();
            pdf_extract::output_doc_page(
                &doc,
                &mut pdf_extract::PlainTextOutput::new(&mut page),
                number,
            )
            .map_err(|e| bad(format!("page {number}: {e}")))?;
            text.push_str(page.trim_end());
            text.push_str("\n\n\u{c}");
        }
        Ok((text, pages))
    });
    let (text, pages) = extracted.map_err(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("the extractor gave up");
        bad(why.to_owned())
    })??;
    if text
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{c}')
        .is_empty()
    {
        return Err(Error::NoText {
            path: path.to_owned(),
        });
    }
    Ok((text, pages))
}

fn unsupported(path: &Path, detected: &str) -> Error {
    Error::Unsupported {
        path: path.to_owned(),
        detected: detected.to_owned(),
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_as(name: &str, bytes: &[u8]) -> Result<Document> {
        parse(Path::new(name), bytes.to_vec())
    }

    #[test]
    fn formats_come_from_content_before_extension() {
        let html = parse_as(
            "page.txt",
            b"<!DOCTYPE html><html><body><h1>Title</h1><p>Body text.</p></body></html>",
        )
        .unwrap();
        assert_eq!(html.format, Format::Html);
        assert!(html.text.contains("# Title"), "{}", html.text);
        assert_eq!(
            parse_as("notes.md", b"# A\n\ntext").unwrap().format,
            Format::Markdown
        );
        assert_eq!(
            parse_as("main.rs", b"fn main() {}\n").unwrap().format,
            Format::Code {
                language: "rust".into()
            }
        );
        assert_eq!(
            parse_as("README", b"plain words").unwrap().format,
            Format::Text
        );
        let script = |bytes: &[u8]| parse_as("deploy", bytes).unwrap().format;
        assert_eq!(
            script(b"#!/usr/bin/env python3 -u\nprint('hi')\n"),
            Format::Code {
                language: "python".into()
            }
        );
        assert_eq!(
            script(b"#!/bin/bash\necho hi\n"),
            Format::Code {
                language: "shell".into()
            }
        );
        assert_eq!(script(b"#!/usr/bin/frobnicate\nhi\n"), Format::Text);
    }

    #[test]
    fn prose_that_begins_like_a_binary_signature_is_text() {
        for prose in [
            "BMW builds cars in Munich.",
            "MZ is a motorcycle maker.",
            "ID3 tags name a song.",
            "FWS is folding white space (RFC 5322).\n\tIt may fold a header.",
            "CWS: café wine shop, ünicode and all",
        ] {
            let doc = parse_as("note.txt", prose.as_bytes()).unwrap();
            assert_eq!(doc.text, prose);
            assert_eq!(doc.format, Format::Text);
        }
    }

    #[test]
    fn bad_input_is_named_with_what_it_is() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";
        let err = parse_as("photo.txt", png).unwrap_err().to_string();
        assert_eq!(err, "unsupported: photo.txt (detected image/png)");
        // a real Flash header: its version and length bytes are not text
        let err = parse_as("movie.txt", b"FWS\x0a\x4c\x10\0\0x\0\x05")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "unsupported: movie.txt (detected application/x-shockwave-flash)"
        );
        let err = parse_as("letter.txt", b"{\\rtf1\\ansi Hello}")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "unsupported: letter.txt (detected application/rtf)");
        let err = parse_as("blob.txt", b"abc\0\x01\x02def")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "unsupported: blob.txt (detected binary data)");
        let err = parse_as("latin1.txt", b"caf\xe9 au lait")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "latin1.txt is not valid UTF-8 (first bad byte at offset 3)"
        );
        assert_eq!(
            parse_as("empty.txt", b" \n\t").unwrap_err().to_string(),
            "empty.txt is empty"
        );
    }

    #[test]
    fn a_pipe_or_a_folder_is_refused_at_once_not_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("notes.txt");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Nobody writes to the pipe: a blocking open would wait forever.
        let (tx, rx) = std::sync::mpsc::channel();
        let at = fifo.clone();
        std::thread::spawn(move || tx.send(read_bytes(&at, 1024).unwrap_err().to_string()));
        let err = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("reading a pipe returned");
        assert!(err.contains("a special file"), "{err}");
        assert!(err.contains("notes.txt"), "{err}");
        let err = read_bytes(dir.path(), 1024).unwrap_err().to_string();
        assert!(err.contains("a directory"), "{err}");
    }

    #[test]
    fn the_same_bytes_hash_alike_and_different_bytes_do_not() {
        let a = parse_as("a.txt", b"same").unwrap();
        let b = parse_as("b.txt", b"same").unwrap();
        let c = parse_as("a.txt", b"changed").unwrap();
        assert_eq!(a.hash, b.hash);
        assert_ne!(a.hash, c.hash);
        assert_eq!(a.hash.len(), 64);
    }

    #[test]
    fn pages_are_found_by_offset() {
        let mut d = parse_as("a.txt", b"x").unwrap();
        assert_eq!(d.page_of(0), None);
        d.pages = vec![0, 100, 250];
        assert_eq!(d.page_of(0), Some(1));
        assert_eq!(d.page_of(99), Some(1));
        assert_eq!(d.page_of(100), Some(2));
        assert_eq!(d.page_of(1000), Some(3));
    }
}

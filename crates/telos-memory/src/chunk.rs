//! Chunking by the embedder's own tokens, with overlap. Markdown (and HTML, which arrives as
//! Markdown) is split along its headings and paragraphs first; text and code along blank
//! lines, then lines, then sentences. `text-splitter` does the splitting, sized by the
//! MiniLM tokenizer so no chunk is cut short by the model's 256-token window.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use text_splitter::{ChunkConfig, MarkdownSplitter, TextSplitter};
use tokenizers::Tokenizer;

use crate::error::{Error, Result};
use crate::read::{Document, Format};

/// Largest chunk in word pieces: the model's 256-token window less [CLS] and [SEP].
pub const MAX_TOKENS: usize = 254;
/// Word pieces shared by neighbouring chunks, so a sentence cut by a boundary is whole in one.
pub const OVERLAP_TOKENS: usize = 32;

/// One chunk of a document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    /// 0-based position among the document's chunks.
    pub index: u32,
    /// Byte offset of the chunk's text in the document's text.
    pub offset: u64,
    /// The 1-based PDF page it starts on.
    pub page: Option<u32>,
    pub text: String,
}

/// Splits documents into chunks sized by a tokenizer. Cloning is shallow.
#[derive(Clone)]
pub struct Chunker {
    tokenizer: Arc<Tokenizer>,
    max_tokens: usize,
    overlap: usize,
}

impl Chunker {
    /// A chunker counting with `tokenizer` (its truncation and padding are turned off here,
    /// so a size is the whole text's).
    pub fn new(tokenizer: &Tokenizer) -> Result<Self> {
        Self::with_sizes(tokenizer, MAX_TOKENS, OVERLAP_TOKENS)
    }

    pub fn with_sizes(tokenizer: &Tokenizer, max_tokens: usize, overlap: usize) -> Result<Self> {
        let mut t = tokenizer.clone();
        t.with_truncation(None)
            .map_err(|e| Error::Embed(format!("tokenizer: {e}")))?;
        t.with_padding(None);
        if overlap >= max_tokens {
            return Err(Error::Embed(format!(
                "chunk overlap {overlap} must be below the chunk size {max_tokens}"
            )));
        }
        Ok(Self {
            tokenizer: Arc::new(t),
            max_tokens,
            overlap,
        })
    }

    /// The document's chunks in order.
    pub fn chunk(&self, doc: &Document) -> Vec<Chunk> {
        let config = ChunkConfig::new(self.max_tokens)
            .with_sizer(Arc::clone(&self.tokenizer))
            .with_overlap(self.overlap)
            .expect("overlap is checked below the size when the chunker is made");
        let pieces: Vec<(usize, &str)> = match doc.format {
            Format::Markdown | Format::Html => MarkdownSplitter::new(config)
                .chunk_indices(&doc.text)
                .collect(),
            _ => TextSplitter::new(config).chunk_indices(&doc.text).collect(),
        };
        pieces
            .into_iter()
            .filter(|(_, text)| !text.trim().is_empty())
            .enumerate()
            .map(|(index, (offset, text))| Chunk {
                index: index as u32,
                offset: offset as u64,
                page: doc.page_of(offset),
                text: text.trim_matches('\u{c}').to_owned(),
            })
            .collect()
    }

    /// Word pieces in `text` (no special tokens).
    pub fn tokens(&self, text: &str) -> usize {
        self.tokenizer
            .encode_fast(text, false)
            .map(|e| e.len())
            .unwrap_or(usize::MAX)
    }
}

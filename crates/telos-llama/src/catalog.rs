//! The models folder: which GGUF files there are, what each is called, and what each takes in
//! memory once loaded — read from the file's own metadata, never by loading its weights.
//!
//! Names: `gguf:NAME` is `DIR/NAME.gguf`; `hf:OWNER/REPO/FILE.gguf` is the hub file fetched
//! into `DIR/hf/OWNER/REPO/FILE.gguf` (see [`crate::hub`]). A model's footprint is its weights
//! (the file's size) plus its KV cache at the configured context: `layers × context × (K + V
//! widths) × 2 bytes` (f16), the widths from the attention heads the file declares.

use std::path::{Path, PathBuf};

use llama_cpp_2::gguf::GgufContext;
use telos_scheduler::{Bytes, Error, Result};

pub use telos_scheduler::runtimes::{GGUF, HF};

/// What a GGUF file's metadata says, and what it will take loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub name: String,
    pub path: PathBuf,
    pub file_bytes: u64,
    /// Weights plus the KV cache at the context it is run with.
    pub footprint: Bytes,
    /// `general.architecture` (llama, qwen2, phi3, …).
    pub architecture: String,
    /// The context it is run with: the configured one, at most what it was trained on.
    pub context: u32,
    pub layers: u32,
    /// `tokenizer.chat_template` is present: without one it cannot chat.
    pub chat_template: bool,
}

/// The file that holds `model` under `dir` (it may not exist). `None` for a name that is not
/// an embedded model's or that tries to leave the folder.
pub fn path_of(dir: &Path, model: &str) -> Option<PathBuf> {
    if let Some(name) = model.strip_prefix(GGUF) {
        let name = name.strip_suffix(".gguf").unwrap_or(name);
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return None;
        }
        return Some(dir.join(format!("{name}.gguf")));
    }
    let spec = crate::hub::HubFile::parse(model).ok()?;
    Some(spec.path_in(dir))
}

/// Reads `path`'s metadata: what [`ModelInfo`] holds, or why the file cannot be used.
pub fn inspect(name: &str, path: &Path, context: u32) -> Result<ModelInfo> {
    let bad = |reason: String| Error::BadModel {
        model: name.to_string(),
        path: path.to_path_buf(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
    crate::runtime::backend(); // llama.cpp's logs go to tracing before it reads anything
    let gguf = GgufContext::from_file(path).ok_or_else(|| {
        bad("it is not a readable GGUF file (truncated or corrupt?): llama.cpp could not parse its header".into())
    })?;
    let text = |key: &str| -> Option<String> {
        let at = gguf.find_key(key);
        (at >= 0 && gguf.kv_type(at) == llama_cpp_sys_2::GGUF_TYPE_STRING)
            .then(|| gguf.val_str(at).map(str::to_string))
            .flatten()
    };
    let number = |key: &str| -> Option<u64> {
        let at = gguf.find_key(key);
        if at < 0 {
            return None;
        }
        match gguf.kv_type(at) {
            llama_cpp_sys_2::GGUF_TYPE_UINT32 => Some(u64::from(gguf.val_u32(at))),
            llama_cpp_sys_2::GGUF_TYPE_INT32 => u64::try_from(gguf.val_i32(at)).ok(),
            llama_cpp_sys_2::GGUF_TYPE_UINT64 => Some(gguf.val_u64(at)),
            _ => None,
        }
    };
    let architecture =
        text("general.architecture").ok_or_else(|| bad("it names no architecture".into()))?;
    let key = |k: &str| format!("{architecture}.{k}");
    let need =
        |k: &str| number(&key(k)).ok_or_else(|| bad(format!("its metadata lacks {}", key(k))));
    let layers = need("block_count")?;
    let width = need("embedding_length")?;
    let heads = need("attention.head_count")?.max(1);
    let kv_heads = number(&key("attention.head_count_kv")).unwrap_or(heads);
    let k_len = number(&key("attention.key_length")).unwrap_or(width / heads);
    let v_len = number(&key("attention.value_length")).unwrap_or(width / heads);
    let trained = number(&key("context_length")).unwrap_or(u64::from(context));
    let context = u64::from(context).min(trained).max(1);
    let kv = layers * context * (k_len + v_len) * kv_heads * 2;
    Ok(ModelInfo {
        name: name.to_string(),
        path: path.to_path_buf(),
        file_bytes: meta.len(),
        footprint: Bytes(meta.len() + kv),
        architecture,
        context: context as u32,
        layers: layers as u32,
        chat_template: text("tokenizer.chat_template").is_some(),
    })
}

/// Every embedded model in `dir`: `gguf:NAME` for the files at its top, `hf:…` for those
/// fetched from the hub. A file that cannot be read is listed with the reason.
pub fn scan(dir: &Path, context: u32) -> Vec<std::result::Result<ModelInfo, (String, Error)>> {
    let mut out = Vec::new();
    let mut look = |name: String, path: PathBuf| {
        out.push(inspect(&name, &path, context).map_err(|e| (name, e)));
    };
    for path in gguf_files(dir) {
        if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
            look(format!("{GGUF}{stem}"), path.clone());
        }
    }
    for file in crate::hub::fetched(dir) {
        look(file.name(), file.path_in(dir));
    }
    out.sort_by(|a, b| name_of(a).cmp(name_of(b)));
    out
}

fn name_of(r: &std::result::Result<ModelInfo, (String, Error)>) -> &str {
    match r {
        Ok(info) => &info.name,
        Err((name, _)) => name,
    }
}

/// The `*.gguf` files directly in `dir`, by name.
fn gguf_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "gguf"))
        .collect();
    out.sort();
    out
}

/// `messages` (role, content) rendered by `path`'s own chat template as llama.cpp renders
/// them for a reply (the assistant's turn opened): what the model is prompted with. Reads the
/// vocabulary only, not the weights.
pub fn render_chat(path: &Path, messages: &[(&str, &str)]) -> Result<String> {
    use llama_cpp_2::model::params::LlamaModelParams;
    use llama_cpp_2::model::{LlamaChatMessage, LlamaModel};
    let name = path.display().to_string();
    let bad = |reason: String| Error::BadModel {
        model: name.clone(),
        path: path.to_path_buf(),
        reason,
    };
    let backend = crate::runtime::backend();
    let params = LlamaModelParams::default().with_vocab_only(true);
    let model = LlamaModel::load_from_file(backend, path, &params)
        .map_err(|e| bad(format!("llama.cpp could not read its vocabulary: {e}")))?;
    let template = model
        .chat_template(None)
        .map_err(|e| bad(format!("it has no chat template: {e}")))?;
    let chat = messages
        .iter()
        .map(|(role, content)| LlamaChatMessage::new(role.to_string(), content.to_string()))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("a message cannot be passed to llama.cpp: {e}")))?;
    model
        .apply_chat_template(&template, &chat, true)
        .map_err(|e| bad(format!("applying its chat template: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_files_inside_the_folder_only() {
        let dir = Path::new("/m");
        assert_eq!(path_of(dir, "gguf:tiny"), Some(dir.join("tiny.gguf")));
        assert_eq!(path_of(dir, "gguf:tiny.gguf"), Some(dir.join("tiny.gguf")));
        for bad in [
            "gguf:",
            "gguf:../x",
            "gguf:a/b",
            "gguf:.hidden",
            "phi3:3.8b",
        ] {
            assert_eq!(path_of(dir, bad), None, "{bad}");
        }
        assert_eq!(
            path_of(dir, "hf:owner/repo/file.Q4.gguf"),
            Some(dir.join("hf/owner/repo/file.Q4.gguf"))
        );
    }

    #[test]
    fn a_file_that_is_not_gguf_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.gguf");
        std::fs::write(&path, b"GGUF but not really").unwrap();
        let e = inspect("gguf:junk", &path, 2048).unwrap_err().to_string();
        assert!(e.contains("gguf:junk") && e.contains("junk.gguf"), "{e}");
        assert!(e.contains("not a readable GGUF"), "{e}");
        let listed = scan(dir.path(), 2048);
        assert_eq!(listed.len(), 1);
        assert!(matches!(&listed[0], Err((name, _)) if name == "gguf:junk"));
    }
}

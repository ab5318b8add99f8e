//! The embedded LLM runtime: GGUF models run in this process on llama.cpp (through the
//! `llama-cpp-2` crate, which vendors it), behind the scheduler's [`Backend`] seam — so the
//! personas think on a machine without Ollama, and the same policy keeps these models inside a
//! RAM budget as it keeps Ollama's inside VRAM.
//!
//! - [`catalog`]: the models folder, names (`gguf:NAME`, `hf:OWNER/REPO/FILE.gguf`) and
//!   footprints read from each file's metadata.
//! - [`hub`]: pulls from the Hugging Face hub, resumable, pinned to a commit, checked by
//!   SHA-256.
//! - [`Embedded`]: the backend; each loaded model runs on a thread of its own (`worker`), one
//!   reply at a time, streamed, cancelled when its reader goes away. A JSON schema becomes a
//!   grammar with llama.cpp's own converter, so structured output means what it means on
//!   Ollama.
//!
//! Built for the CPU by default; the `cuda` and `vulkan` features build llama.cpp for a GPU
//! (they need the CUDA toolkit or the Vulkan SDK at build time).
//!
//! [`Backend`]: telos_scheduler::Backend

pub mod catalog;
pub mod hub;
mod runtime;
mod worker;

pub use catalog::{GGUF, HF, ModelInfo};
pub use runtime::{Embedded, EmbeddedConfig, SYSTEM_MODELS, models_dir, seed_default_model};

/// The model a persona falls back to on the embedded runtime: SmolLM2-135M-Instruct, which
/// `scripts/setup` installs (tiny: it answers, follows a schema, and little more).
pub const DEFAULT_MODEL: &str = "gguf:SmolLM2-135M-Instruct.Q4_1";

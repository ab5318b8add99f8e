//! `telos models pull`: fetching a model needs no image (the data dir is not opened).

use anyhow::{Context, Result};
use serde_json::json;
use telos_core::llama;
use telos_core::scheduler::{Bytes, Ollama, Runtime};

use crate::show::ProgressLine;
use crate::{Cli, Command, ModelsCommand};

/// Runs `cli` if it is `models pull` (`None` then), else hands it back.
pub async fn offline(cli: Cli) -> Result<Option<Cli>> {
    let Command::Models(ModelsCommand::Pull { model }) = &cli.command else {
        return Ok(Some(cli));
    };
    let mut line = ProgressLine::new();
    let mut shown = |what: &str, done: Option<u64>, total: Option<u64>| {
        let amount = match (done, total) {
            (Some(d), Some(t)) if t > 0 => format!(
                " {} of {} {}",
                Bytes(d),
                Bytes(t),
                crate::show::bar_of(d, t)
            ),
            (Some(d), _) => format!(" {}", Bytes(d)),
            _ => String::new(),
        };
        line.note(&format!("{model}: {what}{amount}"));
    };
    let done = match Runtime::of(model) {
        Runtime::Embedded if model.starts_with(llama::HF) => {
            let dir = llama::models_dir();
            let (path, pin) =
                llama::hub::pull(&dir, model, |p| shown("fetching", Some(p.done), p.total)).await?;
            json!({
                "model": model, "runtime": "embedded", "path": path,
                "commit": pin.commit, "sha256": pin.sha256,
            })
        }
        Runtime::Embedded => anyhow::bail!(
            "{model} is a file in the models folder ({}): copy it there; only hf:OWNER/REPO/FILE.gguf \
             and Ollama tags can be pulled",
            llama::models_dir().display()
        ),
        Runtime::Ollama => {
            let ollama = Ollama::from_env()?;
            ollama
                .pull(model, |status, done, total| shown(status, done, total))
                .await
                .with_context(|| format!("pulling {model} into Ollama"))?;
            json!({ "model": model, "runtime": "ollama" })
        }
    };
    line.finish();
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&done)?);
    } else {
        println!("pulled {model}");
    }
    Ok(None)
}

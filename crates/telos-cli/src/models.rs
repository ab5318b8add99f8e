//! `telos models pull`: fetching a model needs no image (the data dir is not opened).

use anyhow::Result;
use telos_core::scheduler::Bytes;

use crate::show::ProgressLine;
use crate::{Cli, Command, ModelsCommand};

/// Runs `cli` if it is `models pull` (`None` then), else hands it back.
pub async fn offline(cli: Cli) -> Result<Option<Cli>> {
    let Command::Models(ModelsCommand::Pull { model }) = &cli.command else {
        return Ok(Some(cli));
    };
    let mut line = ProgressLine::new();
    let pulled = telos_core::pull_model(model, |p| {
        let amount = match (p.done, p.total) {
            (Some(d), Some(t)) if t > 0 => format!(
                " {} of {} {}",
                Bytes(d),
                Bytes(t),
                crate::show::bar_of(d, t)
            ),
            (Some(d), _) => format!(" {}", Bytes(d)),
            _ => String::new(),
        };
        line.note(&format!("{model}: {}{amount}", p.status));
    })
    .await;
    line.finish();
    let pulled = pulled?;
    if cli.json {
        outln!("{}", serde_json::to_string_pretty(&pulled)?);
    } else {
        outln!("pulled {model} ({})", pulled.runtime);
    }
    Ok(None)
}

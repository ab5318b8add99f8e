//! `telos sandbox run`: one tool in one fresh container.

use anyhow::{Context, Result, anyhow};
use telos_core::sandbox::proto::{Cause, Lang, Limits};
use telos_core::sandbox::{Sandbox, Tool};

use crate::{Cli, Command, SandboxCommand};

/// Runs `cli` if it is a sandbox command (`None` then), else hands it back. Sets the exit
/// code itself: the tool's, 124 on timeout, 125 when refused.
pub async fn offline(cli: Cli) -> Result<Option<Cli>> {
    let Command::Sandbox(SandboxCommand::Run {
        file,
        lang,
        stdin,
        timeout,
        memory,
        args,
    }) = &cli.command
    else {
        return Ok(Some(cli));
    };
    let lang: Lang = lang.parse().map_err(|e: String| anyhow!("--lang: {e}"))?;
    if !(timeout.is_finite() && *timeout > 0.0) {
        return Err(anyhow!(
            "--timeout {timeout}: give a number of seconds above 0"
        ));
    }
    let code = std::fs::read_to_string(file)
        .with_context(|| format!("reading the tool {}", file.display()))?;
    let mut tool = Tool::new(lang, code).with_limits(Limits {
        timeout_ms: (timeout * 1000.0).round() as u64,
        memory_mb: *memory,
        ..Limits::default()
    });
    tool.args = args.clone();
    if let Some(path) = stdin {
        let bytes =
            std::fs::read(path).with_context(|| format!("reading --stdin {}", path.display()))?;
        tool = tool.with_stdin(bytes);
    }
    let sandbox = Sandbox::locate()?;
    let outcome = sandbox.run(&tool).await?;
    if cli.json {
        outln!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        out!("{}", outcome.stdout);
        err!("{}", outcome.stderr);
        if outcome.cause != Cause::Exited {
            errln!(
                "telos sandbox: {}{}",
                outcome.cause,
                outcome
                    .reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            );
        }
    }
    let code = match outcome.cause {
        Cause::Refused => 125,
        Cause::Timeout => 124,
        _ => outcome.exit_code.unwrap_or(1),
    };
    if code != 0 {
        std::process::exit(code);
    }
    Ok(None)
}

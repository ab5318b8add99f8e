//! `telos scheduler replay` and `telos scheduler trace`: what-if tools that need no image.

use anyhow::{Context, Result, anyhow};
use serde_json::json;
use telos_core::persona::table::scheduler_defaults;
use telos_core::scheduler::replay::{Hardware, Replay, replay, replay_hosts};
use telos_core::scheduler::{Bytes, trace};

use crate::{Cli, Command, SchedulerCommand};

/// Runs `cli` if it is an offline scheduler command (`None` then), else hands it back.
pub fn offline(cli: Cli) -> Result<Option<Cli>> {
    let Command::Scheduler(command) = &cli.command else {
        return Ok(Some(cli));
    };
    match command {
        SchedulerCommand::Status => return Ok(Some(cli)),
        SchedulerCommand::Trace {
            requests,
            seed,
            dialogues,
        } => {
            let personas = scheduler_defaults();
            let requests = if *dialogues {
                trace::generate_dialogues(&personas, *requests, *seed, &Hardware::default())
            } else {
                trace::generate(&personas, *requests, *seed)
            };
            out!("{}", trace::to_jsonl(&requests));
        }
        SchedulerCommand::Replay {
            trace: path,
            budget,
            policy,
            sizes,
            hosts,
        } => {
            let budget: Bytes = budget.parse().context("--budget")?;
            // A budget alone, or URL=BUDGET as OLLAMA_HOSTS writes it.
            let hosts: Vec<Bytes> = hosts
                .iter()
                .map(|h| {
                    let size = h.rsplit_once('=').map_or(h.as_str(), |(_, s)| s);
                    size.trim()
                        .parse::<Bytes>()
                        .with_context(|| format!("--hosts {h:?}: write a budget, e.g. 8GiB"))
                })
                .collect::<Result<_>>()?;
            let mut personas = scheduler_defaults();
            for size in sizes {
                let (model, bytes) = size.split_once('=').ok_or_else(|| {
                    anyhow!("--size {size:?}: write MODEL=SIZE, e.g. gemma2:9b=6.1GB")
                })?;
                let bytes: Bytes = bytes.parse().with_context(|| format!("--size {size:?}"))?;
                let mut found = false;
                for p in personas.iter_mut().filter(|p| p.model == model) {
                    p.size = bytes;
                    found = true;
                }
                if !found {
                    let models: Vec<&str> = personas.iter().map(|p| p.model.as_str()).collect();
                    return Err(anyhow!(
                        "--size {size:?}: no persona uses {model:?} (models: {})",
                        models.join(", ")
                    ));
                }
            }
            let policies: Vec<Replay> = if policy.is_empty() {
                Replay::ALL.to_vec()
            } else {
                policy
                    .iter()
                    .map(|p| p.trim().parse())
                    .collect::<Result<_, _>>()?
            };
            let requests = trace::read(path, &personas)?;
            let hw = Hardware::default();
            let reports = policies
                .iter()
                .map(|&how| match hosts.as_slice() {
                    [] => replay(&requests, &personas, budget, how, hw),
                    several => replay_hosts(&requests, &personas, several, how, hw),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let budget = if hosts.is_empty() {
                budget
            } else {
                Bytes(hosts.iter().map(|b| b.0).sum())
            };
            if cli.json {
                let out = json!({
                    "trace": path,
                    "requests": requests.len(),
                    "budget": budget,
                    "hardware": Hardware::default(),
                    "reports": reports,
                });
                outln!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                outln!(
                    "{} requests from {}, budget {budget}",
                    requests.len(),
                    path.display()
                );
                if let Some(first) = reports.first() {
                    for (i, h) in first.hosts.iter().enumerate() {
                        outln!(
                            "host {} ({}): {} ({} requests)",
                            i + 1,
                            h.budget,
                            h.personas.join(", "),
                            h.requests
                        );
                    }
                }
                outln!(
                    "{:<17} {:>6} {:>8} {:>13} {:>12} {:>9} {:>10} {:>8}",
                    "policy",
                    "loads",
                    "unloads",
                    "bytes loaded",
                    "total wait",
                    "p95 wait",
                    "peak VRAM",
                    "refused"
                );
                for r in &reports {
                    outln!(
                        "{:<17} {:>6} {:>8} {:>13} {:>11.0}s {:>8.1}s {:>10} {:>8}",
                        r.policy,
                        r.loads,
                        r.unloads,
                        r.bytes_loaded.to_string(),
                        r.total_wait_s,
                        r.p95_wait_s,
                        r.peak_vram.to_string(),
                        r.refused
                    );
                }
            }
        }
    }
    Ok(None)
}

//! The mind's commands: `telos motives ls`, `telos agenda ls | plan | approve | reject | run`,
//! `telos autonomy [off|ask|on]`.

use std::time::Duration;

use anyhow::{Result, anyhow};
use clap::Subcommand;
use telos_core::{AgendaStep, AgendaView, Autonomy, Hold, Motive, Telos, Work, WorkState};

use crate::commands::emit;

#[derive(Subcommand, Debug)]
pub enum MotivesCommand {
    /// Every motive noticed, newest first: cognitive dissonance and curiosity deficits, with
    /// the persona, what was seen, and the work proposed for it.
    Ls,
}

#[derive(Subcommand, Debug, serde::Serialize, serde::Deserialize)]
pub enum AgendaCommand {
    /// The switch, the budget, why nothing runs now (if nothing may), and the work.
    Ls,
    /// Run the detectors now: what is new becomes motives and work (one cycle).
    Plan,
    /// Approve a proposed work (by id or name); it runs when the budget allows.
    Approve { id: String },
    /// Reject a work that has not run.
    Reject { id: String },
    /// Notice, then run approved work as the budget allows, until none is left (waiting
    /// for the budget in between); `--once`: at most one act, now.
    Run {
        #[arg(long)]
        once: bool,
    },
}

/// A mind command, parsed.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub enum Mind {
    Motives,
    Agenda(AgendaCommand),
    Autonomy(Option<Autonomy>),
}

impl Mind {
    pub fn autonomy(setting: Option<String>) -> Result<Self> {
        let setting = setting
            .map(|s| s.trim().to_lowercase().parse::<Autonomy>())
            .transpose()
            .map_err(|e| anyhow!(e))?;
        Ok(Mind::Autonomy(setting))
    }
}

pub async fn run(telos: &Telos, mind: Mind, json: bool) -> Result<()> {
    match mind {
        Mind::Motives => {
            let motives = telos.motives();
            emit(json, &serde_json::to_value(&motives)?, || {
                motives_table(&motives)
            })
        }
        Mind::Agenda(AgendaCommand::Ls) => {
            let view = telos.agenda();
            emit(json, &serde_json::to_value(&view)?, || agenda(&view))
        }
        Mind::Agenda(AgendaCommand::Plan) => {
            let planned = telos.plan_agenda().await?;
            emit(json, &serde_json::to_value(&planned)?, || {
                if planned.motives.is_empty() {
                    "nothing new".to_string()
                } else {
                    format!(
                        "{}\n\n{}",
                        motives_table(&planned.motives),
                        works_table(&planned.works)
                    )
                }
            })
        }
        Mind::Agenda(AgendaCommand::Approve { id }) => {
            let work = telos.approve_work(&id).await?;
            emit(json, &serde_json::to_value(&work)?, || {
                format!("approved {}", line(&work))
            })
        }
        Mind::Agenda(AgendaCommand::Reject { id }) => {
            let work = telos.reject_work(&id).await?;
            emit(json, &serde_json::to_value(&work)?, || {
                format!("rejected {}", line(&work))
            })
        }
        Mind::Agenda(AgendaCommand::Run { once }) => run_agenda(telos, once, json).await,
        Mind::Autonomy(None) => {
            let a = telos.agenda().autonomy;
            emit(json, &serde_json::to_value(a)?, || autonomy(a))
        }
        Mind::Autonomy(Some(a)) => {
            let a = telos.set_autonomy(a).await?;
            emit(json, &serde_json::to_value(a)?, || autonomy(a))
        }
    }
}

/// Plans, then acts while approved work is left, waiting for the budget in between; a failed
/// act is reported and the run goes on, and the exit is non-zero if any act failed.
async fn run_agenda(telos: &Telos, once: bool, json: bool) -> Result<()> {
    let planned = telos.plan_agenda().await?;
    if !json && !planned.motives.is_empty() {
        errln!("noticed {} new motives", planned.motives.len());
    }
    let mut failed = 0;
    loop {
        let step = telos.agenda_step().await?;
        if json {
            outln!("{}", serde_json::to_string(&step)?);
        }
        match step {
            AgendaStep::Acted { work } => {
                if !json {
                    outln!("{}", line(&work));
                }
                if work.state == WorkState::Failed {
                    failed += 1;
                }
                if once {
                    break;
                }
            }
            AgendaStep::Held {
                hold: Hold::Share { until } | Hold::PerHour { until },
            } if !once => {
                let wait = (until - now_ms()).max(0) as u64;
                if !json {
                    errln!("waiting {:.1} s for the budget", wait as f64 / 1e3);
                }
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            AgendaStep::Held {
                hold: Hold::UserFirst,
            } if !once => tokio::time::sleep(Duration::from_millis(500)).await,
            AgendaStep::Held { hold } => {
                if !json {
                    outln!("nothing runs: {hold}");
                }
                break;
            }
        }
    }
    if failed > 0 {
        return Err(anyhow!(
            "{failed} act(s) failed; each is a suspended cycle (telos cycles ls)"
        ));
    }
    Ok(())
}

fn now_ms() -> i64 {
    telos_core::image::now_ms()
}

fn autonomy(a: Autonomy) -> String {
    match a {
        Autonomy::Off => "autonomy off: motives are noticed, no work is proposed or run",
        Autonomy::Ask => "autonomy ask: work is proposed and waits for approval",
        Autonomy::On => "autonomy on: work runs as the budget allows",
    }
    .to_string()
}

fn text_of(v: impl serde::Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn motives_table(motives: &[Motive]) -> String {
    if motives.is_empty() {
        return "no motives".into();
    }
    let mut out = format!(
        "{:<26} {:<22} {:<15} {:<8} SUMMARY",
        "MOTIVE", "KIND", "SIGNAL", "PERSONA"
    );
    for m in motives {
        out.push_str(&format!(
            "\n{:<26} {:<22} {:<15} {:<8} {}",
            m.id,
            text_of(m.kind),
            text_of(m.signal),
            m.persona,
            m.summary
        ));
    }
    out
}

fn line(w: &Work) -> String {
    let mut s = format!(
        "{} {} {} ({}, {}): {}",
        w.id,
        text_of(w.state),
        text_of(w.kind),
        w.persona,
        w.ms.map_or("-".to_string(), |ms| format!("{:.1} s", ms / 1e3)),
        w.subject
    );
    if let Some(r) = &w.result {
        let r: String = r.chars().take(160).collect();
        s.push_str(&format!("\n    → {r}"));
    }
    s
}

fn works_table(works: &[Work]) -> String {
    if works.is_empty() {
        return "no work".into();
    }
    works.iter().map(line).collect::<Vec<_>>().join("\n")
}

fn agenda(view: &AgendaView) -> String {
    let mut out = format!(
        "{}\nbudget: {} acts per hour, {:.0}% of model time\n",
        autonomy(view.autonomy),
        view.per_hour,
        view.share * 100.0
    );
    match &view.hold {
        Some(h) => out.push_str(&format!("now: {h}\n")),
        None => out.push_str("now: free to act\n"),
    }
    out.push_str(&format!("{} motives\n\n", view.motives.len()));
    out.push_str(&works_table(&view.works));
    out
}

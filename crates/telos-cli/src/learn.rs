//! Learning commands: `telos curate`, `telos golden`, `telos dataset export`, `telos train`,
//! `telos ascend` (and its `ls`, `show`, `approve`, `reject`, `revert`). Progress goes to
//! stderr; the result to stdout (`--json`: as JSON).

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};
use telos_core::ascend::ascend::AscensionState;
use telos_core::{Ascension, AscensionEvent, CurateEvent, Report, Telos, TrainEvent};

/// The golden dataset's default threshold.
const MIN: f64 = telos_core::GOLDEN_MIN;

#[derive(Subcommand, Debug)]
pub enum DatasetCommand {
    /// Write PERSONA's golden dataset as chat-format JSONL (one {"messages": [...]} row per
    /// exchange, a dialogue as a multi-turn row, deduplicated), with a deterministic train /
    /// held-out split beside it (FILE.train.jsonl, FILE.heldout.jsonl).
    Export {
        persona: String,
        /// The least overall score (1 to 5) of a golden exchange.
        #[arg(long, default_value_t = MIN)]
        min_score: f64,
        /// The file to write.
        #[arg(short, long, value_name = "FILE.jsonl")]
        output: PathBuf,
    },
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct AscendArgs {
    #[command(subcommand)]
    pub command: Option<AscendCommand>,
    /// The persona to try on a new model.
    #[arg(required = true)]
    pub persona: Option<String>,
    /// The model: an Ollama tag (pulled with progress), gguf:NAME, a .gguf file, hf:OWNER/
    /// REPO/FILE.gguf, or `trained` (the persona's latest `telos train`).
    #[arg(long, required = true)]
    pub candidate: Option<String>,
    /// The golden dataset's least score (its held-out prompts are asked).
    #[arg(long, default_value_t = MIN)]
    pub min_score: f64,
}

#[derive(Subcommand, Debug)]
pub enum AscendCommand {
    /// Every ascension (of PERSONA), newest first, with its state and recommendation.
    Ls { persona: Option<String> },
    /// An ascension's report, pair by pair.
    Show { ascension: String },
    /// Promote: the persona thinks with the candidate from this cycle on.
    Approve { ascension: String },
    /// Reject: the persona keeps its model.
    Reject { ascension: String },
    /// Put PERSONA back on the model before its last promotion.
    Revert { persona: String },
}

/// A learning command, parsed.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub enum Learn {
    Curate(Option<String>, usize, f64),
    Golden(String, f64),
    Export(String, f64, PathBuf),
    Train(String, Option<String>, u32, f64),
    Ascend(String, String, f64),
    Ls(Option<String>),
    Show(String),
    Approve(String),
    Reject(String),
    Revert(String),
}

impl Learn {
    pub fn ascend(args: AscendArgs) -> Result<Self> {
        Ok(match (args.command, args.persona, args.candidate) {
            (Some(AscendCommand::Ls { persona }), _, _) => Learn::Ls(persona),
            (Some(AscendCommand::Show { ascension }), _, _) => Learn::Show(ascension),
            (Some(AscendCommand::Approve { ascension }), _, _) => Learn::Approve(ascension),
            (Some(AscendCommand::Reject { ascension }), _, _) => Learn::Reject(ascension),
            (Some(AscendCommand::Revert { persona }), _, _) => Learn::Revert(persona),
            (None, Some(persona), Some(candidate)) => {
                check_min(args.min_score)?;
                Learn::Ascend(persona, candidate, args.min_score)
            }
            _ => return Err(anyhow!("telos ascend PERSONA --candidate MODEL")),
        })
    }

    pub fn checked(self) -> Result<Self> {
        match &self {
            Learn::Curate(_, limit, min) => {
                if *limit == 0 {
                    return Err(anyhow!("--limit 0: judge at least one exchange"));
                }
                check_min(*min)?;
            }
            Learn::Golden(_, min) | Learn::Export(_, min, _) => check_min(*min)?,
            Learn::Train(_, _, steps, min) => {
                if !(1..=100_000).contains(steps) {
                    return Err(anyhow!("--steps {steps}: from 1 to 100000"));
                }
                check_min(*min)?;
            }
            _ => {}
        }
        Ok(self)
    }
}

fn check_min(min: f64) -> Result<()> {
    if (1.0..=5.0).contains(&min) {
        Ok(())
    } else {
        Err(anyhow!("--min-score {min}: from 1 to 5"))
    }
}

pub async fn run(telos: &Telos, learn: Learn, json: bool) -> Result<()> {
    let print =
        |value: serde_json::Value, human: String| crate::commands::emit(json, &value, || human);
    match learn {
        Learn::Curate(persona, limit, min) => {
            let curated = telos
                .curate(persona.as_deref(), limit, min, |e| match e {
                    CurateEvent::Started { exchanges } => {
                        errln!("ALFRED judges {exchanges} exchanges")
                    }
                    CurateEvent::Judged {
                        done,
                        of,
                        persona,
                        overall,
                        rationale,
                    } => errln!("[{done}/{of}] {persona}: {overall}/5 — {rationale}"),
                    CurateEvent::Failed {
                        done,
                        of,
                        exchange,
                        message,
                    } => errln!("[{done}/{of}] {exchange}: {message}"),
                })
                .await?;
            let human = format!(
                "judged {} ({} golden at {min}+), {} failed, {} waiting{}",
                curated.judged,
                curated.golden,
                curated.failed,
                curated.waiting,
                curated
                    .cycle
                    .as_ref()
                    .map(|c| format!(" (cycle {c})"))
                    .unwrap_or_default()
            );
            print(serde_json::to_value(&curated)?, human)?;
            if curated.failed > 0 {
                return Err(anyhow!("{} exchanges could not be judged", curated.failed));
            }
            Ok(())
        }
        Learn::Golden(persona, min) => {
            let view = telos.golden(&persona, min)?;
            let mut human = format!(
                "{}: {} golden of {} judged (score {min}+), {} waiting for the Curator\nrubric: {}\n",
                view.persona,
                view.golden.len(),
                view.evaluated,
                view.waiting,
                view.rubric.join(", ")
            );
            for e in &view.golden {
                human.push_str(&format!(
                    "\n{}/5 {} — {}\n  {}",
                    e.overall,
                    short(
                        e.messages
                            .iter()
                            .rev()
                            .nth(1)
                            .map_or("", |m| m.content.as_str())
                    ),
                    e.rationale,
                    short(e.reply())
                ));
            }
            human.push_str("\n\nperformance (mean score per week):");
            for w in &view.performance {
                human.push_str(&format!(
                    "\n  week of {}: {:.2} ({} exchanges)",
                    day(w.week),
                    w.mean,
                    w.exchanges
                ));
            }
            human.push_str(&format!("\n\nmodel: {}", view.lineage.model));
            for s in &view.lineage.steps {
                human.push_str(&format!(
                    "\n  {} {} → {} ({})",
                    s.action, s.from, s.model, s.ascension
                ));
            }
            print(serde_json::to_value(&view)?, human)
        }
        Learn::Export(persona, min, path) => {
            let out = telos.export_dataset(&persona, min, &path)?;
            let human = format!(
                "wrote {} rows to {} ({} train in {}, {} held out in {}; {} duplicates dropped)",
                out.rows,
                out.path,
                out.train_rows,
                out.train,
                out.held_out_rows,
                out.held_out,
                out.duplicates
            );
            print(serde_json::to_value(&out)?, human)
        }
        Learn::Train(persona, base, steps, min) => {
            let trained = telos
                .train(&persona, base.as_deref(), min, steps, |e| match e {
                    TrainEvent::Started {
                        persona,
                        base,
                        rows,
                        steps,
                        log,
                    } => errln!(
                        "training {persona} on {base}: {rows} rows, {steps} steps (log: {log})"
                    ),
                    TrainEvent::Stage { stage } => errln!("{stage}…"),
                    TrainEvent::Step {
                        step,
                        steps,
                        loss,
                        ms,
                    } => errln!("step {step}/{steps}: loss {loss:.4} ({ms:.0} ms)"),
                })
                .await?;
            let ollama = match (&trained.ollama, &trained.ollama_note) {
                (Some(tag), _) => format!("; created in Ollama as {tag}"),
                (None, Some(why)) => format!("; {why}"),
                (None, None) => String::new(),
            };
            let human = format!(
                "trained {}: {} ({} steps, loss {:.3} → {:.3}, {:.0} ms a step{ollama}); try it \
                 with `telos ascend {} --candidate {}`",
                trained.persona,
                trained.model,
                trained.steps,
                trained.losses.first().copied().unwrap_or(f64::NAN),
                trained.losses.last().copied().unwrap_or(f64::NAN),
                trained.step_ms,
                trained.persona,
                trained.model
            );
            print(serde_json::to_value(&trained)?, human)
        }
        Learn::Ascend(persona, candidate, min) => {
            let a = telos
                .ascend(&persona, &candidate, min, |e| match e {
                    AscensionEvent::Fetching {
                        status,
                        done,
                        total,
                    } => match (done, total) {
                        (Some(d), Some(t)) if t > 0 => {
                            errln!("{status}: {:.0}%", d as f64 * 100.0 / t as f64)
                        }
                        _ => errln!("{status}"),
                    },
                    AscensionEvent::Cloned { candidate, prompts } => {
                        errln!("{candidate} answers {prompts} held-out prompts beside {persona}")
                    }
                    AscensionEvent::Answered { done, of } => errln!("answered {done}/{of}"),
                    AscensionEvent::Judged { done, of, outcome } => {
                        errln!("judged {done}/{of}: {outcome:?} for the candidate")
                    }
                })
                .await?;
            print(serde_json::to_value(&a)?, report(&a))
        }
        Learn::Ls(persona) => {
            let all = telos.ascensions(persona.as_deref())?;
            let human = if all.is_empty() {
                "no ascensions".to_string()
            } else {
                all.iter().map(line).collect::<Vec<_>>().join("\n")
            };
            print(serde_json::to_value(&all)?, human)
        }
        Learn::Show(id) => {
            let a = telos
                .ascensions(None)?
                .into_iter()
                .find(|a| a.id == id || a.name == id)
                .ok_or_else(|| anyhow!("no ascension {id:?} (see `telos ascend ls`)"))?;
            let mut human = report(&a);
            for (i, p) in a.report.pairs.iter().enumerate() {
                human.push_str(&format!(
                    "\n\n#{} {:?}{}: {}\n  {}: {}\n  {}: {}",
                    i + 1,
                    p.outcome,
                    if p.flipped {
                        " (flipped with the order)"
                    } else {
                        ""
                    },
                    short(&p.prompt),
                    a.persona,
                    short(&p.incumbent),
                    a.candidate,
                    short(&p.candidate)
                ));
            }
            print(serde_json::to_value(&a)?, human)
        }
        Learn::Approve(id) => {
            let a = telos.approve_ascension(&id).await?;
            print(
                serde_json::to_value(&a)?,
                format!(
                    "{} thinks with {} now ({})",
                    a.persona, a.candidate_model, a.name
                ),
            )
        }
        Learn::Reject(id) => {
            let a = telos.reject_ascension(&id).await?;
            print(
                serde_json::to_value(&a)?,
                format!(
                    "rejected {}: {} keeps {}",
                    a.name, a.persona, a.incumbent_model
                ),
            )
        }
        Learn::Revert(persona) => {
            let a = telos.revert_ascension(&persona).await?;
            let now = telos.lineage(&a.persona)?.model;
            print(
                serde_json::to_value(&a)?,
                format!(
                    "{} thinks with {now} again ({} reverted)",
                    a.persona, a.name
                ),
            )
        }
    }
}

fn line(a: &Ascension) -> String {
    let state = match a.state {
        AscensionState::Pending => "pending",
        AscensionState::Approved => "approved",
        AscensionState::Rejected => "rejected",
        AscensionState::Reverted => "reverted",
    };
    format!(
        "{} {state}: {} {} → {}: {}–{}–{} (w–t–l), {}",
        a.name,
        a.persona,
        a.incumbent_model,
        a.candidate_model,
        a.report.wins,
        a.report.ties,
        a.report.losses,
        if a.report.recommend {
            "promotion recommended"
        } else {
            "not recommended"
        }
    )
}

/// The report in words.
pub fn report(a: &Ascension) -> String {
    let r: &Report = &a.report;
    let mut out = format!(
        "{}\n{} ({}, answered by {}) against {} on {} held-out prompts:\n  wins {}, ties {} \
         ({} flipped with the order), losses {}\n  win rate {:.2}, Wilson 95% {:.2}–{:.2}, \
         sign test p = {:.3}",
        line(a),
        a.persona,
        a.incumbent_model,
        a.incumbent_answered_by,
        a.candidate_model,
        r.pairs.len(),
        r.wins,
        r.ties,
        r.flipped,
        r.losses,
        r.win_rate,
        r.low,
        r.high,
        r.p_value
    );
    for c in &r.criteria {
        out.push_str(&format!(
            "\n  {}: {:.2} → {:.2} ({:+.2})",
            c.name, c.incumbent, c.candidate, c.change
        ));
    }
    out.push_str(&format!(
        "\n  latency p50/p95: {:.0}/{:.0} ms → {:.0}/{:.0} ms",
        r.incumbent_latency.p50,
        r.incumbent_latency.p95,
        r.candidate_latency.p50,
        r.candidate_latency.p95
    ));
    out.push_str(&format!(
        "\n  fits the {} budget: {}{}",
        r.fit.runtime,
        if r.fit.fits { "yes" } else { "no" },
        r.fit
            .footprint
            .map(|f| format!(
                " ({:.2} of {:.2} GB)",
                f as f64 / 1e9,
                r.fit.budget as f64 / 1e9
            ))
            .unwrap_or_default()
    ));
    out.push_str(&match r.length_bias {
        Some(b) => format!(
            "\n  judge's length bias: {:.0}% of its decisive verdicts went to the longer answer",
            b * 100.0
        ),
        None => "\n  judge's length bias: no decisive verdict to measure it on".into(),
    });
    out.push_str(&format!(
        "\n  time: answering {:.1} s, judging {:.1} s, bookkeeping {:.2} s",
        r.timing.answering / 1e3,
        r.timing.judging / 1e3,
        r.timing.bookkeeping / 1e3
    ));
    out.push_str(&format!(
        "\n{}: {}",
        if r.recommend {
            "recommended"
        } else {
            "not recommended"
        },
        r.why
    ));
    if a.state == AscensionState::Pending {
        out.push_str(&format!(
            "\napprove with `telos ascend approve \"{}\"`, or reject with `telos ascend reject \"{}\"`",
            a.name, a.name
        ));
    }
    out
}

fn short(s: &str) -> String {
    let s = s.trim().replace('\n', " ");
    let mut out: String = s.chars().take(100).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

fn day(ms: i64) -> String {
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = ms.div_euclid(86_400_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

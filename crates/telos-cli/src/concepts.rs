//! Concepts: `telos concepts ls [--persona P]`, `telos concepts show ID`,
//! `telos concepts rebuild [--persona P]`.

use std::fmt::Write;

use crate::commands::emit;
use anyhow::Result;
use clap::Subcommand;
use telos_core::memory::{Concept, ConceptDetail};
use telos_core::{ConceptsRebuilt, Telos};

#[derive(Subcommand, Debug, serde::Serialize, serde::Deserialize)]
pub enum ConceptsCommand {
    /// A persona's concepts (everyone's by default), largest first: size, documents, name
    /// and definition.
    Ls {
        /// The persona, by name or id.
        #[arg(long)]
        persona: Option<String>,
    },
    /// One concept: its name, definition and chunks.
    Show { id: String },
    /// Group a persona's memories into concepts again (every persona with memories by
    /// default), then have BABS name the new and changed ones (one model call each).
    Rebuild {
        /// The persona, by name or id.
        #[arg(long)]
        persona: Option<String>,
    },
}

pub async fn run(telos: &Telos, command: ConceptsCommand, json: bool) -> Result<()> {
    let print = |value: serde_json::Value, human: String| emit(json, &value, || human);
    match command {
        ConceptsCommand::Ls { persona } => {
            let all = telos.concepts(persona.as_deref())?;
            print(serde_json::to_value(&all)?, list(&all))
        }
        ConceptsCommand::Show { id } => {
            let d = telos.concept(&id)?;
            print(serde_json::to_value(&d)?, detail(&d))
        }
        ConceptsCommand::Rebuild { persona } => {
            let done = telos
                .rebuild_concepts(persona.as_deref(), &|line| errln!("{line}"))
                .await?;
            print(serde_json::to_value(&done)?, rebuilt(&done))?;
            match done.iter().map(|d| d.named.failed.len()).sum::<usize>() {
                0 => Ok(()),
                n => Err(anyhow::anyhow!(
                    "{n} concepts could not be named (see above)"
                )),
            }
        }
    }
}

fn name(c: &Concept) -> String {
    let label = c.label.as_deref().unwrap_or("(not named yet)");
    if c.label.is_some() && c.needs_name {
        format!("{label} (to be named again)")
    } else {
        label.to_owned()
    }
}

fn list(all: &[Concept]) -> String {
    if all.is_empty() {
        return "no concepts yet: they grow as a persona remembers documents".into();
    }
    let mut out = String::new();
    for c in all {
        let _ = writeln!(
            out,
            "{}  {}  {:>4} chunks, {:>3} docs  {}{}",
            c.id,
            c.persona,
            c.size,
            c.documents,
            name(c),
            c.definition
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        );
    }
    out.trim_end().to_owned()
}

fn detail(d: &ConceptDetail) -> String {
    let c = &d.concept;
    let mut out = format!(
        "{} — {}'s concept of {} chunks from {} documents\n",
        name(c),
        c.persona,
        c.size,
        c.documents
    );
    if let Some(def) = &c.definition {
        let _ = writeln!(out, "{def}");
    }
    if let Some(s) = &c.symbol {
        let _ = writeln!(
            out,
            "record: {s} (telos vsa query '\"{s}\" / source' --persona {})",
            c.persona
        );
    }
    for ch in &d.chunks {
        let text: String = ch.text.split_whitespace().collect::<Vec<_>>().join(" ");
        let short: String = text.chars().take(100).collect();
        let _ = writeln!(out, "  {}#{}  {short}", ch.source, ch.chunk_index);
    }
    out.trim_end().to_owned()
}

fn rebuilt(done: &[ConceptsRebuilt]) -> String {
    if done.is_empty() {
        return "no persona remembers anything yet".into();
    }
    let mut out = String::new();
    for d in done {
        let r = &d.rebuilt;
        let _ = writeln!(
            out,
            "{}: {} chunks → {} concepts (were {}): {} unchanged, {} changed, {} new, {} removed, {} alone; {:.0} ms",
            r.persona,
            r.chunks,
            r.after,
            r.before,
            r.unchanged,
            r.changed,
            r.made,
            r.removed,
            r.alone,
            r.ms
        );
        let _ = writeln!(
            out,
            "  named {} ({} model calls)",
            d.named.named.len(),
            d.named.calls
        );
        for (id, why) in &d.named.failed {
            let _ = writeln!(out, "  not named {id}: {why}");
        }
    }
    out.trim_end().to_owned()
}

//! The vector-symbolic layer's commands: `telos vsa atom NAME`, `telos vsa compose NAME EXPR`,
//! `telos vsa query EXPR [-k 5]`, `telos vsa ls`; each `--persona P` (BABS by default).

use std::fmt::Write;

use crate::commands::emit;
use anyhow::Result;
use clap::Subcommand;
use telos_core::Telos;
use telos_core::memory::{Answer, Symbol};

#[derive(Subcommand, Debug, serde::Serialize, serde::Deserialize)]
pub enum VsaCommand {
    /// Make (or show) the atom NAME of a persona's codebook: a random hypervector seeded by
    /// the persona and NAME, so it is the same wherever it is made again.
    Atom {
        name: String,
        /// Whose codebook, by name or id (default BABS).
        #[arg(long)]
        persona: Option<String>,
    },
    /// Make the composite symbol NAME: what EXPR over the codebook's symbols denotes, kept
    /// as a record (`"topic * rust + source * doc7"`); a symbol is never redefined.
    Compose {
        name: String,
        expression: String,
        /// Whose codebook, by name or id (default BABS).
        #[arg(long)]
        persona: Option<String>,
    },
    /// Evaluate EXPR — symbols by name, `*` bind, `/` unbind, `+` bundle, parentheses, a
    /// name with spaces or operators in double quotes — and clean the result up to the K
    /// nearest symbols with their similarity: `telos vsa query "record1 / source"`.
    Query {
        expression: String,
        /// How many symbols.
        #[arg(short, default_value_t = 5)]
        k: usize,
        /// Whose codebook, by name or id (default BABS).
        #[arg(long)]
        persona: Option<String>,
    },
    /// A persona's symbols: name, kind, and a composite's expression.
    Ls {
        /// Whose codebook, by name or id (default BABS).
        #[arg(long)]
        persona: Option<String>,
    },
}

pub async fn run(telos: &Telos, command: VsaCommand, json: bool) -> Result<()> {
    let print = |value: serde_json::Value, human: String| emit(json, &value, || human);
    match command {
        VsaCommand::Atom { name, persona } => {
            let s = telos.vsa_atom(persona.as_deref(), &name).await?;
            print(serde_json::to_value(&s)?, symbol(&s))
        }
        VsaCommand::Compose {
            name,
            expression,
            persona,
        } => {
            let s = telos
                .vsa_compose(persona.as_deref(), &name, &expression)
                .await?;
            print(serde_json::to_value(&s)?, symbol(&s))
        }
        VsaCommand::Query {
            expression,
            k,
            persona,
        } => {
            let a = telos.vsa_query(persona.as_deref(), &expression, k).await?;
            print(serde_json::to_value(&a)?, answer(&a))
        }
        VsaCommand::Ls { persona } => {
            let all = telos.vsa_symbols(persona.as_deref())?;
            print(serde_json::to_value(&all)?, list(&all))
        }
    }
}

fn symbol(s: &Symbol) -> String {
    let what = match &s.expression {
        Some(e) => format!("composite = {e}"),
        None => "atom".into(),
    };
    format!(
        "{} {:?} of {}'s codebook: {what} (dimension {}, object {})",
        if s.created { "made" } else { "found" },
        s.name,
        s.persona,
        s.dim,
        s.id
    )
}

fn answer(a: &Answer) -> String {
    let mut out = format!("{} in {}'s codebook:", a.expression, a.persona);
    if a.hits.is_empty() {
        out.push_str("\n  (no symbols yet)");
    }
    for h in &a.hits {
        let _ = write!(out, "\n  {:>7.4}  {} ({})", h.similarity, h.name, h.kind);
    }
    out
}

fn list(all: &[Symbol]) -> String {
    if all.is_empty() {
        return "no symbols (telos vsa atom NAME makes one)".into();
    }
    let mut out = String::new();
    for s in all {
        let _ = writeln!(
            out,
            "{}  {}",
            s.name,
            s.expression.as_deref().unwrap_or("(atom)")
        );
    }
    out.trim_end().to_owned()
}

//! Human-readable and JSON renderings of objects and cycles.

use std::fmt::Write;

use serde_json::{Value, json};
use telos_core::image::{Image, Object, ObjectId};
use telos_core::memory::{Health, Outcome, Recalled, RecalledConcept, Stage};
use telos_core::view::{CycleState, CycleSummary, CycleView};
use telos_core::{ChatEvent, IngestEvent, IngestSummary, MorphView, StepState};

mod runtimes;
pub use runtimes::{models, personas, scheduler};

fn name_of(image: &Image, id: &ObjectId) -> String {
    image
        .get(id)
        .map(|o| o.name.clone())
        .unwrap_or_else(|_| id.to_string())
}

pub fn summary(image: &Image, o: &Object) -> Value {
    json!({
        "id": o.id,
        "name": o.name,
        "parents": o.parents.iter().map(|p| name_of(image, p)).collect::<Vec<_>>(),
        "slots": o.slots.len(),
        "methods": o.methods.len(),
        "version": o.version,
    })
}

pub fn detail(image: &Image, o: &Object) -> Value {
    let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
    v["parent_names"] = json!(
        o.parents
            .iter()
            .map(|p| name_of(image, p))
            .collect::<Vec<_>>()
    );
    v
}

pub fn table(image: &Image, objects: &[std::sync::Arc<Object>]) -> String {
    let mut out = format!(
        "{:<26}  {:<18}  {:>5}  {:>3}  PARENTS\n",
        "ID", "NAME", "SLOTS", "VER"
    );
    for o in objects {
        let parents: Vec<String> = o.parents.iter().map(|p| name_of(image, p)).collect();
        let _ = writeln!(
            out,
            "{:<26}  {:<18}  {:>5}  {:>3}  {}",
            o.id,
            o.name,
            o.slots.len(),
            o.version,
            parents.join(", ")
        );
    }
    out.trim_end().to_owned()
}

pub fn describe(image: &Image, o: &Object) -> String {
    let mut out = format!("{} ({})  version {}\n", o.name, o.id, o.version);
    let parents: Vec<String> = o.parents.iter().map(|p| name_of(image, p)).collect();
    let _ = writeln!(
        out,
        "parents: {}",
        if parents.is_empty() {
            "(none)".into()
        } else {
            parents.join(" → ")
        }
    );
    let _ = writeln!(out, "slots:");
    for (k, v) in &o.slots {
        let _ = writeln!(out, "  {k} = {}", value(v));
    }
    if o.methods.is_empty() {
        let _ = writeln!(out, "methods: (none)");
    } else {
        let _ = writeln!(out, "methods:");
        for (k, m) in &o.methods {
            let _ = writeln!(out, "  {k} [{}] by {}", m.language, m.provenance.author);
        }
    }
    out.trim_end().to_owned()
}

pub fn value(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

pub fn cycles(cycles: &[CycleSummary]) -> String {
    let mut out = format!("{:<26}  {:<10}  {:>4}  TRIGGER\n", "CYCLE", "STATE", "OBJS");
    for c in cycles {
        let _ = writeln!(
            out,
            "{:<26}  {:<10}  {:>4}  {}{}",
            c.id,
            state(c.state),
            c.objects,
            c.trigger,
            c.error
                .as_deref()
                .map(|e| format!("  ({e})"))
                .unwrap_or_default()
        );
    }
    out.trim_end().to_owned()
}

pub fn cycle(view: &CycleView) -> String {
    let s = &view.summary;
    let mut out = format!(
        "cycle {}  {}  trigger: {}\n",
        s.id,
        state(s.state),
        s.trigger
    );
    if let Some(e) = &s.error {
        let _ = writeln!(out, "error: {e}");
    }
    if let Some(r) = &view.resumed_as {
        let _ = writeln!(out, "resumed as cycle {r}");
    }
    let names: Vec<&str> = view.objects.iter().map(|o| o.name.as_str()).collect();
    let _ = writeln!(out, "objects: {}", names.join(", "));
    let _ = writeln!(out, "steps staged:");
    for (i, step) in view.steps.iter().enumerate() {
        let _ = writeln!(out, "  {i:>3}  {:<11} {}", step.op, step.detail);
    }
    if let Some(task) = &view.forge {
        let _ = writeln!(
            out,
            "forge: {}.{} by {} ({}): {}",
            task.receiver_name, task.selector, task.persona, task.model, task.description
        );
        for a in &task.attempts {
            let verdict = if a.passed { "passed" } else { "failed" };
            let who = if a.edited {
                " (edited by the user)"
            } else {
                ""
            };
            let _ = writeln!(out, "  attempt {}{who}: {verdict}", a.n);
            if let Some(why) = &a.why {
                let _ = writeln!(out, "    why: {}", why.lines().last().unwrap_or(""));
            }
            for r in &a.runs {
                let _ = writeln!(
                    out,
                    "    {} run: {} (exit {:?}, {:.0} ms)",
                    r.what, r.cause, r.exit_code, r.duration_ms
                );
            }
        }
    }
    if let Some(program) = &view.program {
        let _ = writeln!(out, "program:");
        for (i, op) in program.iter().enumerate() {
            let mark = if view.failed_at == Some(i as u32) {
                "✗"
            } else {
                " "
            };
            let _ = writeln!(out, " {mark}{i:>3}  {op}");
        }
        if view.failed_at == Some(program.len() as u32) {
            let _ = writeln!(out, " ✗ the commit itself failed");
        }
    }
    out.trim_end().to_owned()
}

pub fn step(state: &StepState) -> String {
    let mut out = format!("after {} of {} operations:\n", state.step, state.of);
    if let Some(e) = &state.error {
        let _ = writeln!(out, "stopped: {e}");
    }
    for o in &state.staged {
        let _ = writeln!(out, "  {:?} {}", o.kind, o.object.name);
        for s in &o.slots {
            let _ = writeln!(
                out,
                "    {}: {} → {}",
                s.name,
                s.before.as_deref().unwrap_or("(none)"),
                s.after.as_deref().unwrap_or("(none)")
            );
        }
    }
    out.trim_end().to_owned()
}

pub fn morphs(world: &[MorphView]) -> String {
    let mut out = format!(
        "{:<18}  {:<7}  {:>12}  {:<7}  MODEL\n",
        "NAME", "KIND", "POSITION", "STATE"
    );
    for m in world {
        let position = m
            .position
            .map(|p| format!("{},{}", p.x, p.y))
            .unwrap_or_else(|| "(unplaced)".into());
        let kind = serde_json::to_value(m.kind).unwrap_or_default();
        let model_state = serde_json::to_value(m.model_state).unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<18}  {:<7}  {:>12}  {:<7}  {}",
            m.object.name,
            kind.as_str().unwrap_or(""),
            position,
            model_state.as_str().unwrap_or(""),
            m.model.as_deref().unwrap_or("-")
        );
    }
    out.trim_end().to_owned()
}

/// What a chat event adds to a terminal: the reply as it streams (errors go to stderr).
pub fn chat_event(event: &ChatEvent) -> String {
    match event {
        ChatEvent::Started { .. } | ChatEvent::Recalled { .. } | ChatEvent::Offline { .. } => {
            String::new()
        }
        ChatEvent::Token { text } => text.clone(),
        ChatEvent::Done { .. } => "\n".into(),
        ChatEvent::Failed { partial, .. } if !partial.is_empty() => " [cut]\n".into(),
        ChatEvent::Failed { .. } => String::new(),
    }
}

pub fn ingest(summary: &IngestSummary, said: &[serde_json::Value]) -> String {
    let mut out = summary.message.clone();
    for r in &summary.remembered {
        let what = match r.outcome {
            Outcome::Added => "remembered",
            Outcome::Replaced => "updated",
            Outcome::Unchanged => "already known",
        };
        let _ = write!(out, "\n{what} {} ({} chunks)", r.path, r.chunks);
    }
    for r in &summary.failed {
        let _ = write!(out, "\nfailed {}: {}", r.path, r.reason);
    }
    for s in said {
        let path = s["path"].as_str().unwrap_or("");
        match (s["summary"].as_str(), s["error"].as_str()) {
            (Some(text), _) => {
                let _ = write!(out, "\n{} on {path}: {}", summary.persona.name, text.trim());
            }
            (_, Some(e)) => {
                let _ = write!(out, "\n(no summary of {path}: {e})");
            }
            _ => {}
        }
    }
    out
}

pub fn recall(hits: &[Recalled], concepts: &[RecalledConcept]) -> String {
    if hits.is_empty() && concepts.is_empty() {
        return "nothing remembered matches".into();
    }
    let mut out = String::new();
    for c in concepts {
        let _ = writeln!(
            out,
            "concept {:.3} {} {:?} ({} chunks): {}",
            c.score, c.persona, c.label, c.size, c.definition
        );
    }
    for (i, h) in hits.iter().enumerate() {
        let page = h.page.map(|p| format!(" p.{p}")).unwrap_or_default();
        let text: String = h.text.split_whitespace().collect::<Vec<_>>().join(" ");
        let text: String = text.chars().take(160).collect();
        let _ = writeln!(
            out,
            "{}. {:.3} {} {}#{}{page}\n   {text}",
            i + 1,
            h.score,
            h.persona,
            h.source,
            h.chunk_index
        );
    }
    out.trim_end().to_owned()
}

pub fn doctor(h: &Health) -> String {
    let index = serde_json::to_string(&h.index).unwrap_or_default();
    let mut out = format!(
        "documents {}\nchunks in the image {}\nrows in LanceDB {}\norphans {}\nmissing {}\ndiffering {}\nindex {index}\nembedder {}\nsymbols {} (rows in the cleanup memory {})\nconcepts {} (rows in the concepts table {})",
        h.documents,
        h.image_chunks,
        h.store_rows,
        h.orphans,
        h.missing,
        h.differing,
        h.embedder,
        h.symbols,
        h.symbol_rows,
        h.concepts,
        h.concept_rows
    );
    if let Some(e) = &h.index_error {
        let _ = write!(out, "\nlast index build failed: {e}");
    }
    if let Some(r) = &h.rebuilt {
        let _ = write!(out, "\nat this start: {r}");
    }
    out
}

/// One line of progress on stderr, rewritten in place on a terminal (plain lines otherwise
/// would flood a log, so only failures are printed there).
pub struct ProgressLine {
    tty: bool,
    dirty: bool,
}

impl ProgressLine {
    pub fn new() -> Self {
        Self {
            tty: crate::out::stderr_is_terminal(),
            dirty: false,
        }
    }

    pub fn show(&mut self, event: &IngestEvent) {
        let text = match event {
            IngestEvent::Started { persona, files } => {
                format!("{}: {} file(s) to read", persona.name, files.len())
            }
            IngestEvent::File(p) => {
                let name = std::path::Path::new(&p.path)
                    .file_name()
                    .map_or(p.path.clone(), |n| n.to_string_lossy().into_owned());
                match &p.stage {
                    Stage::Reading => format!("{name}: reading"),
                    Stage::Fetching {
                        file,
                        done_mb,
                        total_mb,
                    } => format!(
                        "{name}: fetching the model's {file} {done_mb}/{} MB",
                        total_mb.map_or("?".into(), |t| t.to_string())
                    ),
                    Stage::Chunking => format!("{name}: chunking"),
                    Stage::Embedding { done, total } => {
                        format!("{name}: embedding {done}/{total} {}", bar(*done, *total))
                    }
                    Stage::Indexing => format!("{name}: indexing"),
                    Stage::Done { chunks, .. } => format!("{name}: done ({chunks} chunks)"),
                    Stage::Failed { error } => {
                        self.clear();
                        errln!("failed: {error}");
                        return;
                    }
                }
            }
            IngestEvent::Finished(_)
            | IngestEvent::Summary { .. }
            | IngestEvent::SummaryDone { .. }
            | IngestEvent::SummaryFailed { .. } => return,
        };
        self.note(&text);
    }

    /// Shows `text` on the line (on a terminal; the line is progress, not output).
    pub fn note(&mut self, text: &str) {
        if self.tty {
            err!("\r\x1b[2K{text}");
            self.dirty = true;
        }
    }

    fn clear(&mut self) {
        if self.dirty {
            err!("\r\x1b[2K");
            self.dirty = false;
        }
    }

    pub fn finish(&mut self) {
        self.clear();
    }
}

/// A bar for byte counts.
pub fn bar_of(done: u64, total: u64) -> String {
    let scale = |n: u64| (n.saturating_mul(1000) / total.max(1)) as u32;
    bar(scale(done), scale(total))
}

fn bar(done: u32, total: u32) -> String {
    let width = 20;
    let filled = (done as usize * width)
        .checked_div(total as usize)
        .unwrap_or(width);
    format!(
        "[{}{}]",
        "#".repeat(filled),
        ".".repeat(width - filled.min(width))
    )
}

fn state(s: CycleState) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A dialogue's events as a reader follows them: each turn under its speaker, the verdicts,
/// the synthesis, and where it was recorded.
pub fn dialogue_event(event: &telos_core::DialogueEvent) -> String {
    use telos_core::DialogueEvent as E;
    match event {
        E::Started {
            question,
            rounds,
            sides,
        } => {
            let between = sides.join(" and ");
            format!("Dialogue between {between} (at most {rounds} rounds): {question}\n")
        }
        E::Turn {
            round: 0, persona, ..
        } => format!("\n\n{persona}, the synthesis:\n"),
        E::Turn {
            round,
            persona,
            recalled,
        } if recalled.is_empty() => {
            format!("\n\n{persona} (round {round}):\n")
        }
        E::Turn {
            round,
            persona,
            recalled,
        } => format!(
            "\n\n{persona} (round {round}, recalling {}):\n",
            recalled.join(", ")
        ),
        E::Token { text, .. } => text.clone(),
        E::Verdict(j) => format!(
            "\n\n→ ALFRED, round {}: {:?} — {}",
            j.round, j.verdict, j.reason
        ),
        E::Done {
            dialogue,
            cycle,
            ending,
            ..
        } => {
            format!(
                "\n\n(ended: {ending:?}; recorded as {} in cycle {cycle})\n",
                dialogue.name
            )
        }
        E::Failed { message, .. } => format!("\nfailed: {message}\n"),
    }
}

pub fn amendments(report: &telos_core::CodexReport) -> String {
    let mut out = String::new();
    if report.pending.is_empty() {
        out.push_str("no pending amendments\n");
    }
    for a in &report.pending {
        let _ = writeln!(out, "amendment {} to {}:", a.id, a.persona);
        for c in &a.changes {
            let _ = writeln!(out, "  {}: {} → {}", c.field, c.from, c.to);
        }
    }
    for p in &report.problems {
        let _ = writeln!(out, "malformed {}:{}: {}", p.file, p.line, p.message);
    }
    out.trim_end().to_string()
}

pub fn forged(o: &telos_core::ForgeOutcome) -> String {
    let mut out = format!(
        "installed {}.{} after {} attempt(s) in cycle {}",
        o.task.receiver_name, o.task.selector, o.attempts, o.cycle.id
    );
    if let Some(r) = &o.result {
        let _ = write!(out, "\nresult: {r}");
    }
    out
}

//! The runtimes as the CLI shows them: the schedulers (every Ollama host and the embedded
//! runtime), the personas' models and routes, the models installed.

use std::fmt::Write;

pub fn scheduler(status: &telos_core::SchedulerView) -> String {
    let mut out = match &status.offline {
        Some(why) => format!("Ollama at {}: offline — {why}\n", status.host),
        None => format!("Ollama at {}: online\n", status.host),
    };
    let size = |b: u64| telos_core::scheduler::Bytes(b).to_string();
    let models = |out: &mut String, list: &[telos_core::LoadedModelView]| {
        for m in list {
            let _ = writeln!(
                out,
                "  {:<14} {:>8}  {}{}{}  ({})",
                m.model,
                size(m.size),
                m.state,
                if m.busy { ", busy" } else { "" },
                if m.pinned { ", pinned" } else { "" },
                m.personas.join(", ")
            );
        }
    };
    let _ = writeln!(
        out,
        "VRAM {} used of {}",
        size(status.used),
        size(status.budget)
    );
    models(&mut out, &status.models);
    for h in &status.more_hosts {
        match &h.offline {
            Some(why) => {
                let _ = writeln!(out, "Ollama at {}: offline — {why}", h.host);
            }
            None => {
                let _ = writeln!(out, "Ollama at {}: online", h.host);
            }
        }
        let _ = writeln!(out, "VRAM {} used of {}", size(h.used), size(h.budget));
        models(&mut out, &h.models);
    }
    if !status.more_hosts.is_empty() {
        for p in status.personas.iter().filter(|p| p.fallback.is_none()) {
            if let Some(host) = &p.host {
                let _ = writeln!(out, "{} runs {} at {host}", p.persona, p.model);
            }
        }
    }
    if let Some(e) = &status.embedded {
        let _ = writeln!(out, "{}", e.host);
        let _ = writeln!(out, "RAM {} used of {}", size(e.used), size(e.budget));
        models(&mut out, &e.models);
    }
    for (model, n) in &status.queues {
        let _ = writeln!(out, "  queued for {model}: {n}");
    }
    for p in &status.personas {
        if let Some(why) = &p.fallback {
            let _ = writeln!(
                out,
                "{} answers with {} ({}): {why}",
                p.persona, p.model, p.runtime
            );
        }
    }
    out.trim_end().to_string()
}

pub fn personas(personas: &[telos_core::PersonaView]) -> String {
    let mut out = String::new();
    for p in personas {
        let runs = if p.answered_by == p.model {
            p.runtime.clone()
        } else {
            format!("{} {}", p.runtime, p.answered_by)
        };
        let _ = writeln!(
            out,
            "{:<8} {:<12} {:<11} {:<9} keep_alive {:<4} priority {}  {:?}{}",
            p.name,
            p.role,
            p.model,
            runs,
            p.keep_alive,
            p.priority,
            p.state,
            p.fallback
                .as_ref()
                .map_or(String::new(), |why| format!("  (fallback: {why})"))
        );
    }
    out.trim_end().to_string()
}

pub fn models(models: &[telos_core::ModelView]) -> String {
    let mut out = String::new();
    for m in models {
        let _ = writeln!(
            out,
            "{:<44} {:<8} {:>9}  {:<8} {}{}",
            m.name,
            m.runtime,
            telos_core::scheduler::Bytes(m.size).to_string(),
            if m.loaded { "loaded" } else { "-" },
            m.personas.join(", "),
            m.problem
                .as_ref()
                .map_or(String::new(), |p| format!("  (cannot be used: {p})"))
        );
    }
    if out.is_empty() {
        out.push_str(
            "no models: run scripts/setup, or `telos models pull hf:OWNER/REPO/FILE.gguf`",
        );
    }
    out.trim_end().to_string()
}

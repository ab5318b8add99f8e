//! The app's command names, shared by `build.rs` (which generates a permission for each) and
//! the bindings test (which checks every registered command is listed here).

pub const ALL: &[&str] = &[
    "world",
    "object",
    "set_slot",
    "clone_object",
    "move_morph",
    "set_pinned",
    "chat",
    "scheduler_status",
    "models",
    "pull_model",
    "amendments",
    "approve_amendment",
    "reject_amendment",
    "ingest_drop",
    "recall",
    "cycles",
    "cycle",
    "cycle_step",
    "resume",
    "discard",
    "resume_forge",
    "dissonance",
    "open_inspector",
    "open_debugger",
];

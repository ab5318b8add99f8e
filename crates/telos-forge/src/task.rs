//! The records of a forge: what was asked, every attempt, every sandbox run. The whole story
//! is kept in the cycle's record (`task`), so the Debugger can show it and resume it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use telos_image::CycleRecord;
use telos_sandbox::proto::{Cause, Outcome};

use crate::text::tail;

/// A forge's whole story, kept in its cycle record (`task`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ForgeTask {
    /// Always `forge`: what kind of task the record holds.
    pub kind: String,
    /// The receiver's id and name.
    pub receiver: String,
    pub receiver_name: String,
    pub selector: String,
    /// What the method should do.
    pub description: String,
    /// The arguments of the send that found no answer, when the forge came from one: the
    /// new method is invoked with them in the same cycle.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Unknown>))]
    pub args: Option<Value>,
    /// The persona that forges (it owns the cycle's dissonance when every attempt fails).
    pub persona: String,
    pub model: String,
    pub attempts: Vec<Attempt>,
}

impl ForgeTask {
    /// The forge's story a cycle record holds, if it is a forge cycle.
    pub fn of(record: &CycleRecord) -> Option<Self> {
        record
            .task
            .as_ref()
            .and_then(|t| serde_json::from_value(t.clone()).ok())
    }
}

/// One attempt: what BRICK was told and answered, the code it gave, its test's run, and the
/// verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Attempt {
    pub n: u32,
    /// The message sent to BRICK (empty for an attempt the user wrote in the Debugger).
    pub prompt: String,
    pub reply: String,
    pub code: Option<String>,
    pub test: Option<String>,
    /// The test's run in the sandbox (and the method's run on the send's arguments).
    pub runs: Vec<RunReport>,
    pub passed: bool,
    /// Why it failed, as BRICK is told.
    pub why: Option<String>,
    /// Written by the user in the Debugger, not by BRICK.
    pub edited: bool,
    /// Milliseconds: waiting for the model's reply, running in the sandbox (as the forge
    /// waits for it, helper and container included), and the whole attempt.
    pub model_ms: f64,
    pub sandbox_ms: f64,
    pub ms: f64,
}

impl Attempt {
    /// Attempt `n`, written by the user: `code` checked against an earlier attempt's test.
    pub(crate) fn edited(n: u32, code: String, test: Option<String>) -> Self {
        Self {
            n,
            prompt: String::new(),
            reply: String::new(),
            code: Some(code),
            test,
            runs: Vec::new(),
            passed: false,
            why: None,
            edited: true,
            model_ms: 0.0,
            sandbox_ms: 0.0,
            ms: 0.0,
        }
    }
}

/// A sandbox run as the trace keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RunReport {
    /// `test` or `invoke`.
    pub what: String,
    pub cause: String,
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub duration_ms: f64,
    /// What the sandbox itself said (why it refused, a cleanup that failed).
    pub note: Option<String>,
}

impl RunReport {
    pub(crate) fn new(what: &str, o: &Outcome) -> Self {
        Self {
            what: what.into(),
            cause: o.cause.to_string(),
            exit_code: o.exit_code,
            stdout: tail(&o.stdout),
            stderr: tail(&o.stderr),
            duration_ms: o.duration_ms,
            note: o.reason.clone(),
        }
    }

    pub(crate) fn passed(o: &Outcome) -> bool {
        o.cause == Cause::Exited && o.exit_code == Some(0)
    }
}

/// An edit the user made in the Debugger: attempt `attempt`'s code replaced by `code`.
#[derive(Debug, Clone)]
pub struct Edit {
    pub attempt: u32,
    pub code: String,
}

/// A forge that installed its method.
#[derive(Debug, Clone)]
pub struct Forged {
    /// The committed cycle.
    pub record: CycleRecord,
    /// Attempts it took.
    pub attempts: u32,
    /// The new method's answer to the send's arguments, when there were any.
    pub result: Option<Value>,
    pub task: ForgeTask,
}

//! The Tool Forge: BRICK writes a tool and its own test, the sandbox runs the test, failures
//! go back to BRICK, and a passing tool is installed as a method of the receiver, with its
//! source, test and provenance, in one cycle. When every attempt fails the cycle aborts:
//! nothing is installed (DESIGN invariant 2) and it is kept suspended, with its whole trace,
//! for the Debugger, which can edit an attempt's code and resume from there.
//!
//! Methods run in the sandbox too ([`SandboxInvoker`], the image's Invoker seam): the method
//! is `tool.py` defining `run(args)`; the args go as JSON on stdin and the result comes back
//! as JSON on stdout. A message nothing understands forges its method first
//! ([`ForgeOnMiss`], the image's doesNotUnderstand seam), then invokes it, in one cycle.

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use telos_image::{
    BoxFuture, Cycle, DoesNotUnderstand, Image, Invocation, Invoker, Method, Object, Provenance,
};
use telos_sandbox::proto::{Cause, Lang, Outcome};
use telos_sandbox::{Sandbox, Tool};
use telos_scheduler::Scheduler;
use telos_scheduler::ollama::Message;

use crate::Telos;
use crate::error::{Error, Result};
use crate::view::CycleSummary;

/// Attempts BRICK gets before a forge gives up (`TELOS_FORGE_ATTEMPTS`).
pub const DEFAULT_ATTEMPTS: u32 = 3;
/// The persona that writes tools.
pub const FORGER: &str = "BRICK";
/// What the sandbox shows of a failed run to BRICK and in the trace.
const TAIL: usize = 2_000;

/// Runs a method: `tool.py` is its source; this is `main.py`. The tool's own prints go to
/// stderr, so stdout holds only the result.
const RUNNER: &str = "import contextlib, json, sys\nargs = json.load(sys.stdin)\nwith contextlib.redirect_stdout(sys.stderr):\n    import tool\n    result = tool.run(args)\nsys.stdout.write(json.dumps(result))\n";

/// A forge's whole story, kept in its cycle record (`task`): what was asked and every
/// attempt, so the Debugger can show it and resume it.
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
    pub persona: String,
    pub model: String,
    pub attempts: Vec<Attempt>,
}

impl ForgeTask {
    /// The forge's story a cycle record holds, if it is a forge cycle.
    pub fn of(record: &telos_image::CycleRecord) -> Option<Self> {
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
    fn new(what: &str, o: &Outcome) -> Self {
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

    fn passed(o: &Outcome) -> bool {
        o.cause == Cause::Exited && o.exit_code == Some(0)
    }
}

/// How a forge ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ForgeOutcome {
    pub cycle: CycleSummary,
    pub installed: bool,
    pub attempts: u32,
    /// The new method's answer to the send's arguments, when there were any.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Unknown>))]
    pub result: Option<Value>,
    pub task: ForgeTask,
}

/// What the forge needs: BRICK through the scheduler, the sandbox, how many attempts.
#[derive(Clone)]
pub struct Forge {
    pub(crate) scheduler: Scheduler,
    pub(crate) attempts: u32,
}

/// An edit the user made in the Debugger: attempt `attempt`'s code replaced by `code`.
#[derive(Debug, Clone)]
pub struct Edit {
    pub attempt: u32,
    pub code: String,
}

impl Forge {
    /// Forges `selector` for `receiver` as one cycle (see the module doc). `Ok` says what
    /// was installed; a forge whose every attempt failed is `Err(ForgeFailed)` naming its
    /// suspended cycle.
    pub async fn forge(
        &self,
        image: &Image,
        receiver: &str,
        selector: &str,
        description: &str,
        args: Option<Value>,
    ) -> Result<ForgeOutcome> {
        let object = image.resolve(receiver)?;
        telos_image::check_selector(selector)?;
        let persona = self.forger()?;
        let task = ForgeTask {
            kind: "forge".into(),
            receiver: object.id.to_string(),
            receiver_name: object.name.clone(),
            selector: selector.to_string(),
            description: description.to_string(),
            args,
            persona: persona.name.clone(),
            model: persona.model.clone(),
            attempts: Vec::new(),
        };
        let cycle = image.begin(&format!("forge {}.{selector}", object.name));
        self.run_loop(image, cycle, task, None).await
    }

    /// Resumes the suspended forge cycle `id`: with `edit`, that attempt's code (its test
    /// kept) is tried first; then BRICK gets its attempts again. As one new cycle that
    /// resolves the old one.
    pub async fn resume(
        &self,
        image: &Image,
        id: &str,
        edit: Option<Edit>,
    ) -> Result<ForgeOutcome> {
        let _claim = image.claim(id)?;
        let record = telos_image::ops::suspended(image, id).await?;
        let task = ForgeTask::of(&record).ok_or_else(|| Error::NotAForge(record.id.clone()))?;
        let first = match edit {
            None => None,
            Some(edit) => {
                let base = task
                    .attempts
                    .iter()
                    .find(|a| a.n == edit.attempt)
                    .cloned()
                    .ok_or_else(|| Error::NoAttempt {
                        cycle: record.id.clone(),
                        attempt: edit.attempt,
                        have: task.attempts.len() as u32,
                    })?;
                if base.test.is_none() {
                    return Err(Error::NoTest {
                        cycle: record.id.clone(),
                        attempt: edit.attempt,
                    });
                }
                Some(Attempt {
                    n: task.attempts.len() as u32 + 1,
                    prompt: String::new(),
                    reply: String::new(),
                    code: Some(edit.code),
                    test: base.test,
                    runs: Vec::new(),
                    passed: false,
                    why: None,
                    edited: true,
                    model_ms: 0.0,
                    sandbox_ms: 0.0,
                    ms: 0.0,
                })
            }
        };
        let mut cycle = image.begin(&format!("debugger resume {}", record.id));
        cycle.set_resumes(record.clone());
        self.run_loop(image, cycle, task, first).await
    }

    fn forger(&self) -> Result<telos_scheduler::Persona> {
        self.scheduler
            .personas()
            .into_iter()
            .find(|p| p.name.eq_ignore_ascii_case(FORGER))
            .ok_or_else(|| Error::NoForger(FORGER.into()))
    }

    /// The attempts, until one passes (installed, committed) or none is left (aborted,
    /// suspended). A failure that is not the tool's — the model or the sandbox unavailable —
    /// ends the forge at once with its trace kept, and costs no attempt.
    async fn run_loop(
        &self,
        image: &Image,
        mut cycle: Cycle,
        mut task: ForgeTask,
        first: Option<Attempt>,
    ) -> Result<ForgeOutcome> {
        let sandbox = match Sandbox::locate() {
            Ok(s) => s,
            Err(e) => {
                let why = format!("the sandbox is not available: {e}");
                return Err(suspend(cycle, &task, why).await);
            }
        };
        let Some(receiver) = telos_image::ObjectId::parse(&task.receiver) else {
            let why = format!("the receiver's id {:?} is not an object id", task.receiver);
            return Err(suspend(cycle, &task, why).await);
        };
        let mut budget = self.attempts;
        let mut pending = first;
        loop {
            let began = Instant::now();
            let mut attempt = match pending.take() {
                Some(a) => a,
                None => {
                    if budget == 0 {
                        break;
                    }
                    budget -= 1;
                    match self.ask_brick(image, &task).await {
                        Ok(a) => a,
                        Err(e) => {
                            cycle.note("model", json!({"error": e.to_string()}));
                            return Err(suspend(cycle, &task, e.to_string()).await);
                        }
                    }
                }
            };
            if !attempt.edited {
                cycle.note(
                    "prompt",
                    json!({"attempt": attempt.n, "text": attempt.prompt}),
                );
                cycle.note(
                    "reply",
                    json!({"attempt": attempt.n, "text": attempt.reply}),
                );
            }
            let mut result = None;
            if let (Some(code), Some(test)) = (attempt.code.clone(), attempt.test.clone()) {
                cycle.note(
                    "code",
                    json!({"attempt": attempt.n, "code": code, "test": test, "edited": attempt.edited}),
                );
                match self
                    .try_attempt(&sandbox, &task, &code, &test, &mut attempt, &mut cycle)
                    .await
                {
                    Ok(value) => result = value,
                    Err(why) => {
                        attempt.why = Some(why.clone());
                        attempt.ms = ms_since(began);
                        task.attempts.push(attempt);
                        return Err(suspend(cycle, &task, why).await);
                    }
                }
            }
            attempt.ms = ms_since(began);
            cycle.note(
                "verdict",
                json!({"attempt": attempt.n, "passed": attempt.passed, "why": attempt.why, "ms": attempt.ms}),
            );
            let passed = attempt.passed;
            let n = attempt.n;
            task.attempts.push(attempt);
            cycle.set_task(serde_json::to_value(&task).expect("json"));
            if passed {
                let last = task.attempts.last().expect("just pushed");
                let method = Method {
                    language: "python".into(),
                    source: last.code.clone().unwrap_or_default(),
                    test: last.test.clone().unwrap_or_default(),
                    doc: task.description.clone(),
                    provenance: Provenance {
                        author: if last.edited {
                            format!("user (after {})", task.persona)
                        } else {
                            task.persona.clone()
                        },
                        model: Some(task.model.clone()),
                        attempts: Some(n),
                        cycle: Some(cycle.id().to_string()),
                    },
                };
                if let Err(e) = cycle.set_method(&receiver, &task.selector, method) {
                    // The receiver went away mid-forge, say: kept, like any failed forge.
                    return Err(suspend(cycle, &task, format!("installing the method: {e}")).await);
                }
                // A commit that fails records the cycle as aborted, task and all.
                let record = cycle.commit().await?;
                return Ok(ForgeOutcome {
                    cycle: CycleSummary::new(&record),
                    installed: true,
                    attempts: n,
                    result,
                    task,
                });
            }
        }
        let last = task
            .attempts
            .last()
            .and_then(|a| a.why.clone())
            .unwrap_or_default();
        let why = format!(
            "{} attempt(s) failed; the last: {last}",
            task.attempts.len()
        );
        Err(suspend(cycle, &task, why).await)
    }

    /// Runs the attempt's test, and with the send's arguments the method itself, and sets its
    /// verdict; `Ok` with the method's result when it was invoked. `Err` is the sandbox's
    /// failure, not the tool's (it refused, or could not run at all).
    async fn try_attempt(
        &self,
        sandbox: &Sandbox,
        task: &ForgeTask,
        code: &str,
        test: &str,
        attempt: &mut Attempt,
        cycle: &mut Cycle,
    ) -> std::result::Result<Option<Value>, String> {
        let tool = Tool::new(Lang::Python, test).with_file("tool.py", code);
        let started = Instant::now();
        let ran = sandbox.run(&tool).await;
        attempt.sandbox_ms += ms_since(started);
        let outcome = ran.map_err(|e| format!("the sandbox failed: {e}"))?;
        let report = RunReport::new("test", &outcome);
        cycle.note("sandbox", serde_json::to_value(&report).expect("json"));
        attempt.runs.push(report);
        if outcome.cause == Cause::Refused {
            return Err(failure("the test", &outcome));
        }
        if !RunReport::passed(&outcome) {
            attempt.why = Some(failure("the test", &outcome));
            return Ok(None);
        }
        let Some(args) = &task.args else {
            attempt.passed = true;
            return Ok(None);
        };
        let started = Instant::now();
        let invoked = invoke(sandbox, code, args).await;
        attempt.sandbox_ms += ms_since(started);
        match invoked {
            Ok((value, outcome)) => {
                let report = RunReport::new("invoke", &outcome);
                cycle.note("sandbox", serde_json::to_value(&report).expect("json"));
                attempt.runs.push(report);
                attempt.passed = true;
                Ok(Some(value))
            }
            Err((why, outcome)) => {
                let Some(o) = outcome else {
                    return Err(why); // the sandbox, not the method
                };
                let report = RunReport::new("invoke", &o);
                cycle.note("sandbox", serde_json::to_value(&report).expect("json"));
                attempt.runs.push(report);
                if o.cause == Cause::Refused {
                    return Err(why);
                }
                attempt.why = Some(format!(
                    "the test passed, but run({}) failed: {why}",
                    compact(args)
                ));
                Ok(None)
            }
        }
    }

    /// One request to BRICK: the task, and what went wrong before.
    async fn ask_brick(&self, image: &Image, task: &ForgeTask) -> Result<Attempt> {
        let n = task.attempts.len() as u32 + 1;
        let mut prompt = format!(
            "Write a Python tool for the object {:?}: the method {:?}. What it must do: {}\n\n\
             Write the module tool.py defining run(args), where args is the JSON value sent \
             with the message; return a JSON-serialisable value. Use only Python's standard \
             library; there is no network. Also write test.py, which does `from tool import run` \
             and checks it with assert statements, exiting non-zero on failure.\n",
            task.receiver_name, task.selector, task.description
        );
        if let Some(args) = &task.args {
            prompt.push_str(&format!(
                "It will be called with args = {}.\n",
                compact(args)
            ));
        }
        if let Some(last) = task.attempts.last() {
            prompt.push_str(&format!(
                "\nYour previous attempt failed: {}\nPrevious tool.py:\n{}\nFix it.\n",
                last.why.as_deref().unwrap_or("it did not pass"),
                last.code.as_deref().unwrap_or("(none)")
            ));
        }
        prompt.push_str(
            "\nAnswer with one JSON object and nothing else: {\"code\": \"<tool.py>\", \"test\": \"<test.py>\"}",
        );
        // The forger's own voice, from its codex in force.
        let system = image
            .resolve(&task.persona)
            .map(|o| crate::codex::Codex::of(image, &o).system_prompt)
            .unwrap_or_default();
        let messages = vec![
            Message::new("system", system),
            Message::new("user", &prompt),
        ];
        let asked = Instant::now();
        let mut stream = self
            .scheduler
            .chat_json(&task.persona, messages, reply_schema())
            .await?;
        let mut reply = String::new();
        while let Some(piece) = stream.next().await {
            reply.push_str(&piece?);
        }
        let model_ms = ms_since(asked);
        let (code, test, why) = match parse_reply(&reply) {
            Ok((code, test)) => (Some(code), Some(test), None),
            Err(why) => (None, None, Some(why)),
        };
        Ok(Attempt {
            n,
            prompt,
            reply,
            code,
            test,
            runs: Vec::new(),
            passed: false,
            why,
            edited: false,
            model_ms,
            sandbox_ms: 0.0,
            ms: 0.0,
        })
    }
}

/// Ends a forge that failed: the cycle aborts (nothing it staged is written) and is kept
/// suspended with the task as far as it got; the error names it.
async fn suspend(mut cycle: Cycle, task: &ForgeTask, why: String) -> Error {
    cycle.set_task(serde_json::to_value(task).expect("json"));
    match cycle.abort(&why).await {
        Ok(record) => Error::ForgeFailed {
            cycle: record.id,
            why,
        },
        Err(e) => Error::from(e),
    }
}

/// Runs `code`'s `run(args)` in the sandbox; its JSON answer, or why not.
async fn invoke(
    sandbox: &Sandbox,
    code: &str,
    args: &Value,
) -> std::result::Result<(Value, Outcome), (String, Option<Outcome>)> {
    let tool = Tool::new(Lang::Python, RUNNER)
        .with_file("tool.py", code)
        .with_stdin(serde_json::to_vec(args).expect("json"));
    let outcome = sandbox
        .run(&tool)
        .await
        .map_err(|e| (e.to_string(), None))?;
    if !RunReport::passed(&outcome) {
        return Err((failure("the method", &outcome), Some(outcome)));
    }
    match serde_json::from_str(outcome.stdout.trim()) {
        Ok(v) => Ok((v, outcome)),
        Err(e) => Err((
            format!(
                "it printed {:?}, not a JSON value ({e})",
                tail(&outcome.stdout)
            ),
            Some(outcome),
        )),
    }
}

/// Why a sandbox run failed, in a sentence BRICK (and the user) can act on.
fn failure(what: &str, o: &Outcome) -> String {
    match o.cause {
        Cause::Exited => format!(
            "{what} exited with {}: {}",
            o.exit_code.unwrap_or(-1),
            tail(o.stderr.trim())
        ),
        Cause::Timeout => format!("{what} ran out of time"),
        Cause::Oom => format!("{what} ran out of memory"),
        Cause::OutputCap => format!("{what} printed too much"),
        Cause::Refused => format!(
            "the sandbox refused to run {what}: {}",
            o.reason.as_deref().unwrap_or("")
        ),
    }
}

/// The shape BRICK's reply must have (Ollama's structured outputs hold the model to it).
fn reply_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "code": {"type": "string", "description": "tool.py, defining run(args)"},
            "test": {"type": "string", "description": "test.py, which imports run from tool and asserts"}
        },
        "required": ["code", "test"]
    })
}

/// The code and test from BRICK's reply: a JSON object `{"code", "test"}`, alone or in a
/// fenced block.
pub fn parse_reply(reply: &str) -> std::result::Result<(String, String), String> {
    let text = reply.trim();
    let start = text.find('{');
    let end = text.rfind('}');
    let Some((start, end)) = start.zip(end).filter(|(s, e)| s < e) else {
        return Err(format!(
            "the reply held no JSON object: {:?}",
            excerpt(text)
        ));
    };
    let value: Value = serde_json::from_str(&text[start..=end])
        .map_err(|e| format!("the reply's JSON does not parse ({e}): {:?}", excerpt(text)))?;
    let field = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
            .ok_or_else(|| format!("the reply's JSON has no {name:?} string"))
    };
    Ok((field("code")?, field("test")?))
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn excerpt(text: &str) -> String {
    text.chars().take(200).collect()
}

fn tail(text: &str) -> String {
    let count = text.chars().count();
    if count <= TAIL {
        text.to_string()
    } else {
        text.chars().skip(count - TAIL).collect()
    }
}

fn compact(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 300 {
        s.chars().take(300).collect::<String>() + "…"
    } else {
        s
    }
}

/// The image's Invoker in the product: a method runs in the sandbox.
pub struct SandboxInvoker;

impl Invoker for SandboxInvoker {
    fn invoke(&self, call: Invocation) -> BoxFuture<'_, telos_image::Result<Value>> {
        Box::pin(async move {
            let failed = |message: String| telos_image::Error::InvocationFailed {
                receiver: call.receiver.name.clone(),
                selector: call.selector.clone(),
                message,
            };
            if call.method.language != "python" {
                return Err(failed(format!(
                    "its language is {:?}; the sandbox runs python methods",
                    call.method.language
                )));
            }
            let sandbox = Sandbox::locate().map_err(|e| failed(e.to_string()))?;
            invoke(&sandbox, &call.method.source, &call.args)
                .await
                .map(|(v, _)| v)
                .map_err(|(why, _)| failed(why))
        })
    }
}

/// The image's doesNotUnderstand in the product: forge the method, then answer with it.
pub struct ForgeOnMiss {
    pub forge: Forge,
}

impl DoesNotUnderstand for ForgeOnMiss {
    fn not_understood(
        &self,
        image: Image,
        receiver: Arc<Object>,
        selector: String,
        args: Value,
    ) -> BoxFuture<'_, telos_image::Result<Value>> {
        Box::pin(async move {
            let slots: Vec<&str> = receiver.slots.keys().map(String::as_str).collect();
            let mut description = format!(
                "answer the message {selector:?} sent to {:?}",
                receiver.name
            );
            if !slots.is_empty() {
                description.push_str(&format!(" (its own slots: {})", slots.join(", ")));
            }
            description.push('.');
            let outcome = self
                .forge
                .forge(
                    &image,
                    receiver.id.as_str(),
                    &selector,
                    &description,
                    Some(args),
                )
                .await;
            match outcome {
                Ok(o) => Ok(o.result.unwrap_or(Value::Null)),
                Err(e) => Err(telos_image::Error::NotUnderstoodForgeFailed {
                    receiver: receiver.name.clone(),
                    selector,
                    why: e.to_string(),
                }),
            }
        })
    }
}

impl Telos {
    /// The forge, with BRICK and the sandbox this Telos uses.
    pub fn forge(&self) -> Forge {
        Forge {
            scheduler: self.scheduler().clone(),
            attempts: self.forge_attempts,
        }
    }

    /// Forges `selector` for `receiver` (see [`Forge::forge`]).
    pub async fn forge_method(
        &self,
        receiver: &str,
        selector: &str,
        description: &str,
    ) -> Result<ForgeOutcome> {
        self.forge()
            .forge(self.image(), receiver, selector, description, None)
            .await
    }

    /// Resumes a suspended forge cycle, with the user's edit of one attempt's code.
    pub async fn resume_forge(&self, cycle: &str, edit: Option<Edit>) -> Result<ForgeOutcome> {
        self.forge().resume(self.image(), cycle, edit).await
    }
}

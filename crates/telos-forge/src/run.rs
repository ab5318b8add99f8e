//! The forge's loop: attempts until one passes (the method installed, the cycle committed) or
//! none is left (the cycle aborted and kept suspended with its whole story).

use std::time::Instant;

use serde_json::{Value, json};
use telos_image::{Cycle, Method, ObjectId, Provenance};
use telos_persona::{Codex, resolve_persona};
use telos_sandbox::Tool;
use telos_sandbox::proto::{Cause, Lang};

use crate::error::{Error, Result};
use crate::sandbox::{failure, invoke};
use crate::task::{Attempt, ForgeTask, Forged, RunReport};
use crate::text::compact;
use crate::{FORGER, Forge, ForgeProgress, ms_since};

impl Forge {
    /// Forges `selector` for `receiver` as one cycle. `Ok` says what was installed; a forge
    /// whose every attempt failed is `Err(ForgeFailed)` naming its suspended cycle.
    pub async fn forge(
        &self,
        receiver: &str,
        selector: &str,
        description: &str,
        args: Option<Value>,
    ) -> Result<Forged> {
        let image = self.voice.image();
        let object = image.resolve(receiver)?;
        telos_image::check_selector(selector)?;
        let forger = resolve_persona(image, FORGER).map_err(|_| Error::NoForger(FORGER.into()))?;
        let codex = Codex::of(image, &forger);
        // The model that will answer: BRICK's own, or the embedded fallback.
        let model = match self.voice.route(&forger).await {
            Ok(route) => route.model,
            Err(_) => codex.model,
        };
        let task = ForgeTask {
            kind: "forge".into(),
            receiver: object.id.to_string(),
            receiver_name: object.name.clone(),
            selector: selector.to_string(),
            description: description.to_string(),
            args,
            persona: codex.name,
            model,
            attempts: Vec::new(),
        };
        let cycle = image.begin(&format!("forge {}.{selector}", object.name));
        self.attempt_all(cycle, task, None).await
    }

    /// The attempts, until one passes or none is left. A failure that is not the tool's — the
    /// model or the sandbox unavailable — ends the forge at once with its trace kept, and
    /// costs no attempt. `first` (the user's edit) is tried before BRICK is asked.
    pub(crate) async fn attempt_all(
        &self,
        cycle: Cycle,
        task: ForgeTask,
        first: Option<Attempt>,
    ) -> Result<Forged> {
        let (receiver, selector) = (task.receiver_name.clone(), task.selector.clone());
        let forged = self.attempts_told(cycle, task, first).await;
        if let Err(Error::ForgeFailed { cycle, why }) = &forged {
            self.herald.tell(ForgeProgress::Suspended {
                receiver,
                selector,
                cycle: cycle.clone(),
                why: why.clone(),
            });
        }
        forged
    }

    async fn attempts_told(
        &self,
        mut cycle: Cycle,
        mut task: ForgeTask,
        first: Option<Attempt>,
    ) -> Result<Forged> {
        if let Err(why) = self.runner.ready() {
            return Err(suspend(cycle, &task, why).await);
        }
        let Some(receiver) = ObjectId::parse(&task.receiver) else {
            let why = format!("the receiver's id {:?} is not an object id", task.receiver);
            return Err(suspend(cycle, &task, why).await);
        };
        let mut budget = self.attempts;
        let of = task.attempts.len() as u32 + budget + u32::from(first.is_some());
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
                    self.herald.tell(ForgeProgress::Writing {
                        receiver: task.receiver_name.clone(),
                        selector: task.selector.clone(),
                        persona: task.persona.clone(),
                        attempt: task.attempts.len() as u32 + 1,
                        of,
                    });
                    match self.ask(&task).await {
                        Ok(a) => a,
                        Err(e) => {
                            // What was asked stays in the trace with why no answer came.
                            let n = task.attempts.len() + 1;
                            let text = crate::ask::prompt(&task);
                            cycle.note("prompt", json!({"attempt": n, "text": text}));
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
                self.herald.tell(ForgeProgress::Testing {
                    receiver: task.receiver_name.clone(),
                    selector: task.selector.clone(),
                    attempt: attempt.n,
                    of,
                });
                match self
                    .try_attempt(&task, &code, &test, &mut attempt, &mut cycle)
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
            self.herald.tell(if passed {
                ForgeProgress::Passed {
                    receiver: task.receiver_name.clone(),
                    selector: task.selector.clone(),
                    attempt: n,
                }
            } else {
                ForgeProgress::Failed {
                    receiver: task.receiver_name.clone(),
                    selector: task.selector.clone(),
                    attempt: n,
                    of,
                    why: attempt
                        .why
                        .clone()
                        .unwrap_or_else(|| "no code in the reply".into()),
                }
            });
            task.attempts.push(attempt);
            cycle.set_task(serde_json::to_value(&task).expect("json"));
            if passed {
                return install(cycle, task, &receiver, n, result).await;
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
        task: &ForgeTask,
        code: &str,
        test: &str,
        attempt: &mut Attempt,
        cycle: &mut Cycle,
    ) -> std::result::Result<Option<Value>, String> {
        let tool = Tool::new(Lang::Python, test).with_file("tool.py", code);
        let started = Instant::now();
        let ran = self.runner.run(&tool).await;
        attempt.sandbox_ms += ms_since(started);
        let outcome = ran?;
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
        let invoked = invoke(self.runner.as_ref(), code, args).await;
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
}

/// Installs the last attempt's code as the receiver's method (source, test, doc and
/// provenance) and commits the cycle.
async fn install(
    mut cycle: Cycle,
    task: ForgeTask,
    receiver: &ObjectId,
    n: u32,
    result: Option<Value>,
) -> Result<Forged> {
    let last = task.attempts.last().expect("the passing attempt");
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
    if let Err(e) = cycle.set_method(receiver, &task.selector, method) {
        // The receiver went away mid-forge, say: kept, like any failed forge.
        return Err(suspend(cycle, &task, format!("installing the method: {e}")).await);
    }
    // A commit that fails records the cycle as aborted, task and all.
    let record = cycle.commit().await?;
    Ok(Forged {
        record,
        attempts: n,
        result,
        task,
    })
}

/// Ends a forge that failed: the cycle aborts (nothing it staged is written) and is kept
/// suspended with the task as far as it got; the error names it.
pub(crate) async fn suspend(mut cycle: Cycle, task: &ForgeTask, why: String) -> Error {
    cycle.set_task(serde_json::to_value(task).expect("json"));
    match cycle.abort(&why).await {
        Ok(record) => Error::ForgeFailed {
            cycle: record.id,
            why,
        },
        Err(e) => Error::from(e),
    }
}

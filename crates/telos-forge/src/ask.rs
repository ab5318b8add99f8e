//! Asking BRICK, through its voice, for a tool and its test — and telling it what went wrong
//! with the last attempt.

use std::time::Instant;

use telos_persona::{Turn, resolve_persona};

use crate::error::Result;
use crate::reply::{parse_reply, reply_schema};
use crate::task::{Attempt, ForgeTask};
use crate::text::compact;
use crate::{Forge, ms_since};

impl Forge {
    /// One request to the forger: the task, and what went wrong before. A reply that is not
    /// the JSON asked for is an attempt that failed (BRICK is told why), not an error.
    pub(crate) async fn ask(&self, task: &ForgeTask) -> Result<Attempt> {
        let n = task.attempts.len() as u32 + 1;
        let prompt = prompt(task);
        let persona = resolve_persona(self.voice.image(), &task.persona)?;
        let turn = Turn {
            format: Some(reply_schema()),
            ..Turn::new(prompt.clone())
        };
        let asked = Instant::now();
        let reply = self.voice.say(&persona, turn).await?;
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

/// What BRICK is asked: the method, its arguments, and the last attempt's failure.
pub(crate) fn prompt(task: &ForgeTask) -> String {
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
    prompt
}

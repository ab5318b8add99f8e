//! The sandbox seam: what runs a tool's code. The forge is given a [`Runner`]; in the product
//! it is [`LocatedSandbox`], the youki sandbox (DESIGN invariant 4), and tests may give a
//! fake. A method runs as `tool.py` under a small runner: its arguments as JSON on stdin, the
//! JSON of `run(args)` on stdout (the tool's own prints go to stderr).

use serde_json::Value;
use telos_image::BoxFuture;
use telos_sandbox::proto::{Cause, Lang, Outcome};
use telos_sandbox::{Sandbox, Tool};

use crate::task::RunReport;
use crate::text::tail;

/// Runs a method: `tool.py` is its source; this is `main.py`. The tool's own prints go to
/// stderr, so stdout holds only the result.
const RUNNER: &str = "import contextlib, json, sys\nargs = json.load(sys.stdin)\nwith contextlib.redirect_stdout(sys.stderr):\n    import tool\n    result = tool.run(args)\nsys.stdout.write(json.dumps(result))\n";

/// What runs tools. `Err` is the runner's own failure (it is missing or broke), never the
/// tool's: a tool that fails is an `Outcome` saying how.
pub trait Runner: Send + Sync {
    /// Whether tools can run at all (checked before BRICK is asked, so no attempt is spent).
    fn ready(&self) -> Result<(), String>;
    fn run<'a>(&'a self, tool: &'a Tool) -> BoxFuture<'a, Result<Outcome, String>>;
}

/// The product's runner: the sandbox helper and rootfs where Telos installs them, found at
/// each run (so a rootfs built after Telos opened is used).
pub struct LocatedSandbox;

impl Runner for LocatedSandbox {
    fn ready(&self) -> Result<(), String> {
        Sandbox::locate()
            .map(drop)
            .map_err(|e| format!("the sandbox is not available: {e}"))
    }

    fn run<'a>(&'a self, tool: &'a Tool) -> BoxFuture<'a, Result<Outcome, String>> {
        Box::pin(async move {
            let sandbox =
                Sandbox::locate().map_err(|e| format!("the sandbox is not available: {e}"))?;
            sandbox
                .run(tool)
                .await
                .map_err(|e| format!("the sandbox failed: {e}"))
        })
    }
}

/// Runs `code`'s `run(args)`; its JSON answer, or why not (with the run, when there was one).
pub(crate) async fn invoke(
    runner: &dyn Runner,
    code: &str,
    args: &Value,
) -> Result<(Value, Outcome), (String, Option<Outcome>)> {
    let tool = Tool::new(Lang::Python, RUNNER)
        .with_file("tool.py", code)
        .with_stdin(serde_json::to_vec(args).expect("json"));
    let outcome = runner.run(&tool).await.map_err(|e| (e, None))?;
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

/// Why a run failed, in a sentence BRICK (and the user) can act on.
pub(crate) fn failure(what: &str, o: &Outcome) -> String {
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

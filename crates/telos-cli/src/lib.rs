//! `telos`: every core operation of Telos, scriptable. `--json` puts machine-readable output on
//! stdout; errors go to stderr with a non-zero exit and name the bad input.

#[macro_use]
mod out;
mod backup;
mod commands;
mod concepts;
mod learn;
mod mind;
mod models;
mod remote;
mod sandbox;
mod scheduler;
mod show;
mod vsa;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use remote::{SOCKET, serve, socket_path};

/// Telos, a living image of prototype objects, from the command line.
#[derive(Parser, Debug)]
#[command(name = "telos", version, about, long_about = None)]
pub struct Cli {
    /// Data dir (default: $TELOS_DATA_DIR, else the platform data dir, e.g. ~/.local/share/telos).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Image store: surrealkv://PATH (default DATA_DIR/image), mem://, or ws[s]://HOST:PORT
    /// (also $TELOS_ENDPOINT; server credentials from $TELOS_DB_USER and $TELOS_DB_PASS).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create the data dir and awaken the image (idempotent).
    Init,
    /// Objects of the image.
    #[command(subcommand)]
    Obj(ObjCommand),
    /// Send a message: a slot answers with its value, a method runs, otherwise doesNotUnderstand.
    Send {
        /// Receiver, by name or id.
        object: String,
        /// Slot or method name.
        selector: String,
        /// Arguments as a JSON value (default []).
        args: Option<String>,
    },
    /// History of cycles of thought, and the Debugger's operations on suspended cycles.
    #[command(subcommand)]
    Cycles(CyclesCommand),
    /// The desktop world's morphs: list, move, pin, unpin.
    #[command(subcommand)]
    Morph(MorphCommand),
    /// Ask a persona: grounded in what it remembers, the reply streams to stdout (`--json`:
    /// one JSON event per line). Exits non-zero when Ollama is offline or the reply breaks off.
    #[command(alias = "chat")]
    Ask {
        /// The persona, by name or id.
        persona: String,
        /// What to say.
        message: String,
    },
    /// A dialogue (Socratic Contrapunto): BRICK and ROBIN (or the two personas of `--between`)
    /// argue QUESTION in alternating turns, grounded in what each remembers; ALFRED judges each
    /// round (converged, continue, impasse) and writes the synthesis. The turns stream to stdout (`--json`: one event per line); the
    /// dialogue is recorded as one cycle, or kept suspended when it fails (non-zero exit).
    ///
    /// `--resume CYCLE --turn N TEXT` resumes the dialogue of CYCLE from its turn N (counted
    /// from 0) rewritten as TEXT: the later turns are thought anew as a new cycle, which
    /// resolves CYCLE when it was suspended (`telos cycles show CYCLE` lists the turns).
    Dialogue {
        /// The question (with --turn: the turn's new text).
        question: String,
        /// The most rounds (1 to 10).
        #[arg(long, default_value_t = 3)]
        rounds: u32,
        /// The two sides, in speaking order (default: BRICK ROBIN).
        #[arg(long, num_args = 2, value_names = ["PERSONA", "PERSONA"], conflicts_with = "resume")]
        between: Option<Vec<String>>,
        /// Resume the dialogue of this cycle.
        #[arg(long, value_name = "CYCLE", requires = "turn")]
        resume: Option<String>,
        /// The turn to rewrite (with --resume).
        #[arg(long, value_name = "N", requires = "resume")]
        turn: Option<u32>,
    },
    /// What moved the personas: motives (cognitive dissonance, curiosity deficits) noticed
    /// in the image and memory.
    #[command(subcommand)]
    Motives(mind::MotivesCommand),
    /// ALFRED's agenda: work proposed for motives (a dialogue, research by BABS, a forge, a
    /// re-read), approved, and run as one cycle each within a budget (TELOS_AGENDA_PER_HOUR
    /// acts per hour, default 12; TELOS_AGENDA_SHARE of model time, default 0.2), after any
    /// user request.
    #[command(subcommand)]
    Agenda(mind::AgendaCommand),
    /// Show or set what the agenda may do on its own: off (notice only), ask (propose and
    /// wait for approval; the default) or on (act within the budget).
    Autonomy {
        #[arg(value_parser = ["off", "ask", "on"])]
        setting: Option<String>,
    },
    /// ALFRED judges exchanges not judged yet (of PERSONA, else of every persona) against
    /// each persona's rubric — its codex's values as criteria, and "task done" — as one cycle
    /// of `evaluation` objects. What the Curator does on the agenda.
    Curate {
        persona: Option<String>,
        /// Exchanges to judge at most.
        #[arg(long, default_value_t = 8)]
        limit: usize,
        /// The golden dataset's least overall score (1 to 5).
        #[arg(long, default_value_t = telos_core::GOLDEN_MIN)]
        min_score: f64,
    },
    /// PERSONA's golden dataset (its exchanges scored --min-score or more, with scores and
    /// rationales), its performance per week, and its lineage of models.
    Golden {
        persona: String,
        #[arg(long, default_value_t = telos_core::GOLDEN_MIN)]
        min_score: f64,
    },
    /// Golden datasets as files trainers read.
    #[command(subcommand)]
    Dataset(learn::DatasetCommand),
    /// Train a LoRA of PERSONA's golden dataset (its train split) on its model (or --base),
    /// merged and converted to GGUF, registered as gguf:PERSONA-lora-TIME. The trainer is
    /// TELOS_TRAINER (a command taking the reference trainer's arguments), else the reference
    /// trainer (scripts/setup-trainer installs it). Progress on stderr; a log in
    /// DATA_DIR/training/NAME/log.txt.
    Train {
        persona: String,
        /// The base model (an embedded GGUF: gguf:NAME or hf:…); default: the model that
        /// answers for PERSONA now.
        #[arg(long)]
        base: Option<String>,
        /// Optimizer steps.
        #[arg(long, default_value_t = 60)]
        steps: u32,
        #[arg(long, default_value_t = telos_core::GOLDEN_MIN)]
        min_score: f64,
    },
    /// Ascension: try PERSONA on a candidate model. A clone (PERSONA candidate) thinks with
    /// it; both answer the golden dataset's held-out prompts and ALFRED judges each pair twice,
    /// the order swapped. The report (wins, ties, losses, Wilson interval, sign test, change
    /// per criterion, latency, budget) waits for `telos ascend approve` or `reject`;
    /// `telos ascend revert PERSONA` undoes a promotion.
    Ascend(learn::AscendArgs),
    /// Give files to a persona to remember (what a drop on its morph does): each file is
    /// read, chunked, embedded and remembered as one cycle. Progress goes to stderr on a
    /// terminal; `--json` prints the summary. Exits non-zero if any file failed.
    Ingest {
        /// The persona, by name or id.
        #[arg(long)]
        persona: String,
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// What a persona remembers about QUERY, best first (all personas without --persona).
    Recall {
        /// The persona, by name or id.
        #[arg(long)]
        persona: Option<String>,
        query: String,
        /// How many chunks.
        #[arg(short, default_value_t = 5)]
        k: usize,
    },
    /// Memory's health: documents, chunks in the image and in LanceDB, orphans, missing, index.
    Doctor,
    /// The vector-symbolic layer: a persona's symbols (FHRR hypervectors) made and queried
    /// by binding (`*`), unbinding (`/`) and bundling (`+`), answers cleaned up by the index.
    #[command(subcommand)]
    Vsa(vsa::VsaCommand),
    /// Concepts: each persona's memories grouped as they come and named by BABS.
    #[command(subcommand)]
    Concepts(concepts::ConceptsCommand),
    /// Backups of the data dir: create (full or incremental), ls, verify, restore.
    #[command(subcommand)]
    Backup(backup::BackupCommand),
    /// The model scheduler: its status, and what-if replays of request traces.
    #[command(subcommand)]
    Scheduler(SchedulerCommand),
    /// The personas.
    #[command(subcommand)]
    Personas(PersonasCommand),
    /// The models of both runtimes: Ollama's and the embedded runtime's GGUF files.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// The Tool Forge's sandbox: run code in a fresh locked-down container.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Codex amendments: edits of DATA_DIR/codex/NAME.json wait here for a human.
    #[command(subcommand)]
    Amendments(AmendmentsCommand),
    /// Forge a method: BRICK writes SELECTOR for OBJ and a test of its own, the sandbox runs
    /// the test, failures go back to BRICK (TELOS_FORGE_ATTEMPTS times, default 3), and a pass
    /// is installed as one cycle. When every attempt fails nothing is installed and the cycle
    /// is kept suspended (`telos cycles show ID`, `telos cycles resume ID --edit N FILE`).
    Forge {
        /// The receiver, by name or id.
        object: String,
        selector: String,
        /// What the method should do.
        task: String,
    },
    /// Apply a JSON list of operations as ONE cycle, all or nothing.
    ///
    /// Operations: {"op":"new","name":N,"parents":[OBJ…]}, {"op":"set","object":OBJ,"slot":S,"value":V},
    /// {"op":"clone","object":OBJ,"name":N}, {"op":"delete","object":OBJ},
    /// {"op":"add-parent","object":OBJ,"parent":OBJ}.
    Apply {
        /// The operations file ("-" for stdin).
        file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum ObjCommand {
    /// List every object.
    Ls,
    /// Show an object: slots, parents, methods.
    Show {
        /// By name or id.
        object: String,
    },
    /// Create an object.
    New {
        name: String,
        /// A parent, by name or id; repeat for several, highest priority first.
        #[arg(long = "parent", value_name = "OBJ")]
        parents: Vec<String>,
    },
    /// Set a slot to a JSON value.
    Set {
        object: String,
        slot: String,
        /// The value as JSON, e.g. '"red"', '42', '{"a":[1,2]}'.
        #[arg(value_name = "JSON")]
        value: String,
    },
    /// Clone an object (copies its slots and methods, same parents).
    Clone { object: String, new_name: String },
}

#[derive(Subcommand, Debug)]
pub enum CyclesCommand {
    /// List recent cycles, newest first.
    Ls {
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One cycle: its steps, its program and where it failed.
    Show { cycle: String },
    /// What a cycle's program stages after its first N operations (a dry run: never committed).
    Step {
        cycle: String,
        n: usize,
        /// Step an edited program instead, a JSON operation list ("-" for stdin).
        #[arg(long, value_name = "FILE")]
        program: Option<PathBuf>,
    },
    /// Resume a suspended cycle: run its program (or an edited one) as a new cycle; a forge
    /// cycle goes back to the forge (with --edit, attempt STEP's code replaced by FILE's is
    /// tried first).
    Resume {
        cycle: String,
        /// The edited program, a JSON operation list ("-" for stdin).
        #[arg(long, value_name = "FILE", conflicts_with = "edit")]
        program: Option<PathBuf>,
        /// A forge cycle: replace attempt STEP's code with FILE's ("-" for stdin).
        #[arg(long, num_args = 2, value_names = ["STEP", "FILE"])]
        edit: Vec<String>,
    },
    /// Discard (abort for good) a suspended cycle.
    #[command(alias = "abort")]
    Discard { cycle: String },
}

#[derive(Subcommand, Debug)]
pub enum AmendmentsCommand {
    /// Reads the codex files, then lists the pending amendments and any malformed codex
    /// (by file and line). Exits non-zero if a codex is malformed.
    Ls,
    /// Approves an amendment: it commits to the persona as one cycle.
    Approve { id: String },
    /// Rejects an amendment: the codex file is put back.
    Reject { id: String },
}

#[derive(Subcommand, Debug)]
pub enum SandboxCommand {
    /// Run FILE as a tool: read-only root, no network but its own loopback, no capabilities,
    /// memory, process and CPU limits, a wall-clock timeout and output caps. Prints its
    /// stdout and stderr (`--json`: exit code, stdout, stderr, duration and cause) and exits
    /// with the tool's exit code (124 on timeout, 125 when the sandbox refused).
    Run {
        /// The tool's code.
        file: PathBuf,
        /// python or sh.
        #[arg(long, default_value = "python")]
        lang: String,
        /// A file to give the tool as its stdin.
        #[arg(long, value_name = "FILE")]
        stdin: Option<PathBuf>,
        /// Seconds before the container is killed.
        #[arg(long, value_name = "S", default_value_t = 10.0)]
        timeout: f64,
        /// Memory of the whole container, in MiB.
        #[arg(long, value_name = "MB", default_value_t = 256)]
        memory: u64,
        /// Arguments for the tool.
        #[arg(last = true)]
        args: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum PersonasCommand {
    /// The personas: model, keep-alive, priority, role, and the model's state now.
    Ls,
}

#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// Every model: runtime, size (loaded: weights and KV cache; Ollama: on disk), loaded
    /// or not, and the personas it answers.
    Ls,
    /// Fetch a model, with progress: hf:OWNER/REPO/FILE.gguf[@REVISION] from the Hugging
    /// Face hub into the models folder (resumable, pinned to a commit, checked by SHA-256),
    /// or an Ollama tag (e.g. phi3:3.8b) into Ollama. The data dir is not opened.
    Pull { model: String },
}

#[derive(Subcommand, Debug)]
pub enum SchedulerCommand {
    /// What is loaded, VRAM used / budget, queues, and whether Ollama answers.
    Status,
    /// Replay a trace of requests against a simulated GPU (or several: --hosts) with the real
    /// scheduler code and report loads, unloads, bytes loaded, total and p95 wait and peak
    /// VRAM per policy.
    /// Uses the default personas (DESIGN.md's table); the data dir is not opened.
    ///
    /// Trace format: one JSON object per line, {"at": SECONDS, "persona": NAME,
    /// "prompt_tokens": N, "reply_tokens": N}, `at` non-decreasing; `#` lines are comments.
    Replay {
        /// The trace (JSON lines).
        trace: PathBuf,
        /// The VRAM budget, e.g. 8GiB, 12GB.
        #[arg(long, default_value = "8GiB")]
        budget: String,
        /// telos, ollama-default, unload-always or optimum; repeat or comma-separate for
        /// several (default: all four, side by side).
        #[arg(long, value_delimiter = ',')]
        policy: Vec<String>,
        /// What-if a model's VRAM footprint, e.g. --size gemma2:9b=6.1GB (repeatable).
        #[arg(long = "size", value_name = "MODEL=SIZE")]
        sizes: Vec<String>,
        /// Several simulated GPU hosts, one VRAM budget each (e.g. --hosts 8GiB,8GiB, or
        /// the URL=BUDGET list OLLAMA_HOSTS takes): each persona's model is placed on one
        /// as the live scheduler places it. Replaces --budget.
        #[arg(long, value_delimiter = ',', value_name = "BUDGET")]
        hosts: Vec<String>,
    },
    /// Write a synthetic mixed trace to stdout (sessions of requests per persona, think
    /// times, interjections), to replay.
    Trace {
        /// How many requests.
        #[arg(long, default_value_t = 1000)]
        requests: usize,
        /// Seed: one seed, one trace.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// A dialogue-heavy trace instead: Socratic dialogues (BRICK and ROBIN in turns,
        /// ALFRED's verdicts and synthesis), each turn asked when the one before it ends,
        /// with a user's request now and then.
        #[arg(long)]
        dialogues: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum MorphCommand {
    /// List the morphs: personas and pinned objects, with positions and status.
    Ls,
    /// Move a morph (its object's `position` slot), in logical pixels.
    Move {
        object: String,
        #[arg(allow_negative_numbers = true)]
        x: f64,
        #[arg(allow_negative_numbers = true)]
        y: f64,
    },
    /// Pin an object to the world: it gets a morph.
    Pin { object: String },
    /// Unpin an object.
    Unpin { object: String },
}

/// The `telos` binary: parses the command line, runs the command, prints how it ended.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TELOS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(telos_core::DEFAULT_LOG)),
        )
        .with_writer(std::io::stderr)
        .init();
    telos_core::memory::embed::tune_allocator();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let json = cli.json;
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json {
                let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
                eprintln!(
                    "{}",
                    serde_json::json!({ "error": message(&e), "causes": chain })
                );
            } else {
                eprintln!("error: {}", message(&e));
            }
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each cause once: core errors already name their
/// source in their own message, so a cause that is already said is not repeated.
pub(crate) fn message(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

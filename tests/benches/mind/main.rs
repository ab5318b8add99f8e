//! The mind's benchmark, measured in one run against the FAKE Ollama (every model reply
//! scripted here; token time zero, so what is left is Telos's own work) with the real MiniLM
//! embedder, the real image and memory:
//!
//! 1. A scripted replay of 100 questions: rounds per dialogue, how dialogues end, the share
//!    that ends at the cap — and the overhead per model call beyond model time (goal ≤ 20 ms):
//!    grounding, prompts, events, the trace, the stance check and the record, everything a
//!    dialogue does that is not the model.
//! 2. Detector precision on a labelled set staged with real operations (documents read, chats
//!    grounded by real recall, dialogues, forges in the sandbox): goal ≥ 0.9.
//! 3. The agenda's share of time under load (a user chatting throughout, every act raising a
//!    new motive) against its budget, and the user's wait beside the same load without it.
//!
//! Run: `cargo bench --workspace --bench mind_bench --profile dev` (root: the sandbox).
//! `TELOS_BENCH_SCALE` scales the number of questions and the time under load.

mod agenda;
mod detectors;

use std::time::Instant;

use serde_json::Value;
use telos_core::scheduler::Mode;
use telos_core::{Config, DialogueEvent, Ending, Telos};
use telos_tests::bench::{percentile, scale};
use telos_tests::ollama_stub::{OllamaStub, Reply, Script};

/// How the script has a question go: ALFRED converges or finds an impasse after `n` rounds,
/// or keeps saying "continue" while the sides repeat themselves (the stance check's case) or
/// keep moving (the cap's).
#[derive(Debug, Clone, Copy)]
enum Plan {
    Converge(u32),
    Impasse(u32),
    LoopStill,
    LoopMoving,
}

const CAP: u32 = 3;

/// Twenty questions' worth, repeated: 9 converge (4 at once), 3 reach an impasse, 8 loop.
const MIX: [Plan; 20] = {
    use Plan::*;
    [
        Converge(1),
        Converge(2),
        LoopStill,
        Converge(1),
        Impasse(2),
        LoopMoving,
        Converge(3),
        Converge(1),
        LoopStill,
        Converge(2),
        LoopMoving,
        Impasse(1),
        Converge(1),
        LoopStill,
        Converge(2),
        LoopMoving,
        Impasse(3),
        LoopStill,
        Converge(3),
        LoopMoving,
    ]
};

const TOPICS: [&str; 10] = [
    "fly a kite in winter",
    "bake our own bread",
    "learn to sail",
    "keep bees in the city",
    "move the meeting to Friday",
    "rewrite the parser",
    "plant an orchard",
    "buy an electric car",
    "take the night train",
    "read more poetry",
];

const BRICK_SAYS: [&str; 6] = [
    "The cost is the first assumption to test: it is lower than it looks.",
    "Time is the binding constraint; everything else follows from the schedule.",
    "The evidence we have is thin, so the safe inference is a small trial.",
    "Risk concentrates in the first week; after that the numbers settle.",
    "Nothing in the data rules it out, and two things speak for it.",
    "The alternative costs more in maintenance than it saves in money.",
];

const ROBIN_SAYS: [&str; 6] = [
    "It would make people happy, and that matters more than the cost.",
    "Everyone involved would feel heard if we asked them first.",
    "There is joy in doing it together, even if it takes longer.",
    "Some would feel left out; we should plan for them gently.",
    "It feels like a small adventure, and we need one this winter.",
    "Trust grows when we try things and forgive the failures.",
];

fn verdict(v: &str) -> Reply {
    Reply::Text(serde_json::json!({"verdict": v, "reason": "scripted"}).to_string())
}

impl Plan {
    fn rounds(self) -> u32 {
        match self {
            Plan::Converge(n) | Plan::Impasse(n) => n,
            Plan::LoopStill | Plan::LoopMoving => CAP,
        }
    }

    fn ending(self) -> Ending {
        match self {
            Plan::Converge(_) => Ending::Converged,
            Plan::Impasse(_) => Ending::Impasse,
            Plan::LoopStill => Ending::Stalled,
            Plan::LoopMoving => Ending::Cap,
        }
    }

    /// Appends this question's replies to each model's queue.
    fn script(self, i: usize, s: &mut Script) {
        let say = |list: &[&str; 6], round: u32| {
            let at = match self {
                Plan::LoopStill => i,
                _ => i + round as usize,
            };
            Reply::Text(list[at % list.len()].to_string())
        };
        for round in 1..=self.rounds() {
            let last = round == self.rounds();
            s.replies
                .entry("mistral:7b".into())
                .or_default()
                .push(say(&BRICK_SAYS, round));
            s.replies
                .entry("gemma2:9b".into())
                .or_default()
                .push(say(&ROBIN_SAYS, round));
            let v = match self {
                Plan::Converge(_) if last => verdict("converged"),
                Plan::Impasse(_) if last => verdict("impasse"),
                _ => verdict("continue"),
            };
            s.replies.entry("phi3:3.8b".into()).or_default().push(v);
        }
        s.replies
            .entry("phi3:3.8b".into())
            .or_default()
            .push(Reply::Text(
                "Both sides had a point; we try it small.".into(),
            ));
    }
}

/// One dialogue's figures.
struct Measured {
    rounds: u32,
    ending: Ending,
    /// Per model call (turns, verdicts, synthesis): its time beyond the model's.
    in_turn: Vec<f64>,
    /// The whole dialogue's time beyond the model's, per model call.
    per_call: f64,
    /// Outside the model calls (and the next speaker's load while ALFRED judges): stance
    /// checks, the record, the events.
    outside: f64,
}

async fn replay(telos: &Telos, question: &str) -> Measured {
    let started = Instant::now();
    let mut rx = telos.dialogue(question, CAP).expect("the dialogue starts");
    let mut done = None;
    while let Some(e) = rx.recv().await {
        match e {
            DialogueEvent::Done { cycle, ending, .. } => done = Some((cycle, ending)),
            DialogueEvent::Failed { message, .. } => panic!("{question}: {message}"),
            _ => {}
        }
    }
    let wall = started.elapsed().as_secs_f64() * 1e3;
    let (cycle, ending) = done.expect("the dialogue ended");
    let record = telos.image().cycle(&cycle).await.expect("its cycle");
    let (mut in_turn, mut model, mut calls, mut turns_ms) = (Vec::new(), 0.0, 0.0, 0.0);
    let mut rounds = 0;
    // Loading the next speaker's model while ALFRED judges is model time too: what of it
    // outlasted the verdict.
    let (mut judged, mut loading) = (std::collections::HashMap::new(), 0.0);
    for step in &record.steps {
        let d = &step.detail;
        match step.op.as_str() {
            "verdict" => {
                judged.insert(d["round"].as_u64(), d["ms"].as_f64().unwrap_or(0.0));
            }
            "prepare" => {
                let verdict = judged.get(&d["round"].as_u64()).copied().unwrap_or(0.0);
                loading += (d["ms"].as_f64().unwrap_or(0.0) - verdict).max(0.0);
            }
            _ => {}
        }
    }
    for step in &record.steps {
        if !matches!(step.op.as_str(), "turn" | "verdict" | "synthesis") {
            continue;
        }
        let d = &step.detail;
        let (Some(ms), Some(m)) = (d["ms"].as_f64(), d["model_ms"].as_f64()) else {
            panic!("{} step without its times: {d}", step.op)
        };
        in_turn.push(ms - m);
        model += m;
        turns_ms += ms;
        calls += 1.0;
        rounds = rounds.max(d["round"].as_u64().unwrap_or(0) as u32);
    }
    Measured {
        rounds,
        ending,
        in_turn,
        per_call: (wall - model - loading) / calls,
        outside: wall - turns_ms - loading,
    }
}

async fn dialogues(n: usize) {
    let mut script = Script::design_table();
    script.token_ms = 0;
    // BRICK and ROBIN each remember a document (summarised by their own model first), so
    // every turn's grounding searches real memory.
    for model in ["mistral:7b", "gemma2:9b"] {
        script
            .replies
            .insert(model.into(), vec![Reply::Text("A summary.".into())]);
    }
    let plans: Vec<Plan> = (0..n).map(|i| MIX[i % MIX.len()]).collect();
    for (i, p) in plans.iter().enumerate() {
        p.script(i, &mut script);
    }
    let stub = OllamaStub::start(script);
    let (telos, _dir) = telos_on(&stub, |_| {}).await;
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/docs");
    for (persona, file) in [("BRICK", "notes.md"), ("ROBIN", "story.txt")] {
        detectors::read(&telos, persona, &[docs.join(file)]).await;
    }

    let mut all = Vec::new();
    for (i, plan) in plans.iter().enumerate() {
        let question = format!("Question {i}: should we {}?", TOPICS[i % TOPICS.len()]);
        let m = replay(&telos, &question).await;
        assert_eq!(
            (m.ending, m.rounds),
            (plan.ending(), plan.rounds()),
            "{question} ({plan:?}): the script and the dialogue disagree"
        );
        all.push(m);
    }
    telos.shutdown().await.unwrap();

    let count = |e: Ending| all.iter().filter(|m| m.ending == e).count();
    let share = |k: usize| 100.0 * k as f64 / all.len() as f64;
    let mean_rounds = all.iter().map(|m| m.rounds as f64).sum::<f64>() / all.len() as f64;
    let by_rounds: Vec<String> = (1..=CAP)
        .map(|r| format!("{r}: {}", all.iter().filter(|m| m.rounds == r).count()))
        .collect();
    let past_cap = all.iter().filter(|m| m.rounds > CAP).count();
    println!(
        "dialogues: {} scripted questions (cap {CAP}); rounds per dialogue mean {mean_rounds:.2} \
         ({}); endings: converged {:.0}%, impasse {:.0}%, stalled (stance check) {:.0}%, at the \
         cap {:.0}%; past the cap: {past_cap}",
        all.len(),
        by_rounds.join(", "),
        share(count(Ending::Converged)),
        share(count(Ending::Impasse)),
        share(count(Ending::Stalled)),
        share(count(Ending::Cap)),
    );
    // The first dialogue warms the embedder and the models' loads.
    let warm = &all[1.min(all.len() - 1)..];
    let mut in_turn: Vec<f64> = warm.iter().flat_map(|m| m.in_turn.clone()).collect();
    let mut per_call: Vec<f64> = warm.iter().map(|m| m.per_call).collect();
    let mut outside: Vec<f64> = warm.iter().map(|m| m.outside).collect();
    let med = percentile(&mut per_call, 0.5);
    println!(
        "overhead beyond model time, per model call: median {med:.1} ms, p95 {:.1} ms (goal ≤ 20 ms: \
         {}); within a call (grounding, prompt, events, trace) median {:.1} ms, p95 {:.1}; per \
         dialogue outside the calls (stance checks, the record) median {:.1} ms",
        percentile(&mut per_call, 0.95),
        if med <= 20.0 { "met" } else { "MISSED" },
        percentile(&mut in_turn, 0.5),
        percentile(&mut in_turn, 0.95),
        percentile(&mut outside, 0.5),
    );
}

/// Telos on the FAKE Ollama `stub` in a fresh data dir (gone when the guard is dropped), with
/// `tune` applied to its configuration.
pub(crate) async fn telos_on(
    stub: &OllamaStub,
    tune: impl FnOnce(&mut Config),
) -> (Telos, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::from_data_dir(dir.path());
    config.ollama_host = stub.url();
    config.llm = Mode::Ollama;
    tune(&mut config);
    (Telos::open(config).await.expect("open Telos"), dir)
}

/// The evidence field `key` as text.
pub(crate) fn field<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n = ((100.0 * scale()) as usize).max(20);
    dialogues(n).await;
    detectors::precision().await;
    agenda::under_load(scale()).await;
}

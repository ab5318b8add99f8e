//! Detector precision on a labelled set staged with real operations: BABS reads documents
//! (the real embedder), is asked questions on some of them and on nothing she read (real
//! recall decides the grounding), is given a file that cannot be read and one that can be
//! read the second time; dialogues converge, reach an impasse and contradict each other;
//! forges fail and are left suspended, given up, or given up and then done. Each case is
//! labelled by what a reader would want noticed; the detectors' motives are matched against
//! the labels.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::json;
use telos_core::{ChatEvent, DialogueEvent, IngestEvent, Motive, Signal, Telos};
use telos_tests::ollama_stub::{OllamaStub, Reply, Script};

use super::{field, telos_on};

/// Reads `paths` into `persona`'s memory and waits for the summaries.
pub(crate) async fn read(telos: &Telos, persona: &str, paths: &[PathBuf]) {
    let mut rx = telos.ingest(persona, paths).expect("the ingest starts");
    while let Some(e) = rx.recv().await {
        if let IngestEvent::SummaryFailed { path, message } = e {
            panic!("summarising {path}: {message}");
        }
    }
}

async fn ask(telos: &Telos, persona: &str, question: &str) {
    let mut rx = telos.chat(persona, question).expect("the chat starts");
    while let Some(e) = rx.recv().await {
        match e {
            ChatEvent::Done { .. } => return,
            ChatEvent::Failed { message, .. } | ChatEvent::Offline { message } => {
                panic!("{question}: {message}")
            }
            _ => {}
        }
    }
}

async fn argue(telos: &Telos, question: &str, rounds: u32) {
    let mut rx = telos
        .dialogue(question, rounds)
        .expect("the dialogue starts");
    while let Some(e) = rx.recv().await {
        if let DialogueEvent::Failed { message, .. } = e {
            panic!("{question}: {message}");
        }
    }
}

const DOCS: [(&str, &str); 5] = [
    (
        "kites.md",
        "# Kites\n\nA kite stays aloft because wind flowing over its sail creates lift, while \
         the tether holds it at an angle to the wind. Box kites and delta kites fly in light \
         wind; a longer tail steadies a kite that spins. Fly a kite on open ground, far from \
         power lines, in a steady breeze of ten to twenty kilometres an hour.",
    ),
    (
        "bread.md",
        "# Bread\n\nBread rises because yeast ferments the sugars in flour and gives off carbon \
         dioxide, which the gluten network traps. Knead the dough to develop gluten, let it \
         prove until doubled, and bake it hot: a sourdough loaf at 230 degrees for forty \
         minutes, with steam for the first ten so the crust can expand.",
    ),
    (
        "tides.md",
        "# Tides\n\nTides are the rise and fall of the sea caused by the Moon's gravity and, \
         less, the Sun's. Most coasts see two high tides a day, about twelve hours and \
         twenty-five minutes apart. Spring tides, the largest, come at new and full moon; \
         neap tides, the smallest, at the quarter moons.",
    ),
    (
        "lichens.md",
        "# Lichens\n\nA lichen is a partnership between a fungus and an alga or a \
         cyanobacterium. The fungus gives structure and holds water; the partner \
         photosynthesises. Lichens grow a few millimetres a year on bark and stone and are \
         used to date rock surfaces and to monitor air pollution.",
    ),
    (
        "ledgers.md",
        "# Double-entry bookkeeping\n\nEvery transaction is recorded twice, as a debit in one \
         account and a credit in another, so the books balance. Assets equal liabilities \
         plus equity. A trial balance lists every account's total; if debits and credits \
         differ, an entry was posted wrongly.",
    ),
];

const GROUNDED: [&str; 9] = [
    "How does a kite stay up in the wind?",
    "What wind is best for flying a kite?",
    "Why does a kite need a tail?",
    "Why does bread dough rise?",
    "How long should I bake a sourdough loaf?",
    "What does kneading do to bread dough?",
    "What causes the tides of the sea?",
    "When do spring tides happen?",
    "How far apart are two high tides?",
];

const UNGROUNDED: [&str; 6] = [
    "Who won the chess world championship in 1972?",
    "How do I tune the strings of a violin?",
    "What is the capital city of Mongolia?",
    "How many moons does Jupiter have?",
    "Which programming language did Guido van Rossum create?",
    "What is the boiling point of mercury?",
];

/// A forge reply that passes: BRICK's code and its test.
fn passing(selector: &str) -> Reply {
    let test = format!("from tool import run\nassert run([1, 2]) == 3  # {selector}\n");
    Reply::Text(json!({"code": "def run(args):\n    return sum(args)\n", "test": test}).to_string())
}

fn verdict(v: &str) -> Reply {
    Reply::Text(json!({"verdict": v, "reason": "scripted"}).to_string())
}

/// The motive as a label: its signal and what it is about.
fn label(m: &Motive) -> String {
    let e = &m.evidence;
    let file = |p: &str| {
        Path::new(p)
            .file_name()
            .map_or(String::new(), |f| f.to_string_lossy().into_owned())
    };
    let about = match m.signal {
        Signal::Impasse | Signal::Contradiction | Signal::Ungrounded => {
            field(e, "question").to_string()
        }
        Signal::ForgeFailed => field(&e["task"], "selector").to_string(),
        Signal::NotUnderstood => field(e, "selector").to_string(),
        Signal::Recurring => field(e, "class")
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string(),
        Signal::NeverRecalled => file(field(e, "source")),
        Signal::Unread => file(field(e, "path")),
        Signal::Suspended => field(e, "trigger").to_string(),
        Signal::Unjudged | Signal::Unabstracted => field(e, "persona").to_string(),
    };
    format!("{:?}: {about}", m.signal)
}

pub(crate) async fn precision() {
    let mut s = Script::design_table();
    s.token_ms = 0;
    // BABS's summaries and chat replies are the stub's echo. The dialogues: an impasse, a
    // question that converges once and runs to the cap once (a contradiction), one that
    // converges. Then four forges: three fail (BRICK's reply is no code), the third given up
    // is done at last.
    let text = |t: &str| Reply::Text(t.to_string());
    s.replies.insert(
        "mistral:7b".into(),
        vec![
            text("No: the wind at night is unreadable."),
            text("Homemade is cheaper per loaf."),
            text("Homemade costs hours."),
            text("Yes: the tables are exact."),
            text("no code here"),
            text("no code here"),
            text("no code here"),
            passing("glide"),
        ],
    );
    s.replies.insert(
        "gemma2:9b".into(),
        vec![
            text("Yes: night flights are magical."),
            text("And it smells of home."),
            text("But the hours are joyful."),
            text("Sailors trust them."),
        ],
    );
    s.replies.insert(
        "phi3:3.8b".into(),
        vec![
            verdict("impasse"),
            text("They disagree about night."),
            verdict("converged"),
            text("Bake at home."),
            verdict("continue"),
            text("Undecided."),
            verdict("converged"),
            text("Tides are predictable."),
        ],
    );
    let stub = OllamaStub::start(s);
    let (telos, _dir) = telos_on(&stub, |c| c.forge_attempts = 1).await;
    let files = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (name, body) in DOCS {
        let p = files.path().join(name);
        std::fs::write(&p, body).unwrap();
        paths.push(p);
    }
    read(&telos, "BABS", &paths).await;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let (broken, later) = (
        files.path().join("broken.pdf"),
        files.path().join("later.pdf"),
    );
    std::fs::copy(fixtures.join("bad/corrupt.pdf"), &broken).unwrap();
    std::fs::copy(fixtures.join("bad/corrupt.pdf"), &later).unwrap();
    read(&telos, "BABS", &[broken, later.clone()]).await;
    std::fs::copy(fixtures.join("docs/report.pdf"), &later).unwrap();
    read(&telos, "BABS", &[later]).await;
    for q in GROUNDED.iter().chain(&UNGROUNDED) {
        ask(&telos, "BABS", q).await;
    }
    argue(&telos, "Should we fly a kite at night?", 3).await;
    argue(&telos, "Is homemade bread better?", 3).await;
    argue(&telos, "Is homemade bread better?", 1).await;
    argue(&telos, "Are the tides predictable?", 3).await;
    telos_tests::new_object(telos.image(), "kite").await;
    for selector in ["soar", "loop", "glide"] {
        let failed = telos
            .forge_method("kite", selector, "sum the numbers")
            .await;
        assert!(failed.is_err(), "{selector}: BRICK wrote no code");
        if selector != "soar" {
            let recent = telos.image().cycles(3).await.unwrap();
            let suspended = recent.iter().find(|r| r.is_suspended()).unwrap();
            telos.discard(&suspended.id).await.unwrap();
        }
    }
    telos
        .forge_method("kite", "glide", "sum the numbers")
        .await
        .expect("the forge of glide passes at last");

    let mut want: BTreeSet<String> = [
        "Impasse: Should we fly a kite at night?",
        "Impasse: Is homemade bread better?",
        "Contradiction: Is homemade bread better?",
        "ForgeFailed: soar",
        "NotUnderstood: loop",
        "Recurring: forge",
        "NeverRecalled: lichens.md",
        "NeverRecalled: ledgers.md",
        // Read the second time, and then never asked about.
        "NeverRecalled: later.pdf",
        "Unread: broken.pdf",
        // Nothing staged here has been judged, and every persona has spoken three times or
        // more (chats, dialogue turns, ALFRED's syntheses): the Curator's motive, each.
        "Unjudged: ALFRED",
        "Unjudged: BABS",
        "Unjudged: BRICK",
        "Unjudged: ROBIN",
        // What BABS read grew concepts that have no name yet: hers to name.
        "Unabstracted: BABS",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    want.extend(UNGROUNDED.iter().map(|q| format!("Ungrounded: {q}")));
    // And what a reader would not want noticed: the questions her documents answer, the
    // documents they recalled, a dialogue that converged, a file read the second time, a
    // selector given up on and then forged.
    let mut quiet: BTreeSet<String> = GROUNDED
        .iter()
        .map(|q| format!("Ungrounded: {q}"))
        .collect();
    quiet.extend(
        [
            "NeverRecalled: kites.md",
            "NeverRecalled: bread.md",
            "NeverRecalled: tides.md",
            "Impasse: Are the tides predictable?",
            "Unread: later.pdf",
            "NotUnderstood: glide",
        ]
        .map(str::to_string),
    );

    let planned = telos.plan_agenda().await.expect("the detectors run");
    let fired: Vec<String> = planned.motives.iter().map(label).collect();
    let mut seen = BTreeSet::new();
    let mut right = 0;
    let mut wrong = Vec::new();
    for f in &fired {
        if want.contains(f) && seen.insert(f.clone()) {
            right += 1;
        } else {
            wrong.push(f.clone());
        }
    }
    let missed: Vec<&String> = want.iter().filter(|w| !seen.contains(*w)).collect();
    let precision = right as f64 / fired.len().max(1) as f64;
    let recall = right as f64 / want.len() as f64;
    println!(
        "detectors on a labelled set of {} cases to notice (and {} not to): {} motives, \
         precision {precision:.2} (goal ≥ 0.9: {}), recall {recall:.2}",
        want.len(),
        quiet.len(),
        fired.len(),
        if precision >= 0.9 { "met" } else { "MISSED" },
    );
    if !wrong.is_empty() {
        let (on_quiet, other): (Vec<&String>, Vec<&String>) =
            wrong.iter().partition(|w| quiet.contains(*w));
        println!("  fired on cases labelled quiet: {on_quiet:?}; on nothing labelled: {other:?}");
    }
    if !missed.is_empty() {
        println!("  labelled and not fired: {missed:?}");
    }
    telos.shutdown().await.unwrap();
}

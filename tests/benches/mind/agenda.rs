//! The agenda under load: a user chats with ALFRED throughout while every act of the agenda
//! (a forge BRICK cannot write) fails into a new motive and a new forge. Measured: the share
//! of the time the agenda's acts filled against its budget, its share of the model time, acts
//! that started while a user's request ran (the user-first rule: none), and the user's wait
//! for a first word beside the same run without the agenda.

use std::time::{Duration, Instant};

use telos_core::{Autonomy, ChatEvent, WorkKind};
use telos_tests::bench::percentile;
use telos_tests::ollama_stub::{OllamaStub, Reply, Script};

const SHARE: f64 = 0.2;

struct Run {
    /// The user's wait for a first word, per chat (ms).
    waits: Vec<f64>,
    /// The user's chats' whole time (ms).
    user_ms: f64,
    /// The agenda's acts: when each started and how long it took (ms).
    acts: Vec<(i64, f64)>,
    elapsed: f64,
    /// Acts that started while a user's chat ran.
    cut_in: usize,
    motives: usize,
}

async fn run(agenda: bool, secs: f64) -> Run {
    let mut s = Script::design_table();
    s.token_ms = 4;
    let words = |n: usize| vec!["word"; n].join(" ");
    s.replies.insert(
        "mistral:7b".into(),
        (0..1000).map(|_| Reply::Text(words(40))).collect(),
    );
    s.replies.insert(
        "phi3:3.8b".into(),
        (0..1000).map(|_| Reply::Text(words(30))).collect(),
    );
    let stub = OllamaStub::start(s);
    let (telos, _dir) = super::telos_on(&stub, |c| {
        c.forge_attempts = 1;
        c.agenda.per_hour = 10_000;
        c.agenda.share = SHARE;
        c.agenda.tick = Duration::from_millis(100);
    })
    .await;
    telos_tests::new_object(telos.image(), "kite").await;
    if agenda {
        // The first failure; from here every act fails into the next.
        assert!(telos.forge_method("kite", "soar", "fly it").await.is_err());
        telos.set_autonomy(Autonomy::On).await.unwrap();
        telos.run_agenda();
    }
    let began = telos_core::image::now_ms();
    let clock = Instant::now();
    let (mut waits, mut user_ms, mut busy) = (Vec::new(), 0.0, Vec::new());
    while clock.elapsed().as_secs_f64() < secs {
        let from = telos_core::image::now_ms();
        let asked = Instant::now();
        let mut rx = telos.chat("ALFRED", "How are we doing?").unwrap();
        let mut first = None;
        while let Some(e) = rx.recv().await {
            match e {
                ChatEvent::Token { .. } if first.is_none() => {
                    first = Some(asked.elapsed().as_secs_f64() * 1e3);
                }
                ChatEvent::Done { .. } => break,
                ChatEvent::Failed { message, .. } | ChatEvent::Offline { message } => {
                    panic!("the user's chat: {message}")
                }
                _ => {}
            }
        }
        waits.push(first.expect("a first word"));
        user_ms += asked.elapsed().as_secs_f64() * 1e3;
        busy.push((from, telos_core::image::now_ms()));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    if agenda {
        telos.set_autonomy(Autonomy::Off).await.unwrap();
    }
    let elapsed = (telos_core::image::now_ms() - began) as f64;
    let acts: Vec<(i64, f64)> = telos
        .agenda()
        .works
        .into_iter()
        .filter(|w| w.kind == WorkKind::Forge)
        .filter_map(|w| Some((w.started?, w.ms?)))
        .collect();
    let cut_in = acts
        .iter()
        .filter(|(s, _)| busy.iter().any(|(a, b)| *s > a + 50 && s < b))
        .count();
    let motives = telos.motives().len();
    telos.shutdown().await.unwrap();
    Run {
        waits,
        user_ms,
        acts,
        elapsed,
        cut_in,
        motives,
    }
}

pub(crate) async fn under_load(scale: f64) {
    let secs = (20.0 * scale).max(5.0);
    let mut alone = run(false, secs).await;
    let mut loaded = run(true, secs).await;
    let used: f64 = loaded.acts.iter().map(|(_, ms)| ms).sum();
    let longest = loaded.acts.iter().map(|(_, ms)| *ms).fold(0.0, f64::max);
    let share = used / loaded.elapsed;
    let held = used <= SHARE * loaded.elapsed + longest;
    println!(
        "agenda under load ({secs:.0} s of a user chatting, every act raising a new motive): {} \
         acts filled {:.1}% of the time (budget {:.0}%, one act's grace: {}), {:.1}% of the \
         model time beside the user's {} chats; {} motives; acts started during a user's \
         chat: {} (goal 0: {})",
        loaded.acts.len(),
        100.0 * share,
        100.0 * SHARE,
        if held { "met" } else { "MISSED" },
        100.0 * used / (used + loaded.user_ms),
        loaded.waits.len(),
        loaded.motives,
        loaded.cut_in,
        if loaded.cut_in == 0 { "met" } else { "MISSED" },
    );
    let (a50, l50) = (
        percentile(&mut alone.waits, 0.5),
        percentile(&mut loaded.waits, 0.5),
    );
    let (a95, l95) = (
        percentile(&mut alone.waits, 0.95),
        percentile(&mut loaded.waits, 0.95),
    );
    println!(
        "the user's wait for a first word: median {l50:.0} ms with the agenda, {a50:.0} ms \
         without ({:.2}x); p95 {l95:.0} ms, {a95:.0} ms ({:.2}x)",
        l50 / a50,
        l95 / a95
    );
}

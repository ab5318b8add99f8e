use super::*;
use proptest::prelude::*;

fn persona(i: usize, gb: f64, keep_alive: KeepAlive, priority: i32) -> Persona {
    Persona {
        name: format!("P{i}"),
        model: format!("m{i}"),
        keep_alive,
        priority,
        size: Bytes::gb(gb),
    }
}

fn keep_alive() -> impl Strategy<Value = KeepAlive> {
    prop_oneof![
        Just(KeepAlive::Forever),
        Just(KeepAlive::Zero),
        (1u64..900).prop_map(KeepAlive::Seconds),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// DESIGN invariant 5 on random personas, budgets and traces: never more VRAM than
    /// the budget, never a pinned model evicted, every request served or refused (a
    /// deadlock would panic), and never fewer bytes than the optimum.
    #[test]
    fn random_traces_stay_in_budget_and_keep_pinned_models(
        models in prop::collection::vec((0.5f64..7.0, keep_alive(), 0i32..4), 1..6),
        budget_gb in 2.0f64..12.0,
        requests in prop::collection::vec((0.0f64..120.0, 0usize..6, 10u32..4000, 1u32..1000, 0u32..3), 1..120),
    ) {
        let personas: Vec<Persona> = models
            .iter()
            .enumerate()
            .map(|(i, &(gb, k, p))| persona(i, gb, k, p))
            .collect();
        let mut at = 0.0;
        let trace: Vec<Request> = requests
            .iter()
            .map(|&(gap, who, prompt, reply, dialogue)| {
                at += gap;
                Request {
                    dialogue: (dialogue > 0).then_some(dialogue),
                    at,
                    persona: personas[who % personas.len()].name.clone(),
                    prompt_tokens: prompt,
                    reply_tokens: reply,
                }
            })
            .collect();
        let budget = Bytes::gb(budget_gb);
        let mut bytes = Vec::new();
        for how in Replay::ALL {
            let r = replay(&trace, &personas, budget, how, Hardware::default()).unwrap();
            prop_assert!(r.peak_vram <= budget, "{}: peak {} over {}", r.policy, r.peak_vram, budget);
            bytes.push(r.bytes_loaded);
            if matches!(how, Replay::Online(Policy::Telos) | Replay::TelosShared) {
                prop_assert_eq!(r.pinned_evictions, 0);
            }
        }
        prop_assert!(bytes[4] <= bytes[0], "the floor {} above telos {}", bytes[4], bytes[0]);
    }
}

/// Dialogue traffic (BRICK's and ROBIN's models do not fit together beside ALFRED's on
/// 8 GiB): knowing the next speaker, ours waits no longer at p95 than the best online
/// baseline and loads no more than 1.05× the optimum's bytes; with the sides sharing a
/// model it waits less still. A dialogue's turn is never asked before the one before it
/// has been answered.
#[test]
fn dialogue_traffic_meets_the_goals() {
    let personas: Vec<Persona> = [
        ("ALFRED", "phi3:3.8b", 2.2, KeepAlive::Forever),
        ("BRICK", "mistral:7b", 4.1, KeepAlive::DEFAULT),
        ("ROBIN", "gemma2:9b", 5.4, KeepAlive::DEFAULT),
        ("BABS", "qwen2:7b", 4.4, KeepAlive::Zero),
    ]
    .map(|(name, model, gb, keep_alive)| Persona {
        name: name.into(),
        model: model.into(),
        keep_alive,
        priority: 1,
        size: Bytes::gb(gb),
    })
    .into();
    for seed in 1..=3 {
        let hw = Hardware::default();
        let trace = crate::trace::generate_dialogues(&personas, 300, seed, &hw);
        let run = |how| replay(&trace, &personas, Bytes::gib(8), how, hw).unwrap();
        let ours = run(Replay::Online(Policy::Telos));
        let best = [Policy::OllamaDefault, Policy::UnloadAlways]
            .map(|p| run(Replay::Online(p)).p95_wait_s)
            .into_iter()
            .fold(f64::INFINITY, f64::min);
        let optimum = run(Replay::Optimum).bytes_loaded;
        let shared = run(Replay::TelosShared);
        assert!(
            ours.p95_wait_s <= best + 1e-9,
            "seed {seed}: p95 {} over {best}",
            ours.p95_wait_s
        );
        assert!(
            ours.bytes_loaded.0 as f64 <= 1.05 * optimum.0 as f64,
            "seed {seed}: {} bytes against the optimum's {}",
            ours.bytes_loaded,
            optimum
        );
        assert!(shared.total_wait_s < ours.total_wait_s, "seed {seed}");
    }
    // Two turns of one dialogue, the second in the trace before the first could end:
    // it is asked when the first has been answered, and waits for nothing after that.
    let trace: Vec<Request> = [("ALFRED", 0.0), ("ALFRED", 0.1)]
        .map(|(p, at)| Request {
            dialogue: Some(1),
            at,
            persona: p.into(),
            prompt_tokens: 100,
            reply_tokens: 2000,
        })
        .into();
    let r = replay(
        &trace,
        &personas,
        Bytes::gib(8),
        Replay::Online(Policy::Telos),
        Hardware::default(),
    )
    .unwrap();
    assert!(r.p95_wait_s < 1.5, "the load only: {}", r.p95_wait_s);
}

#[test]
fn a_model_that_can_never_fit_is_refused_not_waited_for() {
    // P2's model beside pinned P0's: 9.2 GB, over 8 GiB.
    let personas = [
        persona(0, 2.2, KeepAlive::Forever, 3),
        persona(1, 4.1, KeepAlive::DEFAULT, 2),
        persona(2, 7.0, KeepAlive::DEFAULT, 2),
    ];
    let trace = [("P0", 0.0), ("P2", 1.0), ("P1", 2.0)].map(|(p, at)| Request {
        dialogue: None,
        at,
        persona: p.into(),
        prompt_tokens: 100,
        reply_tokens: 100,
    });
    let r = replay(
        &trace,
        &personas,
        crate::DEFAULT_BUDGET,
        Replay::Online(Policy::Telos),
        Hardware::default(),
    )
    .unwrap();
    assert_eq!((r.refused, r.loads), (1, 2));
}

//! What-if: a trace of requests replayed against a simulated GPU with the real decision code
//! ([`crate::plan::decide`]), or against the offline optimum, reporting loads, bytes loaded,
//! waits and peak VRAM.
//!
//! The simulated backend behaves like Ollama on one GPU: one request at a time per model,
//! models in parallel; a model takes VRAM from the moment its load starts; a load takes
//! `size / load_gb_s`, an unload `unload_s`; a reply takes `prompt / (prefill × rate) +
//! reply / rate` seconds, where the decode rate `rate` is `bandwidth_gb_s / size` tokens a
//! second (decoding is memory-bound); an idle model is unloaded when its keep-alive runs out.
//! Requests are served in arrival order: once the oldest request that needs a load has to
//! wait, no younger request loads before it.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Bytes, KeepAlive, Persona};
use crate::plan::{Decision, Policy, Resident, Want, decide, never_fits, used};
use crate::trace::Request;

/// The simulated GPU.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Hardware {
    /// Disk to VRAM, GB/s.
    pub load_gb_s: f64,
    /// Seconds an unload takes before its VRAM is free.
    pub unload_s: f64,
    /// Memory bandwidth, GB/s: the decode rate of a model of size S GB is this / S tokens/s.
    pub bandwidth_gb_s: f64,
    /// Prompt tokens are this many times faster than reply tokens.
    pub prefill: f64,
}

impl Hardware {
    /// Seconds a model of `size` takes to answer `request` once loaded.
    pub fn service_s(&self, request: &Request, size: Bytes) -> f64 {
        let rate = self.bandwidth_gb_s * 1e9 / size.0 as f64;
        f64::from(request.prompt_tokens) / (rate * self.prefill)
            + f64::from(request.reply_tokens) / rate
    }
}

impl Default for Hardware {
    /// An 8 GB consumer card (272 GB/s) fed from an NVMe disk.
    fn default() -> Self {
        Self {
            load_gb_s: 2.0,
            unload_s: 0.5,
            bandwidth_gb_s: 272.0,
            prefill: 40.0,
        }
    }
}

/// What a replay chooses victims with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// An online policy, the scheduler's own code.
    Online(Policy),
    /// The offline optimum: knowing the whole trace, the fewest bytes loaded that serve it in
    /// arrival order, with pinned models kept once loaded and every other model unloaded
    /// when its keep-alive runs out, as the personas ask (exact search over loaded sets).
    Optimum,
    /// The same search with keep-alives ignored (models stay until evicted): the floor
    /// under any policy, and what the personas' keep-alives cost against it.
    OptimumNoExpiry,
}

impl Replay {
    pub const ALL: [Self; 5] = [
        Self::Online(Policy::Telos),
        Self::Online(Policy::OllamaDefault),
        Self::Online(Policy::UnloadAlways),
        Self::Optimum,
        Self::OptimumNoExpiry,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Online(p) => p.name(),
            Self::Optimum => "optimum",
            Self::OptimumNoExpiry => "optimum-no-expiry",
        }
    }
}

impl std::str::FromStr for Replay {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| Error::UnknownPolicy(s.to_string()))
    }
}

/// The outcome of one replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub policy: String,
    pub requests: usize,
    /// Requests refused because their model can never fit.
    pub refused: usize,
    pub loads: usize,
    pub unloads: usize,
    pub bytes_loaded: Bytes,
    /// Sum over requests of the time from arrival to the first token, seconds.
    pub total_wait_s: f64,
    pub p95_wait_s: f64,
    pub peak_vram: Bytes,
    pub budget: Bytes,
    /// Pinned models unloaded to make room (telos: always 0).
    pub pinned_evictions: usize,
    /// Simulated seconds until the last reply.
    pub makespan_s: f64,
}

struct Slot {
    resident: Resident,
    /// Loading until this time; busy with a request until `busy_until`.
    ready_at: f64,
    busy_until: f64,
    /// When idle with nothing queued: unloaded at this time.
    expires: Option<f64>,
}

/// Replays `trace` (persona names already checked) under `how`.
pub fn replay(
    trace: &[Request],
    personas: &[Persona],
    budget: Bytes,
    how: Replay,
    hw: Hardware,
) -> Result<Report> {
    let persona_of = |name: &str| {
        personas
            .iter()
            .find(|p| p.name == name)
            .expect("trace personas are checked on reading")
    };
    let plan = match how {
        Replay::Optimum => Some(optimum(trace, personas, budget, Some(hw))?),
        Replay::OptimumNoExpiry => Some(optimum(trace, personas, budget, None)?),
        Replay::Online(_) => None,
    };
    let expiry = how != Replay::OptimumNoExpiry;
    let policy = match how {
        Replay::Online(p) => p,
        Replay::Optimum | Replay::OptimumNoExpiry => Policy::Telos, // unused: the plan decides
    };
    let mut report = Report {
        policy: how.name().into(),
        requests: trace.len(),
        refused: 0,
        loads: 0,
        unloads: 0,
        bytes_loaded: Bytes(0),
        total_wait_s: 0.0,
        p95_wait_s: 0.0,
        peak_vram: Bytes(0),
        budget,
        pinned_evictions: 0,
        makespan_s: 0.0,
    };
    let mut slots: Vec<Slot> = Vec::new();
    let mut waiting: Vec<usize> = Vec::new(); // request indexes, arrival order
    let mut waits = Vec::with_capacity(trace.len());
    let mut next = 0; // next arrival
    let mut now = 0.0f64;
    loop {
        // Everything due by `now`: arrivals, finished loads and replies, expiries.
        while next < trace.len() && trace[next].at <= now {
            waiting.push(next);
            next += 1;
        }
        for s in &mut slots {
            if s.resident.busy && s.ready_at <= now && s.busy_until <= now {
                s.resident.busy = false;
            }
        }
        dispatch(
            trace,
            &persona_of,
            budget,
            policy,
            plan.as_deref(),
            hw,
            now,
            &mut slots,
            &mut waiting,
            &mut waits,
            &mut report,
        );
        // Idle models with nothing queued start their keep-alive clocks; due ones unload.
        slots.retain_mut(|s| {
            let queued = waiting
                .iter()
                .any(|&i| persona_of(&trace[i].persona).model == s.resident.model);
            if s.resident.busy || queued || !expiry {
                s.expires = None;
                return true;
            }
            let expires = *s.expires.get_or_insert_with(|| {
                now + s.resident.keep_alive.idle_secs().unwrap_or(f64::INFINITY)
            });
            if expires <= now {
                report.unloads += 1;
                return false;
            }
            true
        });
        // The next moment anything can change.
        let mut t = f64::INFINITY;
        if next < trace.len() {
            t = t.min(trace[next].at);
        }
        for s in &slots {
            if s.resident.busy {
                t = t.min(s.ready_at.max(s.busy_until));
            }
            if let Some(e) = s.expires {
                t = t.min(e);
            }
        }
        if !t.is_finite() {
            if waiting.is_empty() {
                break;
            }
            unreachable!("requests wait with nothing left to happen: a scheduler deadlock");
        }
        now = t.max(now);
    }
    waits.sort_by(f64::total_cmp);
    report.total_wait_s = waits.iter().sum();
    report.p95_wait_s = waits
        .get(((waits.len() as f64 * 0.95).ceil() as usize).saturating_sub(1))
        .copied()
        .unwrap_or(0.0);
    report.makespan_s = now;
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
fn dispatch<'p>(
    trace: &[Request],
    persona_of: &dyn Fn(&str) -> &'p Persona,
    budget: Bytes,
    policy: Policy,
    plan: Option<&[u64]>,
    hw: Hardware,
    now: f64,
    slots: &mut Vec<Slot>,
    waiting: &mut Vec<usize>,
    waits: &mut Vec<f64>,
    report: &mut Report,
) {
    let mut drain: Vec<String> = Vec::new();
    let mut loads_blocked = false;
    let mut i = 0;
    while i < waiting.len() {
        let index = waiting[i];
        let request = &trace[index];
        let persona = persona_of(&request.persona);
        let keep_alive = policy.keep_alive(persona.keep_alive);
        if let Some(s) = slots.iter_mut().find(|s| s.resident.model == persona.model) {
            if !s.resident.busy && !drain.contains(&s.resident.model) {
                let start = now.max(s.ready_at);
                s.busy_until = start + hw.service_s(request, s.resident.size);
                s.resident.busy = true;
                s.resident.last_used = start;
                s.resident.keep_alive = keep_alive;
                s.resident.priority = persona.priority;
                waits.push(start - request.at);
                waiting.remove(i);
                continue;
            }
            i += 1;
            continue;
        }
        if loads_blocked {
            i += 1;
            continue;
        }
        let want = Want {
            model: &persona.model,
            size: persona.size,
            keep_alive,
        };
        let mut unload_delay = 0.0;
        loop {
            let loaded: Vec<Resident> = slots.iter().map(|s| s.resident.clone()).collect();
            let decision = match plan {
                Some(plan) => planned(&loaded, budget, want, plan[index], trace, persona_of),
                None => decide(policy, budget, &loaded, want),
            };
            match decision {
                Decision::Run => unreachable!("the model was not loaded"),
                Decision::Load => {
                    slots.push(Slot {
                        resident: Resident {
                            model: persona.model.clone(),
                            size: persona.size,
                            keep_alive,
                            priority: persona.priority,
                            busy: true,
                            last_used: now,
                        },
                        ready_at: now + unload_delay + persona.size.0 as f64 / (hw.load_gb_s * 1e9),
                        busy_until: 0.0,
                        expires: None,
                    });
                    report.loads += 1;
                    report.bytes_loaded.0 += persona.size.0;
                    let vram = used(&slots.iter().map(|s| s.resident.clone()).collect::<Vec<_>>());
                    report.peak_vram = report.peak_vram.max(vram);
                    break;
                }
                Decision::Unload(victims) => {
                    for v in victims {
                        let at = slots
                            .iter()
                            .position(|s| s.resident.model == v)
                            .expect("a victim is loaded");
                        if slots[at].resident.pinned() {
                            report.pinned_evictions += 1;
                        }
                        slots.remove(at);
                        report.unloads += 1;
                        unload_delay = hw.unload_s;
                    }
                }
                Decision::Wait { drain: d } => {
                    drain.extend(d);
                    loads_blocked = true;
                    break;
                }
                Decision::Never { .. } => {
                    report.refused += 1;
                    waiting.remove(i);
                    break;
                }
            }
        }
        // The request now waits for its model to load (it runs in a later pass), or was
        // refused, or waits for VRAM.
        if waiting.get(i) == Some(&index) {
            i += 1;
        }
    }
}

/// The optimum's step: keep exactly the planned set `keep` (a bit per model, in the order of
/// [`models`]) once the requested model is in.
fn planned<'p>(
    loaded: &[Resident],
    budget: Bytes,
    want: Want<'_>,
    keep: u64,
    trace: &[Request],
    persona_of: &dyn Fn(&str) -> &'p Persona,
) -> Decision {
    let models = models(trace, persona_of);
    let in_plan = |m: &str| {
        models
            .iter()
            .position(|x| x.0 == m)
            .is_some_and(|b| keep & (1 << b) != 0)
    };
    if let Some(pinned) = never_fits(budget, loaded, want) {
        return Decision::Never { pinned };
    }
    let free = budget.0.saturating_sub(used(loaded).0);
    if want.size.0 <= free {
        return Decision::Load;
    }
    let (busy, idle): (Vec<&Resident>, Vec<&Resident>) = loaded
        .iter()
        .filter(|r| !in_plan(&r.model))
        .partition(|r| r.busy);
    if !idle.is_empty() {
        return Decision::Unload(idle.into_iter().map(|r| r.model.clone()).collect());
    }
    Decision::Wait {
        drain: busy.into_iter().map(|r| r.model.clone()).collect(),
    }
}

/// The distinct models of a trace, in first-use order, with size and pinning.
fn models<'p>(
    trace: &[Request],
    persona_of: &dyn Fn(&str) -> &'p Persona,
) -> Vec<(String, Bytes, bool)> {
    let mut out: Vec<(String, Bytes, bool)> = Vec::new();
    for r in trace {
        let p = persona_of(&r.persona);
        if !out.iter().any(|m| m.0 == p.model) {
            out.push((p.model.clone(), p.size, p.keep_alive == KeepAlive::Forever));
        }
    }
    out
}

/// Most models the exact search handles (it visits 3^n set pairs a request).
pub const OPTIMUM_MAX_MODELS: usize = 10;

/// For each request, the set of models loaded while it is served (bits in [`models`] order)
/// in a schedule that loads the fewest bytes: dynamic programming over loaded sets, loading
/// only on demand (which loses nothing: a load can always be put off until its use). With
/// `expiry`, a model whose keep-alive ran out since its last request (served without waiting
/// on that hardware) is out of every set.
fn optimum(
    trace: &[Request],
    personas: &[Persona],
    budget: Bytes,
    expiry: Option<Hardware>,
) -> Result<Vec<u64>> {
    let persona_of = |name: &str| personas.iter().find(|p| p.name == name).expect("checked");
    let models = models(trace, &persona_of);
    if models.len() > OPTIMUM_MAX_MODELS {
        return Err(Error::TooManyModels {
            models: models.len(),
            max: OPTIMUM_MAX_MODELS,
        });
    }
    let size = |set: u64| -> u64 {
        (0..models.len())
            .filter(|b| set & (1 << b) != 0)
            .map(|b| models[b].1.0)
            .sum()
    };
    let pinned: u64 = (0..models.len())
        .filter(|&b| models[b].2)
        .map(|b| 1 << b)
        .sum();
    const NONE: u64 = u64::MAX;
    let states = 1usize << models.len();
    let mut cost = vec![NONE; states];
    cost[0] = 0;
    let mut parents: Vec<Vec<u32>> = Vec::with_capacity(trace.len());
    // Per model: when its last request ends and how long it may then stay idle.
    let mut idle_from: Vec<Option<(f64, f64)>> = vec![None; models.len()];
    for r in trace {
        let persona = persona_of(&r.persona);
        let m = models
            .iter()
            .position(|x| x.0 == persona.model)
            .expect("listed");
        let bit = 1u64 << m;
        let expired: u64 = idle_from
            .iter()
            .enumerate()
            .filter(|(b, e)| *b != m && e.is_some_and(|(end, keep)| r.at > end + keep))
            .map(|(b, _)| 1u64 << b)
            .sum();
        if let Some(hw) = expiry {
            let keep = persona.keep_alive.idle_secs().unwrap_or(f64::INFINITY);
            idle_from[m] = Some((r.at + hw.service_s(r, persona.size), keep));
        }
        let mut next = vec![NONE; states];
        let mut parent = vec![u32::MAX; states];
        if size(bit) + size(pinned & !bit) > budget.0 && models[m].1 > budget {
            // Can never fit: refused, the loaded set stays.
            parents.push((0..states as u32).collect());
            continue;
        }
        for prev in 0..states as u64 {
            if cost[prev as usize] == NONE {
                continue;
            }
            let must = prev & pinned;
            // Every subset of `prev` that keeps its pinned models, plus the requested model.
            let mut keep = prev;
            loop {
                if keep & must == must && keep & expired == 0 {
                    let set = keep | bit;
                    if size(set) <= budget.0 {
                        let c =
                            cost[prev as usize] + if prev & bit == 0 { models[m].1.0 } else { 0 };
                        if c < next[set as usize] {
                            next[set as usize] = c;
                            parent[set as usize] = prev as u32;
                        }
                    }
                }
                if keep == 0 {
                    break;
                }
                keep = (keep - 1) & prev;
            }
        }
        if next.iter().all(|&c| c == NONE) {
            // Does not fit beside the pinned models: refused, as the online policies refuse.
            parents.push((0..states as u32).collect());
            continue;
        }
        cost = next;
        parents.push(parent);
    }
    let mut set = (0..states).min_by_key(|&s| cost[s]).expect("some state") as u64;
    let mut plan = vec![0; trace.len()];
    for i in (0..trace.len()).rev() {
        plan[i] = set;
        set = u64::from(parents[i][set as usize]);
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
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
            requests in prop::collection::vec((0.0f64..120.0, 0usize..6, 10u32..4000, 1u32..1000), 1..120),
        ) {
            let personas: Vec<Persona> = models
                .iter()
                .enumerate()
                .map(|(i, &(gb, k, p))| persona(i, gb, k, p))
                .collect();
            let mut at = 0.0;
            let trace: Vec<Request> = requests
                .iter()
                .map(|&(gap, who, prompt, reply)| {
                    at += gap;
                    Request {
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
                if how == Replay::Online(Policy::Telos) {
                    prop_assert_eq!(r.pinned_evictions, 0);
                }
            }
            prop_assert!(bytes[4] <= bytes[0], "the floor {} above telos {}", bytes[4], bytes[0]);
        }
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
}

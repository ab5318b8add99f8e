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

mod hosts;
mod optimum;
mod turns;

pub use hosts::{HostLoad, replay_hosts};

pub use optimum::OPTIMUM_MAX_MODELS;
use optimum::{optimum, planned};
use turns::{Turns, prefetch};

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
    /// Ours, with a dialogue's two sides sharing a model when the user allows it: a turn
    /// whose own model is not loaded runs on the other side's, if that one is (the judge's
    /// pinned model is not shared); otherwise as `telos`.
    TelosShared,
}

impl Replay {
    pub const ALL: [Self; 6] = [
        Self::Online(Policy::Telos),
        Self::Online(Policy::OllamaDefault),
        Self::Online(Policy::UnloadAlways),
        Self::Optimum,
        Self::OptimumNoExpiry,
        Self::TelosShared,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Online(p) => p.name(),
            Self::Optimum => "optimum",
            Self::OptimumNoExpiry => "optimum-no-expiry",
            Self::TelosShared => "telos-shared",
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
    /// With several hosts ([`replay_hosts`]): each host's budget, peak and personas (the
    /// fields above then add up the hosts: VRAM and budget summed, the makespan the latest).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<HostLoad>,
}

impl Report {
    /// A report of nothing done yet.
    fn blank(how: Replay, requests: usize, budget: Bytes) -> Self {
        Self {
            policy: how.name().into(),
            requests,
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
            hosts: Vec::new(),
        }
    }
}

/// The 95th percentile of sorted `waits` (0 without any).
fn p95(waits: &[f64]) -> f64 {
    waits
        .get(((waits.len() as f64 * 0.95).ceil() as usize).saturating_sub(1))
        .copied()
        .unwrap_or(0.0)
}

struct Slot {
    resident: Resident,
    /// Loading until this time; busy with a request until `busy_until`.
    ready_at: f64,
    busy_until: f64,
    /// When idle with nothing queued: unloaded at this time.
    expires: Option<f64>,
    /// Its keep-alive ran out: unloading until `busy_until`, its VRAM not yet free.
    leaving: bool,
}

/// Replays `trace` (persona names already checked) under `how`.
pub fn replay(
    trace: &[Request],
    personas: &[Persona],
    budget: Bytes,
    how: Replay,
    hw: Hardware,
) -> Result<Report> {
    replay_waits(trace, personas, budget, how, hw).map(|(report, _)| report)
}

/// [`replay`], with each request's wait (sorted).
fn replay_waits(
    trace: &[Request],
    personas: &[Persona],
    budget: Bytes,
    how: Replay,
    hw: Hardware,
) -> Result<(Report, Vec<f64>)> {
    let persona_of = |name: &str| {
        personas
            .iter()
            .find(|p| p.name == name)
            .expect("trace personas are checked on reading")
    };
    let plan = match how {
        Replay::Optimum => Some(optimum(trace, personas, budget, Some(hw))?),
        Replay::OptimumNoExpiry => Some(optimum(trace, personas, budget, None)?),
        Replay::Online(_) | Replay::TelosShared => None,
    };
    let expiry = how != Replay::OptimumNoExpiry;
    let policy = match how {
        Replay::Online(p) => p,
        Replay::TelosShared => Policy::Telos,
        Replay::Optimum | Replay::OptimumNoExpiry => Policy::Telos, // unused: the plan decides
    };
    // Each dialogue's sides: the models of its personas that are not pinned.
    let mut sides: std::collections::HashMap<u32, Vec<String>> = Default::default();
    if how == Replay::TelosShared {
        for r in trace {
            let p = persona_of(&r.persona);
            if let (Some(d), false) = (r.dialogue, p.keep_alive.pinned()) {
                let models = sides.entry(d).or_default();
                if !models.contains(&p.model) {
                    models.push(p.model.clone());
                }
            }
        }
    }
    let mut report = Report::blank(how, trace.len(), budget);
    let mut slots: Vec<Slot> = Vec::new();
    let mut waiting: Vec<usize> = Vec::new(); // request indexes, arrival order
    let mut waits = Vec::with_capacity(trace.len());
    let mut next = 0; // next arrival
    let mut now = 0.0f64;
    let mut turns = Turns::new(trace);
    // Ours knows a dialogue's next speaker (the dialogue says who speaks next).
    let foresight = matches!(how, Replay::Online(Policy::Telos) | Replay::TelosShared);
    loop {
        // Everything due by `now`: arrivals, finished loads and replies, expiries. A dialogue's
        // turn is asked only once the turn before it has been answered.
        while next < trace.len() && trace[next].at <= now {
            turns.held.push(next);
            next += 1;
        }
        turns.release(now, &mut waiting);
        // Unloads that ended free their VRAM; replies and loads that ended free their model.
        slots.retain(|s| !(s.leaving && s.busy_until <= now));
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
            &sides,
            hw,
            now,
            &mut slots,
            &mut waiting,
            &mut turns,
            &mut waits,
            &mut report,
        );
        if foresight && waiting.is_empty() {
            for k in turns.expected(now) {
                let p = persona_of(&trace[k].persona);
                let shared = trace[k].dialogue.and_then(|d| sides.get(&d));
                let ready = slots.iter().any(|s| {
                    s.resident.model == p.model
                        || shared.is_some_and(|m| m.contains(&s.resident.model))
                });
                if !ready {
                    prefetch(p, budget, policy, hw, now, &mut slots, &mut report);
                }
            }
        }
        // Idle models with nothing queued start their keep-alive clocks; due ones unload,
        // holding their VRAM for `unload_s` as an eviction does.
        slots.retain_mut(|s| {
            if s.leaving {
                return true;
            }
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
                s.resident.model = format!("{} (unloading)", s.resident.model);
                s.resident.busy = true;
                s.resident.keep_alive = KeepAlive::Zero;
                s.busy_until = now + hw.unload_s;
                s.expires = None;
                s.leaving = true;
                return hw.unload_s > 0.0;
            }
            true
        });
        // The next moment anything can change.
        let mut t = turns.next_moment(now);
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
            if waiting.is_empty() && turns.held.is_empty() {
                break;
            }
            unreachable!("requests wait with nothing left to happen: a scheduler deadlock");
        }
        now = t.max(now);
    }
    waits.sort_by(f64::total_cmp);
    report.total_wait_s = waits.iter().sum();
    report.p95_wait_s = p95(&waits);
    report.makespan_s = now;
    Ok((report, waits))
}

/// Starts loading `persona`'s model into a new slot at `now` (busy; its load begins after
/// `delay`, an unload still under way) and counts the load.
fn load_slot(
    slots: &mut Vec<Slot>,
    persona: &Persona,
    keep_alive: KeepAlive,
    (now, delay): (f64, f64),
    hw: Hardware,
    report: &mut Report,
) {
    slots.push(Slot {
        resident: Resident {
            model: persona.model.clone(),
            size: persona.size,
            keep_alive,
            priority: persona.priority,
            busy: true,
            last_used: now,
        },
        ready_at: now + delay + persona.size.0 as f64 / (hw.load_gb_s * 1e9),
        busy_until: 0.0,
        expires: None,
        leaving: false,
    });
    report.loads += 1;
    report.bytes_loaded.0 += persona.size.0;
    let vram = used(&slots.iter().map(|s| s.resident.clone()).collect::<Vec<_>>());
    report.peak_vram = report.peak_vram.max(vram);
}

#[allow(clippy::too_many_arguments)]
fn dispatch<'p>(
    trace: &[Request],
    persona_of: &dyn Fn(&str) -> &'p Persona,
    budget: Bytes,
    policy: Policy,
    plan: Option<&[u64]>,
    sides: &std::collections::HashMap<u32, Vec<String>>,
    hw: Hardware,
    now: f64,
    slots: &mut Vec<Slot>,
    waiting: &mut Vec<usize>,
    turns: &mut Turns,
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
        // A dialogue turn whose own model is not loaded may use the other side's.
        let shared = request
            .dialogue
            .and_then(|d| sides.get(&d))
            .filter(|_| !slots.iter().any(|s| s.resident.model == persona.model))
            .and_then(|models| {
                slots.iter().position(|s| {
                    models.contains(&s.resident.model) && !drain.contains(&s.resident.model)
                })
            });
        let own = slots.iter().position(|s| s.resident.model == persona.model);
        if let Some(at) = own.or(shared) {
            let s = &mut slots[at];
            if !s.resident.busy && !drain.contains(&s.resident.model) {
                let start = now.max(s.ready_at);
                s.busy_until = start + hw.service_s(request, s.resident.size);
                s.resident.busy = true;
                s.resident.last_used = start;
                if own.is_some() {
                    s.resident.keep_alive = keep_alive;
                    s.resident.priority = persona.priority;
                }
                waits.push(start - turns.asked[index]);
                turns.started(index, start, s.busy_until);
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
                    load_slot(slots, persona, keep_alive, (now, unload_delay), hw, report);
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
                    // A dialogue's next turn is asked after a refusal as after a reply.
                    turns.ended(index, now);
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

#[cfg(test)]
mod tests;

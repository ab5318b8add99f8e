//! A dialogue's turns in a replay (asked one after another) and getting the next speaker's
//! model ready ahead of its turn.

use super::*;

/// A dialogue's turns in a replay: each is asked when the one before it has been answered
/// (plus a moment to ground it), not at its trace time, since a dialogue cannot ask ROBIN
/// before BRICK has spoken. Other requests are asked at their trace time.
pub(super) struct Turns {
    /// The turn before each request in its dialogue, and the one after it.
    pub(super) before: Vec<Option<usize>>,
    pub(super) after: Vec<Option<usize>>,
    /// When each request was asked, and when its reply ends (once it has started).
    pub(super) asked: Vec<f64>,
    pub(super) ends: Vec<Option<f64>>,
    /// Requests whose trace time has come, waiting for their dialogue's turn before.
    pub(super) held: Vec<usize>,
    /// Next turns to prepare for, and from when (the end of the turn before them).
    pub(super) coming: Vec<(f64, usize)>,
}

/// Seconds between a reply and the next turn being asked (grounding it).
const GROUNDING_S: f64 = 0.2;

impl Turns {
    pub(super) fn new(trace: &[Request]) -> Self {
        let n = trace.len();
        let (mut before, mut after) = (vec![None; n], vec![None; n]);
        let mut last: std::collections::HashMap<u32, usize> = Default::default();
        for (i, r) in trace.iter().enumerate() {
            if let Some(d) = r.dialogue
                && let Some(j) = last.insert(d, i)
            {
                before[i] = Some(j);
                after[j] = Some(i);
            }
        }
        Self {
            before,
            after,
            asked: trace.iter().map(|r| r.at).collect(),
            ends: vec![None; n],
            held: Vec::new(),
            coming: Vec::new(),
        }
    }

    /// Moves the requests that can be asked by `now` to `waiting`.
    pub(super) fn release(&mut self, now: f64, waiting: &mut Vec<usize>) {
        let (before, ends, asked) = (&self.before, &self.ends, &mut self.asked);
        self.held.retain(|&i| {
            let from = match before[i] {
                None => asked[i],
                Some(j) => match ends[j] {
                    Some(end) => asked[i].max(end + GROUNDING_S),
                    None => return true,
                },
            };
            if from > now {
                return true;
            }
            asked[i] = from;
            waiting.push(i);
            false
        });
    }

    /// Request `i` started at `start`; its reply ends at `end`. Its next turn's speaker is
    /// prepared for from now (when that needs only idle models gone, e.g. during the judge's
    /// verdict) and again when it ends.
    pub(super) fn started(&mut self, i: usize, start: f64, end: f64) {
        self.ends[i] = Some(end);
        if let Some(k) = self.after[i] {
            self.coming.push((start, k));
            self.coming.push((end, k));
        }
    }

    /// Request `i` was refused at `now`: its dialogue's next turn may be asked.
    pub(super) fn ended(&mut self, i: usize, now: f64) {
        self.ends[i] = Some(now);
    }

    /// The next turns whose speaker can be prepared for now (their turn before has ended and
    /// they have not started).
    pub(super) fn expected(&mut self, now: f64) -> Vec<usize> {
        let ends = &self.ends;
        let mut due = Vec::new();
        self.coming.retain(|&(at, k)| {
            if at > now {
                return true;
            }
            if ends[k].is_none() {
                due.push(k);
            }
            false
        });
        due
    }

    /// The next moment a held turn may be asked or a next speaker prepared for.
    pub(super) fn next_moment(&self, now: f64) -> f64 {
        let held = self.held.iter().filter_map(|&i| {
            let j = self.before[i]?;
            Some(self.asked[i].max(self.ends[j]? + GROUNDING_S))
        });
        let coming = self.coming.iter().map(|&(at, _)| at);
        held.chain(coming)
            .filter(|&t| t > now)
            .fold(f64::INFINITY, f64::min)
    }
}

/// Loads the model `persona` will speak with next, before its turn is asked, when the policy
/// can make room without waiting for a busy model (idle models may be unloaded).
pub(super) fn prefetch(
    persona: &Persona,
    budget: Bytes,
    policy: Policy,
    hw: Hardware,
    now: f64,
    slots: &mut Vec<Slot>,
    report: &mut Report,
) {
    // A pinned model, once in, never leaves: it loads when its persona asks, not before.
    if persona.keep_alive.pinned() {
        return;
    }
    let want = Want {
        model: &persona.model,
        size: persona.size,
        keep_alive: policy.keep_alive(persona.keep_alive),
    };
    let mut unload_delay = 0.0;
    loop {
        let loaded: Vec<Resident> = slots.iter().map(|s| s.resident.clone()).collect();
        match decide(policy, budget, &loaded, want) {
            Decision::Load => {
                load_slot(
                    slots,
                    persona,
                    want.keep_alive,
                    (now, unload_delay),
                    hw,
                    report,
                );
                return;
            }
            Decision::Unload(victims) => {
                // Only idle models make room ahead of time: none is taken unless all can be.
                let idle = |v: &String| {
                    slots
                        .iter()
                        .any(|s| &s.resident.model == v && !s.resident.busy)
                };
                if !victims.iter().all(idle) {
                    return;
                }
                for v in victims {
                    let Some(at) = slots.iter().position(|s| s.resident.model == v) else {
                        return;
                    };
                    slots.remove(at);
                    report.unloads += 1;
                    unload_delay = hw.unload_s;
                }
            }
            Decision::Run | Decision::Wait { .. } | Decision::Never { .. } => return,
        }
    }
}

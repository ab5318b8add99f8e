//! The decision at the heart of the scheduler, as a pure function: given what is in VRAM and
//! a model a request needs, run it, load it, unload something first, wait, or refuse. The
//! live scheduler and `replay` both call [`decide`], so a replay exercises the real policy.

use serde::{Deserialize, Serialize};

use crate::model::{Bytes, KeepAlive};

/// A model in VRAM, as the scheduler sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Resident {
    pub model: String,
    pub size: Bytes,
    pub keep_alive: KeepAlive,
    /// The highest priority of the personas using it.
    pub priority: i32,
    /// A request is running on it now.
    pub busy: bool,
    /// When its last request started, on the scheduler's clock (seconds).
    pub last_used: f64,
}

impl Resident {
    pub fn pinned(&self) -> bool {
        self.keep_alive.pinned()
    }
}

/// What a request needs.
#[derive(Debug, Clone, Copy)]
pub struct Want<'a> {
    pub model: &'a str,
    pub size: Bytes,
    pub keep_alive: KeepAlive,
}

/// What to do for a request now.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Its model is loaded: run it (once the model has no other request running).
    Run,
    /// Its model fits beside what is loaded: load it.
    Load,
    /// Unload these idle models, then decide again.
    Unload(Vec<String>),
    /// Nothing can be done until a request completes. `drain` are busy models chosen to be
    /// unloaded once idle: start nothing new on them, so the waiting request is not starved.
    Wait { drain: Vec<String> },
    /// The model cannot fit even with every evictable model gone; `pinned` is the VRAM
    /// that no policy may free.
    Never { pinned: Bytes },
}

/// A way of choosing what to unload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Ours: pinned models are never evicted; victims are idle before busy, lower priority
    /// first, then least recently used; only as many as the request needs.
    Telos,
    /// What Ollama does on its own (`server/sched.go`): at most three models loaded, a model
    /// loads only if it fits, else the idle model with the shortest keep-alive is unloaded,
    /// one at a time; pinned models are not protected.
    OllamaDefault,
    /// Every model unloaded as soon as its request completes.
    UnloadAlways,
}

/// Ollama's `OLLAMA_MAX_LOADED_MODELS` default for one GPU.
pub const OLLAMA_MAX_LOADED: usize = 3;

impl Policy {
    /// The keep-alive the policy sends for a persona whose codex says `wanted`.
    pub fn keep_alive(self, wanted: KeepAlive) -> KeepAlive {
        match self {
            Self::UnloadAlways => KeepAlive::Zero,
            Self::Telos | Self::OllamaDefault => wanted,
        }
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Telos => "telos",
            Self::OllamaDefault => "ollama-default",
            Self::UnloadAlways => "unload-always",
        }
    }
}

/// VRAM in use by `loaded`.
pub fn used(loaded: &[Resident]) -> Bytes {
    Bytes(loaded.iter().map(|r| r.size.0).sum())
}

/// Decides what to do for `want` under `policy`, with `loaded` in VRAM and `budget` in all.
pub fn decide(policy: Policy, budget: Bytes, loaded: &[Resident], want: Want<'_>) -> Decision {
    if loaded.iter().any(|r| r.model == want.model) {
        return Decision::Run;
    }
    let free = budget.0.saturating_sub(used(loaded).0);
    match policy {
        Policy::Telos => telos(budget, loaded, want, free),
        Policy::OllamaDefault => ollama_default(budget, loaded, want, free, OLLAMA_MAX_LOADED),
        Policy::UnloadAlways => ollama_default(budget, loaded, want, free, usize::MAX),
    }
}

/// `Some(pinned VRAM)` when `want` cannot fit even with every model but the pinned ones
/// gone: no waiting helps. Pinned models are never evicted, so this is final.
pub fn never_fits(budget: Bytes, loaded: &[Resident], want: Want<'_>) -> Option<Bytes> {
    let pinned = Bytes(
        loaded
            .iter()
            .filter(|r| r.pinned() && r.model != want.model)
            .map(|r| r.size.0)
            .sum(),
    );
    (want.size.0 > budget.0.saturating_sub(pinned.0)).then_some(pinned)
}

fn telos(budget: Bytes, loaded: &[Resident], want: Want<'_>, free: u64) -> Decision {
    if let Some(pinned) = never_fits(budget, loaded, want) {
        return Decision::Never { pinned };
    }
    if want.size.0 <= free {
        return Decision::Load;
    }
    // Cheapest victims first: idle before busy, lower priority, least recently used.
    let mut order: Vec<&Resident> = loaded.iter().filter(|r| !r.pinned()).collect();
    order.sort_by(|a, b| {
        (a.busy, a.priority)
            .cmp(&(b.busy, b.priority))
            .then(a.last_used.total_cmp(&b.last_used))
    });
    let mut picked = Vec::new();
    let mut freed = free;
    for r in order {
        if freed >= want.size.0 {
            break;
        }
        freed += r.size.0;
        picked.push(r);
    }
    // Keep the most valuable of the picked if the rest free enough without it.
    let mut i = picked.len();
    while i > 0 {
        i -= 1;
        if freed - picked[i].size.0 >= want.size.0 {
            freed -= picked[i].size.0;
            picked.remove(i);
        }
    }
    let (busy, idle): (Vec<_>, Vec<_>) = picked.into_iter().partition(|r| r.busy);
    if busy.is_empty() {
        Decision::Unload(idle.into_iter().map(|r| r.model.clone()).collect())
    } else {
        Decision::Wait {
            drain: busy.into_iter().map(|r| r.model.clone()).collect(),
        }
    }
}

fn ollama_default(
    budget: Bytes,
    loaded: &[Resident],
    want: Want<'_>,
    free: u64,
    max_loaded: usize,
) -> Decision {
    if want.size > budget {
        return Decision::Never { pinned: Bytes(0) };
    }
    if want.size.0 <= free && loaded.len() < max_loaded {
        return Decision::Load;
    }
    let rank = |k: KeepAlive| k.idle_secs().unwrap_or(f64::INFINITY);
    loaded
        .iter()
        .filter(|r| !r.busy)
        .min_by(|a, b| {
            rank(a.keep_alive)
                .total_cmp(&rank(b.keep_alive))
                .then(a.last_used.total_cmp(&b.last_used))
        })
        .map_or(Decision::Wait { drain: Vec::new() }, |r| {
            Decision::Unload(vec![r.model.clone()])
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(model: &str, gb: f64, keep_alive: KeepAlive, priority: i32, busy: bool) -> Resident {
        Resident {
            model: model.into(),
            size: Bytes::gb(gb),
            keep_alive,
            priority,
            busy,
            last_used: 0.0,
        }
    }
    fn want(model: &str, gb: f64) -> Want<'_> {
        Want {
            model,
            size: Bytes::gb(gb),
            keep_alive: KeepAlive::DEFAULT,
        }
    }
    const FIVE: KeepAlive = KeepAlive::DEFAULT;
    const BUDGET: Bytes = crate::model::DEFAULT_BUDGET;

    #[test]
    fn telos_never_evicts_a_pinned_model_and_refuses_what_cannot_fit() {
        let loaded = [r("phi3", 2.2, KeepAlive::Forever, 3, false)];
        assert_eq!(
            decide(Policy::Telos, BUDGET, &loaded, want("huge", 7.0)),
            Decision::Never {
                pinned: Bytes::gb(2.2)
            }
        );
        // Ollama's own policy would unload the pinned model instead.
        assert_eq!(
            decide(Policy::OllamaDefault, BUDGET, &loaded, want("huge", 7.0)),
            Decision::Unload(vec!["phi3".into()])
        );
    }

    #[test]
    fn telos_unloads_idle_before_busy_and_lower_priority_first() {
        let loaded = [
            r("phi3", 2.2, KeepAlive::Forever, 3, false),
            r("busy", 2.0, FIVE, 0, true),
            r("high", 1.5, FIVE, 2, false),
            r("low", 1.5, FIVE, 1, false),
        ];
        // 1.39 GB free; 3.0 needed: "low" alone is not enough, "low" + "high" is.
        assert_eq!(
            decide(Policy::Telos, BUDGET, &loaded, want("new", 3.0)),
            Decision::Unload(vec!["low".into(), "high".into()])
        );
        // 1.5 needed: the lower priority one only.
        assert_eq!(
            decide(Policy::Telos, BUDGET, &loaded, want("new", 1.5)),
            Decision::Unload(vec!["low".into()])
        );
        // 5.5 needed: only by draining the busy model too.
        assert_eq!(
            decide(Policy::Telos, BUDGET, &loaded, want("new", 5.5)),
            Decision::Wait {
                drain: vec!["busy".into()]
            }
        );
    }

    #[test]
    fn telos_keeps_a_victim_that_turns_out_unneeded() {
        let loaded = [
            r("small", 1.0, FIVE, 0, false),
            r("big", 6.0, FIVE, 1, false),
        ];
        // 1.59 GB free, 6.5 needed: "small" is picked first, but "big" alone suffices.
        assert_eq!(
            decide(Policy::Telos, BUDGET, &loaded, want("new", 6.5)),
            Decision::Unload(vec!["big".into()])
        );
    }

    #[test]
    fn ollama_default_loads_at_most_three_and_evicts_the_shortest_keep_alive() {
        let loaded = [
            r("a", 1.0, FIVE, 0, false),
            r("b", 1.0, KeepAlive::Seconds(60), 0, false),
            r("c", 1.0, KeepAlive::Forever, 0, false),
        ];
        assert_eq!(
            decide(Policy::OllamaDefault, BUDGET, &loaded, want("d", 1.0)),
            Decision::Unload(vec!["b".into()])
        );
        let all_busy: Vec<Resident> = loaded
            .iter()
            .cloned()
            .map(|mut r| {
                r.busy = true;
                r
            })
            .collect();
        assert_eq!(
            decide(Policy::OllamaDefault, BUDGET, &all_busy, want("d", 1.0)),
            Decision::Wait { drain: vec![] }
        );
    }
}

//! The offline optimum: knowing the whole trace, the fewest bytes loaded that serve it in
//! arrival order (dynamic programming over loaded sets), and the decision step that follows it.

use super::*;

/// The optimum's step: keep exactly the planned set `keep` (a bit per model, in the order of
/// [`models`]) once the requested model is in.
pub(super) fn planned<'p>(
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
pub(super) fn models<'p>(
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
pub(super) fn optimum(
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

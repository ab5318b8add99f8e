//! A replay on several simulated GPUs (`telos scheduler replay --hosts 8GiB,8GiB`): each
//! persona's model is placed on a host by the live scheduler's own placement
//! ([`crate::hosts::place`]: every host has every model, nothing loaded, the most room left
//! first), then each host serves its personas' requests as one GPU does.
//!
//! Placement is static, as the live scheduler's affinity keeps it while no host fails. The
//! turns of a dialogue whose sides sit on different hosts are paced by their arrival times
//! alone (each host's replay sees only its own side).

use serde::{Deserialize, Serialize};

use super::{Hardware, Replay, Report, p95, replay_waits};
use crate::error::Result;
use crate::hosts::{place, rooms};
use crate::live::Status;
use crate::model::{Bytes, Persona};
use crate::trace::Request;

/// One simulated host's share of a replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostLoad {
    pub budget: Bytes,
    pub peak_vram: Bytes,
    /// The personas placed on it.
    pub personas: Vec<String>,
    pub requests: usize,
}

/// Which host (an index into `budgets`) each persona's model is placed on, in persona order
/// (personas that share a model share its host).
pub fn placement(personas: &[Persona], budgets: &[Bytes]) -> Vec<usize> {
    let models: Vec<(String, Bytes)> = personas.iter().map(|p| (p.model.clone(), p.size)).collect();
    let statuses: Vec<Status> = budgets
        .iter()
        .enumerate()
        .map(|(i, budget)| Status {
            host: format!("host {}", i + 1),
            seen: true,
            budget: *budget,
            installed: Some(models.clone()),
            ..Status::default()
        })
        .collect();
    let mut promised = vec![Bytes(0); budgets.len()];
    let mut placed: Vec<(String, usize)> = Vec::new();
    personas
        .iter()
        .map(|p| {
            if let Some((_, i)) = placed.iter().find(|(m, _)| *m == p.model) {
                return *i;
            }
            let i = place(&p.model, &rooms(&statuses, &promised), None)
                .expect("every simulated host has every model");
            promised[i].0 += p.size.0;
            placed.push((p.model.clone(), i));
            i
        })
        .collect()
}

/// Replays `trace` on one simulated GPU per budget in `budgets`, under `how`.
pub fn replay_hosts(
    trace: &[Request],
    personas: &[Persona],
    budgets: &[Bytes],
    how: Replay,
    hw: Hardware,
) -> Result<Report> {
    let hosts = placement(personas, budgets);
    let host_of = |name: &str| {
        personas
            .iter()
            .position(|p| p.name == name)
            .map(|i| hosts[i])
            .expect("trace personas are checked on reading")
    };
    let mut total: Option<Report> = None;
    let mut waits = Vec::with_capacity(trace.len());
    let mut loads = Vec::new();
    for (h, &budget) in budgets.iter().enumerate() {
        let mine: Vec<Persona> = personas
            .iter()
            .zip(&hosts)
            .filter(|(_, i)| **i == h)
            .map(|(p, _)| p.clone())
            .collect();
        let requests: Vec<Request> = trace
            .iter()
            .filter(|r| host_of(&r.persona) == h)
            .cloned()
            .collect();
        let report = if requests.is_empty() {
            None
        } else {
            let (report, w) = replay_waits(&requests, &mine, budget, how, hw)?;
            waits.extend(w);
            Some(report)
        };
        loads.push(HostLoad {
            budget,
            peak_vram: report.as_ref().map_or(Bytes(0), |r| r.peak_vram),
            personas: mine.iter().map(|p| p.name.clone()).collect(),
            requests: requests.len(),
        });
        let Some(r) = report else { continue };
        total = Some(match total {
            None => r,
            Some(t) => Report {
                requests: t.requests + r.requests,
                refused: t.refused + r.refused,
                loads: t.loads + r.loads,
                unloads: t.unloads + r.unloads,
                bytes_loaded: Bytes(t.bytes_loaded.0 + r.bytes_loaded.0),
                peak_vram: Bytes(t.peak_vram.0 + r.peak_vram.0),
                pinned_evictions: t.pinned_evictions + r.pinned_evictions,
                makespan_s: t.makespan_s.max(r.makespan_s),
                ..t
            },
        });
    }
    let mut report = total.unwrap_or_else(|| Report::blank(how, 0, Bytes(0)));
    waits.sort_by(f64::total_cmp);
    report.total_wait_s = waits.iter().sum();
    report.p95_wait_s = p95(&waits);
    report.budget = Bytes(budgets.iter().map(|b| b.0).sum());
    report.hosts = loads;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::KeepAlive;
    use crate::plan::Policy;
    use crate::trace;

    fn personas() -> Vec<Persona> {
        let p = |name: &str, model: &str, keep_alive, gb| Persona {
            name: name.into(),
            model: model.into(),
            keep_alive,
            priority: 1,
            size: Bytes::gb(gb),
        };
        vec![
            p("ALFRED", "phi3:3.8b", KeepAlive::Forever, 2.2),
            p("BRICK", "mistral:7b", KeepAlive::DEFAULT, 4.1),
            p("ROBIN", "gemma2:9b", KeepAlive::DEFAULT, 5.4),
            p("BABS", "qwen2:7b", KeepAlive::DEFAULT, 4.4),
        ]
    }

    #[test]
    fn models_spread_over_the_hosts_by_room_and_one_host_replays_as_before() {
        let personas = personas();
        let two = [Bytes::gib(8), Bytes::gib(8)];
        assert_eq!(placement(&personas, &two), [0, 1, 0, 1]);
        let requests = trace::generate(&personas, 300, 7);
        let how = Replay::Online(Policy::Telos);
        let hw = Hardware::default();
        let one = replay_hosts(&requests, &personas, &[Bytes::gib(8)], how, hw).unwrap();
        let plain = super::super::replay(&requests, &personas, Bytes::gib(8), how, hw).unwrap();
        assert_eq!(
            Report {
                hosts: Vec::new(),
                ..one.clone()
            },
            plain
        );
        let spread = replay_hosts(&requests, &personas, &two, how, hw).unwrap();
        assert_eq!(spread.requests, 300);
        for h in &spread.hosts {
            assert!(h.peak_vram <= h.budget, "{h:?}");
        }
        assert_eq!(spread.hosts[0].personas, ["ALFRED", "ROBIN"]);
        // Two 8 GiB cards hold all four models: no load evicts another (reloads come only
        // after a keep-alive runs out).
        assert!(spread.loads < one.loads, "{spread:?} vs {one:?}");
        assert!(
            spread.total_wait_s < one.total_wait_s,
            "{spread:?} vs {one:?}"
        );
    }
}

//! Several Ollama hosts (`OLLAMA_HOSTS`): which host runs each persona's model.
//!
//! Each host has its own [`crate::Scheduler`] and budget. [`place`] picks a host for a model
//! from the hosts' status, the same way for the live scheduler and for a replay:
//! - only a host that answers and has the model installed is a candidate (a request never
//!   goes to a host without its model);
//! - a host where the model is already loaded comes first (affinity), then the host the
//!   persona was on, then the host with the most room left, counting what this placement
//!   round already put there;
//! - with no candidate, why not (every host down, or the model installed nowhere).

use crate::live::Status;
use crate::model::Bytes;
use crate::runtimes::same_tag;

/// Where one host stands, as placement sees it.
#[derive(Debug, Clone, Copy)]
pub struct Room<'a> {
    pub status: &'a Status,
    /// Bytes this placement round already promised here (models placed, not yet loaded).
    pub promised: Bytes,
}

impl Room<'_> {
    fn answers(&self) -> bool {
        self.status.seen && self.status.offline.is_none()
    }

    fn has(&self, model: &str) -> bool {
        self.status
            .installed
            .as_ref()
            .is_some_and(|all| all.iter().any(|(m, _)| same_tag(m, model)))
    }

    fn holds(&self, model: &str) -> bool {
        self.status.models.iter().any(|m| same_tag(&m.model, model))
    }

    fn free(&self) -> u64 {
        self.status
            .budget
            .0
            .saturating_sub(self.status.used.0)
            .saturating_sub(self.promised.0)
    }
}

/// Each host's room: its status and what this round promised there (`promised` may be
/// shorter than `statuses`: nothing promised).
pub fn rooms<'a>(statuses: &'a [Status], promised: &[Bytes]) -> Vec<Room<'a>> {
    statuses
        .iter()
        .enumerate()
        .map(|(i, status)| Room {
            status,
            promised: promised.get(i).copied().unwrap_or(Bytes(0)),
        })
        .collect()
}

/// The host (an index into `hosts`) that runs `model`, the persona having been on `previous`;
/// or why none can.
pub fn place(model: &str, hosts: &[Room<'_>], previous: Option<&str>) -> Result<usize, String> {
    let candidates: Vec<usize> = (0..hosts.len())
        .filter(|&i| hosts[i].answers() && hosts[i].has(model))
        .collect();
    let was = |i: &usize| previous == Some(hosts[*i].status.host.as_str());
    let loaded: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&i| hosts[i].holds(model))
        .collect();
    if let Some(i) = loaded.iter().copied().find(was).or(loaded.first().copied()) {
        return Ok(i);
    }
    if let Some(i) = candidates.iter().copied().find(was) {
        return Ok(i);
    }
    // The most room left; the first listed among equals.
    if let Some(i) = candidates
        .iter()
        .copied()
        .rev()
        .max_by_key(|&i| hosts[i].free())
    {
        return Ok(i);
    }
    let names = |f: &dyn Fn(&Room<'_>) -> bool| {
        hosts
            .iter()
            .filter(|h| f(h))
            .map(|h| h.status.host.as_str())
            .collect::<Vec<_>>()
    };
    let up = names(&|h| h.answers());
    if let [one] = hosts {
        // One host, as before there could be several.
        return Err(if one.answers() {
            format!("{model} is not installed in Ollama (`ollama pull {model}`)")
        } else {
            format!("Ollama does not answer at {}", one.status.host)
        });
    }
    if up.is_empty() {
        let down: Vec<String> = hosts
            .iter()
            .map(|h| match &h.status.offline {
                Some(why) => format!("{}: {why}", h.status.host),
                None => format!("{}: not asked yet", h.status.host),
            })
            .collect();
        return Err(format!("no Ollama host answers ({})", down.join("; ")));
    }
    Err(format!(
        "{model} is installed on no Ollama host that answers ({}): `ollama pull {model}` on one",
        up.join(", ")
    ))
}

/// Parses `OLLAMA_HOSTS`: `URL[=BUDGET],URL[=BUDGET],…` (a host without its own budget gets
/// `default_budget`). Errors name the bad entry.
pub fn parse_hosts(text: &str, default_budget: Bytes) -> Result<Vec<(String, Bytes)>, String> {
    let mut hosts: Vec<(String, Bytes)> = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (url, budget) = match entry.rsplit_once('=') {
            Some((url, size)) => (
                url.trim(),
                size.trim()
                    .parse::<Bytes>()
                    .map_err(|e| format!("OLLAMA_HOSTS entry {entry:?}: {e}"))?,
            ),
            None => (entry, default_budget),
        };
        if url.is_empty() {
            return Err(format!("OLLAMA_HOSTS entry {entry:?} names no host"));
        }
        if hosts.iter().any(|(u, _)| u == url) {
            return Err(format!("OLLAMA_HOSTS names {url} twice"));
        }
        hosts.push((url.to_string(), budget));
    }
    if hosts.is_empty() {
        return Err(format!(
            "OLLAMA_HOSTS {text:?} names no host (write URL,URL or URL=8GiB,URL=24GiB)"
        ));
    }
    Ok(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::{ModelState, ModelStatus};

    fn host(
        name: &str,
        budget_gb: f64,
        used_gb: f64,
        installed: &[&str],
        loaded: &[&str],
    ) -> Status {
        Status {
            host: name.into(),
            seen: true,
            offline: None,
            budget: Bytes::gb(budget_gb),
            used: Bytes::gb(used_gb),
            models: loaded
                .iter()
                .map(|m| ModelStatus {
                    model: m.to_string(),
                    size: Bytes::gb(1.0),
                    state: ModelState::Loaded,
                    busy: false,
                    pinned: false,
                    personas: Vec::new(),
                })
                .collect(),
            installed: Some(
                installed
                    .iter()
                    .map(|m| (m.to_string(), Bytes(0)))
                    .collect(),
            ),
            ..Status::default()
        }
    }

    fn rooms(hosts: &[Status]) -> Vec<Room<'_>> {
        super::rooms(hosts, &[])
    }

    #[test]
    fn a_model_goes_where_it_is_loaded_then_where_it_was_then_where_there_is_room() {
        let hosts = [
            host("a", 8.0, 6.0, &["phi3:3.8b", "mistral:7b"], &["phi3:3.8b"]),
            host("b", 8.0, 1.0, &["phi3:3.8b", "mistral:7b"], &[]),
            host("c", 24.0, 0.0, &["phi3"], &[]),
        ];
        let r = rooms(&hosts);
        // Loaded on a: a, even though b has more room and the persona was on b.
        assert_eq!(place("phi3:3.8b", &r, Some("b")), Ok(0));
        // Not loaded anywhere: where it was.
        assert_eq!(place("mistral:7b", &r, Some("a")), Ok(0));
        // Nowhere before: the most room (c lacks it: never there).
        assert_eq!(place("mistral:7b", &r, None), Ok(1));
        // `phi3` is `phi3:latest`, on c only.
        assert_eq!(place("phi3", &r, None), Ok(2));
        // What this round promised counts.
        let mut r = rooms(&hosts);
        r[1].promised = Bytes::gb(6.5);
        assert_eq!(place("mistral:7b", &r, None), Ok(0));
    }

    #[test]
    fn no_host_is_chosen_without_the_model_or_while_down_and_the_reason_names_them() {
        let mut hosts = [
            host("http://a:11434", 8.0, 0.0, &["phi3:3.8b"], &["phi3:3.8b"]),
            host("http://b:11434", 8.0, 0.0, &["mistral:7b"], &[]),
        ];
        let why = place("gemma2:9b", &rooms(&hosts), None).unwrap_err();
        assert!(
            why.contains("gemma2:9b is installed on no Ollama host"),
            "{why}"
        );
        assert!(why.contains("http://a:11434, http://b:11434"), "{why}");
        hosts[0].offline = Some("connection refused".into());
        // Down: its loaded model does not count.
        let why = place("phi3:3.8b", &rooms(&hosts), None).unwrap_err();
        assert!(why.contains("installed on no"), "{why}");
        hosts[1].offline = Some("timed out".into());
        let why = place("mistral:7b", &rooms(&hosts), None).unwrap_err();
        assert_eq!(
            why,
            "no Ollama host answers (http://a:11434: connection refused; http://b:11434: timed out)"
        );
    }

    #[test]
    fn one_host_says_what_it_always_said() {
        let mut hosts = [host("http://a:11434", 8.0, 0.0, &["phi3:3.8b"], &[])];
        assert_eq!(
            place("gemma2:9b", &rooms(&hosts), None),
            Err("gemma2:9b is not installed in Ollama (`ollama pull gemma2:9b`)".into())
        );
        hosts[0].offline = Some("connection refused".into());
        assert_eq!(
            place("phi3:3.8b", &rooms(&hosts), None),
            Err("Ollama does not answer at http://a:11434".into())
        );
    }

    #[test]
    fn the_host_list_parses_with_budgets_and_names_a_bad_entry() {
        let default = Bytes::gib(8);
        assert_eq!(
            parse_hosts("http://a:11434, http://b:11434=24GiB,", default),
            Ok(vec![
                ("http://a:11434".to_string(), default),
                ("http://b:11434".to_string(), Bytes::gib(24)),
            ])
        );
        let bad = parse_hosts("http://a=lots", default).unwrap_err();
        assert!(bad.contains("\"http://a=lots\""), "{bad}");
        assert!(
            parse_hosts(" , ", default)
                .unwrap_err()
                .contains("names no host")
        );
        assert!(parse_hosts("a,a", default).unwrap_err().contains("twice"));
    }
}

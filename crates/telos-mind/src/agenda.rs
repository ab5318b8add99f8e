//! The agenda, ALFRED's as supervisor: the detectors' findings become motives (once each),
//! motives become work, and work runs — one act at a time, each a cycle — only while the
//! autonomy switch allows it, the budget has room and no user request waits.
//!
//! The budget has two caps. Works per hour (counted over the last hour) and the share of
//! model time: after an act that took `t`, the next waits `t × (1 − share) / share`, so the
//! agenda's acts fill at most `share` of any stretch of time (default 20%). A user's request
//! goes first: no act starts while a persona is busy with one, and a dialogue act waits
//! between turns while one is.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use telos_image::ops::{self, Op};
use telos_persona::{Status, Voice};
use telos_supervisor::{Shutdown, Supervisor};
use tokio::sync::{Mutex, Notify, broadcast};

use crate::motive::{self, Finding, Motive};
use crate::work::{self, Work, WorkState};
use crate::{Error, Result, detect};

/// The object holding the agenda's settings.
pub const AGENDA: &str = "agenda";
/// Cycle records the detectors look back over.
const WINDOW: usize = 500;
const HOUR_MS: i64 = 3_600_000;

/// What the agenda may do on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum Autonomy {
    /// Motives are noticed; no work is proposed or run.
    Off,
    /// Work is proposed and waits for the user's approval.
    #[default]
    Ask,
    /// Work is approved as it is proposed.
    On,
}

impl std::str::FromStr for Autonomy {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "off" => Ok(Autonomy::Off),
            "ask" => Ok(Autonomy::Ask),
            "on" => Ok(Autonomy::On),
            _ => Err(format!("autonomy is off, ask or on, not {s:?}")),
        }
    }
}

/// The agenda's caps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// Acts per hour at most.
    pub per_hour: u32,
    /// The share of time the agenda's acts may fill (0 < share ≤ 1).
    pub share: f64,
    /// How often the agenda looks for motives when nothing wakes it.
    pub tick: Duration,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            per_hour: 12,
            share: 0.2,
            tick: Duration::from_secs(15),
        }
    }
}

/// Why no act runs now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Hold {
    /// Autonomy is off.
    Off,
    /// A user's request is under way.
    UserFirst,
    /// The cap on acts per hour is reached until `until` (ms since the epoch).
    PerHour {
        #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
        until: i64,
    },
    /// The share of model time is used until `until`.
    Share {
        #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
        until: i64,
    },
    /// No approved work waits.
    NothingApproved,
}

impl std::fmt::Display for Hold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let wait = |until: i64| (until - telos_image::now_ms()).max(0) as f64 / 1e3;
        match self {
            Hold::Off => write!(f, "autonomy is off"),
            Hold::UserFirst => write!(f, "a user's request goes first"),
            Hold::PerHour { until } => write!(
                f,
                "the cap on acts per hour is reached (room again in {:.0} s)",
                wait(*until)
            ),
            Hold::Share { until } => write!(
                f,
                "the agenda's share of model time is used (room again in {:.1} s)",
                wait(*until)
            ),
            Hold::NothingApproved => write!(f, "no approved work waits"),
        }
    }
}

/// One change on the agenda, broadcast as it happens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum AgendaEvent {
    Motive(Motive),
    Work(Work),
    Autonomy { autonomy: Autonomy },
}

/// What one planning pass added.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Planned {
    pub motives: Vec<Motive>,
    pub works: Vec<Work>,
    pub cycle: Option<String>,
}

/// What one step of the agenda did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Step {
    /// An act ran: the work as it ended (done or failed).
    Acted { work: Box<Work> },
    /// Nothing ran, and why.
    Held { hold: Hold },
}

/// The agenda over one image and the personas' voices. Cloning is shallow.
#[derive(Clone)]
pub struct Agenda {
    pub(crate) voice: Voice,
    pub(crate) status: Status,
    pub(crate) supervisor: Supervisor,
    pub(crate) notes: PathBuf,
    budget: Budget,
    events: broadcast::Sender<AgendaEvent>,
    /// One planning pass and one act at a time.
    planning: Arc<Mutex<()>>,
    acting: Arc<Mutex<()>>,
    wake: Arc<Notify>,
}

impl Agenda {
    /// An agenda whose research notes are written to `notes` (a folder it makes).
    pub fn new(
        voice: Voice,
        status: Status,
        supervisor: Supervisor,
        budget: Budget,
        notes: PathBuf,
    ) -> Self {
        Self {
            voice,
            status,
            supervisor,
            notes,
            budget,
            events: broadcast::channel(256).0,
            planning: Arc::default(),
            acting: Arc::default(),
            wake: Arc::default(),
        }
    }

    pub fn budget(&self) -> Budget {
        self.budget
    }

    pub fn subscribe(&self) -> broadcast::Receiver<AgendaEvent> {
        self.events.subscribe()
    }

    pub(crate) fn tell_work(&self, work: &Work) {
        self.tell(AgendaEvent::Work(work.clone()));
    }

    fn tell(&self, event: AgendaEvent) {
        // No receiver (a CLI run) is not an error: nobody is watching.
        let _ = self.events.send(event);
    }

    /// The switch as the image holds it (`ask` until it is set).
    pub fn autonomy(&self) -> Autonomy {
        self.voice
            .image()
            .resolve(AGENDA)
            .ok()
            .and_then(|o| o.slots.get("autonomy").cloned())
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default()
    }

    /// Sets the switch (one cycle).
    pub async fn set_autonomy(&self, autonomy: Autonomy) -> Result<Autonomy> {
        let image = self.voice.image();
        let mut program = Vec::new();
        if image.resolve(AGENDA).is_err() {
            program.push(Op::New {
                name: AGENDA.into(),
                parents: vec!["genesis".into()],
            });
        }
        program.push(Op::Set {
            object: AGENDA.into(),
            slot: "autonomy".into(),
            value: json!(autonomy),
        });
        ops::apply(image, &format!("autonomy {}", json!(autonomy)), &program).await?;
        self.tell(AgendaEvent::Autonomy { autonomy });
        self.wake.notify_one();
        Ok(autonomy)
    }

    pub fn motives(&self) -> Vec<Motive> {
        motive::motives(self.voice.image())
    }

    pub fn works(&self) -> Vec<Work> {
        work::works(self.voice.image())
    }

    /// Runs the detectors; what is new becomes motives and (unless autonomy is off) work, in
    /// one cycle. Nothing new: no cycle.
    pub async fn plan(&self) -> Result<Planned> {
        let _one = self.planning.lock().await;
        let image = self.voice.image();
        let recent = image.cycles(WINDOW).await?;
        let known = motive::known_keys(image);
        let mut fresh: Vec<Finding> = Vec::new();
        for f in detect::detect(image, &recent) {
            if !known.contains(&f.key) && !fresh.iter().any(|g| g.key == f.key) {
                fresh.push(f);
            }
        }
        if fresh.is_empty() {
            return Ok(Planned::default());
        }
        let autonomy = self.autonomy();
        let state = if autonomy == Autonomy::On {
            WorkState::Approved
        } else {
            WorkState::Proposed
        };
        let mut open: HashMap<String, telos_image::ObjectId> = HashMap::new();
        for w in self.works().into_iter().filter(|w| w.state.is_open()) {
            if let Some(id) = telos_image::ObjectId::parse(&w.id) {
                open.insert(w.key, id);
            }
        }
        let noticed = match fresh.len() {
            1 => "agenda noticed 1 motive".to_string(),
            n => format!("agenda noticed {n} motives"),
        };
        let mut cycle = image.begin(&noticed);
        let (mut motive_ids, mut work_ids) = (Vec::new(), Vec::new());
        for (n, finding) in fresh.iter().enumerate() {
            let (id, _) = motive::stage(&mut cycle, finding, n)?;
            if let (Some(p), true) = (&finding.work, autonomy != Autonomy::Off) {
                let work = match open.get(&p.key()) {
                    Some(w) => w.clone(),
                    None => {
                        let priority = finding.signal.priority();
                        let (w, _) = work::stage(&mut cycle, p, &id, priority, state, n)?;
                        open.insert(p.key(), w.clone());
                        work_ids.push(w.clone());
                        w
                    }
                };
                cycle.set_slot(&id, "work", json!(work))?;
            }
            motive_ids.push(id);
        }
        let record = cycle.commit().await?;
        let fetch = |id: &telos_image::ObjectId| image.get(id).ok();
        let planned = Planned {
            motives: motive_ids
                .iter()
                .filter_map(fetch)
                .filter_map(|o| Motive::of(&o))
                .collect(),
            works: work_ids
                .iter()
                .filter_map(fetch)
                .filter_map(|o| Work::of(&o))
                .collect(),
            cycle: Some(record.id),
        };
        for m in &planned.motives {
            self.tell(AgendaEvent::Motive(m.clone()));
        }
        for w in &planned.works {
            self.tell(AgendaEvent::Work(w.clone()));
        }
        Ok(planned)
    }

    /// Approves a proposed work (one cycle); it runs when the budget allows.
    pub async fn approve(&self, id: &str) -> Result<Work> {
        let done = self
            .move_work(id, &[WorkState::Proposed], WorkState::Approved)
            .await;
        self.wake.notify_one();
        done
    }

    /// Rejects a work that has not run.
    pub async fn reject(&self, id: &str) -> Result<Work> {
        self.move_work(
            id,
            &[WorkState::Proposed, WorkState::Approved],
            WorkState::Rejected,
        )
        .await
    }

    async fn move_work(&self, id: &str, from: &[WorkState], to: WorkState) -> Result<Work> {
        let work = self.work(id)?;
        if !from.contains(&work.state) {
            return Err(Error::WorkState {
                work: work.name,
                state: work.state,
                wanted: to,
            });
        }
        let changed = self
            .set_work(
                &work,
                &format!("agenda {} {}", json!(to), work.name),
                [("state", json!(to))],
            )
            .await?;
        Ok(changed)
    }

    /// A work by id or name.
    pub fn work(&self, id: &str) -> Result<Work> {
        self.voice
            .image()
            .resolve(id)
            .ok()
            .and_then(|o| Work::of(&o))
            .ok_or_else(|| Error::NoWork(id.to_string()))
    }

    /// Sets slots of a work (one cycle) and tells the listeners.
    pub(crate) async fn set_work<const N: usize>(
        &self,
        work: &Work,
        trigger: &str,
        slots: [(&str, serde_json::Value); N],
    ) -> Result<Work> {
        let program: Vec<Op> = slots
            .into_iter()
            .map(|(slot, value)| Op::Set {
                object: work.id.clone(),
                slot: slot.into(),
                value,
            })
            .collect();
        ops::apply(self.voice.image(), trigger, &program).await?;
        let now = self.work(&work.id)?;
        self.tell(AgendaEvent::Work(now.clone()));
        Ok(now)
    }

    /// Why no act may start now, if one may not (autonomy, the user, no approved work, the
    /// budget).
    pub fn hold(&self) -> Option<Hold> {
        if self.autonomy() == Autonomy::Off {
            return Some(Hold::Off);
        }
        if self.status.any_busy() {
            return Some(Hold::UserFirst);
        }
        if self.next().is_none() {
            return Some(Hold::NothingApproved);
        }
        let now = telos_image::now_ms();
        let acts: Vec<(i64, f64)> = self
            .works()
            .iter()
            .filter_map(|w| Some((w.started?, w.ms.unwrap_or(0.0))))
            .collect();
        let mut this_hour: Vec<i64> = acts
            .iter()
            .map(|(s, _)| *s)
            .filter(|s| now - s < HOUR_MS)
            .collect();
        this_hour.sort_unstable();
        if this_hour.len() >= self.budget.per_hour as usize {
            let oldest = this_hour[this_hour.len() - self.budget.per_hour as usize];
            return Some(Hold::PerHour {
                until: oldest + HOUR_MS,
            });
        }
        let share = self.budget.share.clamp(0.01, 1.0);
        let until = acts
            .iter()
            .map(|(s, ms)| s + (ms + ms * (1.0 - share) / share).ceil() as i64)
            .max();
        match until {
            Some(until) if until > now => Some(Hold::Share { until }),
            _ => None,
        }
    }

    /// One step: the most pressing approved work runs as one act, when nothing holds it.
    pub async fn run_once(&self) -> Result<Step> {
        let _one = self.acting.lock().await;
        if let Some(hold) = self.hold() {
            return Ok(Step::Held { hold });
        }
        let Some(next) = self.next() else {
            return Ok(Step::Held {
                hold: Hold::NothingApproved,
            });
        };
        let work = crate::act::act(self, next).await?;
        Ok(Step::Acted {
            work: Box::new(work),
        })
    }

    /// The approved work to run next: the highest priority, then the oldest.
    fn next(&self) -> Option<Work> {
        self.works()
            .into_iter()
            .filter(|w| w.state == WorkState::Approved)
            .min_by(|a, b| b.priority.cmp(&a.priority).then(a.at.cmp(&b.at)))
    }

    /// The agenda as a service: it notices, proposes and acts as the switch and the budget
    /// allow, until `shutdown`. Work left `running` by a Telos that stopped mid-act is
    /// approved again first.
    pub async fn run(self, shutdown: Shutdown) -> std::result::Result<(), String> {
        for w in self.works() {
            if w.state == WorkState::Running {
                let again = [("state", json!(WorkState::Approved))];
                if let Err(e) = self.set_work(&w, "agenda retry", again).await {
                    tracing::warn!("{} stays running: {e}", w.name);
                }
            }
        }
        while !shutdown.is_set() {
            if let Err(e) = self.plan().await {
                tracing::warn!("the agenda could not plan: {e}");
            }
            let pause = match self.run_once().await {
                Ok(Step::Acted { .. }) => Duration::ZERO,
                Ok(Step::Held {
                    hold: Hold::Share { until } | Hold::PerHour { until },
                }) => Duration::from_millis((until - telos_image::now_ms()).max(0) as u64)
                    .min(self.budget.tick),
                Ok(Step::Held { .. }) => self.budget.tick,
                Err(e) => {
                    tracing::warn!("the agenda could not act: {e}");
                    self.budget.tick
                }
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = self.wake.notified() => {}
                () = self.status.idle(), if self.status.any_busy() => {}
                () = shutdown.wait() => {}
            }
        }
        Ok(())
    }
}

//! Live persona status that is not in the image: whether a chat or an ingest is under way
//! (model states come from the scheduler's own status). Each change is
//! broadcast so the windows can update a persona's badges as it happens, not on the next
//! image change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use telos_image::ObjectId;
use tokio::sync::broadcast;

/// One change of a persona's live status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum StatusChange {
    /// A persona started its first chat (`busy: true`) or finished its last one.
    Busy { persona: String, busy: bool },
}

/// Personas with chats under way and the status channel. Cloning is shallow.
#[derive(Clone)]
pub struct Status {
    /// Chats under way per persona. A std lock: held only to count or test, never across
    /// an await.
    busy: Arc<Mutex<HashMap<ObjectId, usize>>>,
    changes: broadcast::Sender<StatusChange>,
}

impl Default for Status {
    fn default() -> Self {
        Self {
            busy: Arc::default(),
            changes: broadcast::channel(256).0,
        }
    }
}

impl Status {
    pub fn subscribe(&self) -> broadcast::Receiver<StatusChange> {
        self.changes.subscribe()
    }

    pub fn is_busy(&self, id: &ObjectId) -> bool {
        self.counts().contains_key(id)
    }

    /// Whether any persona is busy with a user's request (a chat or a drop).
    pub fn any_busy(&self) -> bool {
        !self.counts().is_empty()
    }

    /// Waits until no persona is busy with a user's request: the mind's own work goes after
    /// the user's.
    pub async fn idle(&self) {
        let mut changes = self.subscribe();
        while self.any_busy() {
            // Missed changes (a lagging receiver) only mean looking again.
            let _ =
                tokio::time::timeout(std::time::Duration::from_millis(500), changes.recv()).await;
        }
    }

    /// Marks `id` busy until the guard drops (counted: two chats keep it busy until both end).
    pub fn enter_busy(&self, id: ObjectId) -> BusyGuard {
        let first = {
            let mut counts = self.counts();
            let n = counts.entry(id.clone()).or_default();
            *n += 1;
            *n == 1
        };
        if first {
            self.send_busy(&id, true);
        }
        BusyGuard {
            status: self.clone(),
            id,
        }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectId, usize>> {
        self.busy.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send_busy(&self, id: &ObjectId, busy: bool) {
        // No receiver (no window, a CLI run) is not an error: nobody is watching.
        let _ = self.changes.send(StatusChange::Busy {
            persona: id.to_string(),
            busy,
        });
    }
}

/// Keeps a persona busy while it lives.
pub struct BusyGuard {
    status: Status,
    id: ObjectId,
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        let last = {
            let mut counts = self.status.counts();
            match counts.get_mut(&self.id) {
                Some(n) if *n > 1 => {
                    *n -= 1;
                    false
                }
                Some(_) => {
                    counts.remove(&self.id);
                    true
                }
                None => false,
            }
        };
        if last {
            self.status.send_busy(&self.id, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ObjectId {
        ObjectId::parse(s).unwrap()
    }

    #[test]
    fn busy_is_announced_on_the_first_chat_and_cleared_after_the_last() {
        let status = Status::default();
        let mut rx = status.subscribe();
        let brick = id("01KAAAAAAAAAAAAAAAAAAAAAAA");
        let one = status.enter_busy(brick.clone());
        let two = status.enter_busy(brick.clone());
        assert!(status.is_busy(&brick));
        drop(one);
        assert!(status.is_busy(&brick), "one chat still runs");
        drop(two);
        assert!(!status.is_busy(&brick));
        let persona = brick.to_string();
        assert_eq!(
            rx.try_recv().unwrap(),
            StatusChange::Busy {
                persona: persona.clone(),
                busy: true
            }
        );
        assert_eq!(
            rx.try_recv().unwrap(),
            StatusChange::Busy {
                persona,
                busy: false
            }
        );
        assert!(rx.try_recv().is_err(), "no change in between is announced");
    }
}

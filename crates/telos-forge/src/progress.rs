//! What a forge is doing, as it happens: BRICK writing attempt n of N, the sandbox testing
//! it, its verdict, and how the forge ended. Every forge is heard (a `doesNotUnderstand`, the
//! CLI, the Debugger's resume), so a window can show it whoever started it.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// One step of a forge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ForgeProgress {
    /// The persona writes attempt `attempt` of at most `of`.
    Writing {
        receiver: String,
        selector: String,
        persona: String,
        attempt: u32,
        of: u32,
    },
    /// The sandbox runs the attempt's test (and the method, with the send's arguments).
    Testing {
        receiver: String,
        selector: String,
        attempt: u32,
        of: u32,
    },
    /// The attempt failed; the next one (if any) is asked for with `why`.
    Failed {
        receiver: String,
        selector: String,
        attempt: u32,
        of: u32,
        why: String,
    },
    /// The attempt passed its test: the method is installed with the cycle.
    Passed {
        receiver: String,
        selector: String,
        attempt: u32,
    },
    /// Nothing was installed: the cycle is kept suspended for the Debugger.
    Suspended {
        receiver: String,
        selector: String,
        cycle: String,
        why: String,
    },
}

/// Where forge progress is told: a broadcast nobody need listen to.
#[derive(Clone)]
pub(crate) struct Herald(broadcast::Sender<ForgeProgress>);

impl Default for Herald {
    fn default() -> Self {
        Self(broadcast::channel(64).0)
    }
}

impl Herald {
    pub fn tell(&self, p: ForgeProgress) {
        // No listener is no error: progress is for whoever watches.
        let _ = self.0.send(p);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ForgeProgress> {
        self.0.subscribe()
    }
}

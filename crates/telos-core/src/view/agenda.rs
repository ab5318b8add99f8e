//! The agenda as a front end shows it.

use serde::{Deserialize, Serialize};
use telos_mind::{Autonomy, Hold, Motive, Work};

/// The agenda now: the switch, the caps, why no act may start (if none may), the motives and
/// the work, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AgendaView {
    pub autonomy: Autonomy,
    pub per_hour: u32,
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub share: f64,
    pub hold: Option<Hold>,
    pub motives: Vec<Motive>,
    pub works: Vec<Work>,
}

//! What the desktop shell and the CLI show: plain, serialisable views of objects, cycles and
//! changes. With the `specta` feature they also describe themselves to TypeScript.
//!
//! Slot values cross as exact JSON *text*: a JavaScript number cannot hold every JSON number
//! the image keeps (a `u64` above 2^53), and an editor wants the text anyway. Times are
//! milliseconds since the Unix epoch as `f64`, exact for any date a person will see, and always
//! finite, so TypeScript sees them as `number` (not specta's default `number | null`).

mod agenda;
mod cycle;
mod learn;
mod models;
mod object;
mod persona;
mod scheduler;
mod world;

pub use agenda::AgendaView;
pub use cycle::{
    ChangeView, CycleState, CycleSummary, CycleView, ForgeOutcome, SlotChange, StagedKind,
    StagedView, StepState, StepView,
};
pub use learn::GoldenView;
pub use models::{ModelView, PullProgress, Pulled};
pub use object::{LinkView, MethodView, ObjectView, SlotView, ValueKind};
pub use persona::PersonaView;
pub use scheduler::{EmbeddedView, HostView, LoadedModelView, PersonaModelState, SchedulerView};
pub use telos_image::ObjRef;
pub use world::{ModelState, MorphKind, MorphView, PINNED, POSITION, Point};
pub(crate) use world::{checked_point, offset_position, world};

use serde_json::Value;

/// Compact JSON text; serialising a `Value` cannot fail.
pub(crate) fn json_text(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Counts and versions for a UI: JavaScript numbers, saturating far beyond any real count.
pub(crate) fn small(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

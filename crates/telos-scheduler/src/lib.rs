//! The model scheduler: which persona models sit in VRAM, and what loads and unloads when.
//!
//! Four personas think with four models on one small GPU. [`plan::decide`] is the policy as
//! a pure function of what is loaded and what a request needs (DESIGN invariant 5: never more
//! VRAM than the budget; a model that can never fit is refused at once). [`replay`] runs a
//! [`trace`] of requests through that same code on a simulated GPU, beside Ollama's own
//! behaviour and the offline optimum, so a user can ask "what if" of models and budgets.
//!
//! ```
//! use telos_scheduler::{Bytes, KeepAlive, Persona, trace, replay, DEFAULT_BUDGET};
//! let persona = |name: &str, model: &str, keep_alive, gb| Persona {
//!     name: name.into(), model: model.into(), keep_alive, priority: 1, size: Bytes::gb(gb),
//! };
//! let personas = [
//!     persona("ALFRED", "phi3:3.8b", KeepAlive::Forever, 2.2),
//!     persona("BRICK", "mistral:7b", KeepAlive::DEFAULT, 4.1),
//! ];
//! let requests = trace::generate(&personas, 100, 1);
//! let how = replay::Replay::Online(telos_scheduler::Policy::Telos);
//! let report = replay::replay(&requests, &personas, DEFAULT_BUDGET, how, Default::default()).unwrap();
//! assert!(report.peak_vram <= DEFAULT_BUDGET);
//! assert_eq!(report.pinned_evictions, 0);
//! ```

pub mod error;
pub mod hosts;
pub mod live;
pub mod model;
pub mod ollama;
pub mod plan;
pub mod replay;
pub mod runtimes;
pub mod trace;

pub use error::{Error, Result};
pub use live::{Lease, Scheduler, Status};
pub use model::{Bytes, DEFAULT_BUDGET, KeepAlive, Persona, Runtime};
pub use ollama::{Backend, Message, Ollama};
pub use plan::{Decision, Policy, Resident, Want, decide};
pub use runtimes::{Mode, Reply, Route, Runtimes, Statuses};

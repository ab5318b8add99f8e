//! The living image: a world of prototype objects (Self-style slots, ordered `parent*`
//! delegation, clone, message send, `doesNotUnderstand`) kept in SurrealDB as a graph, changed
//! only by *cycles of thought* that commit atomically or leave no trace.
//!
//! Everything else in Telos (memory, personas, the forge, the desktop shell) reads the image
//! through [`Image`] and changes it through a [`Cycle`].
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use serde_json::json;
//! use telos_image::{Image, genesis};
//!
//! let image = Image::in_memory().await?;
//! genesis::awaken(&image).await?;
//!
//! let mut cycle = image.begin("example");
//! let persona = cycle.resolve("persona")?;
//! let robot = cycle.create("robot", &[persona])?;
//! cycle.set_slot(&robot, "color", json!("red"))?;
//! cycle.commit().await?;
//!
//! // `kind` is not on robot: it is found on its parent by delegation.
//! assert_eq!(image.send("robot", "kind", json!([])).await?, json!("persona"));
//! # Ok::<(), telos_image::Error>(())
//! # }).unwrap();
//! ```

mod cycle;
mod error;
pub mod genesis;
mod image;
mod lookup;
mod object;
pub mod ops;
mod send;
mod store;

pub use cycle::{Cycle, CycleRecord, CycleStatus, Resolution, StagedObject, Step};
pub use error::{Error, Result};
pub use image::{Change, ChangeKind, ClaimGuard, Cut, Dump, FREE_TO_RESUME, Image, ReadOnly};
pub use lookup::Found;
pub use object::{
    MAX_SLOT_BYTES, Method, ObjRef, Object, ObjectId, Provenance, check_name, check_selector,
    now_ms,
};
pub use send::{BoxFuture, DoesNotUnderstand, Invocation, Invoker, NoInvoker, RefuseNotUnderstood};
pub use store::{DATABASE, Endpoint, StoreOptions};

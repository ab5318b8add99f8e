//! The image's error type: every variant names the input it is about.

use crate::object::ObjectId;

/// Everything that can go wrong in the living image.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown object '{0}'")]
    UnknownObject(String),
    #[error("an object named '{0}' already exists")]
    NameTaken(String),
    #[error("invalid object name '{name}': {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error("invalid selector '{selector}': {reason}")]
    InvalidSelector {
        selector: String,
        reason: &'static str,
    },
    #[error("slot '{slot}' on '{object}' is {size} bytes, over the {limit}-byte limit")]
    SlotTooLarge {
        object: String,
        slot: String,
        size: usize,
        limit: usize,
    },
    #[error("making '{parent}' a parent of '{child}' would create a delegation loop")]
    DelegationLoop { child: String, parent: String },
    #[error("'{object}' cannot be deleted: it is a parent of '{child}'")]
    StillAParent { object: String, child: String },
    #[error("'{object}' cannot be deleted: '{from}' still links to it ({relation})")]
    StillLinked {
        object: String,
        from: String,
        relation: String,
    },
    #[error("'{0}' is already a parent of '{1}'")]
    AlreadyAParent(String, String),
    #[error("conflict: object '{object}' was changed by another cycle since this cycle read it")]
    Conflict { object: ObjectId },
    #[error("'{receiver}' does not understand '{selector}'")]
    NotUnderstood { receiver: String, selector: String },
    #[error(
        "'{receiver}' does not understand '{selector}', and the forge could not make it: {why}"
    )]
    NotUnderstoodForgeFailed {
        receiver: String,
        selector: String,
        why: String,
        /// The forge's cycle, kept suspended for the Debugger (when it got that far).
        suspended: Option<String>,
    },
    #[error("'{receiver}' has a method '{selector}' but no invoker is installed to run it")]
    NoInvoker { receiver: String, selector: String },
    #[error("method '{selector}' on '{receiver}' failed: {message}")]
    InvocationFailed {
        receiver: String,
        selector: String,
        message: String,
    },
    #[error("operation {index} ({op}): {error}")]
    Operation {
        index: usize,
        op: &'static str,
        error: Box<Error>,
    },
    #[error("unknown cycle '{0}'")]
    UnknownCycle(String),
    #[error(
        "cycle '{0}' is not suspended: only an aborted cycle with a program or a forge task that has not been resumed or discarded can be"
    )]
    NotSuspended(String),
    #[error(
        "cycle '{0}' has no operation list to resume: it is a forge cycle, resumed by the forge"
    )]
    NoProgram(String),
    #[error("cycle '{0}' is being resumed already")]
    Busy(String),
    #[error("slot '{0}' does not hold a list")]
    NotAList(String),
    #[error("invalid endpoint '{endpoint}': {reason}")]
    InvalidEndpoint { endpoint: String, reason: String },
    #[error("image store ({endpoint}): {source}")]
    Store {
        endpoint: String,
        // Boxed: SurrealDB's error is large, and every `Result` of the image carries this enum.
        #[source]
        source: Box<surrealdb::Error>,
    },
    /// The live view of a server's image lost its subscription (the connection closed).
    #[error("the live view of {endpoint} ended: its connection closed")]
    LiveEnded { endpoint: String },
    #[error("cannot open image store {endpoint}: {source}")]
    StoreOpen {
        endpoint: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    #[error("stored record is malformed ({what}): {source}")]
    Corrupt {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "image store ({endpoint}) already holds {objects} objects: a restore writes only into an empty store"
    )]
    NotEmpty { endpoint: String, objects: usize },
    #[error("image store ({endpoint}) did not confirm the commit of cycle {cycle}")]
    Unconfirmed { endpoint: String, cycle: String },
    #[error(
        "the outcome of cycle {cycle} is unknown: its commit failed ({write}) and the store could not be read back ({read}); Telos is read-only until it is opened again"
    )]
    OutcomeUnknown {
        cycle: String,
        write: String,
        read: String,
    },
    #[error("the image is read-only: {0}")]
    ReadOnly(String),
}

impl Error {
    /// The store could not write for want of room: the disk (or the user's quota) is full, or
    /// its filesystem went read-only. Such a commit did not happen.
    pub fn is_out_of_space(&self) -> bool {
        let Self::Store { .. } = self else {
            return false;
        };
        let text = self.to_string();
        ["os error 28", "os error 122", "os error 30"]
            .iter()
            .any(|code| text.contains(code))
    }
}

/// Result alias for the image.
pub type Result<T, E = Error> = std::result::Result<T, E>;

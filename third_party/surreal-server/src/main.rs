//! `surreal`: SurrealDB 3.3.5's server, as its own binary starts it (`surreal start …`).

// As SurrealDB's own binary: its query engine's futures nest deeply.
#![recursion_limit = "256"]

use std::process::ExitCode;

fn main() -> ExitCode {
    surrealdb_server::init(surrealdb_server::core::CommunityComposer())
}

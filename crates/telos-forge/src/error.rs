//! Errors of the Tool Forge.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cycle '{0}' is not a forge cycle")]
    NotAForge(String),
    #[error("cycle '{cycle}' has no attempt {attempt} (it has {have})")]
    NoAttempt {
        cycle: String,
        attempt: u32,
        have: u32,
    },
    #[error(
        "attempt {attempt} of cycle '{cycle}' has no test to check an edit against; edit one that has"
    )]
    NoTest { cycle: String, attempt: u32 },
    #[error("no persona {0} to forge tools (the forge asks that persona)")]
    NoForger(String),
    #[error("the forge failed ({why}); its cycle {cycle} is suspended for the Debugger")]
    ForgeFailed { cycle: String, why: String },
    #[error(transparent)]
    Image(#[from] telos_image::Error),
    #[error(transparent)]
    Persona(#[from] telos_persona::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

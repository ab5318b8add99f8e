//! The Playground's commands: a line evaluated as a message send (one cycle, a miss forged on
//! the way; the forge's progress reaches every window as `ForgeProgressed`), a persona taught
//! a method in words (*Teach…* on its halo), a hypervector query cleaned up to symbols, and
//! the window itself.

use tauri::State;
use telos_core::memory::Answer;
use telos_core::view::ForgeOutcome;
use telos_core::{Answered, Telos};

use crate::error::IpcResult;
use crate::windows;

/// Evaluates one line of the Playground (`receiver selector [args]`) as a message send,
/// recorded as one cycle.
#[tauri::command]
#[specta::specta]
pub async fn evaluate(telos: State<'_, Telos>, line: String) -> IpcResult<Answered> {
    Ok(telos.evaluate(&line).await?)
}

/// Forges `selector` on `persona` for `task` (what the method should do): BRICK writes it,
/// the sandbox tests it, a pass is installed as one cycle.
#[tauri::command]
#[specta::specta]
pub async fn teach(
    telos: State<'_, Telos>,
    persona: String,
    selector: String,
    task: String,
) -> IpcResult<ForgeOutcome> {
    Ok(telos.forge_method(&persona, &selector, &task).await?)
}

/// Evaluates a hypervector expression over `persona`'s symbols (BABS's when `None`) and
/// cleans it up to the `k` nearest.
#[tauri::command]
#[specta::specta]
pub async fn vsa_query(
    telos: State<'_, Telos>,
    persona: Option<String>,
    expression: String,
    k: u32,
) -> IpcResult<Answer> {
    Ok(telos
        .vsa_query(persona.as_deref(), &expression, k as usize)
        .await?)
}

/// Opens (or brings forward) the Playground, with `receiver` written at its prompt if given.
#[tauri::command]
#[specta::specta]
pub async fn open_playground(app: tauri::AppHandle, receiver: Option<String>) -> IpcResult<()> {
    windows::playground(&app, receiver.as_deref())
}

//! The commands: each takes the shared `Telos`, makes one call into the core and returns the
//! core's answer (or its error, tagged for TypeScript).

use tauri::State;
use tauri::ipc::Channel;
use telos_core::memory::{Concept, Recalled};
use telos_core::view::{CycleSummary, CycleView, ObjRef, ObjectView};
use telos_core::{
    AgendaView, Amendment, Autonomy, ChatEvent, DialogueEvent, Dissonance, Edit, ForgeOutcome,
    IngestEvent, ModelView, MorphView, Planned, PullProgress, Pulled, SchedulerView, StepState,
    Telos, Work,
};

use crate::drops::Drops;
use crate::error::{IpcError, IpcResult};
use crate::windows;

#[tauri::command]
#[specta::specta]
pub fn world(telos: State<'_, Telos>) -> Vec<MorphView> {
    telos.world()
}

#[tauri::command]
#[specta::specta]
pub async fn object(telos: State<'_, Telos>, object: String) -> IpcResult<ObjectView> {
    Ok(telos.object(&object).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn set_slot(
    telos: State<'_, Telos>,
    object: String,
    slot: String,
    json: String,
) -> IpcResult<CycleSummary> {
    Ok(telos
        .set_slot_json(&object, &slot, &json, "ui slot edit")
        .await?)
}

#[tauri::command]
#[specta::specta]
pub async fn clone_object(telos: State<'_, Telos>, object: String) -> IpcResult<ObjRef> {
    Ok(telos.clone_object(&object, None).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn move_morph(
    telos: State<'_, Telos>,
    object: String,
    x: f64,
    y: f64,
) -> IpcResult<CycleSummary> {
    Ok(telos.move_morph(&object, x, y).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn set_pinned(
    telos: State<'_, Telos>,
    object: String,
    pinned: bool,
) -> IpcResult<CycleSummary> {
    Ok(telos.set_pinned(&object, pinned).await?)
}

/// Streams the persona's reply into `on_event` until it is done.
#[tauri::command]
#[specta::specta]
pub async fn chat(
    telos: State<'_, Telos>,
    persona: String,
    text: String,
    on_event: Channel<ChatEvent>,
) -> IpcResult<()> {
    relay(telos.chat(&persona, &text)?, &on_event).await;
    Ok(())
}

/// Sends each event of `events` into `on_event` until they end or the window goes away
/// (dropping `events` then: a chat or a dialogue is cut — kept suspended — an ingest goes on).
async fn relay<T: tauri::ipc::IpcResponse>(
    mut events: tokio::sync::mpsc::Receiver<T>,
    on_event: &Channel<T>,
) {
    while let Some(event) = events.recv().await {
        if on_event.send(event).is_err() {
            break;
        }
    }
}

/// A dialogue on `question` (BRICK and ROBIN argue, or the two personas of `sides`, in
/// speaking order; ALFRED judges and sums up), its events streamed into `on_event` until it
/// is recorded or kept suspended.
#[tauri::command]
#[specta::specta]
pub async fn dialogue(
    telos: State<'_, Telos>,
    question: String,
    rounds: u32,
    sides: Option<[String; 2]>,
    on_event: Channel<DialogueEvent>,
) -> IpcResult<()> {
    let sides = match &sides {
        Some([a, b]) => [a.as_str(), b.as_str()],
        None => telos_core::mind::SPEAKERS,
    };
    relay(telos.dialogue_between(&question, rounds, sides)?, &on_event).await;
    Ok(())
}

/// The agenda now: the autonomy switch, the budget, why nothing runs, motives and work.
#[tauri::command]
#[specta::specta]
pub fn agenda(telos: State<'_, Telos>) -> AgendaView {
    telos.agenda()
}

/// Runs the detectors now: what is new becomes motives and work.
#[tauri::command]
#[specta::specta]
pub async fn plan_agenda(telos: State<'_, Telos>) -> IpcResult<Planned> {
    Ok(telos.plan_agenda().await?)
}

/// Approves a proposed work.
#[tauri::command]
#[specta::specta]
pub async fn approve_work(telos: State<'_, Telos>, id: String) -> IpcResult<Work> {
    Ok(telos.approve_work(&id).await?)
}

/// Rejects a work that has not run.
#[tauri::command]
#[specta::specta]
pub async fn reject_work(telos: State<'_, Telos>, id: String) -> IpcResult<Work> {
    Ok(telos.reject_work(&id).await?)
}

/// Sets the autonomy switch.
#[tauri::command]
#[specta::specta]
pub async fn set_autonomy(telos: State<'_, Telos>, autonomy: Autonomy) -> IpcResult<Autonomy> {
    Ok(telos.set_autonomy(autonomy).await?)
}

/// Why the image is read-only now (a full disk, a commit whose outcome is unknown), or null
/// when it writes.
#[tauri::command]
#[specta::specta]
pub fn read_only(telos: State<'_, Telos>) -> Option<String> {
    telos.image().read_only().map(|r| r.reason)
}

/// The backup manager: its schedule, the last and next backup, any failure.
#[tauri::command]
#[specta::specta]
pub fn backup_status(telos: State<'_, Telos>) -> telos_core::BackupStatus {
    telos.backup_status()
}

/// The model scheduler's status now: VRAM, models, queues, personas' model states.
#[tauri::command]
#[specta::specta]
pub fn scheduler_status(telos: State<'_, Telos>) -> SchedulerView {
    telos.scheduler_status()
}

/// Every model of both runtimes: size, loaded or not, the personas it answers.
#[tauri::command]
#[specta::specta]
pub async fn models(telos: State<'_, Telos>) -> IpcResult<Vec<ModelView>> {
    Ok(telos.models().await)
}

/// Pulls a model (`hf:OWNER/REPO/FILE.gguf` into the models folder, or an Ollama tag into
/// Ollama), its progress streamed to `on_progress`.
#[tauri::command]
#[specta::specta]
pub async fn pull_model(model: String, on_progress: Channel<PullProgress>) -> IpcResult<Pulled> {
    Ok(telos_core::pull_model(&model, |p| {
        // A window closed mid-pull lets the pull finish unwatched.
        let _ = on_progress.send(p);
    })
    .await?)
}

/// The pending codex amendments.
#[tauri::command]
#[specta::specta]
pub fn amendments(telos: State<'_, Telos>) -> Vec<Amendment> {
    telos.amendments()
}

/// Approves a codex amendment: it commits to its persona as one cycle.
#[tauri::command]
#[specta::specta]
pub async fn approve_amendment(telos: State<'_, Telos>, id: String) -> IpcResult<CycleSummary> {
    Ok(telos.approve_amendment(&id).await?)
}

/// Rejects a codex amendment: the codex file is put back.
#[tauri::command]
#[specta::specta]
pub fn reject_amendment(telos: State<'_, Telos>, id: String) -> IpcResult<()> {
    Ok(telos.reject_amendment(&id)?)
}

/// Gives the files last dropped on this window to `persona`, streaming progress into
/// `on_event`. The paths come from the native drop, not from the page.
#[tauri::command]
#[specta::specta]
pub async fn ingest_drop(
    window: tauri::Window,
    telos: State<'_, Telos>,
    drops: State<'_, Drops>,
    persona: String,
    on_event: Channel<IngestEvent>,
) -> IpcResult<()> {
    let paths = drops.take(window.label()).ok_or(IpcError::NoDrop)?;
    relay(telos.ingest(&persona, &paths)?, &on_event).await;
    Ok(())
}

#[tauri::command]
#[specta::specta]
pub async fn recall(
    telos: State<'_, Telos>,
    persona: Option<String>,
    query: String,
    k: u32,
) -> IpcResult<Vec<Recalled>> {
    Ok(telos.recall(persona.as_deref(), &query, k as usize).await?)
}

/// A persona's concepts (everyone's when `None`), largest first.
#[tauri::command]
#[specta::specta]
pub async fn concepts(telos: State<'_, Telos>, persona: Option<String>) -> IpcResult<Vec<Concept>> {
    Ok(telos.concepts(persona.as_deref())?)
}

#[tauri::command]
#[specta::specta]
pub async fn cycles(telos: State<'_, Telos>, limit: u32) -> IpcResult<Vec<CycleSummary>> {
    Ok(telos.cycles(limit as usize).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn cycle(telos: State<'_, Telos>, cycle: String) -> IpcResult<CycleView> {
    Ok(telos.cycle(&cycle).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn cycle_step(
    telos: State<'_, Telos>,
    cycle: String,
    step: u32,
    program: Option<String>,
) -> IpcResult<StepState> {
    Ok(telos
        .cycle_step(&cycle, step as usize, program.as_deref())
        .await?)
}

#[tauri::command]
#[specta::specta]
pub async fn resume(
    telos: State<'_, Telos>,
    cycle: String,
    program: Option<String>,
) -> IpcResult<CycleSummary> {
    Ok(telos.resume(&cycle, program.as_deref()).await?)
}

/// Resumes a dialogue from its turn `turn` (counted from 0) rewritten as `text`: the later
/// turns are thought anew as a new cycle, its events streamed into `on_event`.
#[tauri::command]
#[specta::specta]
pub async fn resume_dialogue(
    telos: State<'_, Telos>,
    cycle: String,
    turn: u32,
    text: String,
    on_event: Channel<DialogueEvent>,
) -> IpcResult<()> {
    relay(
        telos.resume_dialogue(&cycle, Some((turn, text))).await?,
        &on_event,
    )
    .await;
    Ok(())
}

/// Resumes a suspended forge cycle; with `attempt` and `code`, that attempt's code as the
/// user edited it is tried first.
#[tauri::command]
#[specta::specta]
pub async fn resume_forge(
    telos: State<'_, Telos>,
    cycle: String,
    attempt: Option<u32>,
    code: Option<String>,
) -> IpcResult<ForgeOutcome> {
    let edit = match (attempt, code) {
        (Some(attempt), Some(code)) => Some(Edit { attempt, code }),
        _ => None,
    };
    Ok(telos.resume_forge(&cycle, edit).await?)
}

/// The personas with a suspended cycle (their morphs show a dissonance badge).
#[tauri::command]
#[specta::specta]
pub async fn dissonance(telos: State<'_, Telos>) -> IpcResult<Vec<Dissonance>> {
    Ok(telos.dissonance().await?)
}

#[tauri::command]
#[specta::specta]
pub async fn discard(telos: State<'_, Telos>, cycle: String) -> IpcResult<CycleSummary> {
    Ok(telos.discard(&cycle).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn open_inspector(
    app: tauri::AppHandle,
    telos: State<'_, Telos>,
    object: String,
) -> IpcResult<()> {
    let id = telos
        .image()
        .resolve(&object)
        .map_err(telos_core::Error::from)?
        .id
        .clone();
    windows::inspector(&app, id.as_str())
}

#[tauri::command]
#[specta::specta]
pub async fn open_debugger(app: tauri::AppHandle, cycle: Option<String>) -> IpcResult<()> {
    windows::debugger(&app, cycle.as_deref())
}

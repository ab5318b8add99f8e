//! The learning commands (the persona Inspector's Learning section): the golden dataset,
//! curation, training and ascension, each one core call; progress streams into a channel
//! (a window closed mid-way lets the work finish unwatched).

use tauri::State;
use tauri::ipc::Channel;
use telos_core::view::GoldenView;
use telos_core::{
    Ascension, AscensionEvent, CurateEvent, Curated, GOLDEN_MIN, Telos, TrainEvent, Trained,
};

use crate::error::IpcResult;

/// A persona's golden dataset (scored `min_score` or more, default 4), its performance per
/// week, its rubric and its lineage.
#[tauri::command]
#[specta::specta]
pub fn golden(
    telos: State<'_, Telos>,
    persona: String,
    min_score: Option<f64>,
) -> IpcResult<GoldenView> {
    Ok(telos.golden(&persona, min_score.unwrap_or(GOLDEN_MIN))?)
}

/// ALFRED judges the persona's exchanges not judged yet (up to 8), as one cycle.
#[tauri::command]
#[specta::specta]
pub async fn curate(
    telos: State<'_, Telos>,
    persona: String,
    on_event: Channel<CurateEvent>,
) -> IpcResult<Curated> {
    Ok(telos
        .curate(Some(&persona), 8, GOLDEN_MIN, |e| {
            let _ = on_event.send(e);
        })
        .await?)
}

/// Trains a LoRA of the persona's golden dataset for `steps` steps on the model that answers
/// for it now, registered as an embedded model.
#[tauri::command]
#[specta::specta]
pub async fn train(
    telos: State<'_, Telos>,
    persona: String,
    steps: u32,
    on_event: Channel<TrainEvent>,
) -> IpcResult<Trained> {
    Ok(telos
        .train(&persona, None, GOLDEN_MIN, steps, |e| {
            let _ = on_event.send(e);
        })
        .await?)
}

/// Tries the persona on `candidate` (an Ollama tag, gguf:NAME, hf:…, a .gguf path, or
/// `trained`): the report waits for approval.
#[tauri::command]
#[specta::specta]
pub async fn ascend(
    telos: State<'_, Telos>,
    persona: String,
    candidate: String,
    on_event: Channel<AscensionEvent>,
) -> IpcResult<Ascension> {
    Ok(telos
        .ascend(&persona, &candidate, GOLDEN_MIN, |e| {
            let _ = on_event.send(e);
        })
        .await?)
}

/// Promotes a pending ascension: the persona thinks with the candidate (one cycle).
#[tauri::command]
#[specta::specta]
pub async fn approve_ascension(telos: State<'_, Telos>, ascension: String) -> IpcResult<Ascension> {
    Ok(telos.approve_ascension(&ascension).await?)
}

/// Rejects a pending ascension.
#[tauri::command]
#[specta::specta]
pub async fn reject_ascension(telos: State<'_, Telos>, ascension: String) -> IpcResult<Ascension> {
    Ok(telos.reject_ascension(&ascension).await?)
}

/// Puts the persona back on the model before its last promotion (one cycle).
#[tauri::command]
#[specta::specta]
pub async fn revert_ascension(telos: State<'_, Telos>, persona: String) -> IpcResult<Ascension> {
    Ok(telos.revert_ascension(&persona).await?)
}

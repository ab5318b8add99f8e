//! The Telos desktop shell: the only crate that knows Tauri. It opens the core, registers thin
//! commands and events (typed for TypeScript through tauri-specta), opens the Inspector and
//! Debugger windows, and closes the image on exit. Everything it offers the UI is also in the
//! `telos` CLI, because both are one call into `telos-core`.
//!
//! ```no_run
//! // src/main.rs
//! fn main() -> std::process::ExitCode {
//!     telos_desktop::run()
//! }
//! ```

pub mod command_names;
mod commands;
mod drops;
mod error;
mod events;
mod learn;
mod playground;
mod windows;

use std::process::ExitCode;

use tauri::{Manager, RunEvent};
use tauri_specta::{Builder, collect_commands, collect_events};
use telos_core::{Config, Telos};

pub use error::IpcError;

/// Where the generated TypeScript bindings live, relative to the workspace root.
pub const BINDINGS: &str = "ui/src/bindings.ts";

/// Every command and event the UI may use, for the invoke handler and the bindings.
pub fn specta_builder() -> Builder<tauri::Wry> {
    // One TypeScript type per Rust type: the views serialise and deserialise alike.
    Builder::<tauri::Wry>::new()
        .disable_serde_phases()
        .commands(collect_commands![
            commands::world,
            commands::object,
            commands::set_slot,
            commands::clone_object,
            commands::move_morph,
            commands::set_pinned,
            commands::chat,
            commands::dialogue,
            commands::agenda,
            commands::plan_agenda,
            commands::approve_work,
            commands::reject_work,
            commands::set_autonomy,
            commands::scheduler_status,
            commands::read_only,
            commands::backup_status,
            commands::models,
            commands::pull_model,
            commands::amendments,
            commands::approve_amendment,
            commands::reject_amendment,
            commands::ingest_drop,
            commands::recall,
            commands::concepts,
            commands::cycles,
            commands::cycle,
            commands::cycle_step,
            commands::resume,
            commands::discard,
            commands::resume_forge,
            commands::resume_dialogue,
            commands::dissonance,
            commands::open_inspector,
            commands::open_debugger,
            learn::golden,
            learn::curate,
            learn::train,
            learn::ascend,
            learn::approve_ascension,
            learn::reject_ascension,
            learn::revert_ascension,
            playground::evaluate,
            playground::teach,
            playground::vsa_query,
            playground::open_playground,
        ])
        .events(collect_events![
            events::ImageChanged,
            events::CycleRecorded,
            events::ImageResync,
            events::PersonaStatus,
            events::InboxProgress,
            events::SchedulerStatus,
            events::CodexChanged,
            events::TaskIncident,
            events::ShowCycle,
            events::AgendaChanged,
            events::ForgeProgressed,
            events::AddressPlayground,
            events::ReadOnlyChanged
        ])
}

/// Writes the TypeScript bindings (every command, event and type the UI uses) to `path`.
pub fn export_bindings(path: &std::path::Path) -> Result<(), specta_typescript::Error> {
    specta_builder().export(
        specta_typescript::Typescript::default().header(
            "// Generated from src-tauri by tauri-specta: do not edit.\n\
             // Regenerate: TELOS_UPDATE_BINDINGS=1 cargo test --workspace --test bindings\n",
        ),
        path,
    )
}

/// Runs the desktop app until its last window closes.
pub fn run() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TELOS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(telos_core::DEFAULT_LOG)),
        )
        .with_writer(std::io::stderr)
        .init();
    telos_core::memory::embed::tune_allocator();
    let telos = match tauri::async_runtime::block_on(open()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("telos: cannot open the image: {e}");
            return ExitCode::FAILURE;
        }
    };
    let builder = specta_builder();
    let app = tauri::Builder::default()
        .invoke_handler(builder.invoke_handler())
        .setup(move |app| {
            builder.mount_events(app);
            let telos = app.state::<Telos>();
            events::forward(app.handle(), &telos);
            // The scheduler keeps up with Ollama (and loads the pinned personas' models)
            // until the app exits.
            telos.run_scheduler();
            // The agenda notices and (as the autonomy switch allows) acts on its own.
            telos.run_agenda();
            // Backups are made when the backup manager's schedule says (if it has one).
            telos.run_backups();
            // `telos` commands from a terminal are carried out here while the app runs.
            let handle = AppTelos(app.handle().clone());
            telos.supervisor().service("cli socket", move |shutdown| {
                telos_cli::serve(handle.clone(), shutdown)
            });
            // Without the inbox the app still works (drops, chat); the log says why.
            match events::watch_inbox(app.handle(), &telos) {
                Ok(()) => tracing::info!("watching {}", telos.inbox_dir().display()),
                Err(e) => tracing::warn!("the inbox is not watched: {e}"),
            }
            // Without the codex watch personas keep their codex in force; the log says why.
            if let Err(e) = events::watch_codex(app.handle(), &telos) {
                tracing::warn!("the codex folder is not watched: {e}");
            }
            Ok(())
        })
        .manage(telos)
        .manage(drops::Drops::default())
        .on_window_event(|window, event| {
            window
                .state::<drops::Drops>()
                .on_window_event(window, event);
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("telos: cannot start the desktop shell: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = app.run_return(|app, event| {
        // Every background task ends (the supervisor drains them) before the image closes.
        if let RunEvent::Exit = event
            && let Err(e) = tauri::async_runtime::block_on(app.state::<Telos>().close())
        {
            eprintln!("telos: closing the image: {e}");
        }
    });
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// The app's Telos as a handle work can keep past a borrow (the CLI socket's commands).
#[derive(Clone)]
struct AppTelos(tauri::AppHandle);

impl std::ops::Deref for AppTelos {
    type Target = Telos;
    fn deref(&self) -> &Telos {
        self.0.state::<Telos>().inner()
    }
}

/// Opens the core on `--data-dir DIR` (else `TELOS_DATA_DIR`, else the platform data dir).
async fn open() -> telos_core::Result<Telos> {
    Telos::open(Config::resolve(data_dir_arg().as_deref(), None)?).await
}

/// `--data-dir DIR` or `--data-dir=DIR` from the command line. Other arguments (a WebDriver
/// launching the app adds its own) are logged and left alone.
fn data_dir_arg() -> Option<std::path::PathBuf> {
    let mut args = std::env::args_os().skip(1);
    let mut found = None;
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy();
        if text == "--data-dir" {
            found = args.next().map(Into::into);
        } else if let Some(dir) = text.strip_prefix("--data-dir=") {
            found = Some(dir.into());
        } else {
            tracing::info!("ignoring argument {text:?}");
        }
    }
    found
}

// Tauri's build step, with a permission generated per app command (`allow-world`, …) so each
// window's capability lists exactly the commands it may call.
fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(telos_desktop_commands::ALL)),
    )
    .expect("tauri build step");
}

#[path = "src/command_names.rs"]
mod telos_desktop_commands;

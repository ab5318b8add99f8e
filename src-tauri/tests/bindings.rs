//! The committed TypeScript bindings (`ui/src/bindings.ts`) are what the shell exports now;
//! CI fails on a stale file. `TELOS_UPDATE_BINDINGS=1` rewrites it instead of failing.

fn fresh_bindings() -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bindings.ts");
    telos_desktop::export_bindings(&path).expect("bindings export");
    std::fs::read_to_string(&path).unwrap()
}

#[test]
fn committed_bindings_match_the_commands_and_events() {
    // Cargo's own CARGO_MANIFEST_DIR first: the compiled-in path may be another clone's when
    // clones share a target dir, and TELOS_UPDATE_BINDINGS would write there.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    let committed = manifest_dir.join("..").join(telos_desktop::BINDINGS);
    let fresh = fresh_bindings();
    if std::env::var_os("TELOS_UPDATE_BINDINGS").is_some() {
        std::fs::write(&committed, &fresh).unwrap();
        return;
    }
    let old = std::fs::read_to_string(&committed).unwrap_or_default();
    assert!(
        old == fresh,
        "{} is stale: regenerate it with TELOS_UPDATE_BINDINGS=1 cargo test --workspace --test bindings",
        committed.display()
    );
}

#[test]
fn every_registered_command_has_a_permission() {
    let text = fresh_bindings();
    // Each command is invoked by its snake_case name: `__TAURI_INVOKE("name"` or, with the
    // answer's type, `__TAURI_INVOKE<Type>("name"`.
    let invoked: Vec<&str> = text
        .split("__TAURI_INVOKE")
        .skip(1)
        .filter_map(|rest| rest.split_once("(\"")?.1.split('"').next())
        .collect();
    let mut listed = telos_desktop::command_names::ALL.to_vec();
    let mut found = invoked.clone();
    listed.sort_unstable();
    found.sort_unstable();
    assert_eq!(
        found, listed,
        "registered commands and command_names.rs differ"
    );
}

//! The code map's invariants, checked on the source tree (ARCHITECTURE.md states them): the
//! facade's modules import no sibling feature module, feature crates never name the facade,
//! every model call goes through the persona's voice, and no source file is over 600 lines.

use std::path::{Path, PathBuf};

/// The workspace root (this crate is `crates/telos-core`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file below `dir`, skipping build output and dependencies.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !["target", "node_modules", "gen", "dist"].contains(&name.as_str()) {
                out.extend(sources(&path));
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn shown(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn no_source_file_is_over_600_lines() {
    let long: Vec<String> = ["crates", "src-tauri", "tests"]
        .iter()
        .flat_map(|d| sources(&root().join(d)))
        .filter_map(|p| {
            let lines = read(&p).lines().count();
            (lines > 600).then(|| format!("{} ({lines} lines)", shown(&p)))
        })
        .collect();
    assert!(long.is_empty(), "split these by verb: {long:?}");
}

#[test]
fn feature_crates_never_name_the_facade() {
    let crates = root().join("crates");
    let mut offenders = Vec::new();
    for entry in std::fs::read_dir(&crates).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if ["telos-core", "telos-cli"].contains(&name.as_str()) {
            continue;
        }
        let manifest = read(&entry.path().join("Cargo.toml"));
        if manifest.contains("telos-core") {
            offenders.push(format!("{name}/Cargo.toml"));
        }
        for file in sources(&entry.path()) {
            if read(&file).contains("telos_core") {
                offenders.push(shown(&file));
            }
        }
    }
    assert!(offenders.is_empty(), "these name telos-core: {offenders:?}");
}

#[test]
fn the_facades_modules_import_no_sibling_feature_module() {
    let src = root().join("crates/telos-core/src");
    // What each module may import from the crate; `lib.rs` wires and `facade.rs` calls.
    let allowed: [(&str, &[&str]); 6] = [
        ("alloc.rs", &[]),
        ("config.rs", &["data_dir", "error"]),
        ("data_dir.rs", &["error"]),
        ("input.rs", &["error"]),
        ("layering.rs", &[]),
        ("view/", &["error", "view"]),
    ];
    let mut wrong = Vec::new();
    for file in sources(&src) {
        let relative = file.strip_prefix(&src).unwrap().display().to_string();
        // The facade is `facade.rs` and, by area, `facade_*.rs`.
        if relative == "lib.rs" || relative.starts_with("facade") || relative == "error.rs" {
            continue;
        }
        let rule = allowed
            .iter()
            .find(|(prefix, _)| relative.starts_with(prefix))
            .unwrap_or_else(|| panic!("{relative}: a new module; say what it may import"));
        for line in read(&file).lines() {
            let Some(rest) = line.trim().strip_prefix("use crate::") else {
                continue;
            };
            let module = rest.split([':', ';', '{']).next().unwrap_or_default();
            if !rule.1.contains(&module) {
                wrong.push(format!("{relative}: {}", line.trim()));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:?}");
}

#[test]
fn every_model_call_goes_through_voice() {
    let mut callers = Vec::new();
    for dir in ["crates", "src-tauri/src"] {
        for file in sources(&root().join(dir)) {
            let path = shown(&file);
            // The scheduler defines the calls; its own tests and the voice make them.
            if path.contains("telos-scheduler/")
                || path.ends_with("telos-persona/src/voice.rs")
                || path.ends_with("layering.rs")
            {
                continue;
            }
            let text = read(&file);
            for needle in [
                ".chat_json(",
                "scheduler.chat(",
                "runtimes.chat(",
                ".chat(&lease",
            ] {
                if text.contains(needle) {
                    callers.push(format!("{path}: {needle}"));
                }
            }
        }
    }
    assert!(callers.is_empty(), "model calls outside voice: {callers:?}");
}

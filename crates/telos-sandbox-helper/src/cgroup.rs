//! Rootless runs in a delegated cgroup v2 folder, as crun and rootless podman do them.
//!
//! A systemd desktop gives each user session (and each transient scope made with
//! `Delegate=yes`) a cgroup v2 folder the user owns. cgroup v2 enables no controller under a
//! cgroup that still holds a process, so the helper first moves itself into a leaf of its own,
//! then enables the memory, pids and cpu controllers, and the container gets a sibling cgroup
//! with `memory.max`, `memory.swap.max = 0`, `pids.max` and `cpu.max` (libcontainer writes
//! them from the spec): everything the container does is counted there, tmpfs pages and pipe
//! buffers included. After the run the helper undoes it all.
//!
//! Runs after `rootless::enter`: /sys/fs/cgroup is then the helper's own cgroup (a cgroup
//! namespace rooted there). Where the folder is not delegated, lacks a controller or holds
//! another process, the run falls back to rlimits; the reason is returned.

use std::path::{Path, PathBuf};

const ROOT: &str = "/sys/fs/cgroup";
const CONTROLLERS: [&str; 3] = ["memory", "pids", "cpu"];

/// The helper moved into a leaf of its cgroup with the controllers enabled; undone by
/// [`Delegation::undo`].
pub(crate) struct Delegation {
    leaf: PathBuf,
}

/// Moves the helper into a leaf and enables the controllers, or says why it cannot.
pub(crate) fn delegate() -> Result<Delegation, String> {
    let root = Path::new(ROOT);
    let available = std::fs::read_to_string(root.join("cgroup.controllers"))
        .map_err(|e| format!("no cgroup v2 here ({e})"))?;
    let available: Vec<&str> = available.split_whitespace().collect();
    if let Some(missing) = CONTROLLERS.iter().find(|c| !available.contains(c)) {
        return Err(format!(
            "the helper's cgroup has no {missing} controller to use (it has: {})",
            if available.is_empty() {
                "none".to_string()
            } else {
                available.join(" ")
            }
        ));
    }
    let me = std::process::id().to_string();
    let procs = std::fs::read_to_string(root.join("cgroup.procs"))
        .map_err(|e| format!("reading the helper's cgroup: {e}"))?;
    if procs.lines().any(|p| p.trim() != me) {
        return Err(
            "the helper's cgroup holds other processes (start it in a scope of its own)"
                .to_string(),
        );
    }
    let leaf = root.join(format!("telos-helper-{me}"));
    std::fs::create_dir(&leaf)
        .map_err(|e| format!("the helper's cgroup is not delegated to this user ({e})"))?;
    let delegation = Delegation { leaf };
    let enabled = std::fs::write(delegation.leaf.join("cgroup.procs"), &me)
        .map_err(|e| format!("moving the helper into {}: {e}", delegation.leaf.display()))
        .and_then(|()| {
            let add: Vec<String> = CONTROLLERS.iter().map(|c| format!("+{c}")).collect();
            std::fs::write(root.join("cgroup.subtree_control"), add.join(" "))
                .map_err(|e| format!("enabling the controllers: {e}"))
        });
    match enabled {
        Ok(()) => Ok(delegation),
        Err(e) => {
            let _ = delegation.undo();
            Err(e)
        }
    }
}

impl Delegation {
    /// The controllers off again, the helper back where it started, the leaf removed (the
    /// container's cgroup must be gone by now).
    pub(crate) fn undo(self) -> Result<(), String> {
        let root = Path::new(ROOT);
        let remove: Vec<String> = CONTROLLERS.iter().map(|c| format!("-{c}")).collect();
        let mut problems = Vec::new();
        if let Err(e) = std::fs::write(root.join("cgroup.subtree_control"), remove.join(" ")) {
            problems.push(format!("disabling the controllers: {e}"));
        }
        if let Err(e) = std::fs::write(root.join("cgroup.procs"), std::process::id().to_string()) {
            problems.push(format!("moving the helper back: {e}"));
        }
        if let Err(e) = std::fs::remove_dir(&self.leaf) {
            problems.push(format!("removing {}: {e}", self.leaf.display()));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

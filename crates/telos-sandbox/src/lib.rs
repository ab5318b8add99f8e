//! The Tool Forge's sandbox, from the app's side.
//!
//! Code a model wrote runs only in a fresh youki container (DESIGN invariant 4), made by
//! `telos-sandbox-helper`, a small single-threaded executable of ours (libcontainer clones
//! its caller, which is unsafe from a multithreaded tokio process). [`Sandbox::run`] writes
//! the tool's files to a private folder, hands the helper one [`proto::Request`] over a
//! pipe and reads back one [`proto::Outcome`]: exit code, stdout, stderr, duration and the
//! cause (exited, timeout, oom, output-cap or refused).

pub mod proto;

#[cfg(feature = "client")]
mod client;

#[cfg(feature = "client")]
pub use client::{Error, Result, Sandbox, Tool, default_rootfs};

/// The rootfs `scripts/build-rootfs` makes; bumped with its contents (the script says the
/// same, and a test holds the two together).
pub const ROOTFS_VERSION: &str = "bookworm-minbase-python3-v1";

#[cfg(test)]
mod tests {
    #[test]
    fn the_rootfs_version_is_the_one_build_rootfs_makes() {
        let script = include_str!("../../../scripts/build-rootfs");
        let line = format!("VERSION=\"{}\"", super::ROOTFS_VERSION);
        assert!(
            script.lines().any(|l| l == line),
            "scripts/build-rootfs lacks {line}"
        );
    }
}

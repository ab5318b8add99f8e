//! Rootless runs: a helper that is not root first moves into a user namespace of its own.
//!
//! There it is root (uid 0 maps to the caller; no capability outside the namespace), so
//! libcontainer builds the container inside it as in a root run, minus what only the host's
//! root may do: the container's namespaces belong to our user namespace, the device nodes are
//! bind-mounted, and the limits are rlimits (see `spec::config`).
//!
//! Network: the helper cannot enter the container's network namespace to bring its loopback
//! up as it does as root (the container's process, having dropped its capabilities, is not
//! dumpable, and its memory belongs to the host's user namespace, where we have no
//! CAP_SYS_PTRACE). So the helper makes a network namespace of its own, with only loopback,
//! brings that up, and the container shares it: one run per helper, so it is the run's.
//!
//! Cgroups: libcontainer always puts the container in a cgroup. On a cgroup v1 or hybrid host
//! its v1 manager fails on the first directory it may not create, and v1 has no delegation for
//! a user. Its v2 manager, told the run is rootless, treats "permission denied" as "leave the
//! process where it is". So the helper also takes a cgroup namespace and a private mount
//! namespace and mounts the cgroup v2 hierarchy (rooted at its own cgroup) on /sys/fs/cgroup
//! (over a tmpfs of its own, as a unified host has that hierarchy there already), for itself
//! only: libcontainer then sees a unified host, makes the container's cgroup under
//! the helper's own where that is delegated to the user, and otherwise leaves it there.
//! Nothing mounted here is seen outside the helper, and all of it goes with the process.

use std::path::Path;

use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};

/// Where libcontainer looks for the cgroup hierarchy.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Enters a user, mount, cgroup and network namespace of our own, root in it, with the
/// cgroup v2 hierarchy on /sys/fs/cgroup and loopback up. The helper must still be
/// single-threaded (unshare of a user namespace requires it).
pub fn enter() -> Result<(), String> {
    let uid = nix::unistd::getuid().as_raw();
    let gid = nix::unistd::getgid().as_raw();
    unshare(
        CloneFlags::CLONE_NEWUSER
            | CloneFlags::CLONE_NEWNS
            | CloneFlags::CLONE_NEWCGROUP
            | CloneFlags::CLONE_NEWNET,
    )
    .map_err(|e| {
        format!(
            "a user namespace for a rootless run: {e} (unprivileged user namespaces may be \
                 disabled: see sysctl user.max_user_namespaces, or \
                 kernel.apparmor_restrict_unprivileged_userns on Ubuntu)"
        )
    })?;
    // setgroups must be denied before an unprivileged process may write a gid map.
    write_proc("setgroups", "deny")?;
    write_proc("uid_map", &format!("0 {uid} 1"))?;
    write_proc("gid_map", &format!("0 {gid} 1"))?;
    // Our mounts stay ours (a namespace made in a user namespace gets no shared mounts from
    // the host's anyway; this says it).
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_SLAVE,
        None::<&str>,
    )
    .map_err(|e| format!("making our mounts private: {e}"))?;
    // A tmpfs first: where /sys/fs/cgroup already is the cgroup v2 hierarchy (a unified
    // host: most systemd desktops), the kernel refuses the same file system mounted again on
    // the same mount point (EBUSY), and a cgroup namespace does not make it another.
    mount(
        Some("tmpfs"),
        CGROUP_ROOT,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("size=4k,mode=755"),
    )
    .map_err(|e| format!("covering {CGROUP_ROOT} for our cgroup v2 view: {e}"))?;
    mount(
        Some("cgroup2"),
        CGROUP_ROOT,
        Some("cgroup2"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|e| format!("mounting our cgroup v2 view on {CGROUP_ROOT}: {e}"))?;
    crate::ns::set_lo_up().map_err(|e| format!("bringing up loopback: {e}"))
}

fn write_proc(file: &str, text: &str) -> Result<(), String> {
    let path = Path::new("/proc/self").join(file);
    std::fs::write(&path, text).map_err(|e| format!("writing {text:?} to {}: {e}", path.display()))
}

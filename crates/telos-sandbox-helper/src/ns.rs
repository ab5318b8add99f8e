//! What the helper, as root, does in the container's namespaces between creating and
//! starting it: loopback up in its network namespace, and /dev read-only in its mount
//! namespace once libcontainer has made the device nodes there. The helper is
//! single-threaded, so it may enter a namespace and come back.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};

use nix::sched::{CloneFlags, setns};
use nix::unistd::Pid;

/// Runs `f` in the namespace of kind `ns` ("net", "mnt") of `pid`, then comes back.
fn inside(
    pid: Pid,
    ns: &str,
    flag: CloneFlags,
    f: impl FnOnce() -> Result<(), String>,
) -> Result<(), String> {
    let own =
        File::open(format!("/proc/self/ns/{ns}")).map_err(|e| format!("our namespace: {e}"))?;
    let theirs = File::open(format!("/proc/{pid}/ns/{ns}"))
        .map_err(|e| format!("the container's namespace: {e}"))?;
    setns(theirs.as_fd(), flag).map_err(|e| format!("entering: {e}"))?;
    let done = f();
    setns(own.as_fd(), flag)
        .map_err(|e| format!("coming back from the container's namespace: {e}"))?;
    done
}

/// Brings up `lo` in the network namespace of `pid` (a new one has it down): a tool may use
/// loopback, and nothing else.
pub(crate) fn loopback_up(pid: Pid) -> Result<(), String> {
    inside(pid, "net", CloneFlags::CLONE_NEWNET, set_lo_up)
}

/// Makes the container's /dev mount read-only (its other flags as they are; the mounts under
/// it, /dev/shm among them, as they are).
pub(crate) fn dev_read_only(pid: Pid) -> Result<(), String> {
    inside(pid, "mnt", CloneFlags::CLONE_NEWNS, || {
        /// `struct mount_attr` (linux/mount.h).
        #[repr(C)]
        struct MountAttr {
            attr_set: u64,
            attr_clr: u64,
            propagation: u64,
            userns_fd: u64,
        }
        const MOUNT_ATTR_RDONLY: u64 = 0x1;
        let attr = MountAttr {
            attr_set: MOUNT_ATTR_RDONLY,
            attr_clr: 0,
            propagation: 0,
            userns_fd: 0,
        };
        // SAFETY: mount_setattr reads `attr` (its size given) and the NUL-terminated path.
        let r = unsafe {
            libc::syscall(
                libc::SYS_mount_setattr,
                libc::AT_FDCWD,
                c"/dev".as_ptr(),
                0,
                &attr as *const MountAttr,
                std::mem::size_of::<MountAttr>(),
            )
        };
        if r < 0 {
            return Err(format!(
                "making /dev read-only: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(())
    })
}

pub(crate) fn set_lo_up() -> Result<(), String> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| format!("a socket: {e}"))?;
    // SAFETY: ifreq is plain data; the name is NUL-terminated within IFNAMSIZ.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *d = *s as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS / SIOCSIFFLAGS read and write the ifreq we own.
    unsafe {
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) < 0 {
            return Err(format!("SIOCGIFFLAGS: {}", std::io::Error::last_os_error()));
        }
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) < 0 {
            return Err(format!("SIOCSIFFLAGS: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

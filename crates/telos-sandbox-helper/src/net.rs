//! The container's network: loopback up in its own namespace, and nothing else.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};

use nix::unistd::Pid;

/// Brings up `lo` in the network namespace of `pid` (a new one has it down): a tool may use
/// loopback, and nothing else. The helper is single-threaded, so it may enter the namespace
/// and come back.
pub(crate) fn loopback_up(pid: Pid) -> Result<(), String> {
    use nix::sched::{CloneFlags, setns};
    let own = File::open("/proc/self/ns/net").map_err(|e| format!("our namespace: {e}"))?;
    let theirs = File::open(format!("/proc/{pid}/ns/net"))
        .map_err(|e| format!("the container's namespace: {e}"))?;
    setns(theirs.as_fd(), CloneFlags::CLONE_NEWNET).map_err(|e| format!("entering: {e}"))?;
    let up = set_lo_up();
    setns(own.as_fd(), CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("coming back from the container's namespace: {e}"))?;
    up
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

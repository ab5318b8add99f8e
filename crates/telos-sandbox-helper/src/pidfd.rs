//! Processes by pidfd only: a signal sent through one reaches the process it was opened for or
//! none (never a process that took over its pid after it was reaped), and it becomes readable
//! when that process exits.

use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::unistd::Pid;

pub(crate) struct Pidfd {
    fd: OwnedFd,
    pub(crate) pid: Pid,
}

impl Pidfd {
    /// A pidfd for `pid`; an error where it is gone or the kernel has no `pidfd_open` (5.3).
    pub(crate) fn open(pid: Pid) -> Result<Self, String> {
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
        if fd < 0 {
            return Err(format!(
                "a pidfd for process {pid}: {} (Linux 5.3 or later is needed)",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: the kernel just gave us this fd; nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        Ok(Self { fd, pid })
    }

    /// SIGKILL to the process; `false` where it has already exited.
    pub(crate) fn kill(&self) -> bool {
        // SAFETY: pidfd_send_signal on a pidfd we own, no siginfo, no flags.
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                std::os::fd::AsRawFd::as_raw_fd(&self.fd),
                libc::SIGKILL,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        r == 0
    }

    /// The process has exited (as a zombie or reaped).
    pub(crate) fn exited(&self) -> bool {
        self.wait(Duration::ZERO)
    }

    /// Waits up to `timeout` for the process to exit; `true` once it has.
    pub(crate) fn wait(&self, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
            let ms = left.as_millis().min(u16::MAX as u128) as u16;
            match poll(&mut fds, PollTimeout::from(ms)) {
                Ok(n) if n > 0 => return true,
                Ok(_) if left.is_zero() => return false,
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => {}
                Err(_) => return false,
            }
        }
    }
}

impl AsFd for Pidfd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

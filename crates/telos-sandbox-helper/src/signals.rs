//! SIGINT, SIGTERM and SIGHUP to the helper end the run early but cleanly: a handler writes
//! the signal's number to a pipe that the wait loop polls (the self-pipe trick). Handlers,
//! unlike a blocked signal mask, are reset by `exec`, so the container's process starts with
//! the signals as they normally are.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, Ordering};

use nix::fcntl::OFlag;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

static WRITE_END: AtomicI32 = AtomicI32::new(-1);
static READ_END: OnceLock<OwnedFd> = OnceLock::new();
static RECEIVED: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    RECEIVED.store(sig, Ordering::SeqCst);
    let fd = WRITE_END.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = [sig as u8];
        // SAFETY: write(2) is async-signal-safe; the fd stays open for the process's life.
        unsafe {
            libc::write(fd, byte.as_ptr().cast(), 1);
        }
    }
}

/// Installs the handlers (once, at start).
pub fn install() {
    let Ok((read, write)) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK) else {
        return; // without the pipe the default (die) stays, as before
    };
    use std::os::fd::IntoRawFd;
    WRITE_END.store(write.into_raw_fd(), Ordering::SeqCst);
    let _ = READ_END.set(read);
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only stores an atomic and calls write(2).
        let _ = unsafe { sigaction(sig, &action) };
    }
}

/// The pipe the wait loop polls.
pub fn fd() -> Option<BorrowedFd<'static>> {
    READ_END.get().map(|fd| fd.as_fd())
}

/// The last signal received, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}

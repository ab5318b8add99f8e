//! Waiting for the container: its init's exit (its pidfd), its two output pipes read up to
//! their caps, and the signals that ask the helper to stop.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::wait::{WaitStatus, waitpid};
use telos_sandbox::proto::Cause;

use crate::pidfd::Pidfd;
use crate::signals;

/// One output stream, kept up to its cap.
pub(crate) struct Capped {
    fd: Option<OwnedFd>,
    pub(crate) bytes: Vec<u8>,
    cap: u64,
    pub(crate) over: bool,
}

impl Capped {
    /// Reads what is there; `false` once the stream is closed.
    fn read(&mut self) -> bool {
        let Some(fd) = &self.fd else { return false };
        let mut buf = [0u8; 65536];
        match nix::unistd::read(fd.as_raw_fd(), &mut buf) {
            Ok(0) | Err(_) => {
                self.fd = None;
                false
            }
            Ok(n) => {
                let room = self.cap.saturating_sub(self.bytes.len() as u64) as usize;
                self.bytes.extend_from_slice(&buf[..n.min(room)]);
                if n > room {
                    self.over = true;
                }
                true
            }
        }
    }
}

/// The container's process and its two output pipes.
pub(crate) struct Watch {
    pub(crate) out: Capped,
    pub(crate) err: Capped,
}

impl Watch {
    pub(crate) fn new(out: OwnedFd, err: OwnedFd, cap: u64) -> Self {
        let capped = |fd| Capped {
            fd: Some(fd),
            bytes: Vec::new(),
            cap,
            over: false,
        };
        Self {
            out: capped(out),
            err: capped(err),
        }
    }

    /// Reads output until `init` (the container's, our child) exits, killing it at the
    /// deadline, past an output cap or when the helper is told to stop. Returns the exit
    /// status (128 + signal when killed), why it ended, and a note when something else is
    /// worth saying.
    pub(crate) fn until_exit(
        &mut self,
        init: &Pidfd,
        deadline: Instant,
    ) -> (Option<i32>, Cause, Option<String>) {
        /// How long a killed container may take to be gone before the helper stops waiting.
        const GRACE: Duration = Duration::from_secs(5);
        let mut cause = Cause::Exited;
        let mut note = None;
        let mut killed: Option<Instant> = None;
        loop {
            if killed.is_none() {
                if self.out.over || self.err.over {
                    cause = Cause::OutputCap;
                } else if Instant::now() >= deadline {
                    cause = Cause::Timeout;
                } else if let Some(sig) = signals::received() {
                    cause = Cause::Refused;
                    note = Some(format!("cancelled: the helper got signal {sig}"));
                }
                if cause != Cause::Exited {
                    // pid 1 of the container's pid namespace: the kernel kills the rest.
                    init.kill();
                    killed = Some(Instant::now());
                }
            } else if killed.is_some_and(|at| at.elapsed() > GRACE) {
                // A process stuck in the kernel (a hung mount under /input, say) keeps the
                // namespace's init from going; say so rather than hang.
                return (
                    None,
                    cause,
                    Some(format!(
                        "the container was killed but had not exited {} s later",
                        GRACE.as_secs()
                    )),
                );
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let wait_ms = if killed.is_some() {
                50
            } else {
                left.as_millis().clamp(1, 1000) as u16
            };
            let mut fds = self.pipes();
            fds.push((PIDFD, init.as_fd()));
            if let Some(fd) = signals::fd() {
                fds.push((SIGNAL, fd));
            }
            let hits = ready(&fds, wait_ms);
            drop(fds);
            self.read(&hits);
            // A signal is read at the top of the loop.
            // Our child, not yet reaped: its pid is still its own.
            if hits.contains(&PIDFD) {
                match waitpid(init.pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::Exited(_, code)) => {
                        self.drain();
                        return (Some(code), cause, note);
                    }
                    Ok(WaitStatus::Signaled(_, sig, _)) => {
                        self.drain();
                        return (Some(128 + sig as i32), cause, note);
                    }
                    Ok(_) => {}
                    // Not our child (should not happen): nothing to wait for.
                    Err(e) => {
                        self.drain();
                        return (None, cause, Some(format!("waiting for the container: {e}")));
                    }
                }
            }
        }
    }

    /// What is still in the pipes once the container is gone (its writers are dead, so the
    /// pipes reach end of file; a bound guards against a writer that is not).
    fn drain(&mut self) {
        let until = Instant::now() + Duration::from_millis(500);
        while (self.out.fd.is_some() || self.err.fd.is_some()) && Instant::now() < until {
            let fds = self.pipes();
            let hits = ready(&fds, 50);
            drop(fds);
            if hits.is_empty() {
                break;
            }
            self.read(&hits);
        }
    }

    /// The open pipes, to poll, tagged [`STDOUT`] and [`STDERR`].
    fn pipes(&self) -> Vec<(usize, BorrowedFd<'_>)> {
        let mut fds = Vec::with_capacity(4);
        if let Some(fd) = &self.out.fd {
            fds.push((STDOUT, fd.as_fd()));
        }
        if let Some(fd) = &self.err.fd {
            fds.push((STDERR, fd.as_fd()));
        }
        fds
    }

    /// Reads the pipes among `hits`.
    fn read(&mut self, hits: &[usize]) {
        if hits.contains(&STDOUT) {
            self.out.read();
        }
        if hits.contains(&STDERR) {
            self.err.read();
        }
    }
}

/// What the wait loop polls.
const STDOUT: usize = 0;
const STDERR: usize = 1;
const PIDFD: usize = 2;
const SIGNAL: usize = 3;

/// The tags of `fds` that are ready within `ms` milliseconds.
fn ready(fds: &[(usize, BorrowedFd<'_>)], ms: u16) -> Vec<usize> {
    let mut polls: Vec<PollFd> = fds
        .iter()
        .map(|(_, fd)| PollFd::new(*fd, PollFlags::POLLIN))
        .collect();
    if poll(&mut polls, PollTimeout::from(ms)).unwrap_or(0) == 0 {
        return Vec::new();
    }
    polls
        .iter()
        .zip(fds)
        .filter(|(p, _)| p.revents().is_some_and(|r| !r.is_empty()))
        .map(|(_, (tag, _))| *tag)
        .collect()
}

//! Whether the image can write. A commit the store refuses for want of room (a full disk, a
//! quota, a filesystem gone read-only) leaves the image read-only, with the reason, until space
//! returns: commits are still tried (each fails as cleanly as the first, changing nothing) and
//! the first that lands, or a look at the free space ([`Image::check_space`]), ends it. A
//! commit whose outcome could not be learned leaves it read-only until the image is opened
//! again, since the world in memory may then differ from the store.

use std::path::PathBuf;

use tokio::sync::watch;

use crate::error::{Error, Result};

use super::Image;

/// Free bytes on the store's filesystem at which writing is tried again (or a quarter of a
/// smaller filesystem).
pub const FREE_TO_RESUME: u64 = 32 * 1024 * 1024;

/// Why the image is read-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOnly {
    pub reason: String,
    /// A commit's outcome is unknown: it ends only when the image is opened again. Otherwise
    /// the store had no room, and it ends when space returns.
    pub until_reopened: bool,
}

pub(super) struct Writable {
    state: watch::Sender<Option<ReadOnly>>,
    /// The embedded store's folder, whose free space is checked.
    pub(super) dir: Option<PathBuf>,
}

impl Writable {
    pub(super) fn new(dir: Option<PathBuf>) -> Self {
        Self {
            state: watch::channel(None).0,
            dir,
        }
    }
}

impl Image {
    /// Why the image is read-only now, if it is.
    pub fn read_only(&self) -> Option<ReadOnly> {
        self.inner.writable.state.borrow().clone()
    }

    /// Every change of [`Image::read_only`].
    pub fn watch_read_only(&self) -> watch::Receiver<Option<ReadOnly>> {
        self.inner.writable.state.subscribe()
    }

    /// Refuses a commit while an unknown outcome holds the image read-only.
    pub(super) fn may_commit(&self) -> Result<()> {
        match &*self.inner.writable.state.borrow() {
            Some(r) if r.until_reopened => Err(Error::ReadOnly(r.reason.clone())),
            _ => Ok(()),
        }
    }

    /// After a commit landed: writing works (again).
    pub(super) fn committed(&self) {
        self.inner.writable.state.send_if_modified(|s| {
            let was = s.as_ref().is_some_and(|r| !r.until_reopened);
            if was {
                tracing::info!("the image store writes again");
                *s = None;
            }
            was
        });
    }

    /// After a commit failed with `error`.
    pub(super) fn commit_failed(&self, error: &Error) {
        let stop = match error {
            Error::OutcomeUnknown { .. } => ReadOnly {
                reason: error.to_string(),
                until_reopened: true,
            },
            e if e.is_out_of_space() => ReadOnly {
                reason: format!(
                    "the image store could not write ({}); free some space and Telos writes again",
                    space_of(self.inner.writable.dir.as_deref(), e)
                ),
                until_reopened: false,
            },
            _ => return,
        };
        tracing::warn!("{}", stop.reason);
        self.inner.writable.state.send_if_modified(|s| {
            // An unknown outcome outranks a full disk.
            if s.as_ref().is_some_and(|r| r.until_reopened || *r == stop) {
                return false;
            }
            *s = Some(stop);
            true
        });
    }

    /// A commit the store failed (or did not confirm) may still have landed: its record says.
    /// `Ok` when it did; the store's error when it did not; `OutcomeUnknown` when the store
    /// cannot be read either.
    pub(super) async fn read_back(&self, cycle: &str, error: Error) -> Result<()> {
        // A store that had no room wrote nothing (its log append failed).
        if error.is_out_of_space() {
            return Err(error);
        }
        match self.inner.store.cycle(cycle).await {
            Ok(Some(_)) => {
                tracing::warn!(%cycle, "the store reported {error}, but the cycle is there: it committed");
                Ok(())
            }
            Ok(None) => Err(error),
            Err(read) => Err(Error::OutcomeUnknown {
                cycle: cycle.to_owned(),
                write: error.to_string(),
                read: read.to_string(),
            }),
        }
    }

    /// How many objects the store keeps in pages (objects created in bulk and not changed
    /// since), for tests and diagnostics.
    #[doc(hidden)]
    pub fn paged_count(&self) -> usize {
        self.inner.store.paged_count()
    }

    /// How many page records the store holds, for tests.
    #[doc(hidden)]
    pub async fn page_records(&self) -> Result<usize> {
        self.inner.store.page_records().await
    }

    /// A test seam: the next commit is written to the store and then reported as not
    /// confirmed, as when a remote server's connection drops after it committed.
    #[doc(hidden)]
    pub fn unconfirm_next_commit(&self) {
        self.inner
            .unconfirm_next
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// While the disk is full: ends the read-only state once the store's filesystem has
    /// [`FREE_TO_RESUME`] bytes free. Returns whether the image is read-only afterwards.
    pub fn check_space(&self) -> bool {
        let full = self
            .inner
            .writable
            .state
            .borrow()
            .as_ref()
            .is_some_and(|r| !r.until_reopened);
        if full
            && let Some(dir) = &self.inner.writable.dir
            && space(dir).is_some_and(|(free, size)| free >= FREE_TO_RESUME.min(size / 4))
        {
            self.committed();
        }
        self.read_only().is_some()
    }
}

/// "the disk holding DIR is full (N MiB free)", or the error's own words.
fn space_of(dir: Option<&std::path::Path>, e: &Error) -> String {
    match dir.and_then(|d| space(d).map(|(free, _)| (d, free))) {
        Some((d, free)) => format!(
            "the disk holding {} has {} MiB free",
            d.display(),
            free >> 20
        ),
        None => e.to_string(),
    }
}

/// Bytes an unprivileged user may still write on the filesystem holding `dir`, and its size.
fn space(dir: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs fills the struct we own from a NUL-terminated path.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    let block = stat.f_frsize as u64;
    Some((stat.f_bavail as u64 * block, stat.f_blocks as u64 * block))
}

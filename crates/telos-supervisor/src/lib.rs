//! One owner of background work. Every long-lived task of a running Telos (the scheduler's
//! loop, the persona roster, the codex and inbox watches, index builds, the status streams)
//! and every job that outlives the call that started it (a drop being read, a reply being
//! streamed) runs under one [`Supervisor`]: all of them hear one shutdown signal, a *service*
//! that fails or panics is reported and restarted with a growing delay, a *job* that panics is
//! reported, and [`Supervisor::close`] waits for them all before the image closes (mini-redis's
//! `shutdown.rs` is the model).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::time::Duration;
//! use telos_supervisor::Supervisor;
//!
//! let supervisor = Supervisor::new();
//! supervisor.service("ticker", |shutdown| async move {
//!     // A service works until it is told to stop.
//!     shutdown.wait().await;
//!     Ok(())
//! });
//! supervisor.job("one-off", async {});
//! let closed = supervisor.close(Duration::from_secs(5)).await;
//! assert!(closed.aborted.is_empty());
//! assert!(supervisor.running().is_empty());
//! # });
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::FutureExt;
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;
use tokio::sync::{broadcast, watch};
use tokio::task::AbortHandle;

/// The first wait before a failed service starts again; it doubles up to [`MAX_DELAY`].
const FIRST_DELAY: Duration = Duration::from_millis(500);
const MAX_DELAY: Duration = Duration::from_secs(30);
/// A service that ran this long before failing starts its count of failures afresh.
const STABLE: Duration = Duration::from_secs(60);
/// Failures in a row after which a service is given up (and reported so).
const MAX_RESTARTS: u32 = 8;
/// Incidents kept for [`Supervisor::incidents`].
const KEPT: usize = 64;
/// How long aborted tasks get to be dropped at close.
const ABORT_WAIT: Duration = Duration::from_secs(5);

/// The owner of background work. Cloning is shallow: every clone is the same supervisor.
#[derive(Clone, Default)]
pub struct Supervisor {
    inner: Arc<Inner>,
}

struct Inner {
    /// The runtime tasks are spawned on: the one current when the supervisor was made, else
    /// the one current at each spawn.
    runtime: Option<Handle>,
    stop: watch::Sender<bool>,
    /// A std lock: held only to add, list or remove entries, never across an `.await`.
    tasks: Mutex<Tasks>,
    /// How many tasks run; `close` waits for it to reach 0.
    count: watch::Sender<usize>,
    incidents: broadcast::Sender<Incident>,
    /// The latest incidents, newest last. A std lock, held only to push or copy.
    kept: Mutex<VecDeque<Incident>>,
}

impl Default for Inner {
    fn default() -> Self {
        Self {
            runtime: Handle::try_current().ok(),
            stop: watch::channel(false).0,
            tasks: Mutex::default(),
            count: watch::channel(0).0,
            incidents: broadcast::channel(64).0,
            kept: Mutex::default(),
        }
    }
}

#[derive(Default)]
struct Tasks {
    next: u64,
    running: BTreeMap<u64, Running>,
    /// `close` has begun: nothing new starts.
    closed: bool,
}

struct Running {
    name: String,
    abort: AbortHandle,
}

/// A task that failed, panicked, was given up or was aborted at close.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// The task's name, e.g. `inbox watch`.
    pub task: String,
    /// What happened, e.g. `failed: cannot watch the folder …`.
    pub what: String,
    /// Seconds until a service starts again; `None` when it does not.
    pub restart_in: Option<f64>,
}

/// What `close` had to do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Closed {
    /// Tasks that did not end within the grace period and were aborted.
    pub aborted: Vec<String>,
}

/// The shutdown signal a task listens to. Cloning is cheap.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// Whether shutdown has begun.
    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Returns once shutdown has begun (at once if it has).
    pub async fn wait(&self) {
        let mut rx = self.0.clone();
        // An error means the supervisor itself is gone: as good as a shutdown.
        let _ = rx.wait_for(|stop| *stop).await;
    }
}

impl Supervisor {
    /// A supervisor spawning on the current tokio runtime (or, outside one, on whichever is
    /// current when a task is started).
    pub fn new() -> Self {
        Self::default()
    }

    /// The signal every task listens to.
    pub fn shutdown(&self) -> Shutdown {
        Shutdown(self.inner.stop.subscribe())
    }

    /// Starts a long-lived service: `make` builds its future, which works until `shutdown`
    /// and returns `Ok`. When it returns `Err` or panics (and Telos is not closing) the
    /// failure is reported and the service is made again after a delay that doubles from
    /// 0.5 s to 30 s; after 8 failures in a row it is given up, reported so. A service that
    /// returns `Ok` on its own has finished (its consumer went away) and is not restarted.
    /// Returns false when the supervisor is closing (nothing is started).
    pub fn service<F, Fut>(&self, name: impl Into<String>, mut make: F) -> bool
    where
        F: FnMut(Shutdown) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let name = name.into();
        let shutdown = self.shutdown();
        let me = self.clone();
        let task = name.clone();
        self.spawn(name, async move {
            let mut delay = FIRST_DELAY;
            let mut failures = 0;
            loop {
                let started = Instant::now();
                let outcome = AssertUnwindSafe(make(shutdown.clone()))
                    .catch_unwind()
                    .await;
                let what = match outcome {
                    Ok(Ok(())) => return,
                    Ok(Err(e)) => format!("failed: {e}"),
                    Err(panic) => format!("panicked: {}", panic_message(&*panic)),
                };
                if started.elapsed() > STABLE {
                    failures = 0;
                    delay = FIRST_DELAY;
                }
                failures += 1;
                let again = !shutdown.is_set() && failures <= MAX_RESTARTS;
                let what = if !again && !shutdown.is_set() {
                    format!("{what} (given up after {MAX_RESTARTS} restarts)")
                } else {
                    what
                };
                me.report(Incident {
                    task: task.clone(),
                    what,
                    restart_in: again.then_some(delay.as_secs_f64()),
                });
                if !again {
                    return;
                }
                tokio::select! {
                    () = shutdown.wait() => return,
                    () = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(MAX_DELAY);
            }
        })
    }

    /// Starts one piece of work that outlives its caller (a drop being read, a reply being
    /// streamed). It should end soon after [`Supervisor::shutdown`] says so; a panic is
    /// reported. Returns false when the supervisor is closing (nothing is started).
    pub fn job(
        &self,
        name: impl Into<String>,
        work: impl Future<Output = ()> + Send + 'static,
    ) -> bool {
        let name = name.into();
        let me = self.clone();
        let task = name.clone();
        self.spawn(name, async move {
            if let Err(panic) = AssertUnwindSafe(work).catch_unwind().await {
                me.report(Incident {
                    task,
                    what: format!("panicked: {}", panic_message(&*panic)),
                    restart_in: None,
                });
            }
        })
    }

    /// The names of the tasks running now, oldest first.
    pub fn running(&self) -> Vec<String> {
        self.tasks()
            .running
            .values()
            .map(|r| r.name.clone())
            .collect()
    }

    /// Every incident from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Incident> {
        self.inner.incidents.subscribe()
    }

    /// The latest incidents, oldest first.
    pub fn incidents(&self) -> Vec<Incident> {
        lock(&self.inner.kept).iter().cloned().collect()
    }

    /// Signals shutdown and refuses new tasks, without waiting for them to end (what a `Drop`
    /// can do; [`Supervisor::close`] also waits).
    pub fn stop(&self) {
        self.tasks().closed = true;
        self.inner.stop.send_replace(true);
    }

    /// Signals shutdown, refuses new tasks, and waits up to `grace` for every task to end;
    /// those still running then are aborted (and reported). When it returns, no task of this
    /// supervisor runs.
    pub async fn close(&self, grace: Duration) -> Closed {
        self.stop();
        let mut count = self.inner.count.subscribe();
        if tokio::time::timeout(grace, count.wait_for(|n| *n == 0))
            .await
            .is_ok()
        {
            return Closed::default();
        }
        let aborted: Vec<String> = {
            let tasks = self.tasks();
            for r in tasks.running.values() {
                r.abort.abort();
            }
            tasks.running.values().map(|r| r.name.clone()).collect()
        };
        // An aborted task is dropped at its next turn on the runtime.
        if tokio::time::timeout(ABORT_WAIT, count.wait_for(|n| *n == 0))
            .await
            .is_err()
        {
            tracing::error!(
                "background tasks still running after being aborted: {:?}",
                self.running()
            );
        }
        for task in &aborted {
            self.report(Incident {
                task: task.clone(),
                what: format!(
                    "still running {} s after shutdown; aborted",
                    grace.as_secs_f64()
                ),
                restart_in: None,
            });
        }
        Closed { aborted }
    }

    fn spawn(&self, name: String, work: impl Future<Output = ()> + Send + 'static) -> bool {
        let runtime = match self
            .inner
            .runtime
            .clone()
            .or_else(|| Handle::try_current().ok())
        {
            Some(r) => r,
            None => {
                tracing::error!("{name}: not started: no async runtime to run it on");
                return false;
            }
        };
        // Held while spawning, so the task cannot end (and remove its entry) before the entry
        // is there.
        let mut tasks = self.tasks();
        if tasks.closed {
            tracing::warn!("{name}: not started: Telos is closing");
            return false;
        }
        let id = tasks.next;
        tasks.next += 1;
        let done = Done {
            inner: Arc::clone(&self.inner),
            id,
        };
        let handle = runtime.spawn(async move {
            let _done = done;
            work.await;
        });
        tasks.running.insert(
            id,
            Running {
                name,
                abort: handle.abort_handle(),
            },
        );
        self.inner.count.send_replace(tasks.running.len());
        true
    }

    fn tasks(&self) -> MutexGuard<'_, Tasks> {
        lock(&self.inner.tasks)
    }

    fn report(&self, incident: Incident) {
        match incident.restart_in {
            Some(_) => tracing::warn!("background task {}: {}", incident.task, incident.what),
            None => tracing::error!("background task {}: {}", incident.task, incident.what),
        }
        {
            let mut kept = lock(&self.inner.kept);
            if kept.len() == KEPT {
                kept.pop_front();
            }
            kept.push_back(incident.clone());
        }
        // No subscriber (no window) is not an error: the log has it.
        let _ = self.inner.incidents.send(incident);
    }
}

/// Removes a task's entry when its future is dropped: finished, panicked or aborted.
struct Done {
    inner: Arc<Inner>,
    id: u64,
}

impl Drop for Done {
    fn drop(&mut self) {
        let mut tasks = lock(&self.inner.tasks);
        tasks.running.remove(&self.id);
        self.inner.count.send_replace(tasks.running.len());
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_failing_service_is_reported_and_restarted_until_it_settles() {
        let supervisor = Supervisor::new();
        let mut incidents = supervisor.subscribe();
        let runs = Arc::new(AtomicU32::new(0));
        let counted = Arc::clone(&runs);
        supervisor.service("flaky", move |shutdown| {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    return Err(format!("run {n} broke"));
                }
                shutdown.wait().await;
                Ok(())
            }
        });
        let first = incidents.recv().await.unwrap();
        assert_eq!(first.task, "flaky");
        assert_eq!(first.what, "failed: run 0 broke");
        assert_eq!(first.restart_in, Some(0.5));
        let second = incidents.recv().await.unwrap();
        assert_eq!(second.restart_in, Some(1.0), "the delay doubles");
        while runs.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(supervisor.running(), ["flaky"]);
        let closed = supervisor.close(Duration::from_secs(5)).await;
        assert_eq!(closed, Closed::default());
        assert!(supervisor.running().is_empty());
        assert_eq!(supervisor.incidents().len(), 2);
    }

    #[tokio::test]
    async fn a_panicking_job_is_reported_and_removed() {
        let supervisor = Supervisor::new();
        let mut incidents = supervisor.subscribe();
        supervisor.job("doomed", async { panic!("the disk is on fire") });
        let incident = incidents.recv().await.unwrap();
        assert_eq!(incident.what, "panicked: the disk is on fire");
        assert_eq!(incident.restart_in, None);
        supervisor.close(Duration::from_secs(5)).await;
        assert!(supervisor.running().is_empty());
    }

    #[tokio::test]
    async fn close_aborts_what_ignores_the_signal_and_then_refuses_new_work() {
        let supervisor = Supervisor::new();
        supervisor.job("deaf", std::future::pending());
        supervisor.job("polite", {
            let shutdown = supervisor.shutdown();
            async move { shutdown.wait().await }
        });
        assert_eq!(supervisor.running(), ["deaf", "polite"]);
        let closed = supervisor.close(Duration::from_millis(100)).await;
        assert_eq!(closed.aborted, ["deaf"]);
        assert!(supervisor.running().is_empty());
        assert!(!supervisor.job("late", async {}));
        assert!(supervisor.running().is_empty());
        assert!(supervisor.incidents()[0].what.contains("aborted"));
    }
}

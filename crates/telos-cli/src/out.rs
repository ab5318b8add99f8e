//! Where a command's output goes: this process's stdout and stderr, or, for a command the
//! running app carries out for a `telos` beside it, frames sent back over the app's socket
//! (`remote.rs`). Commands print with `outln!`/`errln!` (and `out!`/`err!`), never `println!`.

use std::io::{IsTerminal, Write};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;

/// One piece of a command's output, or how it ended, as the app sends it back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Frame {
    Out(String),
    Err(String),
    Done,
    Error {
        message: String,
        causes: Vec<String>,
    },
}

/// The output of a command carried out for someone else.
#[derive(Debug, Clone)]
pub(crate) struct Sink {
    pub frames: UnboundedSender<Frame>,
    /// Whether the asker's stderr is a terminal (progress lines are redrawn in place there).
    pub tty: bool,
}

tokio::task_local! {
    static SINK: Sink;
}

/// Runs `work` with its output going to `sink`.
pub(crate) async fn scoped<F: Future>(sink: Sink, work: F) -> F::Output {
    SINK.scope(sink, work).await
}

/// Writes `text` to the command's stdout (`err`: its stderr).
pub(crate) fn write(text: String, err: bool) {
    let mut text = Some(text);
    let _ = SINK.try_with(|sink| {
        if let Some(t) = text.take() {
            // The asker went away: the command's output has nowhere to go, as with a closed pipe.
            let _ = sink
                .frames
                .send(if err { Frame::Err(t) } else { Frame::Out(t) });
        }
    });
    if let Some(t) = text {
        let written = if err {
            let mut e = std::io::stderr().lock();
            e.write_all(t.as_bytes()).and_then(|()| e.flush())
        } else {
            let mut o = std::io::stdout().lock();
            o.write_all(t.as_bytes()).and_then(|()| o.flush())
        };
        // A closed pipe (`telos … | head`) ends the output, not the command.
        let _ = written;
    }
}

/// Whether the command's stderr is a terminal.
pub(crate) fn stderr_is_terminal() -> bool {
    SINK.try_with(|sink| sink.tty)
        .unwrap_or_else(|_| std::io::stderr().is_terminal())
}

macro_rules! outln {
    ($($arg:tt)*) => { $crate::out::write(format!("{}\n", format_args!($($arg)*)), false) };
}
macro_rules! out {
    ($($arg:tt)*) => { $crate::out::write(format!($($arg)*), false) };
}
macro_rules! errln {
    ($($arg:tt)*) => { $crate::out::write(format!("{}\n", format_args!($($arg)*)), true) };
}
macro_rules! err {
    ($($arg:tt)*) => { $crate::out::write(format!($($arg)*), true) };
}

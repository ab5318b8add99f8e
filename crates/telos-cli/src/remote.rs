//! The CLI beside the running app. While the app holds a data dir it listens on
//! `DATA_DIR/telos.sock` (owner-only, and a peer of another user is refused as well), and
//! `telos` sends it the command it has parsed and checked; the app carries it out on its own
//! `Telos` — so what it changes shows at once in the windows — and streams the output back.
//! With no app listening, `telos` opens the data dir itself.
//!
//! The protocol is JSON lines: one `Request`, then `Frame`s until `done` or `error`. A `telos`
//! that goes away (Ctrl-C) cancels its command, as closing its terminal would.

use std::ops::Deref;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};
use telos_core::Shutdown;
use telos_core::Telos;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::commands::Work;
use crate::out::{self, Frame, Sink};

/// The socket's name inside the data dir.
pub const SOCKET: &str = "telos.sock";

/// The longest request line (an `apply` with a large operation list).
const MAX_REQUEST: u64 = 64 << 20;

/// The socket of the app holding `data_dir`.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET)
}

#[derive(Serialize, Deserialize)]
struct Request {
    /// The asking `telos`'s version: a command is only carried out by the same version.
    version: String,
    work: Work,
    json: bool,
    tty: bool,
}

/// Sends `work` to the app holding `data_dir`, printing what it sends back. `Ok(Some(work))`
/// when no app listens there: the caller opens the data dir itself.
pub(crate) async fn forward(data_dir: &Path, work: Work, json: bool) -> Result<Option<Work>> {
    use std::io::ErrorKind;
    let path = socket_path(data_dir);
    let stream = match UnixStream::connect(&path).await {
        Ok(s) => s,
        Err(e) if e.kind() == ErrorKind::PermissionDenied => {
            return Err(anyhow!(
                "{} refused you: the Telos app holding {} belongs to another user, and only \
                 its owner may send it commands",
                path.display(),
                data_dir.display()
            ));
        }
        // No app (no socket, or a dead app's), or no data dir at all: opening it here says
        // what is wrong with it, if anything.
        Err(e) => {
            tracing::debug!("no app on {}: {e}", path.display());
            return Ok(Some(work));
        }
    };
    let (read, mut write) = stream.into_split();
    let request = Request {
        version: env!("CARGO_PKG_VERSION").to_string(),
        work,
        json,
        tty: out::stderr_is_terminal(),
    };
    let mut line = serde_json::to_vec(&request)?;
    line.push(b'\n');
    write
        .write_all(&line)
        .await
        .with_context(|| format!("sending the command to the Telos app at {}", path.display()))?;
    let mut frames = BufReader::new(read).lines();
    while let Some(line) = frames
        .next_line()
        .await
        .with_context(|| format!("reading the Telos app's answer on {}", path.display()))?
    {
        let frame: Frame = serde_json::from_str(&line)
            .with_context(|| format!("the Telos app sent {line:?}, not a frame of output"))?;
        match frame {
            Frame::Out(text) => out::write(text, false),
            Frame::Err(text) => out::write(text, true),
            Frame::Done => return Ok(None),
            Frame::Error { message, .. } => return Err(anyhow!(message)),
        }
    }
    Err(anyhow!(
        "the Telos app closed {} before the command ended (did it quit?); what it committed \
         is in its image (`telos cycles ls`)",
        path.display()
    ))
}

/// Listens on the socket of `telos`'s data dir until `shutdown`, carrying out each command a
/// `telos` of the same user sends, as a job of the supervisor. The app runs it as a service.
pub async fn serve<T>(telos: T, shutdown: Shutdown) -> std::result::Result<(), String>
where
    T: Deref<Target = Telos> + Clone + Send + Sync + 'static,
{
    let path = socket_path(telos.data_dir());
    let listener = bind(&path).map_err(|e| {
        format!(
            "the CLI cannot reach this app: listening on {}: {e}",
            path.display()
        )
    })?;
    // The socket is this process's: its owner is the one user served.
    let made = std::fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (owner, inode) = (made.uid(), made.ino());
    tracing::info!("the CLI reaches this app on {}", path.display());
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let served = telos.clone();
                    let closing = telos.supervisor().shutdown();
                    telos
                        .supervisor()
                        .job("a telos command", answer(served, stream, owner, closing));
                }
                Err(e) => tracing::warn!("accepting on {}: {e}", path.display()),
            },
            () = shutdown.wait() => break,
        }
    }
    // Only our own socket goes: a later app may already have bound its own.
    if std::fs::metadata(&path).is_ok_and(|m| m.ino() == inode) {
        let _ = std::fs::remove_file(&path);
    }
    Ok(())
}

/// Binds `path` owner-only from the start: the socket is made under a private name, given
/// mode 0600, then renamed into place. The caller holds the data dir's lock, so a socket
/// already there is a dead app's.
fn bind(path: &Path) -> std::io::Result<UnixListener> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let staging = path.with_extension(format!("sock.{}", std::process::id()));
    let _ = std::fs::remove_file(&staging);
    let listener = UnixListener::bind(&staging)?;
    std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o600))?;
    std::fs::rename(&staging, path)?;
    Ok(listener)
}

/// Carries out one `telos`'s command and sends back its output, then how it ended.
async fn answer<T>(telos: T, stream: UnixStream, owner: u32, closing: Shutdown)
where
    T: Deref<Target = Telos> + Send + Sync,
{
    let peer = stream.peer_cred().map(|c| c.uid());
    let (read, mut write) = stream.into_split();
    let refuse = |message: String| Frame::Error {
        message,
        causes: Vec::new(),
    };
    match peer {
        Ok(uid) if uid == owner => {}
        Ok(uid) => {
            tracing::warn!("refused a telos command from uid {uid}");
            let why = format!("uid {uid} may not send commands to the Telos app of uid {owner}");
            let _ = send(&mut write, &refuse(why)).await;
            return;
        }
        Err(e) => {
            let _ = send(&mut write, &refuse(format!("who is asking: {e}"))).await;
            return;
        }
    }
    let mut reader = BufReader::new(read);
    let mut line = Vec::new();
    let request = match (&mut reader)
        .take(MAX_REQUEST)
        .read_until(b'\n', &mut line)
        .await
    {
        Ok(_) => serde_json::from_slice::<Request>(&line)
            .map_err(|e| format!("the command is not one this app reads ({e})")),
        Err(e) => Err(format!("reading the command: {e}")),
    };
    let request = match request {
        Ok(r) if r.version == env!("CARGO_PKG_VERSION") => r,
        Ok(r) => {
            let why = format!(
                "this app is Telos {}, the command came from telos {}: use the telos of the \
                 installed app",
                env!("CARGO_PKG_VERSION"),
                r.version
            );
            let _ = send(&mut write, &refuse(why)).await;
            return;
        }
        Err(why) => {
            let _ = send(&mut write, &refuse(why)).await;
            return;
        }
    };
    let (frames, mut output) = tokio::sync::mpsc::unbounded_channel();
    let sink = Sink {
        frames,
        tty: request.tty,
    };
    let work = out::scoped(sink, request.work.run(&telos, request.json));
    tokio::pin!(work);
    let mut probe = [0u8; 1];
    let ended = loop {
        tokio::select! {
            result = &mut work => break Some(result),
            Some(frame) = output.recv() => {
                if send(&mut write, &frame).await.is_err() {
                    break None;
                }
            }
            // The asker sends nothing after its command: a read that ends means it went away.
            _ = reader.read(&mut probe) => break None,
            () = closing.wait() => {
                let _ = send(&mut write, &refuse("the Telos app is closing".into())).await;
                return;
            }
        }
    };
    let Some(result) = ended else {
        return; // dropping the command's future cancels it
    };
    while let Ok(frame) = output.try_recv() {
        if send(&mut write, &frame).await.is_err() {
            return;
        }
    }
    let last = match result {
        Ok(()) => Frame::Done,
        Err(e) => Frame::Error {
            message: crate::message(&e),
            causes: e.chain().map(|c| c.to_string()).collect(),
        },
    };
    let _ = send(&mut write, &last).await;
}

async fn send(write: &mut tokio::net::unix::OwnedWriteHalf, frame: &Frame) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(frame).map_err(std::io::Error::other)?;
    line.push(b'\n');
    write.write_all(&line).await
}

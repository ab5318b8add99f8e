//! Documents are untrusted: their bytes are parsed in a reader process of our own
//! (`telos-reader`), as browsers parse untrusted content, never in the app. The app opens and
//! reads the file (its checks and size cap, [`crate::read::read_bytes`]) and hands the bytes
//! to a fresh reader; the reader limits itself (address space, CPU time, no file grown, no
//! sockets), parses, and answers with the text and page offsets. A reader that dies — a Flate
//! bomb that outgrows its memory, nesting that overflows its stack — or overruns its time is
//! that file's error ([`Error::ReaderDied`]); the app and the rest of the drop go on.
//!
//! The reader is found as `TELOS_READER`, else beside this executable or one folder up (the
//! build's `target/debug/`, a test's `deps/`; `/usr/bin` when installed).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::{Error, Result};
use crate::read::{Document, Format, hex};

/// The reader's executable name.
pub const READER: &str = "telos-reader";
/// The reader's address space: a document that needs more is refused.
pub const READER_MEMORY: u64 = 1 << 30;
/// The reader's CPU time, in seconds.
pub const READER_CPU_SECONDS: u64 = 60;
/// How long the app waits for a reader before it is killed.
pub const READER_WALL: Duration = Duration::from_secs(90);
/// The most text a reader may answer with (a small file can hold a lot of compressed text).
pub const MAX_TEXT_BYTES: usize = 256 << 20;
/// What is kept of a dead reader's stderr, to say how it died.
const STDERR_KEEP: usize = 4096;

/// The reader's answer, one JSON document on its stdout.
#[derive(Serialize, Deserialize)]
enum Answer {
    Read {
        format: Format,
        text: String,
        pages: Vec<usize>,
    },
    Refused(Refusal),
}

/// Why the reader refused a document: [`Error`]'s per-file kinds, without the path (the app
/// names the file).
#[derive(Serialize, Deserialize)]
enum Refusal {
    Unsupported(String),
    Empty,
    InvalidUtf8(u64),
    EncryptedPdf,
    BadPdf(String),
    NoText,
    Other(String),
}

impl Refusal {
    fn of(e: Error) -> Self {
        match e {
            Error::Unsupported { detected, .. } => Self::Unsupported(detected),
            Error::Empty { .. } => Self::Empty,
            Error::InvalidUtf8 { offset, .. } => Self::InvalidUtf8(offset),
            Error::EncryptedPdf { .. } => Self::EncryptedPdf,
            Error::BadPdf { reason, .. } => Self::BadPdf(reason),
            Error::NoText { .. } => Self::NoText,
            other => Self::Other(other.to_string()),
        }
    }

    fn error(self, path: &Path) -> Error {
        let path = path.to_owned();
        match self {
            Self::Unsupported(detected) => Error::Unsupported { path, detected },
            Self::Empty => Error::Empty { path },
            Self::InvalidUtf8(offset) => Error::InvalidUtf8 { path, offset },
            Self::EncryptedPdf => Error::EncryptedPdf { path },
            Self::BadPdf(reason) => Error::BadPdf { path, reason },
            Self::NoText => Error::NoText { path },
            Self::Other(reason) => Error::ReaderDied {
                path,
                reason: format!("refused it: {reason}"),
            },
        }
    }
}

/// Reads and recognises one file in a reader process, refusing what cannot be remembered
/// with an error naming it.
pub async fn read(path: &Path, limit: u64) -> Result<Document> {
    let owned = path.to_owned();
    let bytes = tokio::task::spawn_blocking(move || crate::read::read_bytes(&owned, limit))
        .await
        .map_err(|e| {
            Error::NoReader(format!(
                "reading {} stopped before it was parsed: {e}",
                path.display()
            ))
        })??;
    parse_apart(path, bytes).await
}

/// [`crate::read::parse`] in a reader process: `path` names the document and hints its type.
pub async fn parse_apart(path: &Path, bytes: Vec<u8>) -> Result<Document> {
    let hash = hex(&Sha256::digest(&bytes));
    let size = bytes.len() as u64;
    let died = |reason: String| Error::ReaderDied {
        path: path.to_owned(),
        reason,
    };
    // Not the file's fault: the reader could not be started, heard or waited for.
    let broke = |what: String| {
        Error::NoReader(format!(
            "{} was not read: the document reader {what}",
            path.display()
        ))
    };
    let reader = find_reader().map_err(Error::NoReader)?;
    let mut child = tokio::process::Command::new(&reader)
        .arg("--name")
        .arg(path.file_name().unwrap_or(path.as_os_str()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_clear()
        // Its own process group: a Ctrl-C in the app's terminal is not the reader's death.
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| broke(format!("{} could not be started: {e}", reader.display())))?;
    let mut stdin = child.stdin.take().expect("piped");
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let cap = MAX_TEXT_BYTES * 2;
    let mut too_much = false;
    let talk = async {
        // A reader that dies early closes its stdin: its exit says why, not the broken pipe.
        let feed = async {
            let _ = stdin.write_all(&bytes).await;
            drop(stdin);
        };
        let mut out = Vec::new();
        let take = async {
            let got = (&mut stdout)
                .take(cap as u64 + 1)
                .read_to_end(&mut out)
                .await;
            if out.len() > cap {
                // It would block writing the rest: stopped now, not at the timeout.
                too_much = true;
                let _ = child.start_kill();
            }
            got
        };
        let tell = tail(&mut stderr, STDERR_KEEP);
        let ((), got, err) = tokio::join!(feed, take, tell);
        got.map(|_| (out, err))
    };
    let (out, err) = match tokio::time::timeout(READER_WALL, talk).await {
        Ok(Ok(got)) => got,
        Ok(Err(e)) => return Err(broke(format!("could not be heard: {e}"))),
        Err(_) => {
            let _ = child.kill().await;
            return Err(died(format!(
                "took longer than {} s and was stopped",
                READER_WALL.as_secs()
            )));
        }
    };
    let status = child
        .wait()
        .await
        .map_err(|e| broke(format!("could not be waited for: {e}")))?;
    if too_much {
        return Err(died(format!(
            "gave more than {} MiB of text and was stopped",
            MAX_TEXT_BYTES >> 20
        )));
    }
    if !status.success() {
        return Err(died(how_it_died(status, &err)));
    }
    let answer: Answer = serde_json::from_slice(&out).map_err(|e| {
        died(format!(
            "answered with something that is not an answer: {e}"
        ))
    })?;
    match answer {
        Answer::Read {
            format,
            text,
            pages,
        } => Ok(Document {
            path: path.to_owned(),
            format,
            hash,
            size,
            text,
            pages,
        }),
        Answer::Refused(r) => Err(r.error(path)),
    }
}

/// The last `keep` bytes `from` wrote, read to its end (a reader that writes a lot to
/// stderr never blocks on it).
async fn tail(from: &mut tokio::process::ChildStderr, keep: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = vec![0u8; 8192];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 {
            break;
        }
        kept.extend_from_slice(&buf[..n]);
        let excess = kept.len().saturating_sub(keep);
        kept.drain(..excess);
    }
    kept
}

/// A dead reader's end in words: its signal or exit code, and the last line it wrote.
fn how_it_died(status: std::process::ExitStatus, stderr: &[u8]) -> String {
    use std::os::unix::process::ExitStatusExt;
    let said = String::from_utf8_lossy(stderr);
    let last = said
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty() && !l.starts_with("note: "))
        .unwrap_or("");
    let end = match (status.signal(), status.code()) {
        (Some(libc::SIGXCPU), _) => {
            format!("used its {READER_CPU_SECONDS} s of CPU time and was stopped")
        }
        (Some(libc::SIGKILL), _) => "was killed".to_owned(),
        (Some(libc::SIGABRT), _) if said.contains("overflowed its stack") => {
            "ran out of stack (the document nests too deeply)".to_owned()
        }
        (Some(libc::SIGABRT), _) if said.contains("memory allocation") => format!(
            "ran out of memory (the document needs more than {} MiB to read)",
            READER_MEMORY >> 20
        ),
        (Some(signal), _) => format!("died of signal {signal}"),
        (None, Some(101)) => "gave up on it (a parser panicked)".to_owned(),
        (None, Some(code)) => format!("exited with {code}"),
        (None, None) => "ended".to_owned(),
    };
    if last.is_empty() {
        end
    } else {
        format!("{end}: {}", last.trim())
    }
}

fn find_reader() -> std::result::Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("TELOS_READER").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "TELOS_READER names {}, which is not a file",
                p.display()
            ))
        };
    }
    let mut looked = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        let mut dir = exe.parent().map(Path::to_path_buf);
        for _ in 0..2 {
            let Some(d) = dir else { break };
            let candidate = d.join(READER);
            if candidate.is_file() {
                return Ok(candidate);
            }
            looked.push(candidate.display().to_string());
            dir = d.parent().map(Path::to_path_buf);
        }
    }
    Err(format!(
        "the document reader {READER} was not found (looked in {}); build it with \
         scripts/build or set TELOS_READER",
        looked.join(", ")
    ))
}

/// The reader process's `main`: limits itself, reads a document's bytes from stdin (named by
/// `--name NAME`), and writes its [`Answer`] to stdout. Exits 2 on a bad command line.
pub fn serve() -> ! {
    let mut args = std::env::args_os().skip(1);
    let name = match (args.next(), args.next()) {
        (Some(flag), Some(name)) if flag == "--name" => PathBuf::from(name),
        (Some(flag), None) if flag == "--confinement" => confinement(),
        _ => {
            eprintln!(
                "{READER}: reads one document's bytes from stdin and answers with its text on \
                 stdout (run by Telos); usage: {READER} --name FILE_NAME, or {READER} \
                 --confinement to see what it refuses itself"
            );
            std::process::exit(2);
        }
    };
    // A parser's panic is this document's error, told in one line.
    std::panic::set_hook(Box::new(|info| eprintln!("{READER}: {info}")));
    if let Err(e) = confine() {
        eprintln!("{READER}: cannot confine myself: {e}");
        std::process::exit(3);
    }
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin().lock().read_to_end(&mut bytes) {
        eprintln!("{READER}: reading stdin: {e}");
        std::process::exit(4);
    }
    let answer = match crate::read::parse(&name, bytes) {
        Ok(doc) => Answer::Read {
            format: doc.format,
            text: doc.text,
            pages: doc.pages,
        },
        Err(e) => Answer::Refused(Refusal::of(e)),
    };
    let mut out = std::io::stdout().lock();
    let wrote = serde_json::to_writer(&mut out, &answer)
        .map_err(std::io::Error::from)
        .and_then(|()| out.flush());
    if let Err(e) = wrote {
        eprintln!("{READER}: writing the answer: {e}");
        std::process::exit(5);
    }
    std::process::exit(0)
}

/// `--confinement`: confines itself as for a document, then tries what a document must not
/// make it do, one line each (`socket: refused (…)`), and exits 0.
fn confinement() -> ! {
    if let Err(e) = confine() {
        eprintln!("{READER}: cannot confine myself: {e}");
        std::process::exit(3);
    }
    let outcome = |what: &str, r: std::result::Result<(), String>| match r {
        Ok(()) => println!("{what}: ALLOWED"),
        Err(e) => println!("{what}: refused ({e})"),
    };
    // SAFETY: socket takes plain integers; a descriptor it returns is closed at once.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
    outcome(
        "socket",
        if fd < 0 {
            Err(std::io::Error::last_os_error().to_string())
        } else {
            unsafe { libc::close(fd) };
            Ok(())
        },
    );
    let mut v: Vec<u8> = Vec::new();
    outcome(
        "memory",
        v.try_reserve_exact(READER_MEMORY as usize)
            .map_err(|e| format!("{} MiB: {e}", READER_MEMORY >> 20)),
    );
    // Past RLIMIT_FSIZE a write fails with EFBIG once SIGXFSZ is ignored.
    // SAFETY: ignoring a signal installs no handler.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    let probe = std::env::temp_dir().join(format!("{READER}-{}", std::process::id()));
    let wrote = std::fs::write(&probe, b"x").map_err(|e| e.to_string());
    let _ = std::fs::remove_file(&probe);
    outcome("files", wrote);
    std::process::exit(0)
}

/// The reader's limits: no descriptors but its pipes, address space, CPU time, no core
/// dumps, no file grown past 0 bytes (RLIMIT_FSIZE), and no sockets (a seccomp filter:
/// `socket`, `socketpair` and io_uring fail, and the 32-bit and x32 entry points end the
/// process).
fn confine() -> std::io::Result<()> {
    // Descriptors the app let slip (a C library's, without close-on-exec) are not the
    // reader's: everything past stdin, stdout and stderr is closed.
    // SAFETY: close_range takes plain integers and closes only descriptors.
    unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
    let limit = |resource, soft: u64, hard: u64| {
        let l = libc::rlimit {
            rlim_cur: soft as libc::rlim_t,
            rlim_max: hard as libc::rlim_t,
        };
        // SAFETY: setrlimit reads the struct it is given.
        if unsafe { libc::setrlimit(resource, &l) } == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    };
    limit(libc::RLIMIT_AS, READER_MEMORY, READER_MEMORY)?;
    // The soft limit sends SIGXCPU (told as such); the hard one, a little later, SIGKILL.
    limit(libc::RLIMIT_CPU, READER_CPU_SECONDS, READER_CPU_SECONDS + 5)?;
    limit(libc::RLIMIT_CORE, 0, 0)?;
    limit(libc::RLIMIT_FSIZE, 0, 0)?;
    no_sockets()
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn no_sockets() -> std::io::Result<()> {
    #[cfg(target_arch = "x86_64")]
    const ARCH: u32 = 0xC000_003E; // AUDIT_ARCH_X86_64
    #[cfg(target_arch = "aarch64")]
    const ARCH: u32 = 0xC000_00B7; // AUDIT_ARCH_AARCH64
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const JGE_K: u16 = 0x35;
    const RET_K: u16 = 0x06;
    const ALLOW: u32 = 0x7fff_0000;
    const KILL_PROCESS: u32 = 0x8000_0000;
    const ERRNO: u32 = 0x0005_0000;
    let op = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    let filter = [
        op(LD_W_ABS, 0, 0, 4), // seccomp_data.arch
        op(JEQ_K, 1, 0, ARCH),
        op(RET_K, 0, 0, KILL_PROCESS),
        op(LD_W_ABS, 0, 0, 0),        // seccomp_data.nr
        op(JGE_K, 0, 1, 0x4000_0000), // x32
        op(RET_K, 0, 0, KILL_PROCESS),
        op(JEQ_K, 0, 1, libc::SYS_socket as u32),
        op(RET_K, 0, 0, ERRNO | libc::EACCES as u32),
        op(JEQ_K, 0, 1, libc::SYS_socketpair as u32),
        op(RET_K, 0, 0, ERRNO | libc::EACCES as u32),
        // io_uring can make sockets without socket(2).
        op(JEQ_K, 0, 1, libc::SYS_io_uring_setup as u32),
        op(RET_K, 0, 0, ERRNO | libc::ENOSYS as u32),
        op(JEQ_K, 0, 1, libc::SYS_io_uring_enter as u32),
        op(RET_K, 0, 0, ERRNO | libc::ENOSYS as u32),
        op(JEQ_K, 0, 1, libc::SYS_io_uring_register as u32),
        op(RET_K, 0, 0, ERRNO | libc::ENOSYS as u32),
        op(RET_K, 0, 0, ALLOW),
    ];
    let program = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: prctl reads the program, which outlives the call; the kernel copies it.
    unsafe {
        let zero: libc::c_ulong = 0;
        if libc::prctl(
            libc::PR_SET_NO_NEW_PRIVS,
            1 as libc::c_ulong,
            zero,
            zero,
            zero,
        ) != 0
            || libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER as libc::c_ulong,
                &program as *const libc::sock_fprog,
            ) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn no_sockets() -> std::io::Result<()> {
    Err(std::io::Error::other(
        "no seccomp filter for this architecture",
    ))
}

//! Closing Telos with all its background work running: every task ends before the image
//! closes, a reply cut by the close is kept (marked cut), and the last commit is on disk.

use std::time::Duration;

use telos_core::{Config, Telos};
use telos_tests::ollama_stub::{OllamaStub, Reply, Script};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_ends_every_background_task_and_the_last_commit_is_on_disk() {
    // BRICK answers slowly (20 tokens, 150 ms each): still talking when Telos closes.
    let mut script = Script::design_table();
    script.token_ms = 150;
    let words = "one two three four five six seven eight nine ten ".repeat(2);
    script
        .replies
        .insert("mistral:7b".into(), vec![Reply::Text(words.trim().into())]);
    let stub = OllamaStub::start(script);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut config = Config::from_data_dir(&data);
    config.ollama_host = stub.url();
    let telos = Telos::open(config.clone()).await.unwrap();

    // Everything a running app starts.
    telos.run_scheduler();
    let mut scheduler_views = telos.watch_scheduler();
    let mut codex_reports = telos.watch_codex().unwrap();
    let mut inbox_events = telos.watch_inbox().unwrap();
    let mut status = telos.subscribe_status();
    let mut chat = telos.chat("BRICK", "Count to twenty.").unwrap();
    let doc = dir.path().join("tides.md");
    std::fs::write(
        &doc,
        "# Tides\n\nThe tide turns twice a day at the harbour.\n",
    )
    .unwrap();
    let mut reading = telos.ingest("BABS", &[doc]).unwrap();
    // The reply has begun.
    loop {
        match chat.recv().await.expect("the reply streams") {
            ChatEvent::Token { .. } => break,
            _ => continue,
        }
    }
    let running = telos.supervisor().running();
    for task in [
        "persona roster",
        "scheduler",
        "scheduler status",
        "codex watch",
        "inbox watch",
        "chat with BRICK",
    ] {
        assert!(running.iter().any(|t| t == task), "{task} in {running:?}");
    }
    assert!(scheduler_views.recv().await.is_some());
    assert!(codex_reports.recv().await.is_ok());
    // The last commit before the close.
    telos
        .set_slot(
            "ALFRED",
            "note",
            json!("written just before closing"),
            "test",
        )
        .await
        .unwrap();

    tokio::time::timeout(Duration::from_secs(30), telos.close())
        .await
        .expect("close drains within its grace period")
        .unwrap();
    assert_eq!(telos.supervisor().running(), Vec::<String>::new());
    assert!(
        telos.supervisor().incidents().is_empty(),
        "nothing was aborted or failed: {:?}",
        telos.supervisor().incidents()
    );
    // Every stream a task fed has ended with its task.
    let mut rest = Vec::new();
    while let Some(e) = chat.recv().await {
        rest.push(e);
    }
    assert!(
        matches!(rest.last(), Some(ChatEvent::Failed { message, .. }) if message.contains("Telos is closing")),
        "{rest:?}"
    );
    while reading.recv().await.is_some() {}
    assert!(inbox_events.recv().await.is_none());
    while scheduler_views.recv().await.is_some() {}
    while status.try_recv().is_ok() {}
    drop_and_reopen(telos, config).await;
}

/// Drops `telos` (releasing the data dir) and checks what the next open finds.
async fn drop_and_reopen(telos: Telos, config: Config) {
    drop(telos);
    let telos = Telos::open(config)
        .await
        .expect("the data dir was released");
    let alfred = telos.image().resolve("ALFRED").unwrap();
    assert_eq!(alfred.slots["note"], json!("written just before closing"));
    let brick = telos.image().resolve("BRICK").unwrap();
    let exchange = &brick.slots["scrapbook"][0];
    assert_eq!(exchange["cut"], json!(true), "{exchange}");
    assert!(
        exchange["reply"].as_str().unwrap().starts_with("one"),
        "{exchange}"
    );
    let health = telos.doctor().await.unwrap();
    assert_eq!((health.orphans, health.missing), (0, 0));
    telos.shutdown().await.unwrap();
}

/// The inbox's next finished ingest for `persona`, within a minute.
async fn inbox_finished(
    events: &mut tokio::sync::mpsc::Receiver<telos_core::InboxEvent>,
) -> telos_core::IngestSummary {
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let e = events.recv().await.expect("the inbox keeps reporting");
            if let telos_core::IngestEvent::Finished(s) = e.event {
                return s;
            }
        }
    })
    .await
    .expect("the inbox finishes within a minute")
}

/// A one-page PDF whose content stream inflates to 1.5 GiB: its reader runs out of memory.
fn flate_bomb() -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let block = vec![b' '; 1 << 20];
    for _ in 0..1536 {
        z.write_all(&block).unwrap();
    }
    let content = z.finish().unwrap();
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    let mut stream = format!(
        "<< /Length {} /Filter /FlateDecode >>\nstream\n",
        content.len()
    )
    .into_bytes();
    stream.extend(&content);
    stream.extend(b"\nendstream");
    let objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>".to_vec(),
        stream,
    ];
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend(body);
        out.extend(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend(b"xref\n0 5\n0000000000 65535 f \n");
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend(
        format!("trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_kills_its_reader_is_that_files_error_and_waits_in_quarantine_across_starts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let telos = open_on_disk(&data).await;
    let mut events = telos.watch_inbox().unwrap();
    let inbox = telos.inbox_dir().join("BRICK");
    // A PDF that inflates past the reader's memory: the reader dies; the app does not notice.
    let bomb = inbox.join("bomb.pdf");
    std::fs::write(&bomb, flate_bomb()).unwrap();
    std::fs::write(inbox.join("tides.md"), "# Tides\n\nHigh tide is at noon.\n").unwrap();
    let (mut remembered, mut failed) = (Vec::new(), Vec::new());
    while remembered.len() + failed.len() < 2 {
        let summary = inbox_finished(&mut events).await;
        remembered.extend(summary.remembered);
        failed.extend(summary.failed);
    }
    assert_eq!(
        (remembered.len(), failed.len()),
        (1, 1),
        "the rest goes on: {failed:?}"
    );
    let failed = &failed[0];
    assert!(failed.killed_reader, "{failed:?}");
    assert!(
        failed
            .reason
            .contains("bomb.pdf could not be read: its reader ran out of memory"),
        "{failed:?}"
    );
    let listed = std::fs::read_to_string(telos.inbox_dir().join(".quarantine.json")).unwrap();
    assert!(listed.contains("bomb.pdf"), "{listed}");
    std::fs::remove_file(inbox.join("tides.md")).unwrap();
    telos.shutdown().await.unwrap();

    // At the next start the bomb is not read again; once changed, it is.
    let telos = open_on_disk(&data).await;
    let mut events = telos.watch_inbox().unwrap();
    tokio::time::sleep(telos_core::INBOX_QUIET * 3).await;
    assert!(events.try_recv().is_err(), "nothing was read at the start");
    std::fs::write(&bomb, "Mended: high tide is at one.\n").unwrap();
    let summary = inbox_finished(&mut events).await;
    assert_eq!(
        (summary.remembered.len(), summary.failed.len()),
        (1, 0),
        "{summary:?}"
    );
    telos.shutdown().await.unwrap();
}

/// Chats until `persona` answers; returns the last event (`Done`, or `Failed` with why).
async fn chat_through(telos: &Telos, persona: &str, text: &str) -> ChatEvent {
    let mut chat = telos.chat(persona, text).unwrap();
    let mut last = None;
    while let Some(event) = chat.recv().await {
        last = Some(event);
    }
    last.expect("the chat says how it ended")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_full_disk_a_chat_says_it_was_not_recorded_and_telos_writes_again_once_space_returns()
{
    let stub = OllamaStub::start(Script::design_table());
    let disk = telos_tests::SmallDisk::new(160);
    let data = disk.path.join("data");
    let mut config = Config::from_data_dir(&data);
    config.ollama_host = stub.url();
    let telos = Telos::open(config.clone()).await.unwrap();
    let scrapbook = |t: &Telos| {
        t.image()
            .resolve("BRICK")
            .unwrap()
            .slots
            .get("scrapbook")
            .and_then(|v| v.as_array().map(Vec::len))
            .unwrap_or(0)
    };
    assert!(matches!(
        chat_through(&telos, "BRICK", "Hello.").await,
        ChatEvent::Done { .. }
    ));
    assert_eq!(scrapbook(&telos), 1);

    let filler = disk.fill();
    // Long enough that its record cannot fit in what a full tmpfs leaves of the store's
    // last page (a short one may: a commit is a few hundred bytes).
    let long = format!("Are you there? {}", "Still listening. ".repeat(512));
    match chat_through(&telos, "BRICK", &long).await {
        ChatEvent::Failed { message, partial } => {
            assert!(
                message.contains("could not be recorded") && message.contains("No space left"),
                "{message}"
            );
            assert!(!partial.is_empty(), "the reply is still shown");
        }
        other => panic!("a chat on a full disk: {other:?}"),
    }
    let why = telos.image().read_only().expect("read-only");
    assert!(why.reason.contains("free some space"), "{}", why.reason);
    assert_eq!(scrapbook(&telos), 1, "nothing half-recorded");
    // Reading goes on.
    assert!(!telos.world().is_empty());

    // Space returns: the watch sees it within a few seconds, with no commit needed.
    std::fs::remove_file(&filler).unwrap();
    let mut state = telos.image().watch_read_only();
    tokio::time::timeout(Duration::from_secs(10), state.wait_for(Option::is_none))
        .await
        .expect("writing again within 10 s of space returning")
        .unwrap();
    assert!(matches!(
        chat_through(&telos, "BRICK", "And now?").await,
        ChatEvent::Done { .. }
    ));
    assert_eq!(scrapbook(&telos), 2);
    drop(state);
    telos.close().await.unwrap();
    drop(telos);
    let telos = Telos::open(config).await.unwrap();
    assert_eq!(scrapbook(&telos), 2, "the store agrees");
    telos.shutdown().await.unwrap();
}

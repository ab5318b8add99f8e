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

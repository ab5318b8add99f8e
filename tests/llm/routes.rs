//! Which runtime answers: an Ollama persona falls back to the embedded model while Ollama does
//! not answer, and goes back when it does — the fallback model then leaves memory.

use std::time::Duration;

use telos_core::scheduler::{Ollama, Runtime, Runtimes};
use telos_tests::ollama_stub::{OllamaStub, Script};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persona_falls_back_while_ollama_is_away_and_goes_back_when_it_returns() {
    // A port Ollama will come back on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = port.local_addr().unwrap();
    drop(port);
    let ollama = Scheduler::new(
        Arc::new(Ollama::new(&format!("http://{addr}")).unwrap()),
        Bytes::gib(8),
        Vec::new(),
    );
    let dir = models_folder(&["tiny", "babs"]);
    let embedded = embedded_scheduler(dir.path(), Bytes::gib(4), Vec::new());
    let runtimes = Runtimes::new(
        ollama,
        Some((embedded, "gguf:tiny".into())),
        Mode::Auto,
        vec![
            persona("ALFRED", "phi3:3.8b", KeepAlive::Forever),
            persona("BABS", "gguf:babs", KeepAlive::DEFAULT),
        ],
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let looping = runtimes.clone();
    let run = tokio::spawn(async move {
        looping
            .run(async {
                let _ = stopped.await;
            })
            .await
    });

    // Away: ALFRED answers with the embedded model, and says why.
    let away = runtimes.route("ALFRED").await.unwrap();
    assert_eq!(
        (away.runtime, away.model.as_str()),
        (Runtime::Embedded, "gguf:tiny")
    );
    assert!(
        away.fallback
            .as_deref()
            .unwrap()
            .contains(&addr.to_string()),
        "{away:?}"
    );
    let reply = runtimes.chat("ALFRED", ask("Say hi."), None).await.unwrap();
    assert_eq!(reply.route, away);
    let (text, _) = collect(reply.stream).await;
    assert!(!text.is_empty());
    // ALFRED is pinned: its fallback model stays loaded.
    let loaded = |r: &Runtimes| -> Vec<String> {
        r.status()
            .embedded
            .unwrap()
            .models
            .iter()
            .map(|m| m.model.clone())
            .collect()
    };
    assert_eq!(loaded(&runtimes), ["gguf:tiny"]);
    // BABS's own model is embedded: it never depends on Ollama.
    assert_eq!(runtimes.route("BABS").await.unwrap().fallback, None);

    // Back: ALFRED goes to Ollama at once, and answers from there.
    let _stub = OllamaStub::start_on(addr, Script::design_table());
    let back = wait_for("ALFRED back on Ollama", || async {
        runtimes.refresh().await;
        let r = runtimes.route("ALFRED").await.unwrap();
        (r.runtime == Runtime::Ollama).then_some(r)
    })
    .await;
    assert_eq!((back.model.as_str(), back.fallback), ("phi3:3.8b", None));
    let reply = runtimes.chat("ALFRED", ask("Say hi."), None).await.unwrap();
    let (text, error) = collect(reply.stream).await;
    assert_eq!((text.as_str(), error), ("You said: Say hi.", None));
    // Nobody needs the fallback model now: the runtimes' loop unloads it.
    wait_for("the fallback model unloaded", || async {
        loaded(&runtimes).is_empty().then_some(())
    })
    .await;

    stop.send(()).unwrap();
    run.await.unwrap();
}

/// Polls `f` until it gives something, for at most 30 s.
async fn wait_for<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    f: impl Fn() -> F,
) -> T {
    for _ in 0..300 {
        if let Some(t) = f().await {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("gave up waiting for {what}");
}

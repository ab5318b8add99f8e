//! Several Ollama hosts (`OLLAMA_HOSTS`), each a FAKE Ollama: personas placed only on hosts
//! that have their model, with affinity to where it is loaded; a host that dies is failed
//! over within 2 s, its loads forgotten and its waiting request answered elsewhere.

use std::time::Instant;

use telos_core::scheduler::{KeepAlive, Mode, Persona, Runtime, Runtimes};
use telos_tests::ollama_stub::StubModel;

use super::*;

fn stub(models: &[(&str, f64)], token_ms: u64) -> OllamaStub {
    let mut script = Script::design_table();
    script.token_ms = token_ms;
    script.models = models
        .iter()
        .map(|(name, gb)| StubModel {
            name: name.to_string(),
            size: Bytes::gb(*gb),
            load_ms: 20,
        })
        .collect();
    OllamaStub::start(script)
}

fn persona(name: &str, model: &str, keep_alive: KeepAlive, gb: f64) -> Persona {
    Persona {
        name: name.into(),
        model: model.into(),
        keep_alive,
        priority: 1,
        size: Bytes::gb(gb),
    }
}

/// Runtimes over `stubs` (one scheduler each, 8 GiB), polling until the sender drops.
fn runtimes_on(
    stubs: &[&OllamaStub],
    mode: Mode,
    personas: Vec<Persona>,
) -> (Runtimes, tokio::sync::oneshot::Sender<()>) {
    let hosts = stubs
        .iter()
        .map(|s| {
            let backend = Arc::new(Ollama::new(&s.url()).expect("stub URL"));
            Scheduler::new(backend, Bytes::gib(8), Vec::new())
        })
        .collect();
    let runtimes = Runtimes::with_hosts(hosts, None, mode, personas);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let runner = runtimes.clone();
    tokio::spawn(async move {
        runner
            .run(async {
                let _ = stopped.await;
            })
            .await;
    });
    (runtimes, stop)
}

fn host_of(runtimes: &Runtimes, persona: &str) -> Option<String> {
    runtimes
        .status()
        .route(persona)
        .and_then(|r| r.host.clone())
}

fn mentions(actions: &[String], model: &str) -> bool {
    actions.iter().any(|a| a.split(' ').nth(1) == Some(model))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_model_runs_only_on_a_host_that_has_it_and_goes_where_it_is_loaded() {
    let a = stub(&[("phi3:3.8b", 2.2), ("mistral:7b", 4.1)], 1);
    let b = stub(&[("mistral:7b", 4.1), ("gemma2:9b", 5.4)], 1);
    let (runtimes, _stop) = runtimes_on(
        &[&a, &b],
        Mode::Auto,
        vec![
            persona("ALFRED", "phi3:3.8b", KeepAlive::Forever, 2.2),
            persona("ROBIN", "gemma2:9b", KeepAlive::DEFAULT, 5.4),
            persona("BABS", "qwen2:7b", KeepAlive::DEFAULT, 4.4),
        ],
    );
    // ALFRED (pinned) is loaded on the host that has phi3, ROBIN answers from the one with gemma2.
    until("ALFRED's model on a", || {
        a.loaded().0 == names(&["phi3:3.8b"])
    })
    .await;
    let robin = runtimes.chat("ROBIN", ask("Hi"), None).await.unwrap();
    assert_eq!(robin.route.host.as_deref(), Some(b.url().as_str()));
    assert_eq!(collect(robin.stream).await.unwrap(), "You said: Hi");
    let alfred = runtimes.chat("ALFRED", ask("Hello"), None).await.unwrap();
    assert_eq!(alfred.route.host.as_deref(), Some(a.url().as_str()));
    collect(alfred.stream).await.unwrap();

    // qwen2 is on neither: no host is asked, and the error names both.
    let err = runtimes.chat("BABS", ask("Hi"), None).await.err().unwrap();
    let text = err.to_string();
    assert!(matches!(err, Error::NoHost { .. }), "{text}");
    assert!(
        text.contains("qwen2:7b is installed on no Ollama host"),
        "{text}"
    );
    assert!(text.contains(&a.url()) && text.contains(&b.url()), "{text}");
    for (host, other) in [(&a, "gemma2:9b"), (&b, "phi3:3.8b")] {
        let actions = host.actions();
        assert!(!mentions(&actions, other), "{actions:?}");
        assert!(!mentions(&actions, "qwen2:7b"), "{actions:?}");
    }

    // BRICK joins; mistral is on both. Loaded on b by someone else, it goes to b, though a
    // has more room.
    let client = reqwest::Client::new();
    client
        .post(format!("{}/api/generate", b.url()))
        .json(&serde_json::json!({"model": "mistral:7b", "keep_alive": "5m"}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    runtimes.refresh().await;
    let mut personas = runtimes.personas();
    personas.push(persona("BRICK", "mistral:7b", KeepAlive::DEFAULT, 4.1));
    runtimes.set_personas(personas);
    assert_eq!(host_of(&runtimes, "BRICK"), Some(b.url()));
    let brick = runtimes.chat("BRICK", ask("Build"), None).await.unwrap();
    assert_eq!(brick.route.host, Some(b.url()));
    collect(brick.stream).await.unwrap();
    assert!(!mentions(&a.actions(), "mistral:7b"), "{:?}", a.actions());
    // Each host's budget is its own: the status lists both.
    let status = runtimes.status();
    let hosts: Vec<&str> = status.ollama.iter().map(|s| s.host.as_str()).collect();
    assert_eq!(hosts, [a.url(), b.url()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_waiting_on_a_host_that_dies_is_answered_by_another_within_two_seconds() {
    let mut script_a = Script::design_table();
    script_a.token_ms = 100;
    script_a.replies.insert(
        "mistral:7b".into(),
        vec![Reply::Text(
            "a long answer that takes its time. ".repeat(20),
        )],
    );
    let a = OllamaStub::start(script_a);
    let b = stub(&[("mistral:7b", 4.1)], 1);
    let (runtimes, _stop) = runtimes_on(
        &[&a, &b],
        Mode::Auto,
        vec![persona("BRICK", "mistral:7b", KeepAlive::DEFAULT, 4.1)],
    );
    // Equal room: the first host listed.
    let first = runtimes.chat("BRICK", ask("First"), None).await.unwrap();
    assert_eq!(first.route.host, Some(a.url()));
    let streaming = tokio::spawn(collect(first.stream));
    // A second request waits for the model, busy on a.
    let waiting = {
        let runtimes = runtimes.clone();
        tokio::spawn(async move {
            let reply = runtimes.chat("BRICK", ask("Second"), None).await?;
            let host = reply.route.host.clone();
            let text = collect(reply.stream).await.map_err(|(_, e)| e)?;
            Ok::<_, Error>((host, text, Instant::now()))
        })
    };
    until("the second request queued on a", || {
        runtimes.status().ollama[0].queues.get("mistral:7b") == Some(&1)
    })
    .await;

    let killed = Instant::now();
    a.stop();
    let (host, text, answered) = waiting.await.unwrap().expect("answered elsewhere");
    assert_eq!(host, Some(b.url()));
    assert_eq!(text, "You said: Second");
    let took = answered - killed;
    assert!(took < Duration::from_secs(2), "failover took {took:?}");
    // The first reply was cut with its host, not re-sent.
    assert!(streaming.await.unwrap().is_err());

    // a is down and what it had loaded is forgotten; BRICK stays on b.
    let status = runtimes.status();
    assert!(status.ollama[0].offline.is_some(), "{:?}", status.ollama[0]);
    assert!(
        status.ollama[0].models.is_empty(),
        "{:?}",
        status.ollama[0].models
    );
    assert_eq!(host_of(&runtimes, "BRICK"), Some(b.url()));
    assert_eq!(
        runtimes.route("BRICK").await.unwrap().runtime,
        Runtime::Ollama
    );
    let again = runtimes.chat("BRICK", ask("Third"), None).await.unwrap();
    assert_eq!(again.route.host, Some(b.url()));
    assert_eq!(collect(again.stream).await.unwrap(), "You said: Third");
}

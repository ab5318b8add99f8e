//! The model scheduler against the FAKE Ollama (`telos_tests::ollama_stub`), through the real
//! HTTP client: DESIGN.md's persona table as the oracle, streaming, cancellation, Ollama going
//! away and coming back, a model that can never fit.

mod chat;
mod hosts;
mod personas;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use telos_core::persona::table::scheduler_defaults;
use telos_core::scheduler::ollama::TokenStream;
use telos_core::scheduler::{Bytes, DEFAULT_BUDGET, Error, Message, Ollama, Scheduler};
use telos_tests::ollama_stub::{OllamaStub, Reply, Script};

/// A scheduler on `stub`, with its poller running until the returned sender drops.
fn scheduler_on(stub: &OllamaStub) -> (Scheduler, tokio::sync::oneshot::Sender<()>) {
    let backend = Arc::new(Ollama::new(&stub.url()).expect("stub URL"));
    let scheduler = Scheduler::new(backend, DEFAULT_BUDGET, scheduler_defaults());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let runner = scheduler.clone();
    tokio::spawn(async move {
        runner
            .run(async {
                let _ = stopped.await;
            })
            .await;
    });
    (scheduler, stop)
}

async fn until(what: &str, mut ok: impl FnMut() -> bool) {
    for _ in 0..400 {
        if ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

fn ask(text: &str) -> Vec<Message> {
    vec![Message::new("user", text)]
}

async fn collect(mut stream: TokenStream) -> Result<String, (String, Error)> {
    let mut text = String::new();
    while let Some(piece) = stream.next().await {
        match piece {
            Ok(p) => text.push_str(&p),
            Err(e) => return Err((text, e)),
        }
    }
    Ok(text)
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The four scenarios of DESIGN.md's table, in order: exactly the loaded set, VRAM and
/// keep-alive actions it gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_design_tables_four_scenarios_in_order() {
    let mut script = Script::design_table();
    script.token_ms = 40; // slow enough to look at VRAM while a reply streams
    let stub = OllamaStub::start(script);
    let (scheduler, _stop) = scheduler_on(&stub);

    // idle: ALFRED pinned.
    until("ALFRED's model", || {
        stub.loaded().0 == names(&["phi3:3.8b"])
    })
    .await;
    assert_eq!(stub.actions(), names(&["load phi3:3.8b -1"]));
    assert_eq!(stub.loaded().1, Bytes::gb(2.2));

    // technical deconstruction: load BRICK, keep_alive 5m.
    let reply = collect(
        scheduler
            .chat("BRICK", ask("take this apart"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.unwrap(), "You said: take this apart");
    assert_eq!(
        stub.loaded(),
        (names(&["mistral:7b", "phi3:3.8b"]), Bytes::gb(6.3))
    );
    assert_eq!(
        stub.actions()[1..],
        names(&["load mistral:7b 5m", "chat mistral:7b 5m"])
    );

    // empathetic synthesis: unload BRICK, load ROBIN 5m.
    collect(
        scheduler
            .chat("ROBIN", ask("how do they feel"))
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        stub.loaded(),
        (names(&["gemma2:9b", "phi3:3.8b"]), Bytes::gb(7.6))
    );
    assert_eq!(
        stub.actions()[3..],
        names(&[
            "unload mistral:7b",
            "load gemma2:9b 5m",
            "chat gemma2:9b 5m"
        ])
    );

    // factual inquiry: unload the dialogue model, load BABS keep_alive 0.
    let mut stream = scheduler
        .chat("BABS", ask("when was it built"))
        .await
        .unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first, "You ");
    assert_eq!(
        stub.loaded(),
        (names(&["phi3:3.8b", "qwen2:7b"]), Bytes::gb(6.6))
    );
    collect(stream).await.unwrap();
    until("BABS's model to go", || {
        stub.loaded().0 == names(&["phi3:3.8b"])
    })
    .await;
    assert_eq!(
        stub.actions()[6..],
        names(&[
            "unload gemma2:9b",
            "load qwen2:7b 0",
            "chat qwen2:7b 0",
            "expire qwen2:7b"
        ])
    );
    until("the scheduler to see it", || {
        scheduler.status().models.len() == 1
    })
    .await;
    let status = scheduler.status();
    assert_eq!(status.used, Bytes::gb(2.2));
    assert_eq!((status.loads, status.unloads), (4, 2));
    assert!(stub.over_budget().is_empty(), "{:?}", stub.over_budget());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_stream_in_order_and_a_cancelled_one_frees_its_model() {
    let mut script = Script::design_table();
    script.token_ms = 20;
    script.replies.insert(
        "mistral:7b".into(),
        vec![
            Reply::Text("one two three four five six seven eight".into()),
            Reply::Text("again".into()),
        ],
    );
    let stub = OllamaStub::start(script);
    let (scheduler, _stop) = scheduler_on(&stub);
    let mut stream = scheduler.chat("BRICK", ask("count")).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(stream.next().await.unwrap().unwrap());
    }
    assert_eq!(got, ["one ", "two ", "three "]);
    assert!(
        scheduler
            .status()
            .models
            .iter()
            .any(|m| m.model == "mistral:7b" && m.busy)
    );
    drop(stream); // cancelled
    until("the model to be free", || {
        scheduler
            .status()
            .models
            .iter()
            .any(|m| m.model == "mistral:7b" && !m.busy)
    })
    .await;
    let next = tokio::time::timeout(
        Duration::from_secs(5),
        collect(scheduler.chat("BRICK", ask("again")).await.unwrap()),
    )
    .await
    .expect("the next request is not held up");
    assert_eq!(next.unwrap(), "again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_cut_mid_stream_keeps_its_text_and_says_why() {
    let mut script = Script::design_table();
    script.replies.insert(
        "mistral:7b".into(),
        vec![
            Reply::Shaped {
                text: "half a thought and then".into(),
                cut_after: Some(2),
                error: None,
            },
            Reply::Shaped {
                text: "partly ".into(),
                cut_after: None,
                error: Some("CUDA error: out of memory".into()),
            },
        ],
    );
    let stub = OllamaStub::start(script);
    let (scheduler, _stop) = scheduler_on(&stub);
    let (partial, e) = collect(scheduler.chat("BRICK", ask("go")).await.unwrap())
        .await
        .unwrap_err();
    assert_eq!(partial, "half a ");
    assert!(matches!(e, Error::Cut { .. }), "{e}");
    let (partial, e) = collect(scheduler.chat("BRICK", ask("go")).await.unwrap())
        .await
        .unwrap_err();
    assert_eq!(partial, "partly ");
    assert!(e.to_string().contains("CUDA error: out of memory"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ollama_killed_and_restarted_mid_session_is_recovered_from() {
    let stub = OllamaStub::start(Script::design_table());
    let addr = stub.addr;
    let (scheduler, _stop) = scheduler_on(&stub);
    collect(scheduler.chat("BRICK", ask("hello")).await.unwrap())
        .await
        .unwrap();
    stub.stop();

    let e = match scheduler.chat("BRICK", ask("are you there")).await {
        Ok(stream) => collect(stream).await.unwrap_err().1,
        Err(e) => e,
    };
    assert!(e.to_string().contains("ollama serve"), "{e}");
    until("the status to say offline", || {
        scheduler.status().offline.is_some()
    })
    .await;

    let stub = OllamaStub::start_on(addr, Script::design_table());
    until("ALFRED's model back", || {
        stub.loaded().0 == names(&["phi3:3.8b"])
    })
    .await;
    assert!(scheduler.status().offline.is_none());
    let reply = collect(scheduler.chat("BRICK", ask("back")).await.unwrap()).await;
    assert_eq!(reply.unwrap(), "You said: back");
    assert!(stub.over_budget().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_too_large_for_the_budget_is_refused_at_once() {
    let mut script = Script::design_table();
    script.models[2].size = Bytes::gb(7.0); // gemma2:9b beside pinned phi3: 9.2 GB > 8 GiB
    let stub = OllamaStub::start(script);
    let (scheduler, _stop) = scheduler_on(&stub);
    until("ALFRED's model", || {
        stub.loaded().0 == names(&["phi3:3.8b"])
    })
    .await;
    let e = tokio::time::timeout(Duration::from_secs(2), scheduler.chat("ROBIN", ask("hi")))
        .await
        .expect("refused at once, not a hang")
        .err()
        .expect("refused");
    let text = e.to_string();
    assert!(
        text.contains("gemma2:9b needs 7.0 GB") && text.contains("budget is 8 GiB"),
        "{text}"
    );
    assert!(!stub.actions().iter().any(|a| a.contains("gemma2")));
    // The others still work.
    collect(scheduler.chat("BRICK", ask("hi")).await.unwrap())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_for_every_persona_all_finish_within_budget() {
    let mut script = Script::design_table();
    script.token_ms = 5;
    let stub = OllamaStub::start(script);
    let (scheduler, _stop) = scheduler_on(&stub);
    until("ALFRED's model", || {
        stub.loaded().0 == names(&["phi3:3.8b"])
    })
    .await;
    let mut tasks = Vec::new();
    // Six rounds: enough interleavings that the races once found here (a stale `/api/ps`
    // answer, an unload confirmed after a new load began) would show.
    for round in 0..6 {
        for persona in ["BRICK", "ROBIN", "BABS", "ALFRED"] {
            let s = scheduler.clone();
            tasks.push(tokio::spawn(async move {
                let text = format!("{persona} {round}");
                collect(s.chat(persona, ask(&text)).await.unwrap()).await
            }));
        }
    }
    let all = tokio::time::timeout(Duration::from_secs(60), futures::future::join_all(tasks))
        .await
        .expect("no deadlock");
    for reply in all {
        assert!(reply.unwrap().unwrap().starts_with("You said: "));
    }
    assert!(
        stub.over_budget().is_empty(),
        "{:?}\nafter {:?}",
        stub.over_budget(),
        stub.actions()
    );
    assert!(!stub.actions().contains(&"unload phi3:3.8b".to_string()));
}

/// A dialogue's next speaker prepared while the judge speaks: the idle model that spoke last
/// goes, the next one loads, and the next turn starts with no load of its own; with a request
/// waiting, or the room taken by a busy model, nothing is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_speakers_model_is_prepared_only_from_idle_room() {
    let mut script = Script::design_table();
    script.token_ms = 40;
    let stub = OllamaStub::start(script);
    let (scheduler, _stop) = scheduler_on(&stub);
    until("ALFRED's model", || {
        stub.loaded().0 == names(&["phi3:3.8b"])
    })
    .await;
    collect(scheduler.chat("ROBIN", ask("a feeling")).await.unwrap())
        .await
        .unwrap();
    assert_eq!(stub.loaded().0, names(&["gemma2:9b", "phi3:3.8b"]));

    // While ALFRED judges, BRICK's model takes ROBIN's idle place.
    let verdict = scheduler.chat("ALFRED", ask("judge")).await.unwrap();
    assert!(scheduler.prepare("BRICK").await.unwrap());
    assert_eq!(stub.loaded().0, names(&["mistral:7b", "phi3:3.8b"]));
    collect(verdict).await.unwrap();
    let before = stub.actions().len();
    collect(scheduler.chat("BRICK", ask("next round")).await.unwrap())
        .await
        .unwrap();
    assert_eq!(stub.actions()[before..], names(&["chat mistral:7b 5m"]));

    // Already loaded: nothing to do. A busy model in the way: nothing either.
    assert!(!scheduler.prepare("BRICK").await.unwrap());
    let busy = scheduler.chat("BRICK", ask("still talking")).await.unwrap();
    assert!(!scheduler.prepare("ROBIN").await.unwrap());
    assert_eq!(stub.loaded().0, names(&["mistral:7b", "phi3:3.8b"]));
    collect(busy).await.unwrap();
    let err = scheduler.prepare("HAL").await.unwrap_err();
    assert!(err.to_string().contains("HAL"), "{err}");
}

//! Chat, structured output, the forge, eviction, cancellation and a broken file, each on the
//! real tiny model.

use std::time::Duration;

use serde_json::{Value, json};
use telos_core::forge::Error as ForgeError;
use telos_core::scheduler::Error as SchedError;
use telos_core::scheduler::live::ModelState;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_streams_real_tokens_and_the_exchange_is_recorded_with_the_model_that_answered() {
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_embedded(dir.path()).await;
    let events = chat_events(&telos, "ROBIN", "Say hello to me in one sentence.").await;
    let ChatEvent::Started {
        model,
        runtime,
        fallback,
        ..
    } = &events[0]
    else {
        panic!("{events:?}")
    };
    assert_eq!(model.as_deref(), Some(DEFAULT_MODEL));
    assert_eq!(runtime.as_deref(), Some("embedded"));
    assert_eq!(fallback.as_deref(), Some("TELOS_LLM=embedded"));
    let tokens: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::Token { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        tokens.len() >= 2,
        "a streamed reply comes in pieces: {events:?}"
    );
    let text: String = tokens.concat();
    // Done (an answer within the token limit) or Failed as cut at the limit: the pieces are
    // the reply either way, and it is kept.
    match events.last().unwrap() {
        ChatEvent::Done { text: done } => assert_eq!(done, &text),
        ChatEvent::Failed { message, partial } => {
            assert!(message.contains("limit"), "{message}");
            assert_eq!(partial, &text);
        }
        other => panic!("the reply ended with {other:?}"),
    }
    let robin = telos.image().resolve("ROBIN").unwrap();
    let scrapbook = robin.slots["scrapbook"].as_array().unwrap();
    let last = scrapbook.last().unwrap();
    assert_eq!(last["user"], "Say hello to me in one sentence.");
    assert_eq!(last["reply"], json!(text));
    assert_eq!(last["model"], json!(DEFAULT_MODEL));
    assert_eq!(last["runtime"], "embedded");
    // The model stays for ROBIN's keep-alive; the RAM bar counts it.
    let status = telos.scheduler_status();
    let embedded = status.embedded.expect("an embedded runtime");
    assert!(
        embedded.used > 0 && embedded.used <= embedded.budget,
        "{embedded:?}"
    );
    telos.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_structured_replies_all_parse_and_match_their_schema() {
    let dir = models_folder(&["tiny"]);
    let mut config = EmbeddedConfig::new(dir.path().to_path_buf());
    config.context = 1024;
    // Room for the longest reply the schema allows: the grammar ends it, not the limit.
    config.max_tokens = 256;
    let scheduler = Scheduler::new(
        Arc::new(Embedded::new(config)),
        Bytes::gib(4),
        vec![persona("ALFRED", "gguf:tiny", KeepAlive::Forever)],
    );
    let schema = json!({
        "type": "object",
        "properties": {
            "verdict": {"type": "string", "enum": ["converged", "continue", "impasse"]},
            "confidence": {"type": "integer", "minimum": 1, "maximum": 5},
            "reason": {"type": "string", "maxLength": 80}
        },
        "required": ["verdict", "confidence", "reason"],
        "additionalProperties": false
    });
    let questions = [
        "Two people agree that the sky is blue. Judge the dialogue.",
        "One says tea, the other says coffee, and neither moves. Judge the dialogue.",
        "They have found a plan both like but want one more round. Judge the dialogue.",
        "Judge a dialogue about whether cats or dogs are better pets.",
    ];
    for i in 0..20 {
        let question = questions[i % questions.len()];
        let stream = scheduler
            .chat_json("ALFRED", ask(question), schema.clone())
            .await
            .unwrap();
        let (text, error) = collect(stream).await;
        assert_eq!(error, None, "request {i}: {text}");
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("request {i} is not JSON ({e}): {text}"));
        matches_verdict_schema(&v).unwrap_or_else(|why| panic!("request {i}: {why}: {v}"));
    }
}

/// The verdict schema, checked by hand: exactly its keys, each of its type and range.
fn matches_verdict_schema(v: &Value) -> Result<(), String> {
    let o = v.as_object().ok_or("not an object")?;
    let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
    keys.sort_unstable();
    if keys != ["confidence", "reason", "verdict"] {
        return Err(format!("keys {keys:?}"));
    }
    if !["converged", "continue", "impasse"].contains(&o["verdict"].as_str().unwrap_or("")) {
        return Err("verdict outside its enum".into());
    }
    if !o["confidence"]
        .as_i64()
        .is_some_and(|c| (1..=5).contains(&c))
    {
        return Err("confidence is not an integer from 1 to 5".into());
    }
    if o["reason"].as_str().is_none_or(|r| r.chars().count() > 80) {
        return Err("reason is not a string of at most 80 characters".into());
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forge_runs_end_to_end_on_the_tiny_model_and_its_record_is_coherent_either_way() {
    let dir = tempfile::tempdir().unwrap();
    let telos = telos_embedded(dir.path()).await;
    telos_tests::new_object(telos.image(), "abacus").await;
    let outcome = telos
        .forge_method("abacus", "double", "return the number given, times two")
        .await;
    match outcome {
        Ok(forged) => {
            // A pass: installed with provenance naming the model that wrote it.
            assert!(forged.installed);
            let abacus = telos.image().resolve("abacus").unwrap();
            let method = &abacus.methods["double"];
            assert_eq!(method.provenance.author, "BRICK");
            assert_eq!(method.provenance.model.as_deref(), Some(DEFAULT_MODEL));
            let record = telos.image().cycle(&forged.cycle.id).await.unwrap();
            assert!(!record.is_suspended());
            let ops: Vec<&str> = record.steps.iter().map(|s| s.op.as_str()).collect();
            // Prompt, reply, code, test runs, the passing verdict, then the install.
            assert_eq!(ops.first(), Some(&"prompt"), "{ops:?}");
            assert_eq!(&ops[ops.len() - 2..], ["verdict", "set-method"], "{ops:?}");
        }
        Err(telos_core::Error::Forge(ForgeError::ForgeFailed { cycle, why })) => {
            // Every attempt failed: nothing installed, the cycle suspended with each attempt's
            // prompt, reply and verdict in order.
            let abacus = telos.image().resolve("abacus").unwrap();
            assert!(!abacus.methods.contains_key("double"), "{why}");
            let record = telos.image().cycle(&cycle).await.unwrap();
            assert!(record.is_suspended(), "{record:?}");
            let ops: Vec<&str> = record.steps.iter().map(|s| s.op.as_str()).collect();
            // Each attempt answered is a prompt, a reply and a verdict; a reply the model
            // could not finish (cut at the token limit) ends the forge with its prompt and a
            // `model` note saying why, costing no attempt.
            let count = |op: &str| ops.iter().filter(|o| **o == op).count();
            let (prompts, replies, verdicts) = (count("prompt"), count("reply"), count("verdict"));
            assert_eq!(ops.first(), Some(&"prompt"), "{ops:?}");
            assert_eq!(replies, verdicts, "{ops:?}");
            match *ops.last().unwrap() {
                "verdict" => assert_eq!((prompts, replies), (2, 2), "both attempts: {ops:?}"),
                "model" => {
                    assert_eq!(prompts, replies + 1, "{ops:?}");
                    let why = record.error.as_deref().unwrap_or_default();
                    assert!(why.contains(DEFAULT_MODEL), "{why}");
                }
                other => panic!("the trace ends with {other}: {ops:?}"),
            }
            let task = record.task.as_ref().expect("the forge's task is kept");
            assert_eq!(task["model"], json!(DEFAULT_MODEL));
        }
        Err(e) => panic!("the forge could not run: {e}"),
    }
    telos.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_models_under_a_budget_for_one_are_loaded_and_evicted_by_the_policy() {
    let dir = models_folder(&["first", "second"]);
    let footprint = Embedded::new({
        let mut c = EmbeddedConfig::new(dir.path().to_path_buf());
        c.context = 1024;
        c
    })
    .info("gguf:first")
    .unwrap()
    .footprint;
    let budget = Bytes(footprint.0 * 3 / 2);
    let scheduler = embedded_scheduler(
        dir.path(),
        budget,
        vec![
            persona("BRICK", "gguf:first", KeepAlive::DEFAULT),
            persona("ROBIN", "gguf:second", KeepAlive::DEFAULT),
        ],
    );
    let mut peak = Bytes(0);
    for (who, model) in [
        ("BRICK", "gguf:first"),
        ("ROBIN", "gguf:second"),
        ("BRICK", "gguf:first"),
    ] {
        let (text, error) = collect(scheduler.chat(who, ask("Hi")).await.unwrap()).await;
        assert!(
            error.is_none() || error.as_deref().is_some_and(|e| e.contains("limit")),
            "{error:?}"
        );
        assert!(!text.is_empty());
        let status = scheduler.status();
        peak = peak.max(status.used);
        let loaded: Vec<&str> = status.models.iter().map(|m| m.model.as_str()).collect();
        assert_eq!(loaded, [model], "only the model in use fits");
    }
    let status = scheduler.status();
    assert_eq!((status.loads, status.unloads), (3, 2), "{status:?}");
    assert!(peak <= budget, "peak {peak} over the budget {budget}");
    // A model bigger than the whole budget is refused at once, naming RAM.
    let tight = embedded_scheduler(
        dir.path(),
        Bytes(footprint.0 / 2),
        vec![persona("BRICK", "gguf:first", KeepAlive::DEFAULT)],
    );
    let e = tight
        .chat("BRICK", ask("Hi"))
        .await
        .err()
        .expect("never fits");
    assert!(matches!(e, SchedError::NeverFits { .. }), "{e}");
    assert!(
        e.to_string().contains("RAM") && e.to_string().contains("TELOS_RAM_BUDGET"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_stream_frees_its_lease_and_the_model_answers_the_next_request() {
    let dir = models_folder(&["tiny"]);
    let scheduler = embedded_scheduler(
        dir.path(),
        Bytes::gib(4),
        vec![persona("BABS", "gguf:tiny", KeepAlive::DEFAULT)],
    );
    let mut stream = scheduler
        .chat("BABS", ask("Count from one to fifty in words."))
        .await
        .unwrap();
    let first = stream.next().await.expect("a first token").unwrap();
    assert!(!first.is_empty());
    assert!(
        scheduler.status().models[0].busy,
        "the lease holds the model"
    );
    drop(stream);
    assert!(
        !scheduler.status().models[0].busy,
        "dropping the stream frees the lease"
    );
    // The worker stops at its next token; the next request is served, not queued for long.
    let next = tokio::time::timeout(
        Duration::from_secs(60),
        collect_ok(&scheduler, "BABS", "Say yes."),
    )
    .await
    .expect("the next request is answered");
    assert!(!next.is_empty());
    assert_eq!(scheduler.status().models[0].state, ModelState::Loaded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_or_untemplated_gguf_is_an_error_naming_its_file_and_the_others_still_answer() {
    let dir = models_folder(&["good"]);
    let broken = dir.path().join("broken.gguf");
    let bytes = std::fs::read(default_gguf()).unwrap();
    std::fs::write(&broken, &bytes[..bytes.len() / 3]).unwrap();
    let junk = dir.path().join("junk.gguf");
    std::fs::write(&junk, b"not a model at all").unwrap();
    // The same model with its chat template's key renamed (same length: the file stays valid).
    let untemplated = dir.path().join("untemplated.gguf");
    let key = b"tokenizer.chat_template";
    let at = bytes
        .windows(key.len())
        .position(|w| w == key)
        .expect("the default model has a chat template");
    let mut renamed = bytes.clone();
    renamed[at + key.len() - 1] = b'X';
    std::fs::write(&untemplated, renamed).unwrap();
    let scheduler = embedded_scheduler(
        dir.path(),
        Bytes::gib(4),
        vec![
            persona("BABS", "gguf:broken", KeepAlive::DEFAULT),
            persona("BRICK", "gguf:junk", KeepAlive::DEFAULT),
            persona("ROBIN", "gguf:good", KeepAlive::DEFAULT),
            persona("ALFRED", "gguf:absent", KeepAlive::DEFAULT),
            persona("GUEST", "gguf:untemplated", KeepAlive::DEFAULT),
        ],
    );
    for (who, file) in [("BABS", &broken), ("BRICK", &junk), ("GUEST", &untemplated)] {
        let e = scheduler.chat(who, ask("Hi")).await.err().expect("refused");
        assert!(matches!(e, SchedError::BadModel { .. }), "{who}: {e}");
        assert!(e.to_string().contains(&file.display().to_string()), "{e}");
    }
    let e = scheduler.chat("GUEST", ask("Hi")).await.err().unwrap();
    assert!(e.to_string().contains("no chat template"), "{e}");
    let e = scheduler
        .chat("ALFRED", ask("Hi"))
        .await
        .err()
        .expect("refused");
    assert!(matches!(e, SchedError::EmbeddedMissing { .. }), "{e}");
    assert!(e.to_string().contains("gguf:absent"), "{e}");
    assert!(
        !collect_ok(&scheduler, "ROBIN", "Say hello.")
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_longer_than_the_context_drops_its_oldest_turns_and_is_answered() {
    let dir = models_folder(&["tiny"]);
    let scheduler = embedded_scheduler(
        dir.path(),
        Bytes::gib(4),
        vec![persona("BABS", "gguf:tiny", KeepAlive::Forever)],
    );
    // Twelve long turns: about twice the context of 1024 tokens.
    let long = "The kite rose over the hill and the wind carried it higher. ".repeat(12);
    let mut messages = vec![Message::new("system", "You are BABS. Answer briefly.")];
    for i in 0..12 {
        messages.push(Message::new("user", format!("Story {i}: {long}")));
        messages.push(Message::new("assistant", format!("Noted story {i}.")));
    }
    messages.push(Message::new("user", "What rose over the hill?"));
    let (text, error) = collect(scheduler.chat("BABS", messages).await.unwrap()).await;
    assert!(
        error.is_none_or(|e| e.contains("reached its limit")),
        "answered, not refused for its length"
    );
    assert!(!text.trim().is_empty());

    // A newest message that alone overfills the context is refused, and says so.
    let huge = vec![
        Message::new("system", "You are BABS."),
        Message::new("user", long.repeat(10)),
    ];
    let (_, error) = collect(scheduler.chat("BABS", huge).await.unwrap()).await;
    let error = error.expect("refused");
    assert!(
        error.contains("without its history") && error.contains("context of 1024"),
        "{error}"
    );
}

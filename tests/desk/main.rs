//! What the desktop (and the CLI) does through the core: the world of morphs, the Inspector's
//! slot edits and clones, chat, drops, and the Debugger's step / resume / discard.

mod lifecycle;

use serde_json::json;
use telos_core::memory::Stage;
use telos_core::persona::Error as PersonaError;
use telos_core::view::{CycleState, StagedKind};
use telos_core::{ChatEvent, Error, IngestEvent, ModelState, MorphKind, Point, StatusChange};
use telos_image::ops;
use telos_tests::{fixture, open_on_disk, snapshot};

#[tokio::test]
async fn the_world_shows_the_four_personas_and_pinned_objects() {
    let dir = tempfile::tempdir().unwrap();
    let telos = open_on_disk(dir.path()).await;
    let world = telos.world();
    let names: Vec<&str> = world.iter().map(|m| m.object.name.as_str()).collect();
    assert_eq!(names, ["ALFRED", "BRICK", "ROBIN", "BABS"]);
    for m in &world {
        assert_eq!(m.kind, MorphKind::Persona);
        assert_eq!(m.position, None, "{} is not placed yet", m.object.name);
        assert_eq!(m.model_state, ModelState::Offline);
        assert!(m.model.is_some());
    }
    telos.set_pinned("tool", true).await.unwrap();
    let world = telos.world();
    let tool = world.iter().find(|m| m.object.name == "tool").unwrap();
    assert_eq!((tool.kind, tool.pinned), (MorphKind::Object, true));
    telos.set_pinned("tool", false).await.unwrap();
    assert_eq!(telos.world().len(), 4);
}

#[tokio::test]
async fn a_moved_morph_keeps_its_position_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let telos = open_on_disk(dir.path()).await;
        telos.move_morph("BRICK", 412.4, 96.6).await.unwrap();
        telos.shutdown().await.unwrap();
    }
    let telos = open_on_disk(dir.path()).await;
    let brick = telos
        .world()
        .into_iter()
        .find(|m| m.object.name == "BRICK")
        .unwrap();
    assert_eq!(brick.position, Some(Point { x: 412.0, y: 97.0 }));
    let err = telos.move_morph("BRICK", f64::NAN, 0.0).await.unwrap_err();
    assert!(matches!(err, Error::InvalidPosition { .. }), "{err}");
}

#[tokio::test]
async fn an_invalid_slot_edit_is_named_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let telos = open_on_disk(dir.path()).await;
    let before = snapshot(telos.image());
    let err = telos
        .set_slot_json("ALFRED", "mood", "{calm", "test")
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid JSON for slot 'mood' of 'ALFRED': '{calm'"),
        "{err}"
    );
    let err = telos
        .set_slot_json("ALFRED", "bad slot", "1", "test")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("invalid selector 'bad slot'"),
        "{err}"
    );
    assert_eq!(snapshot(telos.image()), before);

    let done = telos
        .set_slot_json("ALFRED", "mood", r#"{"calm":true}"#, "test")
        .await
        .unwrap();
    assert_eq!(done.state, CycleState::Committed);
    let view = telos.object("ALFRED").await.unwrap();
    let mood = view.slots.iter().find(|s| s.name == "mood").unwrap();
    assert_eq!(mood.json, r#"{"calm":true}"#);
    assert_eq!(view.cycles[0].id, done.id, "the Inspector lists the cycle");
    assert_eq!(
        view.parents[0].name, "genesis",
        "a persona is a clone of the prototype"
    );
}

#[tokio::test]
async fn a_clone_gets_a_free_name_and_a_place_beside_its_original() {
    let dir = tempfile::tempdir().unwrap();
    let telos = open_on_disk(dir.path()).await;
    telos.move_morph("ROBIN", 100.0, 100.0).await.unwrap();
    let first = telos.clone_object("ROBIN", None).await.unwrap();
    let second = telos.clone_object("ROBIN", None).await.unwrap();
    assert_eq!(first.name, "ROBIN copy");
    assert_eq!(second.name, "ROBIN copy 2");
    let world = telos.world();
    let copy = world
        .iter()
        .find(|m| m.object.name == "ROBIN copy")
        .unwrap();
    assert_eq!(
        copy.kind,
        MorphKind::Persona,
        "a persona's clone is a persona"
    );
    assert_eq!(copy.position, Some(Point { x: 132.0, y: 132.0 }));
    let robin = world.iter().find(|m| m.object.name == "ROBIN").unwrap();
    assert_eq!(robin.position, Some(Point { x: 100.0, y: 100.0 }));
}

#[tokio::test]
async fn chat_streams_an_honest_offline_answer() {
    let dir = tempfile::tempdir().unwrap();
    let telos = open_on_disk(dir.path()).await;
    let mut events = telos.chat("BRICK", "hello").unwrap();
    let mut got = Vec::new();
    while let Some(e) = events.recv().await {
        got.push(e);
    }
    assert!(matches!(&got[0], ChatEvent::Started { model: Some(m), .. } if m == "mistral:7b"));
    // No Ollama listens on its default port here.
    let Some(ChatEvent::Offline { message }) = got.last() else {
        panic!("{got:?}")
    };
    assert!(
        message.starts_with("BRICK is offline: Ollama is not running at http://127.0.0.1:11434")
            && message.contains("ollama serve"),
        "{message}"
    );
    assert!(!got.iter().any(|e| matches!(e, ChatEvent::Token { .. })));
    assert!(matches!(
        telos.chat("genesis", "hi").unwrap_err(),
        Error::Persona(PersonaError::NotAPersona(_))
    ));
    assert!(matches!(
        telos.chat("BRICK", "  ").unwrap_err(),
        Error::Persona(PersonaError::EmptyMessage(_))
    ));
}

#[tokio::test]
async fn a_chat_makes_its_persona_busy_live_until_the_reply_ends() {
    let dir = tempfile::tempdir().unwrap();
    let telos = open_on_disk(dir.path()).await;
    let brick = telos.image().resolve("BRICK").unwrap().id.to_string();
    let mut status = telos.subscribe_status();
    let mut events = telos.chat("BRICK", "hello").unwrap();
    let busy_now = |telos: &telos_core::Telos| {
        telos
            .world()
            .into_iter()
            .find(|m| m.object.id == brick)
            .unwrap()
            .busy
    };
    assert!(busy_now(&telos), "busy while the reply streams");
    while events.recv().await.is_some() {}
    assert_eq!(
        status.recv().await.unwrap(),
        StatusChange::Busy {
            persona: brick.clone(),
            busy: true
        }
    );
    assert_eq!(
        status.recv().await.unwrap(),
        StatusChange::Busy {
            persona: brick.clone(),
            busy: false
        }
    );
    assert!(!busy_now(&telos));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drop_is_remembered_file_by_file_and_a_bad_file_does_not_stop_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let telos = open_on_disk(&dir.path().join("data")).await;
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "Remember the ferry leaves at seven.").unwrap();
    let missing = dir.path().join("missing.txt");
    let mut events = telos
        .ingest("BRICK", &[missing.clone(), file.clone()])
        .unwrap();
    let mut stages = Vec::new();
    let mut summary = None;
    let mut unsummarised = Vec::new();
    while let Some(event) = events.recv().await {
        match event {
            IngestEvent::Started { files, .. } => assert_eq!(files.len(), 2),
            IngestEvent::File(p) => stages.push((p.path, p.stage)),
            IngestEvent::Finished(s) => summary = Some(s),
            IngestEvent::Summary { .. } | IngestEvent::SummaryDone { .. } => {
                panic!("no Ollama listens here: nothing to summarise with")
            }
            IngestEvent::SummaryFailed { path, message } => unsummarised.push((path, message)),
        }
    }
    // The file is remembered all the same; only its summary is missing, and says why.
    assert_eq!(unsummarised.len(), 1, "{unsummarised:?}");
    assert_eq!(unsummarised[0].0, file.display().to_string());
    assert!(
        unsummarised[0].1.contains("ollama serve"),
        "{unsummarised:?}"
    );
    let summary = summary.expect("the ingest finishes");
    assert_eq!(summary.failed.len(), 1);
    assert_eq!(summary.failed[0].path, missing.display().to_string());
    assert!(
        summary.failed[0].reason.contains("missing.txt"),
        "{:?}",
        summary.failed
    );
    assert_eq!(summary.remembered.len(), 1);
    assert_eq!(summary.documents, 1);
    assert!(
        summary.message.starts_with("BRICK remembered 1 new file ("),
        "{}",
        summary.message
    );
    let shown = file.display().to_string();
    let of_file: Vec<&Stage> = stages
        .iter()
        .filter(|(p, _)| *p == shown)
        .map(|(_, s)| s)
        .collect();
    assert!(matches!(of_file[0], Stage::Reading));
    assert!(
        of_file
            .iter()
            .any(|s| matches!(s, Stage::Embedding { done, total } if done == total))
    );
    assert!(matches!(of_file.last(), Some(Stage::Done { .. })));

    let count = |name: &str| {
        telos
            .world()
            .into_iter()
            .find(|m| m.object.name == name)
            .unwrap()
            .memory_count
    };
    assert_eq!((count("BRICK"), count("ROBIN")), (Some(1), Some(0)));
    let hits = telos
        .recall(Some("BRICK"), "when does the ferry leave?", 3)
        .await
        .unwrap();
    assert_eq!(hits[0].source, shown);
    assert!(
        telos
            .recall(Some("ROBIN"), "ferry", 3)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        telos.ingest("BRICK", &[]).unwrap_err(),
        Error::Ingest(telos_core::ingest::Error::NoFiles(_))
    ));
    assert!(matches!(
        telos.ingest("tool", &[file]).unwrap_err(),
        Error::Persona(PersonaError::NotAPersona(_))
    ));
    assert!(matches!(
        telos.recall(Some("BRICK"), "  ", 3).await.unwrap_err(),
        Error::Persona(PersonaError::EmptyQuery)
    ));
}

/// Drops `paths` on `persona` and waits for the ingest to finish.
async fn drop_on(
    telos: &telos_core::Telos,
    persona: &str,
    paths: &[std::path::PathBuf],
) -> telos_core::IngestSummary {
    let mut events = telos.ingest(persona, paths).unwrap();
    let mut summary = None;
    while let Some(event) = events.recv().await {
        if let IngestEvent::Finished(s) = event {
            summary = Some(s);
        }
    }
    summary.expect("the ingest finishes")
}

fn file_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drop_of_bad_files_names_each_remembers_the_good_ones_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let telos = open_on_disk(&dir.path().join("data")).await;
    let before = drop_on(&telos, "BRICK", &[fixture("docs/story.txt")]).await;
    assert_eq!((before.remembered.len(), before.failed.len()), (1, 0));

    // A folder of every kind of bad file, two good ones, and two links back to itself.
    let drop = dir.path().join("drop");
    std::fs::create_dir(&drop).unwrap();
    for bad in [
        "corrupt.pdf",
        "empty.txt",
        "encrypted.pdf",
        "image.txt",
        "latin1.txt",
    ] {
        std::fs::copy(fixture(&format!("bad/{bad}")), drop.join(bad)).unwrap();
    }
    for good in ["notes.md", "sieve.py"] {
        std::fs::copy(fixture(&format!("docs/{good}")), drop.join(good)).unwrap();
    }
    std::os::unix::fs::symlink(drop.join("loop-b.txt"), drop.join("loop-a.txt")).unwrap();
    std::os::unix::fs::symlink(drop.join("loop-a.txt"), drop.join("loop-b.txt")).unwrap();
    std::fs::File::create(drop.join("huge.txt"))
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    std::os::unix::fs::symlink(&drop, drop.join("again")).unwrap();
    std::os::unix::fs::symlink(&drop, drop.join("more")).unwrap();

    let summary = drop_on(&telos, "BRICK", std::slice::from_ref(&drop)).await;
    let mut failed: Vec<(String, String)> = summary
        .failed
        .iter()
        .map(|r| (file_name(&r.path), r.reason.clone()))
        .collect();
    failed.sort();
    let names: Vec<&str> = failed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "again",
            "corrupt.pdf",
            "empty.txt",
            "encrypted.pdf",
            "huge.txt",
            "image.txt",
            "latin1.txt",
            "loop-a.txt",
            "loop-b.txt",
            "more"
        ],
        "{failed:#?}"
    );
    for (name, reason) in &failed {
        assert!(
            reason.contains(name.as_str()) || reason.starts_with("a folder loop"),
            "{name}: {reason}"
        );
    }
    let mut remembered: Vec<String> = summary
        .remembered
        .iter()
        .map(|r| file_name(&r.path))
        .collect();
    remembered.sort();
    assert_eq!(remembered, ["notes.md", "sieve.py"]);
    assert_eq!(summary.documents, 3, "the story is still remembered");
    let hits = telos
        .recall(
            Some("BRICK"),
            "the ferry's engine stopped halfway across",
            3,
        )
        .await
        .unwrap();
    assert!(
        hits.iter().any(|h| h.source.ends_with("story.txt")),
        "{hits:?}"
    );
    let health = telos.doctor().await.unwrap();
    assert_eq!(
        (health.documents, health.orphans, health.missing),
        (3, 0, 0)
    );
}

#[tokio::test]
async fn a_file_written_slowly_into_the_inbox_is_remembered_once_and_removing_it_forgets_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let telos = open_on_disk(&dir.path().join("data")).await;
    let mut events = telos.watch_inbox().unwrap();
    let inbox = telos.inbox_dir().join("BRICK");
    assert!(inbox.is_dir(), "a folder per persona");
    assert!(telos.inbox_dir().join("ROBIN").is_dir());

    // Written in two parts with a pause: read only once complete.
    let file = inbox.join("tides.txt");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&file).unwrap();
        f.write_all(b"The first half is about harbours. ").unwrap();
        f.flush().unwrap();
        tokio::time::sleep(telos_core::INBOX_QUIET / 2).await;
        f.write_all(b"The second half says high tide is at noon.")
            .unwrap();
    }
    // A download in progress is never read.
    std::fs::write(inbox.join("big.iso.part"), "not yet").unwrap();

    let finished = |events: &mut tokio::sync::mpsc::Receiver<telos_core::InboxEvent>| {
        let mut events = std::mem::replace(events, tokio::sync::mpsc::channel(1).1);
        async move {
            let summary = tokio::time::timeout(std::time::Duration::from_secs(60), async {
                loop {
                    let e = events.recv().await.expect("the inbox keeps reporting");
                    assert_eq!(e.persona.name, "BRICK");
                    if let IngestEvent::Finished(s) = e.event {
                        return s;
                    }
                }
            })
            .await
            .expect("the inbox file is remembered within a minute");
            (summary, events)
        }
    };
    let (summary, rest) = finished(&mut events).await;
    events = rest;
    assert_eq!(summary.remembered.len(), 1, "{summary:?}");
    assert_eq!(summary.remembered[0].path, file.display().to_string());
    assert_eq!(summary.documents, 1);
    let hits = telos
        .recall(Some("BRICK"), "when is high tide?", 1)
        .await
        .unwrap();
    assert!(
        hits[0].text.contains("high tide is at noon"),
        "read whole: {hits:?}"
    );

    // Removing it forgets nothing; the same bytes under another name add nothing.
    std::fs::remove_file(&file).unwrap();
    std::fs::write(
        inbox.join("tides-again.txt"),
        "The first half is about harbours. The second half says high tide is at noon.",
    )
    .unwrap();
    let (summary, _) = finished(&mut events).await;
    assert_eq!(summary.remembered.len(), 1);
    assert_eq!(
        summary.remembered[0].outcome,
        telos_core::memory::Outcome::Unchanged
    );
    assert_eq!(telos.memory().doctor().await.unwrap().documents, 1);
}

#[tokio::test]
async fn the_debugger_steps_edits_and_resumes_a_suspended_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let telos = open_on_disk(dir.path()).await;
    let program = r#"[{"op":"new","name":"gadget","parents":["tool"]},
                      {"op":"set","object":"gadget","slot":"size","value":3},
                      {"op":"add-parent","object":"gadget","parent":"nowhere"}]"#;
    let list = ops::parse_ops(program).unwrap();
    let before = snapshot(telos.image());
    ops::apply(telos.image(), "test apply", &list)
        .await
        .unwrap_err();
    assert_eq!(snapshot(telos.image()), before);

    let listed = telos.cycles(5).await.unwrap();
    let listed_before = telos.cycles(100).await.unwrap().len();
    assert_eq!(listed[0].state, CycleState::Suspended);
    let id = listed[0].id.clone();
    let view = telos.cycle(&id).await.unwrap();
    assert_eq!(view.failed_at, Some(2));
    assert_eq!(view.program.as_ref().map(Vec::len), Some(3));
    assert_eq!(view.steps.len(), 2, "the steps staged before the failure");

    let one = telos.cycle_step(&id, 1, None).await.unwrap();
    assert_eq!((one.step, one.of, one.error.as_deref()), (1, 3, None));
    assert_eq!(one.staged[0].object.name, "gadget");
    assert_eq!(one.staged[0].kind, StagedKind::Created);
    let two = telos.cycle_step(&id, 2, None).await.unwrap();
    let size = &two.staged[0].slots[0];
    assert_eq!(
        (size.name.as_str(), size.after.as_deref()),
        ("size", Some("3"))
    );
    let three = telos.cycle_step(&id, 3, None).await.unwrap();
    assert!(three.error.unwrap().contains("unknown object 'nowhere'"));
    assert_eq!(snapshot(telos.image()), before, "stepping writes nothing");
    assert_eq!(
        telos.cycles(100).await.unwrap().len(),
        listed_before,
        "not even a record"
    );
    let edit = r#"[{"op":"new","name":"gadget","parents":["tool"]}]"#;
    let edited = telos.cycle_step(&id, 5, Some(edit)).await.unwrap();
    assert_eq!((edited.step, edited.of, edited.error), (1, 1, None));

    let bad = telos.resume(&id, Some("[{\"op\":")).await.unwrap_err();
    assert!(
        bad.to_string().contains("the edited program of cycle"),
        "{bad}"
    );
    let fixed = r#"[{"op":"new","name":"gadget","parents":["tool"]},
                    {"op":"set","object":"gadget","slot":"size","value":4}]"#;
    let resumed = telos.resume(&id, Some(fixed)).await.unwrap();
    assert_eq!(resumed.state, CycleState::Committed);
    assert_eq!(
        telos
            .image()
            .send("gadget", "size", json!([]))
            .await
            .unwrap(),
        json!(4)
    );
    let old = telos.cycle(&id).await.unwrap();
    assert_eq!(old.summary.state, CycleState::Resumed);
    assert_eq!(old.resumed_as.as_deref(), Some(resumed.id.as_str()));
    let again = telos.resume(&id, None).await.unwrap_err();
    assert!(again.to_string().contains("is not suspended"), "{again}");
}

#[tokio::test]
async fn a_discarded_cycle_is_no_longer_suspended() {
    let dir = tempfile::tempdir().unwrap();
    let telos = open_on_disk(dir.path()).await;
    let list = ops::parse_ops(r#"[{"op":"delete","object":"genesis"}]"#).unwrap();
    ops::apply(telos.image(), "test", &list).await.unwrap_err();
    let id = telos.cycles(1).await.unwrap()[0].id.clone();
    let discarded = telos.discard(&id).await.unwrap();
    assert_eq!(discarded.state, CycleState::Aborted);
    assert!(telos.discard(&id).await.is_err());
    let err = telos.cycle_step("nonexistent", 1, None).await.unwrap_err();
    assert!(
        err.to_string().contains("unknown cycle 'nonexistent'"),
        "{err}"
    );
}

#[tokio::test]
async fn a_resume_that_fails_again_supersedes_the_original_in_one_step() {
    let dir = tempfile::tempdir().unwrap();
    let telos = open_on_disk(dir.path()).await;
    let list =
        ops::parse_ops(r#"[{"op":"add-parent","object":"tool","parent":"nowhere"}]"#).unwrap();
    ops::apply(telos.image(), "test", &list).await.unwrap_err();
    let first = telos.cycles(1).await.unwrap()[0].id.clone();
    let mut cycles = telos.image().subscribe_cycles();

    let still_bad = r#"[{"op":"add-parent","object":"tool","parent":"elsewhere"}]"#;
    let err = telos.resume(&first, Some(still_bad)).await.unwrap_err();
    assert!(
        err.to_string().contains("unknown object 'elsewhere'"),
        "{err}"
    );
    let original = telos.cycle(&first).await.unwrap();
    assert_eq!(original.summary.state, CycleState::Superseded);
    let second = original.resumed_as.unwrap();
    assert_eq!(
        telos.cycle(&second).await.unwrap().summary.state,
        CycleState::Suspended,
        "the failed attempt carries on as the suspended cycle"
    );
    assert!(
        telos.resume(&first, None).await.is_err(),
        "only resumable once"
    );
    // Subscribers heard both records: the new attempt and the original's resolution.
    let heard: Vec<String> = (0..2).map(|_| cycles.try_recv().unwrap().id).collect();
    assert!(
        heard.contains(&first) && heard.contains(&second),
        "{heard:?}"
    );

    let fixed = r#"[{"op":"append","object":"tool","slot":"log","value":"fixed","keep":1}]"#;
    telos.resume(&second, Some(fixed)).await.unwrap();
    telos.set_slot_json("tool", "x", "1", "test").await.unwrap();
    let append = r#"[{"op":"append","object":"tool","slot":"log","value":"again","keep":1}]"#;
    ops::apply(telos.image(), "test", &ops::parse_ops(append).unwrap())
        .await
        .unwrap();
    assert_eq!(
        telos.image().send("tool", "log", json!([])).await.unwrap(),
        json!(["again"]),
        "append keeps the newest entries"
    );
}

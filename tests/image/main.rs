//! The living image as a specification: delegation, clone, send, cycles, persistence.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use serde_json::{Value, json};
use telos_image::{
    BoxFuture, ChangeKind, CycleStatus, DoesNotUnderstand, Error, Found, Image, Invocation,
    Invoker, Method, Object, ObjectId, Provenance,
};
use telos_tests::{awake_in_memory, open_on_disk, slot, snapshot};

mod diskfull;
mod history;
mod pages;
mod server;

/// Makes the object `BABS` (no parents) in a cycle of its own: the history tests' persona.
async fn new_babs(image: &Image) {
    telos_image::ops::apply(
        image,
        "setup",
        &[telos_image::ops::Op::New {
            name: "BABS".into(),
            parents: vec![],
        }],
    )
    .await
    .unwrap();
}

/// Builds `base ← o1 ← … ← o{depth}` and returns every id, base first.
async fn chain(image: &Image, depth: usize) -> Vec<ObjectId> {
    let mut c = image.begin("test chain");
    let mut ids = vec![c.create("base", &[]).unwrap()];
    c.set_slot(&ids[0], "x", json!("from base")).unwrap();
    for i in 1..=depth {
        let id = c.create(&format!("o{i}"), &[ids[i - 1].clone()]).unwrap();
        ids.push(id);
    }
    c.commit().await.unwrap();
    ids
}

/// A backup's cut: the commit lock is held only while it is taken, and the cycle records read
/// after it are those of the cut, however many commits (and on a server, from however many
/// processes) land in between.
#[tokio::test]
async fn a_cut_read_after_later_commits_holds_only_what_was_committed_at_the_cut() {
    let image = awake_in_memory().await;
    let ids = chain(&image, 2).await;
    let at_cut = image.dump().await.unwrap();
    let cut = image.cut().await.unwrap();
    // commits go on while the cut waits to be read
    let later = async {
        for i in 0..3 {
            let mut c = image.begin("after the cut");
            c.set_slot(&ids[1], "x", json!(i)).unwrap();
            c.commit().await.unwrap();
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), later)
        .await
        .expect("commits wait for nothing while a cut is open");
    let dump = cut.read().await.unwrap();
    assert_eq!(dump.cycle, at_cut.cycle);
    assert_eq!(dump.cycles, at_cut.cycles);
    let slot_of = |d: &telos_image::Dump| {
        d.objects
            .iter()
            .find(|o| o.id == ids[1])
            .map(|o| o.slots.get("x").cloned())
    };
    assert_eq!(
        slot_of(&dump),
        Some(None),
        "the cut holds o1 without the later slot"
    );
    let now = image.dump().await.unwrap();
    assert_eq!(now.cycles.len(), at_cut.cycles.len() + 3);
    assert_eq!(slot_of(&now), Some(Some(json!(2))));
}

#[tokio::test]
async fn delegation_finds_a_slot_six_parents_up() {
    let image = awake_in_memory().await;
    let ids = chain(&image, 6).await;
    assert_eq!(
        image.send("o6", "x", json!([])).await.unwrap(),
        json!("from base")
    );
    let found = image.lookup(&ids[6], "x").unwrap().unwrap();
    assert!(matches!(found, telos_image::Found::Slot { holder, .. } if holder == ids[0]));
}

#[tokio::test]
async fn several_parents_are_searched_depth_first_in_priority_order() {
    let image = awake_in_memory().await;
    let mut c = image.begin("test");
    let grand = c.create("grand", &[]).unwrap();
    let a = c.create("a", std::slice::from_ref(&grand)).unwrap();
    let b = c.create("b", &[]).unwrap();
    let child = c.create("child", &[a.clone(), b.clone()]).unwrap();
    c.set_slot(&a, "both", json!("a")).unwrap();
    c.set_slot(&b, "both", json!("b")).unwrap();
    c.set_slot(&b, "only_b", json!("b")).unwrap();
    // Depth-first: a's parent answers before b, the second parent.
    c.set_slot(&grand, "deep", json!("grand")).unwrap();
    c.set_slot(&b, "deep", json!("b")).unwrap();
    c.commit().await.unwrap();

    for (selector, expected) in [("both", "a"), ("only_b", "b"), ("deep", "grand")] {
        assert_eq!(
            image.send("child", selector, json!([])).await.unwrap(),
            json!(expected),
            "{selector}"
        );
    }
    assert_eq!(image.get(&child).unwrap().parents, vec![a, b]);
}

#[tokio::test]
async fn a_delegation_loop_is_refused_and_changes_nothing() {
    let image = awake_in_memory().await;
    let ids = chain(&image, 5).await;
    let before = snapshot(&image);

    let mut c = image.begin("test loop");
    let err = c.add_parent(&ids[0], &ids[5]).unwrap_err();
    assert!(matches!(err, Error::DelegationLoop { .. }), "{err}");
    assert!(err.to_string().contains("base"), "{err}");
    let err = c.add_parent(&ids[2], &ids[2]).unwrap_err();
    assert!(matches!(err, Error::DelegationLoop { .. }), "{err}");
    c.commit().await.unwrap();
    assert_eq!(snapshot(&image), before);
}

#[tokio::test]
async fn a_loop_made_by_two_cycles_together_is_refused_at_commit() {
    let image = awake_in_memory().await;
    let mut c = image.begin("test");
    let a = c.create("a", &[]).unwrap();
    let b = c.create("b", &[]).unwrap();
    c.commit().await.unwrap();

    let mut first = image.begin("a→b");
    first.add_parent(&a, &b).unwrap();
    let mut second = image.begin("b→a");
    second.add_parent(&b, &a).unwrap();
    first.commit().await.unwrap();
    let err = second.commit().await.unwrap_err();
    assert!(matches!(err, Error::DelegationLoop { .. }), "{err}");
    assert!(image.get(&b).unwrap().parents.is_empty());
}

#[tokio::test]
async fn a_clone_is_independent_of_its_original() {
    let image = awake_in_memory().await;
    let mut c = image.begin("test");
    let persona = c.resolve("persona").unwrap();
    let id = c.clone_object(&persona, "JARVIS").unwrap();
    c.set_slot(&id, "role", json!("butler")).unwrap();
    c.commit().await.unwrap();

    let original = image.resolve("persona").unwrap();
    let copy = image.get(&id).unwrap();
    assert_eq!(slot(&original, "role"), json!(""));
    assert_eq!(slot(&copy, "role"), json!("butler"));
    assert_eq!(copy.parents, original.parents);
    assert_eq!(slot(&copy, "kind"), json!("persona"));

    let mut c = image.begin("test");
    c.set_slot(&original.id, "kind", json!("changed")).unwrap();
    c.commit().await.unwrap();
    assert_eq!(slot(&image.get(&id).unwrap(), "kind"), json!("persona"));
}

/// A `doesNotUnderstand` handler that counts its calls: a test fake.
#[derive(Default)]
struct CountingNotUnderstood {
    calls: AtomicUsize,
    last: std::sync::Mutex<Option<(String, String, Value)>>,
}

impl DoesNotUnderstand for CountingNotUnderstood {
    fn not_understood(
        &self,
        _image: Image,
        receiver: Arc<Object>,
        selector: String,
        args: Value,
    ) -> BoxFuture<'_, telos_image::Result<Value>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        *self.last.lock().unwrap() = Some((receiver.name.clone(), selector, args));
        Box::pin(async { Ok(json!("handled")) })
    }
}

#[tokio::test]
async fn does_not_understand_is_called_exactly_when_nothing_answers() {
    let image = awake_in_memory().await;
    chain(&image, 5).await;
    let handler = Arc::new(CountingNotUnderstood::default());
    image.set_not_understood(handler.clone());

    image.send("o5", "x", json!([])).await.unwrap();
    image.send("ALFRED", "model", json!([])).await.unwrap();
    assert_eq!(handler.calls.load(Ordering::SeqCst), 0);

    let answer = image.send("o5", "fly", json!([1, 2])).await.unwrap();
    assert_eq!(answer, json!("handled"));
    assert_eq!(handler.calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        handler.last.lock().unwrap().clone().unwrap(),
        ("o5".into(), "fly".into(), json!([1, 2]))
    );
}

#[tokio::test]
async fn by_default_a_miss_is_a_structured_not_understood_error() {
    let image = awake_in_memory().await;
    let err = image.send("ALFRED", "fly", json!([])).await.unwrap_err();
    assert!(
        matches!(&err, Error::NotUnderstood { receiver, selector } if receiver == "ALFRED" && selector == "fly"),
        "{err}"
    );
    let err = image.send("nobody", "fly", json!([])).await.unwrap_err();
    assert!(matches!(err, Error::UnknownObject(ref n) if n == "nobody"));
    let err = image
        .send("ALFRED", "drop;table", json!([]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidSelector { .. }), "{err}");
}

/// An invoker that echoes its call: a test fake standing in for the sandbox.
struct EchoInvoker;

impl Invoker for EchoInvoker {
    fn invoke(&self, call: Invocation) -> BoxFuture<'_, telos_image::Result<Value>> {
        Box::pin(async move {
            Ok(
                json!({ "receiver": call.receiver.name, "source": call.method.source, "args": call.args }),
            )
        })
    }
}

#[tokio::test]
async fn a_method_runs_through_the_invoker_and_without_one_is_a_clear_error() {
    let image = awake_in_memory().await;
    let mut c = image.begin("test");
    let tool = c.resolve("tool").unwrap();
    let method = Method {
        language: "python".into(),
        source: "print(1)".into(),
        test: String::new(),
        doc: "prints one".into(),
        provenance: Provenance {
            author: "user".into(),
            ..Provenance::default()
        },
    };
    c.set_method(&tool, "one", method).unwrap();
    let hammer = c.create("hammer", &[tool]).unwrap();
    c.commit().await.unwrap();

    let err = image.send("hammer", "one", json!([])).await.unwrap_err();
    assert!(matches!(err, Error::NoInvoker { .. }), "{err}");
    image.set_invoker(Arc::new(EchoInvoker));
    let out = image.send("hammer", "one", json!([7])).await.unwrap();
    assert_eq!(
        out,
        json!({ "receiver": "hammer", "source": "print(1)", "args": [7] })
    );
    assert!(image.get(&hammer).unwrap().methods.is_empty());
}

#[tokio::test]
async fn apply_with_a_failing_operation_in_the_middle_changes_nothing() {
    let image = awake_in_memory().await;
    let before = snapshot(&image);
    let ops = telos_image::ops::parse_ops(
        r#"[{"op":"new","name":"x","parents":["persona"]},
            {"op":"set","object":"ALFRED","slot":"mood","value":"calm"},
            {"op":"set","object":"nosuch","slot":"a","value":1},
            {"op":"new","name":"y"}]"#,
    )
    .unwrap();
    let err = telos_image::ops::apply(&image, "test apply", &ops)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "operation 2 (set): unknown object 'nosuch'"
    );
    assert_eq!(snapshot(&image), before);
    let cycles = image.cycles(10).await.unwrap();
    let last = &cycles[0];
    assert_eq!(last.status, CycleStatus::Aborted);
    assert_eq!(last.steps.len(), 2, "the steps staged before the failure");
}

#[tokio::test]
async fn the_later_of_two_cycles_changing_one_object_fails_with_a_conflict() {
    let image = awake_in_memory().await;
    let alfred = image.resolve("ALFRED").unwrap().id.clone();
    let mut first = image.begin("first");
    let mut second = image.begin("second");
    first.set_slot(&alfred, "mood", json!("first")).unwrap();
    second.set_slot(&alfred, "mood", json!("second")).unwrap();
    first.commit().await.unwrap();
    let err = second.commit().await.unwrap_err();
    assert!(
        matches!(&err, Error::Conflict { object } if *object == alfred),
        "{err}"
    );
    assert_eq!(slot(&image.get(&alfred).unwrap(), "mood"), json!("first"));
    assert_eq!(image.get(&alfred).unwrap().version, 2);
}

#[tokio::test]
async fn a_cycle_reads_its_own_writes_and_an_abort_leaves_nothing() {
    let image = awake_in_memory().await;
    let before = snapshot(&image);
    let mut c = image.begin("test");
    let id = c.create("draft", &[]).unwrap();
    c.set_slot(&id, "v", json!(1)).unwrap();
    assert_eq!(c.resolve("draft").unwrap(), id);
    assert_eq!(slot(&c.get(&id).unwrap(), "v"), json!(1));
    assert!(
        image.resolve("draft").is_err(),
        "not visible outside the cycle"
    );
    let record = c.abort("changed my mind").await.unwrap();
    assert_eq!(record.status, CycleStatus::Aborted);
    assert_eq!(snapshot(&image), before);
}

#[tokio::test]
async fn subscribers_hear_each_committed_change() {
    let image = awake_in_memory().await;
    let mut changes = image.subscribe();
    let mut c = image.begin("test");
    let alfred = c.resolve("ALFRED").unwrap();
    c.set_slot(&alfred, "mood", json!("glad")).unwrap();
    let new = c.create("fresh", &[]).unwrap();
    let record = c.commit().await.unwrap();

    let a = changes.recv().await.unwrap();
    let b = changes.recv().await.unwrap();
    assert_eq!(
        (a.object, a.version, a.kind),
        (alfred, 2, ChangeKind::Updated)
    );
    assert_eq!((b.object, b.version, b.kind), (new, 1, ChangeKind::Created));
    assert_eq!(a.cycle, record.id);
}

#[tokio::test]
async fn bad_writes_are_refused_naming_the_input() {
    let image = awake_in_memory().await;
    let before = snapshot(&image);
    let mut c = image.begin("test");
    let alfred = c.resolve("ALFRED").unwrap();
    let big = json!("x".repeat(telos_image::MAX_SLOT_BYTES));
    let err = c.set_slot(&alfred, "essay", big).unwrap_err();
    assert!(err.to_string().contains("'essay'"), "{err}");
    let err = c.set_slot(&alfred, "bad name", json!(1)).unwrap_err();
    assert!(err.to_string().contains("'bad name'"), "{err}");
    let err = c.create("ALFRED", &[]).unwrap_err();
    assert!(matches!(err, Error::NameTaken(_)), "{err}");
    let genesis = c.resolve("genesis").unwrap();
    let err = c.delete(&genesis).unwrap_err();
    assert!(matches!(err, Error::StillAParent { .. }), "{err}");
    c.commit().await.unwrap();
    assert_eq!(snapshot(&image), before);
}

#[tokio::test]
async fn the_awakening_seeds_the_four_personas_from_the_design_table() {
    let image = awake_in_memory().await;
    let persona = image.resolve("persona").unwrap();
    for (name, model, keep_alive) in [
        ("ALFRED", "phi3:3.8b", json!(-1)),
        ("BRICK", "mistral:7b", json!("5m")),
        ("ROBIN", "gemma2:9b", json!("5m")),
        ("BABS", "qwen2:7b", json!(0)),
    ] {
        let p = image.resolve(name).unwrap();
        assert_eq!(slot(&p, "model"), json!(model), "{name}");
        assert_eq!(slot(&p, "keep_alive"), keep_alive, "{name}");
        assert_eq!(slot(&p, "kind"), json!("persona"), "{name}");
        assert_eq!(p.parents, persona.parents, "{name} is a clone of persona");
    }
    assert!(telos_core::persona::awaken(&image).await.unwrap().is_none());
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (id, before) = {
        let telos = open_on_disk(dir.path()).await;
        let image = telos.image();
        let mut c = image.begin("test");
        let id = c
            .create("keeper", &[image.resolve("persona").unwrap().id.clone()])
            .unwrap();
        c.set_slot(&id, "note", json!({"kept": [1, 2.5, "three"]}))
            .unwrap();
        c.commit().await.unwrap();
        let before = snapshot(image);
        telos.shutdown().await.unwrap();
        (id, before)
    };
    let telos = open_on_disk(dir.path()).await;
    assert!(telos.awakening().is_none(), "awakened only once");
    assert_eq!(snapshot(telos.image()), before);
    assert_eq!(telos.image().get(&id).unwrap().name, "keeper");
    let cycles = telos.image().cycles(10).await.unwrap();
    assert_eq!(cycles.len(), 2, "genesis and the test cycle");
    telos.shutdown().await.unwrap();
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".*".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((".*", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Whatever JSON a slot is given, a restarted image gives back the same text.
    #[test]
    fn slot_values_round_trip_exactly_through_the_store(values in prop::collection::vec(json_value(), 1..6)) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let telos = open_on_disk(dir.path()).await;
            let mut c = telos.image().begin("proptest");
            let id = c.create("box", &[]).unwrap();
            for (i, v) in values.iter().enumerate() {
                c.set_slot(&id, &format!("s{i}"), v.clone()).unwrap();
            }
            c.commit().await.unwrap();
            telos.shutdown().await.unwrap();

            let telos = open_on_disk(dir.path()).await;
            let back = telos.image().get(&id).unwrap();
            for (i, v) in values.iter().enumerate() {
                let got = serde_json::to_string(&slot(&back, &format!("s{i}"))).unwrap();
                prop_assert_eq!(got, serde_json::to_string(v).unwrap());
            }
            telos.shutdown().await.unwrap();
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn a_cached_lookup_follows_every_commit() {
    let image = awake_in_memory().await;
    let ids = chain(&image, 5).await;
    let bottom = ids.last().unwrap().clone();
    let first = image.lookup(&bottom, "x").unwrap();
    assert!(matches!(&first, Some(Found::Slot { holder, .. }) if *holder == ids[0]));
    // Answered from the cache the second time, and the same.
    assert_eq!(image.lookup(&bottom, "x").unwrap(), first);
    assert_eq!(image.lookup(&bottom, "nothing").unwrap(), None);
    // A nearer ancestor now holds the slot: the cache must not answer with the old holder.
    let mut c = image.begin("test");
    c.set_slot(&ids[3], "x", json!("near")).unwrap();
    c.set_slot(&ids[1], "nothing", json!("now something"))
        .unwrap();
    c.commit().await.unwrap();
    assert!(matches!(
        image.lookup(&bottom, "x").unwrap(),
        Some(Found::Slot { holder, value }) if holder == ids[3] && value == json!("near")
    ));
    assert!(image.lookup(&bottom, "nothing").unwrap().is_some());
}

#[tokio::test]
async fn parents_survive_a_restart_whether_or_not_a_commit_changed_them() {
    let dir = tempfile::tempdir().unwrap();
    let (robot, tool, persona) = {
        let telos = open_on_disk(dir.path()).await;
        let image = telos.image();
        let mut c = image.begin("test");
        let persona = c.resolve("persona").unwrap();
        let tool = c.resolve("tool").unwrap();
        let robot = c.create("robot", std::slice::from_ref(&persona)).unwrap();
        c.commit().await.unwrap();
        // A slot edit leaves the edges alone; a new parent rewrites them.
        let mut c = image.begin("test");
        c.set_slot(&robot, "color", json!("red")).unwrap();
        c.commit().await.unwrap();
        let mut c = image.begin("test");
        c.add_parent(&robot, &tool).unwrap();
        c.commit().await.unwrap();
        let mut c = image.begin("test");
        c.set_slot(&robot, "color", json!("blue")).unwrap();
        c.commit().await.unwrap();
        telos.shutdown().await.unwrap();
        (robot, tool, persona)
    };
    let telos = open_on_disk(dir.path()).await;
    let robot = telos.image().get(&robot).unwrap();
    assert_eq!(robot.parents, [persona, tool]);
    assert_eq!(slot(&robot, "color"), json!("blue"));
}

#[tokio::test]
async fn links_are_graph_edges_that_survive_a_restart_and_block_deleting_their_target() {
    let dir = tempfile::tempdir().unwrap();
    let (persona, docs, chunks) = {
        let telos = open_on_disk(dir.path()).await;
        let image = telos.image();
        let mut c = image.begin("remember");
        let persona = c.resolve("BRICK").unwrap();
        let doc = c.create("doc a", &[]).unwrap();
        let chunks: Vec<ObjectId> = (0..3)
            .map(|i| c.create(&format!("chunk a{i}"), &[]).unwrap())
            .collect();
        c.set_links(&doc, "chunks", &chunks).unwrap();
        c.link(&persona, "memory", &doc).unwrap();
        c.commit().await.unwrap();
        // A second document is appended (only the new edge is written) …
        let mut c = image.begin("remember more");
        let doc_b = c.create("doc b", &[]).unwrap();
        c.link(&persona, "memory", &doc_b).unwrap();
        c.link(&persona, "memory", &doc_b).unwrap(); // twice is once
        c.commit().await.unwrap();
        // … and a chunk list is rewritten: the first chunk dropped, the order reversed.
        let mut c = image.begin("rechunk");
        let rest: Vec<ObjectId> = chunks[1..].iter().rev().cloned().collect();
        c.set_links(&doc, "chunks", &rest).unwrap();
        c.delete(&chunks[0]).unwrap();
        c.commit().await.unwrap();
        telos.shutdown().await.unwrap();
        (persona, vec![doc, doc_b], chunks)
    };
    let telos = open_on_disk(dir.path()).await;
    let image = telos.image();
    assert_eq!(image.get(&persona).unwrap().links["memory"], docs);
    let doc = image.get(&docs[0]).unwrap();
    assert_eq!(
        doc.links["chunks"],
        vec![chunks[2].clone(), chunks[1].clone()]
    );
    assert!(image.get(&chunks[0]).is_err());

    // A linked object cannot be deleted on its own; with whatever links to it, it can.
    let mut c = image.begin("forget");
    let err = c.delete(&chunks[1]).unwrap_err();
    assert!(
        err.to_string()
            .contains("'doc a' still links to it (chunks)"),
        "{err}"
    );
    c.delete_all(&[docs[0].clone(), chunks[1].clone(), chunks[2].clone()])
        .unwrap_err(); // BRICK still holds doc a
    c.set_links(&persona, "memory", &docs[1..]).unwrap();
    c.delete_all(&[docs[0].clone(), chunks[1].clone(), chunks[2].clone()])
        .unwrap();
    c.commit().await.unwrap();
    telos.shutdown().await.unwrap();
    let telos = open_on_disk(dir.path()).await;
    let image = telos.image();
    assert_eq!(image.get(&persona).unwrap().links["memory"], docs[1..]);
    assert!(image.get(&chunks[2]).is_err() && image.get(&docs[0]).is_err());
    telos.shutdown().await.unwrap();
}

//! `hf:` pulls against a FAKE Hugging Face hub (`telos_tests::hub_stub`) serving the default
//! model's file: a pull broken off resumes, is pinned and checked, and the model answers; a
//! file whose checksum is not the hub's is never used; a file past the size cap or the free
//! space is refused before a byte comes, and a hub that stops sending is given up on.

use std::sync::atomic::Ordering;

use telos_core::llama::hub;
use telos_tests::hub_stub::{COMMIT, FILE, HubStub};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_pull_resumes_is_pinned_and_checked_and_the_model_then_answers() {
    let fake = HubStub::serve(&default_gguf(), false, true);
    let url = fake.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    let e = hub::pull_from(&url, dir.path(), FILE, |p| seen.push(p))
        .await
        .expect_err("the first pull breaks off");
    assert!(e.to_string().contains("pull again to resume"), "{e}");
    assert!(seen.last().is_some_and(|p| p.done > 0), "progress came");
    let part_size = seen.last().unwrap().done;
    // Not a model yet: the file is not in place and nothing lists it.
    let spec = hub::HubFile::parse(FILE).unwrap();
    assert!(!spec.path_in(dir.path()).exists());
    assert!(hub::fetched(dir.path()).is_empty());

    let mut seen = Vec::new();
    let (path, pin) = hub::pull_from(&url, dir.path(), FILE, |p| seen.push(p))
        .await
        .unwrap();
    assert_eq!(
        fake.ranges.load(Ordering::SeqCst),
        1,
        "the second pull resumed"
    );
    assert_eq!(
        seen.first().unwrap().done,
        part_size,
        "from where the first stopped"
    );
    let total = fake.bytes.len() as u64;
    assert_eq!(
        seen.last().unwrap(),
        &hub::Progress {
            done: total,
            total: Some(total)
        }
    );
    assert_eq!(pin.commit, COMMIT);
    assert_eq!(pin.sha256, fake.sha256);
    assert_eq!(hub::sha256_file(&path).unwrap(), fake.sha256);
    assert_eq!(hub::fetched(dir.path()), vec![spec.clone()]);
    // Pulled once: a second pull of it is instant and the same.
    let (_, again) = hub::pull_from(&url, dir.path(), FILE, |_| panic!("no download"))
        .await
        .unwrap();
    assert_eq!(again, pin);

    // It is a model now, by its hub name.
    let scheduler = embedded_scheduler(
        dir.path(),
        Bytes::gib(4),
        vec![persona(
            "BABS",
            "hf:telos-test/tiny-GGUF/tiny.Q4_1.gguf",
            KeepAlive::DEFAULT,
        )],
    );
    let reply = collect_ok(&scheduler, "BABS", "Say hello.").await;
    assert!(!reply.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_whose_checksum_is_not_the_hubs_is_removed_and_never_used() {
    let url = HubStub::serve(&default_gguf(), true, false).url.clone();
    let dir = tempfile::tempdir().unwrap();
    let e = hub::pull_from(&url, dir.path(), FILE, |_| {})
        .await
        .expect_err("a file that is not what the hub says");
    assert!(
        e.to_string().contains("SHA-256") && e.to_string().contains("removed"),
        "{e}"
    );
    let folder = dir.path().join("hf/telos-test/tiny-GGUF");
    let left: Vec<_> = std::fs::read_dir(&folder)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "nothing kept: {left:?}");
    let dead = embedded_scheduler(
        dir.path(),
        Bytes::gib(4),
        vec![persona("BABS", FILE, KeepAlive::DEFAULT)],
    );
    let e = dead
        .chat("BABS", ask("Hi"))
        .await
        .err()
        .expect("not a model");
    assert!(e.to_string().contains("telos models pull"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_past_the_cap_is_refused_at_once_and_a_hub_that_stops_sending_is_given_up_on() {
    let fake = HubStub::serve(&default_gguf(), false, false);
    let dir = tempfile::tempdir().unwrap();
    let spec = hub::HubFile::parse(FILE).unwrap();
    let small = hub::Limits {
        max_bytes: 1 << 20,
        ..hub::Limits::default()
    };
    let e = hub::pull_limited(&fake.url, dir.path(), FILE, small, |_| {
        panic!("nothing is fetched")
    })
    .await
    .expect_err("too big");
    assert!(
        e.to_string().contains("more than the 1.0 MiB a pull takes"),
        "{e}"
    );
    let parts = std::fs::read_dir(spec.path_in(dir.path()).parent().unwrap())
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(parts, 0, "not a byte was written");

    // A hub that goes quiet: given up on after the read timeout, what came kept.
    fake.stall_next();
    let quick = hub::Limits {
        read_timeout: std::time::Duration::from_secs(2),
        ..hub::Limits::default()
    };
    let started = std::time::Instant::now();
    let e = hub::pull_limited(&fake.url, dir.path(), FILE, quick, |_| {})
        .await
        .expect_err("the hub went quiet");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{e}"
    );
    assert!(e.to_string().contains("pull again to resume"), "{e}");
    let (path, pin) = hub::pull_limited(&fake.url, dir.path(), FILE, quick, |_| {})
        .await
        .unwrap();
    assert_eq!(fake.ranges.load(Ordering::SeqCst), 1, "it resumed");
    assert_eq!(hub::sha256_file(&path).unwrap(), pin.sha256);
}

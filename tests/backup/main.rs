//! Backups against the real parts: a data dir on embedded SurrealKV with memory in LanceDB
//! (MiniLM from the setup's cache), backed up, verified and restored; the CLI killed with
//! SIGKILL in the middle of one.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use telos_core::Telos;
use telos_core::backup::{Kind, Repo};
use telos_tests::{open_on_disk, remember_logbooks, snapshot};

/// What a data dir holds, for comparing a restore with its original: every object, every
/// cycle record up to `cycle`, every chunk row, and what three questions recall.
async fn contents(
    telos: &Telos,
    cycle: &str,
) -> (Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
    // A relation's links are in order; the relations themselves are not (an image opened
    // again lists them as its store returns them), so they are compared sorted.
    let mut objects: Vec<String> = snapshot(telos.image())
        .into_iter()
        .map(|text| {
            let mut o: serde_json::Value = serde_json::from_str(&text).unwrap();
            if let Some(links) = o.get_mut("links").and_then(|l| l.as_object_mut()) {
                let sorted: std::collections::BTreeMap<_, _> =
                    std::mem::take(links).into_iter().collect();
                links.extend(sorted);
            }
            o.to_string()
        })
        .collect();
    objects.sort();
    let mut cycles: Vec<String> = telos
        .image()
        .cycles(100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.id.as_str() <= cycle)
        .map(|c| serde_json::to_string(&c).unwrap())
        .collect();
    cycles.sort();
    let mut rows: Vec<String> = telos
        .memory()
        .store()
        .row_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| format!("{k:?}"))
        .collect();
    rows.sort();
    let mut recalled = Vec::new();
    for q in [
        "the keeper of lighthouse 3",
        "ship 7-2 passed the headland",
        "oil through the night",
    ] {
        for r in telos.recall(None, q, 3).await.unwrap() {
            recalled.push(format!(
                "{q}: {} #{} {:.5}",
                r.source, r.chunk_index, r.score
            ));
        }
    }
    (objects, cycles, rows, recalled)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restore_is_equal_to_what_was_backed_up_full_and_incremental() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, dest) = (tmp.path().join("data"), tmp.path().join("dest"));
    let telos = open_on_disk(&data).await;
    remember_logbooks(&telos, tmp.path(), 0..6).await;
    let full = telos.backup_create(&dest, false, &|_| {}).await.unwrap();
    assert_eq!(full.kind, "full");
    // A change after it: a document more, an object made, one forgotten.
    remember_logbooks(&telos, tmp.path(), 6..8).await;
    telos
        .create_object("ledger", &["genesis".into()])
        .await
        .unwrap();
    let inc = telos.backup_create(&dest, false, &|_| {}).await.unwrap();
    assert_eq!(inc.kind, "incremental");
    assert_eq!(inc.parent.as_deref(), Some(full.id.as_str()));
    assert!(inc.stored_bytes < full.stored_bytes, "{inc:?} vs {full:?}");
    let cycle = inc.cycle.clone().unwrap();
    let original = contents(&telos, &cycle).await;
    assert!(!original.2.is_empty() && !original.3.is_empty());
    telos.shutdown().await.unwrap();

    for (id, name) in [(&inc.id, "restored-inc"), (&full.id, "restored-full")] {
        let into = tmp.path().join(name);
        let done = telos_core::backup_restore(&dest, id, &into).await.unwrap();
        let restored = open_on_disk(&into).await;
        if name == "restored-inc" {
            assert_eq!(
                contents(&restored, &cycle).await,
                original,
                "restore of {id}"
            );
        } else {
            assert_eq!(restored.image().len(), done.objects as usize);
            assert!(
                restored.image().resolve("ledger").is_err(),
                "the full backup predates it"
            );
        }
        restored.shutdown().await.unwrap();
    }
    // A data dir that exists and is not empty is never written over.
    let err = telos_core::backup_restore(&dest, &inc.id, &data)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
    // Both verify.
    let template = telos_core::Config::from_data_dir(tmp.path().join("unused"));
    for id in [&full.id, &inc.id] {
        let v = telos_core::backup_verify(&template, &dest, Some(id), &|_| {})
            .await
            .unwrap();
        assert!(v.ok, "{v:#?}");
        assert!(v.checks.iter().any(|c| c.what == "canary recall" && c.ok));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_names_a_file_with_a_flipped_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, dest) = (tmp.path().join("data"), tmp.path().join("dest"));
    let telos = open_on_disk(&data).await;
    remember_logbooks(&telos, tmp.path(), 0..2).await;
    let made = telos.backup_create(&dest, true, &|_| {}).await.unwrap();
    telos.shutdown().await.unwrap();
    let repo = Repo::open(&dest, false).unwrap();
    let manifest = repo.manifest(&made.id).unwrap();
    assert_eq!(manifest.kind, Kind::Full);
    let victim = manifest
        .files
        .iter()
        .find(|f| f.path.starts_with("memory/chunks.lance/data/"))
        .expect("a chunks data file");
    let blob = dest
        .join("blobs")
        .join(&victim.blob.sha256[..2])
        .join(&victim.blob.sha256);
    let mut bytes = std::fs::read(&blob).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    std::fs::write(&blob, bytes).unwrap();
    let template = telos_core::Config::from_data_dir(tmp.path().join("unused"));
    let v = telos_core::backup_verify(&template, &dest, None, &|_| {})
        .await
        .unwrap();
    assert!(!v.ok);
    assert_eq!(v.bad_files.len(), 1, "{v:#?}");
    assert!(v.bad_files[0].starts_with(&victim.path), "{v:#?}");
    // A restore of it refuses too, naming the file, and leaves nothing behind.
    let into = tmp.path().join("restored");
    let err = telos_core::backup_restore(&dest, &made.id, &into)
        .await
        .unwrap_err();
    assert!(err.to_string().contains(&victim.path), "{err}");
    assert!(!into.exists());
}

/// The canary's verdict on backup `id` of `dest`, after `edit` changed its manifest's canary.
async fn canary_after(
    dest: &Path,
    id: &str,
    template: &telos_core::Config,
    edit: impl FnOnce(&mut serde_json::Value),
) -> bool {
    let path = dest.join("backups").join(format!("{id}.json"));
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut manifest["canary"]);
    std::fs::write(&path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let v = telos_core::backup_verify(template, dest, Some(id), &|_| {})
        .await
        .unwrap();
    let canary = v.checks.iter().find(|c| c.what == "canary recall");
    canary.expect("a canary check").ok
}

#[tokio::test(flavor = "multi_thread")]
async fn the_canary_recalls_by_the_chunks_stored_vector_and_an_older_backup_by_its_words() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, dest) = (tmp.path().join("data"), tmp.path().join("dest"));
    let telos = open_on_disk(&data).await;
    remember_logbooks(&telos, tmp.path(), 0..2).await;
    let made = telos.backup_create(&dest, true, &|_| {}).await.unwrap();
    let canary = Repo::open(&dest, false)
        .unwrap()
        .manifest(&made.id)
        .unwrap()
        .canary
        .expect("a canary");
    // What an older Telos recorded: the chunk its opening words recall (not always itself).
    let by_words = telos.memory().recall(None, &canary.query, 1).await.unwrap();
    let by_words = by_words.first().expect("a chunk recalled").clone();
    telos.shutdown().await.unwrap();
    let vector = canary.vector.clone().expect("the chunk's vector");
    assert_eq!(vector.len(), 384, "MiniLM's dimension");
    let template = telos_core::Config::from_data_dir(tmp.path().join("unused"));
    assert!(canary_after(&dest, &made.id, &template, |_| {}).await);
    // The vector is what is searched for: turned around, it finds another chunk.
    let opposite: Vec<f32> = vector.iter().map(|x| -x).collect();
    assert!(
        !canary_after(&dest, &made.id, &template, |c| {
            c["vector"] = serde_json::json!(opposite)
        })
        .await
    );
    // A backup of an older Telos has none: its words are embedded and recalled.
    assert!(
        canary_after(&dest, &made.id, &template, |c| {
            c.as_object_mut().unwrap().remove("vector");
            c["source"] = serde_json::json!(by_words.source);
            c["chunk_index"] = serde_json::json!(by_words.chunk_index);
        })
        .await
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_incremental_after_a_one_percent_change_is_at_most_five_percent_of_a_full() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, dest) = (tmp.path().join("data"), tmp.path().join("dest"));
    let telos = open_on_disk(&data).await;
    remember_logbooks(&telos, tmp.path(), 0..100).await;
    telos.memory().tidy().await.unwrap();
    let full = telos.backup_create(&dest, true, &|_| {}).await.unwrap();
    remember_logbooks(&telos, tmp.path(), 100..101).await;
    let inc = telos.backup_create(&dest, false, &|_| {}).await.unwrap();
    telos.shutdown().await.unwrap();
    let ratio = inc.stored_bytes as f64 / full.stored_bytes as f64;
    println!(
        "full {} bytes, incremental after 1 document in 101: {} bytes ({:.2}%)",
        full.stored_bytes,
        inc.stored_bytes,
        100.0 * ratio
    );
    assert!(ratio <= 0.05, "{inc:?} vs {full:?}");
}

/// The CLI binary `cargo test --workspace` built beside this test's.
fn telos_exe() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(|d| d.parent()).unwrap().join("telos")
}

fn telos(dir: &Path) -> Command {
    let mut c = Command::new(telos_exe());
    c.arg("--data-dir")
        .arg(dir)
        .env("TELOS_LLM", "ollama")
        .env_remove("TELOS_DATA_DIR")
        .env_remove("TELOS_ENDPOINT");
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_killed_midway_is_ignored_and_earlier_ones_still_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, dest) = (tmp.path().join("data"), tmp.path().join("dest"));
    {
        let telos = open_on_disk(&data).await;
        remember_logbooks(&telos, tmp.path(), 0..3).await;
        telos.shutdown().await.unwrap();
    }
    let ok = telos(&data)
        .args(["backup", "create", "--json"])
        .arg(&dest)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // A large file makes the copy long enough for the kill to land inside it.
    let notes = data.join("notes");
    std::fs::create_dir_all(&notes).unwrap();
    let big: Vec<u8> = (0..(384u32 << 20) / 4)
        .flat_map(|i| i.wrapping_mul(2654435761).to_le_bytes())
        .collect();
    std::fs::write(notes.join("big.bin"), big).unwrap();
    let mut child = telos(&data)
        .args(["backup", "create"])
        .arg(&dest)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    for line in stderr.lines() {
        if line.unwrap().contains("copying files") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let ls = telos(&data)
        .args(["backup", "ls", "--json"])
        .arg(&dest)
        .output()
        .unwrap();
    assert!(
        ls.status.success(),
        "{}",
        String::from_utf8_lossy(&ls.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&ls.stdout).unwrap();
    assert_eq!(list["backups"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["partial"].as_array().unwrap().len(), 1, "{list}");
    let verify = telos(&data)
        .args(["backup", "verify", "--json"])
        .arg(&dest)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    // The next backup builds on the complete one, not the partial.
    let again = telos(&data)
        .args(["backup", "create", "--json"])
        .arg(&dest)
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let made: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(made["parent"], list["backups"][0]["id"], "{made}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_backup_manager_backs_up_on_its_schedule_records_failures_and_prunes() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, dest) = (tmp.path().join("data"), tmp.path().join("dest"));
    let telos = open_on_disk(&data).await;
    assert!(telos.backup_status().dest.is_none());
    telos.run_backups();
    let schedule = telos_core::backup::Schedule {
        dest: dest.to_string_lossy().into_owned(),
        every_hours: 1.0,
        full_every_days: 7.0,
        keep: 2,
    };
    telos.backup_schedule(schedule.clone()).await.unwrap();
    // The first is due at once, and full.
    let mut status = telos.backup_status();
    for _ in 0..300 {
        if status.last.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        status = telos.backup_status();
    }
    let last = status
        .last
        .clone()
        .expect("the manager made a backup within 30 s");
    assert_eq!(last.kind, "full");
    assert_eq!(status.last_full_at, Some(last.created));
    assert_eq!(status.next_kind.as_deref(), Some("incremental"));
    assert_eq!(status.next_at, Some(last.created + 3_600_000));
    assert!(status.error.is_none());
    // A backup made by hand into the scheduled destination counts as the last one.
    let by_hand = telos.backup_create(&dest, false, &|_| {}).await.unwrap();
    assert_eq!(telos.backup_status().last.unwrap().id, by_hand.id);
    // Retention keeps the newest two, and what they need still verifies.
    let third = telos.backup_create(&dest, false, &|_| {}).await.unwrap();
    let repo = Repo::open(&dest, false).unwrap();
    let pruned = telos_core::backup::prune(&repo, 2).unwrap();
    assert_eq!(pruned.backups, vec![last.id.clone()]);
    let listing = repo.list().unwrap();
    let kept: Vec<&str> = listing.backups.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(kept, [by_hand.id.as_str(), third.id.as_str()]);
    let template = telos_core::Config::from_data_dir(tmp.path().join("unused"));
    let v = telos_core::backup_verify(&template, &dest, Some(&by_hand.id), &|_| {})
        .await
        .unwrap();
    assert!(v.ok, "{v:#?}");
    // A destination that cannot be written: the failure is recorded, and shown until a
    // backup succeeds.
    let blocked = tmp.path().join("blocked");
    std::fs::write(&blocked, "a file, not a directory").unwrap();
    telos
        .backup_schedule(telos_core::backup::Schedule {
            dest: blocked.to_string_lossy().into_owned(),
            ..schedule
        })
        .await
        .unwrap();
    let mut status = telos.backup_status();
    for _ in 0..300 {
        if status.error.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        status = telos.backup_status();
    }
    let error = status.error.clone().expect("the failure is recorded");
    assert!(error.contains("blocked"), "{error}");
    assert!(
        status.next_at.unwrap() >= status.error_at.unwrap() + 600_000,
        "{status:?}"
    );
    telos.shutdown().await.unwrap();
}

//! Objects created in bulk are written in pages (an embedded store): the same objects to
//! everything above the store, through restarts, changes, deletes, conflicts and a restore.

use telos_image::{Endpoint, StoreOptions};
use telos_tests::surreal_server::images_on_server;

use super::*;

/// Objects a bulk cycle makes: more than a page and enough to be paged.
const BULK: usize = 300;

/// Every object of `image`, sorted, as JSON (ids, versions and times included).
fn sorted(image: &Image) -> Vec<String> {
    let mut all = snapshot(image);
    all.sort();
    all
}

/// How many objects `image` keeps in pages; none on a server (where names are kept unique
/// by the store's index, one record each).
fn paged(image: &Image, embedded: usize) -> usize {
    let expected = if images_on_server() { 0 } else { embedded };
    assert_eq!(image.paged_count(), expected, "objects in pages");
    expected
}

/// `BULK` objects in one cycle: slots, a parent on every other one, a chain of `next` links,
/// and objects with rows that delegate and link to paged ones.
async fn bulk(image: &Image) -> Vec<ObjectId> {
    let persona = image.resolve("persona").unwrap().id.clone();
    let mut c = image.begin("bulk");
    let ids: Vec<ObjectId> = (0..BULK)
        .map(|i| {
            let parents = if i % 2 == 0 {
                vec![persona.clone()]
            } else {
                vec![]
            };
            let id = c.create(&format!("bulk-{i}"), &parents).unwrap();
            c.set_slot(&id, "i", json!(i)).unwrap();
            c.set_slot(&id, "big", json!(u64::MAX - i as u64)).unwrap();
            id
        })
        .collect();
    for pair in ids.windows(2) {
        c.link(&pair[0], "next", &pair[1]).unwrap();
    }
    c.commit().await.unwrap();
    let mut c = image.begin("rows beside the pages");
    let child = c.create("child of bulk-7", &[ids[7].clone()]).unwrap();
    c.link(&child, "likes", &ids[5]).unwrap();
    c.commit().await.unwrap();
    ids
}

#[tokio::test]
async fn a_bulk_create_is_paged_and_survives_restarts_changes_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let (ids, before) = {
        let telos = open_on_disk(dir.path()).await;
        let image = telos.image();
        let ids = bulk(image).await;
        paged(image, BULK);
        let before = sorted(image);
        telos.shutdown().await.unwrap();
        (ids, before)
    };
    let telos = open_on_disk(dir.path()).await;
    let image = telos.image();
    assert_eq!(sorted(image), before, "read back from the pages as written");
    let child = image.resolve("child of bulk-7").unwrap().id.clone();
    // Delegation through a paged parent, and a paged object's own parent.
    assert_eq!(image.get(&child).unwrap().parents, [ids[7].clone()]);
    assert_eq!(
        image.send("bulk-4", "kind", json!([])).await.unwrap(),
        json!("persona")
    );
    assert_eq!(image.get(&ids[0]).unwrap().links["next"], [ids[1].clone()]);
    paged(image, BULK);

    // Each kind of change takes an object out of its page: a slot, a parent, links, a delete.
    let persona = image.resolve("persona").unwrap().id.clone();
    let mut c = image.begin("change some");
    c.set_slot(&ids[3], "i", json!("three")).unwrap();
    c.add_parent(&ids[9], &persona).unwrap();
    c.set_links(&ids[10], "next", &[ids[12].clone(), ids[11].clone()])
        .unwrap();
    c.set_links(&ids[299 - 1], "next", &[]).unwrap();
    c.delete(&ids[299]).unwrap();
    c.commit().await.unwrap();
    paged(image, BULK - 5);
    // One changed again, now from its row, and one more out of its page.
    let mut c = image.begin("change again");
    c.set_slot(&ids[3], "i", json!(3.5)).unwrap();
    c.set_slot(&ids[20], "i", json!("twenty")).unwrap();
    c.commit().await.unwrap();
    paged(image, BULK - 6);
    // Out of its page and then deleted: it stays deleted (its page still holds it).
    let mut c = image.begin("delete one changed before");
    c.set_links(&ids[19], "next", &[]).unwrap();
    c.delete(&ids[20]).unwrap();
    c.commit().await.unwrap();
    let left = paged(image, BULK - 7);
    let after = sorted(image);
    assert_eq!(image.get(&ids[3]).unwrap().version, 3);
    telos.shutdown().await.unwrap();

    let telos = open_on_disk(dir.path()).await;
    let image = telos.image();
    assert_eq!(
        sorted(image),
        after,
        "rows win over pages, the deleted stays gone"
    );
    assert!(image.get(&ids[299]).is_err() && image.get(&ids[20]).is_err());
    assert_eq!(
        image.get(&ids[10]).unwrap().links["next"],
        [ids[12].clone(), ids[11].clone()]
    );
    assert_eq!(image.get(&ids[9]).unwrap().parents, [persona]);
    paged(image, left);
    telos.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_paged_object_changed_or_deleted_by_two_cycles_conflicts_in_the_later() {
    let image = awake_in_memory().await;
    let ids = bulk(&image).await;
    paged(&image, BULK);
    // (In memory or on the server: the same guards.)

    // Both change one paged object: the first takes it out of its page, the second conflicts.
    let mut first = image.begin("first");
    let mut second = image.begin("second");
    first.set_slot(&ids[1], "mood", json!("first")).unwrap();
    second.set_slot(&ids[1], "mood", json!("second")).unwrap();
    first.commit().await.unwrap();
    let err = second.commit().await.unwrap_err();
    assert!(
        matches!(&err, Error::Conflict { object } if *object == ids[1]),
        "{err}"
    );
    assert_eq!(slot(&image.get(&ids[1]).unwrap(), "mood"), json!("first"));
    assert_eq!(image.get(&ids[1]).unwrap().version, 2);

    // One deletes a paged object, the other changes it: the change conflicts.
    let mut c = image.begin("unlink");
    c.set_links(&ids[299 - 1], "next", &[]).unwrap();
    c.commit().await.unwrap();
    let mut first = image.begin("first");
    let mut second = image.begin("second");
    first.delete(&ids[299]).unwrap();
    second.set_slot(&ids[299], "mood", json!("late")).unwrap();
    first.commit().await.unwrap();
    let err = second.commit().await.unwrap_err();
    assert!(
        matches!(&err, Error::Conflict { object } if *object == ids[299]),
        "{err}"
    );
    assert!(image.get(&ids[299]).is_err());
    paged(&image, BULK - 3);
}

#[tokio::test]
async fn a_restore_of_many_objects_is_paged_and_equal() {
    let dir = tempfile::tempdir().unwrap();
    let telos = open_on_disk(&dir.path().join("from")).await;
    let image = telos.image();
    bulk(image).await;
    let dump = image.dump().await.unwrap();
    let before = sorted(image);
    let count = before.len();
    telos.shutdown().await.unwrap();

    let restored = Image::restore(
        &Endpoint::SurrealKv {
            path: dir.path().join("to"),
        },
        &StoreOptions::default(),
        &dump,
    )
    .await
    .unwrap();
    assert_eq!(sorted(&restored), before);
    assert_eq!(
        restored.paged_count(),
        count,
        "a restore writes every object in pages"
    );
    // A restored, paged object changes like any other.
    let mut c = restored.begin("after the restore");
    let seven = restored.resolve("bulk-7").unwrap().id.clone();
    c.set_slot(&seven, "i", json!("seven")).unwrap();
    c.commit().await.unwrap();
    assert_eq!(restored.paged_count(), count - 1);
    restored.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_page_whose_objects_all_changed_or_went_is_dropped_at_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let embedded = !images_on_server();
    let telos = open_on_disk(dir.path()).await;
    let image = telos.image();
    let mut c = image.begin("one page");
    let ids: Vec<ObjectId> = (0..100)
        .map(|i| c.create(&format!("page-{i}"), &[]).unwrap())
        .collect();
    c.commit().await.unwrap();
    let mut c = image.begin("two pages");
    let kept: Vec<ObjectId> = (0..257)
        .map(|i| c.create(&format!("kept-{i}"), &[]).unwrap())
        .collect();
    c.commit().await.unwrap();
    assert_eq!(
        image.page_records().await.unwrap(),
        3 * usize::from(embedded)
    );
    // The first page's objects: half deleted, half changed; one of the second's changed.
    let mut c = image.begin("empty the first page");
    c.delete_all(&ids[..50]).unwrap();
    for id in &ids[50..] {
        c.set_slot(id, "changed", json!(true)).unwrap();
    }
    c.set_slot(&kept[0], "changed", json!(true)).unwrap();
    c.commit().await.unwrap();
    let before = sorted(image);
    telos.shutdown().await.unwrap();

    let telos = open_on_disk(dir.path()).await;
    let image = telos.image();
    assert_eq!(sorted(image), before);
    assert_eq!(
        image.page_records().await.unwrap(),
        2 * usize::from(embedded)
    );
    paged(image, 256);
    telos.shutdown().await.unwrap();
    // Dropped for good: the next open finds the same.
    let telos = open_on_disk(dir.path()).await;
    assert_eq!(sorted(telos.image()), before);
    telos.shutdown().await.unwrap();
}

//! The storage suite: the same checks against SQLite (always) and PostgreSQL
//! (when ALMANAC_TEST_POSTGRES_URL names a server; skipped with a message
//! otherwise). Each PostgreSQL run gets a database of its own.

#![allow(clippy::too_many_lines)]

use almanac_store::{
    CalendarIndex, NewCollection, NewItem, SchemaState, Store, StoreError, WriteCondition,
};

async fn sqlite_store(dir: &tempfile::TempDir) -> Store {
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    Store::open(&url).await.expect("open sqlite")
}

/// A fresh PostgreSQL database, or None (with a printed reason) when no
/// server is configured.
async fn postgres_store(name: &str) -> Option<Store> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let Ok(base) = std::env::var("ALMANAC_TEST_POSTGRES_URL") else {
        eprintln!("skipping the PostgreSQL run of {name}: ALMANAC_TEST_POSTGRES_URL is not set");
        return None;
    };
    let admin = Store::open(&base).await.expect("connect to PostgreSQL");
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let db = format!("almanac_suite_{name}_{}_{n}", std::process::id());
    admin
        .execute_raw(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await
        .unwrap();
    admin
        .execute_raw(&format!("CREATE DATABASE {db}"))
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').expect("URL with a database name");
    Some(
        Store::open(&format!("{prefix}/{db}"))
            .await
            .expect("open test database"),
    )
}

fn event(uid: &str, start: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
         DTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\nDURATION:PT1H\r\nSUMMARY:{uid}\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn index(uid: &str, start: i64) -> CalendarIndex {
    CalendarIndex {
        uid: uid.to_owned(),
        component: "VEVENT".to_owned(),
        start,
        end: start + 3600,
        search_text: format!("Meeting {uid}\nRoom 4"),
        alarm_at: None,
    }
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let dir = tempfile::tempdir().unwrap();
                super::$name(super::sqlite_store(&dir).await).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(store) = super::postgres_store(stringify!($name)).await {
                    super::$name(store).await;
                }
            }
        }
    )*};
}

on_both_backends!(
    migrations,
    users,
    items_and_sync,
    deleted_names_are_held,
    conditions_and_conflicts,
    collection_trees,
    dead_properties,
    upgrade_from_version_1_keeps_every_row,
    maintenance_mode,
    backup_while_writing_restores_consistently,
    check_finds_broken_invariants,
    status_history,
    external_series,
    upgrade_from_version_2_keeps_every_row,
    failed_migration_changes_nothing,
    accounts_sessions_and_mail_links,
    support_queue,
    share_links,
    deletions_keep_a_bounded_number_of_tombstones,
    job_leases_give_one_holder_at_a_time,
    credential_changes_are_recorded_with_the_change,
    search_finds_words_in_ones_own_calendars_only,
);

async fn search_finds_words_in_ones_own_calendars_only(store: Store) {
    store.migrate().await.unwrap();
    let ann = store
        .create_user("ann", "a@example.org", "h", false)
        .await
        .unwrap();
    let ben = store
        .create_user("ben", "b@example.org", "h", false)
        .await
        .unwrap();
    let work = store
        .create_collection(ann.id, &NewCollection::calendar("work", None))
        .await
        .unwrap();
    let theirs = store
        .create_collection(ben.id, &NewCollection::calendar("home", None))
        .await
        .unwrap();
    let put = |collection: i64, name: &str, uid: &str, words: &str| {
        let store = store.clone();
        let (name, uid, words) = (name.to_owned(), uid.to_owned(), words.to_owned());
        async move {
            let data = event(&uid, "20260101T100000Z");
            let mut idx = index(&uid, 1_767_261_600);
            idx.search_text = words;
            let item = NewItem {
                content_type: "text/calendar",
                data: data.as_bytes(),
                calendar: Some(idx),
                origin: almanac_store::Origin::Sync,
            };
            store
                .put_item(collection, &name, &item, &WriteCondition::Always, 100)
                .await
                .unwrap();
        }
    };
    put(work.id, "a.ics", "a", "Lunch with Ana\nCafé Müller").await;
    put(work.id, "b.ics", "b", "Dentist").await;
    put(theirs.id, "c.ics", "c", "Lunch with Ben").await;
    let names = |found: Vec<(i64, almanac_store::Item)>| {
        found
            .into_iter()
            .map(|(c, i)| (c, i.meta.name))
            .collect::<Vec<_>>()
    };
    let words = almanac_store::query_words;
    let found = store
        .search_items(&[work.id], &words("lunch"), 50)
        .await
        .unwrap();
    assert_eq!(
        names(found),
        [(work.id, "a.ics".to_owned())],
        "Ben's lunch is not Ann's"
    );
    let found = store
        .search_items(&[work.id], &words("LUN ana"), 50)
        .await
        .unwrap();
    assert_eq!(names(found).len(), 1, "prefixes, any case, every word");
    let found = store
        .search_items(&[work.id], &words("lunch ben"), 50)
        .await
        .unwrap();
    assert!(found.is_empty(), "every word must match");
    let found = store
        .search_items(&[work.id], &words("\" OR * NEAR("), 50)
        .await
        .unwrap();
    assert!(found.is_empty(), "syntax is not passed through");
    // A new version replaces the words; a deleted object is not found.
    put(work.id, "a.ics", "a", "Breakfast with Ana").await;
    assert!(store
        .search_items(&[work.id], &words("lunch"), 50)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .search_items(&[work.id], &words("breakfast"), 50)
            .await
            .unwrap()
            .len(),
        1
    );
    store
        .delete_item(
            work.id,
            "a.ics",
            &WriteCondition::Always,
            almanac_store::Origin::Sync,
        )
        .await
        .unwrap();
    assert!(store
        .search_items(&[work.id], &words("breakfast"), 50)
        .await
        .unwrap()
        .is_empty());
    // Objects from before the index: found once their words are filled in.
    assert!(store
        .items_without_search_text(10)
        .await
        .unwrap()
        .is_empty());
    put(work.id, "old.ics", "old", "").await;
    sqlx_null_search_text(&store, work.id).await;
    let missing = store.items_without_search_text(10).await.unwrap();
    assert_eq!(missing.len(), 1);
    store
        .set_derived(&[(missing[0].0, "Old planning".to_owned(), None)])
        .await
        .unwrap();
    assert_eq!(
        store
            .search_items(&[work.id], &words("planning"), 50)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(store
        .items_without_search_text(10)
        .await
        .unwrap()
        .is_empty());
}

/// Makes `old.ics` look written before search existed.
async fn sqlx_null_search_text(store: &Store, collection: i64) {
    store
        .execute_raw(&format!(
            "UPDATE items SET search_text = NULL WHERE collection_id = {collection} AND name = 'old.ics'"
        ))
        .await
        .unwrap();
}

async fn job_leases_give_one_holder_at_a_time(store: Store) {
    store.migrate().await.unwrap();
    assert!(store.take_turn("probe", "a", 60).await.unwrap());
    assert!(
        !store.take_turn("probe", "b", 60).await.unwrap(),
        "a holds it"
    );
    assert!(
        store.take_turn("probe", "a", 60).await.unwrap(),
        "a renews it"
    );
    assert!(
        store.take_turn("other", "b", 60).await.unwrap(),
        "leases are per job"
    );
    // An expired lease goes to whoever asks next.
    assert!(store.take_turn("probe", "a", -1).await.unwrap());
    assert!(store.take_turn("probe", "b", 60).await.unwrap());
    assert!(!store.take_turn("probe", "a", 60).await.unwrap());
    // Attempts in a window, shared by whoever counts them.
    assert_eq!(
        store
            .count_attempt("signup|192.0.2.1", 3600)
            .await
            .unwrap()
            .0,
        1
    );
    assert_eq!(
        store
            .count_attempt("signup|192.0.2.1", 3600)
            .await
            .unwrap()
            .0,
        2
    );
    assert_eq!(
        store
            .count_attempt("signup|192.0.2.2", 3600)
            .await
            .unwrap()
            .0,
        1
    );
    assert_eq!(
        store.count_attempt("signup|192.0.2.1", 0).await.unwrap().0,
        1,
        "a window that ended starts again"
    );
}

async fn credential_changes_are_recorded_with_the_change(store: Store) {
    store.migrate().await.unwrap();
    let start = store.latest_credential_change().await.unwrap();
    let ann = store
        .create_user("ann", "ann@example.org", "x", false)
        .await
        .unwrap();
    let ben = store
        .create_user("ben", "ben@example.org", "x", false)
        .await
        .unwrap();
    store.set_password("ann", "y").await.unwrap();
    store.set_locked("ben", true).await.unwrap();
    store.set_email(ann.id, "ann@example.net").await.unwrap();
    store.delete_user("ben").await.unwrap();
    let ids: Vec<i64> = store
        .credential_changes_since(start)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert_eq!(ids, [ann.id, ben.id, ann.id, ben.id]);
    assert!(store.set_password("nobody", "z").await.is_err());
    assert_eq!(
        store.credential_changes_since(start).await.unwrap().len(),
        4,
        "a failed change records nothing"
    );
}

async fn migrations(store: Store) {
    assert_eq!(store.schema_state().await.unwrap(), SchemaState::Fresh);
    assert_eq!(
        store.pending_migrations().await.unwrap(),
        vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]
    );
    assert_eq!(
        store.migrate().await.unwrap(),
        vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]
    );
    assert_eq!(store.schema_state().await.unwrap(), SchemaState::Current);
    assert!(
        store.migrate().await.unwrap().is_empty(),
        "a second migrate does nothing"
    );
}

async fn users(store: Store) {
    store.migrate().await.unwrap();
    let alice = store
        .create_user("alice", "a@example.org", "hash", false)
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_user("alice", "b@example.org", "h", false)
            .await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        store.user_by_name("alice").await.unwrap(),
        Some(alice.clone())
    );
    store.set_password("alice", "new").await.unwrap();
    assert_eq!(
        store
            .user_by_name("alice")
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "new"
    );
    let cal = store
        .create_collection(alice.id, &NewCollection::calendar("c", None))
        .await
        .unwrap();
    let data = event("u1", "20260101T100000Z");
    let item = NewItem {
        content_type: "text/calendar",
        data: data.as_bytes(),
        calendar: Some(index("u1", 0)),
        origin: almanac_store::Origin::Sync,
    };
    store
        .put_item(cal.id, "u1.ics", &item, &WriteCondition::Always, 10)
        .await
        .unwrap();
    let item_bytes = i64::try_from(data.len()).unwrap();
    assert_eq!(store.bytes_used(alice.id).await.unwrap(), item_bytes);
    // Properties are stored bytes too: a name and value of a dead property,
    // and a calendar's own properties (in bytes, not characters).
    let value = "é".repeat(100);
    store
        .set_item_dead_properties(cal.id, "u1.ics", &[("{urn:x}p".into(), Some(value))])
        .await
        .unwrap();
    store
        .update_collection(
            cal.id,
            &almanac_store::CollectionUpdate {
                displayname: Some(Some("Work".into())),
                ..Default::default()
            },
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        store.bytes_used(alice.id).await.unwrap(),
        item_bytes + 8 + 200 + 4
    );
    store.delete_user("alice").await.unwrap();
    assert_eq!(store.user_by_name("alice").await.unwrap(), None);
    assert_eq!(
        store.bytes_used(alice.id).await.unwrap(),
        0,
        "the user's items went with them"
    );
    assert!(matches!(
        store.delete_user("alice").await,
        Err(StoreError::NotFound)
    ));
}

async fn deleted_names_are_held(store: Store) {
    store.migrate().await.unwrap();
    store
        .create_user("hana", "h@example.org", "h", false)
        .await
        .unwrap();
    store.delete_user("hana").await.unwrap();
    assert!(store.name_is_held("hana").await.unwrap());
    assert!(
        matches!(
            store
                .create_pending_user("hana", "stranger@example.org", "h")
                .await,
            Err(StoreError::AlreadyExists(_))
        ),
        "nobody else gets a deleted account's name at once"
    );
    // A sign-up never validated never received anything: its name is free.
    store
        .create_pending_user("pim", "p@example.org", "h")
        .await
        .unwrap();
    store.delete_user("pim").await.unwrap();
    assert!(!store.name_is_held("pim").await.unwrap());
    store
        .create_pending_user("pim", "other@example.org", "h")
        .await
        .unwrap();
    // When the hold ends, the name can be taken again.
    store
        .execute_raw("UPDATE held_names SET held_until = 1 WHERE name = 'hana'")
        .await
        .unwrap();
    store
        .create_pending_user("hana", "stranger@example.org", "h")
        .await
        .unwrap();
}

async fn items_and_sync(store: Store) {
    store.migrate().await.unwrap();
    let user = store
        .create_user("bob", "b@example.org", "h", false)
        .await
        .unwrap();
    let cal = store
        .create_collection(user.id, &NewCollection::calendar("work", None))
        .await
        .unwrap();
    assert_eq!(cal.sync_revision, 0);
    let jan = event("jan", "20260101T100000Z");
    let feb = event("feb", "20260201T100000Z");
    let put = |name: &'static str, data: &'static str, idx| {
        let store = store.clone();
        async move {
            let item = NewItem {
                content_type: "text/calendar",
                data: data.as_bytes(),
                calendar: Some(idx),
                origin: almanac_store::Origin::Sync,
            };
            store
                .put_item(cal.id, name, &item, &WriteCondition::Always, 100)
                .await
        }
    };
    let jan: &'static str = Box::leak(jan.into_boxed_str());
    let feb: &'static str = Box::leak(feb.into_boxed_str());
    let first = put("jan.ics", jan, index("jan", 1_767_261_600))
        .await
        .unwrap();
    assert!(first.created);
    put("feb.ics", feb, index("feb", 1_769_940_000))
        .await
        .unwrap();
    let listing = store.item_metas(cal.id).await.unwrap();
    assert_eq!(
        listing.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        ["feb.ics", "jan.ics"]
    );
    assert_eq!(
        listing[1],
        store.item_meta(cal.id, "jan.ics").await.unwrap().unwrap(),
        "the packed listing reads back every field"
    );
    assert_eq!(listing[1].component.as_deref(), Some("VEVENT"));
    let stored = store.item(cal.id, "jan.ics").await.unwrap().unwrap();
    assert_eq!(stored.data, jan.as_bytes(), "data is kept byte for byte");
    assert_eq!(stored.meta.etag, first.etag);

    // The coarse time index finds January only.
    let in_jan = store
        .items_overlapping(cal.id, Some("VEVENT"), 1_767_225_600, 1_769_904_000)
        .await
        .unwrap();
    assert_eq!(
        in_jan
            .iter()
            .map(|i| i.meta.name.as_str())
            .collect::<Vec<_>>(),
        ["jan.ics"]
    );
    assert!(store
        .items_overlapping(cal.id, Some("VTODO"), i64::MIN, i64::MAX)
        .await
        .unwrap()
        .is_empty());

    // Sync: two changes so far; a delete shows as a tombstone after them.
    let after_puts = store
        .collection(user.id, "work")
        .await
        .unwrap()
        .unwrap()
        .sync_revision;
    assert_eq!(after_puts, 2);
    store
        .delete_item(
            cal.id,
            "jan.ics",
            &WriteCondition::Always,
            almanac_store::Origin::Sync,
        )
        .await
        .unwrap();
    let changes = store.changes_since(cal.id, after_puts, 100).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].name, "jan.ics");
    assert!(changes[0].deleted.0);
    let all = store.changes_since(cal.id, 0, 100).await.unwrap();
    assert_eq!(
        all.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["feb.ics", "jan.ics"]
    );
    assert_eq!(
        store.changes_since(cal.id, 0, 1).await.unwrap().len(),
        1,
        "limit applies"
    );

    // Rename keeps the data; sync sees old gone and new present.
    store
        .rename_item(cal.id, "feb.ics", "february.ics")
        .await
        .unwrap();
    assert!(store.item(cal.id, "feb.ics").await.unwrap().is_none());
    assert_eq!(
        store
            .item(cal.id, "february.ics")
            .await
            .unwrap()
            .unwrap()
            .data,
        feb.as_bytes()
    );
    assert_eq!(
        store
            .item_name_for_uid(cal.id, "feb")
            .await
            .unwrap()
            .as_deref(),
        Some("february.ics")
    );
    assert_eq!(store.count_items(cal.id).await.unwrap(), 1);
}

async fn conditions_and_conflicts(store: Store) {
    store.migrate().await.unwrap();
    let user = store
        .create_user("carol", "c@example.org", "h", false)
        .await
        .unwrap();
    let cal = store
        .create_collection(user.id, &NewCollection::calendar("home", None))
        .await
        .unwrap();
    let data = event("same-uid", "20260101T100000Z");
    let item = NewItem {
        content_type: "text/calendar",
        data: data.as_bytes(),
        calendar: Some(index("same-uid", 0)),
        origin: almanac_store::Origin::Sync,
    };
    let put = store
        .put_item(cal.id, "a.ics", &item, &WriteCondition::IfAbsent, 2)
        .await
        .unwrap();
    assert!(matches!(
        store
            .put_item(cal.id, "a.ics", &item, &WriteCondition::IfAbsent, 2)
            .await,
        Err(StoreError::PreconditionFailed)
    ));
    assert!(matches!(
        store
            .put_item(
                cal.id,
                "a.ics",
                &item,
                &WriteCondition::IfMatch("\"stale\"".into()),
                2
            )
            .await,
        Err(StoreError::PreconditionFailed)
    ));
    let again = store
        .put_item(
            cal.id,
            "a.ics",
            &item,
            &WriteCondition::IfMatch(put.etag.clone()),
            2,
        )
        .await
        .unwrap();
    assert!(!again.created);
    match store
        .put_item(cal.id, "b.ics", &item, &WriteCondition::Always, 2)
        .await
    {
        Err(StoreError::UidConflict(other)) => assert_eq!(other, "a.ics"),
        other => panic!("expected a UID conflict, got {other:?}"),
    }
    let other = event("other", "20260101T100000Z");
    let other_item = NewItem {
        content_type: "text/calendar",
        data: other.as_bytes(),
        calendar: Some(index("other", 0)),
        origin: almanac_store::Origin::Sync,
    };
    store
        .put_item(cal.id, "b.ics", &other_item, &WriteCondition::Always, 2)
        .await
        .unwrap();
    let third = event("third", "20260101T100000Z");
    let third_item = NewItem {
        content_type: "text/calendar",
        data: third.as_bytes(),
        calendar: Some(index("third", 0)),
        origin: almanac_store::Origin::Sync,
    };
    assert!(matches!(
        store
            .put_item(cal.id, "c.ics", &third_item, &WriteCondition::Always, 2)
            .await,
        Err(StoreError::Limit(_))
    ));
    // A failed write changes nothing, not even the sync revision.
    let revision = store
        .collection(user.id, "home")
        .await
        .unwrap()
        .unwrap()
        .sync_revision;
    assert_eq!(revision, 3);
    assert!(matches!(
        store
            .delete_item(
                cal.id,
                "a.ics",
                &WriteCondition::IfMatch("\"stale\"".into()),
                almanac_store::Origin::Sync,
            )
            .await,
        Err(StoreError::PreconditionFailed)
    ));
    assert!(store.item(cal.id, "a.ics").await.unwrap().is_some());
}

async fn collection_trees(store: Store) {
    store.migrate().await.unwrap();
    let user = store
        .create_user("dave", "d@example.org", "h", false)
        .await
        .unwrap();
    let other = store
        .create_user("erin", "e@example.org", "h", false)
        .await
        .unwrap();
    for path in ["a", "a/b", "a/b/c", "a_x"] {
        store
            .create_collection(
                user.id,
                &NewCollection {
                    path: path.into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    store
        .create_collection(
            other.id,
            &NewCollection {
                path: "a".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_collection(
                user.id,
                &NewCollection {
                    path: "a".into(),
                    ..Default::default()
                }
            )
            .await,
        Err(StoreError::AlreadyExists(_))
    ));
    let top: Vec<String> = store
        .child_collections(user.id, "")
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.path)
        .collect();
    assert_eq!(top, ["a", "a_x"]);
    let below_a: Vec<String> = store
        .child_collections(user.id, "a")
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.path)
        .collect();
    assert_eq!(below_a, ["a/b"]);

    let b = store.collection(user.id, "a/b").await.unwrap().unwrap();
    let item = NewItem {
        content_type: "text/plain",
        data: b"hello",
        calendar: None,
        origin: almanac_store::Origin::Sync,
    };
    store
        .put_item(b.id, "f.txt", &item, &WriteCondition::Always, 10)
        .await
        .unwrap();

    store
        .copy_collection_tree(user.id, "a", "copy", true)
        .await
        .unwrap();
    let copied = store.collection(user.id, "copy/b").await.unwrap().unwrap();
    assert_eq!(
        store.item(copied.id, "f.txt").await.unwrap().unwrap().data,
        b"hello"
    );
    assert!(store
        .collection(user.id, "copy/b/c")
        .await
        .unwrap()
        .is_some());

    store
        .copy_collection_tree(user.id, "a", "shallow", false)
        .await
        .unwrap();
    assert!(store
        .child_collections(user.id, "shallow")
        .await
        .unwrap()
        .is_empty());

    store
        .move_collection_tree(user.id, "a", "moved")
        .await
        .unwrap();
    assert!(store.collection(user.id, "a/b").await.unwrap().is_none());
    let moved = store.collection(user.id, "moved/b").await.unwrap().unwrap();
    assert_eq!(
        moved.id, b.id,
        "a move keeps identities (and so sync tokens)"
    );
    assert!(
        store.collection(user.id, "a_x").await.unwrap().is_some(),
        "a sibling with a similar name is untouched"
    );

    store
        .delete_collection_tree(user.id, "moved")
        .await
        .unwrap();
    assert!(store
        .collection(user.id, "moved/b/c")
        .await
        .unwrap()
        .is_none());
    assert!(
        store.collection(other.id, "a").await.unwrap().is_some(),
        "another user's collection is untouched"
    );
}

async fn dead_properties(store: Store) {
    store.migrate().await.unwrap();
    let user = store
        .create_user("frank", "f@example.org", "h", false)
        .await
        .unwrap();
    let c = store
        .create_collection(
            user.id,
            &NewCollection {
                path: "c".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let update = almanac_store::CollectionUpdate {
        displayname: Some(Some("Named".into())),
        ..Default::default()
    };
    store
        .update_collection(
            c.id,
            &update,
            &[("{urn:x}p".into(), Some("<v xmlns=\"urn:x\"/>".into()))],
        )
        .await
        .unwrap();
    let reread = store.collection(user.id, "c").await.unwrap().unwrap();
    assert_eq!(reread.displayname.as_deref(), Some("Named"));
    assert_eq!(
        store.dead_properties(c.id, "").await.unwrap(),
        vec![("{urn:x}p".to_owned(), "<v xmlns=\"urn:x\"/>".to_owned())]
    );
    store
        .update_collection(
            c.id,
            &almanac_store::CollectionUpdate::default(),
            &[("{urn:x}p".into(), None)],
        )
        .await
        .unwrap();
    assert!(store.dead_properties(c.id, "").await.unwrap().is_empty());
}

async fn upgrade_from_version_1_keeps_every_row(store: Store) {
    assert_eq!(store.migrate_to(1).await.unwrap(), vec![1]);
    assert_eq!(
        store.schema_state().await.unwrap(),
        SchemaState::Behind { found: 1 }
    );
    let user_id = legacy_user(&store, 900_007, "gina").await;
    let cal = Legacy {
        id: legacy_collection(&store, (900_101, user_id), "cal", true, None).await,
    };
    let data = event("kept", "20260101T100000Z");
    legacy_put(
        &store,
        cal.id,
        "kept.ics",
        "text/calendar",
        data.as_bytes(),
        Some("kept"),
    )
    .await;
    store
        .update_collection(
            cal.id,
            &almanac_store::CollectionUpdate::default(),
            &[("{urn:x}p".into(), Some("v".into()))],
        )
        .await
        .unwrap();

    let mut v1_backup = Vec::new();
    let summary = store.backup(&mut v1_backup, |_| {}).await.unwrap();
    assert_eq!(summary.schema_version, 1);
    assert!(
        !summary.rows.contains_key("settings"),
        "version 1 had no settings table"
    );

    assert_eq!(
        store.migrate().await.unwrap(),
        vec![2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]
    );
    assert_eq!(store.schema_state().await.unwrap(), SchemaState::Current);
    let user = store.user_by_name("gina").await.unwrap().unwrap();
    assert_eq!(
        (user.id, user.email.as_str()),
        (900_007, "gina@example.org")
    );
    assert!(
        user.may_sign_in(),
        "accounts from before sign-up count as validated"
    );
    let after = store.collection(user.id, "cal").await.unwrap().unwrap();
    assert_eq!(
        (after.id, after.is_calendar(), after.sync_revision),
        (cal.id, true, 1)
    );
    let kept = store.item(cal.id, "kept.ics").await.unwrap().unwrap();
    assert_eq!(kept.data, data.as_bytes());
    assert_eq!(kept.meta.etag, almanac_store::etag_of(data.as_bytes()));
    assert_eq!(store.changes_since(cal.id, 0, 10).await.unwrap().len(), 1);
    assert_eq!(
        store.dead_properties(cal.id, "").await.unwrap(),
        vec![("{urn:x}p".to_owned(), "v".to_owned())]
    );
    // A version-1 backup restores into this build and is upgraded on the way.
    let dir = tempfile::tempdir().unwrap();
    let restored = sqlite_store(&dir).await;
    restored
        .restore(v1_backup.as_slice(), |_| {})
        .await
        .unwrap();
    assert_eq!(restored.schema_state().await.unwrap(), SchemaState::Current);
    let again = restored.user_by_name("gina").await.unwrap().unwrap();
    let cal = restored.collection(again.id, "cal").await.unwrap().unwrap();
    assert_eq!(
        restored
            .item(cal.id, "kept.ics")
            .await
            .unwrap()
            .unwrap()
            .data,
        data.as_bytes()
    );
}

async fn maintenance_mode(store: Store) {
    store.migrate().await.unwrap();
    assert_eq!(store.maintenance().await.unwrap(), None);
    store
        .set_maintenance(Some(("Upgrading | back soon", Some(1_900_000_000))))
        .await
        .unwrap();
    let on = store.maintenance().await.unwrap().unwrap();
    assert_eq!(on.message, "Upgrading | back soon");
    assert_eq!(on.until, Some(1_900_000_000));
    assert!(on.since > 1_700_000_000);
    store
        .set_maintenance(Some(("No end given", None)))
        .await
        .unwrap();
    assert_eq!(store.maintenance().await.unwrap().unwrap().until, None);
    store.set_maintenance(None).await.unwrap();
    assert_eq!(store.maintenance().await.unwrap(), None);
}

/// Writes an item with the columns every schema version has, as the store
/// did then (this build's `put_item` needs the newest schema).
async fn legacy_put(
    store: &Store,
    collection: i64,
    name: &str,
    content_type: &str,
    data: &[u8],
    uid: Option<&str>,
) {
    let hex = almanac_store::hex(data);
    let blob = match store.backend() {
        almanac_store::Backend::Sqlite => format!("X'{hex}'"),
        almanac_store::Backend::Postgres => format!("decode('{hex}', 'hex')"),
    };
    let etag = almanac_store::etag_of(data);
    let (uid, component, start, end) = match uid {
        Some(uid) => (format!("'{uid}'"), "'VEVENT'", "0", "3600"),
        None => ("NULL".to_owned(), "NULL", "NULL", "NULL"),
    };
    let revision = format!("(SELECT sync_revision FROM collections WHERE id = {collection})");
    for sql in [
        format!("UPDATE collections SET sync_revision = sync_revision + 1 WHERE id = {collection}"),
        format!(
            "INSERT INTO items (collection_id, name, content_type, etag, data, size, uid, component, \
             start_utc, end_utc, revision, modified_at) VALUES ({collection}, '{name}', '{content_type}', \
             '{etag}', {blob}, {}, {uid}, {component}, {start}, {end}, {revision}, 1700000000)",
            data.len()
        ),
        format!(
            "INSERT INTO changes (collection_id, name, revision, deleted) \
             VALUES ({collection}, '{name}', {revision}, 0)"
        ),
    ] {
        store.execute_raw(&sql).await.unwrap();
    }
}

async fn legacy_delete(store: &Store, collection: i64, name: &str) {
    let revision = format!("(SELECT sync_revision FROM collections WHERE id = {collection})");
    for sql in [
        format!("UPDATE collections SET sync_revision = sync_revision + 1 WHERE id = {collection}"),
        format!("DELETE FROM items WHERE collection_id = {collection} AND name = '{name}'"),
        format!(
            "UPDATE changes SET revision = {revision}, deleted = 1 \
             WHERE collection_id = {collection} AND name = '{name}'"
        ),
    ] {
        store.execute_raw(&sql).await.unwrap();
    }
}

/// A row made with the columns every schema version has.
struct Legacy {
    id: i64,
}

/// A collection made with the columns every schema version has; returns
/// its id.
async fn legacy_collection(
    store: &Store,
    (id, owner): (i64, i64),
    path: &str,
    is_calendar: bool,
    displayname: Option<&str>,
) -> i64 {
    let name = displayname.map_or_else(|| "NULL".to_owned(), |n| format!("'{n}'"));
    store
        .execute_raw(&format!(
            "INSERT INTO collections (id, owner_id, path, is_calendar, displayname, created_at, modified_at) \
             VALUES ({id}, {owner}, '{path}', {}, {name}, 1700000000, 1700000000)",
            i64::from(is_calendar)
        ))
        .await
        .unwrap();
    id
}

/// A user made with the columns every schema version has (the functions of
/// this build need the newest schema); returns its id.
async fn legacy_user(store: &Store, id: i64, name: &str) -> i64 {
    store
        .execute_raw(&format!(
            "INSERT INTO users (id, name, email, password_hash, is_admin, created_at) \
             VALUES ({id}, '{name}', '{name}@example.org', '$argon2id$hash', 1, 1700000000)"
        ))
        .await
        .unwrap();
    id
}

/// A user with a calendar of `n` events, a plain collection, dead
/// properties, a tombstone and maintenance mode on: every table has rows.
async fn populate(store: &Store, n: usize) -> i64 {
    let user = almanac_store::User {
        id: legacy_user(store, 900_001, "hank").await,
        ..almanac_store::User::default()
    };
    let cal = Legacy {
        id: legacy_collection(store, (900_102, user.id), "cal", true, Some("Cal")).await,
    };
    let files = Legacy {
        id: legacy_collection(store, (900_103, user.id), "files", false, None).await,
    };
    for i in 0..n {
        let data = event(&format!("e{i}"), "20260101T100000Z");
        let uid = format!("e{i}");
        legacy_put(
            store,
            cal.id,
            &format!("{uid}.ics"),
            "text/calendar",
            data.as_bytes(),
            Some(&uid),
        )
        .await;
    }
    legacy_put(
        store,
        files.id,
        "blob.bin",
        "application/octet-stream",
        &[0, 159, 146, 150, 255],
        None,
    )
    .await;
    legacy_delete(store, cal.id, "e0.ics").await;
    store
        .update_collection(
            cal.id,
            &almanac_store::CollectionUpdate::default(),
            &[("{urn:x}p".into(), Some("<v xmlns=\"urn:x\"/>".into()))],
        )
        .await
        .unwrap();
    store.set_maintenance(Some(("m", None))).await.unwrap();
    if store.schema_state().await.unwrap() == SchemaState::Current {
        store
            .put_external_points(
                "downloads",
                &[("2026-11-01".into(), 12.5), ("2026-11-02".into(), 40.0)],
            )
            .await
            .unwrap();
    }
    cal.id
}

async fn snapshot(store: &Store) -> String {
    let mut out = Vec::new();
    store.backup(&mut out, |_| {}).await.unwrap();
    String::from_utf8(out).unwrap()
}

async fn backup_while_writing_restores_consistently(store: Store) {
    store.migrate().await.unwrap();
    let cal = populate(&store, 50).await;
    // Writes keep coming while the backup runs.
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..200 {
                let data = event(&format!("w{i}"), "20260101T100000Z");
                let item = NewItem {
                    content_type: "text/calendar",
                    data: data.as_bytes(),
                    calendar: Some(index(&format!("w{i}"), 0)),
                    origin: almanac_store::Origin::Sync,
                };
                store
                    .put_item(
                        cal,
                        &format!("w{i}.ics"),
                        &item,
                        &WriteCondition::Always,
                        100_000,
                    )
                    .await
                    .unwrap();
            }
        })
    };
    let mut file = Vec::new();
    let mut rows_seen = 0;
    let summary = store
        .backup(&mut file, |p| {
            if p == almanac_store::Progress::Row {
                rows_seen += 1;
            }
        })
        .await
        .unwrap();
    writer.await.unwrap();
    assert_eq!(summary.total_rows(), rows_seen);

    let dir = tempfile::tempdir().unwrap();
    let restored = sqlite_store(&dir).await;
    let loaded = restored.restore(file.as_slice(), |_| {}).await.unwrap();
    assert_eq!(loaded.rows, summary.rows);
    // The snapshot is consistent: the revision counts every change it holds.
    let user = restored.user_by_name("hank").await.unwrap().unwrap();
    let cal_row = restored.collection(user.id, "cal").await.unwrap().unwrap();
    let changes = restored
        .changes_since(cal_row.id, 0, 100_000)
        .await
        .unwrap();
    assert_eq!(
        changes.iter().map(|c| c.revision).max(),
        Some(cal_row.sync_revision)
    );
    let live = changes.iter().filter(|c| !c.deleted.0).count();
    assert_eq!(
        i64::try_from(live).unwrap(),
        restored.count_items(cal_row.id).await.unwrap()
    );
    // Restoring the restored copy's backup gives the same file, row for row.
    let again = snapshot(&restored).await;
    assert_eq!(again, String::from_utf8(file.clone()).unwrap());
    // Binary content, dead properties and settings came along.
    let files = restored
        .collection(user.id, "files")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        restored
            .item(files.id, "blob.bin")
            .await
            .unwrap()
            .unwrap()
            .data,
        [0, 159, 146, 150, 255]
    );
    assert_eq!(restored.maintenance().await.unwrap().unwrap().message, "m");
    // New rows after a restore get fresh ids (PostgreSQL identities moved on).
    restored
        .create_user("ivy", "i@example.org", "h", false)
        .await
        .unwrap();

    // A restore refuses a database that has data, and a truncated file.
    assert!(restored.restore(file.as_slice(), |_| {}).await.is_err());
    let dir2 = tempfile::tempdir().unwrap();
    let empty = sqlite_store(&dir2).await;
    let cut = &file[..file.len() / 2];
    let cut = &cut[..=cut.iter().rposition(|b| *b == b'\n').unwrap()];
    let err = empty.restore(cut, |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");

    // And the same backup loads into PostgreSQL when there is one.
    if let Some(pg) = postgres_store("backup_cross").await {
        pg.restore(file.as_slice(), |_| {}).await.unwrap();
        assert_eq!(snapshot(&pg).await, String::from_utf8(file).unwrap());
        pg.create_user("ivy", "i@example.org", "h", false)
            .await
            .unwrap();
    }
}

async fn check_finds_broken_invariants(store: Store) {
    let fresh = store.check().await.unwrap();
    assert_eq!(fresh.len(), 1);
    assert!(!fresh[0].ok, "a fresh database is not ready yet");
    store.migrate().await.unwrap();
    populate(&store, 3).await;
    let findings = store.check().await.unwrap();
    assert!(findings.iter().all(|f| f.ok), "{findings:?}");
    store
        .execute_raw("UPDATE collections SET sync_revision = 0 WHERE path = 'cal'")
        .await
        .unwrap();
    store
        .execute_raw("DELETE FROM changes WHERE name = 'e1.ics'")
        .await
        .unwrap();
    let findings = store.check().await.unwrap();
    let broken: Vec<&str> = findings
        .iter()
        .filter(|f| !f.ok)
        .map(|f| f.what.as_str())
        .collect();
    assert_eq!(broken, ["sync revisions", "change log"], "{findings:?}");
}

async fn status_history(store: Store) {
    use almanac_store::{Flag, ProbeResult};
    store.migrate().await.unwrap();
    let result = |at, component: &str, ok| ProbeResult {
        at,
        component: component.into(),
        ok: Flag(ok),
        latency_ms: 12,
        message: String::new(),
    };
    store
        .record_probe_results(&[
            result(100, "caldav", true),
            result(100, "webcal", true),
            result(200, "caldav", false),
            result(300, "caldav", true),
            result(300, "webcal", false),
        ])
        .await
        .unwrap();
    let latest = store.latest_probe_results().await.unwrap();
    assert_eq!(
        latest
            .iter()
            .map(|r| (r.component.as_str(), r.at, r.ok.0))
            .collect::<Vec<_>>(),
        [("caldav", 300, true), ("webcal", 300, false)]
    );
    let uptime = store.uptime_since(150).await.unwrap();
    assert_eq!(uptime[0].0, "caldav");
    assert_eq!(uptime[0].1.percent(), Some(50.0));
    assert_eq!(uptime[1].1.percent(), Some(0.0));
    assert_eq!(store.prune_probe_results(250).await.unwrap(), 3);

    let outage = store
        .open_incident(
            "incident",
            "Sync is slow",
            "investigating",
            "Looking into it.",
            (1_000, None),
        )
        .await
        .unwrap();
    let planned = store
        .open_incident(
            "maintenance",
            "Database upgrade",
            "scheduled",
            "Writes paused.",
            (5_000, Some(6_000)),
        )
        .await
        .unwrap();
    store
        .update_incident(outage, "resolved", "Fixed: a full disk.")
        .await
        .unwrap();
    assert!(matches!(
        store.update_incident(9_999, "resolved", "x").await,
        Err(StoreError::NotFound)
    ));
    let incidents = store.incidents(10).await.unwrap();
    let mut ids: Vec<i64> = incidents.iter().map(|i| i.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, [outage, planned]);
    let fixed = incidents.iter().find(|i| i.id == outage).unwrap();
    let upcoming = incidents.iter().find(|i| i.id == planned).unwrap();
    assert!(fixed.is_closed() && fixed.ends_at.is_some());
    assert_eq!(
        fixed
            .updates
            .iter()
            .map(|u| u.status.as_str())
            .collect::<Vec<_>>(),
        ["resolved", "investigating"]
    );
    assert_eq!(upcoming.ends_at, Some(6_000));
    assert!(!upcoming.is_closed());
    assert_eq!(store.incidents(1).await.unwrap().len(), 1);
}

async fn upgrade_from_version_2_keeps_every_row(store: Store) {
    assert_eq!(store.migrate_to(2).await.unwrap(), vec![1, 2]);
    populate(&store, 5).await;
    let before = snapshot(&store).await;
    assert_eq!(
        store.migrate().await.unwrap(),
        vec![3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]
    );
    let after = snapshot(&store).await;
    // Same rows; the header and the new, empty tables differ, and users
    // gained four columns: validated (at creation), not locked and never
    // signed in (web, sync); collections
    // a sync floor of 0.
    let rows = |text: &str| {
        text.lines()
            .skip(1)
            .map(|line| {
                let mut row: serde_json::Value = serde_json::from_str(line).unwrap();
                if row["t"] == "changes" {
                    let values = row["r"].as_array_mut().unwrap();
                    if values.len() == 5 {
                        assert_eq!(values[4], "sync", "earlier changes came from sync");
                        values.truncate(4);
                    }
                }
                if row["t"] == "collections" {
                    let values = row["r"].as_array_mut().unwrap();
                    if values.len() == 13 {
                        assert_eq!(values[12], 0, "no tombstone was pruned yet");
                        values.truncate(12);
                    }
                }
                if row["t"] == "users" {
                    let values = row["r"].as_array_mut().unwrap();
                    if values.len() == 10 {
                        assert_eq!(values[6], values[5], "verified_at = created_at");
                        assert_eq!(values[7], 0, "not locked");
                        assert!(
                            values[8].is_null() && values[9].is_null(),
                            "never signed in"
                        );
                        values.truncate(6);
                    }
                }
                row
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(rows(&before), rows(&after));
    let header = after.lines().next().unwrap();
    assert!(
        header.contains(r#""incidents":0"#) && header.contains(r#""schema_version":17"#),
        "{header}"
    );
}

async fn failed_migration_changes_nothing(store: Store) {
    store.migrate_to(2).await.unwrap();
    populate(&store, 2).await;
    // Something in the way of migration 3: it must fail as a whole.
    store
        .execute_raw("CREATE TABLE incidents (x BIGINT)")
        .await
        .unwrap();
    assert!(store.migrate().await.is_err());
    assert_eq!(
        store.schema_state().await.unwrap(),
        SchemaState::Behind { found: 2 }
    );
    let probe_table = store
        .execute_raw("SELECT COUNT(*) FROM probe_results")
        .await;
    assert!(
        probe_table.is_err(),
        "the first table of migration 3 was rolled back too"
    );
    assert!(snapshot(&store).await.contains(r#""hank""#));
    store.execute_raw("DROP TABLE incidents").await.unwrap();
    assert_eq!(
        store.migrate().await.unwrap(),
        vec![3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]
    );
}

async fn external_series(store: Store) {
    store.migrate().await.unwrap();
    store
        .put_external_points(
            "downloads",
            &[("2026-11-02".into(), 3.0), ("2026-11-01".into(), 1.5)],
        )
        .await
        .unwrap();
    store
        .put_external_points("downloads", &[("2026-11-02".into(), 4.0)])
        .await
        .unwrap();
    store
        .put_external_points("stars", &[("2026-11-01".into(), 9.0)])
        .await
        .unwrap();
    assert_eq!(
        store.external_points("downloads").await.unwrap(),
        vec![
            ("2026-11-01".to_owned(), 1.5),
            ("2026-11-02".to_owned(), 4.0)
        ]
    );
    assert_eq!(
        store.external_series().await.unwrap(),
        ["downloads", "stars"]
    );
    assert!(store.external_points("nothing").await.unwrap().is_empty());
}

async fn accounts_sessions_and_mail_links(store: Store) {
    use almanac_store::TokenPurpose;
    store.migrate().await.unwrap();
    let pending = store
        .create_pending_user("ivy", "Ivy@Example.org", "h")
        .await
        .unwrap();
    assert!(
        !pending.may_sign_in(),
        "unvalidated accounts cannot sign in"
    );
    assert_eq!(
        store.users_by_email("ivy@example.ORG").await.unwrap()[0].id,
        pending.id,
        "addresses match without regard to case"
    );
    store.mark_verified(pending.id).await.unwrap();
    assert!(store
        .user_by_id(pending.id)
        .await
        .unwrap()
        .unwrap()
        .may_sign_in());
    store.set_locked("ivy", true).await.unwrap();
    assert!(!store
        .user_by_name("ivy")
        .await
        .unwrap()
        .unwrap()
        .may_sign_in());
    store.set_locked("ivy", false).await.unwrap();
    assert!(matches!(
        store.set_locked("nobody", true).await,
        Err(StoreError::NotFound)
    ));

    // Sessions: found by digest until they expire or end.
    let later = now() + 3600;
    store.create_session("s1", pending.id, later).await.unwrap();
    store.create_session("s2", pending.id, later).await.unwrap();
    store
        .create_session("old", pending.id, now() - 1)
        .await
        .unwrap();
    assert_eq!(store.session_user("s1").await.unwrap().unwrap().name, "ivy");
    assert!(
        store.session_user("old").await.unwrap().is_none(),
        "expired"
    );
    store
        .delete_sessions_of(pending.id, Some("s1"))
        .await
        .unwrap();
    assert!(store.session_user("s1").await.unwrap().is_some(), "kept");
    assert!(store.session_user("s2").await.unwrap().is_none());
    store.set_locked("ivy", true).await.unwrap();
    assert!(
        store.session_user("s1").await.unwrap().is_none(),
        "a lock ends sessions"
    );
    store.set_locked("ivy", false).await.unwrap();

    // Mail links: single use; a newer link of the same purpose replaces it.
    store
        .create_mail_token("t1", pending.id, TokenPurpose::Reset, None, later)
        .await
        .unwrap();
    store
        .create_mail_token("t2", pending.id, TokenPurpose::Reset, None, later)
        .await
        .unwrap();
    store
        .create_mail_token(
            "t3",
            pending.id,
            TokenPurpose::Email,
            Some("new@example.org"),
            later,
        )
        .await
        .unwrap();
    assert!(
        store.peek_mail_token("t1").await.unwrap().is_none(),
        "replaced"
    );
    let token = store.take_mail_token("t2").await.unwrap().unwrap();
    assert_eq!(
        (token.purpose, token.is_expired()),
        (TokenPurpose::Reset, false)
    );
    assert!(
        store.take_mail_token("t2").await.unwrap().is_none(),
        "used up"
    );
    let email = store.take_mail_token("t3").await.unwrap().unwrap();
    assert_eq!(email.new_email.as_deref(), Some("new@example.org"));

    // Stale sign-ups go; validated accounts stay.
    store
        .create_pending_user("stale", "s@example.org", "h")
        .await
        .unwrap();
    assert_eq!(
        store.delete_stale_pending_users(now() + 10).await.unwrap(),
        1
    );
    assert!(store.user_by_name("ivy").await.unwrap().is_some());
    assert_eq!(store.search_users("IV", 10).await.unwrap().len(), 1);
    assert!(
        store.search_users("%", 10).await.unwrap().is_empty(),
        "% is literal"
    );
    // Deleting the account removes its sessions and links.
    store.create_session("s9", pending.id, later).await.unwrap();
    store.delete_user("ivy").await.unwrap();
    assert!(store.session_user("s9").await.unwrap().is_none());
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn support_queue(store: Store) {
    store.migrate().await.unwrap();
    let user = store
        .create_user("jo", "jo@example.org", "h", false)
        .await
        .unwrap();
    let id = store
        .create_support_request(&almanac_store::NewSupportRequest {
            user_id: Some(user.id),
            name: "Jo",
            email: "jo@example.org",
            subject: "Sync stopped",
            body: "Since Monday.",
        })
        .await
        .unwrap();
    assert_eq!(
        store.support_requests(Some("open"), 10).await.unwrap()[0].id,
        id
    );
    store
        .answer_support_request(id, Some("Fixed now."), "closed")
        .await
        .unwrap();
    assert!(store
        .support_requests(Some("open"), 10)
        .await
        .unwrap()
        .is_empty());
    let (request, messages) = store.support_request(id).await.unwrap().unwrap();
    assert_eq!(request.status, "closed");
    let texts: Vec<_> = messages
        .iter()
        .map(|m| (m.author.as_str(), m.body.as_str()))
        .collect();
    assert_eq!(
        texts,
        [("requester", "Since Monday."), ("staff", "Fixed now.")]
    );
    assert!(matches!(
        store.answer_support_request(id + 1, None, "open").await,
        Err(StoreError::NotFound)
    ));
    // The request outlives the account that sent it.
    store.delete_user("jo").await.unwrap();
    let (request, _) = store.support_request(id).await.unwrap().unwrap();
    assert_eq!(request.user_id, None);
    // Both are in backups.
    let backup = snapshot(&store).await;
    assert!(backup.contains("Since Monday.") && backup.contains(r#""support_requests":1"#));
}

async fn share_links(store: Store) {
    use almanac_store::SharePermission;
    store.migrate().await.unwrap();
    let owner = store
        .create_user("kim", "k@example.org", "h", false)
        .await
        .unwrap();
    let cal = store
        .create_collection(owner.id, &NewCollection::calendar("cal", Some("Cal")))
        .await
        .unwrap();
    let id = store
        .create_share_link(cal.id, "hash-1", SharePermission::Read, "family", None)
        .await
        .unwrap();
    store
        .create_share_link(
            cal.id,
            "hash-old",
            SharePermission::Write,
            "",
            Some(now() - 1),
        )
        .await
        .unwrap();
    let shared = store.use_share_link("hash-1").await.unwrap().unwrap();
    assert_eq!(
        (shared.calendar.id, shared.owner.name.as_str()),
        (cal.id, "kim")
    );
    assert_eq!(shared.link.permission(), SharePermission::Read);
    assert!(
        store.use_share_link("hash-old").await.unwrap().is_none(),
        "expired"
    );
    assert!(store.use_share_link("nope").await.unwrap().is_none());
    let links = store.share_links(cal.id).await.unwrap();
    let used = links.iter().find(|l| l.id == id).unwrap();
    assert_eq!(used.use_count, 1);
    assert!(used.last_used_at.is_some());
    // A new token replaces the old one at once; revoking ends it.
    store
        .regenerate_share_link(cal.id, id, "hash-2")
        .await
        .unwrap();
    assert!(store.use_share_link("hash-1").await.unwrap().is_none());
    assert!(store.use_share_link("hash-2").await.unwrap().is_some());
    assert!(
        matches!(
            store.delete_share_link(cal.id + 1, id).await,
            Err(StoreError::NotFound)
        ),
        "only through its own calendar"
    );
    store.delete_share_link(cal.id, id).await.unwrap();
    assert!(store.use_share_link("hash-2").await.unwrap().is_none());
    // A locked owner's links stop working.
    store
        .create_share_link(cal.id, "hash-3", SharePermission::FreeBusy, "", None)
        .await
        .unwrap();
    store.set_locked("kim", true).await.unwrap();
    assert!(store.use_share_link("hash-3").await.unwrap().is_none());
    // Backups carry links (digests only) and where each change came from.
    let data = event("web", "20260101T100000Z");
    store
        .put_item(
            cal.id,
            "web.ics",
            &NewItem {
                content_type: "text/calendar",
                data: data.as_bytes(),
                calendar: Some(index("web", 0)),
                origin: almanac_store::Origin::Web,
            },
            &WriteCondition::Always,
            10,
        )
        .await
        .unwrap();
    let backup = snapshot(&store).await;
    assert!(backup.contains(r#""share_links":2"#) && backup.contains("hash-3"));
    assert!(backup.contains(r#""web.ics",1,0,"web"]"#), "{backup}");
}

/// Creating and deleting items forever keeps only the newest tombstones;
/// the collection's sync floor rises past the ones dropped.
async fn deletions_keep_a_bounded_number_of_tombstones(store: Store) {
    store.migrate().await.unwrap();
    let store = store.keeping_tombstones(20);
    let user = store
        .create_user("dora", "d@example.org", "h", false)
        .await
        .unwrap();
    let cal = store
        .create_collection(user.id, &NewCollection::calendar("churn", None))
        .await
        .unwrap();
    let keep = event("keep", "20260101T100000Z");
    let item = NewItem {
        content_type: "text/calendar",
        data: keep.as_bytes(),
        calendar: Some(index("keep", 0)),
        origin: almanac_store::Origin::Sync,
    };
    store
        .put_item(cal.id, "keep.ics", &item, &WriteCondition::Always, 1000)
        .await
        .unwrap();
    for n in 0..150 {
        let uid = format!("gone{n}");
        let data = event(&uid, "20260101T100000Z");
        let item = NewItem {
            content_type: "text/calendar",
            data: data.as_bytes(),
            calendar: Some(index(&uid, 0)),
            origin: almanac_store::Origin::Sync,
        };
        let name = format!("{uid}.ics");
        store
            .put_item(cal.id, &name, &item, &WriteCondition::Always, 1000)
            .await
            .unwrap();
        store
            .delete_item(
                cal.id,
                &name,
                &WriteCondition::Always,
                almanac_store::Origin::Sync,
            )
            .await
            .unwrap();
    }
    let cal = store.collection(user.id, "churn").await.unwrap().unwrap();
    assert_eq!(cal.sync_revision, 301);
    let changes = store.changes_since(cal.id, 0, 10_000).await.unwrap();
    let tombstones: Vec<_> = changes.iter().filter(|c| c.deleted.0).collect();
    assert_eq!(tombstones.len(), 20, "the newest 20 deletions are kept");
    assert!(
        changes.iter().any(|c| c.name == "keep.ics"),
        "live items stay"
    );
    let oldest_kept = tombstones.iter().map(|c| c.revision).min().unwrap();
    assert!(cal.sync_floor > 0 && cal.sync_floor < oldest_kept);
    // Nothing a client at the floor needs is gone: every deletion after it
    // is still there.
    let deleted_after_floor = (cal.sync_floor + 1..=cal.sync_revision)
        .filter(|revision| revision % 2 == 1)
        .count();
    let kept_after_floor = tombstones
        .iter()
        .filter(|c| c.revision > cal.sync_floor)
        .count();
    assert_eq!(kept_after_floor, deleted_after_floor);
}

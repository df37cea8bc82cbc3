//! The store suite, run once on SQLite and once on PostgreSQL.

use crate::on_both_stores;
use crate::support::{StoreKind, fresh_store_url, temp_dir};
use engine::store::Store;

on_both_stores!(
    migrations_run_once_and_reopening_is_harmless,
    mapping_state_survives_a_restart,
);

async fn migrations_run_once_and_reopening_is_harmless(kind: StoreKind) {
    let dir = temp_dir("store");
    let url = fresh_store_url(kind, &dir).await;
    let store = Store::open(&url).await.expect("a fresh store migrates");
    store.ping().await.unwrap();
    assert!(store.mapping_states().await.unwrap().is_empty());
    drop(store);
    let again = Store::open(&url)
        .await
        .expect("reopening runs no migration twice");
    again.ping().await.unwrap();
}

async fn mapping_state_survives_a_restart(kind: StoreKind) {
    let dir = temp_dir("store");
    let url = fresh_store_url(kind, &dir).await;
    let store = Store::open(&url).await.unwrap();
    store
        .set_mapping_paused("alice", "CUSTOMER", true)
        .await
        .unwrap();
    store
        .set_mapping_paused("alice", "CONTACT", true)
        .await
        .unwrap();
    store
        .set_mapping_paused("alice", "CONTACT", false)
        .await
        .unwrap();
    drop(store);

    let reopened = Store::open(&url).await.unwrap();
    let states = reopened.mapping_states().await.unwrap();
    let paused: Vec<(&str, bool)> = states.iter().map(|s| (s.name.as_str(), s.paused)).collect();
    assert_eq!(paused, [("CONTACT", false), ("CUSTOMER", true)]);
}

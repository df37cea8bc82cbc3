//! The store suite, run once on SQLite and once on PostgreSQL.

use crate::on_both_stores;
use crate::support::{StoreKind, fresh_database, fresh_store_url, postgres_admin_url, temp_dir};
use engine::model::{Side, SyncErrorKind};
use engine::store::Store;
use engine::store::sync_error::{self, NewSyncError};
use sqlx::{Connection, Executor, PgConnection};

on_both_stores!(
    migrations_run_once_and_reopening_is_harmless,
    mapping_state_survives_a_restart,
    the_errors_stamp_moves_when_a_change_commits_and_not_before,
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

/// The errors' stamp (what a kept count and the live events follow) moves once a change
/// to an error commits, also one that writes no indexed column (an error taken at its
/// version), and not while that change is uncommitted.
async fn the_errors_stamp_moves_when_a_change_commits_and_not_before(kind: StoreKind) {
    let dir = temp_dir("stamp");
    let store = Store::open(&fresh_store_url(kind, &dir).await)
        .await
        .unwrap();
    let mut reader = store.conn().await.unwrap();
    let error = NewSyncError {
        coupling_id: None,
        kind: SyncErrorKind::Failed,
        side: Side::Local,
        local_key: Some("C00001".into()),
        integration_key: None,
        description: None,
        message: "the CRM refused the name".into(),
        fields: vec!["name".into()],
        job_id: None,
        skipped: false,
        actor: "test".into(),
    };
    let mut writer = store.conn().await.unwrap();
    let before = sync_error::stamp(&mut reader).await.unwrap();
    sync_error::record(&mut writer, "CUSTOMER", &error)
        .await
        .unwrap();
    let found = sync_error::stamp(&mut reader).await.unwrap();
    assert_ne!(found, before, "a new error moves the stamp");
    drop(writer);

    let id = found[1];
    let mut tx = store.begin().await.unwrap();
    assert!(sync_error::claim(&mut tx, id, 1, "ada").await.unwrap());
    assert_eq!(
        sync_error::stamp(&mut reader).await.unwrap(),
        found,
        "an uncommitted change is not seen, so the stamp holds"
    );
    tx.commit().await.unwrap();
    assert_ne!(
        sync_error::stamp(&mut reader).await.unwrap(),
        found,
        "the committed change moves the stamp"
    );
}

/// PostgreSQL ends a session whose transaction idles past its limit. A demo (or a
/// benchmark's data) bigger than the limit takes to write must not leave one system's
/// transaction idle while it writes the other's: here the limit is 200 ms, the databases'
/// own, which Coupler keeps as it is shorter than its 15 s; the
/// ERP's 40,000 customers take several times that to write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_taking_longer_than_the_idle_limit_is_created_on_postgres() {
    let dir = temp_dir("idle");
    let mut admin = PgConnection::connect(&postgres_admin_url()).await.unwrap();
    let mut urls = Vec::new();
    for label in ["erp", "crm"] {
        let url = fresh_database(StoreKind::Postgres, &dir, label).await;
        let name = url.rsplit_once('/').unwrap().1.to_string();
        admin
            .execute(
                format!(
                    r#"alter database "{name}" set idle_in_transaction_session_timeout = '200ms'"#
                )
                .as_str(),
            )
            .await
            .unwrap();
        urls.push(url);
    }
    let started = std::time::Instant::now();
    let summary = engine::demo::create_customers(&urls[0], &urls[1], 40_000)
        .await
        .expect("the demo is created whole");
    assert!(
        started.elapsed() > std::time::Duration::from_millis(400),
        "the demo took {:?}: too short to show anything",
        started.elapsed()
    );
    let count = |url: String, sql: &'static str| async move {
        let mut conn = PgConnection::connect(&url).await.unwrap();
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(
        count(urls[0].clone(), "select count(*) from customer").await,
        40_000
    );
    assert_eq!(
        count(urls[1].clone(), "select count(*) from account").await,
        summary.accounts as i64
    );
    assert!(
        summary.accounts >= 1_900,
        "one customer in ten has an account: {summary:?}"
    );
}

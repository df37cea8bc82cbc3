//! The store suite, run once on SQLite and once on PostgreSQL.

use crate::on_both_stores;
use crate::support::{StoreKind, fresh_database, fresh_store_url, postgres_admin_url, temp_dir};
use engine::model::{Side, SyncErrorKind};
use engine::store::Store;
use engine::store::coupling;
use engine::store::sync_error::{self, NewSyncError};
use sqlx::{Connection, Executor, PgConnection};

on_both_stores!(
    migrations_run_once_and_reopening_is_harmless,
    mapping_state_survives_a_restart,
    the_errors_stamp_moves_when_a_change_commits_and_not_before,
    a_store_from_before_keeps_its_couplings_failures,
    errors_recorded_together_count_as_recorded_one_by_one,
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
    sync_error::record(&mut writer, "CUSTOMER", std::slice::from_ref(&error))
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

/// A store written before couplings' failures had a table of their own keeps them: the
/// migration moves each failing or skipped coupling's failure, and a coupling in sync
/// has none.
async fn a_store_from_before_keeps_its_couplings_failures(kind: StoreKind) {
    let dir = temp_dir("upgrade");
    let url = fresh_store_url(kind, &dir).await;
    let backend = match kind {
        StoreKind::Sqlite => "sqlite",
        StoreKind::Postgres => "postgres",
    };
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../engine/migrations")
        .join(backend);
    let mut before = sqlx::migrate::Migrator::new(folder).await.unwrap();
    let earlier: Vec<_> = before
        .migrations
        .iter()
        .filter(|m| m.version < 16)
        .cloned()
        .collect();
    before.migrations = earlier.into();
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    before.run(&mut conn).await.unwrap();
    let couplings = [
        ("C1", 1_i64, 2_i64, Some("refused")),
        ("C2", 0, 1, Some("refused")),
        ("C3", 0, 0, None),
    ];
    for (key, skipped, failures, failure) in couplings {
        sqlx::query(
            "insert into coupling (mapping, local_key, integration_key, skipped, failures, \
             failure, created_at) values ('CUSTOMER', $1, $1, $2, $3, $4, 0)",
        )
        .bind(key)
        .bind(skipped)
        .bind(failures)
        .bind(failure.map(str::to_string))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    drop(conn);

    let store = Store::open(&url).await.expect("the store migrates");
    let mut conn = store.conn().await.unwrap();
    let keys: Vec<String> = couplings.iter().map(|c| c.0.to_string()).collect();
    let mut found = coupling::by_keys(&mut conn, "CUSTOMER", Side::Local, &keys)
        .await
        .unwrap();
    found.sort_by(|a, b| a.local_key.cmp(&b.local_key));
    let kept: Vec<_> = found
        .iter()
        .map(|c| {
            let failure = c.failure.as_deref();
            (
                c.local_key.as_str(),
                i64::from(c.skipped),
                c.failures,
                failure,
            )
        })
        .collect();
    assert_eq!(kept, couplings);
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

/// Errors recorded in one call behave as if recorded one at a time: the same record's
/// second failure counts as a second attempt of its open error, and an error known by
/// its integration key alone finds the open error that key names.
async fn errors_recorded_together_count_as_recorded_one_by_one(kind: StoreKind) {
    let dir = temp_dir("store");
    let store = Store::open(&fresh_store_url(kind, &dir).await)
        .await
        .unwrap();
    let failed = |local: Option<&str>, integration: Option<&str>, message: &str| NewSyncError {
        coupling_id: None,
        kind: SyncErrorKind::Failed,
        side: Side::Local,
        local_key: local.map(str::to_string),
        integration_key: integration.map(str::to_string),
        description: None,
        message: message.into(),
        fields: Vec::new(),
        job_id: None,
        skipped: false,
        actor: "test".into(),
    };
    let mut conn = store.conn().await.unwrap();
    let many: Vec<NewSyncError> = (0..1_200)
        .map(|n| failed(Some(&format!("C{n:05}")), None, "refused"))
        .collect();
    let batch = [
        many,
        vec![
            failed(Some("C00007"), None, "refused"),
            failed(Some("L1"), Some("I1"), "first"),
            failed(None, Some("I1"), "second"),
        ],
    ]
    .concat();
    sync_error::record(&mut conn, "CUSTOMER", &batch)
        .await
        .unwrap();
    let keys: Vec<String> = ["C00006", "C00007", "C01199", "L1"]
        .map(str::to_string)
        .to_vec();
    let open = sync_error::open_for(&mut conn, "CUSTOMER", Side::Local, &keys)
        .await
        .unwrap();
    let seen: Vec<(Option<&str>, Option<&str>, &str, i64)> = {
        let mut seen: Vec<_> = open
            .iter()
            .map(|e| {
                (
                    e.local_key.as_deref(),
                    e.integration_key.as_deref(),
                    e.message.as_str(),
                    e.attempts,
                )
            })
            .collect();
        seen.sort();
        seen
    };
    assert_eq!(
        seen,
        [
            (Some("C00006"), None, "refused", 1),
            (Some("C00007"), None, "refused", 2),
            (Some("C01199"), None, "refused", 1),
        ],
        "one open error per record; L1's error was taken over by the error of I1"
    );
    let by_integration = sync_error::open_for(
        &mut conn,
        "CUSTOMER",
        Side::Integration,
        &["I1".to_string()],
    )
    .await
    .unwrap();
    assert_eq!(by_integration.len(), 1);
    assert_eq!(
        (
            by_integration[0].local_key.as_deref(),
            by_integration[0].message.as_str(),
            by_integration[0].attempts
        ),
        (None, "second", 1),
        "the error found by its integration key is updated, not duplicated"
    );
}

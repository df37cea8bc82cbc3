//! Backups of the store: one taken on SQLite while a synchronization runs, restored into
//! a new store that then runs on with nothing lost or duplicated; a restore into a store
//! that holds data refused; PostgreSQL stores pointed to their own tools.

use crate::on_both_stores;
use crate::support::world::World;
use crate::support::{StoreKind, temp_dir};
use engine::Engine;
use engine::config::Config;
use engine::store::backup::{BackupError, restore};

on_both_stores!(a_backup_taken_during_a_sync_is_restored_and_runs_on,);

async fn a_backup_taken_during_a_sync_is_restored_and_runs_on(kind: StoreKind) {
    let w = World::new(kind, 12_000, |c| c).await;
    let backup = w.dir.join("backup.db");
    if kind == StoreKind::Postgres {
        let refused = w.engine.store().backup(&backup).await.unwrap_err();
        assert!(matches!(refused, BackupError::Postgres), "{refused}");
        assert!(refused.to_string().contains("pg_dump"), "{refused}");
        return;
    }
    // The backup is taken while the first synchronization is under way.
    let running = {
        let engine = w.engine.clone();
        tokio::spawn(async move { engine.synchronize(Some("CUSTOMER"), false, "test").await })
    };
    while w.couplings("CUSTOMER").await == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let taken = w.engine.store().backup(&backup).await.unwrap();
    let jobs = running.await.unwrap().unwrap();
    assert_eq!(jobs[0].state, engine::model::JobState::Succeeded);
    let couplings = w.couplings("CUSTOMER").await;
    assert!(
        taken.couplings > 0 && taken.couplings < couplings,
        "taken during the run: {taken:?} of {couplings}"
    );
    let accounts = World::count(&w.crm, "select count(*) from account").await;
    let errors = w.errors("CUSTOMER").await.len();
    assert!(
        matches!(
            w.engine.store().backup(&backup).await,
            Err(BackupError::Exists(_))
        ),
        "a backup overwrites nothing"
    );

    // The store is lost; the backup goes into a new one, and the next run completes what
    // the backup had not seen yet: couplings by their pending creates and by match.
    let store_url = format!("sqlite://{}", w.dir.join("restored.db").display());
    let restored = restore(&backup, &store_url).await.unwrap();
    assert_eq!(restored.couplings, taken.couplings);
    let config = Config::load(&w.dir.join("coupler.toml")).unwrap();
    let again = Engine::open(config, &store_url).await.unwrap();
    let jobs = again
        .synchronize(Some("CUSTOMER"), false, "test")
        .await
        .unwrap();
    assert_eq!(
        jobs[0].state,
        engine::model::JobState::Succeeded,
        "{jobs:?}"
    );
    let mut conn = again.store().conn().await.unwrap();
    let restored_couplings = engine::store::coupling::count(&mut conn, "CUSTOMER")
        .await
        .unwrap();
    drop(conn);
    assert_eq!(restored_couplings, couplings, "no coupling lost");
    assert_eq!(
        World::count(&w.crm, "select count(*) from account").await,
        accounts,
        "no account created twice"
    );
    let filter = engine::model::ErrorFilter {
        mapping: Some("CUSTOMER".into()),
        ..engine::model::ErrorFilter::default()
    };
    let open = again.sync_errors(&filter, None, 1000).await.unwrap();
    assert_eq!(open.len(), errors, "the same records fail, once each");

    // A store that holds data is not restored over.
    let refused = restore(&backup, &store_url).await.unwrap_err();
    assert!(matches!(refused, BackupError::NotEmpty { .. }), "{refused}");
    assert!(refused.to_string().contains("couplings"), "{refused}");
    // Nor is a file that is no backup restored.
    let stray = temp_dir("not-a-backup").join("notes.db");
    std::fs::write(&stray, "not a database").unwrap();
    let fresh = format!("sqlite://{}", w.dir.join("other.db").display());
    assert!(matches!(
        restore(&stray, &fresh).await,
        Err(BackupError::NotABackup { .. })
    ));
}

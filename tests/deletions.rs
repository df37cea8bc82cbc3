//! Deletions in systems that keep no tombstones: a mapping's `deletion_scan` setting runs
//! Find for Deleted on a schedule of its own, which finds the records deleted since, apart
//! from the synchronization's schedule and its back-off.

use crate::on_both_stores;
use crate::support::world::World;
use crate::support::{StoreKind, drain};
use engine::model::{JobKind, Side, SyncErrorKind};

on_both_stores!(a_scheduled_scan_finds_records_deleted_without_tombstones);

const SIX_HOURS: i64 = 6 * 3600 * 1000;

async fn a_scheduled_scan_finds_records_deleted_without_tombstones(kind: StoreKind) {
    // The demo's systems with their tombstone tables left out of the configuration, and
    // the customers scanned every six hours.
    let w = World::new(kind, 30, |c| {
        c.replace("tombstones = \"tombstone\"\n", "").replacen(
            "interval = \"30s\"\n",
            "interval = \"30s\"\ndeletion_scan = \"6h\"\n",
            1,
        )
    })
    .await;
    let first = drain(&w.engine).await;
    let scans: Vec<_> = first
        .iter()
        .filter(|j| j.kind == JobKind::FindForDeleted)
        .collect();
    assert_eq!(scans.len(), 1, "one scan, of CUSTOMER: {first:?}");
    assert_eq!(
        (scans[0].mapping.as_str(), scans[0].actor.as_str()),
        ("CUSTOMER", "schedule")
    );
    let state = w.engine.store().mapping_state("CUSTOMER").await.unwrap();
    let next_scan = state.next_scan_at.expect("the next scan is planned");
    let now = engine::store::now_millis();
    assert!(
        (next_scan - (now + SIX_HOURS)).abs() < 60_000,
        "six hours on: {next_scan}, now {now}"
    );

    // Two customers deleted in the ERP, which records no tombstone Coupler reads.
    let mut gone = Vec::new();
    for sql in [
        "select min(no) from customer",
        "select max(no) from customer",
    ] {
        gone.push(World::text(&w.erp, sql).await.expect("a customer"));
    }
    for no in &gone {
        w.erp(&format!("delete from customer where no = '{no}'"))
            .await;
    }
    w.engine
        .store()
        .set_schedule("CUSTOMER", 0, 0)
        .await
        .unwrap();
    let synchronized = drain(&w.engine).await;
    assert!(
        synchronized
            .iter()
            .all(|j| j.kind != JobKind::FindForDeleted),
        "no scan before it is due: {synchronized:?}"
    );
    let deleted = |errors: &[engine::model::SyncErrorSummary]| -> Vec<String> {
        let mut keys: Vec<String> = errors
            .iter()
            .filter(|e| e.kind == SyncErrorKind::DeletedLocal)
            .filter_map(|e| e.key(Side::Local).map(str::to_string))
            .collect();
        keys.sort();
        keys
    };
    assert!(
        deleted(&w.errors("CUSTOMER").await).is_empty(),
        "a synchronization alone sees no deletion"
    );

    // Due: the scan finds both, and leaves the synchronization's schedule as it was.
    let before = w.engine.store().mapping_state("CUSTOMER").await.unwrap();
    w.engine.store().set_next_scan("CUSTOMER", 0).await.unwrap();
    let scanned = drain(&w.engine).await;
    assert_eq!(scanned.len(), 1, "{scanned:?}");
    assert_eq!(scanned[0].kind, JobKind::FindForDeleted);
    assert_eq!(scanned[0].counters.failed, 2, "{:?}", scanned[0]);
    let mut expected = gone.clone();
    expected.sort();
    assert_eq!(deleted(&w.errors("CUSTOMER").await), expected);
    let after = w.engine.store().mapping_state("CUSTOMER").await.unwrap();
    assert_eq!(
        (after.next_run_at, after.idle_runs),
        (before.next_run_at, before.idle_runs)
    );

    // Paused: no scan, however due.
    w.engine
        .set_mapping_paused("alice", "CUSTOMER", true)
        .await
        .unwrap();
    w.engine.store().set_next_scan("CUSTOMER", 0).await.unwrap();
    assert!(drain(&w.engine).await.is_empty());
}

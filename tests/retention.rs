//! Running unattended: history pruned past its retention with every record's newest log
//! entries kept and the console answering meanwhile, and a burst of new errors pausing a
//! mapping by itself, with nothing lost once someone resumes it.

use crate::on_both_stores;
use crate::support::world::World;
use crate::support::{StoreKind, TestApp, drain};
use engine::model::{AuditFilter, History, PruneReport};

on_both_stores!(
    history_past_its_retention_goes_and_each_record_keeps_its_newest_entries,
    the_console_answers_while_history_is_pruned,
    a_burst_of_errors_pauses_the_mapping_and_resume_loses_nothing,
);

const DAY: i64 = 24 * 3_600_000;

fn rows(report: &PruneReport, history: History) -> u64 {
    report
        .pruned
        .iter()
        .find(|p| p.history == history)
        .map_or_else(|| panic!("{history:?} is not in {report:?}"), |p| p.rows)
}

async fn store_count(w: &World, sql: &str) -> i64 {
    let mut conn = w.engine.store().conn().await.unwrap();
    sqlx::query_scalar(sql).fetch_one(&mut *conn).await.unwrap()
}

async fn store(w: &World, sql: &str) {
    let mut conn = w.engine.store().conn().await.unwrap();
    sqlx::query(sql).execute(&mut *conn).await.unwrap();
}

async fn history_past_its_retention_goes_and_each_record_keeps_its_newest_entries(kind: StoreKind) {
    let w = World::new(kind, 3, |c| c).await;
    w.sync("CUSTOMER").await;
    // C000001 changes twelve times: with its coupling, thirteen log entries.
    for i in 0..12 {
        w.erp(&format!(
            "update customer set city = 'City {i}', modified_at = modified_at + 1000 where no = 'C000001'"
        ))
        .await;
        w.sync("CUSTOMER").await;
    }
    // C000002 fails and stays failing; C000003 fails, then synchronizes: resolved.
    // (Changed after C000001's changes, so that the next run sees them.)
    let long = "L".repeat(200);
    let later = "(select max(modified_at) + 1000 from customer)";
    w.erp(&format!(
        "update customer set name = '{long}', modified_at = {later} where no in ('C000002', 'C000003')"
    ))
    .await;
    w.sync("CUSTOMER").await;
    w.erp(&format!(
        "update customer set name = 'Short', modified_at = {later} where no = 'C000003'"
    ))
    .await;
    w.sync("CUSTOMER").await;
    let open = w.errors("CUSTOMER").await;
    assert_eq!(open.len(), 1, "{open:?}");

    // Everything happened long ago: past every retention.
    store(&w, &format!("update log_entry set at = at - {}", 100 * DAY)).await;
    store(
        &w,
        &format!(
            "update job set created_at = created_at - {d}, finished_at = finished_at - {d}",
            d = 100 * DAY
        ),
    )
    .await;
    store(
        &w,
        &format!(
            "update sync_error set first_failed_at = first_failed_at - {d}, \
             failed_at = failed_at - {d}, resolved_at = resolved_at - {d}",
            d = 40 * DAY
        ),
    )
    .await;
    store(
        &w,
        &format!("update audit_entry set at = at - {}", 500 * DAY),
    )
    .await;
    store(
        &w,
        "insert into audit_entry (at, actor, action, selection, outcome) \
         values (1000, 'alice', 'retry', 'old', 'done')",
    )
    .await;

    let entries = "select count(*) from log_entry";
    let of_c1 = "select count(*) from log_entry where local_key = 'C000001'";
    let (all_before, c1_before) = (store_count(&w, entries).await, store_count(&w, of_c1).await);
    let jobs_before = store_count(&w, "select count(*) from job").await;
    assert!(c1_before >= 13, "{c1_before}");
    let newest_c1: Vec<i64> = {
        let mut conn = w.engine.store().conn().await.unwrap();
        sqlx::query_scalar(
            "select id from log_entry where local_key = 'C000001' order by id desc limit 10",
        )
        .fetch_all(&mut *conn)
        .await
        .unwrap()
    };

    let dry = w.engine.prune("alice", true, |_| {}).await.unwrap();
    assert!(dry.dry_run);
    assert_eq!(
        store_count(&w, entries).await,
        all_before,
        "a dry run removes nothing"
    );
    assert_eq!(
        store_count(&w, "select count(*) from job").await,
        jobs_before
    );

    let mut told = Vec::new();
    let report = w
        .engine
        .prune("alice", false, |p| told.push(p.history))
        .await
        .unwrap();
    assert_eq!(told, History::ALL, "each kind is told as it is done");
    for history in History::ALL {
        assert_eq!(
            rows(&report, history),
            rows(&dry, history),
            "{history:?}: the dry run counted what went"
        );
    }

    // C000001 keeps exactly its ten newest entries; the others had fewer: all kept.
    assert_eq!(rows(&report, History::LogEntries), (c1_before - 10) as u64);
    let kept: Vec<i64> = {
        let mut conn = w.engine.store().conn().await.unwrap();
        sqlx::query_scalar("select id from log_entry where local_key = 'C000001' order by id desc")
            .fetch_all(&mut *conn)
            .await
            .unwrap()
    };
    assert_eq!(kept, newest_c1);
    assert_eq!(
        store_count(&w, entries).await,
        all_before - (c1_before - 10)
    );
    assert!(
        store_count(
            &w,
            "select count(*) from log_entry where local_key = 'C000002'"
        )
        .await
            >= 2
    );

    // The mapping keeps its newest job (the newest is a success too); the others went.
    assert_eq!(
        store_count(&w, "select count(*) from job where mapping = 'CUSTOMER'").await,
        1
    );
    assert_eq!(rows(&report, History::Jobs), (jobs_before - 1) as u64);
    let last = w.engine.mapping_health().await.unwrap();
    assert!(
        last.iter()
            .any(|h| h.mapping == "CUSTOMER" && h.last_success_at.is_some()),
        "{last:?}"
    );

    // The resolved error went; the open one stays, however old.
    assert_eq!(rows(&report, History::ResolvedErrors), 1);
    assert_eq!(w.errors("CUSTOMER").await.len(), 1);

    // Old audit entries went; the prune itself is in the audit log.
    assert!(rows(&report, History::AuditEntries) >= 1);
    let audit = w.engine.audit(&AuditFilter::default(), 100).await.unwrap();
    assert!(audit.iter().all(|a| a.selection != "old"), "{audit:?}");
    let prune = audit
        .iter()
        .find(|a| a.action == "prune")
        .expect("the prune is audited");
    assert_eq!(prune.actor, "alice");
    assert!(prune.outcome.contains("log entries"), "{prune:?}");

    // A second prune finds nothing more.
    let again = w.engine.prune("alice", false, |_| {}).await.unwrap();
    assert_eq!(again.rows(), 0, "{again:?}");
}

async fn the_console_answers_while_history_is_pruned(kind: StoreKind) {
    let app = TestApp::spawn_with(kind, 10).await;
    let added = engine::demo::add_old_log_entries(
        app.engine.store(),
        "CUSTOMER",
        4_000,
        20,
        std::time::Duration::from_secs(200 * 24 * 3600),
    )
    .await
    .unwrap();
    let pruning = {
        let engine = app.engine.clone();
        tokio::spawn(async move { engine.prune("test", false, |_| {}).await })
    };
    let mut answered = 0;
    while !pruning.is_finished() {
        for page in ["/", "/errors", "/jobs"] {
            let response = app.get(page).await;
            assert_eq!(
                response.status, 200,
                "{page} while pruning: {}",
                response.body
            );
            answered += 1;
        }
    }
    let report = pruning.await.unwrap().unwrap();
    assert!(answered > 0);
    // Twenty entries a record, ten kept: half went.
    assert_eq!(rows(&report, History::LogEntries), added / 2, "{report:?}");
}

async fn a_burst_of_errors_pauses_the_mapping_and_resume_loses_nothing(kind: StoreKind) {
    let w = World::new(kind, 6, |c| {
        c.replacen(
            "name = \"CUSTOMER\"",
            "name = \"CUSTOMER\"\npause_after = { errors = 3, within = \"15m\" }",
            1,
        ) + "\n[[alert]]\nname = \"paused\"\nwhen = \"paused\"\nmapping = \"CUSTOMER\"\n\
             webhook = { url = \"http://127.0.0.1:9/hooks\" }\n"
    })
    .await;
    w.sync("CUSTOMER").await;
    let summary = w.engine.mapping("CUSTOMER").await.unwrap();
    assert_eq!(summary.pause_after.as_deref(), Some("3 errors within 15m"));

    // Two failures: below the burst.
    let long = "L".repeat(200);
    w.erp(&format!(
        "update customer set name = '{long}', modified_at = modified_at + 1000 where no in ('C000001', 'C000002')"
    ))
    .await;
    w.sync("CUSTOMER").await;
    assert!(!w.engine.mapping("CUSTOMER").await.unwrap().paused);

    // A third: the mapping pauses itself, and says why.
    w.erp(&format!(
        "update customer set name = '{long}', modified_at = modified_at + 1000 where no = 'C000003'"
    ))
    .await;
    w.sync("CUSTOMER").await;
    let paused = w.engine.mapping("CUSTOMER").await.unwrap();
    assert!(paused.paused, "{paused:?}");
    assert_eq!(paused.paused_by.as_deref(), Some("coupler"));
    let reason = paused.pause_reason.clone().unwrap_or_default();
    assert!(
        reason.contains("3 errors were first found within 15m"),
        "{reason}"
    );
    // The pause fires its alert at once, with the reason.
    let firings = w.engine.alerts_view().await.unwrap().firings;
    assert_eq!(firings.len(), 1, "{firings:?}");
    assert_eq!(firings[0].state, engine::model::FiringState::Firing);
    assert!(firings[0].message.contains(&reason), "{firings:?}");
    let health = w.engine.mapping_health().await.unwrap();
    assert!(
        health.iter().any(|h| h.mapping == "CUSTOMER"
            && h.problems
                .iter()
                .any(|p| p.code == engine::model::ProblemCode::Paused)),
        "{health:?}"
    );
    let audit = w.engine.audit(&AuditFilter::default(), 100).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "pause" && a.actor == "coupler" && a.outcome == reason),
        "{audit:?}"
    );

    // While paused, the schedule leaves its changes alone.
    w.erp(
        "update customer set city = 'Alta', modified_at = modified_at + 1000 where no = 'C000004'",
    )
    .await;
    w.schedule_customer_due(engine::store::now_millis() - 1000)
        .await;
    let ran = drain(&w.engine).await;
    assert!(ran.iter().all(|job| job.mapping != "CUSTOMER"), "{ran:?}");
    let city = "address1_city";
    assert_ne!(
        w.account_value("C000004", city).await.as_deref(),
        Some("Alta")
    );

    // Resumed: the change made meanwhile goes through, and the same errors failing again
    // do not pause it a second time.
    let resumed = w
        .engine
        .set_mapping_paused("alice", "CUSTOMER", false)
        .await
        .unwrap();
    assert!(
        !resumed.paused && resumed.pause_reason.is_none(),
        "{resumed:?}"
    );
    w.schedule_customer_due(engine::store::now_millis() - 1000)
        .await;
    let ran = drain(&w.engine).await;
    assert!(ran.iter().any(|job| job.mapping == "CUSTOMER"), "{ran:?}");
    assert_eq!(
        w.account_value("C000004", city).await.as_deref(),
        Some("Alta")
    );
    assert!(!w.engine.mapping("CUSTOMER").await.unwrap().paused);
    assert_eq!(w.errors("CUSTOMER").await.len(), 3);
}

//! Sync health and mapping health on the demo: each mapping's records counted by state,
//! each count's list showing those records with their status, and each problem of a
//! mapping told while it holds and gone once fixed.

use crate::on_both_stores;
use crate::support::StoreKind;
use crate::support::world::World;
use engine::model::{MappingHealth, ProblemCode, Side, StatusCode};
use std::collections::HashMap;

on_both_stores!(
    each_state_is_counted_and_its_count_lists_those_records,
    the_records_in_sync_are_listed_a_page_at_a_time,
    each_problem_of_a_mapping_is_told_and_goes_when_fixed,
);

async fn counts(w: &World) -> HashMap<StatusCode, (i64, bool)> {
    w.engine
        .records_by_state("CUSTOMER")
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.code, (c.count, c.at_least)))
        .collect()
}

/// The keys listed on the first page of `state`, each with the state its status has now.
async fn listed(w: &World, state: StatusCode) -> Vec<(Side, String, StatusCode)> {
    let page = w
        .engine
        .list_records_by_status("CUSTOMER", state, 0)
        .await
        .unwrap();
    assert!(!page.more, "one page: {page:?}");
    page.rows
        .into_iter()
        .map(|s| (s.side, s.key, s.state))
        .collect()
}

async fn each_state_is_counted_and_its_count_lists_those_records(kind: StoreKind) {
    let customer =
        r#"local = { system = "erp", table = "customer", key = "no", modified = "modified_at" }"#;
    let w = World::new(kind, 6, |c| {
        c.replacen(
            customer,
            &customer.replace(" }", r#", filter = "city <> 'Outside'" }"#),
            1,
        )
    })
    .await;
    let before = counts(&w).await;
    let records = World::count(&w.erp, "select count(*) from customer").await
        + World::count(&w.crm, "select count(*) from account").await;
    assert_eq!(
        before[&StatusCode::New],
        (records, false),
        "nothing is coupled yet: every record of both sides is new"
    );
    assert_eq!(before[&StatusCode::InSync], (0, false));
    w.sync("CUSTOMER").await;
    assert_eq!(counts(&w).await[&StatusCode::InSync], (6, false));

    // A record the CRM refuses fails; a record changed on both sides conflicts.
    let long = "L".repeat(200);
    w.erp(&format!(
        "insert into customer (no, name, city, email) values ('C900009', '{long}', 'Oslo', 'long@new.example')"
    ))
    .await;
    let account = w.account_of("C000002").await;
    w.erp("update customer set city = 'Bergen', modified_at = modified_at + 1000 where no = 'C000002'")
        .await;
    w.crm(&format!(
        "update account set address1_city = 'Narvik', modifiedon = modifiedon + 1000 where accountid = '{account}'"
    ))
    .await;
    w.sync("CUSTOMER").await;
    // Someone uncouples C000004; then records change without a run.
    w.uncouple_customer("alice", "C000004").await;
    w.erp("update customer set city = 'Tromsø', modified_at = modified_at + 1000 where no = 'C000001'")
        .await;
    w.erp("insert into customer (no, name, city, email) values ('C900001', 'Fresh Co', 'Oslo', 'fresh@new.example')")
        .await;
    w.erp("insert into customer (no, name, city, email) values ('C900002', 'Away Co', 'Outside', 'away@new.example')")
        .await;

    let now = counts(&w).await;
    let count = |state| now[&state].0;
    assert_eq!(count(StatusCode::Pending), 1, "{now:?}");
    assert_eq!(count(StatusCode::New), 1, "{now:?}");
    assert_eq!(count(StatusCode::Failing), 1, "{now:?}");
    assert_eq!(count(StatusCode::UpdateConflict), 1, "{now:?}");
    assert_eq!(count(StatusCode::ExcludedByFilter), 1, "{now:?}");
    assert_eq!(
        count(StatusCode::Uncoupled),
        2,
        "both records of C000004: {now:?}"
    );
    // Six coupled, less C000004 uncoupled, C000002 in conflict and C000001 pending.
    assert_eq!(count(StatusCode::InSync), 3, "{now:?}");
    assert_eq!(count(StatusCode::Skipped), 0, "{now:?}");
    assert_eq!(count(StatusCode::Deferred), 0, "{now:?}");

    let local = |key: &str, state| (Side::Local, key.to_string(), state);
    assert_eq!(
        listed(&w, StatusCode::Pending).await,
        [local("C000001", StatusCode::Pending)]
    );
    assert_eq!(
        listed(&w, StatusCode::New).await,
        [local("C900001", StatusCode::New)]
    );
    assert_eq!(
        listed(&w, StatusCode::Failing).await,
        [local("C900009", StatusCode::Failing)]
    );
    assert_eq!(
        listed(&w, StatusCode::ExcludedByFilter).await,
        [local("C900002", StatusCode::ExcludedByFilter)]
    );
    let conflict = listed(&w, StatusCode::UpdateConflict).await;
    assert_eq!(conflict.len(), 1, "{conflict:?}");
    assert_eq!(conflict[0].2, StatusCode::UpdateConflict);
    let uncoupled = listed(&w, StatusCode::Uncoupled).await;
    assert_eq!(
        uncoupled.iter().map(|r| r.2).collect::<Vec<_>>(),
        [StatusCode::Uncoupled; 2],
        "{uncoupled:?}"
    );
    let in_sync = listed(&w, StatusCode::InSync).await;
    assert!(
        in_sync
            .iter()
            .all(|r| r.2 == StatusCode::InSync || r.0 == Side::Local && r.1 == "C000001"),
        "{in_sync:?}"
    );

    // The run takes up what was pending and new.
    w.sync("CUSTOMER").await;
    let after = counts(&w).await;
    assert_eq!(after[&StatusCode::Pending].0, 0, "{after:?}");
    assert_eq!(after[&StatusCode::New].0, 0, "{after:?}");
    assert_eq!(
        after[&StatusCode::InSync].0,
        5,
        "C000001 and C900001 in sync: {after:?}"
    );

    // A customer whose e-mail two accounts share is held, and counted as such, not as
    // failing.
    w.erp("insert into customer (no, name, city, email) values ('C900003', 'Twin Co', 'Oslo', 'twin@new.example')")
        .await;
    for id in ["twin-a", "twin-b"] {
        w.crm(&format!(
            "insert into account (accountid, name, emailaddress1) values ('{id}', 'Twin', 'twin@new.example')"
        ))
        .await;
    }
    w.sync("CUSTOMER").await;
    let held = counts(&w).await;
    // The customer and both accounts.
    assert_eq!(held[&StatusCode::AmbiguousMatch].0, 3, "{held:?}");
    // C900009 failed a second time: skipped now, and nothing else fails.
    assert_eq!(held[&StatusCode::Failing].0, 0, "{held:?}");
    assert_eq!(held[&StatusCode::Skipped].0, 1, "{held:?}");
    let listed_held = listed(&w, StatusCode::AmbiguousMatch).await;
    assert!(
        listed_held.contains(&local("C900003", StatusCode::AmbiguousMatch)),
        "{listed_held:?}"
    );
    assert_eq!(
        listed(&w, StatusCode::Skipped).await,
        [local("C900009", StatusCode::Skipped)]
    );
}

async fn the_records_in_sync_are_listed_a_page_at_a_time(kind: StoreKind) {
    let w = World::new(kind, 30, |c| c).await;
    w.sync("CUSTOMER").await;
    let first = w
        .engine
        .list_records_by_status("CUSTOMER", StatusCode::InSync, 0)
        .await
        .unwrap();
    assert_eq!(first.rows.len(), 25);
    assert!(first.more);
    let second = w
        .engine
        .list_records_by_status("CUSTOMER", StatusCode::InSync, 1)
        .await
        .unwrap();
    assert_eq!(second.rows.len(), 5);
    assert!(!second.more);
    let mut keys: Vec<String> = first
        .rows
        .iter()
        .chain(&second.rows)
        .map(|s| s.key.clone())
        .collect();
    keys.dedup();
    assert_eq!(keys.len(), 30, "every record once: {keys:?}");
    assert!(first.rows.iter().all(|s| s.state == StatusCode::InSync));
}

async fn health(w: &World) -> MappingHealth {
    w.engine
        .mapping_health()
        .await
        .unwrap()
        .into_iter()
        .find(|h| h.mapping == "CUSTOMER")
        .unwrap()
}

fn problems(h: &MappingHealth) -> Vec<ProblemCode> {
    h.problems.iter().map(|p| p.code).collect()
}

async fn each_problem_of_a_mapping_is_told_and_goes_when_fixed(kind: StoreKind) {
    let w = World::new(kind, 5, |c| c).await;
    w.sync("CUSTOMER").await;
    let h = health(&w).await;
    assert!(h.healthy(), "{h:?}");
    assert!(h.last_success_at.is_some());

    w.engine
        .set_mapping_paused("alice", "CUSTOMER", true)
        .await
        .unwrap();
    assert_eq!(problems(&health(&w).await), [ProblemCode::Paused]);
    w.engine
        .set_mapping_paused("alice", "CUSTOMER", false)
        .await
        .unwrap();
    assert!(health(&w).await.healthy());

    // The CRM's table goes away: the column check and the failed run both tell of it.
    w.crm("alter table account rename to account_gone").await;
    let h = health(&w).await;
    assert_eq!(problems(&h), [ProblemCode::MissingColumn], "{h:?}");
    assert!(h.problems[0].message.contains("account"), "{h:?}");
    w.run("CUSTOMER").await;
    w.run("CUSTOMER").await;
    let h = health(&w).await;
    assert_eq!(
        problems(&h),
        [ProblemCode::JobFailing, ProblemCode::MissingColumn],
        "{h:?}"
    );
    assert!(h.problems[0].message.contains("2 runs in a row"), "{h:?}");
    w.crm("alter table account_gone rename to account").await;
    w.sync("CUSTOMER").await;
    assert!(health(&w).await.healthy());

    // A mapped column dropped since start.
    w.crm("alter table account drop column telephone1").await;
    let h = health(&w).await;
    assert_eq!(problems(&h), [ProblemCode::MissingColumn], "{h:?}");
    assert!(h.problems[0].message.contains("telephone1"), "{h:?}");
    w.crm("alter table account add column telephone1 text")
        .await;
    assert!(health(&w).await.healthy());

    // Nothing has run the schedule for an hour, nor has any run succeeded.
    let hour_ago = engine::store::now_millis() - 3_600_000;
    w.schedule_customer_due(hour_ago).await;
    let mut conn = w.engine.store().conn().await.unwrap();
    sqlx::query("update job set finished_at = $1 where mapping = 'CUSTOMER'")
        .bind(hour_ago)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    assert_eq!(
        problems(&health(&w).await),
        [ProblemCode::NoRecentSuccess, ProblemCode::NoWorker]
    );
    w.sync("CUSTOMER").await;
    assert_eq!(problems(&health(&w).await), [ProblemCode::NoWorker]);

    // Errors found now, where none were found before.
    for n in 0..engine::ERRORS_GROWING_FROM {
        let long = "L".repeat(200);
        w.erp(&format!(
            "insert into customer (no, name, email) values ('C9{n:05}', '{long}', 'long{n}@new.example')"
        ))
        .await;
    }
    w.sync("CUSTOMER").await;
    let h = health(&w).await;
    assert_eq!(
        problems(&h),
        [ProblemCode::NoWorker, ProblemCode::ErrorsGrowing],
        "{h:?}"
    );
}

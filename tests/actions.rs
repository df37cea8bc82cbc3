//! Remediation actions on real conflicts, deletions and failures: each action's effect
//! on both systems, the couplings, the errors, the log and the audit; refused and stale
//! actions change nothing; an action id does its work once. On SQLite and PostgreSQL.

use crate::on_both_stores;
use crate::support::StoreKind;
use crate::support::world::World;
use engine::model::{
    ErrorCursor, ErrorFilter, Outcome, Resolution, Selection, Side, SyncErrorKind,
};

on_both_stores!(
    retry_fails_again_until_the_value_is_fixed_then_synchronizes,
    retry_all_takes_every_error_matching_the_filter,
    synchronize_resolves_a_conflict_by_side_by_field_and_refuses_a_conflicting_merge,
    restore_and_delete_records_act_on_the_survivor,
    remove_coupling_leaves_both_records,
    couplings_are_removed_as_a_job_and_set_up_by_hand,
    find_for_deleted_reports_records_gone_without_tombstones,
    two_administrators_on_one_error_exactly_one_wins,
    the_same_action_id_twice_does_the_work_once,
    an_action_id_belongs_to_the_account_that_sent_it,
    errors_filter_by_text_and_time_page_by_keyset_and_count,
    an_error_shows_both_records_with_their_base_values,
);

const CUSTOMERS: u64 = 20;
const LONG: &str = "Castillo Furniture Group, registered office and principal place of business at the Industrial Estate, North Wing, Building Seven, Harbour Road, Rotterdam, the Netherlands, European Union";

/// A world where CUSTOMER has synchronized and then C000005 conflicts on city.
async fn with_conflict(kind: StoreKind) -> World {
    let w = World::new(kind, CUSTOMERS, |c| c).await;
    w.sync("CUSTOMER").await;
    let account = w.account_of("C000005").await;
    w.erp("update customer set city = 'Lisbon', phone = '+1 555 0005' where no = 'C000005'")
        .await;
    w.crm(&format!(
        "update account set address1_city = 'Reykjavik' where accountid = '{account}'"
    ))
    .await;
    w.sync("CUSTOMER").await;
    assert_eq!(
        w.errors_of("CUSTOMER", SyncErrorKind::UpdateConflict)
            .await
            .len(),
        1
    );
    w
}

async fn retry_fails_again_until_the_value_is_fixed_then_synchronizes(kind: StoreKind) {
    let w = World::new(kind, CUSTOMERS, |c| c).await;
    w.erp(&format!(
        "update customer set name = '{LONG}' where no = 'C000008'"
    ))
    .await;
    w.sync("CUSTOMER").await;
    w.sync("CUSTOMER").await;
    let errors = w.errors_of("CUSTOMER", SyncErrorKind::Failed).await;
    assert!(errors[0].skipped);

    let answer = w
        .engine
        .retry("alice", "retry-1", &Selection::Errors(World::seen(&errors)))
        .await
        .unwrap();
    assert_eq!(answer.outcomes.len(), 1);
    assert_eq!(answer.outcomes[0].outcome, Outcome::Failed);
    assert!(
        answer.outcomes[0].message.contains("takes at most 160"),
        "{}",
        answer.outcomes[0].message
    );
    let errors = w.errors_of("CUSTOMER", SyncErrorKind::Failed).await;
    assert!(
        !errors[0].skipped,
        "one new failure after a retry: not skipped yet"
    );

    w.erp("update customer set name = 'Castillo Furniture Group' where no = 'C000008'")
        .await;
    let answer = w
        .engine
        .retry("alice", "retry-2", &Selection::Errors(World::seen(&errors)))
        .await
        .unwrap();
    assert_eq!(
        answer.outcomes[0].outcome,
        Outcome::Done,
        "{:?}",
        answer.outcomes
    );
    assert!(w.errors("CUSTOMER").await.is_empty());
    assert_eq!(
        w.account_value("C000008", "name").await.as_deref(),
        Some("Castillo Furniture Group")
    );
    let log = w
        .engine
        .record_log("CUSTOMER", Side::Local, "C000008", 10)
        .await
        .unwrap();
    assert_eq!(
        (log[0].action.as_str(), log[0].actor.as_str()),
        ("inserted", "alice")
    );
}

async fn retry_all_takes_every_error_matching_the_filter(kind: StoreKind) {
    let w = with_conflict(kind).await;
    for no in ["C000008", "C000009"] {
        w.erp(&format!(
            "update customer set name = '{LONG} {no}' where no = '{no}'"
        ))
        .await;
    }
    w.sync("CUSTOMER").await;
    assert_eq!(
        w.errors_of("CUSTOMER", SyncErrorKind::Failed).await.len(),
        2
    );
    let filter = ErrorFilter {
        mapping: Some("CUSTOMER".into()),
        kind: Some(SyncErrorKind::Failed),
        ..ErrorFilter::default()
    };
    let answer = w
        .engine
        .retry("bob", "retry-all", &Selection::Matching(filter))
        .await
        .unwrap();
    assert_eq!(
        answer.outcomes.len(),
        2,
        "only the failed ones: {:?}",
        answer.outcomes
    );
    assert!(answer.outcomes.iter().all(|o| o.outcome == Outcome::Failed));
    let conflict = w.errors_of("CUSTOMER", SyncErrorKind::UpdateConflict).await;
    assert!(
        conflict[0].skipped,
        "the conflict was not part of the selection"
    );
}

async fn synchronize_resolves_a_conflict_by_side_by_field_and_refuses_a_conflicting_merge(
    kind: StoreKind,
) {
    let w = with_conflict(kind).await;
    let conflict = w.errors_of("CUSTOMER", SyncErrorKind::UpdateConflict).await;
    let merge = w
        .engine
        .resolve(
            "alice",
            "merge",
            &World::seen(&conflict),
            &Resolution::Merge,
        )
        .await
        .unwrap();
    assert_eq!(merge.outcomes[0].outcome, Outcome::Refused);
    assert!(
        merge.outcomes[0]
            .message
            .contains("city changed on both sides"),
        "{}",
        merge.outcomes[0].message
    );
    assert_eq!(
        w.account_value("C000005", "address1_city").await.as_deref(),
        Some("Reykjavik"),
        "nothing written"
    );

    let choices = [("city".to_string(), Side::Integration)]
        .into_iter()
        .collect();
    let answer = w
        .engine
        .resolve(
            "alice",
            "by-field",
            &World::seen(&conflict),
            &Resolution::Fields(choices),
        )
        .await
        .unwrap();
    assert_eq!(
        answer.outcomes[0].outcome,
        Outcome::Done,
        "{:?}",
        answer.outcomes
    );
    assert_eq!(
        w.customer_value("C000005", "city").await.as_deref(),
        Some("Reykjavik")
    );
    assert_eq!(
        w.account_value("C000005", "address1_city").await.as_deref(),
        Some("Reykjavik")
    );
    assert_eq!(
        w.account_value("C000005", "telephone1").await.as_deref(),
        Some("+1 555 0005"),
        "the rest merged"
    );
    assert!(w.errors("CUSTOMER").await.is_empty());
    let log = w
        .engine
        .record_log("CUSTOMER", Side::Local, "C000005", 1)
        .await
        .unwrap();
    assert_eq!(log[0].action, "resolved");
    assert!(
        log[0].changes.iter().any(|c| c.field == "city"),
        "{:?}",
        log[0].changes
    );
    assert_eq!(
        w.sync("CUSTOMER").await.counters,
        Default::default(),
        "settled"
    );

    // Again, and this time the local data wins.
    let account = w.account_of("C000005").await;
    w.erp("update customer set city = 'Lisbon' where no = 'C000005'")
        .await;
    w.crm(&format!(
        "update account set address1_city = 'Tromsø' where accountid = '{account}'"
    ))
    .await;
    w.sync("CUSTOMER").await;
    let conflict = w.errors_of("CUSTOMER", SyncErrorKind::UpdateConflict).await;
    let answer = w
        .engine
        .resolve(
            "alice",
            "by-side",
            &World::seen(&conflict),
            &Resolution::Local,
        )
        .await
        .unwrap();
    assert_eq!(answer.outcomes[0].outcome, Outcome::Done);
    assert_eq!(
        w.account_value("C000005", "address1_city").await.as_deref(),
        Some("Lisbon")
    );
}

async fn restore_and_delete_records_act_on_the_survivor(kind: StoreKind) {
    let w = World::new(kind, CUSTOMERS, |c| c).await;
    w.sync("CUSTOMER").await;
    let account6 = w.account_of("C000006").await;
    let name6 = w.account_value("C000006", "name").await;
    let account7 = w.account_of("C000007").await;
    w.crm(&format!(
        "delete from account where accountid = '{account6}'"
    ))
    .await;
    w.erp("delete from customer where no = 'C000007'").await;
    w.sync("CUSTOMER").await;

    let gone = w
        .errors_of("CUSTOMER", SyncErrorKind::DeletedIntegration)
        .await;
    let both = w
        .engine
        .delete_records(
            "alice",
            "wrong",
            &World::seen(&w.errors_of("CUSTOMER", SyncErrorKind::UpdateConflict).await),
        )
        .await
        .unwrap();
    assert!(both.outcomes.is_empty());
    let answer = w
        .engine
        .restore_records("alice", "restore", &World::seen(&gone))
        .await
        .unwrap();
    assert_eq!(
        answer.outcomes[0].outcome,
        Outcome::Done,
        "{:?}",
        answer.outcomes
    );
    assert_eq!(
        w.account_of("C000006").await,
        account6,
        "recreated with its key, coupled again"
    );
    assert_eq!(w.account_value("C000006", "name").await, name6);
    assert_eq!(w.sync("CUSTOMER").await.counters.failed, 0);

    // Restoring again: both records exist now.
    let again = w
        .engine
        .restore_records(
            "alice",
            "restore-again",
            &[engine::model::ErrorRef {
                id: gone[0].id,
                version: gone[0].version + 1,
            }],
        )
        .await
        .unwrap();
    assert_eq!(
        again.outcomes[0].outcome,
        Outcome::Stale,
        "resolved already: {:?}",
        again.outcomes
    );

    let deleted = w.errors_of("CUSTOMER", SyncErrorKind::DeletedLocal).await;
    let answer = w
        .engine
        .delete_records("bob", "delete", &World::seen(&deleted))
        .await
        .unwrap();
    assert_eq!(
        answer.outcomes[0].outcome,
        Outcome::Done,
        "{:?}",
        answer.outcomes
    );
    assert_eq!(
        World::count(
            &w.crm,
            &format!("select count(*) from account where accountid = '{account7}'")
        )
        .await,
        0
    );
    assert_eq!(w.coupled("CUSTOMER", Side::Local, "C000007").await, None);
    assert!(w.errors("CUSTOMER").await.is_empty());
    let log = w
        .engine
        .record_log("CUSTOMER", Side::Integration, &account7, 1)
        .await
        .unwrap();
    assert_eq!(
        (log[0].action.as_str(), log[0].actor.as_str()),
        ("deleted", "bob")
    );
}

async fn remove_coupling_leaves_both_records(kind: StoreKind) {
    let w = with_conflict(kind).await;
    let account = w.account_of("C000005").await;
    let conflict = w.errors_of("CUSTOMER", SyncErrorKind::UpdateConflict).await;
    let answer = w
        .engine
        .remove_coupling("alice", "uncouple", &World::seen(&conflict))
        .await
        .unwrap();
    assert_eq!(answer.outcomes[0].outcome, Outcome::Done);
    assert_eq!(w.coupled("CUSTOMER", Side::Local, "C000005").await, None);
    assert!(w.errors("CUSTOMER").await.is_empty());
    let accounts = World::count(&w.crm, "select count(*) from account").await;
    let job = w.sync("CUSTOMER").await;
    assert_eq!(
        (job.counters.inserted, job.counters.coupled),
        (0, 0),
        "left alone until it changes"
    );
    assert_eq!(
        World::count(&w.crm, "select count(*) from account").await,
        accounts
    );
    assert_eq!(
        World::count(
            &w.crm,
            &format!("select count(*) from account where accountid = '{account}'")
        )
        .await,
        1
    );
}

async fn couplings_are_removed_as_a_job_and_set_up_by_hand(kind: StoreKind) {
    let w = World::new(kind, CUSTOMERS, |c| c).await;
    w.sync("CUSTOMER").await;
    let account = w.account_of("C000001").await;
    let job = w
        .engine
        .remove_couplings("alice", "CUSTOMER", engine::UncouplingScope::Every, true)
        .await
        .unwrap();
    assert_eq!(job.counters.uncoupled, 20);
    assert_eq!(w.couplings("CUSTOMER").await, 0);
    assert_eq!(
        World::count(&w.crm, "select count(*) from account").await,
        20,
        "both records stay"
    );
    assert_eq!(
        w.sync("CUSTOMER").await.counters,
        Default::default(),
        "nothing recreated"
    );

    w.crm(&format!(
        "update account set telephone1 = 'old' where accountid = '{account}'"
    ))
    .await;
    let answer = w
        .engine
        .set_up_coupling(
            "alice",
            "couple",
            "CUSTOMER",
            "C000001",
            &account,
            Some(Side::Local),
        )
        .await
        .unwrap();
    assert_eq!(
        answer.outcomes[0].outcome,
        Outcome::Done,
        "{:?}",
        answer.outcomes
    );
    assert_eq!(w.account_of("C000001").await, account);
    assert_eq!(
        w.account_value("C000001", "telephone1").await,
        w.customer_value("C000001", "phone").await
    );
    let twice = w
        .engine
        .set_up_coupling(
            "alice",
            "couple-again",
            "CUSTOMER",
            "C000001",
            &account,
            None,
        )
        .await
        .unwrap();
    assert_eq!(twice.outcomes[0].outcome, Outcome::Refused);
    assert!(
        twice.outcomes[0].message.contains("coupled already"),
        "{}",
        twice.outcomes[0].message
    );
}

async fn find_for_deleted_reports_records_gone_without_tombstones(kind: StoreKind) {
    // Systems that keep no tombstones: a deletion is seen only by looking.
    let w = World::new(kind, CUSTOMERS, |c| {
        c.replace("tombstones = \"tombstone\"\n", "")
    })
    .await;
    w.sync("CUSTOMER").await;
    let account = w.account_of("C000003").await;
    w.crm(&format!(
        "delete from account where accountid = '{account}'"
    ))
    .await;
    assert_eq!(
        w.sync("CUSTOMER").await.counters.failed,
        0,
        "not seen by a synchronization"
    );
    let job = w
        .engine
        .find_deleted("alice", "CUSTOMER", true)
        .await
        .unwrap();
    assert_eq!(job.counters.failed, 1);
    let errors = w
        .errors_of("CUSTOMER", SyncErrorKind::DeletedIntegration)
        .await;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].local_key.as_deref(), Some("C000003"));
    let again = w
        .engine
        .find_deleted("alice", "CUSTOMER", true)
        .await
        .unwrap();
    assert_eq!(again.counters.failed, 0, "reported once");
}

async fn two_administrators_on_one_error_exactly_one_wins(kind: StoreKind) {
    let w = with_conflict(kind).await;
    let seen = World::seen(&w.errors_of("CUSTOMER", SyncErrorKind::UpdateConflict).await);
    let (alice, bob) = tokio::join!(
        w.engine
            .resolve("alice", "alice-1", &seen, &Resolution::Local),
        w.engine
            .resolve("bob", "bob-1", &seen, &Resolution::Integration),
    );
    let (alice, bob) = (alice.unwrap(), bob.unwrap());
    let outcomes = [alice.outcomes[0].outcome, bob.outcomes[0].outcome];
    assert!(
        outcomes.contains(&Outcome::Done) && outcomes.contains(&Outcome::Stale),
        "{outcomes:?}"
    );
    let (winner, loser) = if outcomes[0] == Outcome::Done {
        ("alice", &bob)
    } else {
        ("bob", &alice)
    };
    assert!(
        loser.outcomes[0]
            .message
            .starts_with(&format!("already handled by {winner} at ")),
        "{}",
        loser.outcomes[0].message
    );
    let city = w.customer_value("C000005", "city").await;
    assert_eq!(
        city,
        w.account_value("C000005", "address1_city").await,
        "one side's data, on both sides"
    );
}

async fn the_same_action_id_twice_does_the_work_once(kind: StoreKind) {
    let w = World::new(kind, CUSTOMERS, |c| c).await;
    w.sync("CUSTOMER").await;
    let account = w.account_of("C000006").await;
    w.crm(&format!(
        "delete from account where accountid = '{account}'"
    ))
    .await;
    w.sync("CUSTOMER").await;
    let seen = World::seen(
        &w.errors_of("CUSTOMER", SyncErrorKind::DeletedIntegration)
            .await,
    );
    let first = w
        .engine
        .restore_records("alice", "once", &seen)
        .await
        .unwrap();
    w.crm(&format!(
        "delete from account where accountid = '{account}'"
    ))
    .await;
    let second = w
        .engine
        .restore_records("alice", "once", &seen)
        .await
        .unwrap();
    assert_eq!(first, second, "the stored answer");
    assert_eq!(
        World::count(
            &w.crm,
            &format!("select count(*) from account where accountid = '{account}'")
        )
        .await,
        0,
        "not restored a second time"
    );
    let audit = w
        .engine
        .audit(&engine::model::AuditFilter::default(), 10)
        .await
        .unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.action == "restore_records")
            .count(),
        1
    );
    assert_eq!(audit[0].actor, "alice");
    assert!(audit[0].outcome.contains("1 done"), "{}", audit[0].outcome);
}

async fn an_action_id_belongs_to_the_account_that_sent_it(kind: StoreKind) {
    let w = World::new(kind, CUSTOMERS, |c| c).await;
    w.sync("CUSTOMER").await;
    let account = w.account_of("C000006").await;
    w.crm(&format!(
        "delete from account where accountid = '{account}'"
    ))
    .await;
    w.sync("CUSTOMER").await;
    let seen = World::seen(
        &w.errors_of("CUSTOMER", SyncErrorKind::DeletedIntegration)
            .await,
    );
    w.engine
        .restore_records("alice", "mine", &seen)
        .await
        .unwrap();
    let refused = w
        .engine
        .delete_records("mallory", "mine", &seen)
        .await
        .expect_err("another account's id is refused");
    assert!(
        refused.to_string().contains("sent by another account"),
        "{refused}"
    );
    assert!(
        w.customer_value("C000006", "name").await.is_some(),
        "nothing deleted"
    );
}

async fn errors_filter_by_text_and_time_page_by_keyset_and_count(kind: StoreKind) {
    let w = with_conflict(kind).await;
    for no in ["C000008", "C000009", "C000010"] {
        w.erp(&format!(
            "update customer set name = '{LONG} {no}_100%' where no = '{no}'"
        ))
        .await;
    }
    w.sync("CUSTOMER").await;
    let all = ErrorFilter {
        mapping: Some("CUSTOMER".into()),
        ..ErrorFilter::default()
    };
    assert_eq!(w.engine.sync_error_count(&all).await.unwrap(), 4);
    let text = |t: &str| ErrorFilter {
        text: Some(t.into()),
        ..all.clone()
    };
    // Keys, descriptions (the record's name) and messages, any case; wildcards are text.
    let found = w
        .engine
        .sync_errors(&text("c000009"), None, 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].local_key.as_deref(), Some("C000009"));
    assert!(
        found[0]
            .description
            .as_deref()
            .unwrap()
            .starts_with("Castillo Furniture"),
        "{:?}",
        found[0].description
    );
    assert_eq!(
        w.engine.sync_error_count(&text("castillo")).await.unwrap(),
        3
    );
    assert_eq!(
        w.engine.sync_error_count(&text("REYKJAVIK")).await.unwrap(),
        1
    );
    assert_eq!(w.engine.sync_error_count(&text("_100%")).await.unwrap(), 3);
    // As a wildcard, `_` would match "C000008"; escaped, it matches nothing.
    assert_eq!(w.engine.sync_error_count(&text("00_00")).await.unwrap(), 0);
    // Shorter than three characters, and with quotes, a search is plain text too.
    assert_eq!(w.engine.sync_error_count(&text("0%")).await.unwrap(), 3);
    assert_eq!(
        w.engine
            .sync_error_count(&text("castillo\" or \"x"))
            .await
            .unwrap(),
        0
    );
    // A time range: everything failed before tomorrow, nothing since.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let since = ErrorFilter {
        since: Some(now + 86_400_000),
        ..all.clone()
    };
    let until = ErrorFilter {
        until: Some(now + 86_400_000),
        ..all.clone()
    };
    assert_eq!(w.engine.sync_error_count(&since).await.unwrap(), 0);
    assert_eq!(w.engine.sync_error_count(&until).await.unwrap(), 4);
    // Keyset pages of two cover every error once, newest first.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = w.engine.sync_errors(&all, after, 2).await.unwrap();
        if page.is_empty() {
            break;
        }
        let last = page.last().unwrap();
        after = Some(ErrorCursor {
            failed_at: last.failed_at,
            id: last.id,
        });
        seen.extend(page.iter().map(|e| (e.failed_at, e.id)));
    }
    assert_eq!(seen.len(), 4);
    assert!(seen.windows(2).all(|p| p[0] > p[1]), "{seen:?}");
    // A search finds open errors: once the record is fixed and retried, it finds none.
    w.erp("update customer set name = 'Castillo Furniture' where no = 'C000009'")
        .await;
    let answer = w
        .engine
        .retry(
            "alice",
            "retry-c000009",
            &Selection::Errors(World::seen(&found)),
        )
        .await
        .unwrap();
    assert_eq!(answer.outcomes[0].outcome, Outcome::Done);
    assert_eq!(
        w.engine.sync_error_count(&text("c000009")).await.unwrap(),
        0
    );
    assert_eq!(
        w.engine.sync_error_count(&text("castillo")).await.unwrap(),
        2
    );
}

async fn an_error_shows_both_records_with_their_base_values(kind: StoreKind) {
    let w = with_conflict(kind).await;
    let error = w.errors_of("CUSTOMER", SyncErrorKind::UpdateConflict).await[0].clone();
    let detail = w.engine.error_detail(error.id).await.unwrap();
    assert_eq!(detail.local_exists, Some(true));
    assert_eq!(detail.integration_exists, Some(true));
    assert!(detail.recommendation.contains("Choose a side"));
    let field = |name: &str| detail.fields.iter().find(|f| f.name == name).unwrap();
    let city = field("city");
    assert!(city.conflict && city.local_changed && city.integration_changed);
    assert_eq!(city.local.as_ref().unwrap().as_text(), "Lisbon");
    assert_eq!(city.integration.as_ref().unwrap().as_text(), "Reykjavik");
    assert_eq!(
        city.local_base.as_ref().unwrap().as_text(),
        city.integration_base.as_ref().unwrap().as_text()
    );
    let phone = field("phone");
    assert!(!phone.conflict && phone.local_changed && !phone.integration_changed);
    let name = field("name");
    assert!(!name.conflict && !name.local_changed && !name.integration_changed);
    assert_eq!(detail.resolved_at, None);

    // Resolved: the page says by whom.
    w.engine
        .resolve(
            "bob",
            "a",
            &World::seen(std::slice::from_ref(&error)),
            &Resolution::Local,
        )
        .await
        .unwrap();
    let detail = w.engine.error_detail(error.id).await.unwrap();
    assert_eq!(detail.resolved_by.as_deref(), Some("bob"));
    assert!(w.engine.error_detail(999_999).await.is_err());
}

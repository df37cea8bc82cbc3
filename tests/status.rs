//! "Why is this record not synchronizing?": a record's status on the demo, one scenario
//! per code, each asserting the state and the reasons' codes, and that the fix offered (or
//! the run it waits for) changes the state.

use crate::on_both_stores;
use crate::support::StoreKind;
use crate::support::world::World;
use engine::model::{Action, Fix, RecordStatus, Selection, Side, StatusCode};
use engine::store::coupling::{self, NewCoupling};

on_both_stores!(
    a_coupled_record_is_in_sync_and_a_change_is_pending_until_the_run,
    a_partners_change_is_pending_for_the_record_it_is_written_to,
    a_new_record_is_created_or_coupled_by_match,
    a_failing_record_is_skipped_after_twice_and_retry_puts_it_back,
    a_conflict_and_a_deletion_are_told_before_and_after_the_run,
    a_contact_waits_for_its_company_and_names_it,
    records_outside_the_filter_or_not_coupled_or_against_the_direction,
    a_change_only_to_a_field_mapped_the_other_way_is_unmapped,
    an_uncoupled_record_names_who_uncoupled_it,
    a_paused_mapping_decides_and_resume_lets_the_change_through,
    a_failed_job_and_a_schedule_nobody_runs_are_told,
    a_create_in_flight_is_pending_create,
    a_key_on_neither_side_is_not_found_and_an_ambiguous_match_is_held,
    the_finder_finds_records_by_key_on_either_side_and_by_an_errors_name,
);

async fn status(w: &World, mapping: &str, side: Side, key: &str) -> RecordStatus {
    w.engine.record_status(mapping, side, key).await.unwrap()
}

fn codes(s: &RecordStatus) -> Vec<StatusCode> {
    s.reasons.iter().map(|r| r.code).collect()
}

async fn synchronized(kind: StoreKind, edit: impl FnOnce(String) -> String) -> World {
    let w = World::new(kind, 5, edit).await;
    w.sync("CUSTOMER").await;
    w
}

async fn a_coupled_record_is_in_sync_and_a_change_is_pending_until_the_run(kind: StoreKind) {
    let w = synchronized(kind, |c| c).await;
    let account = w.account_of("C000001").await;
    let s = status(&w, "CUSTOMER", Side::Local, "C000001").await;
    assert_eq!(s.state, StatusCode::InSync, "{s:?}");
    assert_eq!(s.partner.as_deref(), Some(account.as_str()));
    let other = status(&w, "CUSTOMER", Side::Integration, &account).await;
    assert_eq!(other.state, StatusCode::InSync, "{other:?}");

    w.erp("update customer set city = 'Tromsø', modified_at = modified_at + 1000 where no = 'C000001'")
        .await;
    let s = status(&w, "CUSTOMER", Side::Local, "C000001").await;
    assert_eq!(s.state, StatusCode::Pending, "{s:?}");
    assert_eq!(s.reasons[0].facts["fields"], "address1_city");
    w.sync("CUSTOMER").await;
    assert_eq!(
        status(&w, "CUSTOMER", Side::Local, "C000001").await.state,
        StatusCode::InSync
    );
}

async fn a_partners_change_is_pending_for_the_record_it_is_written_to(kind: StoreKind) {
    let w = synchronized(kind, |c| c).await;
    let account = w.account_of("C000002").await;
    w.crm(&format!(
        "update account set telephone1 = '+47 000', modifiedon = modifiedon + 1000 where accountid = '{account}'"
    ))
    .await;
    let s = status(&w, "CUSTOMER", Side::Local, "C000002").await;
    assert_eq!(s.state, StatusCode::Pending, "{s:?}");
    assert!(
        s.reasons[0].message.contains("writes phone to this record"),
        "{s:?}"
    );
}

async fn a_new_record_is_created_or_coupled_by_match(kind: StoreKind) {
    let w = synchronized(kind, |c| c).await;
    w.erp("insert into customer (no, name, email) values ('C900001', 'Fresh Co', 'fresh@new.example')")
        .await;
    w.erp("insert into customer (no, name, email) values ('C900002', 'Known Co', 'known@new.example')")
        .await;
    w.crm("insert into account (accountid, name, emailaddress1) values ('known', 'Known Co', 'known@new.example')")
        .await;
    let fresh = status(&w, "CUSTOMER", Side::Local, "C900001").await;
    assert_eq!(fresh.state, StatusCode::New, "{fresh:?}");
    assert!(fresh.reasons[0].message.contains("creates it"), "{fresh:?}");
    let known = status(&w, "CUSTOMER", Side::Local, "C900002").await;
    assert_eq!(known.state, StatusCode::New, "{known:?}");
    assert_eq!(known.reasons[0].facts["match"], "known");
    w.sync("CUSTOMER").await;
    for no in ["C900001", "C900002"] {
        assert_eq!(
            status(&w, "CUSTOMER", Side::Local, no).await.state,
            StatusCode::InSync
        );
    }
}

async fn a_failing_record_is_skipped_after_twice_and_retry_puts_it_back(kind: StoreKind) {
    let w = synchronized(kind, |c| c).await;
    let long = "L".repeat(200);
    w.erp(&format!(
        "insert into customer (no, name, email) values ('C900001', '{long}', 'long@new.example')"
    ))
    .await;
    assert_eq!(
        status(&w, "CUSTOMER", Side::Local, "C900001").await.state,
        StatusCode::Failing,
        "told before the run"
    );
    w.sync("CUSTOMER").await;
    let s = status(&w, "CUSTOMER", Side::Local, "C900001").await;
    assert_eq!(s.state, StatusCode::Failing, "{s:?}");
    assert_eq!(s.reasons[0].facts["attempts"], "1");
    w.erp("update customer set modified_at = modified_at + 1000 where no = 'C900001'")
        .await;
    w.sync("CUSTOMER").await;
    let s = status(&w, "CUSTOMER", Side::Local, "C900001").await;
    assert_eq!(s.state, StatusCode::Skipped, "{s:?}");
    let Some(Fix::Retry { error_id, version }) = s.reasons[0].fix.clone() else {
        panic!("Retry is the fix: {s:?}");
    };
    // The name is mended, and the fix offered is taken.
    w.erp("update customer set name = 'Short Co' where no = 'C900001'")
        .await;
    w.engine
        .act_on_errors(
            "alice",
            "retry-status",
            &Action::Retry,
            &Selection::Errors(vec![engine::model::ErrorRef {
                id: error_id,
                version,
            }]),
        )
        .await
        .unwrap();
    assert_eq!(
        status(&w, "CUSTOMER", Side::Local, "C900001").await.state,
        StatusCode::InSync
    );
}

async fn a_conflict_and_a_deletion_are_told_before_and_after_the_run(kind: StoreKind) {
    let w = synchronized(kind, |c| c).await;
    let account = w.account_of("C000001").await;
    w.erp("update customer set city = 'Bergen', modified_at = modified_at + 1000 where no = 'C000001'")
        .await;
    w.crm(&format!(
        "update account set address1_city = 'Narvik', modifiedon = modifiedon + 1000 where accountid = '{account}'"
    ))
    .await;
    let s = status(&w, "CUSTOMER", Side::Local, "C000001").await;
    assert_eq!(s.state, StatusCode::UpdateConflict, "before the run: {s:?}");
    w.sync("CUSTOMER").await;
    let s = status(&w, "CUSTOMER", Side::Integration, &account).await;
    assert_eq!(s.state, StatusCode::UpdateConflict, "after: {s:?}");
    assert!(matches!(s.reasons[0].fix, Some(Fix::OpenError { .. })));

    let gone = w.account_of("C000002").await;
    w.crm(&format!("delete from account where accountid = '{gone}'"))
        .await;
    let s = status(&w, "CUSTOMER", Side::Local, "C000002").await;
    assert_eq!(
        s.state,
        StatusCode::DeletedIntegration,
        "before the run: {s:?}"
    );
    let s = status(&w, "CUSTOMER", Side::Integration, &gone).await;
    assert_eq!(s.state, StatusCode::NotFound, "{s:?}");
    assert!(s.reasons[0].message.contains("remembers it"), "{s:?}");
    w.sync("CUSTOMER").await;
    let s = status(&w, "CUSTOMER", Side::Local, "C000002").await;
    assert_eq!(s.state, StatusCode::DeletedIntegration, "after: {s:?}");
    assert!(s.reasons[0].facts.contains_key("error_id"), "{s:?}");
}

async fn a_contact_waits_for_its_company_and_names_it(kind: StoreKind) {
    let w = synchronized(kind, |c| c).await;
    w.sync("CONTACT").await;
    w.erp("insert into customer (no, name, email) values ('C900001', 'Parent Co', 'parent@new.example')")
        .await;
    w.erp("insert into contact (no, company_no, name) values ('CT900001', 'C900001', 'Kim Child')")
        .await;
    let s = status(&w, "CONTACT", Side::Local, "CT900001").await;
    assert_eq!(s.state, StatusCode::Deferred, "{s:?}");
    assert_eq!(
        s.reasons[0].fix,
        Some(Fix::OpenRecord {
            mapping: "CUSTOMER".into(),
            side: Side::Local,
            key: "C900001".into()
        })
    );
    // The fix: the parent's mapping synchronizes it; the contact goes through next.
    w.sync("CUSTOMER").await;
    assert_eq!(
        status(&w, "CONTACT", Side::Local, "CT900001").await.state,
        StatusCode::New
    );
}

async fn records_outside_the_filter_or_not_coupled_or_against_the_direction(kind: StoreKind) {
    let customer =
        r#"local = { system = "erp", table = "customer", key = "no", modified = "modified_at" }"#;
    let w = synchronized(kind, |c| {
        c.replacen(
            customer,
            &customer.replace(" }", r#", filter = "city <> 'Outside'" }"#),
            1,
        )
    })
    .await;
    w.erp("insert into customer (no, name, city, email) values ('C900001', 'Away Co', 'Outside', 'away@new.example')")
        .await;
    let s = status(&w, "CUSTOMER", Side::Local, "C900001").await;
    assert_eq!(s.state, StatusCode::ExcludedByFilter, "{s:?}");
    assert_eq!(s.reasons[0].facts["filter"], "city <> 'Outside'");

    let w = synchronized(kind, |c| {
        c.replacen(
            "deletion_conflict = \"none\"\n",
            "deletion_conflict = \"none\"\nsync_only_coupled = true\n",
            1,
        )
    })
    .await;
    w.erp(
        "insert into customer (no, name, email) values ('C900001', 'Lone Co', 'lone@new.example')",
    )
    .await;
    let s = status(&w, "CUSTOMER", Side::Local, "C900001").await;
    assert_eq!(s.state, StatusCode::OnlyCoupled, "{s:?}");

    let w = synchronized(kind, |c| {
        c.replacen(
            "direction = \"bidirectional\"",
            "direction = \"to_integration\"",
            1,
        )
    })
    .await;
    let account = w.account_of("C000001").await;
    w.crm(&format!(
        "update account set name = 'Changed in CRM', modifiedon = modifiedon + 1000 where accountid = '{account}'"
    ))
    .await;
    let s = status(&w, "CUSTOMER", Side::Integration, &account).await;
    assert_eq!(s.state, StatusCode::Direction, "{s:?}");
    assert_eq!(s.reasons[0].facts["direction"], "to_integration");
}

async fn a_change_only_to_a_field_mapped_the_other_way_is_unmapped(kind: StoreKind) {
    let w = synchronized(kind, |c| c).await;
    let account = w.account_of("C000003").await;
    // credit_limit flows to the CRM only.
    w.crm(&format!(
        "update account set creditlimit = 1, modifiedon = modifiedon + 1000 where accountid = '{account}'"
    ))
    .await;
    let s = status(&w, "CUSTOMER", Side::Integration, &account).await;
    assert_eq!(s.state, StatusCode::UnmappedChange, "{s:?}");
}

async fn an_uncoupled_record_names_who_uncoupled_it(kind: StoreKind) {
    let w = synchronized(kind, |c| c).await;
    w.uncouple_customer("alice", "C000004").await;
    let s = status(&w, "CUSTOMER", Side::Local, "C000004").await;
    assert_eq!(s.state, StatusCode::Uncoupled, "{s:?}");
    assert_eq!(s.reasons[0].facts["by"], "alice");
}

async fn a_paused_mapping_decides_and_resume_lets_the_change_through(kind: StoreKind) {
    let w = synchronized(kind, |c| c).await;
    w.engine
        .set_mapping_paused("alice", "CUSTOMER", true)
        .await
        .unwrap();
    w.erp(
        "update customer set city = 'Alta', modified_at = modified_at + 1000 where no = 'C000001'",
    )
    .await;
    let s = status(&w, "CUSTOMER", Side::Local, "C000001").await;
    assert_eq!(
        codes(&s)[..2],
        [StatusCode::MappingPaused, StatusCode::Pending],
        "{s:?}"
    );
    assert_eq!(
        s.reasons[0].fix,
        Some(Fix::Resume {
            mapping: "CUSTOMER".into()
        })
    );
    assert_eq!(s.reasons[0].facts["paused_by"], "alice", "{s:?}");
    assert!(
        s.reasons[0].message.contains("paused by alice since"),
        "{s:?}"
    );
    // An unchanged record is in sync whether or not the mapping runs.
    assert_eq!(
        status(&w, "CUSTOMER", Side::Local, "C000002").await.state,
        StatusCode::InSync
    );
    w.engine
        .set_mapping_paused("alice", "CUSTOMER", false)
        .await
        .unwrap();
    assert_eq!(
        status(&w, "CUSTOMER", Side::Local, "C000001").await.state,
        StatusCode::Pending
    );
}

async fn a_failed_job_and_a_schedule_nobody_runs_are_told(kind: StoreKind) {
    let w = synchronized(kind, |c| c).await;
    // Every scheduled run was due an hour ago: nothing runs the schedule.
    w.schedule_customer_due(engine::store::now_millis() - 3_600_000)
        .await;
    let s = status(&w, "CUSTOMER", Side::Local, "C000001").await;
    assert_eq!(
        codes(&s),
        [StatusCode::InSync, StatusCode::NoWorker],
        "{s:?}"
    );

    // The CRM's table goes away: the job fails whole, and every record tells of it.
    w.crm("alter table account rename to account_gone").await;
    let job = w.run("CUSTOMER").await;
    assert_eq!(job.state, engine::model::JobState::Failed, "{job:?}");
    let account = w.account_of("C000001").await;
    let s = status(&w, "CUSTOMER", Side::Integration, &account).await;
    assert_eq!(s.state, StatusCode::SystemUnreachable, "{s:?}");
    w.crm("alter table account_gone rename to account").await;
    let s = status(&w, "CUSTOMER", Side::Local, "C000001").await;
    assert!(codes(&s).contains(&StatusCode::SystemUnreachable), "{s:?}");
    w.sync("CUSTOMER").await;
    let s = status(&w, "CUSTOMER", Side::Local, "C000001").await;
    assert_eq!(
        codes(&s),
        [StatusCode::InSync, StatusCode::NoWorker],
        "the job succeeds again; still nothing runs the schedule: {s:?}"
    );
}

async fn a_create_in_flight_is_pending_create(kind: StoreKind) {
    let w = synchronized(kind, |c| c).await;
    w.erp("insert into customer (no, name, email) values ('C900001', 'Flight Co', 'flight@new.example')")
        .await;
    // A run wrote the pending coupling and stopped before the CRM's create.
    let mut conn = w.engine.store().conn().await.unwrap();
    let key = engine::sync::new_key();
    coupling::insert(
        &mut conn,
        "CUSTOMER",
        &[NewCoupling {
            local_key: "C900001".into(),
            integration_key: key.clone(),
            pending: Some(Side::Integration),
        }],
    )
    .await
    .unwrap();
    drop(conn);
    let s = status(&w, "CUSTOMER", Side::Local, "C900001").await;
    assert_eq!(s.state, StatusCode::PendingCreate, "{s:?}");
    assert_eq!(s.reasons[0].facts["created_key"], key);
    w.sync("CUSTOMER").await;
    let s = status(&w, "CUSTOMER", Side::Local, "C900001").await;
    assert_eq!(s.state, StatusCode::InSync, "{s:?}");
    assert_eq!(s.partner.as_deref(), Some(key.as_str()));
}

async fn a_key_on_neither_side_is_not_found_and_an_ambiguous_match_is_held(kind: StoreKind) {
    let w = synchronized(kind, |c| c).await;
    let s = status(&w, "CUSTOMER", Side::Local, "NOBODY").await;
    assert_eq!(s.state, StatusCode::NotFound, "{s:?}");
    assert!(s.reasons[0].message.contains("no coupling remembers"));

    let email = "twice@new.example";
    w.erp(&format!(
        "insert into customer (no, name, email) values ('C900001', 'Twice Co', '{email}')"
    ))
    .await;
    for id in ["tw-a", "tw-b"] {
        w.crm(&format!(
            "insert into account (accountid, name, emailaddress1) values ('{id}', 'Twice', '{email}')"
        ))
        .await;
    }
    w.sync("CUSTOMER").await;
    let s = status(&w, "CUSTOMER", Side::Local, "C900001").await;
    assert_eq!(s.state, StatusCode::AmbiguousMatch, "{s:?}");
    assert!(
        matches!(s.reasons[0].fix, Some(Fix::OpenError { .. })),
        "{s:?}"
    );

    // Bad input is refused, naming what is wrong.
    let unknown = w.engine.record_status("NOPE", Side::Local, "C000001").await;
    assert!(unknown.is_err());
    let bad = w
        .engine
        .record_status("CUSTOMER", Side::Local, "a\nb")
        .await;
    assert!(format!("{:?}", bad.unwrap_err()).contains("key"));
}

async fn the_finder_finds_records_by_key_on_either_side_and_by_an_errors_name(kind: StoreKind) {
    let w = synchronized(kind, |c| c).await;
    let named = |found: &[engine::model::FoundRecord]| -> Vec<(String, Side, String)> {
        found
            .iter()
            .map(|f| (f.mapping.clone(), f.side, f.key.clone()))
            .collect()
    };
    let found = w.engine.find_records("C000001", 50).await.unwrap();
    assert_eq!(
        named(&found),
        [("CUSTOMER".to_string(), Side::Local, "C000001".to_string())]
    );
    let account = w.account_of("C000002").await;
    let found = w.engine.find_records(&account, 50).await.unwrap();
    assert_eq!(
        named(&found),
        [("CUSTOMER".to_string(), Side::Integration, account.clone())]
    );
    // A record not coupled, found by the name its error keeps.
    let long = format!("Findable {}", "L".repeat(200));
    w.erp(&format!(
        "insert into customer (no, name, email) values ('C900001', '{long}', 'find@new.example')"
    ))
    .await;
    w.sync("CUSTOMER").await;
    let found = w.engine.find_records("findable", 50).await.unwrap();
    assert_eq!(
        named(&found),
        [("CUSTOMER".to_string(), Side::Local, "C900001".to_string())]
    );
    assert!(
        w.engine
            .find_records("nothing-by-this-name", 50)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(w.engine.find_records("  ", 50).await.is_err());
}

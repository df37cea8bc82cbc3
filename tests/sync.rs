//! Synchronization scenarios from DESIGN.md, "Synchronization semantics": each arranges
//! the demo's two systems, changes records the way people do, runs the engine, and checks
//! both systems, the couplings, the errors and the log. Every scenario runs with the store
//! and both systems on SQLite, and again on PostgreSQL.

use crate::on_both_stores;
use crate::support::StoreKind;
use crate::support::world::World;
use engine::model::{Side, SyncErrorKind};
use engine::sync::FaultPoint;

on_both_stores!(
    inserts_flow_both_ways_and_matching_couples_instead_of_duplicating,
    updates_flow_both_ways_and_a_quiet_run_writes_nothing,
    different_fields_changed_on_both_sides_merge,
    the_same_field_changed_on_both_sides_follows_the_update_conflict_policy,
    a_deletion_follows_the_deletion_conflict_policy,
    a_refused_value_fails_and_the_same_failure_twice_skips_it,
    a_contact_waits_for_its_account,
    full_synchronization_finds_a_change_incremental_runs_missed,
    changes_to_fields_mapped_the_other_way_rewrite_nothing,
    a_crash_at_any_write_step_loses_and_duplicates_nothing,
    a_change_feed_read_whole_is_not_read_again,
);

const CUSTOMERS: u64 = 20;

async fn inserts_flow_both_ways_and_matching_couples_instead_of_duplicating(kind: StoreKind) {
    let w = World::new(kind, CUSTOMERS, |c| c).await;
    // Two customers already have accounts, entered by hand in the CRM (same e-mail).
    let premade = World::text(
        &w.crm,
        "select accountid from account where emailaddress1 like '%-3.example'",
    )
    .await
    .unwrap();
    w.crm("insert into account (accountid, name, address1_city, emailaddress1) values ('acc-new', 'Nakamura Garden Ltd', 'Oslo', 'hello@nakamura.example')").await;
    let before: Vec<String> = sqlx::query_scalar("select accountid from account")
        .fetch_all(&w.crm)
        .await
        .unwrap();

    let job = w.sync("CUSTOMER").await;
    assert_eq!(
        job.counters.inserted,
        18 + 1,
        "18 customers to the CRM, one account to the ERP"
    );
    assert_eq!(job.counters.coupled, 20 + 1);
    assert_eq!(job.counters.failed, 0);
    assert_eq!(
        World::count(&w.crm, "select count(*) from account").await,
        21,
        "no duplicate accounts"
    );
    assert_eq!(
        World::count(&w.erp, "select count(*) from customer").await,
        21
    );
    assert_eq!(
        w.account_of("C000003").await,
        premade,
        "matched on e-mail, not duplicated"
    );
    // The accounts it created have keys ordered by time (UUID version 7), in the order
    // the customers were read: they go to the end of every index keyed by them.
    let read_order: Vec<String> =
        sqlx::query_scalar("select no from customer where no like 'C%' order by modified_at, no")
            .fetch_all(&w.erp)
            .await
            .unwrap();
    let mut created = Vec::new();
    for no in &read_order {
        let account = w.account_of(no).await;
        if !before.contains(&account) {
            created.push(account);
        }
    }
    assert_eq!(created.len(), 18, "all but the customers matched on e-mail");
    assert!(
        created
            .iter()
            .all(|k| k.len() == 36 && k.as_bytes()[14] == b'7'),
        "{created:?}"
    );
    assert!(created.is_sorted(), "{created:?}");

    let from_crm = w
        .coupled("CUSTOMER", Side::Integration, "acc-new")
        .await
        .expect("the new account is coupled");
    assert_eq!(
        World::text(
            &w.erp,
            &format!("select name from customer where no = '{from_crm}'")
        )
        .await
        .as_deref(),
        Some("Nakamura Garden Ltd")
    );
    let account = w.account_of("C000001").await;
    assert_eq!(
        World::text(
            &w.crm,
            &format!("select name from account where accountid = '{account}'")
        )
        .await,
        World::text(&w.erp, "select name from customer where no = 'C000001'").await
    );
    let log = w
        .engine
        .record_log("CUSTOMER", Side::Local, "C000001", 10)
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].action, "inserted");
    assert!(
        log[0].changes.iter().any(|c| c.field == "name"),
        "{:?}",
        log[0].changes
    );
}

async fn updates_flow_both_ways_and_a_quiet_run_writes_nothing(kind: StoreKind) {
    let w = World::new(kind, CUSTOMERS, |c| c).await;
    w.sync("CUSTOMER").await;
    let account = w.account_of("C000002").await;
    w.erp("update customer set phone = '+1 555 0101' where no = 'C000001'")
        .await;
    w.crm(&format!(
        "update account set address1_city = 'Tromsø' where accountid = '{account}'"
    ))
    .await;

    let job = w.sync("CUSTOMER").await;
    assert_eq!(job.counters.modified, 2, "{:?}", job.counters);
    let account1 = w.account_of("C000001").await;
    assert_eq!(
        World::text(
            &w.crm,
            &format!("select telephone1 from account where accountid = '{account1}'")
        )
        .await
        .as_deref(),
        Some("+1 555 0101")
    );
    assert_eq!(
        World::text(&w.erp, "select city from customer where no = 'C000002'")
            .await
            .as_deref(),
        Some("Tromsø")
    );

    let stamps = "select cast(sum(modifiedon) as bigint) from account";
    let before = World::count(&w.crm, stamps).await;
    let erp_before = World::count(
        &w.erp,
        "select cast(sum(modified_at) as bigint) from customer",
    )
    .await;
    let job = w.sync("CUSTOMER").await;
    assert_eq!(
        job.counters,
        Default::default(),
        "the engine's own writes are not changes"
    );
    assert_eq!(
        World::count(&w.crm, stamps).await,
        before,
        "nothing rewritten in the CRM"
    );
    assert_eq!(
        World::count(
            &w.erp,
            "select cast(sum(modified_at) as bigint) from customer"
        )
        .await,
        erp_before
    );
}

async fn different_fields_changed_on_both_sides_merge(kind: StoreKind) {
    let w = World::new(kind, CUSTOMERS, |c| c).await;
    w.sync("CUSTOMER").await;
    let account = w.account_of("C000004").await;
    w.erp("update customer set phone = '+1 555 0404' where no = 'C000004'")
        .await;
    w.crm(&format!(
        "update account set address1_line1 = 'Dock 4' where accountid = '{account}'"
    ))
    .await;

    let job = w.sync("CUSTOMER").await;
    assert_eq!(job.counters.failed, 0);
    let crm = |column: &str| format!("select {column} from account where accountid = '{account}'");
    assert_eq!(
        World::text(&w.crm, &crm("telephone1")).await.as_deref(),
        Some("+1 555 0404")
    );
    assert_eq!(
        World::text(&w.crm, &crm("address1_line1")).await.as_deref(),
        Some("Dock 4")
    );
    assert_eq!(
        World::text(&w.erp, "select address from customer where no = 'C000004'")
            .await
            .as_deref(),
        Some("Dock 4")
    );
    assert!(w.errors("CUSTOMER").await.is_empty());
    let job = w.sync("CUSTOMER").await;
    assert_eq!(job.counters, Default::default(), "merged once, then quiet");
}

async fn the_same_field_changed_on_both_sides_follows_the_update_conflict_policy(kind: StoreKind) {
    for (policy, expected) in [
        ("none", None),
        ("send_update", Some("Lisbon")),
        ("get_update", Some("Reykjavik")),
    ] {
        let w = World::new(kind, CUSTOMERS, |c| {
            c.replacen(
                r#"update_conflict = "none""#,
                &format!(r#"update_conflict = "{policy}""#),
                1,
            )
        })
        .await;
        w.sync("CUSTOMER").await;
        let account = w.account_of("C000005").await;
        let original = World::text(&w.erp, "select city from customer where no = 'C000005'").await;
        w.erp("update customer set city = 'Lisbon' where no = 'C000005'")
            .await;
        w.crm(&format!(
            "update account set address1_city = 'Reykjavik' where accountid = '{account}'"
        ))
        .await;
        let job = w.sync("CUSTOMER").await;
        let erp_city = World::text(&w.erp, "select city from customer where no = 'C000005'").await;
        let crm_city = World::text(
            &w.crm,
            &format!("select address1_city from account where accountid = '{account}'"),
        )
        .await;
        match expected {
            None => {
                assert_eq!(job.counters.failed, 1, "{policy}");
                assert_eq!(erp_city.as_deref(), Some("Lisbon"), "nothing written");
                assert_eq!(crm_city.as_deref(), Some("Reykjavik"), "nothing written");
                let errors = w.errors("CUSTOMER").await;
                assert_eq!(errors.len(), 1);
                assert_eq!(errors[0].kind, SyncErrorKind::UpdateConflict);
                assert_eq!(errors[0].fields, ["city"]);
                assert_eq!(errors[0].local_key.as_deref(), Some("C000005"));
                assert!(errors[0].skipped, "a conflict waits for someone");
                assert!(
                    errors[0]
                        .message
                        .contains(r#"local "Lisbon", integration "Reykjavik""#),
                    "{}",
                    errors[0].message
                );
                let again = w.sync("CUSTOMER").await;
                assert_eq!(
                    again.counters.skipped, 0,
                    "unchanged since: not even read again"
                );
                assert_eq!(w.errors("CUSTOMER").await.len(), 1);
                let _ = original;
            }
            Some(winner) => {
                assert_eq!(job.counters.failed, 0, "{policy}");
                assert_eq!(erp_city.as_deref(), Some(winner), "{policy}");
                assert_eq!(crm_city.as_deref(), Some(winner), "{policy}");
                assert!(w.errors("CUSTOMER").await.is_empty());
            }
        }
    }
}

async fn a_deletion_follows_the_deletion_conflict_policy(kind: StoreKind) {
    for policy in ["none", "restore", "remove_coupling"] {
        let w = World::new(kind, CUSTOMERS, |c| {
            c.replacen(
                r#"deletion_conflict = "none""#,
                &format!(r#"deletion_conflict = "{policy}""#),
                1,
            )
        })
        .await;
        w.sync("CUSTOMER").await;
        let account = w.account_of("C000006").await;
        let account_name = World::text(
            &w.crm,
            &format!("select name from account where accountid = '{account}'"),
        )
        .await;
        w.crm(&format!(
            "delete from account where accountid = '{account}'"
        ))
        .await;
        w.erp("delete from customer where no = 'C000007'").await;
        let account7 = w.account_of("C000007").await;
        let job = w.sync("CUSTOMER").await;
        let account_exists = World::count(
            &w.crm,
            &format!("select count(*) from account where accountid = '{account}'"),
        )
        .await;
        let customer_exists =
            World::count(&w.erp, "select count(*) from customer where no = 'C000007'").await;
        match policy {
            "none" => {
                assert_eq!(job.counters.failed, 2);
                let errors = w.errors("CUSTOMER").await;
                let kinds: Vec<(SyncErrorKind, Option<&str>)> = errors
                    .iter()
                    .map(|e| (e.kind, e.local_key.as_deref()))
                    .collect();
                assert!(
                    kinds.contains(&(SyncErrorKind::DeletedIntegration, Some("C000006"))),
                    "{kinds:?}"
                );
                assert!(
                    kinds.contains(&(SyncErrorKind::DeletedLocal, Some("C000007"))),
                    "{kinds:?}"
                );
                assert_eq!(
                    (account_exists, customer_exists),
                    (0, 0),
                    "nothing recreated"
                );
                let again = w.sync("CUSTOMER").await;
                assert_eq!(again.counters.failed, 0, "reported once");
                assert_eq!(w.errors("CUSTOMER").await.len(), 2);
            }
            "restore" => {
                assert_eq!(job.counters.inserted, 2, "{:?}", job.counters);
                assert_eq!((account_exists, customer_exists), (1, 1), "both recreated");
                assert_eq!(
                    World::text(
                        &w.crm,
                        &format!("select name from account where accountid = '{account}'")
                    )
                    .await,
                    account_name
                );
                assert_eq!(w.account_of("C000007").await, account7, "coupled again");
                assert!(w.errors("CUSTOMER").await.is_empty());
            }
            _ => {
                assert_eq!(job.counters.uncoupled, 2);
                assert_eq!(w.coupled("CUSTOMER", Side::Local, "C000006").await, None);
                assert_eq!(w.coupled("CUSTOMER", Side::Local, "C000007").await, None);
                assert_eq!(
                    World::count(&w.erp, "select count(*) from customer where no = 'C000006'")
                        .await,
                    1
                );
                assert_eq!(
                    World::count(
                        &w.crm,
                        &format!("select count(*) from account where accountid = '{account7}'")
                    )
                    .await,
                    1,
                    "the survivors stay"
                );
            }
        }
    }
}

async fn a_refused_value_fails_and_the_same_failure_twice_skips_it(kind: StoreKind) {
    let long = "Castillo Furniture Group, registered office and principal place of business at the Industrial Estate, North Wing, Building Seven, Harbour Road, Rotterdam, the Netherlands, European Union";
    // Validated by the field mapping, and (with the validation removed) by the CRM itself.
    for (edit, refused_by) in [(false, "name is "), (true, "crm refused the new record: ")] {
        let w = World::new(kind, CUSTOMERS, |c| {
            if edit {
                c.replacen("max_length = 160\n", "", 1)
            } else {
                c
            }
        })
        .await;
        w.erp(&format!(
            "update customer set name = '{long}' where no = 'C000008'"
        ))
        .await;
        let first = w.sync("CUSTOMER").await;
        assert_eq!(first.counters.failed, 1);
        assert_eq!(
            first.counters.inserted, 17,
            "the others go through (two are matched, not inserted)"
        );
        let errors = w.errors("CUSTOMER").await;
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].kind, SyncErrorKind::Failed);
        assert!(
            errors[0].message.starts_with(refused_by),
            "{}",
            errors[0].message
        );
        assert_eq!(
            (errors[0].attempts, errors[0].skipped),
            (1, false),
            "retried on the next run"
        );

        let second = w.sync("CUSTOMER").await;
        assert_eq!(second.counters.failed, 1, "retried although unchanged");
        let errors = w.errors("CUSTOMER").await;
        assert_eq!(
            (errors[0].attempts, errors[0].skipped),
            (2, true),
            "the same failure twice: skipped"
        );

        w.erp("update customer set phone = '+1 555 0808' where no = 'C000008'")
            .await;
        let third = w.sync("CUSTOMER").await;
        assert_eq!(
            (third.counters.failed, third.counters.skipped),
            (0, 1),
            "left alone until someone acts"
        );
        let log = w
            .engine
            .record_log("CUSTOMER", Side::Local, "C000008", 10)
            .await
            .unwrap();
        assert_eq!(log.len(), 2);
        assert!(log.iter().all(|e| e.action == "failed"));
        let says_skipped = log.iter().filter(|e| {
            e.message
                .as_deref()
                .is_some_and(|m| m.ends_with("skipped until someone acts)"))
        });
        assert_eq!(
            says_skipped.count(),
            1,
            "the second failure's entry says the record is now skipped: {log:?}"
        );
        assert!(World::count(&w.crm, "select count(*) from account where name like 'Castillo Furniture Group, registered%'").await == 0);
    }
}

async fn a_contact_waits_for_its_account(kind: StoreKind) {
    let w = World::new(kind, CUSTOMERS, |c| c).await;
    let contacts = World::count(&w.erp, "select count(*) from contact").await as u64;
    let early = w.sync("CONTACT").await;
    assert_eq!(
        early.counters.deferred, contacts,
        "every contact waits for its account"
    );
    assert_eq!(early.counters.inserted, 0);
    assert_eq!(early.counters.failed, 0, "deferred, not failed");

    w.sync("CUSTOMER").await;
    let later = w.sync("CONTACT").await;
    assert_eq!(later.counters.inserted, contacts);
    assert_eq!(later.counters.deferred, 0);
    let contact = World::text(
        &w.erp,
        "select no from contact where company_no = 'C000009' order by no",
    )
    .await
    .unwrap();
    let crm_contact = w.coupled("CONTACT", Side::Local, &contact).await.unwrap();
    assert_eq!(
        World::text(
            &w.crm,
            &format!("select parentcustomerid from contact where contactid = '{crm_contact}'")
        )
        .await,
        Some(w.account_of("C000009").await),
        "the parent is the coupled account"
    );
    assert_eq!(w.sync("CONTACT").await.counters, Default::default());
}

async fn full_synchronization_finds_a_change_incremental_runs_missed(kind: StoreKind) {
    let w = World::new(kind, CUSTOMERS, |c| c).await;
    w.sync("CUSTOMER").await;
    // A change stamped with a modified-on value from long ago (a system clock set back).
    w.erp("update customer set city = 'Bergen', modified_at = 1 where no = 'C000010'")
        .await;
    let incremental = w.sync("CUSTOMER").await;
    assert_eq!(incremental.counters.modified, 0);
    let full = w.sync_full("CUSTOMER").await;
    assert_eq!(full.counters.modified, 1, "{:?}", full.counters);
    assert_eq!(full.counters.inserted, 0);
    let account = w.account_of("C000010").await;
    assert_eq!(
        World::text(
            &w.crm,
            &format!("select address1_city from account where accountid = '{account}'")
        )
        .await
        .as_deref(),
        Some("Bergen")
    );
}

async fn changes_to_fields_mapped_the_other_way_rewrite_nothing(kind: StoreKind) {
    let w = World::new(kind, CUSTOMERS, |c| c).await;
    w.sync("CUSTOMER").await;
    let account = w.account_of("C000011").await;
    let before = World::count(
        &w.erp,
        "select modified_at from customer where no = 'C000011'",
    )
    .await;
    // credit_limit flows only to the integration side.
    w.crm(&format!(
        "update account set creditlimit = 999999 where accountid = '{account}'"
    ))
    .await;
    let job = w.sync("CUSTOMER").await;
    assert_eq!(job.counters.unchanged, 1, "{:?}", job.counters);
    assert_eq!(job.counters.modified, 0);
    assert_eq!(
        World::count(
            &w.erp,
            "select modified_at from customer where no = 'C000011'"
        )
        .await,
        before
    );
    assert_eq!(
        w.engine
            .record_log("CUSTOMER", Side::Local, "C000011", 10)
            .await
            .unwrap()
            .len(),
        1,
        "only the insert"
    );
}

async fn a_crash_at_any_write_step_loses_and_duplicates_nothing(kind: StoreKind) {
    for point in FaultPoint::ALL {
        let w = World::new(kind, CUSTOMERS, |c| c).await;
        // During the initial synchronization (creates and matches).
        w.engine.inject_fault(point);
        let crashed = w.run("CUSTOMER").await;
        assert!(
            crashed
                .message
                .as_deref()
                .unwrap_or_default()
                .contains("injected fault"),
            "{point}: {crashed:?}"
        );
        w.erp("update customer set phone = '+1 555 1212' where no = 'C000012'")
            .await;
        w.sync("CUSTOMER").await;
        let customers = World::count(&w.erp, "select count(*) from customer").await;
        assert_eq!(
            w.couplings("CUSTOMER").await,
            customers,
            "{point}: every customer coupled once"
        );
        assert_eq!(
            World::count(&w.crm, "select count(*) from account").await,
            customers,
            "{point}: no duplicate"
        );
        let account = w.account_of("C000012").await;
        assert_eq!(
            World::text(
                &w.crm,
                &format!("select telephone1 from account where accountid = '{account}'")
            )
            .await
            .as_deref(),
            Some("+1 555 1212"),
            "{point}: the change made during the crash arrives"
        );

        // During a merge, which writes both systems.
        let account = w.account_of("C000013").await;
        w.erp("update customer set phone = '+1 555 1313' where no = 'C000013'")
            .await;
        w.crm(&format!(
            "update account set address1_line1 = 'Pier 13' where accountid = '{account}'"
        ))
        .await;
        w.engine.inject_fault(point);
        w.run("CUSTOMER").await;
        w.sync("CUSTOMER").await;
        assert_eq!(
            World::text(
                &w.crm,
                &format!("select telephone1 from account where accountid = '{account}'")
            )
            .await
            .as_deref(),
            Some("+1 555 1313"),
            "{point}"
        );
        assert_eq!(
            World::text(&w.erp, "select address from customer where no = 'C000013'")
                .await
                .as_deref(),
            Some("Pier 13"),
            "{point}"
        );
        assert!(
            w.errors("CUSTOMER").await.is_empty(),
            "{point}: {:?}",
            w.errors("CUSTOMER").await
        );
        assert_eq!(
            w.sync("CUSTOMER").await.counters,
            Default::default(),
            "{point}: settled"
        );
    }
}

async fn a_change_feed_read_whole_is_not_read_again(kind: StoreKind) {
    let w = World::new(kind, CUSTOMERS, |c| c).await;
    w.sync("CUSTOMER").await;
    // The overlap window (5 s before each watermark) is read again by every run until a
    // run starts long enough after the watermark (10 s) to know nothing older can arrive.
    let again = w.sync("CUSTOMER").await;
    assert!(again.done > 0, "a run soon after reads the window again");
    tokio::time::sleep(std::time::Duration::from_millis(10_500)).await;
    let settling = w.sync("CUSTOMER").await;
    assert!(
        settling.done > 0,
        "the run that settles reads the window once more"
    );
    let quiet = w.sync("CUSTOMER").await;
    assert_eq!(
        quiet.done, 0,
        "a settled feed with no change is not read: {quiet:?}"
    );

    w.erp("update customer set city = 'Tromsø' where no = 'C000003'")
        .await;
    let changed = w.sync("CUSTOMER").await;
    assert_eq!(changed.counters.modified, 1);
    assert!(changed.done <= 2, "only the change is read: {changed:?}");
    let account = w.account_of("C000003").await;
    assert_eq!(
        World::text(
            &w.crm,
            &format!("select address1_city from account where accountid = '{account}'")
        )
        .await
        .as_deref(),
        Some("Tromsø")
    );
}

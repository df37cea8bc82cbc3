//! Match-based coupling never guesses: when a record's match is shared — several records
//! of the other side match it, or it matches a record that others of its own side match
//! too — no record involved is coupled, overwritten or created anew, whichever pass meets
//! it first; each is failed with the others named, until the data makes the match unique.
//! A match that is unique couples, and the mapping's `on_match` says whose values win.

use crate::on_both_stores;
use crate::support::StoreKind;
use crate::support::world::World;
use engine::model::{Action, Outcome, Selection, Side};

on_both_stores!(
    a_customer_matching_two_accounts_couples_overwrites_and_creates_nothing,
    two_customers_matching_one_account_couple_neither,
    three_candidates_are_all_named,
    an_ambiguity_ends_when_an_edit_makes_the_match_unique,
    on_a_match_the_record_whose_change_found_it_wins_by_default,
    on_match_local_or_integration_names_the_winner_whichever_pass_finds_it,
    on_match_none_couples_and_leaves_both_records_as_they_are,
    a_later_set_of_match_fields_is_tried_only_when_the_earlier_finds_nothing,
    a_person_couples_one_of_the_candidates_the_errors_page_lists,
    coupling_a_record_by_hand_leaves_another_records_error_naming_it,
    case_and_surrounding_spaces_are_ignored_unless_the_field_is_exact,
    create_new_creates_a_held_record_anew_and_it_is_matched_no_more,
);

const EMAIL: &str = "shared@ambig.example";

/// The demo with a few customers, synchronized once.
async fn synchronized(kind: StoreKind) -> World {
    let w = World::new(kind, 5, |c| c).await;
    w.sync("CUSTOMER").await;
    w
}

async fn add_customer(w: &World, no: &str, name: &str) {
    w.erp(&format!(
        "insert into customer (no, name, email) values ('{no}', '{name}', '{EMAIL}')"
    ))
    .await;
}

async fn add_account(w: &World, id: &str, name: &str) {
    w.crm(&format!(
        "insert into account (accountid, name, emailaddress1) values ('{id}', '{name}', '{EMAIL}')"
    ))
    .await;
}

/// How many customers and accounts there are.
async fn counts(w: &World) -> (i64, i64) {
    (
        World::count(&w.erp, "select count(*) from customer").await,
        World::count(&w.crm, "select count(*) from account").await,
    )
}

/// The open error's message of the record `key` on `side`.
async fn message_of(w: &World, side: Side, key: &str) -> String {
    let errors = w.errors("CUSTOMER").await;
    let found = errors.iter().find(|e| match side {
        Side::Local => e.local_key.as_deref() == Some(key),
        Side::Integration => e.integration_key.as_deref() == Some(key),
    });
    found
        .unwrap_or_else(|| panic!("{side} record {key} has no open error: {errors:?}"))
        .message
        .clone()
}

/// Asserts that none of `keys` (of `side`) is coupled.
async fn none_coupled(w: &World, side: Side, keys: &[&str]) {
    for key in keys {
        assert_eq!(
            w.coupled("CUSTOMER", side, key).await,
            None,
            "{side} record {key} is coupled by a guess"
        );
    }
}

async fn a_customer_matching_two_accounts_couples_overwrites_and_creates_nothing(kind: StoreKind) {
    let w = synchronized(kind).await;
    let before = counts(&w).await;
    add_customer(&w, "C900001", "Ambig Co").await;
    add_account(&w, "amb-a", "Ambig A").await;
    add_account(&w, "amb-b", "Ambig B").await;

    for run in 1..=2 {
        let job = w.sync("CUSTOMER").await;
        assert_eq!(job.counters.coupled, 0, "run {run}: nothing coupled");
        assert_eq!(job.counters.inserted, 0, "run {run}: nothing created");
        assert_eq!(job.counters.modified, 0, "run {run}: nothing overwritten");
        none_coupled(&w, Side::Local, &["C900001"]).await;
        none_coupled(&w, Side::Integration, &["amb-a", "amb-b"]).await;
        assert_eq!(counts(&w).await, (before.0 + 1, before.1 + 2));
        assert_eq!(
            w.customer_value("C900001", "name").await.as_deref(),
            Some("Ambig Co"),
            "the customer keeps its name"
        );
    }

    let customer = message_of(&w, Side::Local, "C900001").await;
    assert!(
        customer.contains("2 integration records match on email")
            && customer.contains("amb-a")
            && customer.contains("amb-b"),
        "{customer}"
    );
    for (account, other) in [("amb-a", "amb-b"), ("amb-b", "amb-a")] {
        let message = message_of(&w, Side::Integration, account).await;
        assert!(
            message.contains("local record C900001 matches on email")
                && message.contains(other)
                && message.contains("couple one by hand"),
            "{account}: {message}"
        );
        let log = w
            .engine
            .record_log("CUSTOMER", Side::Integration, account, 10)
            .await
            .unwrap();
        assert!(
            log.iter()
                .any(|entry| entry.message.as_deref() == Some(message.as_str())),
            "{account}'s log says why it is held: {log:?}"
        );
    }
}

async fn two_customers_matching_one_account_couple_neither(kind: StoreKind) {
    let w = synchronized(kind).await;
    let before = counts(&w).await;
    add_customer(&w, "C900001", "Ambig One").await;
    add_customer(&w, "C900002", "Ambig Two").await;
    add_account(&w, "amb-a", "Ambig A").await;

    let job = w.sync("CUSTOMER").await;
    assert_eq!(job.counters.coupled, 0);
    assert_eq!(job.counters.inserted, 0);
    none_coupled(&w, Side::Local, &["C900001", "C900002"]).await;
    none_coupled(&w, Side::Integration, &["amb-a"]).await;
    assert_eq!(counts(&w).await, (before.0 + 2, before.1 + 1));
    for (customer, rival) in [("C900001", "C900002"), ("C900002", "C900001")] {
        let message = message_of(&w, Side::Local, customer).await;
        assert!(
            message.contains("integration record amb-a matches on email")
                && message.contains(&format!("local record {rival}")),
            "{customer}: {message}"
        );
    }
    let account = message_of(&w, Side::Integration, "amb-a").await;
    assert!(
        account.contains("2 local records match on email")
            && account.contains("C900001")
            && account.contains("C900002"),
        "{account}"
    );
}

async fn three_candidates_are_all_named(kind: StoreKind) {
    let w = synchronized(kind).await;
    add_customer(&w, "C900001", "Ambig Co").await;
    for id in ["amb-a", "amb-b", "amb-c"] {
        add_account(&w, id, id).await;
    }
    let job = w.sync("CUSTOMER").await;
    assert_eq!(job.counters.coupled, 0);
    assert_eq!(job.counters.inserted, 0);
    none_coupled(&w, Side::Integration, &["amb-a", "amb-b", "amb-c"]).await;
    let customer = message_of(&w, Side::Local, "C900001").await;
    assert!(
        customer.contains("3 integration records match on email: amb-a, amb-b, amb-c"),
        "{customer}"
    );
    let account = message_of(&w, Side::Integration, "amb-c").await;
    assert!(
        account.contains("and integration records amb-a, amb-b match it too"),
        "{account}"
    );
}

async fn an_ambiguity_ends_when_an_edit_makes_the_match_unique(kind: StoreKind) {
    let w = synchronized(kind).await;
    add_customer(&w, "C900001", "Ambig Co").await;
    add_account(&w, "amb-a", "Ambig A").await;
    add_account(&w, "amb-b", "Ambig B").await;
    // Held, not skipped: however often it is met, the ambiguity is read again each run.
    for _ in 0..3 {
        w.sync("CUSTOMER").await;
    }
    let errors = w.errors("CUSTOMER").await;
    assert_eq!(errors.len(), 3);
    assert!(errors.iter().all(|e| !e.skipped), "{errors:?}");
    // Met again for the same reason, nothing new is recorded: one attempt, one log entry.
    assert!(errors.iter().all(|e| e.attempts == 1), "{errors:?}");
    let log = w
        .engine
        .record_log("CUSTOMER", Side::Integration, "amb-a", 10)
        .await
        .unwrap();
    assert_eq!(log.len(), 1, "{log:?}");

    // Someone gives account A its own e-mail: B is then the customer's only match.
    w.crm(
        "update account set emailaddress1 = 'a@ambig.example', modifiedon = modifiedon + 1000 \
         where accountid = 'amb-a'",
    )
    .await;
    w.sync("CUSTOMER").await;
    assert_eq!(
        w.coupled("CUSTOMER", Side::Local, "C900001")
            .await
            .as_deref(),
        Some("amb-b"),
        "the unique match is coupled"
    );
    let a = w
        .coupled("CUSTOMER", Side::Integration, "amb-a")
        .await
        .expect("account A, now unmatched, is created in the ERP");
    assert_ne!(a, "C900001");
    assert_eq!(
        w.customer_value(&a, "email").await.as_deref(),
        Some("a@ambig.example")
    );
    assert_eq!(w.errors("CUSTOMER").await, vec![], "no error is left open");
}

/// Which pass finds a customer's match: the ERP's, when the customer is new to it, or the
/// CRM's, when only the account is (the customer was last changed before the last run).
#[derive(Clone, Copy)]
enum FoundBy {
    Erp,
    Crm,
}

/// A customer "Match Local" and an account "Match CRM" sharing an e-mail, under the
/// mapping's `on_match` (the default when `None`), found by `found_by` and coupled:
/// answers the customer's name and the account's after the run.
async fn coupled_by_match(
    kind: StoreKind,
    on_match: Option<&str>,
    found_by: FoundBy,
) -> (World, Option<String>, Option<String>) {
    let w = World::new(kind, 5, |c| match on_match {
        Some(winner) => c.replacen(
            "match_on = [\"email\"]\n",
            &format!("match_on = [\"email\"]\non_match = \"{winner}\"\n"),
            1,
        ),
        None => c,
    })
    .await;
    w.sync("CUSTOMER").await;
    let (columns, values) = match found_by {
        FoundBy::Erp => ("", ""),
        FoundBy::Crm => (", modified_at", ", 1"),
    };
    w.erp(&format!(
        "insert into customer (no, name, email{columns}) \
         values ('C900001', 'Match Local', '{EMAIL}'{values})"
    ))
    .await;
    add_account(&w, "amb-a", "Match CRM").await;
    let job = w.sync("CUSTOMER").await;
    assert_eq!(job.counters.coupled, 1, "the one match is coupled: {job:?}");
    assert_eq!(job.counters.inserted, 0, "nothing is created");
    assert_eq!(
        w.coupled("CUSTOMER", Side::Local, "C900001")
            .await
            .as_deref(),
        Some("amb-a")
    );
    let customer = w.customer_value("C900001", "name").await;
    let account = w.account_value("C900001", "name").await;
    (w, customer, account)
}

async fn on_a_match_the_record_whose_change_found_it_wins_by_default(kind: StoreKind) {
    let local = Some("Match Local".to_string());
    let crm = Some("Match CRM".to_string());
    let (w, customer, account) = coupled_by_match(kind, None, FoundBy::Erp).await;
    assert_eq!((customer, account), (local.clone(), local.clone()));
    assert_eq!(w.errors("CUSTOMER").await, vec![]);
    let (_, customer, account) = coupled_by_match(kind, None, FoundBy::Crm).await;
    assert_eq!((customer, account), (crm.clone(), crm));
}

async fn on_match_local_or_integration_names_the_winner_whichever_pass_finds_it(kind: StoreKind) {
    let local = Some("Match Local".to_string());
    let crm = Some("Match CRM".to_string());
    for found_by in [FoundBy::Erp, FoundBy::Crm] {
        let (_, customer, account) = coupled_by_match(kind, Some("local"), found_by).await;
        assert_eq!((customer, account), (local.clone(), local.clone()));
        let (_, customer, account) = coupled_by_match(kind, Some("integration"), found_by).await;
        assert_eq!((customer, account), (crm.clone(), crm.clone()));
    }
}

async fn on_match_none_couples_and_leaves_both_records_as_they_are(kind: StoreKind) {
    let (w, customer, account) = coupled_by_match(kind, Some("none"), FoundBy::Erp).await;
    assert_eq!(
        (customer.as_deref(), account.as_deref()),
        (Some("Match Local"), Some("Match CRM"))
    );
    // Coupled all the same: the customer's next change reaches the account.
    w.erp("update customer set name = 'Renamed', modified_at = modified_at + 1000 where no = 'C900001'")
        .await;
    w.sync("CUSTOMER").await;
    assert_eq!(
        w.account_value("C900001", "name").await.as_deref(),
        Some("Renamed")
    );
}

async fn a_later_set_of_match_fields_is_tried_only_when_the_earlier_finds_nothing(kind: StoreKind) {
    let w = World::new(kind, 5, |c| {
        c.replacen(
            "match_on = [\"email\"]\n",
            "match_on = [[\"email\"], [\"name\", \"city\"]]\n",
            1,
        )
    })
    .await;
    w.sync("CUSTOMER").await;
    w.erp(
        "insert into customer (no, name, city, email) values \
         ('P1', 'Prio One', 'Oslo', 'p1@prio.example'), \
         ('P2', 'Prio Two', 'Bergen', 'p2@prio.example'), \
         ('P3', 'Prio Three', 'Rome', 'p3@prio.example'), \
         ('P4', 'Prio Four', 'Rome', 'p4@prio.example'), \
         ('P5', 'Cross Co', 'Oslo', 'p5@prio.example')",
    )
    .await;
    w.crm(
        "insert into account (accountid, name, address1_city, emailaddress1) values \
         ('by-name', 'Prio One', 'Oslo', 'other@prio.example'), \
         ('by-email', 'Someone Else', 'Rome', 'p1@prio.example'), \
         ('two', 'Prio Two', 'Bergen', null), \
         ('three-a', 'Prio Three', 'Rome', null), \
         ('three-b', 'Prio Three', 'Rome', null), \
         ('cross', 'Cross Co', 'Oslo', 'p4@prio.example')",
    )
    .await;
    w.sync("CUSTOMER").await;

    // P1's e-mail finds an account: its name and city are not asked.
    assert_eq!(
        w.coupled("CUSTOMER", Side::Local, "P1").await.as_deref(),
        Some("by-email")
    );
    assert_ne!(
        w.coupled("CUSTOMER", Side::Integration, "by-name")
            .await
            .as_deref(),
        Some("P1")
    );
    // P2's e-mail finds nothing; its name and city find the one account.
    assert_eq!(
        w.coupled("CUSTOMER", Side::Local, "P2").await.as_deref(),
        Some("two")
    );
    assert_eq!(
        w.account_value("P2", "emailaddress1").await.as_deref(),
        Some("p2@prio.example")
    );
    // P4's e-mail and P5's name and city find the same account: the e-mail, earlier in
    // priority, couples it; P5 is held, not coupled to it nor created anew.
    assert_eq!(
        w.coupled("CUSTOMER", Side::Local, "P4").await.as_deref(),
        Some("cross")
    );
    none_coupled(&w, Side::Local, &["P5"]).await;
    let message = message_of(&w, Side::Local, "P5").await;
    assert!(
        message.contains(
            "integration record cross matches on name, city, and local record P4 matches it too"
        ),
        "{message}"
    );
    // P3's name and city find two: held, with the set that found them named.
    none_coupled(&w, Side::Local, &["P3"]).await;
    none_coupled(&w, Side::Integration, &["three-a", "three-b"]).await;
    let message = message_of(&w, Side::Local, "P3").await;
    assert!(
        message.contains("2 integration records match on name, city: three-a, three-b"),
        "{message}"
    );
}

async fn a_person_couples_one_of_the_candidates_the_errors_page_lists(kind: StoreKind) {
    let w = synchronized(kind).await;
    add_customer(&w, "C900001", "Ambig Co").await;
    add_account(&w, "amb-a", "Ambig A").await;
    add_account(&w, "amb-b", "Ambig B").await;
    w.sync("CUSTOMER").await;
    let error_of = |side: Side, key: &'static str| {
        let w = &w;
        async move {
            let errors = w.errors("CUSTOMER").await;
            let e = errors
                .iter()
                .find(|e| e.key(side) == Some(key))
                .unwrap_or_else(|| panic!("{side} record {key} has an open error"));
            w.engine.error_detail(e.id).await.unwrap()
        }
    };

    // The customer's page lists both accounts; each account's lists the customer.
    let customer = error_of(Side::Local, "C900001").await;
    let listed: Vec<(&str, Option<&str>)> = customer
        .candidates
        .iter()
        .map(|c| (c.key.as_str(), c.description.as_deref()))
        .collect();
    assert_eq!(
        listed,
        [("amb-a", Some("Ambig A")), ("amb-b", Some("Ambig B"))]
    );
    assert!(customer.recommendation.contains("never chooses"));
    let account = error_of(Side::Integration, "amb-a").await;
    assert_eq!(account.candidates.len(), 1);
    assert_eq!(account.candidates[0].key, "C900001");

    // Someone chooses account B, with the customer's values.
    let answer = w
        .engine
        .set_up_coupling(
            "alice",
            "couple-b",
            "CUSTOMER",
            "C900001",
            "amb-b",
            Some(Side::Local),
        )
        .await
        .unwrap();
    assert_eq!(answer.outcomes[0].outcome, Outcome::Done, "{answer:?}");
    assert_eq!(
        w.account_value("C900001", "name").await.as_deref(),
        Some("Ambig Co")
    );
    let open: Vec<_> = w
        .errors("CUSTOMER")
        .await
        .into_iter()
        .map(|e| (e.local_key, e.integration_key))
        .collect();
    assert_eq!(
        open,
        [(None, Some("amb-a".to_string()))],
        "the chosen pair's errors are settled; account A's waits for the next run"
    );

    // Account A matches nothing uncoupled now: the next run creates it in the ERP.
    w.sync("CUSTOMER").await;
    assert!(
        w.coupled("CUSTOMER", Side::Integration, "amb-a")
            .await
            .is_some()
    );
    assert_eq!(w.errors("CUSTOMER").await, vec![]);
}

async fn coupling_a_record_by_hand_leaves_another_records_error_naming_it(kind: StoreKind) {
    let w = synchronized(kind).await;
    // Customer C matches account X, but its name is too long for the CRM: C's error names
    // X as its partner. Customer A, last changed before the last run, is not read.
    let long = "L".repeat(200);
    w.erp(&format!(
        "insert into customer (no, name, email) values ('C900001', '{long}', '{EMAIL}')"
    ))
    .await;
    w.erp("insert into customer (no, name, email, modified_at) values ('A900001', 'Alpha', 'a@alpha.example', 1)")
        .await;
    w.crm(&format!(
        "insert into account (accountid, name, emailaddress1, modifiedon) values ('x', 'X', '{EMAIL}', 1)"
    ))
    .await;
    w.sync("CUSTOMER").await;
    let message = message_of(&w, Side::Local, "C900001").await;
    assert!(message.contains("at most 160"), "{message}");

    // Someone couples X with A instead: C's error is C's, and stays open.
    let answer = w
        .engine
        .set_up_coupling("alice", "couple-x", "CUSTOMER", "A900001", "x", None)
        .await
        .unwrap();
    assert_eq!(answer.outcomes[0].outcome, Outcome::Done, "{answer:?}");
    assert!(
        message_of(&w, Side::Local, "C900001")
            .await
            .contains("at most 160")
    );
}

async fn case_and_surrounding_spaces_are_ignored_unless_the_field_is_exact(kind: StoreKind) {
    for exact in [false, true] {
        let w = World::new(kind, 5, |c| {
            let email = "local = \"email\"\nintegration = \"emailaddress1\"\n";
            if exact {
                c.replacen(email, &format!("{email}exact = true\n"), 1)
            } else {
                c
            }
        })
        .await;
        w.sync("CUSTOMER").await;
        let before = counts(&w).await;
        w.erp("insert into customer (no, name, email) values ('C900001', 'Case Co', ' Shared@Ambig.EXAMPLE ')")
            .await;
        add_account(&w, "case-a", "Case Co").await;
        let job = w.sync("CUSTOMER").await;
        let coupled = w.coupled("CUSTOMER", Side::Local, "C900001").await;
        if exact {
            assert_ne!(coupled.as_deref(), Some("case-a"), "exact: no match");
            assert_eq!(job.counters.inserted, 2, "each created anew");
            assert_eq!(counts(&w).await, (before.0 + 2, before.1 + 2));
        } else {
            assert_eq!(
                coupled.as_deref(),
                Some("case-a"),
                "matched despite case and spaces"
            );
            assert_eq!((job.counters.coupled, job.counters.inserted), (1, 0));
            assert_eq!(
                counts(&w).await,
                (before.0 + 1, before.1 + 1),
                "nothing created"
            );
        }
    }
}

async fn create_new_creates_a_held_record_anew_and_it_is_matched_no_more(kind: StoreKind) {
    let w = synchronized(kind).await;
    let before = counts(&w).await;
    add_customer(&w, "C900001", "Ambig Co").await;
    add_account(&w, "amb-a", "Ambig A").await;
    add_account(&w, "amb-b", "Ambig B").await;
    w.sync("CUSTOMER").await;
    let errors = w.errors("CUSTOMER").await;
    let customer = errors
        .iter()
        .find(|e| e.local_key.as_deref() == Some("C900001"))
        .expect("the customer is held")
        .clone();
    let detail = w.engine.error_detail(customer.id).await.unwrap();
    assert!(detail.held && detail.recommendation.contains("Create New"));

    let answer = w
        .engine
        .act_on_errors(
            "alice",
            "create-new-1",
            &Action::CreateNew,
            &Selection::Errors(World::seen(std::slice::from_ref(&customer))),
        )
        .await
        .unwrap();
    assert_eq!(answer.outcomes.len(), 1);
    assert_eq!(answer.outcomes[0].outcome, Outcome::Done, "{answer:?}");
    let account = w
        .coupled("CUSTOMER", Side::Local, "C900001")
        .await
        .expect("created anew and coupled");
    assert!(!["amb-a", "amb-b"].contains(&account.as_str()), "{account}");
    assert_eq!(
        w.account_value("C900001", "name").await.as_deref(),
        Some("Ambig Co")
    );

    // The accounts match no uncoupled customer now: each is created in the ERP, and the
    // customer, chosen as its own record, is no one's match again.
    w.sync("CUSTOMER").await;
    for id in ["amb-a", "amb-b"] {
        let partner = w.coupled("CUSTOMER", Side::Integration, id).await;
        assert!(
            partner.as_deref().is_some_and(|p| p != "C900001"),
            "{id}: {partner:?}"
        );
    }
    assert_eq!(w.errors("CUSTOMER").await, vec![]);
    assert_eq!(counts(&w).await, (before.0 + 3, before.1 + 3));
    let log = w
        .engine
        .record_log("CUSTOMER", Side::Local, "C900001", 10)
        .await
        .unwrap();
    assert!(
        log.iter().any(|entry| entry.actor == "alice"),
        "the customer's log names who chose: {log:?}"
    );
}

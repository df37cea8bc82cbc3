//! Table filters: only a table's records inside its mapping's filter are synchronized —
//! on a column the other side does not map, too; a record entering the filter is created,
//! one leaving it keeps its coupling and its partner; a filter naming a missing column or
//! a value its column cannot hold stops the start.

use crate::on_both_stores;
use crate::support::StoreKind;
use crate::support::world::World;
use engine::model::Side;

on_both_stores!(
    only_records_inside_the_filter_are_synchronized,
    a_filter_that_cannot_apply_is_refused,
);

const MAPPING: &str = r#"
[[mapping]]
name = "CUSTOMER"
direction = "to_integration"
interval = "1h"
local = { system = "erp", table = "customer", key = "no", modified = "modified", filter = "FILTER" }
integration = { system = "crm", table = "account", key = "id", modified = "modified" }

[[mapping.field]]
local = "name"
integration = "name"

[[mapping.field]]
local = "city"
integration = "city"
"#;

/// The shapes suite's tables, the ERP's with a `blocked` flag the CRM does not have.
fn erp_ddl(kind: StoreKind) -> String {
    crate::shapes::erp_ddl(kind)
        + "\nalter table customer add column blocked integer not null default 0;"
}

async fn world(kind: StoreKind, filter: &str) -> Result<World, engine::EngineError> {
    let mapping = MAPPING.replace("FILTER", filter);
    World::with_tables(
        kind,
        &erp_ddl(kind),
        &crate::shapes::crm_ddl(kind),
        &mapping,
        |c| c,
    )
    .await
}

async fn accounts(w: &World) -> i64 {
    World::count(&w.crm, "select count(*) from account").await
}

async fn only_records_inside_the_filter_are_synchronized(kind: StoreKind) {
    let w = world(kind, "blocked = 0 and city in ('Oslo', 'Rome')")
        .await
        .unwrap();
    w.erp(
        "insert into customer (no, name, city, blocked) values
           ('C1', 'Ada', 'Oslo', 0), ('C2', 'Bea', 'Rome', 1), ('C3', 'Cy', 'Paris', 0),
           ('C4', 'Dag', 'Rome', 0)",
    )
    .await;
    let first = w.sync("CUSTOMER").await;
    assert_eq!(first.counters.inserted, 2, "{first:?}");
    assert_eq!(accounts(&w).await, 2);
    for (no, inside) in [("C1", true), ("C2", false), ("C3", false), ("C4", true)] {
        assert_eq!(
            w.coupled("CUSTOMER", Side::Local, no).await.is_some(),
            inside,
            "{no} coupled only if inside the filter"
        );
    }

    // C3 moves into the filter: created.
    w.erp("update customer set city = 'Oslo' where no = 'C3'")
        .await;
    let entered = w.sync("CUSTOMER").await;
    assert_eq!(entered.counters.inserted, 1, "{entered:?}");
    assert!(w.coupled("CUSTOMER", Side::Local, "C3").await.is_some());

    // C1 is blocked, and renamed: it left the filter, so nothing is written, its partner
    // stays and so does the coupling.
    let account = w.coupled("CUSTOMER", Side::Local, "C1").await.unwrap();
    w.erp("update customer set blocked = 1, name = 'Adele' where no = 'C1'")
        .await;
    let left = w.sync("CUSTOMER").await;
    assert_eq!(
        (
            left.counters.inserted,
            left.counters.modified,
            left.counters.deleted
        ),
        (0, 0, 0),
        "{left:?}"
    );
    assert_eq!(accounts(&w).await, 3);
    assert_eq!(
        World::text(
            &w.crm,
            &format!("select name from account where id = '{account}'")
        )
        .await
        .as_deref(),
        Some("Ada")
    );
    assert_eq!(
        w.coupled("CUSTOMER", Side::Local, "C1").await,
        Some(account)
    );
}

async fn a_filter_that_cannot_apply_is_refused(kind: StoreKind) {
    let refused = |filter: &'static str| async move {
        world(kind, filter)
            .await
            .err()
            .unwrap_or_else(|| panic!("{filter:?} was accepted"))
            .to_string()
    };
    let missing = refused("country in ('DK', 'DE')").await;
    assert!(missing.contains("mapping CUSTOMER"), "{missing}");
    assert!(
        missing.contains(
            r#"the filter of table "customer" names column "country", which the table lacks"#
        ),
        "{missing}"
    );
    let misfit = refused("blocked = 'yes'").await;
    assert!(
        misfit.contains(r#"compares column "blocked" with "yes", which it cannot hold"#),
        "{misfit}"
    );
}

//! Data columns as real tables type them — limited text, exact decimals, booleans, dates,
//! moments — read and written on both stores, and a value that does not fit the other
//! side's column failing its record, named, before anything of it is written.

use crate::on_both_stores;
use crate::support::StoreKind;
use crate::support::world::World;
use engine::model::Side;

on_both_stores!(typed_columns_cross_and_misfits_fail_before_writing);

const MAPPING: &str = r#"
[[mapping]]
name = "CUSTOMER"
direction = "to_integration"
interval = "1h"
local = { system = "erp", table = "customer", key = "no", modified = "modified" }
integration = { system = "crm", table = "account", key = "id", modified = "modified" }

[[mapping.field]]
local = "name"
integration = "name"

[[mapping.field]]
local = "credit"
integration = "credit"

[[mapping.field]]
local = "active"
integration = "active"

[[mapping.field]]
local = "since"
integration = "since"

[[mapping.field]]
local = "seen"
integration = "seen"
"#;

/// The shapes suite's tables, with typed columns: the CRM's narrower than the ERP's.
fn tables(kind: StoreKind) -> (String, String) {
    let moment = match kind {
        StoreKind::Postgres => "timestamptz",
        StoreKind::Sqlite => "datetime",
    };
    let columns = |name: u32, precision: u32| {
        format!(
            "alter table {{t}} drop column name;
             alter table {{t}} add column name varchar({name});
             alter table {{t}} add column credit numeric({precision}, 2);
             alter table {{t}} add column active boolean;
             alter table {{t}} add column since date;
             alter table {{t}} add column seen {moment};"
        )
    };
    (
        crate::shapes::erp_ddl(kind) + &columns(40, 10).replace("{t}", "customer"),
        crate::shapes::crm_ddl(kind) + &columns(10, 6).replace("{t}", "account"),
    )
}

async fn typed_columns_cross_and_misfits_fail_before_writing(kind: StoreKind) {
    let (erp, crm) = tables(kind);
    let w = World::with_tables(kind, &erp, &crm, MAPPING, |c| c)
        .await
        .unwrap();
    w.erp(
        "insert into customer (no, name, city, credit, active, since, seen) values
           ('C1', 'Ada', 'Oslo', 1234.50, true, '2024-02-29', '2026-12-02 10:00:00+00:00'),
           ('C2', 'Bartholomew Long', 'Rome', 10, false, '2020-01-01', null),
           ('C3', 'Cy', 'Kyiv', 99999.99, true, '2021-06-30', null)",
    )
    .await;
    let job = w.run("CUSTOMER").await;
    assert_eq!(job.counters.inserted, 1, "{job:?}");
    assert_eq!(job.counters.failed, 2, "{job:?}");

    let account = w.coupled("CUSTOMER", Side::Local, "C1").await.unwrap();
    let crm = &w.crm;
    let value = |column: &str| {
        let sql = format!("select cast({column} as text) from account where id = '{account}'");
        async move { World::text(crm, &sql).await }
    };
    assert_eq!(value("name").await.as_deref(), Some("Ada"));
    assert_eq!(
        value("cast(credit * 100 as integer)").await.as_deref(),
        Some("123450")
    );
    assert_eq!(value("cast(active as integer)").await.as_deref(), Some("1"));
    assert_eq!(value("since").await.as_deref(), Some("2024-02-29"));
    let seen = value("seen").await.unwrap();
    assert!(
        seen.starts_with("2026-12-02") && seen.contains("10:00:00"),
        "{seen}"
    );

    // The misfits failed, named, and wrote nothing.
    assert_eq!(
        World::count(&w.crm, "select count(*) from account").await,
        1
    );
    let errors = w.errors("CUSTOMER").await;
    let message = |no: &str| {
        errors
            .iter()
            .find(|e| e.local_key.as_deref() == Some(no))
            .map(|e| e.message.clone())
            .unwrap_or_else(|| panic!("{no} failed: {errors:?}"))
    };
    assert!(
        message("C2").contains(r#""Bartholomew Long" cannot be stored in account.name, which holds at most 10 characters"#),
        "{}",
        message("C2")
    );
    assert!(
        message("C3").contains("cannot be stored in account.credit, which holds decimals of at most 4 digits before the point"),
        "{}",
        message("C3")
    );
}

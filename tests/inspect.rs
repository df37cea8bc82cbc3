//! `coupler inspect` and `coupler mapping suggest` on the demo's systems, on SQLite and on
//! PostgreSQL: the tables, one table's columns, key and modified-on column as the
//! catalogue says, and a suggested mapping that synchronizes as it stands.

use crate::on_both_stores;
use crate::support::StoreKind;
use crate::support::world::World;
use engine::config::Config;
use engine::inspect;
use engine::model::{JobState, Side};
use engine::store::coupling;
use engine::value::ColumnKind;
use engine::{Engine, EngineError, Systems};

on_both_stores!(
    a_system_lists_its_tables,
    a_table_shows_its_key_modified_on_and_kinds,
    the_suggestion_pairs_the_demos_customer_fields,
    a_suggested_mapping_synchronizes_as_it_stands,
    unknown_systems_and_tables_are_named,
);

fn config(world: &World) -> Config {
    Config::load(&world.dir.join("coupler.toml")).expect("the demo's configuration loads")
}

async fn a_system_lists_its_tables(kind: StoreKind) {
    let world = World::new(kind, 3, |c| c).await;
    let config = config(&world);
    let erp = inspect::tables(&config, "erp").await.unwrap();
    for table in ["contact", "customer", "item", "tombstone"] {
        assert!(erp.iter().any(|t| t == table), "erp lists {table}: {erp:?}");
    }
    let crm = inspect::tables(&config, "crm").await.unwrap();
    assert!(crm.iter().any(|t| t == "account"), "{crm:?}");
    assert!(!crm.iter().any(|t| t == "customer"), "{crm:?}");
}

async fn a_table_shows_its_key_modified_on_and_kinds(kind: StoreKind) {
    let world = World::new(kind, 3, |c| c).await;
    let report = inspect::table(&config(&world), "crm", "account")
        .await
        .unwrap();
    assert_eq!(report.key.as_deref(), Some("accountid"));
    assert_eq!(report.modified_candidates, ["modifiedon"]);
    assert_eq!(report.tombstones.as_deref(), Some("tombstone"));
    let column = |name: &str| {
        report
            .shape
            .columns
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("account has {name}"))
    };
    assert_eq!(column("creditlimit").kind, Some(ColumnKind::Real));
    assert_eq!(column("modifiedon").kind, Some(ColumnKind::Integer));
    assert_eq!(column("name").kind, Some(ColumnKind::Text));
    assert!(!column("name").nullable);
    assert!(column("telephone1").nullable);
    assert!(column("accountid").primary_key);
    assert!(!column("name").primary_key);
    let names: Vec<&str> = report
        .shape
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names[0], "accountid", "in the table's order: {names:?}");
}

/// The pairs of the suggested block's `[[mapping.field]]` tables.
fn suggested_pairs(suggestion: &str) -> Vec<(String, String)> {
    let parsed: toml::Value = toml::from_str(suggestion).expect("the suggestion is TOML");
    parsed["mapping"][0]["field"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| {
            (
                f["local"].as_str().unwrap().to_string(),
                f["integration"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn the_suggestion_pairs_the_demos_customer_fields(kind: StoreKind) {
    let world = World::new(kind, 3, |c| c).await;
    let config = config(&world);
    let local = inspect::table(&config, "erp", "customer").await.unwrap();
    let integration = inspect::table(&config, "crm", "account").await.unwrap();
    let suggestion = inspect::suggest_mapping(&local, &integration);
    let mut suggested = suggested_pairs(&suggestion);
    // The demo's own CUSTOMER mapping, as a person wrote it.
    let mut written: Vec<(String, String)> = config
        .mappings
        .iter()
        .find(|m| m.name == "CUSTOMER")
        .unwrap()
        .fields
        .iter()
        .map(|f| (f.local.clone().unwrap(), f.integration.clone().unwrap()))
        .collect();
    suggested.sort();
    written.sort();
    assert_eq!(suggested, written, "{suggestion}");
    assert!(
        suggestion.contains(
            r#"local = { system = "erp", table = "customer", key = "no", modified = "modified_at" }"#
        ),
        "{suggestion}"
    );
}

async fn a_suggested_mapping_synchronizes_as_it_stands(kind: StoreKind) {
    let world = World::new(kind, 12, |c| c).await;
    let config = config(&world);
    let local = inspect::table(&config, "erp", "item").await.unwrap();
    let integration = inspect::table(&config, "crm", "product").await.unwrap();
    let suggestion = inspect::suggest_mapping(&local, &integration);
    // The demo's systems and store, with the suggested mapping as the only one.
    let text = std::fs::read_to_string(world.dir.join("coupler.toml")).unwrap();
    let systems = &text[..text.find("[[mapping]]").unwrap()];
    let path = world.dir.join("suggested.toml");
    std::fs::write(&path, format!("{systems}\n{suggestion}")).unwrap();
    let config = Config::load(&path).expect("the suggestion loads as it stands");
    let store_url = config.store_url.clone().unwrap();
    let systems = Systems::connect(&config).await.expect("its tables check");
    let engine = Engine::open_with(config, &store_url, systems)
        .await
        .unwrap();
    let items = World::count(&world.erp, "select count(*) from item").await;
    assert!(items > 0);
    let job = engine
        .synchronize(Some("ITEM"), false, "test")
        .await
        .expect("the mapping runs")
        .remove(0);
    assert_eq!(job.state, JobState::Succeeded, "{job:?}");
    assert_eq!(job.counters.inserted as i64, items, "{job:?}");
    let first = World::text(&world.erp, "select no from item order by no limit 1")
        .await
        .unwrap();
    let mut conn = engine.store().conn().await.unwrap();
    let coupled = coupling::by_keys(&mut conn, "ITEM", Side::Local, std::slice::from_ref(&first))
        .await
        .unwrap();
    let product = coupled
        .first()
        .expect("the first item is coupled")
        .key(Side::Integration)
        .to_string();
    let name = World::text(
        &world.crm,
        &format!("select name from product where productid = '{product}'"),
    )
    .await;
    let description = World::text(
        &world.erp,
        &format!("select description from item where no = '{first}'"),
    )
    .await;
    assert_eq!(name, description, "description was paired with name");
}

async fn unknown_systems_and_tables_are_named(kind: StoreKind) {
    let world = World::new(kind, 1, |c| c).await;
    let config = config(&world);
    match inspect::tables(&config, "warehouse").await {
        Err(EngineError::NotFound(message)) => {
            assert!(
                message.contains(r#"no system is named "warehouse""#),
                "{message}"
            );
            assert!(message.contains("crm, erp"), "{message}");
        }
        other => panic!("refused, not {other:?}"),
    }
    match inspect::table(&config, "erp", "customers").await {
        Err(EngineError::NotFound(message)) => {
            assert_eq!(message, r#"system erp has no table "customers""#)
        }
        other => panic!("refused, not {other:?}"),
    }
}

//! Tables as real systems have them: modified-on columns of `timestamptz` and `timestamp`
//! (PostgreSQL) and `datetime` text (SQLite), kept by the system's own defaults and
//! triggers. Changes flow both ways, echoes are recognised, sub-second changes are seen,
//! records sharing one instant across a page are all read, a `timestamp` is read in its
//! system's zone, and a column that cannot order changes is refused. Integer seconds
//! (`modified_unit = "seconds"`) are read as milliseconds, and a change within the
//! second Coupler last saw is still seen.

use crate::on_both_stores;
use crate::support::StoreKind;
use crate::support::world::World;
use engine::model::Side;
use engine::store::coupling;
use sqlx::{AnyPool, Executor};

on_both_stores!(
    changes_flow_both_ways_on_timestamp_columns,
    versions_keep_sub_second_precision,
    records_sharing_an_instant_across_a_page_are_all_read,
    a_modified_on_column_that_cannot_order_changes_is_refused,
    changes_flow_both_ways_on_integer_seconds,
    seconds_on_a_column_that_is_no_integer_are_refused,
);

const MAPPING: &str = r#"
[[mapping]]
name = "CUSTOMER"
direction = "bidirectional"
interval = "1h"
local = { system = "erp", table = "customer", key = "no", modified = "modified" }
integration = { system = "crm", table = "account", key = "id", modified = "modified" }

[[mapping.field]]
local = "name"
integration = "name"

[[mapping.field]]
local = "city"
integration = "city"
"#;

/// The ERP's customer table: `timestamptz` on PostgreSQL, datetime text with a space on
/// SQLite; stamped by a default and, on each update that leaves it, a trigger.
pub(crate) fn erp_ddl(kind: StoreKind) -> String {
    match kind {
        StoreKind::Postgres => postgres_table(
            "customer",
            "no",
            "timestamptz not null default clock_timestamp()",
            "clock_timestamp()",
        ),
        StoreKind::Sqlite => sqlite_table("customer", "no", "%Y-%m-%d %H:%M:%f"),
    }
}

/// The CRM's account table: `timestamp` (wall-clock time in the session's zone) on
/// PostgreSQL, datetime text with `T` and `Z` on SQLite.
pub(crate) fn crm_ddl(kind: StoreKind) -> String {
    match kind {
        StoreKind::Postgres => postgres_table(
            "account",
            "id",
            "timestamp not null default clock_timestamp()::timestamp",
            "clock_timestamp()::timestamp",
        ),
        StoreKind::Sqlite => sqlite_table("account", "id", "%Y-%m-%dT%H:%M:%fZ"),
    }
}

fn postgres_table(table: &str, key: &str, modified: &str, now: &str) -> String {
    format!(
        "create table {table} ({key} text primary key, name text, city text, modified {modified});
         create function {table}_touch() returns trigger language plpgsql as $$
           begin new.modified := {now}; return new; end $$;
         create trigger {table}_modified before update on {table} for each row
           when (new.modified is not distinct from old.modified)
           execute function {table}_touch();"
    )
}

fn sqlite_table(table: &str, key: &str, format: &str) -> String {
    format!(
        "create table {table} ({key} text primary key, name text, city text,
           modified datetime not null default (strftime('{format}', 'now')));
         create trigger {table}_modified after update on {table}
           when new.modified is old.modified
           begin update {table} set modified = strftime('{format}', 'now') where {key} = new.{key}; end;"
    )
}

/// The CRM's `column` of the account coupled to ERP customer `no`.
async fn account_value(world: &World, no: &str, column: &str) -> Option<String> {
    let account = world.coupled("CUSTOMER", Side::Local, no).await?;
    World::text(
        &world.crm,
        &format!("select {column} from account where id = '{account}'"),
    )
    .await
}

/// The version the store keeps of `side`'s record of the coupling of ERP customer `no`.
async fn version_of(engine: &engine::Engine, no: &str, side: Side) -> i64 {
    let mut conn = engine.store().conn().await.unwrap();
    let coupled = coupling::by_keys(&mut conn, "CUSTOMER", Side::Local, &[no.to_string()])
        .await
        .unwrap();
    coupled[0].modified(side).expect("a version")
}

async fn world(kind: StoreKind) -> World {
    World::with_tables(kind, &erp_ddl(kind), &crm_ddl(kind), MAPPING, |c| c)
        .await
        .expect("the tables check")
}

/// Runs `sql` as the system's own application would: on PostgreSQL in a session of the
/// database's zone (here UTC, as in the test's databases).
async fn exec(pool: &AnyPool, sql: &str) {
    pool.execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// C1's city changed in the ERP with `modified` stamped as given reaches the CRM in the
/// next run.
async fn a_change_stamped_at_reaches_the_crm(world: &World, modified: &str) {
    exec(
        &world.erp,
        &format!("update customer set city = 'Bergen', modified = {modified} where no = 'C1'"),
    )
    .await;
    let job = world.sync("CUSTOMER").await;
    assert_eq!(job.counters.modified, 1, "{job:?}");
    assert_eq!(
        account_value(world, "C1", "city").await.as_deref(),
        Some("Bergen")
    );
}

/// An edit of C2's city in the CRM reaches the ERP in the next run.
async fn an_edit_in_the_crm_comes_back(world: &World) {
    let account = world.coupled("CUSTOMER", Side::Local, "C2").await.unwrap();
    exec(
        &world.crm,
        &format!("update account set city = 'Turin' where id = '{account}'"),
    )
    .await;
    let back = world.sync("CUSTOMER").await;
    assert_eq!(back.counters.modified, 1, "{back:?}");
    assert_eq!(
        world.customer_value("C2", "city").await.as_deref(),
        Some("Turin")
    );
}

/// A run with nothing changed since the last one writes nothing.
async fn a_second_run_changes_nothing(world: &World) {
    let quiet = world.sync("CUSTOMER").await;
    assert_eq!(
        (quiet.counters.inserted, quiet.counters.modified),
        (0, 0),
        "{quiet:?}"
    );
}

async fn changes_flow_both_ways_on_timestamp_columns(kind: StoreKind) {
    let world = world(kind).await;
    exec(
        &world.erp,
        "insert into customer (no, name, city) values ('C1', 'Ada', 'Oslo'), ('C2', 'Bea', 'Rome'), ('C3', 'Cy', 'Kyiv')",
    )
    .await;
    let first = world.sync("CUSTOMER").await;
    assert_eq!(first.counters.inserted, 3, "{first:?}");
    assert_eq!(
        World::count(&world.crm, "select count(*) from account").await,
        3
    );

    // The records Coupler wrote come back through the CRM's feed as its own echoes.
    let again = world.sync("CUSTOMER").await;
    assert_eq!(
        (again.counters.inserted, again.counters.modified),
        (0, 0),
        "{again:?}"
    );

    an_edit_in_the_crm_comes_back(&world).await;

    exec(
        &world.erp,
        "update customer set name = 'Adele' where no = 'C1'",
    )
    .await;
    let forth = world.sync("CUSTOMER").await;
    assert_eq!(forth.counters.modified, 1, "{forth:?}");
    assert_eq!(
        account_value(&world, "C1", "name").await.as_deref(),
        Some("Adele")
    );
    let quiet = world.sync("CUSTOMER").await;
    assert_eq!(
        (quiet.counters.modified, quiet.counters.inserted),
        (0, 0),
        "{quiet:?}"
    );
}

async fn versions_keep_sub_second_precision(kind: StoreKind) {
    let world = world(kind).await;
    let (at, later) = match kind {
        StoreKind::Postgres => (
            "'2026-11-30 10:00:00.100+00'",
            "'2026-11-30 10:00:00.101+00'",
        ),
        StoreKind::Sqlite => ("'2026-11-30 10:00:00.100'", "'2026-11-30 10:00:00.101'"),
    };
    exec(
        &world.erp,
        &format!(
            "insert into customer (no, name, city, modified) values ('C1', 'Ada', 'Oslo', {at})"
        ),
    )
    .await;
    world.sync("CUSTOMER").await;
    // A change a millisecond later, within the same second.
    a_change_stamped_at_reaches_the_crm(&world, later).await;
    // The version kept is the instant's, to the millisecond.
    let version = version_of(&world.engine, "C1", Side::Local).await;
    let ms = 1_796_032_800_101; // 2026-11-30 10:00:00.101 UTC
    assert_eq!(
        version,
        match kind {
            StoreKind::Postgres => ms * 1000,
            StoreKind::Sqlite => ms,
        }
    );
}

async fn records_sharing_an_instant_across_a_page_are_all_read(kind: StoreKind) {
    let world = world(kind).await;
    let many = engine::sync::BATCH + 3;
    let sql = match kind {
        StoreKind::Postgres => format!(
            "insert into customer (no, name, city, modified)
             select 'C' || lpad(n::text, 6, '0'), 'Name ' || n, 'Oslo', '2026-11-30 10:00:00.5+00'
             from generate_series(1, {many}) n"
        ),
        StoreKind::Sqlite => format!(
            "with recursive n(i) as (select 1 union all select i + 1 from n where i < {many})
             insert into customer (no, name, city, modified)
             select printf('C%06d', i), 'Name ' || i, 'Oslo', '2026-11-30 10:00:00.500' from n"
        ),
    };
    exec(&world.erp, &sql).await;
    let job = world.sync("CUSTOMER").await;
    assert_eq!(job.counters.inserted as usize, many, "{job:?}");
    assert_eq!(
        World::count(&world.crm, "select count(distinct name) from account").await as usize,
        many
    );
}

async fn a_modified_on_column_that_cannot_order_changes_is_refused(kind: StoreKind) {
    let (ddl, expected) = match kind {
        StoreKind::Postgres => (
            "create table customer (no text primary key, name text, city text, modified text);",
            r#"column "modified" of table "customer" has type text, which cannot order changes"#,
        ),
        StoreKind::Sqlite => (
            "create table customer (no text primary key, name text, city text, modified datetime);
             insert into customer values ('C1', 'Ada', 'Oslo', 'yesterday');",
            r#"column "modified" of table "customer" holds "yesterday", which is no ISO 8601 datetime"#,
        ),
    };
    let refused = World::with_tables(kind, ddl, &crm_ddl(kind), MAPPING, |c| c).await;
    match refused {
        Err(error) => {
            let message = error.to_string();
            assert!(message.contains("mapping CUSTOMER"), "{message}");
            assert!(message.contains(expected), "{message}");
        }
        Ok(_) => panic!("the table was accepted"),
    }
}

/// The CRM's `timestamp` column stamped in New York wall-clock time, the database's
/// own zone: Coupler reads it in that zone (the version is now, not five hours off), and
/// stamps its own writes there too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timestamp_is_read_in_the_databases_zone() {
    let kind = StoreKind::Postgres;
    let world = World::with_tables(kind, &erp_ddl(kind), &crm_ddl(kind), MAPPING, |c| c)
        .await
        .unwrap();
    // The zone is the database's: set it, and open the engine again to learn it.
    let database: String = sqlx::query_scalar("select current_database()::text")
        .fetch_one(&world.crm)
        .await
        .unwrap();
    exec(
        &world.crm,
        &format!(r#"alter database "{database}" set timezone = 'America/New_York'"#),
    )
    .await;
    let config = engine::config::Config::load(&world.dir.join("coupler.toml")).unwrap();
    let store_url = config.store_url.clone().unwrap();
    let systems = engine::Systems::connect(&config).await.unwrap();
    let engine = engine::Engine::open_with(config, &store_url, systems)
        .await
        .unwrap();
    exec(
        &world.erp,
        "insert into customer (no, name, city) values ('C1', 'Ada', 'Oslo')",
    )
    .await;
    engine
        .synchronize(Some("CUSTOMER"), false, "test")
        .await
        .unwrap();
    // An edit in the CRM by its own application, whose sessions run in New York time.
    let account = world.coupled("CUSTOMER", Side::Local, "C1").await.unwrap();
    let mut app = world.crm.acquire().await.unwrap();
    app.execute("set time zone 'America/New_York'")
        .await
        .unwrap();
    app.execute(format!("update account set city = 'Boston' where id = '{account}'").as_str())
        .await
        .unwrap();
    drop(app);
    let jobs = engine
        .synchronize(Some("CUSTOMER"), false, "test")
        .await
        .unwrap();
    assert_eq!(jobs[0].counters.modified, 1, "{:?}", jobs[0]);
    assert_eq!(
        world.customer_value("C1", "city").await.as_deref(),
        Some("Boston")
    );
    let version = version_of(&engine, "C1", Side::Integration).await;
    let now = engine::store::now_millis() * 1000;
    assert!(
        (now - version).abs() < 60_000_000,
        "the CRM's version {version} is an instant near now {now}"
    );
}

/// A system's `time_zone` setting overrides the database's, and a zone the database does
/// not know is refused at start, named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_systems_time_zone_setting_is_used_and_checked() {
    let kind = StoreKind::Postgres;
    let tokyo = postgres_table(
        "account",
        "id",
        "timestamp not null default (clock_timestamp() at time zone 'Asia/Tokyo')",
        "(clock_timestamp() at time zone 'Asia/Tokyo')",
    );
    let with_zone = |zone: &'static str| {
        move |c: String| {
            c.replace(
                "[systems.crm]\n",
                &format!("[systems.crm]\ntime_zone = \"{zone}\"\n"),
            )
        }
    };
    let world = World::with_tables(
        kind,
        &erp_ddl(kind),
        &tokyo,
        MAPPING,
        with_zone("Asia/Tokyo"),
    )
    .await
    .unwrap();
    exec(
        &world.erp,
        "insert into customer (no, name, city) values ('C1', 'Ada', 'Oslo')",
    )
    .await;
    world.sync("CUSTOMER").await;
    let version = version_of(&world.engine, "C1", Side::Integration).await;
    let now = engine::store::now_millis() * 1000;
    assert!((now - version).abs() < 60_000_000, "{version} near {now}");

    let refused = World::with_tables(
        kind,
        &erp_ddl(kind),
        &tokyo,
        MAPPING,
        with_zone("Mars/Olympus"),
    )
    .await;
    let message = refused
        .err()
        .expect("an unknown zone is refused")
        .to_string();
    assert!(
        message.contains(r#"time zone "Mars/Olympus" is unknown"#),
        "{message}"
    );
}

/// The ERP's customer table with a modified-on column of integer seconds (Unix time),
/// stamped by a default and a trigger as the others are.
fn seconds_ddl(kind: StoreKind) -> String {
    match kind {
        StoreKind::Postgres => postgres_table(
            "customer",
            "no",
            "bigint not null default extract(epoch from clock_timestamp())::bigint",
            "extract(epoch from clock_timestamp())::bigint",
        ),
        StoreKind::Sqlite => "create table customer (no text primary key, name text, city text,
               modified integer not null default (cast(strftime('%s', 'now') as integer)));
             create trigger customer_modified after update on customer
               when new.modified is old.modified
               begin update customer set modified = cast(strftime('%s', 'now') as integer)
                 where no = new.no; end;"
            .to_string(),
    }
}

/// [`MAPPING`] with the ERP's modified-on column in seconds.
fn in_seconds() -> String {
    MAPPING.replace(
        r#"key = "no", modified = "modified" }"#,
        r#"key = "no", modified = "modified", modified_unit = "seconds" }"#,
    )
}

async fn changes_flow_both_ways_on_integer_seconds(kind: StoreKind) {
    let world = World::with_tables(
        kind,
        &seconds_ddl(kind),
        &crm_ddl(kind),
        &in_seconds(),
        |c| c,
    )
    .await
    .expect("the tables check");
    exec(
        &world.erp,
        "insert into customer (no, name, city) values ('C1', 'Ada', 'Oslo'), ('C2', 'Bea', 'Rome')",
    )
    .await;
    let first = world.sync("CUSTOMER").await;
    assert_eq!(first.counters.inserted, 2, "{first:?}");

    // The version kept is the column's seconds, in milliseconds.
    let stamped = World::count(&world.erp, "select modified from customer where no = 'C1'").await;
    let version = version_of(&world.engine, "C1", Side::Local).await;
    assert_eq!(version, stamped * 1000);
    let now = engine::store::now_millis();
    assert!((now - version).abs() < 60_000, "{version} near {now}");

    // Nothing changed: the records Coupler wrote are its own, both ways.
    a_second_run_changes_nothing(&world).await;

    // A change stamped with the very second the coupling knows is still synchronized.
    // (The trigger is dropped so that the stamp stays that second however long this
    // takes.)
    exec(
        &world.erp,
        match kind {
            StoreKind::Postgres => "drop trigger customer_modified on customer",
            StoreKind::Sqlite => "drop trigger customer_modified",
        },
    )
    .await;
    a_change_stamped_at_reaches_the_crm(&world, &stamped.to_string()).await;

    // And back: an edit in the CRM reaches the seconds column's table.
    an_edit_in_the_crm_comes_back(&world).await;
    a_second_run_changes_nothing(&world).await;
}

async fn seconds_on_a_column_that_is_no_integer_are_refused(kind: StoreKind) {
    let refused =
        World::with_tables(kind, &erp_ddl(kind), &crm_ddl(kind), &in_seconds(), |c| c).await;
    let message = refused
        .err()
        .expect("seconds on a timestamp column are refused")
        .to_string();
    assert!(message.contains("mapping CUSTOMER"), "{message}");
    assert!(
        message.contains(r#"modified_unit = "seconds" is for an integer column"#),
        "{message}"
    );
}

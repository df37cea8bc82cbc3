//! `coupler demo`: two realistic systems to synchronize. An ERP-like database
//! (customer, contact, item) and a CRM-like one (account, contact, product), each
//! keeping its own modified-on columns and deletion tombstones with triggers, as real
//! applications do, and a `coupler.toml` that maps them. `simulate` then edits both
//! the way people do.

use crate::db::Sql;
use crate::db::{Backend, OpenError, open_pool};
use sqlx::{AnyPool, Executor, Row};
use std::path::{Path, PathBuf};

/// What `create` made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DemoSummary {
    /// The configuration file written.
    pub config: PathBuf,
    /// Customers created in the ERP.
    pub customers: u64,
    /// Contacts created in the ERP.
    pub contacts: u64,
    /// Items created in the ERP.
    pub items: u64,
    /// Accounts already in the CRM (they match ERP customers by e-mail).
    pub accounts: u64,
}

/// Why the demo could not be created or edited.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The folder or a file in it could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The folder already holds demo systems.
    #[error("{0} already holds a demo (erp.db or crm.db); choose another folder or remove them")]
    Exists(PathBuf),
    /// The folder holds no demo to simulate on.
    #[error("{0} holds no demo (erp.db and crm.db); create one with `coupler demo --dir {0}`")]
    Missing(PathBuf),
    /// A database could not be opened.
    #[error("cannot open the demo database {url}: {reason}")]
    Open {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A database statement failed.
    #[error("demo database: {0}")]
    Database(#[from] sqlx::Error),
}

/// Now in milliseconds, in each database's SQL.
fn now_ms(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "cast((julianday('now') - 2440587.5) * 86400000 as integer)",
        Backend::Postgres => "(extract(epoch from clock_timestamp()) * 1000)::bigint",
    }
}

/// Creates `dir/erp.db`, `dir/crm.db` and `dir/coupler.toml` with `customers` customers.
pub async fn create(dir: &Path, customers: u64) -> Result<DemoSummary, DemoError> {
    std::fs::create_dir_all(dir).map_err(|source| DemoError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let erp_path = dir.join("erp.db");
    let crm_path = dir.join("crm.db");
    if erp_path.exists() || crm_path.exists() {
        return Err(DemoError::Exists(dir.to_path_buf()));
    }
    let mut summary = create_systems(
        &format!("sqlite://{}", erp_path.display()),
        &format!("sqlite://{}", crm_path.display()),
        customers,
    )
    .await?;
    summary.config = dir.join("coupler.toml");
    let text = config("sqlite://erp.db", "sqlite://crm.db", "sqlite://coupler.db");
    std::fs::write(&summary.config, text).map_err(|source| DemoError::Io {
        path: summary.config.clone(),
        source,
    })?;
    Ok(summary)
}

async fn open(url: &str) -> Result<AnyPool, DemoError> {
    let (pool, _) = open_pool(url, true, 1).await.map_err(|e| DemoError::Open {
        url: crate::db::redact(url),
        reason: match e {
            OpenError::InvalidUrl(reason) => reason,
            OpenError::Unreachable(source) => source.to_string(),
        },
    })?;
    Ok(pool)
}

/// Creates the demo's tables and data in two empty databases (SQLite or PostgreSQL).
pub async fn create_systems(
    erp_url: &str,
    crm_url: &str,
    customers: u64,
) -> Result<DemoSummary, DemoError> {
    fill(erp_url, crm_url, customers, true).await
}

/// The demo's tables with customers only (and the CRM's accounts entered by hand), no
/// contacts: what a benchmark of the CUSTOMER mapping needs, made in less time.
pub async fn create_customers(
    erp_url: &str,
    crm_url: &str,
    customers: u64,
) -> Result<DemoSummary, DemoError> {
    fill(erp_url, crm_url, customers, false).await
}

/// Creates the CRM's tables in an empty database and inserts `rows` accounts as fast as
/// the driver allows — a thousand rows a statement, fifty thousand a transaction — into
/// `account`, with its indexes and triggers, keyed as the engine keys the accounts it
/// creates: the ceiling for writing the CRM. Answers how long the inserts took
/// (generating the rows beforehand is not counted).
pub async fn fill_accounts(crm_url: &str, rows: u64) -> Result<std::time::Duration, DemoError> {
    let crm = open(crm_url).await?;
    let backend = crate::db::backend_of(crm_url).unwrap_or(Backend::Sqlite);
    crm.execute(crm_schema(backend).as_str()).await?;
    let mut rng = Rng(0x0a11_ce55);
    let mut took = std::time::Duration::ZERO;
    // A transaction's rows are made before its clock starts, and only they are held.
    let mut next = 1;
    while next <= rows {
        let last = (next + 49_999).min(rows);
        let transaction: Vec<Account> = (next..=last)
            .map(|n| {
                let company = company_name(&mut rng, n);
                Account {
                    // The keys the engine gives the records it creates.
                    id: crate::sync::new_key(),
                    name: company.chars().take(160).collect(),
                    street: format!("{} {}", rng.below(200) + 1, pick(&mut rng, STREETS)),
                    city: pick(&mut rng, CITIES).to_string(),
                    phone: phone(&mut rng),
                    email: format!("info@{}-{n}.example", slug(&company)),
                    credit_limit: (rng.below(50) * 1000) as f64,
                }
            })
            .collect();
        next = last + 1;
        let started = std::time::Instant::now();
        let mut tx = crm.begin().await?;
        for statement in transaction.chunks(1000) {
            let mut sql = Sql::new(
                "insert into account (accountid, name, address1_line1, address1_city, telephone1, \
                 emailaddress1, creditlimit) ",
            );
            sql.values(statement, |b, a| {
                b.bind(a.id.clone())
                    .bind(a.name.clone())
                    .bind(a.street.clone())
                    .bind(a.city.clone())
                    .bind(a.phone.clone())
                    .bind(a.email.clone())
                    .bind(a.credit_limit);
            });
            sql.execute(&mut tx).await?;
        }
        tx.commit().await?;
        took += started.elapsed();
    }
    crm.close().await;
    Ok(took)
}

/// Spreads the customers' modified-on values a second apart, ending now, as records
/// made over days are (a demo made in one go has them all in the same few seconds).
pub async fn age_customers(erp_url: &str) -> Result<(), DemoError> {
    let erp = open(erp_url).await?;
    let backend = crate::db::backend_of(erp_url).unwrap_or(Backend::Sqlite);
    let count: i64 = sqlx::query("select count(*) from customer")
        .fetch_one(&erp)
        .await?
        .try_get(0)?;
    let number = match backend {
        Backend::Sqlite => "cast(substr(no, 2) as integer)",
        Backend::Postgres => "cast(substr(no, 2) as bigint)",
    };
    erp.execute(
        format!(
            "update customer set modified_at = {} - ({count} - {number}) * 1000",
            now_ms(backend)
        )
        .as_str(),
    )
    .await?;
    erp.close().await;
    Ok(())
}

/// Changes the phone of `changed` customers spread evenly over the first `of`.
pub async fn touch_customers(erp_url: &str, changed: u64, of: u64) -> Result<(), DemoError> {
    let erp = open(erp_url).await?;
    let step = (of / changed.max(1)).max(1);
    let keys: Vec<String> = (0..changed)
        .map(|i| format!("C{:06}", 1 + i * step))
        .collect();
    let mut tx = erp.begin().await?;
    for chunk in keys.chunks(500) {
        let mut sql = Sql::new("update customer set phone = '+1 555 0100' where no in ");
        sql.list(chunk, |b, key| {
            b.bind(key.clone());
        });
        sql.execute(&mut tx).await?;
    }
    tx.commit().await?;
    erp.close().await;
    Ok(())
}

/// Makes the first `count` customers' names too long for the CRM, as if pasted from a
/// letterhead: each fails to synchronize.
pub async fn lengthen_names(erp_url: &str, count: u64) -> Result<(), DemoError> {
    let erp = open(erp_url).await?;
    let backend = crate::db::backend_of(erp_url).unwrap_or(Backend::Sqlite);
    let number = match backend {
        Backend::Sqlite => "cast(substr(no, 2) as integer)",
        Backend::Postgres => "cast(substr(no, 2) as bigint)",
    };
    erp.execute(
        format!(
            "update customer set name = name || ', trading as ' || name || ', registered office \
             and principal place of business at the Industrial Estate, North Wing, Building \
             Seven, Harbour Road, Rotterdam' where {number} <= {count}"
        )
        .as_str(),
    )
    .await?;
    erp.close().await;
    Ok(())
}

/// Whether a PostgreSQL server answers at `admin_url`.
pub async fn check_server(admin_url: &str) -> Result<(), DemoError> {
    open(admin_url).await?.close().await;
    Ok(())
}

/// Creates the empty database `name` on the PostgreSQL server of `admin_url` (dropping
/// one left over) and answers its URL.
pub async fn create_database(admin_url: &str, name: &str) -> Result<String, DemoError> {
    let admin = open(admin_url).await?;
    admin
        .execute(format!(r#"drop database if exists "{name}""#).as_str())
        .await?;
    admin
        .execute(format!(r#"create database "{name}""#).as_str())
        .await?;
    admin.close().await;
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url, |(base, _)| base);
    Ok(format!("{base}/{name}"))
}

/// Drops the database `name` on the PostgreSQL server of `admin_url`.
pub async fn drop_database(admin_url: &str, name: &str) -> Result<(), DemoError> {
    let admin = open(admin_url).await?;
    admin
        .execute(format!(r#"drop database if exists "{name}" with (force)"#).as_str())
        .await?;
    admin.close().await;
    Ok(())
}

/// `url` with its password hidden, for messages.
pub fn redact(url: &str) -> String {
    crate::db::redact(url)
}

struct Account {
    id: String,
    name: String,
    street: String,
    city: String,
    phone: String,
    email: String,
    credit_limit: f64,
}

async fn fill(
    erp_url: &str,
    crm_url: &str,
    customers: u64,
    with_contacts: bool,
) -> Result<DemoSummary, DemoError> {
    let erp = open(erp_url).await?;
    let crm = open(crm_url).await?;
    let erp_backend = crate::db::backend_of(erp_url).unwrap_or(Backend::Sqlite);
    let crm_backend = crate::db::backend_of(crm_url).unwrap_or(Backend::Sqlite);
    erp.execute(erp_schema(erp_backend).as_str()).await?;
    crm.execute(crm_schema(crm_backend).as_str()).await?;

    let mut rng = Rng(0x5eed_c0de);
    let items = 40.min(customers.max(10));
    let mut summary = DemoSummary {
        customers,
        items,
        ..DemoSummary::default()
    };
    let mut customer_rows = Vec::new();
    let mut contact_rows = Vec::new();
    let mut account_rows = Vec::new();
    let mut erp_tx = erp.begin().await?;
    let mut crm_tx = crm.begin().await?;
    for n in 1..=customers {
        let company = company_name(&mut rng, n);
        // The number keeps e-mail addresses unique: match-based coupling relies on them.
        let email = format!("info@{}-{n}.example", slug(&company));
        let city = pick(&mut rng, CITIES);
        let no = format!("C{n:06}");
        customer_rows.push(Customer {
            no: no.clone(),
            name: company.clone(),
            address: format!("{} {}", rng.below(200) + 1, pick(&mut rng, STREETS)),
            city: city.to_string(),
            phone: phone(&mut rng),
            email: email.clone(),
            credit_limit: (rng.below(50) * 1000) as f64,
        });
        for c in 0..1 + rng.below(3) {
            if !with_contacts {
                break;
            }
            let first = pick(&mut rng, FIRST_NAMES);
            let last = pick(&mut rng, LAST_NAMES);
            contact_rows.push([
                format!("CT{n:06}{c}"),
                no.clone(),
                format!("{first} {last}"),
                format!(
                    "{}.{}@{}.example",
                    first.to_lowercase(),
                    last.to_lowercase(),
                    slug(&company)
                ),
                phone(&mut rng),
                pick(&mut rng, JOB_TITLES).to_string(),
            ]);
        }
        // One customer in ten already has an account in the CRM, entered by hand there:
        // match-based coupling must couple these instead of creating duplicates.
        if n % 10 == 3 && company.chars().count() <= 160 {
            account_rows.push([
                rng.guid(),
                company.clone(),
                city.to_string(),
                phone(&mut rng),
                email.clone(),
            ]);
        }
        if customer_rows.len() >= 400 {
            insert_customers(&mut erp_tx, &customer_rows).await?;
            customer_rows.clear();
        }
        if contact_rows.len() >= 400 {
            summary.contacts += contact_rows.len() as u64;
            insert_rows(
                &mut erp_tx,
                "contact",
                &["no", "company_no", "name", "email", "phone", "job_title"],
                &contact_rows,
            )
            .await?;
            contact_rows.clear();
        }
    }
    insert_customers(&mut erp_tx, &customer_rows).await?;
    summary.contacts += contact_rows.len() as u64;
    insert_rows(
        &mut erp_tx,
        "contact",
        &["no", "company_no", "name", "email", "phone", "job_title"],
        &contact_rows,
    )
    .await?;
    summary.accounts = account_rows.len() as u64;
    for chunk in account_rows.chunks(400) {
        insert_rows(
            &mut crm_tx,
            "account",
            &[
                "accountid",
                "name",
                "address1_city",
                "telephone1",
                "emailaddress1",
            ],
            chunk,
        )
        .await?;
    }
    for n in 1..=items {
        let (name, unit) = ITEMS[(n as usize - 1) % ITEMS.len()];
        let description = if n as usize > ITEMS.len() {
            format!("{name}, series {}", n as usize / ITEMS.len() + 1)
        } else {
            name.to_string()
        };
        sqlx::query(
            "insert into item (no, description, unit_price, base_unit) values ($1, $2, $3, $4)",
        )
        .bind(format!("I{n:04}"))
        .bind(description)
        .bind((rng.below(40_000) as f64) / 100.0 + 1.0)
        .bind(unit)
        .execute(&mut *erp_tx)
        .await?;
    }
    erp_tx.commit().await?;
    crm_tx.commit().await?;
    erp.close().await;
    crm.close().await;
    Ok(summary)
}

struct Customer {
    no: String,
    name: String,
    address: String,
    city: String,
    phone: String,
    email: String,
    credit_limit: f64,
}

async fn insert_customers(
    conn: &mut sqlx::AnyConnection,
    rows: &[Customer],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut sql =
        Sql::new("insert into customer (no, name, address, city, phone, email, credit_limit) ");
    sql.values(rows, |b, c| {
        b.bind(c.no.clone())
            .bind(c.name.clone())
            .bind(c.address.clone())
            .bind(c.city.clone())
            .bind(c.phone.clone())
            .bind(c.email.clone())
            .bind(c.credit_limit);
    });
    sql.execute(&mut *conn).await?;
    Ok(())
}

async fn insert_rows<const N: usize>(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    columns: &[&str; N],
    rows: &[[String; N]],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new(format!("insert into {table} ({}) ", columns.join(", ")));
    sql.values(rows, |b, row| {
        for value in row {
            b.bind(value.clone());
        }
    });
    sql.execute(&mut *conn).await?;
    Ok(())
}

/// Triggers that keep `modified` moving forward on every update (by at least one, so two
/// changes in one millisecond are still two changes) and write a tombstone on every
/// delete, the way the systems this demo stands for do.
fn change_tracking(backend: Backend, table: &str, key: &str, modified: &str) -> String {
    let now = now_ms(backend);
    match backend {
        Backend::Sqlite => format!(
            r"
create trigger {table}_touched after update on {table} for each row
when new.{modified} is old.{modified}
begin
    update {table} set {modified} = max({now}, old.{modified} + 1) where {key} = new.{key};
end;
create trigger {table}_deleted after delete on {table} for each row
begin
    insert into tombstone (table_name, record_key, deleted_at) values ('{table}', old.{key}, {now});
end;
create index {table}_{modified} on {table} ({modified}, {key});
"
        ),
        Backend::Postgres => format!(
            r"
create function {table}_touch() returns trigger language plpgsql as $$
begin
    if new.{modified} is not distinct from old.{modified} then
        new.{modified} := greatest({now}, old.{modified} + 1);
    end if;
    return new;
end $$;
create trigger {table}_touched before update on {table} for each row execute function {table}_touch();
create function {table}_tombstone() returns trigger language plpgsql as $$
begin
    insert into tombstone (table_name, record_key, deleted_at) values ('{table}', old.{key}, {now});
    return old;
end $$;
create trigger {table}_deleted after delete on {table} for each row execute function {table}_tombstone();
create index {table}_{modified} on {table} ({modified}, {key});
"
        ),
    }
}

fn tombstone_table(backend: Backend) -> String {
    let id = match backend {
        Backend::Sqlite => "integer primary key",
        Backend::Postgres => "bigserial primary key",
    };
    format!(
        r"
create table tombstone (
    id {id},
    table_name text not null,
    record_key text not null,
    deleted_at bigint not null
);
create index tombstone_deleted on tombstone (table_name, deleted_at, id);
"
    )
}

fn erp_schema(backend: Backend) -> String {
    let now = now_ms(backend);
    let real = real_type(backend);
    format!(
        r"{}
create table customer (
    no text primary key,
    name text not null,
    address text,
    city text,
    phone text,
    email text,
    credit_limit {real} not null default 0,
    modified_at bigint not null default ({now})
);
-- Match-based coupling looks customers up by e-mail.
create index customer_email on customer (email);
create table contact (
    no text primary key,
    company_no text,
    name text not null,
    email text,
    phone text,
    job_title text,
    modified_at bigint not null default ({now})
);
create table item (
    no text primary key,
    description text not null,
    unit_price {real} not null default 0,
    base_unit text not null default 'PCS',
    modified_at bigint not null default ({now})
);
{}{}{}",
        tombstone_table(backend),
        change_tracking(backend, "customer", "no", "modified_at"),
        change_tracking(backend, "contact", "no", "modified_at"),
        change_tracking(backend, "item", "no", "modified_at"),
    )
}

fn crm_schema(backend: Backend) -> String {
    let now = now_ms(backend);
    let real = real_type(backend);
    format!(
        r"{}
create table account (
    accountid text primary key,
    name text not null check (length(name) <= 160),
    address1_line1 text,
    address1_city text,
    telephone1 text,
    emailaddress1 text,
    creditlimit {real},
    modifiedon bigint not null default ({now})
);
-- Match-based coupling looks accounts up by e-mail.
create index account_email on account (emailaddress1);
create table contact (
    contactid text primary key,
    parentcustomerid text,
    fullname text not null,
    emailaddress1 text,
    telephone1 text,
    jobtitle text,
    modifiedon bigint not null default ({now})
);
create table product (
    productid text primary key,
    productnumber text unique,
    name text not null,
    price {real},
    defaultuom text,
    modifiedon bigint not null default ({now})
);
{}{}{}",
        tombstone_table(backend),
        change_tracking(backend, "account", "accountid", "modifiedon"),
        change_tracking(backend, "contact", "contactid", "modifiedon"),
        change_tracking(backend, "product", "productid", "modifiedon"),
    )
}

fn real_type(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "real",
        Backend::Postgres => "double precision",
    }
}

/// What `simulate` did to the two systems.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Simulation {
    /// One line per edit, in plain words.
    pub edits: Vec<String>,
}

/// Edits both demo systems the way people do between two runs: creates, edits and
/// deletes on each side, one coupled pair edited in the same field on both sides (a
/// conflict) and one in different fields (a merge). `seed` picks the records.
pub async fn simulate(erp_url: &str, crm_url: &str, seed: u64) -> Result<Simulation, DemoError> {
    let erp = open(erp_url).await?;
    let crm = open(crm_url).await?;
    let mut rng = Rng(seed);
    let mut done = Simulation::default();

    // New customers in the ERP and new accounts in the CRM.
    let next: i64 = sqlx::query("select count(*) from customer")
        .fetch_one(&erp)
        .await?
        .try_get(0)?;
    for n in 0..3 {
        let number = next + 1_000_000 + n + (seed % 1000) as i64 * 10;
        let company = company_name(&mut rng, number as u64 + 1);
        let no = format!("C{number:07}");
        sqlx::query(
            "insert into customer (no, name, city, phone, email) values ($1, $2, $3, $4, $5)",
        )
        .bind(&no)
        .bind(&company)
        .bind(pick(&mut rng, CITIES))
        .bind(phone(&mut rng))
        .bind(format!("sales{number}@{}.example", slug(&company)))
        .execute(&erp)
        .await?;
        done.edits
            .push(format!("erp: created customer {no} {company:?}"));
    }
    if seed == 1 {
        // Someone pasted markup into a name: too long for the CRM, and never run as HTML.
        let no = format!("C{:07}", next + 2_000_000);
        let name = format!(
            "<script>alert(\"pasted\")</script> {}",
            "Pasted Name Holdings ".repeat(7).trim_end()
        );
        sqlx::query("insert into customer (no, name, city) values ($1, $2, $3)")
            .bind(&no)
            .bind(&name)
            .bind(pick(&mut rng, CITIES))
            .execute(&erp)
            .await?;
        done.edits
            .push(format!("erp: created customer {no} {name:?}"));
    }
    for _ in 0..2 {
        let company = company_name(&mut rng, 1);
        let id = rng.guid();
        sqlx::query("insert into account (accountid, name, address1_city, emailaddress1) values ($1, $2, $3, $4)")
            .bind(&id)
            .bind(&company)
            .bind(pick(&mut rng, CITIES))
            .bind(format!("hello-{}@{}.example", &id[..8], slug(&company)))
            .execute(&crm)
            .await?;
        done.edits
            .push(format!("crm: created account {id} {company:?}"));
    }

    // Edits on each side.
    let customers: Vec<String> =
        sqlx::query("select no from customer where length(name) <= 160 order by no")
            .fetch_all(&erp)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
    let accounts: Vec<(String, String)> = sqlx::query(
        "select accountid, coalesce(emailaddress1, '') from account order by accountid",
    )
    .fetch_all(&crm)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect::<Result<_, sqlx::Error>>()?;
    if customers.len() < 10 || accounts.len() < 4 {
        return Ok(done);
    }
    for _ in 0..4 {
        let no = &customers[rng.below(customers.len() as u64) as usize];
        let new_phone = phone(&mut rng);
        sqlx::query("update customer set phone = $1 where no = $2")
            .bind(&new_phone)
            .bind(no)
            .execute(&erp)
            .await?;
        done.edits
            .push(format!("erp: customer {no} phone → {new_phone}"));
    }
    for _ in 0..2 {
        let (id, _) = &accounts[rng.below(accounts.len() as u64) as usize];
        let street = format!("{} {}", rng.below(200) + 1, pick(&mut rng, STREETS));
        sqlx::query("update account set address1_line1 = $1 where accountid = $2")
            .bind(&street)
            .bind(id)
            .execute(&crm)
            .await?;
        done.edits
            .push(format!("crm: account {id} address → {street}"));
    }

    // Coupled pairs (same e-mail on both sides): one edited in the same field on both
    // sides, one in different fields.
    let emails: std::collections::HashMap<String, String> =
        sqlx::query("select email, no from customer where email is not null")
            .fetch_all(&erp)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;
    let pairs: Vec<(&String, &String)> = accounts
        .iter()
        .filter_map(|(id, email)| emails.get(email).map(|no| (no, id)))
        .collect();
    let mut edited: Vec<String> = Vec::new();
    if pairs.len() >= 2 {
        let start = rng.below(pairs.len() as u64 - 1) as usize;
        for (no, id) in &pairs[start..start + 2] {
            edited.push(no.to_string());
            edited.push(id.to_string());
        }
        let (no, id) = pairs[start];
        // Cities no record has yet, so both sides really change.
        let (erp_city, crm_city) = ("Lisbon", "Reykjavik");
        sqlx::query("update customer set city = $1 where no = $2")
            .bind(erp_city)
            .bind(no)
            .execute(&erp)
            .await?;
        sqlx::query("update account set address1_city = $1 where accountid = $2")
            .bind(crm_city)
            .bind(id)
            .execute(&crm)
            .await?;
        done.edits.push(format!(
            "both: customer {no} city → {erp_city} in the erp, {crm_city} in the crm (a conflict)"
        ));
        let (no, id) = pairs[start + 1];
        let new_phone = phone(&mut rng);
        sqlx::query("update customer set phone = $1 where no = $2")
            .bind(&new_phone)
            .bind(no)
            .execute(&erp)
            .await?;
        sqlx::query("update account set address1_line1 = 'Dock 4' where accountid = $1")
            .bind(id)
            .execute(&crm)
            .await?;
        done.edits.push(format!("both: customer {no} phone → {new_phone} in the erp, address → Dock 4 in the crm (a merge)"));
    }

    // Deletions on each side, of records the edits above left alone.
    let untouched = |key: &&String| !edited.iter().any(|e| e == *key);
    let customers: Vec<&String> = customers.iter().filter(untouched).collect();
    let accounts: Vec<&(String, String)> =
        accounts.iter().filter(|(id, _)| untouched(&id)).collect();
    let no = customers[rng.below(customers.len() as u64) as usize];
    sqlx::query("delete from contact where company_no = $1")
        .bind(no)
        .execute(&erp)
        .await?;
    sqlx::query("delete from customer where no = $1")
        .bind(no)
        .execute(&erp)
        .await?;
    done.edits
        .push(format!("erp: deleted customer {no} and its contacts"));
    let (id, _) = accounts[rng.below(accounts.len() as u64) as usize];
    sqlx::query("delete from account where accountid = $1")
        .bind(id)
        .execute(&crm)
        .await?;
    done.edits.push(format!("crm: deleted account {id}"));
    erp.close().await;
    crm.close().await;
    Ok(done)
}

/// [`simulate`] on the SQLite demo in `dir`.
pub async fn simulate_dir(dir: &Path, seed: u64) -> Result<Simulation, DemoError> {
    let (erp, crm) = (dir.join("erp.db"), dir.join("crm.db"));
    if !erp.exists() || !crm.exists() {
        return Err(DemoError::Missing(dir.to_path_buf()));
    }
    simulate(
        &format!("sqlite://{}", erp.display()),
        &format!("sqlite://{}", crm.display()),
        seed,
    )
    .await
}

/// The demo's `coupler.toml` for systems at `erp_url` and `crm_url` and the store at
/// `store_url` (relative SQLite paths are relative to the file).
pub fn config(erp_url: &str, crm_url: &str, store_url: &str) -> String {
    format!(
        r#"# Coupler demo: an ERP and a CRM kept in sync.

[store]
url = "{store_url}"

[systems.erp]
url = "{erp_url}"
tombstones = "tombstone"

[systems.crm]
url = "{crm_url}"
tombstones = "tombstone"

{MAPPINGS}"#
    )
}

const MAPPINGS: &str = r#"
[[mapping]]
name = "CUSTOMER"
direction = "bidirectional"
update_conflict = "none"
deletion_conflict = "none"
interval = "30s"
local = { system = "erp", table = "customer", key = "no", modified = "modified_at" }
integration = { system = "crm", table = "account", key = "accountid", modified = "modifiedon" }
match_on = ["email"]

[[mapping.field]]
local = "name"
integration = "name"
max_length = 160
required = true

[[mapping.field]]
local = "address"
integration = "address1_line1"

[[mapping.field]]
local = "city"
integration = "address1_city"

[[mapping.field]]
local = "phone"
integration = "telephone1"

[[mapping.field]]
local = "email"
integration = "emailaddress1"

[[mapping.field]]
local = "credit_limit"
integration = "creditlimit"
direction = "to_integration"

[[mapping]]
name = "CONTACT"
direction = "bidirectional"
interval = "30s"
depends_on = ["CUSTOMER"]
local = { system = "erp", table = "contact", key = "no", modified = "modified_at" }
integration = { system = "crm", table = "contact", key = "contactid", modified = "modifiedon" }

[[mapping.field]]
local = "company_no"
integration = "parentcustomerid"
lookup = "CUSTOMER"

[[mapping.field]]
local = "name"
integration = "fullname"
required = true

[[mapping.field]]
local = "email"
integration = "emailaddress1"

[[mapping.field]]
local = "phone"
integration = "telephone1"

[[mapping.field]]
local = "job_title"
integration = "jobtitle"

[[mapping]]
name = "ITEM-PRODUCT"
direction = "to_integration"
interval = "5m"
local = { system = "erp", table = "item", key = "no", modified = "modified_at" }
integration = { system = "crm", table = "product", key = "productid", modified = "modifiedon" }

[[mapping.field]]
local = "no"
integration = "productnumber"

[[mapping.field]]
local = "description"
integration = "name"
required = true

[[mapping.field]]
local = "unit_price"
integration = "price"

[[mapping.field]]
local = "base_unit"
integration = "defaultuom"
value_map = { PCS = "Each", BOX = "Box", KG = "Kilogram", M = "Meter" }
"#;

/// A small deterministic generator (SplitMix64): the same demo every time.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn guid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }
}

fn pick<'a>(rng: &mut Rng, list: &[&'a str]) -> &'a str {
    list[rng.below(list.len() as u64) as usize]
}

fn phone(rng: &mut Rng) -> String {
    format!(
        "+1 {:03} {:03} {:04}",
        200 + rng.below(800),
        rng.below(1000),
        rng.below(10_000)
    )
}

fn company_name(rng: &mut Rng, n: u64) -> String {
    let name = format!(
        "{} {} {}",
        pick(rng, LAST_NAMES),
        pick(rng, TRADES),
        pick(rng, SUFFIXES)
    );
    // About one customer in a hundred carries its full legal name, longer than the
    // CRM's 160 characters: those records really fail to synchronize.
    if n % 100 == 42 {
        format!(
            "{name}, trading as {name} Holdings and Subsidiaries, registered office and principal place of business at the Industrial Estate, North Wing, Building Seven"
        )
    } else {
        name
    }
}

fn slug(name: &str) -> String {
    name.split(',')
        .next()
        .unwrap_or(name)
        .chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' => Some(c),
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            ' ' | '-' => Some('-'),
            _ => None,
        })
        .collect()
}

const FIRST_NAMES: &[&str] = &[
    "Anna", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira",
    "Liam", "Maya", "Nils", "Olivia", "Pablo", "Queenie", "Rafael", "Sofia", "Tomas", "Uma",
    "Victor", "Wen", "Yusuf", "Zoe",
];
const LAST_NAMES: &[&str] = &[
    "Adler",
    "Berg",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hoffmann",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quinn",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Urban",
    "Vasquez",
    "Weber",
    "Young",
    "Zimmermann",
];
const TRADES: &[&str] = &[
    "Bikes",
    "Furniture",
    "Logistics",
    "Electronics",
    "Textiles",
    "Catering",
    "Tools",
    "Outdoor",
    "Office Supply",
    "Hardware",
    "Garden",
    "Lighting",
];
const SUFFIXES: &[&str] = &["Ltd", "Inc", "GmbH", "& Co", "Group", "Trading", "Partners"];
const CITIES: &[&str] = &[
    "Atlanta",
    "Berlin",
    "Chicago",
    "Copenhagen",
    "Dublin",
    "Lyon",
    "Madrid",
    "Oslo",
    "Rotterdam",
    "Seattle",
    "Toronto",
    "Vienna",
];
const STREETS: &[&str] = &[
    "Main Street",
    "Harbour Road",
    "Market Square",
    "Station Avenue",
    "Mill Lane",
    "Park Drive",
    "Bridge Street",
    "Church Road",
];
const JOB_TITLES: &[&str] = &[
    "Purchasing Manager",
    "Accountant",
    "Owner",
    "Sales Director",
    "Office Manager",
    "Logistics Coordinator",
];
const ITEMS: &[(&str, &str)] = &[
    ("Bicycle Frame, Aluminium", "PCS"),
    ("Chain Lubricant 250 ml", "PCS"),
    ("Office Chair, Ergonomic", "PCS"),
    ("Desk Lamp LED", "PCS"),
    ("Copy Paper A4, 500 sheets", "BOX"),
    ("Garden Hose 25 m", "PCS"),
    ("Steel Wire", "M"),
    ("Coffee Beans, Arabica", "KG"),
    ("Work Gloves, Size L", "BOX"),
    ("Cable Ties 200 mm", "BOX"),
];

#[cfg(test)]
mod tests {
    use super::*;

    async fn sqlite(path: &Path) -> AnyPool {
        open(&format!("sqlite://{}", path.display())).await.unwrap()
    }

    #[tokio::test]
    async fn creates_both_systems_with_change_tracking_and_a_valid_configuration() {
        let dir = std::env::temp_dir().join(format!("coupler-demo-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let summary = create(&dir, 200).await.unwrap();
        assert_eq!(summary.customers, 200);
        assert!(summary.contacts >= 200);
        assert_eq!(summary.accounts, 20);

        let config = crate::config::Config::load(&summary.config).unwrap();
        let names: Vec<&str> = config.mappings.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["CUSTOMER", "ITEM-PRODUCT", "CONTACT"]);

        let erp = sqlite(&dir.join("erp.db")).await;
        let long: i64 = sqlx::query("select count(*) from customer where length(name) > 160")
            .fetch_one(&erp)
            .await
            .unwrap()
            .get(0);
        assert_eq!(long, 2, "two of 200 customers have names the CRM refuses");

        let modified = async || -> i64 {
            sqlx::query("select modified_at from customer where no = 'C000001'")
                .fetch_one(&erp)
                .await
                .unwrap()
                .get(0)
        };
        let before = modified().await;
        sqlx::query("update customer set city = 'Oslo' where no = 'C000001'")
            .execute(&erp)
            .await
            .unwrap();
        let once = modified().await;
        sqlx::query("update customer set city = 'Bergen' where no = 'C000001'")
            .execute(&erp)
            .await
            .unwrap();
        let twice = modified().await;
        assert!(
            before < once && once < twice,
            "every UPDATE moves modified_at: {before} {once} {twice}"
        );

        sqlx::query("delete from customer where no = 'C000002'")
            .execute(&erp)
            .await
            .unwrap();
        let tombstone: String =
            sqlx::query("select record_key from tombstone where table_name = 'customer'")
                .fetch_one(&erp)
                .await
                .unwrap()
                .get(0);
        assert_eq!(tombstone, "C000002");

        let simulation = simulate_dir(&dir, 7).await.unwrap();
        assert!(
            simulation.edits.iter().any(|e| e.contains("(a conflict)")),
            "{:?}",
            simulation.edits
        );
        assert!(
            simulation
                .edits
                .iter()
                .any(|e| e.starts_with("crm: deleted account"))
        );

        assert!(matches!(create(&dir, 1).await, Err(DemoError::Exists(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

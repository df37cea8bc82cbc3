//! `coupler demo`: two realistic systems to synchronize. An ERP-like database
//! (customer, contact, item) and a CRM-like one (account, contact, product), each
//! keeping its own modified-on columns and deletion tombstones with triggers, as real
//! applications do, and a `coupler.toml` that maps them.

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Executor};
use std::path::{Path, PathBuf};

/// What `create` made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoSummary {
    /// The configuration file written.
    pub config: PathBuf,
    /// Customers created in the ERP.
    pub customers: u64,
    /// Contacts created in the ERP.
    pub contacts: u64,
    /// Items created in the ERP.
    pub items: u64,
    /// Accounts already in the CRM (some match ERP customers by e-mail).
    pub accounts: u64,
}

/// Why the demo could not be created.
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
    /// A database statement failed.
    #[error("demo database: {0}")]
    Database(#[from] sqlx::Error),
}

/// A now-in-milliseconds expression every SQLite version understands.
const NOW_MS: &str = "cast((julianday('now') - 2440587.5) * 86400000 as integer)";

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
    let mut erp = open(&erp_path).await?;
    let mut crm = open(&crm_path).await?;
    erp.execute(erp_schema().as_str()).await?;
    crm.execute(crm_schema().as_str()).await?;

    let mut rng = Rng(0x5eed_c0de);
    let items = 40.min(customers.max(10));
    let mut summary = DemoSummary {
        config: dir.join("coupler.toml"),
        customers,
        contacts: 0,
        items,
        accounts: 0,
    };

    let mut tx = erp.begin().await?;
    let mut crm_tx = crm.begin().await?;
    for n in 1..=customers {
        let company = company_name(&mut rng, n);
        let email = format!("info@{}.example", slug(&company));
        let city = pick(&mut rng, CITIES);
        sqlx::query(
            r"insert into customer (no, name, address, city, phone, email, credit_limit)
              values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(format!("C{n:06}"))
        .bind(&company)
        .bind(format!(
            "{} {}",
            rng.below(200) + 1,
            pick(&mut rng, STREETS)
        ))
        .bind(city)
        .bind(phone(&mut rng))
        .bind(&email)
        .bind((rng.below(50) * 1000) as f64)
        .execute(&mut *tx)
        .await?;
        for c in 0..1 + rng.below(3) {
            summary.contacts += 1;
            let first = pick(&mut rng, FIRST_NAMES);
            let last = pick(&mut rng, LAST_NAMES);
            sqlx::query(
                r"insert into contact (no, company_no, name, email, phone, job_title)
                  values ($1, $2, $3, $4, $5, $6)",
            )
            .bind(format!("CT{n:06}{c}"))
            .bind(format!("C{n:06}"))
            .bind(format!("{first} {last}"))
            .bind(format!(
                "{}.{}@{}.example",
                first.to_lowercase(),
                last.to_lowercase(),
                slug(&company)
            ))
            .bind(phone(&mut rng))
            .bind(pick(&mut rng, JOB_TITLES))
            .execute(&mut *tx)
            .await?;
        }
        // One customer in ten already has an account in the CRM, entered by hand there:
        // match-based coupling must couple these instead of creating duplicates.
        if n % 10 == 3 && company.chars().count() <= 160 {
            summary.accounts += 1;
            sqlx::query(
                r"insert into account (accountid, name, address1_city, telephone1, emailaddress1)
                  values ($1, $2, $3, $4, $5)",
            )
            .bind(rng.guid())
            .bind(&company)
            .bind(city)
            .bind(phone(&mut rng))
            .bind(&email)
            .execute(&mut *crm_tx)
            .await?;
        }
    }
    for n in 1..=items {
        let (name, unit) = ITEMS[(n as usize - 1) % ITEMS.len()];
        sqlx::query(
            r"insert into item (no, description, unit_price, base_unit) values ($1, $2, $3, $4)",
        )
        .bind(format!("I{n:04}"))
        .bind(if n as usize > ITEMS.len() {
            format!("{name}, series {}", n as usize / ITEMS.len() + 1)
        } else {
            name.to_string()
        })
        .bind((rng.below(40_000) as f64) / 100.0 + 1.0)
        .bind(unit)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    crm_tx.commit().await?;
    erp.close().await?;
    crm.close().await?;

    std::fs::write(&summary.config, CONFIG).map_err(|source| DemoError::Io {
        path: summary.config.clone(),
        source,
    })?;
    Ok(summary)
}

async fn open(path: &Path) -> Result<SqliteConnection, sqlx::Error> {
    SqliteConnection::connect_with(
        &SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true),
    )
    .await
}

/// Triggers that keep `modified` current on every insert and update and write a
/// tombstone on every delete, the way the systems this demo stands for do.
fn change_tracking(table: &str, key: &str, modified: &str) -> String {
    format!(
        r"
create trigger {table}_touched after update on {table} for each row
when new.{modified} is old.{modified}
begin
    update {table} set {modified} = {NOW_MS} where {key} = new.{key};
end;
create trigger {table}_deleted after delete on {table} for each row
begin
    insert into tombstone (table_name, record_key, deleted_at) values ('{table}', old.{key}, {NOW_MS});
end;
create index {table}_{modified} on {table} ({modified}, {key});
"
    )
}

fn erp_schema() -> String {
    format!(
        r"
create table tombstone (
    id integer primary key,
    table_name text not null,
    record_key text not null,
    deleted_at integer not null
);
create table customer (
    no text primary key,
    name text not null,
    address text,
    city text,
    phone text,
    email text,
    credit_limit real not null default 0,
    modified_at integer not null default ({NOW_MS})
);
create table contact (
    no text primary key,
    company_no text,
    name text not null,
    email text,
    phone text,
    job_title text,
    modified_at integer not null default ({NOW_MS})
);
create table item (
    no text primary key,
    description text not null,
    unit_price real not null default 0,
    base_unit text not null default 'PCS',
    modified_at integer not null default ({NOW_MS})
);
{}{}{}",
        change_tracking("customer", "no", "modified_at"),
        change_tracking("contact", "no", "modified_at"),
        change_tracking("item", "no", "modified_at"),
    )
}

fn crm_schema() -> String {
    format!(
        r"
create table tombstone (
    id integer primary key,
    table_name text not null,
    record_key text not null,
    deleted_at integer not null
);
create table account (
    accountid text primary key,
    name text not null check (length(name) <= 160),
    address1_line1 text,
    address1_city text,
    telephone1 text,
    emailaddress1 text,
    creditlimit real,
    modifiedon integer not null default ({NOW_MS})
);
create table contact (
    contactid text primary key,
    parentcustomerid text,
    fullname text not null,
    emailaddress1 text,
    telephone1 text,
    jobtitle text,
    modifiedon integer not null default ({NOW_MS})
);
create table product (
    productid text primary key,
    productnumber text unique,
    name text not null,
    price real,
    defaultuom text,
    modifiedon integer not null default ({NOW_MS})
);
{}{}{}",
        change_tracking("account", "accountid", "modifiedon"),
        change_tracking("contact", "contactid", "modifiedon"),
        change_tracking("product", "productid", "modifiedon"),
    )
}

const CONFIG: &str = r#"# Coupler demo: an ERP (erp.db) and a CRM (crm.db) kept in sync.

[store]
url = "sqlite://coupler.db"

[systems.erp]
url = "sqlite://erp.db"

[systems.crm]
url = "sqlite://crm.db"

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
    use sqlx::Row;

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

        let mut erp = open(&dir.join("erp.db")).await.unwrap();
        let long: i64 = sqlx::query("select count(*) from customer where length(name) > 160")
            .fetch_one(&mut erp)
            .await
            .unwrap()
            .get(0);
        assert_eq!(long, 2, "two of 200 customers have names the CRM refuses");

        let before: i64 = sqlx::query("select modified_at from customer where no = 'C000001'")
            .fetch_one(&mut erp)
            .await
            .unwrap()
            .get(0);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        sqlx::query("update customer set city = 'Oslo' where no = 'C000001'")
            .execute(&mut erp)
            .await
            .unwrap();
        let after: i64 = sqlx::query("select modified_at from customer where no = 'C000001'")
            .fetch_one(&mut erp)
            .await
            .unwrap()
            .get(0);
        assert!(
            after > before,
            "an ordinary UPDATE moves modified_at ({before} → {after})"
        );

        sqlx::query("delete from customer where no = 'C000002'")
            .execute(&mut erp)
            .await
            .unwrap();
        let tombstone: String =
            sqlx::query("select record_key from tombstone where table_name = 'customer'")
                .fetch_one(&mut erp)
                .await
                .unwrap()
                .get(0);
        assert_eq!(tombstone, "C000002");

        assert!(matches!(create(&dir, 1).await, Err(DemoError::Exists(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

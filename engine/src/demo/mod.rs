//! `coupler demo`: two realistic systems to synchronize. An ERP-like database
//! (customer, contact, item) and a CRM-like one (account, contact, product), each
//! keeping its own modified-on columns and deletion tombstones with triggers, as real
//! applications do, and a `coupler.toml` that maps them. `simulate` then edits both
//! the way people do.
//!
//! The tables and their change tracking are in `schema`, the generated customers,
//! contacts and items in `data`, the people editing both systems in `simulate`.

mod data;
mod schema;
mod simulate;

pub use data::{
    add_old_log_entries, age_customers, fill_accounts, lengthen_names, touch_customers,
};
pub use simulate::{Simulation, simulate, simulate_dir};

use crate::db::{OpenError, open_pool};
use data::fill;
use sqlx::{AnyPool, Executor};
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

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

    async fn sqlite(path: &Path) -> AnyPool {
        open(&format!("sqlite://{}", path.display())).await.unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

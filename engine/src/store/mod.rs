//! The coupling store: Coupler's own database, SQLite by default and PostgreSQL when
//! several servers share the work. One set of queries serves both; the few statements
//! that differ are chosen by [`Backend`].

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyConnection, AnyPool, Connection, Row};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database holds the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// One SQLite file: the embedded default.
    Sqlite,
    /// A PostgreSQL database, shareable by several processes.
    Postgres,
}

/// Why the store could not be opened or used. Messages name the URL with any password hidden.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is not one Coupler can use.
    #[error("the store URL {url:?} is not valid: {reason}")]
    InvalidUrl {
        /// The URL, password hidden.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The database did not answer.
    #[error("cannot reach the store at {url}: {source}")]
    Unreachable {
        /// The URL, password hidden.
        url: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// A migration failed; the store is left as the failed migration's transaction left it.
    #[error("the store's migrations failed at {url}: {source}")]
    Migration {
        /// The URL, password hidden.
        url: String,
        /// The migrator's error.
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("store query failed: {0}")]
    Database(#[from] sqlx::Error),
}

/// A handle to the store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// The runtime state of one mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappingState {
    /// The mapping's name.
    pub name: String,
    /// Whether scheduled synchronization is paused.
    pub paused: bool,
}

impl Store {
    /// Opens the store at `url` (`sqlite://FILE` creates the file; `postgres://…`) and runs
    /// its migrations.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        install_default_drivers();
        let shown = redact(url);
        let (backend, connect_url) = if url.starts_with("sqlite:") {
            (Backend::Sqlite, sqlite_create_mode(url))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_string())
        } else {
            return Err(StoreError::InvalidUrl {
                url: shown,
                reason: "expected sqlite://FILE or postgres://USER@HOST/DATABASE".into(),
            });
        };
        // One plain connection first: a refused or misspelt URL reports the driver's own
        // reason at once, where the pool would retry until it timed out.
        let probe = AnyConnection::connect(&connect_url)
            .await
            .map_err(|source| match source {
                sqlx::Error::Configuration(reason) => StoreError::InvalidUrl {
                    url: shown.clone(),
                    reason: reason.to_string(),
                },
                source => StoreError::Unreachable {
                    url: shown.clone(),
                    source,
                },
            })?;
        probe.close().await.ok();
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 10,
            })
            .acquire_timeout(Duration::from_secs(5))
            .connect(&connect_url)
            .await
            .map_err(|source| StoreError::Unreachable {
                url: shown.clone(),
                source,
            })?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migration { url: shown, source })?;
        Ok(Store { pool, backend })
    }

    /// Which database holds the store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Answers once the database does.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The runtime state of every mapping the store knows.
    pub async fn mapping_states(&self) -> Result<Vec<MappingState>, StoreError> {
        let rows = sqlx::query(r"select name, paused from mapping_state order by name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(MappingState {
                    name: row.try_get("name")?,
                    paused: row.try_get::<i64, _>("paused")? != 0,
                })
            })
            .collect()
    }

    /// Pauses or resumes scheduled synchronization of the mapping `name`.
    pub async fn set_mapping_paused(&self, name: &str, paused: bool) -> Result<(), StoreError> {
        sqlx::query(
            r"insert into mapping_state (name, paused, updated_at) values ($1, $2, $3)
              on conflict (name) do update set paused = excluded.paused, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(i64::from(paused))
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Milliseconds since the Unix epoch: the store's one time format.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Asks SQLite to create the file when it does not exist, unless the URL says otherwise.
fn sqlite_create_mode(url: &str) -> String {
    if url.contains("mode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// `url` with its password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://app:s3cret@db/coupler"),
            "postgres://app:***@db/coupler"
        );
        assert_eq!(
            redact("postgres://app@db/coupler"),
            "postgres://app@db/coupler"
        );
        assert_eq!(redact("sqlite://coupler.db"), "sqlite://coupler.db");
    }

    #[test]
    fn sqlite_files_are_created_unless_the_url_chooses_a_mode() {
        assert_eq!(
            sqlite_create_mode("sqlite://a.db"),
            "sqlite://a.db?mode=rwc"
        );
        assert_eq!(
            sqlite_create_mode("sqlite://a.db?cache=shared"),
            "sqlite://a.db?cache=shared&mode=rwc"
        );
        assert_eq!(
            sqlite_create_mode("sqlite://a.db?mode=ro"),
            "sqlite://a.db?mode=ro"
        );
    }
}

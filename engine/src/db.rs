//! Opening a SQLite or PostgreSQL database through sqlx's `Any` driver: shared by the
//! store and the SQL connectors.

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyConnection, AnyPool, Connection, Executor};
use std::time::Duration;

/// Which database engine a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Why a database could not be opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// The URL is not one Coupler can use.
    InvalidUrl(String),
    /// The database did not answer, or refused the connection.
    Unreachable(sqlx::Error),
}

/// The backend `url` names, if any.
pub fn backend_of(url: &str) -> Option<Backend> {
    if url.starts_with("sqlite:") {
        Some(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Some(Backend::Postgres)
    } else {
        None
    }
}

/// Opens a pool on `url`. With `create`, a missing SQLite file is created.
pub(crate) async fn open_pool(
    url: &str,
    create: bool,
    max_connections: u32,
) -> Result<(AnyPool, Backend), OpenError> {
    install_default_drivers();
    let backend = backend_of(url).ok_or_else(|| {
        OpenError::InvalidUrl("expected sqlite://FILE or postgres://USER@HOST/DATABASE".into())
    })?;
    let url = match backend {
        Backend::Sqlite if create => sqlite_create_mode(url),
        _ => url.to_string(),
    };
    // One plain connection first: a refused or misspelt URL reports the driver's own
    // reason at once, where the pool would retry until it timed out.
    let probe = AnyConnection::connect(&url).await.map_err(classify)?;
    probe.close().await.ok();
    let mut options = AnyPoolOptions::new();
    if backend == Backend::Sqlite && create {
        // The store's own file: WAL lets the console read while a job writes, and with WAL
        // a commit survives a process crash without an fsync per transaction.
        options = options.after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("pragma journal_mode = wal").await?;
                conn.execute("pragma synchronous = normal").await?;
                Ok(())
            })
        });
    }
    let pool = options
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect(&url)
        .await
        .map_err(classify)?;
    Ok((pool, backend))
}

fn classify(error: sqlx::Error) -> OpenError {
    match error {
        sqlx::Error::Configuration(reason) => OpenError::InvalidUrl(reason.to_string()),
        other => OpenError::Unreachable(other),
    }
}

/// Asks SQLite to create the file when it does not exist, unless the URL says otherwise.
pub(crate) fn sqlite_create_mode(url: &str) -> String {
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

/// A table or column name quoted for SQL (names with quotes are refused by the configuration).
pub(crate) fn quote(name: &str) -> String {
    format!("\"{name}\"")
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

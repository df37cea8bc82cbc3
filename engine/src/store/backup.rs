//! Backups of the store: a consistent copy of a SQLite store, taken while it serves
//! (`VACUUM INTO` reads one snapshot), and a backup restored into an empty store. A
//! PostgreSQL store is backed up and restored with PostgreSQL's own `pg_dump` and
//! `pg_restore`, as the README shows; both commands say so rather than half-doing it.

use super::Store;
use crate::db::{Backend, backend_of, redact};
use sqlx::{Connection, Row, SqliteConnection};
use std::path::{Path, PathBuf};

/// Why a backup or a restore was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The store is on PostgreSQL.
    #[error(
        "the store is on PostgreSQL: back it up with pg_dump and restore it with pg_restore \
         (the README's \"Backups\" shows how)"
    )]
    Postgres,
    /// The file to write exists already.
    #[error("{0} exists already: name a new file, so that no backup is overwritten")]
    Exists(PathBuf),
    /// The file to restore is not a backup of a Coupler store.
    #[error("{path} is not a backup of a Coupler store: {reason}")]
    NotABackup {
        /// The file.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// The store to restore into holds data.
    #[error(
        "the store at {url} is not empty ({what}): restore into a new store, so that nothing \
         in it is lost"
    )]
    NotEmpty {
        /// The store's URL, password hidden.
        url: String,
        /// What it holds.
        what: String,
    },
    /// The store URL names no file.
    #[error("the store URL {0:?} names no SQLite file")]
    NoFile(String),
    /// The database failed.
    #[error("{0}")]
    Database(#[from] sqlx::Error),
    /// A file could not be removed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What a backup or a restore wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackupSummary {
    /// Couplings in it.
    pub couplings: i64,
    /// Open sync errors in it.
    pub open_errors: i64,
    /// Its size, bytes.
    pub bytes: u64,
}

impl Store {
    /// Writes a consistent copy of the store to the new file `path`, while the store
    /// serves: one read snapshot, so a batch is in it whole or not at all.
    pub async fn backup(&self, path: &Path) -> Result<BackupSummary, BackupError> {
        if self.backend != Backend::Sqlite {
            return Err(BackupError::Postgres);
        }
        if path.exists() {
            return Err(BackupError::Exists(path.to_path_buf()));
        }
        let mut conn = self.pool.acquire().await?;
        sqlx::query("vacuum into $1")
            .bind(path.display().to_string())
            .execute(&mut *conn)
            .await?;
        drop(conn);
        summary_of(path).await
    }
}

/// Restores the backup `backup` into the store at `store_url`, which must be empty (no
/// file yet, or a store with no couplings, errors, jobs, log or accounts); then runs the
/// migrations a newer Coupler has, so an older backup opens as a current store, and ends
/// the jobs that were running when it was taken.
pub async fn restore(backup: &Path, store_url: &str) -> Result<BackupSummary, BackupError> {
    if backend_of(store_url) != Some(Backend::Sqlite) {
        return Err(BackupError::Postgres);
    }
    let target = sqlite_file(store_url)?;
    let summary = summary_of(backup).await?;
    if target.exists() {
        let held = held_by(&target).await?;
        if !held.is_empty() {
            return Err(BackupError::NotEmpty {
                url: redact(store_url),
                what: held.join(", "),
            });
        }
        for file in [
            target.clone(),
            suffixed(&target, "-wal"),
            suffixed(&target, "-shm"),
        ] {
            match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
    }
    let mut from =
        SqliteConnection::connect(&format!("sqlite://{}?mode=ro", backup.display())).await?;
    sqlx::query("vacuum into ?")
        .bind(target.display().to_string())
        .execute(&mut from)
        .await?;
    from.close().await?;
    // The current migrations, and a check that it opens as the server opens it.
    let store = Store::open(store_url).await.map_err(|error| match error {
        super::StoreError::Database(source) => BackupError::Database(source),
        other => BackupError::NotABackup {
            path: backup.to_path_buf(),
            reason: other.to_string(),
        },
    })?;
    // No process runs the jobs that were running when the backup was taken: they end
    // here, and the next run of their mapping goes on from the backup's watermarks.
    let mut conn = store.pool.acquire().await?;
    sqlx::query(
        "update job set state = 'failed', finished_at = $1, lease_owner = null, \
         lease_expires_at = null, message = 'stopped: the store was restored from a backup \
         taken while this job ran' where state = 'running'",
    )
    .bind(super::now_millis())
    .execute(&mut *conn)
    .await?;
    Ok(summary)
}

/// The couplings and open errors a backup file holds, or why it is no backup.
async fn summary_of(path: &Path) -> Result<BackupSummary, BackupError> {
    let not_a_backup = |reason: String| BackupError::NotABackup {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::metadata(path)
        .map_err(|e| not_a_backup(e.to_string()))?
        .len();
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}?mode=ro", path.display()))
        .await
        .map_err(|e| not_a_backup(e.to_string()))?;
    let tables: Vec<String> = sqlx::query("select name from sqlite_master where type = 'table'")
        .fetch_all(&mut conn)
        .await
        .map_err(|e| not_a_backup(e.to_string()))?
        .iter()
        .map(|row| row.get(0))
        .collect();
    for needed in ["_sqlx_migrations", "coupling", "sync_error", "job"] {
        if !tables.iter().any(|t| t == needed) {
            return Err(not_a_backup(format!("it has no {needed} table")));
        }
    }
    let count = async |conn: &mut SqliteConnection, sql: &str| -> Result<i64, BackupError> {
        Ok(sqlx::query(sql).fetch_one(conn).await?.get::<i64, _>(0))
    };
    let couplings = count(&mut conn, "select count(*) from coupling").await?;
    let open_errors = count(
        &mut conn,
        "select count(*) from sync_error where resolved_at is null",
    )
    .await?;
    conn.close().await?;
    Ok(BackupSummary {
        couplings,
        open_errors,
        bytes,
    })
}

/// What the store file `path` holds, in words ("12 couplings", …); empty when nothing.
async fn held_by(path: &Path) -> Result<Vec<String>, BackupError> {
    let mut conn =
        SqliteConnection::connect(&format!("sqlite://{}?mode=ro", path.display())).await?;
    let tables: Vec<String> = sqlx::query("select name from sqlite_master where type = 'table'")
        .fetch_all(&mut conn)
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut held = Vec::new();
    for (table, what) in [
        ("coupling", "couplings"),
        ("sync_error", "sync errors"),
        ("job", "jobs"),
        ("log_entry", "log entries"),
        ("account", "accounts"),
    ] {
        if !tables.iter().any(|t| t == table) {
            continue;
        }
        let n: i64 = sqlx::query(&format!("select count(*) from {table}"))
            .fetch_one(&mut conn)
            .await?
            .get(0);
        if n > 0 {
            held.push(format!("{n} {what}"));
        }
    }
    conn.close().await?;
    Ok(held)
}

/// The file a `sqlite://FILE[?…]` URL names.
fn sqlite_file(url: &str) -> Result<PathBuf, BackupError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| BackupError::NoFile(redact(url)))?;
    let file = rest.split('?').next().unwrap_or_default();
    if file.is_empty() || file == ":memory:" {
        return Err(BackupError::NoFile(redact(url)));
    }
    Ok(PathBuf::from(file))
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

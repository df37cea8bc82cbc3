//! The coupling store: Coupler's own database, SQLite by default and PostgreSQL when
//! several servers share the work. One set of queries serves both; the few statements
//! that differ are chosen by [`Backend`].

pub mod account;
pub mod action;
pub mod alert;
pub mod backup;
pub mod by_status;
pub mod coupling;
pub mod job;
pub mod log;
pub mod overview;
pub mod progress;
pub mod prune;
pub mod sync_error;

pub use crate::db::Backend;
use crate::db::{OpenError, open_pool, redact};
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Row, Transaction};
use std::time::{SystemTime, UNIX_EPOCH};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

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

/// Whether `error` is PostgreSQL ending a transaction that may succeed when run again:
/// a deadlock broken (40P01) or a serialization failure (40001). Two people's Retry All,
/// or an action and a run's batch, can take the same couplings and errors in different
/// orders.
pub fn conflicted(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "40P01" || code == "40001")
}

/// A handle to the store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Where it is, for the PostgreSQL listener.
    url: String,
}

/// The runtime state of one mapping: settings changed at run time and its schedule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MappingState {
    /// The mapping's name.
    pub name: String,
    /// Whether scheduled synchronization is paused.
    pub paused: bool,
    /// The update conflict policy, when changed from the file's.
    pub update_conflict: Option<String>,
    /// The deletion conflict policy, when changed from the file's.
    pub deletion_conflict: Option<String>,
    /// The interval in milliseconds, when changed from the file's.
    pub interval_ms: Option<i64>,
    /// When the next scheduled synchronization is due.
    pub next_run_at: Option<i64>,
    /// Scheduled runs in a row that found nothing to do (the schedule backs off).
    pub idle_runs: i64,
    /// When the next scheduled scan for deleted records is due.
    pub next_scan_at: Option<i64>,
    /// Who paused it (`coupler` when a burst of errors did), while paused.
    pub paused_by: Option<String>,
    /// When it was paused, while paused.
    pub paused_at: Option<i64>,
    /// Why it was paused, when Coupler paused it.
    pub pause_reason: Option<String>,
    /// When it was last resumed.
    pub resumed_at: Option<i64>,
}

impl Store {
    /// Opens the store at `url` (`sqlite://FILE` creates the file; `postgres://…`) and runs
    /// its migrations.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let shown = redact(url);
        let (pool, backend) = open_pool(url, true, 10).await.map_err(|e| match e {
            OpenError::InvalidUrl(reason) => StoreError::InvalidUrl {
                url: shown.clone(),
                reason,
            },
            OpenError::Unreachable(source) => StoreError::Unreachable {
                url: shown.clone(),
                source,
            },
        })?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migration { url: shown, source })?;
        Ok(Store {
            pool,
            backend,
            url: url.to_string(),
        })
    }

    /// Which database holds the store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// On PostgreSQL, a receiver that counts the change notices of every process sharing
    /// the store (see migration 0006): a listening connection of its own, reconnected
    /// when lost. `None` on SQLite, which one process owns.
    pub fn change_notices(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        if self.backend != Backend::Postgres {
            return None;
        }
        let (tx, rx) = tokio::sync::watch::channel(0u64);
        let url = self.url.clone();
        tokio::spawn(async move {
            while !tx.is_closed() {
                match sqlx::postgres::PgListener::connect(&url).await {
                    Ok(mut listener) => {
                        if let Err(error) = listener.listen("coupler_change").await {
                            tracing::warn!(%error, "cannot listen for the store's changes");
                        }
                        // `recv` reconnects by itself when the connection drops.
                        while let Ok(_notice) = listener.recv().await {
                            if tx.is_closed() {
                                return;
                            }
                            tx.send_modify(|n| *n = n.wrapping_add(1));
                        }
                    }
                    Err(error) => tracing::warn!(%error, "cannot listen for the store's changes"),
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        });
        Some(rx)
    }

    /// A connection for a few statements.
    pub async fn conn(&self) -> Result<PoolConnection<Any>, StoreError> {
        Ok(self.pool.acquire().await?)
    }

    /// A transaction: every write of a batch commits together or not at all.
    pub async fn begin(&self) -> Result<Transaction<'static, Any>, StoreError> {
        Ok(match self.backend {
            // Take the write lock at once: a transaction that reads first and writes later
            // cannot be upgraded once another connection has committed (SQLITE_BUSY_SNAPSHOT),
            // whereas waiting for the lock up front is what busy_timeout handles.
            Backend::Sqlite => self.pool.begin_with("begin immediate").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Waits before a transaction PostgreSQL ended (see [`conflicted`]) is run once more:
    /// longer after each of `attempt`s, and by a little that differs between processes
    /// and moments, so that two transactions that met do not meet again.
    pub async fn back_off(attempt: u32) {
        let jitter = now_millis().rem_euclid(20) as u64;
        tokio::time::sleep(std::time::Duration::from_millis(
            20 * u64::from(attempt) + jitter,
        ))
        .await;
    }

    /// Has PostgreSQL read the tables a synchronization grows again, so that it plans
    /// for them as they are now. Its own refresh comes about once a minute, and a plan it
    /// keeps for a statement was made for the table as it was then: a look-up planned for
    /// a few hundred couplings reads a whole table of a hundred thousand. (SQLite plans
    /// without statistics here.)
    pub async fn refresh_statistics(&self) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            sqlx::query("analyze coupling, sync_error, log_entry")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Answers once the database does.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The runtime state of every mapping the store knows.
    pub async fn mapping_states(&self) -> Result<Vec<MappingState>, StoreError> {
        let rows = sqlx::query(
            r"select name, paused, update_conflict, deletion_conflict, interval_ms, next_run_at, idle_runs,
                     next_scan_at, paused_by, paused_at, pause_reason, resumed_at
              from mapping_state order by name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(MappingState {
                    name: row.try_get("name")?,
                    paused: row.try_get::<i64, _>("paused")? != 0,
                    update_conflict: row.try_get("update_conflict")?,
                    deletion_conflict: row.try_get("deletion_conflict")?,
                    interval_ms: row.try_get("interval_ms")?,
                    next_run_at: row.try_get("next_run_at")?,
                    idle_runs: row.try_get("idle_runs")?,
                    next_scan_at: row.try_get("next_scan_at")?,
                    paused_by: row.try_get("paused_by")?,
                    paused_at: row.try_get("paused_at")?,
                    pause_reason: row.try_get("pause_reason")?,
                    resumed_at: row.try_get("resumed_at")?,
                })
            })
            .collect()
    }

    /// The runtime state of mapping `name` (defaults when the store knows nothing of it).
    pub async fn mapping_state(&self, name: &str) -> Result<MappingState, StoreError> {
        Ok(self
            .mapping_states()
            .await?
            .into_iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| MappingState {
                name: name.to_string(),
                ..MappingState::default()
            }))
    }

    /// Pauses or resumes scheduled synchronization of the mapping `name`, by `actor`.
    pub async fn set_mapping_paused(
        &self,
        actor: &str,
        name: &str,
        paused: bool,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let now = now_millis();
        sqlx::query(
            r"insert into mapping_state (name, paused, updated_at, paused_by, paused_at, resumed_at)
              values ($1, $2, $3, $4, $5, $6)
              on conflict (name) do update set paused = excluded.paused,
                  updated_at = excluded.updated_at, paused_by = excluded.paused_by,
                  paused_at = excluded.paused_at, pause_reason = null,
                  resumed_at = coalesce(excluded.resumed_at, mapping_state.resumed_at)",
        )
        .bind(name)
        .bind(i64::from(paused))
        .bind(now)
        .bind(paused.then_some(actor))
        .bind(paused.then_some(now))
        .bind((!paused).then_some(now))
        .execute(&mut *tx)
        .await?;
        let what = if paused { "pause" } else { "resume" };
        action::audit(&mut tx, actor, what, name, "done", None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Pauses the mapping `name` for `reason`, by Coupler itself, unless it is paused
    /// already. Answers whether this paused it.
    pub async fn pause_for(&self, name: &str, reason: &str) -> Result<bool, StoreError> {
        const ACTOR: &str = "coupler";
        let mut tx = self.pool.begin().await?;
        let now = now_millis();
        let paused = sqlx::query(
            r"insert into mapping_state (name, paused, updated_at, paused_by, paused_at, pause_reason)
              values ($1, 1, $2, $3, $2, $4)
              on conflict (name) do update set paused = 1, updated_at = excluded.updated_at,
                  paused_by = excluded.paused_by, paused_at = excluded.paused_at,
                  pause_reason = excluded.pause_reason
              where mapping_state.paused = 0",
        )
        .bind(name)
        .bind(now)
        .bind(ACTOR)
        .bind(reason)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if paused {
            action::audit(&mut tx, ACTOR, "pause", name, reason, None).await?;
        }
        tx.commit().await?;
        Ok(paused)
    }

    /// Changes a mapping's policies and interval at run time (`None` keeps the file's).
    pub async fn set_mapping_settings(
        &self,
        actor: &str,
        name: &str,
        update_conflict: Option<&str>,
        deletion_conflict: Option<&str>,
        interval_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            r"insert into mapping_state (name, paused, updated_at, update_conflict, deletion_conflict, interval_ms)
              values ($1, 0, $2, $3, $4, $5)
              on conflict (name) do update set updated_at = excluded.updated_at,
                  update_conflict = excluded.update_conflict, deletion_conflict = excluded.deletion_conflict,
                  interval_ms = excluded.interval_ms, next_run_at = null",
        )
        .bind(name)
        .bind(now_millis())
        .bind(update_conflict)
        .bind(deletion_conflict)
        .bind(interval_ms)
        .execute(&mut *tx)
        .await?;
        let settings = format!(
            "update conflicts: {}, deletion conflicts: {}, interval: {}",
            update_conflict.unwrap_or("as configured"),
            deletion_conflict.unwrap_or("as configured"),
            interval_ms.map_or("as configured".to_string(), |ms| format!("{ms} ms")),
        );
        action::audit(&mut tx, actor, "change_settings", name, &settings, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records when mapping `name` next runs on schedule, and how many runs in a row found
    /// nothing to do.
    pub async fn set_schedule(
        &self,
        name: &str,
        next_run_at: i64,
        idle_runs: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            r"insert into mapping_state (name, paused, updated_at, next_run_at, idle_runs) values ($1, 0, $2, $3, $4)
              on conflict (name) do update set next_run_at = excluded.next_run_at, idle_runs = excluded.idle_runs",
        )
        .bind(name)
        .bind(now_millis())
        .bind(next_run_at)
        .bind(idle_runs)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

impl Store {
    /// Records when mapping `name`'s next scheduled scan for deleted records is due.
    pub async fn set_next_scan(&self, name: &str, next_scan_at: i64) -> Result<(), StoreError> {
        sqlx::query(
            r"insert into mapping_state (name, paused, updated_at, next_scan_at) values ($1, 0, $2, $3)
              on conflict (name) do update set next_scan_at = excluded.next_scan_at",
        )
        .bind(name)
        .bind(now_millis())
        .bind(next_scan_at)
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

/// Most keys one statement carries.
pub(crate) const CHUNK: usize = 500;

/// `items` in order, cut into chunks of at most [`CHUNK`] in which no two items share a
/// key of `keys`: a statement that writes a chunk then never writes a row twice, and an
/// item whose key came before sees the earlier one's row, as if each were written alone.
pub(crate) fn distinct_chunks<T, K, I>(items: &[T], keys: impl Fn(&T) -> I) -> Vec<&[T]>
where
    K: Eq + std::hash::Hash,
    I: IntoIterator<Item = K>,
{
    let mut chunks = Vec::new();
    let (mut start, mut seen) = (0, std::collections::HashSet::new());
    for (at, item) in items.iter().enumerate() {
        let item_keys: Vec<K> = keys(item).into_iter().collect();
        if at - start == CHUNK || item_keys.iter().any(|k| seen.contains(k)) {
            chunks.push(&items[start..at]);
            (start, seen) = (at, std::collections::HashSet::new());
        }
        seen.extend(item_keys);
    }
    if start < items.len() {
        chunks.push(&items[start..]);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::{CHUNK, distinct_chunks};

    #[test]
    fn chunks_never_repeat_a_key_and_keep_the_order() {
        let items = [1, 2, 3, 2, 4, 1, 5];
        let chunks = distinct_chunks(&items, |i| [*i]);
        assert_eq!(chunks, vec![&[1, 2, 3][..], &[2, 4, 1, 5][..]]);
        let many: Vec<usize> = (0..CHUNK * 2 + 1).collect();
        let sizes: Vec<usize> = distinct_chunks(&many, |i| [*i])
            .iter()
            .map(|c| c.len())
            .collect();
        assert_eq!(sizes, vec![CHUNK, CHUNK, 1]);
        assert!(distinct_chunks(&[] as &[i32], |i| [*i]).is_empty());
    }
}

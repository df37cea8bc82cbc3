//! Jobs: one run of work for a mapping, with its counters.

use super::now_millis;
use crate::model::{Counters, JobKind, JobState, JobSummary};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// Opens a running job; answers its id.
pub async fn start(
    conn: &mut AnyConnection,
    mapping: &str,
    kind: JobKind,
    actor: &str,
) -> Result<i64, sqlx::Error> {
    let now = now_millis();
    sqlx::query(
        r"insert into job (mapping, kind, state, actor, created_at, started_at)
          values ($1, $2, 'running', $3, $4, $4) returning id",
    )
    .bind(mapping)
    .bind(kind.as_str())
    .bind(actor)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)
}

/// Adds `delta` to the job's counters, and `done` to its records done.
pub async fn add(
    conn: &mut AnyConnection,
    id: i64,
    delta: &Counters,
    done: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        r"update job set inserted = inserted + $1, modified = modified + $2, deleted = deleted + $3,
              unchanged = unchanged + $4, skipped = skipped + $5, failed = failed + $6,
              coupled = coupled + $7, uncoupled = uncoupled + $8, deferred = deferred + $9,
              done = done + $10
          where id = $11",
    )
    .bind(delta.inserted as i64)
    .bind(delta.modified as i64)
    .bind(delta.deleted as i64)
    .bind(delta.unchanged as i64)
    .bind(delta.skipped as i64)
    .bind(delta.failed as i64)
    .bind(delta.coupled as i64)
    .bind(delta.uncoupled as i64)
    .bind(delta.deferred as i64)
    .bind(done as i64)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Ends the job in `state`, with a message.
pub async fn finish(
    conn: &mut AnyConnection,
    id: i64,
    state: JobState,
    message: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query("update job set state = $1, finished_at = $2, message = $3 where id = $4")
        .bind(state.as_str())
        .bind(now_millis())
        .bind(message)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

const COLUMNS: &str = "id, mapping, kind, state, actor, created_at, started_at, finished_at, inserted, modified, \
                       deleted, unchanged, skipped, failed, coupled, uncoupled, deferred, message";

fn summary(row: &AnyRow) -> Result<JobSummary, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    let state: String = row.try_get("state")?;
    let count =
        |name: &str| -> Result<u64, sqlx::Error> { Ok(row.try_get::<i64, _>(name)?.max(0) as u64) };
    Ok(JobSummary {
        id: row.try_get("id")?,
        mapping: row.try_get("mapping")?,
        kind: JobKind::parse(&kind).unwrap_or(JobKind::Synchronization),
        state: JobState::parse(&state).unwrap_or(JobState::Failed),
        actor: row.try_get("actor")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        counters: Counters {
            inserted: count("inserted")?,
            modified: count("modified")?,
            deleted: count("deleted")?,
            unchanged: count("unchanged")?,
            skipped: count("skipped")?,
            failed: count("failed")?,
            coupled: count("coupled")?,
            uncoupled: count("uncoupled")?,
            deferred: count("deferred")?,
        },
        message: row.try_get("message")?,
    })
}

/// The job with this id.
pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<JobSummary>, sqlx::Error> {
    let row = sqlx::query(&format!("select {COLUMNS} from job where id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(summary).transpose()
}

/// The newest jobs, `limit` at most.
pub async fn recent(conn: &mut AnyConnection, limit: i64) -> Result<Vec<JobSummary>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "select {COLUMNS} from job order by id desc limit $1"
    ))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(summary).collect()
}

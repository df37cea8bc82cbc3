//! Pruning history past its retention. Tables with integer ids are pruned a range of
//! [`CHUNK`] ids at a time, each range one statement of its own, so that no write lock is
//! held for longer than one range takes and the console answers between them; the
//! answers kept for repeated actions (keyed by text) go [`CHUNK`] rows at a time.

use crate::model::History;
use sqlx::{AnyConnection, Row};

/// Ids per statement.
pub const CHUNK: i64 = 5_000;

/// Which rows of `history`'s table go, with `$3` the cutoff (milliseconds since the
/// epoch) and `$4` the log floor less one: a log entry goes only when its record (on
/// each side it names) has `$4 + 1` newer entries; a job only when it is neither its
/// mapping's newest nor its newest successful one.
fn condition(history: History) -> &'static str {
    match history {
        History::LogEntries => {
            "at < $3 \
             and (local_key is null or id < (select n.id from log_entry n \
                  where n.mapping = log_entry.mapping and n.local_key = log_entry.local_key \
                  order by n.id desc limit 1 offset $4)) \
             and (integration_key is null or id < (select n.id from log_entry n \
                  where n.mapping = log_entry.mapping \
                  and n.integration_key = log_entry.integration_key \
                  order by n.id desc limit 1 offset $4))"
        }
        History::Jobs => {
            "state in ('succeeded', 'failed', 'cancelled') and coalesce(finished_at, created_at) < $3 and $4 >= 0 \
             and id < (select max(j.id) from job j where j.mapping = job.mapping) \
             and id <> coalesce((select max(j.id) from job j \
                  where j.mapping = job.mapping and j.state = 'succeeded'), 0)"
        }
        History::ResolvedErrors => "resolved_at is not null and resolved_at < $3 and $4 >= 0",
        History::AuditEntries | History::AlertFirings => "at < $3 and $4 >= 0",
        History::ActionAnswers => "started_at < $1",
    }
}

fn table(history: History) -> &'static str {
    match history {
        History::LogEntries => "log_entry",
        History::Jobs => "job",
        History::ResolvedErrors => "sync_error",
        History::AuditEntries => "audit_entry",
        History::ActionAnswers => "action_run",
        // Its deliveries go with it (`on delete cascade`).
        History::AlertFirings => "alert_firing",
    }
}

/// The ids of `history`'s table, lowest and highest; `None` when it has no integer ids
/// or no rows.
pub async fn id_range(
    conn: &mut AnyConnection,
    history: History,
) -> Result<Option<(i64, i64)>, sqlx::Error> {
    if history == History::ActionAnswers {
        return Ok(None);
    }
    let row = sqlx::query(&format!("select min(id), max(id) from {}", table(history)))
        .fetch_one(&mut *conn)
        .await?;
    Ok(match (row.try_get(0)?, row.try_get(1)?) {
        (Some(low), Some(high)) => Some((low, high)),
        _ => None,
    })
}

/// Prunes (or, with `dry_run`, counts) the rows of `history` with ids from `from` up to
/// and not including `to` that are older than `cutoff`, keeping `floor` log entries a
/// record. Answers how many.
pub async fn chunk(
    conn: &mut AnyConnection,
    history: History,
    (from, to): (i64, i64),
    cutoff: i64,
    floor: u32,
    dry_run: bool,
) -> Result<u64, sqlx::Error> {
    let (table, condition) = (table(history), condition(history));
    let range = "id >= $1 and id < $2";
    let offset = i64::from(floor.max(1)) - 1;
    if dry_run {
        let sql = format!("select count(*) from {table} where {range} and {condition}");
        let n: i64 = sqlx::query_scalar(&sql)
            .bind(from)
            .bind(to)
            .bind(cutoff)
            .bind(offset)
            .fetch_one(&mut *conn)
            .await?;
        return Ok(n as u64);
    }
    let sql = format!("delete from {table} where {range} and {condition}");
    Ok(sqlx::query(&sql)
        .bind(from)
        .bind(to)
        .bind(cutoff)
        .bind(offset)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Prunes (or counts) up to [`CHUNK`] answers kept for actions started before `cutoff`.
pub async fn action_answers(
    conn: &mut AnyConnection,
    cutoff: i64,
    dry_run: bool,
) -> Result<u64, sqlx::Error> {
    let condition = condition(History::ActionAnswers);
    if dry_run {
        let sql = format!("select count(*) from action_run where {condition}");
        let n: i64 = sqlx::query_scalar(&sql)
            .bind(cutoff)
            .fetch_one(&mut *conn)
            .await?;
        return Ok(n as u64);
    }
    let sql = format!(
        "delete from action_run where action_id in \
         (select action_id from action_run where {condition} limit {CHUNK})"
    );
    Ok(sqlx::query(&sql)
        .bind(cutoff)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

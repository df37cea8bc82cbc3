//! A mapping's records by state, as the store knows them: counted for the sync health
//! counts and listed a page at a time. Every count and page is read from an index.

use crate::model::{Side, StatusCode};
use sqlx::{AnyConnection, Row};

/// The store's counts of a mapping's records in each state it knows by itself.
#[derive(Debug, Default)]
pub struct StoreCounts {
    /// Open errors that failed and are tried again, but those held by an ambiguous match.
    pub failing: i64,
    /// Open errors of records held by an ambiguous match.
    pub ambiguous_match: i64,
    /// Open errors left out of scheduled runs.
    pub skipped: i64,
    /// Open update conflicts.
    pub update_conflict: i64,
    /// Open errors of a local record deleted.
    pub deleted_local: i64,
    /// Open errors of an integration record deleted.
    pub deleted_integration: i64,
    /// Records waiting for another record.
    pub deferred: i64,
    /// Records left uncoupled.
    pub uncoupled: i64,
}

/// Couplings not being created and with no open error (looked up by
/// `sync_error_open_coupling`).
const IN_SYNC: &str = "from coupling c where c.mapping = $1 and c.pending is null \
     and not exists (select 1 from sync_error e where e.coupling_id = c.id \
     and e.resolved_at is null)";

/// `mapping`'s records in each state the store knows by itself, but those in sync (which
/// [`super::overview::coupling_counts`] gives from its indexes).
pub async fn counts(conn: &mut AnyConnection, mapping: &str) -> Result<StoreCounts, sqlx::Error> {
    let mut counts = StoreCounts {
        deferred: count(
            conn,
            "select count(*) from deferral where mapping = $1",
            mapping,
        )
        .await?,
        uncoupled: count(
            conn,
            "select count(*) from uncoupled_record where mapping = $1",
            mapping,
        )
        .await?,
        ..StoreCounts::default()
    };
    let rows = sqlx::query(
        "select kind, skipped, case when message like $2 then 1 else 0 end as held, count(*) \
         from sync_error where mapping = $1 and resolved_at is null group by kind, skipped, held",
    )
    .bind(mapping)
    .bind(held_pattern())
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        let kind: String = row.try_get(0)?;
        let skipped = row.try_get::<i64, _>(1)? != 0;
        let held = row.try_get::<i64, _>(2)? != 0;
        let n: i64 = row.try_get(3)?;
        let slot = match (kind.as_str(), skipped) {
            ("failed", _) if held => &mut counts.ambiguous_match,
            ("failed", false) => &mut counts.failing,
            ("failed", true) => &mut counts.skipped,
            ("update_conflict", _) => &mut counts.update_conflict,
            ("deleted_local", _) => &mut counts.deleted_local,
            ("deleted_integration", _) => &mut counts.deleted_integration,
            _ => continue,
        };
        *slot += n;
    }
    Ok(counts)
}

/// The side and key of up to `limit` of `mapping`'s records in `state`, after the first
/// `offset`; `None` for a state the store does not list by itself.
pub async fn page(
    conn: &mut AnyConnection,
    mapping: &str,
    state: StatusCode,
    offset: i64,
    limit: i64,
) -> Result<Option<Vec<(Side, String)>>, sqlx::Error> {
    // A condition on the held records' message ending names it as `$4`.
    let errors = |condition: &str| {
        let sql = format!(
            "select side, case when side = 'local' then coalesce(local_key, integration_key) \
             else coalesce(integration_key, local_key) end from sync_error \
             where mapping = $1 and resolved_at is null and {condition} \
             order by id limit $2 offset $3"
        );
        (sql, condition.contains("$4"))
    };
    let (sql, held) = match state {
        StatusCode::InSync => (
            format!(
                "select 'local', c.local_key {IN_SYNC} order by c.local_key limit $2 offset $3"
            ),
            false,
        ),
        StatusCode::Failing => errors("kind = 'failed' and skipped = 0 and message not like $4"),
        StatusCode::AmbiguousMatch => errors("kind = 'failed' and message like $4"),
        StatusCode::Skipped => errors("kind = 'failed' and skipped <> 0"),
        StatusCode::UpdateConflict => errors("kind = 'update_conflict'"),
        StatusCode::DeletedLocal => errors("kind = 'deleted_local'"),
        StatusCode::DeletedIntegration => errors("kind = 'deleted_integration'"),
        StatusCode::Deferred => (
            "select side, record_key from deferral where mapping = $1 \
             order by side, record_key limit $2 offset $3"
                .to_string(),
            false,
        ),
        StatusCode::Uncoupled => (
            "select side, record_key from uncoupled_record \
             where mapping = $1 order by side, record_key limit $2 offset $3"
                .to_string(),
            false,
        ),
        _ => return Ok(None),
    };
    let mut query = sqlx::query(&sql).bind(mapping).bind(limit).bind(offset);
    if held {
        query = query.bind(held_pattern());
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            let side: String = r.try_get(0)?;
            Ok((Side::parse(&side).unwrap_or(Side::Local), r.try_get(1)?))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// A `like` pattern of the messages of records held by an ambiguous match.
fn held_pattern() -> String {
    format!("%{}", crate::sync::HELD)
}

/// The count `sql` answers for the mapping `name` (its `$1`).
async fn count(conn: &mut AnyConnection, sql: &str, name: &str) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(sql).bind(name).fetch_one(&mut *conn).await?;
    row.try_get::<i64, _>(0)
}

/// When `mapping`'s last successful run finished, and how many of its runs failed since
/// (the newest first, counted up to 100).
pub async fn runs_since_success(
    conn: &mut AnyConnection,
    mapping: &str,
) -> Result<(Option<i64>, i64), sqlx::Error> {
    let rows = sqlx::query(
        "select state, finished_at from job where mapping = $1 and kind in ('synchronization', 'full_synchronization') \
         and state in ('succeeded', 'failed') order by id desc limit 100",
    )
    .bind(mapping)
    .fetch_all(&mut *conn)
    .await?;
    let mut failed = 0;
    for row in &rows {
        let state: String = row.try_get(0)?;
        if state == "succeeded" {
            return Ok((row.try_get(1)?, failed));
        }
        failed += 1;
    }
    let success = sqlx::query(
        "select max(finished_at) from job where mapping = $1 and kind in ('synchronization', 'full_synchronization') \
         and state = 'succeeded'",
    )
    .bind(mapping)
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;
    Ok((success, failed))
}

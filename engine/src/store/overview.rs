//! The counts the console's overview and live events read: couplings and errors per
//! mapping, errors first found per period, and the change stamp.

use sqlx::{AnyConnection, Row};

/// A mapping's couplings in numbers.
#[derive(Debug)]
pub struct CouplingCounts {
    /// Every coupling, pending ones included.
    pub all: i64,
    /// Couplings whose create is under way.
    pub pending: i64,
    /// Couplings left out of scheduled synchronization.
    pub skipped: i64,
    /// Couplings with an open error.
    pub with_errors: i64,
    /// Records waiting for their parent.
    pub deferred: i64,
}

/// The count `sql` answers for the mapping `name` (its `$1`).
async fn count(
    conn: &mut AnyConnection,
    sql: &'static str,
    name: &str,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(sql).bind(name).fetch_one(&mut *conn).await?;
    row.try_get::<i64, _>(0)
}

/// How many couplings `mapping` has (pending ones included).
pub async fn coupling_count(conn: &mut AnyConnection, mapping: &str) -> Result<i64, sqlx::Error> {
    count(
        conn,
        "select count(*) from coupling where mapping = $1",
        mapping,
    )
    .await
}

/// `mapping`'s couplings in numbers, each from an index.
pub async fn coupling_counts(
    conn: &mut AnyConnection,
    mapping: &str,
) -> Result<CouplingCounts, sqlx::Error> {
    Ok(CouplingCounts {
        all: coupling_count(conn, mapping).await?,
        pending: count(
            conn,
            "select count(*) from coupling where mapping = $1 and pending is not null",
            mapping,
        )
        .await?,
        skipped: count(
            conn,
            "select count(*) from coupling_failure where mapping = $1 and skipped <> 0",
            mapping,
        )
        .await?,
        with_errors: count(
            conn,
            "select count(distinct coupling_id) from sync_error \
             where mapping = $1 and resolved_at is null and coupling_id is not null",
            mapping,
        )
        .await?,
        deferred: count(
            conn,
            "select count(*) from deferral where mapping = $1",
            mapping,
        )
        .await?,
    })
}

/// `mapping`'s open errors per kind (`(kind, count)`, kinds with none left out).
pub async fn open_errors_by_kind(
    conn: &mut AnyConnection,
    mapping: &str,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "select kind, count(*) from sync_error where mapping = $1 and resolved_at is null \
         group by kind",
    )
    .bind(mapping)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Errors first found from `start` to `end` (of `mapping` only, if given), per period of
/// `period` ms: `(period's index, count)`, periods with none left out.
pub async fn errors_first_found(
    conn: &mut AnyConnection,
    mapping: Option<&str>,
    start: i64,
    period: i64,
    end: i64,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let sql = format!(
        "select (first_failed_at - $1) / $2 as bucket, count(*) from sync_error \
         where first_failed_at >= $1 and first_failed_at < $3{} group by bucket",
        if mapping.is_some() {
            " and mapping = $4"
        } else {
            ""
        }
    );
    let mut query = sqlx::query(&sql).bind(start).bind(period).bind(end);
    if let Some(mapping) = mapping {
        query = query.bind(mapping);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// A value that changes whenever something the console shows changes: the newest log
/// entry, the errors' changes, the newest job, the progress of jobs under way, the
/// newest finish, the newest change of a mapping's settings.
pub async fn change_stamp(conn: &mut AnyConnection) -> Result<[i64; 6], sqlx::Error> {
    let sql = format!(
        r"select (select coalesce(max(id), 0) from log_entry),
                 {},
                 (select coalesce(max(id), 0) from job),
                 (select cast(coalesce(sum(done), 0) + count(*) as bigint) from job
                    where state in ('queued', 'running')),
                 (select coalesce(max(finished_at), 0) from job),
                 (select coalesce(max(updated_at), 0) from mapping_state)",
        super::sync_error::CHANGES
    );
    let row = sqlx::query(&sql).fetch_one(&mut *conn).await?;
    let mut stamp = [0; 6];
    for (i, slot) in stamp.iter_mut().enumerate() {
        *slot = row.try_get(i)?;
    }
    Ok(stamp)
}

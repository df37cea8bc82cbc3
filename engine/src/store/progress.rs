//! How far a mapping's synchronization has read each side: the watermarks of changes and
//! of tombstones, and the records deferred until something they depend on is coupled.

use super::now_millis;
use crate::db::Sql;
use crate::model::Side;
use sqlx::{AnyConnection, Row};

/// What a watermark tracks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Records by modified-on value.
    Changes,
    /// Tombstones by deletion time.
    Tombstones,
    /// A system's own change tracking: its opaque position (a delta link), kept as the
    /// watermark's key.
    Delta,
}

impl Stream {
    fn as_str(self) -> &'static str {
        match self {
            Stream::Changes => "changes",
            Stream::Tombstones => "tombstones",
            Stream::Delta => "delta",
        }
    }
}

/// Where a change feed's reading starts again: the last position read, and the
/// modified-on value up to which the feed is known to be read whole.
pub async fn resume_from(
    conn: &mut AnyConnection,
    mapping: &str,
    side: Side,
) -> Result<Option<(i64, Option<i64>)>, sqlx::Error> {
    let row = sqlx::query(
        "select modified, settled from watermark where mapping = $1 and side = $2 and kind = $3",
    )
    .bind(mapping)
    .bind(side.as_str())
    .bind(Stream::Changes.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}

/// Marks the change feed read whole up to `modified`, if the watermark is still there.
pub async fn settle(
    conn: &mut AnyConnection,
    mapping: &str,
    side: Side,
    modified: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update watermark set settled = $4 where mapping = $1 and side = $2 and kind = $3 and modified = $4",
    )
    .bind(mapping)
    .bind(side.as_str())
    .bind(Stream::Changes.as_str())
    .bind(modified)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The last position read: a modified-on (or deletion) time and a key (or tombstone id).
pub async fn watermark(
    conn: &mut AnyConnection,
    mapping: &str,
    side: Side,
    stream: Stream,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    let row = sqlx::query(
        "select modified, record_key from watermark where mapping = $1 and side = $2 and kind = $3",
    )
    .bind(mapping)
    .bind(side.as_str())
    .bind(stream.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}

/// Moves a watermark.
pub async fn set_watermark(
    conn: &mut AnyConnection,
    mapping: &str,
    side: Side,
    stream: Stream,
    position: (i64, &str),
) -> Result<(), sqlx::Error> {
    sqlx::query(
        r"insert into watermark (mapping, side, kind, modified, record_key) values ($1, $2, $3, $4, $5)
          on conflict (mapping, side, kind) do update set modified = excluded.modified, record_key = excluded.record_key",
    )
    .bind(mapping)
    .bind(side.as_str())
    .bind(stream.as_str())
    .bind(position.0)
    .bind(position.1)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Forgets a mapping's change watermarks, so the next run reads every record.
pub async fn reset_changes(conn: &mut AnyConnection, mapping: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from watermark where mapping = $1 and kind in ('changes', 'delta')")
        .bind(mapping)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Remembers that the record `key` on `side` waits (`reason` says for what).
pub async fn defer(
    conn: &mut AnyConnection,
    mapping: &str,
    side: Side,
    key: &str,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        r"insert into deferral (mapping, side, record_key, reason, since) values ($1, $2, $3, $4, $5)
          on conflict (mapping, side, record_key) do update set reason = excluded.reason",
    )
    .bind(mapping)
    .bind(side.as_str())
    .bind(key)
    .bind(reason)
    .bind(now_millis())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Forgets deferrals of `keys` on `side`.
pub async fn undefer(
    conn: &mut AnyConnection,
    mapping: &str,
    side: Side,
    keys: &[String],
) -> Result<(), sqlx::Error> {
    for chunk in keys.chunks(super::CHUNK) {
        let mut sql = Sql::new("delete from deferral where mapping = ");
        sql.bind(mapping.to_string())
            .push(" and side = ")
            .bind(side.as_str());
        sql.push(" and record_key in ").keys(chunk);
        sql.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The keys waiting on `side`.
pub async fn deferred(
    conn: &mut AnyConnection,
    mapping: &str,
    side: Side,
) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(
        "select record_key from deferral where mapping = $1 and side = $2 order by record_key",
    )
    .bind(mapping)
    .bind(side.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| r.try_get(0)).collect()
}

/// Remembers that the record `key` on `side` was left uncoupled while its modified-on
/// value was `modified`.
pub async fn remember_uncoupled(
    conn: &mut AnyConnection,
    mapping: &str,
    side: Side,
    key: &str,
    modified: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        r"insert into uncoupled_record (mapping, side, record_key, modified) values ($1, $2, $3, $4)
          on conflict (mapping, side, record_key) do update set modified = excluded.modified",
    )
    .bind(mapping)
    .bind(side.as_str())
    .bind(key)
    .bind(modified)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Of `keys` on `side`, those left uncoupled, with their modified-on value then.
pub async fn uncoupled_among(
    conn: &mut AnyConnection,
    mapping: &str,
    side: Side,
    keys: &[String],
) -> Result<std::collections::HashMap<String, i64>, sqlx::Error> {
    let mut found = std::collections::HashMap::new();
    for chunk in keys.chunks(super::CHUNK) {
        let mut sql =
            Sql::new("select record_key, modified from uncoupled_record where mapping = ");
        sql.bind(mapping.to_string())
            .push(" and side = ")
            .bind(side.as_str());
        sql.push(" and record_key in ").keys(chunk);
        for row in sql.fetch_all(&mut *conn).await? {
            found.insert(row.try_get(0)?, row.try_get(1)?);
        }
    }
    Ok(found)
}

/// Forgets that `keys` on `side` were left uncoupled (they are coupled again).
pub async fn forget_uncoupled(
    conn: &mut AnyConnection,
    mapping: &str,
    side: Side,
    keys: &[String],
) -> Result<(), sqlx::Error> {
    for chunk in keys.chunks(super::CHUNK) {
        let mut sql = Sql::new("delete from uncoupled_record where mapping = ");
        sql.bind(mapping.to_string())
            .push(" and side = ")
            .bind(side.as_str());
        sql.push(" and record_key in ").keys(chunk);
        sql.execute(&mut *conn).await?;
    }
    Ok(())
}

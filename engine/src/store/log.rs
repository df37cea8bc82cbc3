//! The per-record synchronization log: every decision that changes or fails a record.

use super::now_millis;
use crate::db::Sql;
use crate::model::{Direction, FieldChange, LogEntrySummary, Side};
use sqlx::{AnyConnection, Row};

/// An entry to write.
#[derive(Clone, Debug)]
pub struct NewLogEntry {
    /// The job that wrote it.
    pub job_id: Option<i64>,
    /// The local key.
    pub local_key: Option<String>,
    /// The integration key.
    pub integration_key: Option<String>,
    /// Which way data went.
    pub direction: Option<Direction>,
    /// What was done.
    pub action: &'static str,
    /// `ok`, `failed` or `skipped`.
    pub result: &'static str,
    /// Fields changed, old → new.
    pub changes: Vec<FieldChange>,
    /// More, in plain words.
    pub message: Option<String>,
    /// Who or what caused it.
    pub actor: String,
}

/// Writes `entries` for `mapping`, many rows to a statement.
pub async fn insert(
    conn: &mut AnyConnection,
    mapping: &str,
    entries: &[NewLogEntry],
) -> Result<(), sqlx::Error> {
    let now = now_millis();
    for chunk in entries.chunks(super::CHUNK) {
        let mut sql = Sql::new(
            "insert into log_entry (mapping, job_id, at, local_key, integration_key, direction, action, result, \
             changes, message, actor) ",
        );
        sql.values(chunk, |row, e| {
            row.bind(mapping.to_string())
                .bind(e.job_id)
                .bind(now)
                .bind(e.local_key.clone())
                .bind(e.integration_key.clone())
                .bind(e.direction.map(|d| d.as_str().to_string()))
                .bind(e.action)
                .bind(e.result)
                .bind(if e.changes.is_empty() {
                    None
                } else {
                    serde_json::to_string(&e.changes).ok()
                })
                .bind(e.message.clone())
                .bind(e.actor.clone());
        });
        sql.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The log of the record with `key` on `side` of `mapping`, newest first.
pub async fn for_record(
    conn: &mut AnyConnection,
    mapping: &str,
    side: Side,
    key: &str,
    limit: i64,
) -> Result<Vec<LogEntrySummary>, sqlx::Error> {
    let column = match side {
        Side::Local => "local_key",
        Side::Integration => "integration_key",
    };
    let rows = sqlx::query(&format!(
        r"select id, mapping, job_id, at, local_key, integration_key, direction, action, result, changes,
                 message, actor
          from log_entry where mapping = $1 and {column} = $2 order by id desc limit $3"
    ))
    .bind(mapping)
    .bind(key)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let direction: Option<String> = row.try_get("direction")?;
            let changes: Option<String> = row.try_get("changes")?;
            Ok(LogEntrySummary {
                id: row.try_get("id")?,
                mapping: row.try_get("mapping")?,
                job_id: row.try_get("job_id")?,
                at: row.try_get("at")?,
                local_key: row.try_get("local_key")?,
                integration_key: row.try_get("integration_key")?,
                direction: direction
                    .and_then(|d| serde_json::from_value(serde_json::Value::String(d)).ok()),
                action: row.try_get("action")?,
                result: row.try_get("result")?,
                changes: changes
                    .and_then(|c| serde_json::from_str(&c).ok())
                    .unwrap_or_default(),
                message: row.try_get("message")?,
                actor: row.try_get("actor")?,
            })
        })
        .collect()
}

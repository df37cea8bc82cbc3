//! Remediation actions' bookkeeping: one row per action id, so that the same action
//! sent twice does its work once, and the audit log of who did what.

use super::now_millis;
use crate::model::ActionAnswer;
use sqlx::{AnyConnection, Connection, Row};

/// What `begin` found for an action id.
#[derive(Debug)]
pub enum Begun {
    /// New: do the work, then [`finish`].
    New,
    /// Done before: this was the answer.
    Done(Box<ActionAnswer>),
    /// Started before and not finished (it is running, or its process died).
    Running,
    /// Claimed by another actor: an id belongs to whoever sent it first.
    Foreign,
}

/// Claims `action_id` for `action` by `actor` on `selection`. A new claim is written to
/// the audit log in the same transaction, as started, before anything is changed.
pub async fn begin(
    conn: &mut AnyConnection,
    action_id: &str,
    actor: &str,
    action: &str,
    selection: &str,
) -> Result<Begun, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let inserted = sqlx::query(
        r"insert into action_run (action_id, actor, action, started_at) values ($1, $2, $3, $4)
          on conflict (action_id) do nothing",
    )
    .bind(action_id)
    .bind(actor)
    .bind(action)
    .bind(now_millis())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        audit(
            &mut tx,
            actor,
            action,
            selection,
            "started",
            Some(action_id),
        )
        .await?;
        tx.commit().await?;
        return Ok(Begun::New);
    }
    let row = sqlx::query("select actor, answer from action_run where action_id = $1")
        .bind(action_id)
        .fetch_one(&mut *tx)
        .await?;
    let (first, answer): (String, Option<String>) = (row.try_get(0)?, row.try_get(1)?);
    tx.commit().await?;
    if first != actor {
        return Ok(Begun::Foreign);
    }
    Ok(match answer.and_then(|a| serde_json::from_str(&a).ok()) {
        Some(answer) => Begun::Done(Box::new(answer)),
        None => Begun::Running,
    })
}

/// Stores the answer of `action_id`, and its summary as the outcome of its audit entry
/// (with the records it named, when it named any), in one transaction.
pub async fn finish(
    conn: &mut AnyConnection,
    answer: &ActionAnswer,
    records: Option<&str>,
) -> Result<(), sqlx::Error> {
    let mut tx = conn.begin().await?;
    if let Some(records) = records {
        sqlx::query("update audit_entry set selection = $1 where action_id = $2")
            .bind(records)
            .bind(answer.action_id.clone())
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("update action_run set answer = $1 where action_id = $2")
        .bind(serde_json::to_string(answer).unwrap_or_default())
        .bind(answer.action_id.clone())
        .execute(&mut *tx)
        .await?;
    set_outcome(&mut tx, &answer.action_id, &answer.summary).await?;
    tx.commit().await
}

/// Forgets an action that failed before it changed anything, so it can be sent again;
/// its audit entry says why it failed.
pub async fn abandon(
    conn: &mut AnyConnection,
    action_id: &str,
    reason: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = conn.begin().await?;
    sqlx::query("delete from action_run where action_id = $1 and answer is null")
        .bind(action_id)
        .execute(&mut *tx)
        .await?;
    set_outcome(&mut tx, action_id, &format!("failed: {reason}")).await?;
    tx.commit().await
}

async fn set_outcome(
    conn: &mut AnyConnection,
    action_id: &str,
    outcome: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("update audit_entry set outcome = $1 where action_id = $2")
        .bind(outcome)
        .bind(action_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Writes one audit entry.
pub async fn audit(
    conn: &mut AnyConnection,
    actor: &str,
    action: &str,
    selection: &str,
    outcome: &str,
    action_id: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        r"insert into audit_entry (at, actor, action, selection, outcome, action_id)
          values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(now_millis())
    .bind(actor)
    .bind(action)
    .bind(selection)
    .bind(outcome)
    .bind(action_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

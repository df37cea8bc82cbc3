//! Remediation actions' bookkeeping: one row per action id, so that the same action
//! sent twice does its work once, and the audit log of who did what.

use super::now_millis;
use crate::model::ActionAnswer;
use sqlx::{AnyConnection, Row};

/// What `begin` found for an action id.
#[derive(Debug)]
pub enum Begun {
    /// New: do the work, then [`finish`].
    New,
    /// Done before: this was the answer.
    Done(Box<ActionAnswer>),
    /// Started before and not finished (it is running, or its process died).
    Running,
}

/// Claims `action_id` for `action` by `actor`.
pub async fn begin(
    conn: &mut AnyConnection,
    action_id: &str,
    actor: &str,
    action: &str,
) -> Result<Begun, sqlx::Error> {
    let inserted = sqlx::query(
        r"insert into action_run (action_id, actor, action, started_at) values ($1, $2, $3, $4)
          on conflict (action_id) do nothing",
    )
    .bind(action_id)
    .bind(actor)
    .bind(action)
    .bind(now_millis())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Begun::New);
    }
    let answer: Option<String> = sqlx::query("select answer from action_run where action_id = $1")
        .bind(action_id)
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    Ok(match answer.and_then(|a| serde_json::from_str(&a).ok()) {
        Some(answer) => Begun::Done(Box::new(answer)),
        None => Begun::Running,
    })
}

/// Stores the answer of `action_id`.
pub async fn finish(conn: &mut AnyConnection, answer: &ActionAnswer) -> Result<(), sqlx::Error> {
    sqlx::query("update action_run set answer = $1 where action_id = $2")
        .bind(serde_json::to_string(answer).unwrap_or_default())
        .bind(answer.action_id.clone())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Forgets an action that failed before it changed anything, so it can be sent again.
pub async fn abandon(conn: &mut AnyConnection, action_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from action_run where action_id = $1 and answer is null")
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

/// An audit entry.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    /// When.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// Which action.
    pub action: String,
    /// On what.
    pub selection: String,
    /// With what outcome.
    pub outcome: String,
}

/// The newest audit entries.
pub async fn recent(conn: &mut AnyConnection, limit: i64) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let rows = sqlx::query(
        "select at, actor, action, selection, outcome from audit_entry order by id desc limit $1",
    )
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                at: r.try_get(0)?,
                actor: r.try_get(1)?,
                action: r.try_get(2)?,
                selection: r.try_get(3)?,
                outcome: r.try_get(4)?,
            })
        })
        .collect()
}

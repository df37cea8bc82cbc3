//! Console accounts and their sessions. Sessions are kept by the SHA-256 of their token.

use crate::model::{AuditEntry, AuditFilter, Role, UserSummary};
use sqlx::{AnyConnection, Row};

/// An account's password hash and role, by name.
pub async fn credentials(
    conn: &mut AnyConnection,
    name: &str,
) -> Result<Option<(String, Role)>, sqlx::Error> {
    let row = sqlx::query("select password_hash, role from account where name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| Ok((r.try_get(0)?, role(r.try_get(1)?))))
        .transpose()
}

fn role(text: String) -> Role {
    // The store only ever holds the words `Role::as_str` gives; anything else reads as
    // the least privilege.
    Role::parse(&text).unwrap_or(Role::Viewer)
}

/// Adds an account; answers false when the name is taken.
pub async fn insert(
    conn: &mut AnyConnection,
    name: &str,
    password_hash: &str,
    role: Role,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        r"insert into account (name, password_hash, role, created_at) values ($1, $2, $3, $4)
          on conflict (name) do nothing",
    )
    .bind(name)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Every account, by name, with its open sessions counted.
pub async fn list(conn: &mut AnyConnection) -> Result<Vec<UserSummary>, sqlx::Error> {
    let rows = sqlx::query(
        r"select a.name, a.role, a.created_at, a.last_signed_in,
                 (select count(*) from console_session s where s.account = a.name)
          from account a order by a.name",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(UserSummary {
                name: r.try_get(0)?,
                role: role(r.try_get(1)?),
                created_at: r.try_get(2)?,
                last_signed_in: r.try_get(3)?,
                sessions: r.try_get(4)?,
            })
        })
        .collect()
}

/// How many accounts have `role`.
pub async fn count_with(conn: &mut AnyConnection, role: Role) -> Result<i64, sqlx::Error> {
    sqlx::query("select count(*) from account where role = $1")
        .bind(role.as_str())
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)
}

/// Changes an account's role; answers false when there is no such account.
pub async fn set_role(
    conn: &mut AnyConnection,
    name: &str,
    role: Role,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query("update account set role = $1 where name = $2")
        .bind(role.as_str())
        .bind(name)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(changed == 1)
}

/// Removes an account and its sessions; answers false when there is no such account.
pub async fn delete(conn: &mut AnyConnection, name: &str) -> Result<bool, sqlx::Error> {
    end_sessions(conn, name).await?;
    let deleted = sqlx::query("delete from account where name = $1")
        .bind(name)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(deleted == 1)
}

/// Opens a session for `name`.
pub async fn open_session(
    conn: &mut AnyConnection,
    token_hash: &str,
    name: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into console_session (token_hash, account, created_at, seen_at) values ($1, $2, $3, $3)",
    )
    .bind(token_hash)
    .bind(name)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query("update account set last_signed_in = $1 where name = $2")
        .bind(now)
        .bind(name)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A session: its account, role, when it was opened and when it was last used.
pub struct SessionRow {
    /// The account.
    pub name: String,
    /// The account's role now.
    pub role: Role,
    /// When it was opened.
    pub created_at: i64,
    /// When it was last used (updated at most once a minute).
    pub seen_at: i64,
}

/// The session with this token hash, if open.
pub async fn session(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> Result<Option<SessionRow>, sqlx::Error> {
    let row = sqlx::query(
        r"select s.account, a.role, s.created_at, s.seen_at
          from console_session s join account a on a.name = s.account
          where s.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(SessionRow {
            name: r.try_get(0)?,
            role: role(r.try_get(1)?),
            created_at: r.try_get(2)?,
            seen_at: r.try_get(3)?,
        })
    })
    .transpose()
}

/// Marks a session used at `now`.
pub async fn touch_session(
    conn: &mut AnyConnection,
    token_hash: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("update console_session set seen_at = $1 where token_hash = $2")
        .bind(now)
        .bind(token_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Ends one session.
pub async fn end_session(conn: &mut AnyConnection, token_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from console_session where token_hash = $1")
        .bind(token_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Ends every session of `name`; answers how many there were.
pub async fn end_sessions(conn: &mut AnyConnection, name: &str) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("delete from console_session where account = $1")
            .bind(name)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}

/// Ends every session opened before `created_before` or unused since `seen_before`.
pub async fn end_expired(
    conn: &mut AnyConnection,
    created_before: i64,
    seen_before: i64,
) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("delete from console_session where created_at < $1 or seen_at < $2")
            .bind(created_before)
            .bind(seen_before)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}

/// A page of the audit log, newest first.
pub async fn audit_entries(
    conn: &mut AnyConnection,
    filter: &AuditFilter,
    limit: i64,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let mut sql = crate::db::Sql::new(
        "select id, at, actor, action, selection, outcome from audit_entry where 1 = 1",
    );
    if let Some(actor) = &filter.actor {
        sql.push(" and actor = ").bind(actor.clone());
    }
    if let Some(action) = &filter.action {
        sql.push(" and action = ").bind(action.clone());
    }
    if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
        sql.push(" and ").contains(&["selection", "outcome"], text);
    }
    if let Some(before) = filter.before {
        sql.push(" and id < ").bind(before);
    }
    sql.push(" order by id desc limit ").bind(limit);
    let rows = sql.fetch_all(conn).await?;
    rows.into_iter()
        .map(|r| {
            Ok(AuditEntry {
                id: r.try_get(0)?,
                at: r.try_get(1)?,
                actor: r.try_get(2)?,
                action: r.try_get(3)?,
                selection: r.try_get(4)?,
                outcome: r.try_get(5)?,
            })
        })
        .collect()
}

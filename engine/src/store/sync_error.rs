//! Sync errors: the records whose synchronization failed and that need attention. One
//! open error per record at most; it is resolved (kept, with who and when) once the
//! record synchronizes or someone acts on it.

use super::now_millis;
use crate::db::{Backend, Sql};
pub use crate::model::ErrorFilter;
use crate::model::{ErrorCursor, Side, SyncErrorKind, SyncErrorSummary};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::{HashMap, HashSet};

/// An error to record.
#[derive(Clone, Debug)]
pub struct NewSyncError {
    /// The coupling, when the records are coupled.
    pub coupling_id: Option<i64>,
    /// What went wrong.
    pub kind: SyncErrorKind,
    /// The side whose record was being synchronized.
    pub side: Side,
    /// The local key, when known.
    pub local_key: Option<String>,
    /// The integration key, when known.
    pub integration_key: Option<String>,
    /// A readable description of the record, when known.
    pub description: Option<String>,
    /// What happened, in plain words.
    pub message: String,
    /// The fields concerned.
    pub fields: Vec<String>,
    /// The job that found it.
    pub job_id: Option<i64>,
    /// Whether scheduled synchronization now leaves the record alone.
    pub skipped: bool,
    /// Who or what found it (the job's actor).
    pub actor: String,
}

/// An open error, as the engine needs to know it while synchronizing a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenError {
    /// Its id.
    pub id: i64,
    /// The local key.
    pub local_key: Option<String>,
    /// The integration key.
    pub integration_key: Option<String>,
    /// The coupling.
    pub coupling_id: Option<i64>,
    /// Whether the record is left alone.
    pub skipped: bool,
    /// The message.
    pub message: String,
    /// Times in a row.
    pub attempts: i64,
}

fn key_column(side: Side) -> &'static str {
    match side {
        Side::Local => "local_key",
        Side::Integration => "integration_key",
    }
}

/// The open errors of `mapping` whose `side` key is one of `keys`.
pub async fn open_for(
    conn: &mut AnyConnection,
    mapping: &str,
    side: Side,
    keys: &[String],
) -> Result<Vec<OpenError>, sqlx::Error> {
    let mut found = Vec::new();
    for chunk in keys.chunks(super::CHUNK) {
        let mut sql = Sql::new(
            "select id, local_key, integration_key, coupling_id, skipped, message, attempts from sync_error \
             where resolved_at is null and mapping = ",
        );
        sql.bind(mapping.to_string());
        sql.push(&format!(" and {} in ", key_column(side)))
            .keys(chunk);
        // A plan kept for any 500 keys reads every open error and compares each with
        // every key; planned for these keys, PostgreSQL hashes them.
        sql.planned_for_values();
        for row in sql.fetch_all(&mut *conn).await? {
            found.push(OpenError {
                id: row.try_get(0)?,
                local_key: row.try_get(1)?,
                integration_key: row.try_get(2)?,
                coupling_id: row.try_get(3)?,
                skipped: row.try_get::<i64, _>(4)? != 0,
                message: row.try_get(5)?,
                attempts: row.try_get(6)?,
            });
        }
    }
    Ok(found)
}

/// Those of `keys` on `side` whose records have an open error of `mapping`: [`open_for`]
/// for a caller that needs to know which, not what the errors say.
pub async fn open_among(
    conn: &mut AnyConnection,
    mapping: &str,
    side: Side,
    keys: &[String],
) -> Result<HashSet<String>, sqlx::Error> {
    let column = key_column(side);
    let mut found = HashSet::new();
    for chunk in keys.chunks(super::CHUNK) {
        let mut sql = Sql::new(format!(
            "select {column} from sync_error where resolved_at is null and mapping = "
        ));
        sql.bind(mapping.to_string());
        sql.push(&format!(" and {column} in ")).keys(chunk);
        sql.planned_for_values();
        for row in sql.fetch_all(&mut *conn).await? {
            found.extend(row.try_get::<Option<String>, _>(0)?);
        }
    }
    Ok(found)
}

/// Keys on `side` of records that are not coupled, failed, and are not skipped: the
/// engine tries them again on the next run.
pub async fn uncoupled_to_retry(
    conn: &mut AnyConnection,
    mapping: &str,
    side: Side,
) -> Result<Vec<String>, sqlx::Error> {
    open_keys(conn, mapping, side, |sql| {
        sql.push("coupling_id is null and skipped = 0");
    })
    .await
}

/// The keys on `side` of the records of `mapping` whose open error job `job_id` found.
pub async fn failed_in_job(
    conn: &mut AnyConnection,
    mapping: &str,
    side: Side,
    job_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    open_keys(conn, mapping, side, |sql| {
        sql.push("job_id = ").bind(job_id);
    })
    .await
}

/// The keys on `side` of `mapping`'s open errors that also meet the condition that
/// `condition` writes.
async fn open_keys(
    conn: &mut AnyConnection,
    mapping: &str,
    side: Side,
    condition: impl FnOnce(&mut Sql),
) -> Result<Vec<String>, sqlx::Error> {
    let mut sql = Sql::new(format!(
        "select {} from sync_error where resolved_at is null and mapping = ",
        key_column(side)
    ));
    sql.bind(mapping.to_string())
        .push(" and side = ")
        .bind(side.as_str().to_string())
        .push(" and ");
    condition(&mut sql);
    Ok(sql
        .fetch_all(conn)
        .await?
        .iter()
        .filter_map(|r| r.try_get::<Option<String>, _>(0).ok().flatten())
        .collect())
}

/// Records `errors`, each for its record: updates the record's open error if there is
/// one (counting the attempt when the kind and message repeat), else opens one. A few
/// statements per few hundred errors, and each error sees those before it.
pub async fn record(
    conn: &mut AnyConnection,
    mapping: &str,
    errors: &[NewSyncError],
) -> Result<(), sqlx::Error> {
    let now = now_millis();
    let keys = |e: &NewSyncError| {
        [
            e.local_key.as_ref().map(|k| (Side::Local, k.clone())),
            e.integration_key
                .as_ref()
                .map(|k| (Side::Integration, k.clone())),
        ]
        .into_iter()
        .flatten()
    };
    for chunk in super::distinct_chunks(errors, keys) {
        // The open error of each record: by its local key, else by its integration key.
        let mut open = HashMap::new();
        for side in [Side::Local, Side::Integration] {
            let wanted: Vec<String> = chunk
                .iter()
                .filter_map(|e| e.key(side).cloned())
                .filter(|k| !open.contains_key(&(side, k.clone())))
                .collect();
            if wanted.is_empty() {
                continue;
            }
            let column = key_column(side);
            let mut sql = Sql::new(format!(
                "select id, {column} from sync_error where resolved_at is null and mapping = "
            ));
            sql.bind(mapping.to_string());
            sql.push(&format!(" and {column} in ")).keys(&wanted);
            sql.planned_for_values();
            for row in sql.fetch_all(&mut *conn).await? {
                if let Some(key) = row.try_get::<Option<String>, _>(1)? {
                    open.insert((side, key), row.try_get::<i64, _>(0)?);
                }
            }
        }
        let existing = |e: &NewSyncError| {
            [Side::Local, Side::Integration]
                .into_iter()
                .find_map(|side| open.get(&(side, e.key(side).cloned()?)).copied())
        };
        // Two records of the chunk whose keys name one open error: one statement updates a
        // row once, so the later error's update takes the earlier's place, as it would
        // overwrite it.
        let (mut updates, mut inserts) = (Vec::new(), Vec::new());
        let mut place = HashMap::new();
        for e in chunk {
            match existing(e) {
                Some(id) => match place.get(&id) {
                    Some(&at) => updates[at] = (id, e),
                    None => {
                        place.insert(id, updates.len());
                        updates.push((id, e));
                    }
                },
                None => inserts.push(e),
            }
        }
        if !updates.is_empty() {
            let mut sql = Sql::new(
                r"update sync_error set
                      attempts = case when sync_error.kind = v.column2 and sync_error.message = v.column3
                                 then sync_error.attempts + 1 else 1 end,
                      first_failed_at = case when sync_error.kind = v.column2 and sync_error.message = v.column3
                                        then sync_error.first_failed_at else ",
            );
            sql.bind(now).push(" end, failed_at = ").bind(now);
            sql.push(", changed_at = ").bind(now);
            sql.push(
                r", kind = v.column2, message = v.column3, fields = v.column4,
                    coupling_id = v.column5, local_key = v.column6, integration_key = v.column7,
                    job_id = v.column8, skipped = v.column9, side = v.column10,
                    changed_by = v.column11, description = coalesce(v.column12, sync_error.description),
                    version = sync_error.version + 1
                  from (",
            );
            sql.values(&updates, |row, (id, e)| {
                row.bind(*id);
                bind_error(row, e);
            });
            sql.push(") as v where sync_error.id = v.column1");
            sql.execute(&mut *conn).await?;
        }
        if !inserts.is_empty() {
            let mut sql = Sql::new(
                r"insert into sync_error (mapping, kind, message, fields, coupling_id, local_key,
                      integration_key, job_id, skipped, side, changed_by, description,
                      first_failed_at, failed_at, changed_at) ",
            );
            sql.values(&inserts, |row, e| {
                row.bind(mapping.to_string());
                bind_error(row, e);
                row.bind(now).bind(now).bind(now);
            });
            sql.execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// Binds what [`record`] writes of `error`, in the order its statements name the columns.
fn bind_error(row: &mut crate::db::Row<'_>, error: &NewSyncError) {
    row.bind(error.kind.as_str().to_string())
        .bind(error.message.clone())
        .bind(serde_json::to_string(&error.fields).unwrap_or_default())
        .bind(error.coupling_id)
        .bind(error.local_key.clone())
        .bind(error.integration_key.clone())
        .bind(error.job_id)
        .bind(i64::from(error.skipped))
        .bind(error.side.as_str().to_string())
        .bind(error.actor.clone())
        .bind(error.description.clone());
}

impl NewSyncError {
    /// The record's key on `side`, when known.
    fn key(&self, side: Side) -> Option<&String> {
        match side {
            Side::Local => self.local_key.as_ref(),
            Side::Integration => self.integration_key.as_ref(),
        }
    }
}

/// Lets scheduled synchronization take up again the records of the open errors `ids`,
/// and their couplings; `by` is recorded as who changed them. Rows let back already are
/// left as they are: several people's Retry All of the same errors then wait on none of
/// each other's rows (on PostgreSQL such waits held every connection of the pool).
pub async fn unskip(conn: &mut AnyConnection, ids: &[i64], by: &str) -> Result<(), sqlx::Error> {
    let now = now_millis();
    for chunk in ids.chunks(super::CHUNK) {
        // The couplings first, then their failures by id: one statement of both let
        // PostgreSQL read every coupling's failure for each few hundred errors.
        let mut sql =
            Sql::new("select coupling_id from sync_error where coupling_id is not null and id in ");
        sql.list(chunk, |sql, id| {
            sql.bind(*id);
        });
        let couplings: Vec<i64> = sql
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?;
        super::coupling::forget_failures(conn, &couplings).await?;
        let mut sql = Sql::new(
            "update sync_error set skipped = 0, attempts = 0, version = version + 1, changed_by = ",
        );
        sql.bind(by.to_string()).push(", changed_at = ").bind(now);
        sql.push(" where resolved_at is null and (skipped <> 0 or attempts <> 0) and id in ");
        sql.list(chunk, |sql, id| {
            sql.bind(*id);
        });
        sql.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Resolves the open errors `ids`, recording by whom.
pub async fn resolve(conn: &mut AnyConnection, ids: &[i64], by: &str) -> Result<(), sqlx::Error> {
    let now = now_millis();
    for chunk in ids.chunks(super::CHUNK) {
        let mut sql = Sql::new("update sync_error set resolved_at = ");
        sql.bind(now).push(", resolved_by = ").bind(by.to_string());
        sql.push(", changed_by = ")
            .bind(by.to_string())
            .push(", changed_at = ")
            .bind(now);
        sql.push(", version = version + 1 where resolved_at is null and id in ");
        sql.list(chunk, |sql, id| {
            sql.bind(*id);
        });
        sql.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The open errors matching `filter`, newest first, `limit` at most, starting after
/// `after` (keyset paging: a deep page costs what the first does).
pub async fn list(
    conn: &mut AnyConnection,
    filter: &ErrorFilter,
    after: Option<ErrorCursor>,
    limit: i64,
) -> Result<Vec<SyncErrorSummary>, sqlx::Error> {
    let mut sql = Sql::new(format!(
        "select {SUMMARY_COLUMNS} from sync_error where resolved_at is null"
    ));
    filtered(&mut sql, filter, Backend::of(conn));
    if let Some(after) = after {
        sql.push(" and (failed_at < ")
            .bind(after.failed_at)
            .push(" or (failed_at = ")
            .bind(after.failed_at)
            .push(" and id < ")
            .bind(after.id)
            .push("))");
    }
    sql.push(" order by failed_at desc, id desc limit ")
        .bind(limit);
    let rows = sql.fetch_all(&mut *conn).await?;
    rows.iter().map(summary).collect()
}

/// What changes with any change to errors: their count of changes (`CHANGES`)
/// and the last error's id. A count taken at one stamp holds while the stamp is the
/// same.
pub async fn stamp(conn: &mut AnyConnection) -> Result<[i64; 2], sqlx::Error> {
    let sql = format!("select {CHANGES}, (select coalesce(max(id), 0) from sync_error)");
    let row = sqlx::query(&sql).fetch_one(&mut *conn).await?;
    Ok([row.try_get(0)?, row.try_get(1)?])
}

/// An expression whose value moves with every committed change to errors: the changes
/// that triggers count in `sync_error_change`, a row per PostgreSQL connection (so that
/// no two transactions wait on one row) and one row on SQLite (one writer at a time).
/// A count is seen once its transaction commits, whichever commits first, and no index
/// on `changed_at` keeps PostgreSQL from updating an error's other columns in place.
pub(crate) const CHANGES: &str =
    "(select cast(coalesce(sum(changes), 0) as bigint) from sync_error_change)";

/// Forgets the change counts of PostgreSQL connections that have closed, so that the
/// table `CHANGES` sums holds a row per open connection rather than one for every
/// connection ever opened. The stamp moves once when any is forgotten, which costs a
/// count and a refresh, nothing more.
pub async fn forget_closed_connections(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    if Backend::of(conn) == Backend::Postgres {
        sqlx::query(
            "delete from sync_error_change \
             where backend not in (select pid from pg_stat_activity where pid is not null)",
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// How many open errors match `filter`.
pub async fn count(conn: &mut AnyConnection, filter: &ErrorFilter) -> Result<i64, sqlx::Error> {
    let mut sql = Sql::new("select count(*) from sync_error where resolved_at is null");
    filtered(&mut sql, filter, Backend::of(conn));
    let rows = sql.fetch_all(&mut *conn).await?;
    rows.first().map_or(Ok(0), |row| row.try_get(0))
}

/// Adds `filter`'s conditions to a statement over open errors.
fn filtered(sql: &mut Sql, filter: &ErrorFilter, backend: Backend) {
    if let Some(mapping) = &filter.mapping {
        sql.push(" and mapping = ").bind(mapping.clone());
    }
    if let Some(kind) = filter.kind {
        sql.push(" and kind = ").bind(kind.as_str().to_string());
    }
    if let Some(job) = filter.job {
        sql.push(" and job_id = ").bind(job);
    }
    if let Some(since) = filter.since {
        sql.push(" and failed_at >= ").bind(since);
    }
    if let Some(until) = filter.until {
        sql.push(" and failed_at < ").bind(until);
    }
    if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
        // A trigram index answers searches of three characters or more (it holds no
        // shorter pieces): an FTS5 table on SQLite, the errors' words on PostgreSQL.
        let indexed = text.chars().count() >= 3;
        match backend {
            Backend::Sqlite if indexed => {
                sql.push(
                    " and id in (select rowid from sync_error_text where sync_error_text match ",
                )
                .bind(format!("\"{}\"", text.replace('"', "\"\"")))
                .push(")");
            }
            Backend::Postgres if indexed => {
                sql.push(" and id in (select error_id from sync_error_search where ")
                    .contains(&["words"], text)
                    .push(")")
                    .planned_for_values();
            }
            _ => {
                sql.push(" and ").contains(
                    &["local_key", "integration_key", "description", "message"],
                    text,
                );
            }
        }
    }
}

const SUMMARY_COLUMNS: &str = "id, mapping, kind, side, local_key, integration_key, description, message, fields, \
                               coupling_id, failed_at, first_failed_at, attempts, skipped, version, changed_by";

fn summary(row: &AnyRow) -> Result<SyncErrorSummary, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    let side: String = row.try_get("side")?;
    let fields: Option<String> = row.try_get("fields")?;
    Ok(SyncErrorSummary {
        id: row.try_get("id")?,
        mapping: row.try_get("mapping")?,
        kind: SyncErrorKind::parse(&kind).unwrap_or(SyncErrorKind::Failed),
        side: Side::parse(&side).unwrap_or(Side::Local),
        local_key: row.try_get("local_key")?,
        integration_key: row.try_get("integration_key")?,
        description: row.try_get("description")?,
        message: row.try_get("message")?,
        fields: fields
            .and_then(|f| serde_json::from_str(&f).ok())
            .unwrap_or_default(),
        coupling_id: row.try_get("coupling_id")?,
        failed_at: row.try_get("failed_at")?,
        first_failed_at: row.try_get("first_failed_at")?,
        attempts: row.try_get("attempts")?,
        skipped: row.try_get::<i64, _>("skipped")? != 0,
        version: row.try_get("version")?,
        changed_by: row.try_get("changed_by")?,
    })
}

/// An error as an action needs it, open or resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorRow {
    /// The open error as the console lists it.
    pub summary: SyncErrorSummary,
    /// When it was resolved, if it was.
    pub resolved_at: Option<i64>,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// Who changed it last.
    pub changed_by: Option<String>,
    /// When it changed last.
    pub changed_at: Option<i64>,
}

const ROW_COLUMNS: &str = "id, mapping, kind, side, local_key, integration_key, description, message, fields, \
                           coupling_id, failed_at, first_failed_at, attempts, skipped, version, resolved_at, \
                           resolved_by, changed_by, changed_at";

/// [`ROW_COLUMNS`] with the texts left out, for [`matching`].
const BRIEF_COLUMNS: &str = "id, mapping, kind, side, local_key, integration_key, \
                             null as description, '' as message, null as fields, coupling_id, \
                             failed_at, first_failed_at, attempts, skipped, version, resolved_at, \
                             resolved_by, changed_by, changed_at";

fn error_row(row: &AnyRow) -> Result<ErrorRow, sqlx::Error> {
    Ok(ErrorRow {
        summary: summary(row)?,
        resolved_at: row.try_get("resolved_at")?,
        resolved_by: row.try_get("resolved_by")?,
        changed_by: row.try_get("changed_by")?,
        changed_at: row.try_get("changed_at")?,
    })
}

/// The errors with these ids, open or resolved.
pub async fn by_ids(conn: &mut AnyConnection, ids: &[i64]) -> Result<Vec<ErrorRow>, sqlx::Error> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(super::CHUNK) {
        let mut sql = Sql::new(format!("select {ROW_COLUMNS} from sync_error where id in "));
        sql.list(chunk, |sql, id| {
            sql.bind(*id);
        });
        for row in sql.fetch_all(&mut *conn).await? {
            found.push(error_row(&row)?);
        }
    }
    Ok(found)
}

/// Every open error matching `filter`, without its texts: the description and the fields
/// are `None` and empty, the message is empty. Acting on a whole selection needs which
/// records and their state, never what their errors say, and on SQLite reading the texts
/// of 100,000 errors took most of a Retry All.
pub async fn matching(
    conn: &mut AnyConnection,
    filter: &ErrorFilter,
) -> Result<Vec<ErrorRow>, sqlx::Error> {
    let mut sql = Sql::new(format!(
        "select {BRIEF_COLUMNS} from sync_error where resolved_at is null"
    ));
    filtered(&mut sql, filter, Backend::of(conn));
    sql.push(" order by id");
    sql.fetch_all(&mut *conn)
        .await?
        .iter()
        .map(error_row)
        .collect()
}

/// Takes the open error `id` for `by` if it still has `version`: the one check that lets
/// exactly one of two people acting on the same error go ahead. Answers whether it did.
pub async fn claim(
    conn: &mut AnyConnection,
    id: i64,
    version: i64,
    by: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        r"update sync_error set version = version + 1, changed_by = $1, changed_at = $2
          where id = $3 and version = $4 and resolved_at is null",
    )
    .bind(by)
    .bind(now_millis())
    .bind(id)
    .bind(version)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives back an error taken with [`claim`] when the action changed nothing after all
/// (refused, or failed before writing): it returns to the version and last change it had,
/// unless someone changed it meanwhile.
pub async fn release(conn: &mut AnyConnection, before: &ErrorRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        r"update sync_error set version = $1, changed_by = $2, changed_at = $3
          where id = $4 and version = $5 and resolved_at is null",
    )
    .bind(before.summary.version)
    .bind(before.changed_by.clone())
    .bind(before.changed_at)
    .bind(before.summary.id)
    .bind(before.summary.version + 1)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

//! Couplings: the lasting link between a local and an integration record of a mapping,
//! with the state of their last synchronization.

use super::now_millis;
use crate::db::Sql;
use crate::model::{CouplingSummary, Side};
use crate::value::Value;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::{BTreeMap, HashMap};

/// The field values of both records at the last successful synchronization: the base of
/// the three-way merge.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Base {
    /// Local column → value.
    pub local: BTreeMap<String, Value>,
    /// Integration column → value.
    pub integration: BTreeMap<String, Value>,
}

impl Base {
    /// The values of `side`.
    pub fn side(&self, side: Side) -> &BTreeMap<String, Value> {
        match side {
            Side::Local => &self.local,
            Side::Integration => &self.integration,
        }
    }
}

/// A coupling as the engine works with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Coupling {
    /// Its id.
    pub id: i64,
    /// The local record's key.
    pub local_key: String,
    /// The integration record's key.
    pub integration_key: String,
    /// The local record's modified-on value at the last synchronization.
    pub local_modified: Option<i64>,
    /// The integration record's modified-on value at the last synchronization.
    pub integration_modified: Option<i64>,
    /// The values at the last successful synchronization.
    pub base: Option<Base>,
    /// Left out of scheduled synchronization until someone acts.
    pub skipped: bool,
    /// The side being created while a create is in flight.
    pub pending: Option<Side>,
    /// The last failure's message.
    pub failure: Option<String>,
    /// How many times in a row it failed with that message.
    pub failures: i64,
    /// Changes with every change.
    pub version: i64,
}

impl Coupling {
    /// The key on `side`.
    pub fn key(&self, side: Side) -> &str {
        match side {
            Side::Local => &self.local_key,
            Side::Integration => &self.integration_key,
        }
    }

    /// The modified-on value of `side` at the last synchronization.
    pub fn modified(&self, side: Side) -> Option<i64> {
        match side {
            Side::Local => self.local_modified,
            Side::Integration => self.integration_modified,
        }
    }
}

const COLUMNS: &str = "id, local_key, integration_key, local_modified, integration_modified, base, \
                       pending, version";

/// [`COLUMNS`] without the base snapshot.
const KEY_COLUMNS: &str = "id, local_key, integration_key, local_modified, integration_modified, \
                           null as base, pending, version";

fn coupling(row: &AnyRow) -> Result<Coupling, sqlx::Error> {
    let base: Option<String> = row.try_get("base")?;
    let pending: Option<String> = row.try_get("pending")?;
    Ok(Coupling {
        id: row.try_get("id")?,
        local_key: row.try_get("local_key")?,
        integration_key: row.try_get("integration_key")?,
        local_modified: row.try_get("local_modified")?,
        integration_modified: row.try_get("integration_modified")?,
        base: base.and_then(|json| serde_json::from_str(&json).ok()),
        skipped: false,
        pending: pending.as_deref().and_then(Side::parse),
        failure: None,
        failures: 0,
        version: row.try_get("version")?,
    })
}

/// `couplings` with their failures filled in. A table of their own holds them
/// (`coupling_failure`, a row only while a coupling is failing or skipped), so that
/// letting a record back into scheduled synchronization deletes a narrow row instead of
/// rewriting the coupling. They are looked up by id: joined, PostgreSQL read every
/// failure for each few hundred couplings.
async fn with_failures(
    conn: &mut AnyConnection,
    mut couplings: Vec<Coupling>,
) -> Result<Vec<Coupling>, sqlx::Error> {
    let mut found = std::collections::HashMap::new();
    for chunk in couplings.chunks(super::CHUNK) {
        let mut sql = Sql::new(
            "select coupling_id, failure, failures, skipped from coupling_failure \
             where coupling_id in ",
        );
        sql.list(chunk, |sql, c| {
            sql.bind(c.id);
        });
        for row in sql.fetch_all(&mut *conn).await? {
            let id: i64 = row.try_get(0)?;
            let skipped = row.try_get::<i64, _>(3)? != 0;
            found.insert(id, (row.try_get(1)?, row.try_get(2)?, skipped));
        }
    }
    for c in &mut couplings {
        if let Some((failure, failures, skipped)) = found.remove(&c.id) {
            (c.failure, c.failures, c.skipped) = (failure, failures, skipped);
        }
    }
    Ok(couplings)
}

fn key_column(side: Side) -> &'static str {
    match side {
        Side::Local => "local_key",
        Side::Integration => "integration_key",
    }
}

/// The couplings of `mapping` whose `side` key is one of `keys`.
pub async fn by_keys(
    conn: &mut AnyConnection,
    mapping: &str,
    side: Side,
    keys: &[String],
) -> Result<Vec<Coupling>, sqlx::Error> {
    let mut found = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(super::CHUNK) {
        let mut sql = Sql::new(format!("select {COLUMNS} from coupling where mapping = "));
        sql.bind(mapping.to_string());
        sql.push(&format!(" and {} in ", key_column(side)));
        sql.keys(chunk);
        for row in sql.fetch_all(&mut *conn).await? {
            found.push(coupling(&row)?);
        }
    }
    with_failures(conn, found).await
}

/// The coupling with this id.
pub async fn by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<Coupling>, sqlx::Error> {
    let row = sqlx::query(&format!("select {COLUMNS} from coupling where id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    let found = row.as_ref().map(coupling).transpose()?;
    Ok(with_failures(conn, found.into_iter().collect())
        .await?
        .pop())
}

/// For each of `keys` on `side` that is coupled (and not being created), the coupled key
/// on the other side: how a lookup field translates a parent's key.
pub async fn translate(
    conn: &mut AnyConnection,
    mapping: &str,
    side: Side,
    keys: &[String],
) -> Result<BTreeMap<String, String>, sqlx::Error> {
    let mut map = BTreeMap::new();
    for chunk in keys.chunks(super::CHUNK) {
        let mut sql = Sql::new(format!(
            "select {}, {} from coupling where pending is null and mapping = ",
            key_column(side),
            key_column(side.other())
        ));
        sql.bind(mapping.to_string());
        sql.push(&format!(" and {} in ", key_column(side)))
            .keys(chunk);
        for row in sql.fetch_all(&mut *conn).await? {
            map.insert(row.try_get(0)?, row.try_get(1)?);
        }
    }
    Ok(map)
}

/// Which of `keys` on `side` are coupled already.
pub async fn coupled_among(
    conn: &mut AnyConnection,
    mapping: &str,
    side: Side,
    keys: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    let mut coupled = Vec::new();
    for chunk in keys.chunks(super::CHUNK) {
        let mut sql = Sql::new(format!(
            "select {} from coupling where mapping = ",
            key_column(side)
        ));
        sql.bind(mapping.to_string());
        sql.push(&format!(" and {} in ", key_column(side)));
        sql.keys(chunk);
        for row in sql.fetch_all(&mut *conn).await? {
            coupled.push(row.try_get(0)?);
        }
    }
    Ok(coupled)
}

/// Remembers that a person chose to create `keys` on `side` anew on the other side rather
/// than couple them by match (Create New): match-based coupling leaves them out from now on.
pub async fn decline_match(
    conn: &mut AnyConnection,
    mapping: &str,
    side: Side,
    keys: &[String],
    actor: &str,
) -> Result<(), sqlx::Error> {
    let now = now_millis();
    for chunk in keys.chunks(super::CHUNK) {
        let mut sql = Sql::new(
            "insert into match_declined (mapping, side, record_key, declined_by, declined_at) ",
        );
        sql.values(chunk, |row, key| {
            row.bind(mapping.to_string())
                .bind(side.as_str())
                .bind(key.clone())
                .bind(actor.to_string())
                .bind(now);
        });
        sql.push(" on conflict (mapping, side, record_key) do nothing");
        sql.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Which of `keys` on `side` a person chose to create anew rather than couple by match.
pub async fn declined_among(
    conn: &mut AnyConnection,
    mapping: &str,
    side: Side,
    keys: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    let mut declined = Vec::new();
    for chunk in keys.chunks(super::CHUNK) {
        let mut sql = Sql::new("select record_key from match_declined where mapping = ");
        sql.bind(mapping.to_string())
            .push(" and side = ")
            .bind(side.as_str())
            .push(" and record_key in ")
            .keys(chunk);
        for row in sql.fetch_all(&mut *conn).await? {
            declined.push(row.try_get(0)?);
        }
    }
    Ok(declined)
}

/// A coupling about to be made.
#[derive(Clone, Debug)]
pub struct NewCoupling {
    /// The local key.
    pub local_key: String,
    /// The integration key.
    pub integration_key: String,
    /// The side being created, for a coupling written before its create.
    pub pending: Option<Side>,
}

/// Inserts couplings, answering their ids in order.
pub async fn insert(
    conn: &mut AnyConnection,
    mapping: &str,
    couplings: &[NewCoupling],
) -> Result<Vec<i64>, sqlx::Error> {
    let now = now_millis();
    let mut ids = Vec::with_capacity(couplings.len());
    for chunk in couplings.chunks(super::CHUNK) {
        let mut sql = Sql::new(
            "insert into coupling (mapping, local_key, integration_key, pending, created_at) ",
        );
        sql.values(chunk, |row, c| {
            row.bind(mapping.to_string())
                .bind(c.local_key.clone())
                .bind(c.integration_key.clone())
                .bind(c.pending.map(|s| s.as_str().to_string()))
                .bind(now);
        });
        sql.push(" returning id");
        for row in sql.fetch_all(&mut *conn).await? {
            ids.push(row.try_get(0)?);
        }
    }
    Ok(ids)
}

/// A coupling synchronized: its records' modified-on values and base after the write.
#[derive(Clone, Debug)]
pub struct Synced {
    /// The coupling.
    pub id: i64,
    /// The local record's modified-on value.
    pub local_modified: i64,
    /// The integration record's modified-on value.
    pub integration_modified: i64,
    /// Both records' values.
    pub base: Base,
}

/// Records the couplings `done` as synchronized from `from`: their modified-on values
/// and base, the result `ok`, and no failure, pending create or skip left. One statement
/// per few hundred couplings.
pub async fn synced(
    conn: &mut AnyConnection,
    done: &[Synced],
    from: Side,
) -> Result<(), sqlx::Error> {
    let result_column = result_column(from);
    let now = now_millis();
    for chunk in done.chunks(super::CHUNK / 2) {
        let mut sql = Sql::new(format!(
            "update coupling set local_modified = v.column2, integration_modified = v.column3, \
             base = v.column4, {result_column} = 'ok', pending = null, \
             version = version + 1, synced_at = "
        ));
        sql.bind(now).push(" from (");
        sql.values(chunk, |row, s| {
            row.bind(s.id)
                .bind(s.local_modified)
                .bind(s.integration_modified)
                .bind(serde_json::to_string(&s.base).unwrap_or_default());
        });
        sql.push(") as v where coupling.id = v.column1");
        sql.execute(&mut *conn).await?;
    }
    let ids: Vec<i64> = done.iter().map(|s| s.id).collect();
    forget_failures(conn, &ids).await
}

/// Forgets the failures of the couplings `ids`: scheduled synchronization takes them up
/// again.
pub async fn forget_failures(conn: &mut AnyConnection, ids: &[i64]) -> Result<(), sqlx::Error> {
    for chunk in ids.chunks(super::CHUNK) {
        let mut sql = Sql::new("delete from coupling_failure where coupling_id in ");
        sql.list(chunk, |sql, id| {
            sql.bind(*id);
        });
        sql.execute(&mut *conn).await?;
    }
    Ok(())
}

fn result_column(from: Side) -> &'static str {
    match from {
        Side::Local => "last_to_integration",
        Side::Integration => "last_from_integration",
    }
}

/// A failure of synchronization to count on a coupling.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The coupling.
    pub id: i64,
    /// The side synchronized from.
    pub from: Side,
    /// The result recorded for that direction (`failed`, `conflict`, `deleted`).
    pub result: &'static str,
    /// What happened: the same message twice in a row is a repeat.
    pub message: String,
    /// Whether the coupling is skipped at once, repeat or not.
    pub skip_now: bool,
}

/// Records the `failures` of couplings of `mapping`; answers, for each, whether its
/// coupling is now skipped: at once when it says so, or because it failed with the same
/// message the time before. A few statements per few hundred failures.
pub async fn failed(
    conn: &mut AnyConnection,
    mapping: &str,
    failures: &[Failure],
) -> Result<Vec<bool>, sqlx::Error> {
    let mut results: BTreeMap<(&str, &str), Vec<i64>> = BTreeMap::new();
    for f in failures {
        results
            .entry((result_column(f.from), f.result))
            .or_default()
            .push(f.id);
    }
    for ((column, result), ids) in results {
        for chunk in ids.chunks(super::CHUNK) {
            let mut sql = Sql::new(format!("update coupling set {column} = "));
            sql.bind(result.to_string())
                .push(", version = version + 1 where id in ");
            sql.list(chunk, |sql, id| {
                sql.bind(*id);
            });
            sql.execute(&mut *conn).await?;
        }
    }
    let mut skipped = Vec::with_capacity(failures.len());
    // One statement may count a coupling's failure once: a second of the same coupling
    // starts the next statement, and sees the first.
    for chunk in super::distinct_chunks(failures, |f| [f.id]) {
        let mut sql = Sql::new(
            "insert into coupling_failure (coupling_id, mapping, failure, failures, skipped) ",
        );
        sql.values(chunk, |row, f| {
            row.bind(f.id)
                .bind(mapping.to_string())
                .bind(f.message.clone())
                .bind(1_i64)
                .bind(i64::from(f.skip_now));
        });
        sql.push(
            r" on conflict (coupling_id) do update set
                  failures = case when coupling_failure.failure = excluded.failure
                             then coupling_failure.failures + 1 else 1 end,
                  failure = excluded.failure,
                  skipped = case when excluded.skipped = 1
                                 or (coupling_failure.failure = excluded.failure
                                     and coupling_failure.failures >= 1)
                            then 1 else coupling_failure.skipped end
              returning coupling_id, skipped",
        );
        let now: HashMap<i64, bool> = sql
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get::<i64, _>(1)? != 0)))
            .collect::<Result<_, sqlx::Error>>()?;
        skipped.extend(
            chunk
                .iter()
                .map(|f| now.get(&f.id).copied().unwrap_or(false)),
        );
    }
    Ok(skipped)
}

/// Removes a coupling; both records stay.
pub async fn delete(conn: &mut AnyConnection, id: i64) -> Result<(), sqlx::Error> {
    forget_failures(conn, &[id]).await?;
    sqlx::query("delete from coupling where id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Keys on `side` the engine must look at again whatever their modified-on value:
/// couplings whose synchronization from `side` failed and that are not skipped, and
/// creates left in flight. (Only the direction that failed: looking at the partner too
/// would count one failure twice in one run.)
pub async fn to_revisit(
    conn: &mut AnyConnection,
    mapping: &str,
    side: Side,
) -> Result<Vec<String>, sqlx::Error> {
    // Two selects, each answered by its partial index (an `or` of the two conditions
    // scanned every coupling: 1.9 s at a million).
    let key = key_column(side);
    let rows = sqlx::query(&format!(
        r"select {key} from coupling_failure f join coupling c on c.id = f.coupling_id
          where f.mapping = $1 and f.failures > 0 and f.skipped = 0 and c.{} = 'failed'
          union
          select {key} from coupling where mapping = $1 and pending = $2",
        result_column(side)
    ))
    .bind(mapping)
    .bind(side.other().as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| r.try_get(0)).collect()
}

/// The couplings of `mapping`, by local key, `limit` at most after `after`; with
/// `search`, only those whose local key starts with it or whose integration key is it.
pub async fn list(
    conn: &mut AnyConnection,
    mapping: &str,
    search: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<CouplingSummary>, sqlx::Error> {
    // Each listed coupling's failure looked up by its id (a page of them).
    let mut sql = Sql::new(
        r"select id, mapping, local_key, integration_key,
                 coalesce((select f.skipped from coupling_failure f where f.coupling_id = coupling.id), 0)
                     as skipped,
                 pending, last_to_integration, last_from_integration, synced_at, version
          from coupling where mapping = ",
    );
    sql.bind(mapping.to_string())
        .push(" and local_key > ")
        .bind(after.unwrap_or("").to_string());
    if let Some(search) = search.filter(|s| !s.is_empty()) {
        let prefix = format!(
            "{}%",
            search
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        sql.push(" and (local_key like ")
            .bind(prefix)
            .push(" escape '\\' or integration_key = ")
            .bind(search.to_string())
            .push(")");
    }
    sql.push(" order by local_key limit ").bind(limit);
    let rows = sql.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|row| {
            let pending: Option<String> = row.try_get("pending")?;
            Ok(CouplingSummary {
                id: row.try_get("id")?,
                mapping: row.try_get("mapping")?,
                local_key: row.try_get("local_key")?,
                integration_key: row.try_get("integration_key")?,
                skipped: row.try_get::<i64, _>("skipped")? != 0,
                pending: pending.as_deref().and_then(Side::parse),
                last_to_integration: row.try_get("last_to_integration")?,
                last_from_integration: row.try_get("last_from_integration")?,
                synced_at: row.try_get("synced_at")?,
                version: row.try_get("version")?,
            })
        })
        .collect()
}

/// How many couplings `mapping` has.
pub async fn count(conn: &mut AnyConnection, mapping: &str) -> Result<i64, sqlx::Error> {
    sqlx::query("select count(*) from coupling where mapping = $1")
        .bind(mapping)
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)
}

/// The couplings of `mapping` with ids above `after`, oldest first, `limit` at most.
pub async fn page(
    conn: &mut AnyConnection,
    mapping: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<Coupling>, sqlx::Error> {
    page_of(conn, COLUMNS, mapping, after, limit).await
}

/// Up to `limit` of `mapping`'s couplings after id `after`, in id order, as [`page`] but
/// without their base snapshots (`base` is `None`): for scans that need the keys and the
/// state only, such as Find for Deleted, to which the snapshots are most of the bytes.
pub async fn keys_page(
    conn: &mut AnyConnection,
    mapping: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<Coupling>, sqlx::Error> {
    page_of(conn, KEY_COLUMNS, mapping, after, limit).await
}

async fn page_of(
    conn: &mut AnyConnection,
    columns: &str,
    mapping: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<Coupling>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "select {columns} from coupling where mapping = $1 and id > $2 order by id limit $3"
    ))
    .bind(mapping)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let page = rows.iter().map(coupling).collect::<Result<_, _>>()?;
    with_failures(conn, page).await
}

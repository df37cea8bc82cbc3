//! Jobs: one run of work for a mapping, with its counters.

use super::now_millis;
use crate::model::{Counters, JobKind, JobState, JobSummary};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// A job a worker holds: its lease is good while `fence` is still the job's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimed {
    /// The job.
    pub id: i64,
    /// Its mapping.
    pub mapping: String,
    /// What it does.
    pub kind: JobKind,
    /// Who asked for it.
    pub actor: String,
    /// The records of a targeted or uncoupling job (JSON), if it names them.
    pub targets: Option<String>,
    /// The fencing token of this claim.
    pub fence: i64,
}

impl Claimed {
    /// What started the job.
    pub fn trigger(&self) -> crate::model::Trigger {
        crate::model::Trigger::of(&self.actor, self.kind)
    }
}

/// Queues a job; answers its id, or `None` when a queued synchronization of the mapping
/// already waits (the two coalesce).
pub async fn enqueue(
    conn: &mut AnyConnection,
    mapping: &str,
    kind: JobKind,
    actor: &str,
    targets: Option<String>,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        r"insert into job (mapping, kind, state, actor, created_at, targets) values ($1, $2, 'queued', $3, $4, $5)
          on conflict (mapping) where state = 'queued' and kind = 'synchronization' do nothing
          returning id",
    )
    .bind(mapping)
    .bind(kind.as_str())
    .bind(actor)
    .bind(now_millis())
    .bind(targets)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// The targeted job `actor` has queued for `mapping`, if any: its id and stored records.
pub async fn queued_targeted(
    conn: &mut AnyConnection,
    mapping: &str,
    actor: &str,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    let row = sqlx::query(
        r"select id, targets from job
          where mapping = $1 and actor = $2 and state = 'queued' and kind = 'targeted' and targets is not null
          order by id limit 1",
    )
    .bind(mapping)
    .bind(actor)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}

/// Replaces the records of queued job `id` with `new`, if they are still `old` and the job
/// has not started; answers whether it did.
pub async fn replace_targets(
    conn: &mut AnyConnection,
    id: i64,
    old: &str,
    new: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update job set targets = $1 where id = $2 and state = 'queued' and targets = $3",
    )
    .bind(new)
    .bind(id)
    .bind(old)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Starts a job at once, held by `owner`; `None` when the mapping is running elsewhere.
pub async fn start_now(
    conn: &mut AnyConnection,
    mapping: &str,
    kind: JobKind,
    actor: &str,
    owner: &str,
    lease_ms: i64,
    targets: Option<String>,
) -> Result<Option<Claimed>, sqlx::Error> {
    let now = now_millis();
    // A run whose process stopped answering ends here; this run resumes its work.
    sqlx::query(
        r"update job set state = 'failed', finished_at = $1, message = 'its worker stopped; the work went on in a later job'
          where mapping = $2 and state = 'running' and lease_expires_at < $1",
    )
    .bind(now)
    .bind(mapping)
    .execute(&mut *conn)
    .await?;
    let inserted = sqlx::query(
        r"insert into job (mapping, kind, state, actor, created_at, started_at, lease_owner, lease_expires_at, fence, targets)
          values ($1, $2, 'running', $3, $4, $4, $5, $6, 1, $7)
          returning id",
    )
    .bind(mapping)
    .bind(kind.as_str())
    .bind(actor)
    .bind(now)
    .bind(owner)
    .bind(now + lease_ms)
    .bind(targets.clone())
    .fetch_one(&mut *conn)
    .await;
    match inserted {
        Ok(row) => Ok(Some(Claimed {
            id: row.try_get(0)?,
            mapping: mapping.to_string(),
            kind,
            actor: actor.to_string(),
            targets,
            fence: 1,
        })),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The running jobs and who holds their leases.
pub async fn lease_holders(conn: &mut AnyConnection) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, lease_owner from job where state = 'running' and lease_owner is not null",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Ends the lease of job `id` now, if `owner` still holds it: its worker is known to be
/// gone, so nobody need wait for the lease to run out.
pub async fn expire_lease(
    conn: &mut AnyConnection,
    id: i64,
    owner: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update job set lease_expires_at = 0 where id = $1 and lease_owner = $2 and state = 'running'",
    )
    .bind(id)
    .bind(owner)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A queued job, or a running one whose lease expired, as a claim candidate.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The job.
    pub id: i64,
    /// Its mapping.
    pub mapping: String,
}

/// Jobs a worker could claim, oldest first, and the mappings with jobs ahead of them.
pub async fn candidates(
    conn: &mut AnyConnection,
    limit: i64,
) -> Result<(Vec<Candidate>, Vec<(i64, String)>), sqlx::Error> {
    let now = now_millis();
    let rows = sqlx::query(
        r"select id, mapping, state, coalesce(lease_expires_at, 0) from job
          where state in ('queued', 'running') order by id limit $1",
    )
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut claimable = Vec::new();
    let mut active = Vec::new();
    for row in rows {
        let (id, mapping, state, lease): (i64, String, String, i64) = (
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
        );
        if state == "queued" || lease < now {
            claimable.push(Candidate {
                id,
                mapping: mapping.clone(),
            });
        }
        active.push((id, mapping));
    }
    Ok((claimable, active))
}

/// Claims job `id` for `owner` if it is still queued (or its lease expired); raises its
/// fencing token. `None` when someone else got it, or its mapping is running.
pub async fn claim(
    conn: &mut AnyConnection,
    id: i64,
    owner: &str,
    lease_ms: i64,
) -> Result<Option<Claimed>, sqlx::Error> {
    let now = now_millis();
    let row = sqlx::query(
        r"update job set state = 'running', lease_owner = $1, lease_expires_at = $2, fence = fence + 1,
              started_at = coalesce(started_at, $3)
          where id = $4 and cancel_requested = 0
            and (state = 'queued' or (state = 'running' and coalesce(lease_expires_at, 0) < $3))
          returning id, mapping, kind, actor, targets, fence",
    )
    .bind(owner)
    .bind(now + lease_ms)
    .bind(now)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await;
    let row = match row {
        Ok(row) => row,
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(None),
        Err(e) => return Err(e),
    };
    row.map(|r| {
        let kind: String = r.try_get(2)?;
        Ok(Claimed {
            id: r.try_get(0)?,
            mapping: r.try_get(1)?,
            kind: JobKind::parse(&kind).unwrap_or(JobKind::Synchronization),
            actor: r.try_get(3)?,
            targets: r.try_get(4)?,
            fence: r.try_get(5)?,
        })
    })
    .transpose()
}

/// Extends a claim's lease, and says what the job is waiting on now (`None`: nothing) in
/// its message until it ends; `false` when the claim was lost (the fence moved on).
pub async fn heartbeat(
    conn: &mut AnyConnection,
    id: i64,
    fence: i64,
    lease_ms: i64,
    waiting: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update job set lease_expires_at = $1, message = $2 \
         where id = $3 and fence = $4 and state = 'running'",
    )
    .bind(now_millis() + lease_ms)
    .bind(waiting)
    .bind(id)
    .bind(fence)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Adds `delta` to the job's counters and `done` to its records done, only while `fence`
/// is the job's: `false` means the claim was lost and the caller must not commit.
pub async fn add(
    conn: &mut AnyConnection,
    id: i64,
    fence: i64,
    delta: &Counters,
    done: u64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        r"update job set inserted = inserted + $1, modified = modified + $2, deleted = deleted + $3,
              unchanged = unchanged + $4, skipped = skipped + $5, failed = failed + $6,
              coupled = coupled + $7, uncoupled = uncoupled + $8, deferred = deferred + $9,
              done = done + $10
          where id = $11 and fence = $12",
    )
    .bind(delta.inserted as i64)
    .bind(delta.modified as i64)
    .bind(delta.deleted as i64)
    .bind(delta.unchanged as i64)
    .bind(delta.skipped as i64)
    .bind(delta.failed as i64)
    .bind(delta.coupled as i64)
    .bind(delta.uncoupled as i64)
    .bind(delta.deferred as i64)
    .bind(done as i64)
    .bind(id)
    .bind(fence)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Whether `fence` is still the job's, taking the job's row lock: a transaction that checks
/// this before it commits cannot commit after another worker took the job over.
pub async fn holds(conn: &mut AnyConnection, id: i64, fence: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("update job set fence = fence where id = $1 and fence = $2")
        .bind(id)
        .bind(fence)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends the job in `state`, with a message, if `fence` is still the job's.
pub async fn finish(
    conn: &mut AnyConnection,
    id: i64,
    fence: i64,
    state: JobState,
    message: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        r"update job set state = $1, finished_at = $2, message = $3, lease_owner = null, lease_expires_at = null
          where id = $4 and fence = $5",
    )
    .bind(state.as_str())
    .bind(now_millis())
    .bind(message)
    .bind(id)
    .bind(fence)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Cancels a queued job at once, and asks a running one to stop after its current batch.
/// Answers the job's state afterwards, or `None` when there is no such job.
pub async fn cancel(conn: &mut AnyConnection, id: i64) -> Result<Option<JobState>, sqlx::Error> {
    sqlx::query(
        r"update job set state = case when state = 'queued' then 'cancelled' else state end,
              finished_at = case when state = 'queued' then $1 else finished_at end,
              cancel_requested = case when state in ('queued', 'running') then 1 else cancel_requested end
          where id = $2",
    )
    .bind(now_millis())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query("select state from job where id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| Ok(JobState::parse(&r.try_get::<String, _>(0)?).unwrap_or(JobState::Failed)))
        .transpose()
}

/// Whether someone asked the job to stop.
pub async fn cancel_requested(conn: &mut AnyConnection, id: i64) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("select cancel_requested from job where id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64, _>(0))
        .transpose()?
        .unwrap_or(0)
        != 0)
}

const COLUMNS: &str = "id, mapping, kind, state, actor, created_at, started_at, finished_at, inserted, modified, \
                       deleted, unchanged, skipped, failed, coupled, uncoupled, deferred, message, done, \
                       planned_records";

fn summary(row: &AnyRow) -> Result<JobSummary, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    let state: String = row.try_get("state")?;
    let count =
        |name: &str| -> Result<u64, sqlx::Error> { Ok(row.try_get::<i64, _>(name)?.max(0) as u64) };
    Ok(JobSummary {
        id: row.try_get("id")?,
        mapping: row.try_get("mapping")?,
        kind: JobKind::parse(&kind).unwrap_or(JobKind::Synchronization),
        state: JobState::parse(&state).unwrap_or(JobState::Failed),
        actor: row.try_get("actor")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        counters: Counters {
            inserted: count("inserted")?,
            modified: count("modified")?,
            deleted: count("deleted")?,
            unchanged: count("unchanged")?,
            skipped: count("skipped")?,
            failed: count("failed")?,
            coupled: count("coupled")?,
            uncoupled: count("uncoupled")?,
            deferred: count("deferred")?,
        },
        done: count("done")?,
        planned: row
            .try_get::<Option<i64>, _>("planned_records")?
            .map(|p| p.max(0) as u64),
        message: row.try_get("message")?,
    })
}

/// The job with this id.
pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<JobSummary>, sqlx::Error> {
    let row = sqlx::query(&format!("select {COLUMNS} from job where id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(summary).transpose()
}

/// The newest job of `mapping`.
pub async fn latest(
    conn: &mut AnyConnection,
    mapping: &str,
) -> Result<Option<JobSummary>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "select {COLUMNS} from job where mapping = $1 order by id desc limit 1"
    ))
    .bind(mapping)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(summary).transpose()
}

/// The newest jobs, `limit` at most.
pub async fn recent(conn: &mut AnyConnection, limit: i64) -> Result<Vec<JobSummary>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "select {COLUMNS} from job order by id desc limit $1"
    ))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(summary).collect()
}

//! The job queue: synchronizations run now in this process (the CLI) or queued for the
//! workers (`coupler serve`), claimed under a lease and a fencing token, and cancelled.
//! [`worker`] runs claimed jobs; [`schedule`] queues them on each mapping's interval;
//! [`lease`] ends the leases of dead workers.

pub(crate) mod lease;
pub(crate) mod schedule;
pub(crate) mod worker;

use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{JobKind, JobState, JobSummary};
use crate::store::{action, job};
use crate::sync::Touched;
use lease::release_dead_leases;
use serde::{Deserialize, Serialize};

/// The records a targeted or uncoupling job names, stored with the job.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targets {
    /// Local keys.
    pub local: Vec<String>,
    /// Integration keys.
    pub integration: Vec<String>,
}

impl Targets {
    /// Adds the keys of `other` that this does not name yet, keeping the order.
    fn absorb(&mut self, other: &Targets) {
        for (mine, theirs) in [
            (&mut self.local, &other.local),
            (&mut self.integration, &other.integration),
        ] {
            let known: std::collections::HashSet<String> = mine.iter().cloned().collect();
            mine.extend(theirs.iter().filter(|k| !known.contains(*k)).cloned());
        }
    }
}

/// Adds `targets` to the targeted job `actor` has queued for `mapping`; answers its id, or
/// `None` when there is none (or it started meanwhile). The keys are written only over
/// the ones read, so two joining at once never lose each other's.
async fn join_queued(
    conn: &mut sqlx::AnyConnection,
    mapping: &str,
    actor: &str,
    targets: &Targets,
) -> Result<Option<i64>, EngineError> {
    let Some((id, stored)) = job::queued_targeted(conn, mapping, actor).await? else {
        return Ok(None);
    };
    let mut joined: Targets = serde_json::from_str(&stored).unwrap_or_default();
    joined.absorb(targets);
    let joined = serde_json::to_string(&joined).unwrap_or_default();
    let written = job::replace_targets(conn, id, &stored, &joined).await?;
    Ok(written.then_some(id))
}

/// Which couplings an uncoupling job removes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UncouplingScope {
    /// Every coupling of the mapping.
    Every,
    /// The couplings of these records.
    Keys(Targets),
}

impl UncouplingScope {
    /// The records stored with the job: none for every coupling.
    pub(crate) fn targets(&self) -> Option<&Targets> {
        match self {
            UncouplingScope::Every => None,
            UncouplingScope::Keys(targets) => Some(targets),
        }
    }

    /// The scope of a stored uncoupling job. No records, or none named (as jobs queued
    /// before scopes were typed were stored), is every coupling: a scope of keys is
    /// never queued empty.
    pub(crate) fn stored(targets: Option<Targets>) -> UncouplingScope {
        match targets {
            Some(t) if !(t.local.is_empty() && t.integration.is_empty()) => {
                UncouplingScope::Keys(t)
            }
            _ => UncouplingScope::Every,
        }
    }
}

impl Engine {
    /// Synchronizes one mapping, or every mapping in dependency order, now, in this
    /// process. A job that could not reach a system ends `failed` with the reason; later
    /// mappings still run.
    pub async fn synchronize(
        &self,
        mapping: Option<&str>,
        full: bool,
        actor: &str,
    ) -> Result<Vec<JobSummary>, EngineError> {
        let names: Vec<String> = match mapping {
            Some(name) => vec![self.configured(name)?.name.clone()],
            None => self.inner.config.mapping_names(),
        };
        let kind = if full {
            JobKind::FullSynchronization
        } else {
            JobKind::Synchronization
        };
        let mut jobs = Vec::with_capacity(names.len());
        for name in names {
            jobs.push(self.run_now(&name, kind, actor, None).await?);
        }
        Ok(jobs)
    }

    /// Runs a job now in this process; `Busy` when its mapping runs elsewhere.
    pub(crate) async fn run_now(
        &self,
        mapping: &str,
        kind: JobKind,
        actor: &str,
        targets: Option<&Targets>,
    ) -> Result<JobSummary, EngineError> {
        Ok(self
            .run_now_reporting(mapping, kind, actor, targets, false)
            .await?
            .0)
    }

    /// Runs a job now as [`Engine::run_now`] does; with `reporting`, answers also what
    /// became of each record it touched.
    pub(crate) async fn run_now_reporting(
        &self,
        mapping: &str,
        kind: JobKind,
        actor: &str,
        targets: Option<&Targets>,
        reporting: bool,
    ) -> Result<(JobSummary, Vec<Touched>), EngineError> {
        self.configured(mapping)?;
        let targets = targets.map(|t| serde_json::to_string(t).unwrap_or_default());
        let mut conn = self.inner.store.conn().await?;
        release_dead_leases(&mut conn).await?;
        let claimed = job::start_now(
            &mut conn,
            mapping,
            kind,
            actor,
            &self.inner.owner,
            self.lease_ms(),
            targets,
        )
        .await?
        .ok_or_else(|| EngineError::Busy(mapping.to_string()))?;
        drop(conn);
        self.execute_reporting(claimed, reporting).await
    }

    /// Queues a job for the workers; answers its id. An already queued synchronization of
    /// the mapping answers that one's, and records to synchronize again join the targeted
    /// job the same actor has queued for the mapping, so a busy mapping's queue stays one
    /// job per actor however often they retry.
    pub async fn enqueue(
        &self,
        mapping: &str,
        kind: JobKind,
        actor: &str,
        targets: Option<&Targets>,
    ) -> Result<i64, EngineError> {
        self.configured(mapping)?;
        let mut conn = self.inner.store.conn().await?;
        if let (JobKind::Targeted, Some(targets)) = (kind, targets)
            && let Some(id) = join_queued(&mut conn, mapping, actor, targets).await?
        {
            return Ok(id);
        }
        let targets = targets.map(|t| serde_json::to_string(t).unwrap_or_default());
        if let Some(id) = job::enqueue(&mut conn, mapping, kind, actor, targets).await? {
            return Ok(id);
        }
        let queued = job::recent(&mut conn, 200).await?;
        queued
            .into_iter()
            .find(|j| j.mapping == mapping && j.state == JobState::Queued && j.kind == kind)
            .map(|j| j.id)
            .ok_or_else(|| EngineError::Busy(mapping.to_string()))
    }

    /// Queues a job for `actor` and writes it to the audit log in the same transaction;
    /// answers its id (an already queued one of the same kind answers that one's).
    pub async fn start_job(
        &self,
        actor: &str,
        mapping: &str,
        kind: JobKind,
    ) -> Result<i64, EngineError> {
        self.configured(mapping)?;
        let mut tx = self.inner.store.begin().await?;
        if let Some(id) = job::enqueue(&mut tx, mapping, kind, actor, None).await? {
            action::audit(
                &mut tx,
                actor,
                kind.as_str(),
                mapping,
                &format!("job {id} queued"),
                None,
            )
            .await?;
            tx.commit().await.map_err(EngineError::from)?;
            return Ok(id);
        }
        drop(tx);
        self.enqueue(mapping, kind, actor, None).await
    }

    /// Cancels a queued job, or asks a running one to stop after its current batch.
    pub async fn cancel_job(&self, actor: &str, id: i64) -> Result<JobSummary, EngineError> {
        let mut tx = self.inner.store.begin().await?;
        let state = job::cancel(&mut tx, id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no job has id {id}")))?;
        action::audit(
            &mut tx,
            actor,
            "cancel_job",
            &format!("job {id}"),
            &format!("{state:?}"),
            None,
        )
        .await?;
        tx.commit().await.map_err(EngineError::from)?;
        let mut conn = self.inner.store.conn().await?;
        job::get(&mut conn, id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no job has id {id}")))
    }

    /// The newest jobs.
    pub async fn jobs(&self, limit: i64) -> Result<Vec<JobSummary>, EngineError> {
        let mut conn = self.inner.store.conn().await?;
        Ok(job::recent(&mut conn, limit).await?)
    }

    /// One job.
    pub async fn job(&self, id: i64) -> Result<JobSummary, EngineError> {
        let mut conn = self.inner.store.conn().await?;
        job::get(&mut conn, id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no job has id {id}")))
    }
}

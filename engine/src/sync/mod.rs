//! Synchronization runs. For one mapping, a run reads what changed on each side since the
//! last run and goes through stages, each in its own file: the candidates and the passes
//! over them (`passes.rs`); per batch, its look-ups and the decision per record
//! (`classify.rs`), uncoupled records' matches on the other side (`matching.rs`), coupled
//! pairs decided by the pure three-way merge ([`merge`]) over the mapping as compiled
//! against its tables ([`compile`]); the writes to both systems, pending couplings first
//! (`apply.rs`); and the store transaction that records the batch (`bookkeeping/`), with
//! what the records that did not synchronize leave (`failures.rs`). DESIGN.md, "Synchronization semantics", is the contract.

mod apply;
mod bookkeeping;
mod classify;
pub mod compile;
mod failures;
mod matching;
pub mod merge;
mod passes;

/// The pure part of a run under the name the rest of the engine knows it by: the
/// compiled mapping and how values cross, and the three-way merge.
pub mod plan {
    pub use super::compile::*;
    pub use super::merge::*;
}

pub(crate) use bookkeeping::synced_pair;
pub(crate) use classify::Next;
pub use classify::new_key;
pub(crate) use failures::Failures;
pub(crate) use matching::HELD;
pub(crate) use passes::feed_from;

use crate::connector::{Connector, ConnectorError};
use crate::model::{Counters, Side};
use crate::store::progress;
use crate::store::{Store, StoreError};
use compile::Compiled;

/// Records read per batch; each batch commits to the store as one transaction.
pub const BATCH: usize = 5000;

/// How far before the watermark each run starts reading again, so that records whose
/// modified-on value was given just before a concurrent commit are not missed. Records
/// read twice are recognised by their coupling and cost a comparison.
pub const OVERLAP_MS: i64 = 5_000;

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A system failed as a whole (unreachable, or a statement failed for the batch).
    #[error(transparent)]
    System(#[from] ConnectorError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A fault test stopped the run here.
    #[error("stopped {0} by an injected fault")]
    Fault(FaultPoint),
    /// Another worker holds the job now (this one stalled past its lease): nothing of
    /// the last batch was committed.
    #[error("the job's lease passed to another worker; this worker's last batch was not committed")]
    LeaseLost,
    /// Someone cancelled the job; it stopped after its last committed batch.
    #[error("cancelled")]
    Cancelled,
}

impl<'a> Run<'a> {
    /// A run that only reads, for the console: it belongs to no job and counts nothing.
    pub(crate) fn reading(
        store: &'a Store,
        compiled: &'a Compiled,
        local: &'a dyn Connector,
        integration: &'a dyn Connector,
    ) -> Run<'a> {
        Run {
            store,
            compiled,
            local,
            integration,
            job_id: 0,
            fence: 0,
            actor: String::new(),
            counters: Counters::default(),
            fault: None,
            report: None,
            notes: Vec::new(),
        }
    }
}

impl RunError {
    /// The error as the engine's callers see it, for a run of `mapping`.
    pub(crate) fn in_mapping(self, mapping: &str) -> crate::error::EngineError {
        use crate::error::EngineError;
        match self {
            RunError::System(source) => EngineError::System {
                mapping: mapping.to_string(),
                source,
            },
            RunError::Store(error) => EngineError::Store(error),
            RunError::Cancelled => EngineError::Cancelled(mapping.to_string()),
            stopped => EngineError::Stopped {
                mapping: mapping.to_string(),
                reason: stopped.to_string(),
            },
        }
    }
}

/// Points in a batch where a fault test may stop a run, as if the process died there:
/// before and after each write step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultPoint {
    /// Before the pending couplings of creates are written.
    BeforePending,
    /// After the pending couplings are committed, before any system is written.
    AfterPending,
    /// After the other side's records are written.
    AfterWriteOther,
    /// After the source side's records are written (merged changes).
    AfterWriteSource,
    /// After both systems are written, before the store transaction commits.
    BeforeCommit,
}

impl FaultPoint {
    /// Every point, in the order a batch reaches them.
    pub const ALL: [FaultPoint; 5] = [
        FaultPoint::BeforePending,
        FaultPoint::AfterPending,
        FaultPoint::AfterWriteOther,
        FaultPoint::AfterWriteSource,
        FaultPoint::BeforeCommit,
    ];
}

impl std::fmt::Display for FaultPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FaultPoint::BeforePending => "before writing pending couplings",
            FaultPoint::AfterPending => "after writing pending couplings",
            FaultPoint::AfterWriteOther => "after writing the other system",
            FaultPoint::AfterWriteSource => "after writing the source system",
            FaultPoint::BeforeCommit => "before committing the batch",
        })
    }
}

impl From<sqlx::Error> for RunError {
    fn from(error: sqlx::Error) -> Self {
        RunError::Store(StoreError::Database(error))
    }
}

/// One run of a mapping: its connectors, store, job and counters.
pub struct Run<'a> {
    /// The store.
    pub store: &'a Store,
    /// The mapping, compiled against its tables.
    pub compiled: &'a Compiled,
    /// The local system's connector.
    pub local: &'a dyn Connector,
    /// The integration system's connector.
    pub integration: &'a dyn Connector,
    /// The job this run counts into.
    pub job_id: i64,
    /// The fencing token of this worker's claim on the job.
    pub fence: i64,
    /// Who or what started it.
    pub actor: String,
    /// The counters so far.
    pub counters: Counters,
    /// Where a fault test stops this run, if it does.
    pub fault: Option<FaultPoint>,
    /// What became of each record the run touched, when its caller asks (a run of
    /// chosen records, such as Retry's; a scheduled run of a million keeps counters).
    pub report: Option<Vec<Touched>>,
    /// What the job's message should say of a run that succeeded (a side read whole
    /// because its change-tracking position had expired).
    pub notes: Vec<String>,
}

/// What a run did to one record it touched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordResult {
    /// Both records agree now (written, coupled, or already as the other).
    Synchronized,
    /// It failed, for this reason; it is retried next run.
    Failed(String),
    /// It conflicts, or its partner was deleted: an open sync error says how.
    Conflict(String),
    /// It waits for its parent, for this reason.
    Deferred(String),
    /// Left alone: skipped, or not coupled where only coupled records synchronize.
    Skipped,
}

/// A record a run touched, and what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Touched {
    /// The side the record changed on.
    pub side: Side,
    /// Its key.
    pub key: String,
    /// What became of it.
    pub result: RecordResult,
}

impl<'a> Run<'a> {
    /// The connector of `side`, borrowed for the whole run rather than from the run, so
    /// that it can read while the run writes.
    pub(crate) fn connector(&self, side: Side) -> &'a dyn Connector {
        match side {
            Side::Local => self.local,
            Side::Integration => self.integration,
        }
    }

    /// The mapping's name, as the store keys everything of it.
    fn name(&self) -> &str {
        &self.compiled.mapping.name
    }

    /// Stops the run here if a fault test asked for `point`, as if the process died.
    fn checkpoint(&self, point: FaultPoint) -> Result<(), RunError> {
        match self.fault {
            Some(fault) if fault == point => Err(RunError::Fault(point)),
            _ => Ok(()),
        }
    }
}

/// Runs a mapping: deletions reported by either side first, then local → integration,
/// then integration → local, as the direction allows.
pub async fn run_mapping(run: &mut Run<'_>, full: bool) -> Result<(), RunError> {
    let direction = run.compiled.mapping.direction;
    if full {
        let mut conn = run.store.conn().await?;
        progress::reset_changes(&mut conn, &run.compiled.mapping.name).await?;
    }
    for side in [Side::Local, Side::Integration] {
        run.tombstones(side).await?;
    }
    if direction.to_integration() {
        run.pass(Side::Local, full).await?;
    }
    if direction.from_integration() {
        run.pass(Side::Integration, full).await?;
    }
    Ok(())
}

//! The vocabulary types shared by the engine, the server and the console in the browser.
//! Plain serde types: they compile to WebAssembly without any database code.

pub use crate::value::Value;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which way data flows for a mapping or a field mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Local → integration, then integration → local.
    Bidirectional,
    /// Local → integration only.
    ToIntegration,
    /// Integration → local only.
    FromIntegration,
}

impl Direction {
    /// Whether data may flow from the local table to the integration table.
    pub fn to_integration(self) -> bool {
        matches!(self, Direction::Bidirectional | Direction::ToIntegration)
    }

    /// Whether data may flow from the integration table to the local table.
    pub fn from_integration(self) -> bool {
        matches!(self, Direction::Bidirectional | Direction::FromIntegration)
    }

    /// The word used in configuration files and the console.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Bidirectional => "bidirectional",
            Direction::ToIntegration => "to_integration",
            Direction::FromIntegration => "from_integration",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One side of a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The local table (the system of record, like the ERP).
    Local,
    /// The integration table (like the CRM).
    Integration,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Local => Side::Integration,
            Side::Integration => Side::Local,
        }
    }

    /// The word used in the store, URLs and the console.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Local => "local",
            Side::Integration => "integration",
        }
    }

    /// Parses `local` or `integration`.
    pub fn parse(text: &str) -> Option<Side> {
        match text {
            "local" => Some(Side::Local),
            "integration" => Some(Side::Integration),
            _ => None,
        }
    }

    /// The direction of data flowing from this side.
    pub fn direction_from(self) -> Direction {
        match self {
            Side::Local => Direction::ToIntegration,
            Side::Integration => Direction::FromIntegration,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens when both records of a coupling changed the same field differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateConflictPolicy {
    /// Write nothing and report an `update_conflict` sync error.
    None,
    /// The local record wins.
    SendUpdate,
    /// The integration record wins.
    GetUpdate,
}

impl UpdateConflictPolicy {
    /// Parses the word [`UpdateConflictPolicy::as_str`] gives.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "none" => UpdateConflictPolicy::None,
            "send_update" => UpdateConflictPolicy::SendUpdate,
            "get_update" => UpdateConflictPolicy::GetUpdate,
            _ => return None,
        })
    }

    /// The word used in configuration files and the console.
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateConflictPolicy::None => "none",
            UpdateConflictPolicy::SendUpdate => "send_update",
            UpdateConflictPolicy::GetUpdate => "get_update",
        }
    }
}

/// What happens when one record of a coupling was deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeletionConflictPolicy {
    /// Report a `deleted_local` or `deleted_integration` sync error.
    None,
    /// Recreate the deleted record from the survivor and couple again.
    Restore,
    /// Uncouple; the survivor stays.
    RemoveCoupling,
}

impl DeletionConflictPolicy {
    /// Parses the word [`DeletionConflictPolicy::as_str`] gives.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "none" => DeletionConflictPolicy::None,
            "restore" => DeletionConflictPolicy::Restore,
            "remove_coupling" => DeletionConflictPolicy::RemoveCoupling,
            _ => return None,
        })
    }

    /// The word used in configuration files and the console.
    pub fn as_str(self) -> &'static str {
        match self {
            DeletionConflictPolicy::None => "none",
            DeletionConflictPolicy::Restore => "restore",
            DeletionConflictPolicy::RemoveCoupling => "remove_coupling",
        }
    }
}

/// One side of a mapping: a table in a system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSummary {
    /// The system's name in the configuration (`erp`, `crm`).
    pub system: String,
    /// The table's name in that system.
    pub table: String,
    /// The table's key column.
    pub key: String,
    /// The table's modified-on column.
    pub modified: String,
}

/// A field mapping as the console shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSummary {
    /// The local field, absent for a constant written to the integration side.
    pub local: Option<String>,
    /// The integration field, absent for a constant written to the local side.
    pub integration: Option<String>,
    /// Which way this field flows.
    pub direction: Direction,
    /// A constant written instead of a copied value.
    pub constant: Option<String>,
    /// Whether a value is required.
    pub required: bool,
    /// The longest value the destination accepts, in characters.
    pub max_length: Option<u32>,
    /// Whether values are translated through a value map.
    pub value_mapped: bool,
}

/// An integration table mapping with its runtime state, as the console lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingSummary {
    /// The mapping's name (`CUSTOMER`).
    pub name: String,
    /// The local table.
    pub local: TableSummary,
    /// The integration table.
    pub integration: TableSummary,
    /// Which way data flows.
    pub direction: Direction,
    /// The update conflict policy.
    pub update_conflict: UpdateConflictPolicy,
    /// The deletion conflict policy.
    pub deletion_conflict: DeletionConflictPolicy,
    /// Whether only coupled records are synchronized.
    pub sync_only_coupled: bool,
    /// Seconds between scheduled synchronizations.
    pub interval_secs: u64,
    /// Mappings that must run first.
    pub depends_on: Vec<String>,
    /// Fields used to find an existing record to couple with.
    pub match_on: Vec<String>,
    /// Whether scheduled synchronization is paused.
    pub paused: bool,
    /// Settings changed at run time, which now differ from the file's
    /// (`update_conflict`, `deletion_conflict`, `interval`).
    pub overridden: Vec<String>,
    /// When the next scheduled synchronization is due (milliseconds since the epoch).
    pub next_run_at: Option<i64>,
    /// The field mappings.
    pub fields: Vec<FieldSummary>,
}

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Synchronize the records modified since the last run.
    Synchronization,
    /// Synchronize every record, from the beginning of both tables.
    FullSynchronization,
    /// Synchronize named records now (Retry, Set Up Coupling).
    Targeted,
    /// Remove couplings; both records stay.
    Uncoupling,
    /// Scan couplings for records deleted on either side.
    FindForDeleted,
}

impl JobKind {
    /// The word used in the store and the console.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Synchronization => "synchronization",
            JobKind::FullSynchronization => "full_synchronization",
            JobKind::Targeted => "targeted",
            JobKind::Uncoupling => "uncoupling",
            JobKind::FindForDeleted => "find_for_deleted",
        }
    }

    /// Parses the word [`JobKind::as_str`] gives.
    pub fn parse(text: &str) -> Option<JobKind> {
        match text {
            "synchronization" => Some(JobKind::Synchronization),
            "full_synchronization" => Some(JobKind::FullSynchronization),
            "targeted" => Some(JobKind::Targeted),
            "uncoupling" => Some(JobKind::Uncoupling),
            "find_for_deleted" => Some(JobKind::FindForDeleted),
            _ => None,
        }
    }
}

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for a worker.
    Queued,
    /// Being worked on.
    Running,
    /// Finished; individual records may still have failed (see the counters).
    Succeeded,
    /// Stopped by an error that concerned the whole job (a system unreachable).
    Failed,
    /// Cancelled before it finished.
    Cancelled,
}

impl JobState {
    /// The word used in the store and the console.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// Parses the word [`JobState::as_str`] gives.
    pub fn parse(text: &str) -> Option<JobState> {
        Some(match text {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "succeeded" => JobState::Succeeded,
            "failed" => JobState::Failed,
            "cancelled" => JobState::Cancelled,
            _ => return None,
        })
    }
}

/// A job's counters: what became of the records it looked at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Records created in a system.
    pub inserted: u64,
    /// Records changed in a system.
    pub modified: u64,
    /// Records deleted in a system.
    pub deleted: u64,
    /// Changed records with nothing to write (only unmapped fields changed, or both sides agree).
    pub unchanged: u64,
    /// Records left alone: skipped couplings, or not coupled where only coupled records synchronize.
    pub skipped: u64,
    /// Records that failed or conflicted: each has a sync error.
    pub failed: u64,
    /// Couplings made.
    pub coupled: u64,
    /// Couplings removed.
    pub uncoupled: u64,
    /// Records waiting for a record they depend on to be coupled.
    pub deferred: u64,
}

impl Counters {
    /// Adds `other` to these counters.
    pub fn add(&mut self, other: &Counters) {
        self.inserted += other.inserted;
        self.modified += other.modified;
        self.deleted += other.deleted;
        self.unchanged += other.unchanged;
        self.skipped += other.skipped;
        self.failed += other.failed;
        self.coupled += other.coupled;
        self.uncoupled += other.uncoupled;
        self.deferred += other.deferred;
    }

    /// The counters as `(name, value)` pairs, in the order the console shows them.
    pub fn named(&self) -> [(&'static str, u64); 9] {
        [
            ("inserted", self.inserted),
            ("modified", self.modified),
            ("deleted", self.deleted),
            ("unchanged", self.unchanged),
            ("skipped", self.skipped),
            ("failed", self.failed),
            ("coupled", self.coupled),
            ("uncoupled", self.uncoupled),
            ("deferred", self.deferred),
        ]
    }
}

/// A job as the console and the CLI list it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSummary {
    /// The job's id.
    pub id: i64,
    /// The mapping it runs.
    pub mapping: String,
    /// What it does.
    pub kind: JobKind,
    /// Where it is.
    pub state: JobState,
    /// Who or what started it.
    pub actor: String,
    /// When it was created (milliseconds since the epoch).
    pub created_at: i64,
    /// When it started.
    pub started_at: Option<i64>,
    /// When it finished.
    pub finished_at: Option<i64>,
    /// What became of the records.
    pub counters: Counters,
    /// Records looked at so far.
    pub done: u64,
    /// Records it plans to look at, when known.
    pub planned: Option<u64>,
    /// Why it failed, or a note on how it ended.
    pub message: Option<String>,
}

/// The kinds of sync error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncErrorKind {
    /// Both records changed the same field to different values.
    UpdateConflict,
    /// The local record was deleted; the integration record remains.
    DeletedLocal,
    /// The integration record was deleted; the local record remains.
    DeletedIntegration,
    /// A value was refused, by validation or by the destination system.
    Failed,
}

impl SyncErrorKind {
    /// The word used in the store, the CLI and the console.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncErrorKind::UpdateConflict => "update_conflict",
            SyncErrorKind::DeletedLocal => "deleted_local",
            SyncErrorKind::DeletedIntegration => "deleted_integration",
            SyncErrorKind::Failed => "failed",
        }
    }

    /// Parses the word [`SyncErrorKind::as_str`] gives.
    pub fn parse(text: &str) -> Option<SyncErrorKind> {
        Some(match text {
            "update_conflict" => SyncErrorKind::UpdateConflict,
            "deleted_local" => SyncErrorKind::DeletedLocal,
            "deleted_integration" => SyncErrorKind::DeletedIntegration,
            "failed" => SyncErrorKind::Failed,
            _ => return None,
        })
    }

    /// The kind for a record deleted on `side`.
    pub fn deleted(side: Side) -> SyncErrorKind {
        match side {
            Side::Local => SyncErrorKind::DeletedLocal,
            Side::Integration => SyncErrorKind::DeletedIntegration,
        }
    }
}

impl fmt::Display for SyncErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An open sync error, as the console and the CLI list it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncErrorSummary {
    /// The error's id.
    pub id: i64,
    /// The mapping.
    pub mapping: String,
    /// What went wrong.
    pub kind: SyncErrorKind,
    /// The side whose record was being synchronized.
    pub side: Side,
    /// The local record's key, when known.
    pub local_key: Option<String>,
    /// The integration record's key, when known.
    pub integration_key: Option<String>,
    /// A readable description of the record (the value of its first field, such as the
    /// name), when known.
    pub description: Option<String>,
    /// What happened, in plain words.
    pub message: String,
    /// The fields concerned (the conflicting fields of an update conflict).
    pub fields: Vec<String>,
    /// The coupling, when the records are coupled.
    pub coupling_id: Option<i64>,
    /// When it last failed (milliseconds since the epoch).
    pub failed_at: i64,
    /// When it first failed.
    pub first_failed_at: i64,
    /// How many times in a row it failed this way.
    pub attempts: i64,
    /// Whether scheduled synchronization leaves the record alone until someone acts.
    pub skipped: bool,
    /// Changes with every change of the error, so a stale action is recognised.
    pub version: i64,
    /// Who last acted on it or found it again, when known.
    pub changed_by: Option<String>,
}

impl SyncErrorSummary {
    /// Whether the record on `side` still exists, as far as the error tells: a deleted
    /// record's error says which side is gone; other errors have both (or only the
    /// synchronized side, when the records are not coupled yet).
    pub fn exists(&self, side: Side) -> bool {
        match self.kind {
            SyncErrorKind::DeletedLocal => side == Side::Integration,
            SyncErrorKind::DeletedIntegration => side == Side::Local,
            _ => self.key(side).is_some(),
        }
    }

    /// Whether the console's `action` (as `act_on_sync_errors` names it) applies: Retry
    /// to a refused record and to a pair whose records both exist; Synchronize
    /// (`use_local`, `use_integration`, `merge`) to an update conflict; Restore and Delete
    /// Records to a deleted record whose partner remains; Remove Coupling to coupled
    /// records. The server still answers per record for what it refuses.
    pub fn applies(&self, action: &str) -> bool {
        let deleted = matches!(
            self.kind,
            SyncErrorKind::DeletedLocal | SyncErrorKind::DeletedIntegration
        );
        match action {
            "retry" => {
                self.kind == SyncErrorKind::Failed
                    || (self.exists(Side::Local) && self.exists(Side::Integration))
            }
            "use_local" | "use_integration" | "merge" => self.kind == SyncErrorKind::UpdateConflict,
            "restore" | "delete_records" => {
                deleted && self.exists(Side::Local) != self.exists(Side::Integration)
            }
            "remove_coupling" => self.coupling_id.is_some(),
            _ => false,
        }
    }

    /// The key of the record on `side`, when known.
    pub fn key(&self, side: Side) -> Option<&str> {
        match side {
            Side::Local => self.local_key.as_deref(),
            Side::Integration => self.integration_key.as_deref(),
        }
    }
}

/// One error with both records as they are now and as they were at the last
/// successful synchronization: what the error's page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// The error.
    pub error: SyncErrorSummary,
    /// Whether the local record exists now (`None` when its key is not known).
    pub local_exists: Option<bool>,
    /// Whether the integration record exists now.
    pub integration_exists: Option<bool>,
    /// Each field mapping, side by side.
    pub fields: Vec<FieldComparison>,
    /// What happened, in plain words.
    pub explanation: String,
    /// The fix to try first.
    pub recommendation: String,
    /// When the error was resolved, if it was.
    pub resolved_at: Option<i64>,
    /// Who resolved it.
    pub resolved_by: Option<String>,
}

/// One field mapping of an error's two records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldComparison {
    /// The name a per-field resolution uses (the local column, or the integration one).
    pub name: String,
    /// The local column.
    pub local_field: Option<String>,
    /// The integration column.
    pub integration_field: Option<String>,
    /// The local value at the last synchronization.
    pub local_base: Option<Value>,
    /// The local value now.
    pub local: Option<Value>,
    /// The integration value at the last synchronization.
    pub integration_base: Option<Value>,
    /// The integration value now.
    pub integration: Option<Value>,
    /// Whether the local value changed since the last synchronization.
    pub local_changed: bool,
    /// Whether the integration value changed since the last synchronization.
    pub integration_changed: bool,
    /// Whether both changed it: the field needs a choice.
    pub conflict: bool,
}

/// A mapping's state in numbers, as the overview shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingCounts {
    /// The mapping.
    pub mapping: String,
    /// Coupled pairs of records.
    pub coupled: i64,
    /// Coupled pairs with no open error.
    pub in_sync: i64,
    /// Open errors by kind, every kind listed.
    pub errors: Vec<(SyncErrorKind, i64)>,
    /// Couplings left alone until someone acts.
    pub skipped: i64,
    /// Records waiting for another record (a parent not coupled yet) or a second look.
    pub deferred: i64,
    /// The newest job.
    pub last_job: Option<JobSummary>,
    /// When the next scheduled synchronization is due.
    pub next_run_at: Option<i64>,
    /// Whether scheduled synchronization is paused.
    pub paused: bool,
}

/// Errors found per period: the error trend.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorTrend {
    /// When the first period starts (milliseconds since the epoch).
    pub start: i64,
    /// How long each period is (milliseconds).
    pub period: i64,
    /// Errors first found in each period, oldest first.
    pub counts: Vec<i64>,
}

/// A coupling as the console and the CLI list it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouplingSummary {
    /// The coupling's id.
    pub id: i64,
    /// The mapping.
    pub mapping: String,
    /// The local record's key.
    pub local_key: String,
    /// The integration record's key.
    pub integration_key: String,
    /// Whether scheduled synchronization leaves it alone.
    pub skipped: bool,
    /// The side being created, while a create is in flight.
    pub pending: Option<Side>,
    /// How the last local → integration synchronization ended (`ok`, `failed`, `conflict`).
    pub last_to_integration: Option<String>,
    /// How the last integration → local synchronization ended.
    pub last_from_integration: Option<String>,
    /// When it last synchronized successfully (milliseconds since the epoch).
    pub synced_at: Option<i64>,
    /// Changes with every change of the coupling.
    pub version: i64,
}

/// One field's change in a log entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The field (the column on the side written).
    pub field: String,
    /// The value before.
    pub old: Value,
    /// The value after.
    pub new: Value,
}

/// One event in a record's synchronization history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogEntrySummary {
    /// The entry's id.
    pub id: i64,
    /// The mapping.
    pub mapping: String,
    /// The job that wrote it, if a job did.
    pub job_id: Option<i64>,
    /// When (milliseconds since the epoch).
    pub at: i64,
    /// The local record's key.
    pub local_key: Option<String>,
    /// The integration record's key.
    pub integration_key: Option<String>,
    /// Which way data went, if it went anywhere.
    pub direction: Option<Direction>,
    /// What was done: `inserted`, `modified`, `coupled`, `conflict`, `failed`, …
    pub action: String,
    /// `ok`, `failed` or `skipped`.
    pub result: String,
    /// The fields changed, old → new.
    pub changes: Vec<FieldChange>,
    /// More, in plain words.
    pub message: Option<String>,
    /// Who or what caused it.
    pub actor: String,
}

/// Which open sync errors an action or a list means.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ErrorFilter {
    /// Only this mapping's.
    pub mapping: Option<String>,
    /// Only this kind.
    pub kind: Option<SyncErrorKind>,
    /// Only errors whose keys, description or message contain this text (any case).
    pub text: Option<String>,
    /// Only errors that last failed at or after this time (milliseconds since the epoch).
    pub since: Option<i64>,
    /// Only errors that last failed before this time.
    pub until: Option<i64>,
    /// Only errors last found by this job.
    pub job: Option<i64>,
}

/// Where a page of errors ends: the next page starts after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCursor {
    /// The last error's failed-on time.
    pub failed_at: i64,
    /// The last error's id.
    pub id: i64,
}

/// An error as someone saw it: its id and the version they saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorRef {
    /// The error's id.
    pub id: i64,
    /// Its version when seen.
    pub version: i64,
}

/// What an action on errors acts on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Selection {
    /// These errors, as seen.
    Errors(Vec<ErrorRef>),
    /// Every open error matching the filter, as it is when the action runs.
    Matching(ErrorFilter),
}

/// How Synchronize resolves an update conflict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The local record's values win.
    Local,
    /// The integration record's values win.
    Integration,
    /// Fields changed on one side merge; refused when a field conflicts.
    Merge,
    /// Conflicting fields take the named side's value (field name → side); others merge.
    Fields(std::collections::BTreeMap<String, Side>),
}

/// What an action did to one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done.
    Done,
    /// Someone acted first; nothing changed.
    Stale,
    /// The action does not apply to this record; nothing changed.
    Refused,
    /// Tried, and the record failed again.
    Failed,
}

/// One record's answer to an action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordOutcome {
    /// The error acted on, if the action was on errors.
    pub error_id: Option<i64>,
    /// The mapping.
    pub mapping: String,
    /// The local key.
    pub local_key: Option<String>,
    /// The integration key.
    pub integration_key: Option<String>,
    /// What became of it.
    pub outcome: Outcome,
    /// In plain words.
    pub message: String,
}

/// An action's answer: per record what happened, and the job it started, if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionAnswer {
    /// The action's id (the same id again answers this again).
    pub action_id: String,
    /// Which action.
    pub action: String,
    /// Per record.
    pub outcomes: Vec<RecordOutcome>,
    /// A job doing (the rest of) the work, when the selection was large.
    pub job_id: Option<i64>,
    /// One line for people.
    pub summary: String,
}

/// Formats milliseconds since the epoch as `2026-11-27 05:42:01 UTC`.
pub fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Parses `2026-11-27` or `2026-11-27T05:42` (UTC) as milliseconds since the epoch; a
/// bare date means its first moment.
pub fn parse_time(text: &str) -> Option<i64> {
    let (date, time) = text.split_once('T').unwrap_or((text, "00:00"));
    let mut date = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let mut time = time.splitn(3, ':').map(|t| t.parse::<i64>());
    let (hour, minute) = (time.next()?.ok()?, time.next()?.ok()?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    // Days since 1970-01-01 from a civil date (the inverse of `format_time`'s).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hour) * 60 + minute) * 60_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_dates() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_time(1_795_758_121_000), "2026-11-27 05:42:01 UTC");
        assert_eq!(format_time(951_782_400_000), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn dates_read_back_as_times() {
        assert_eq!(parse_time("2026-11-27T05:42"), Some(1_795_758_120_000));
        assert_eq!(parse_time("2000-02-29"), Some(951_782_400_000));
        assert_eq!(parse_time("1970-01-01"), Some(0));
        assert_eq!(parse_time("2026-13-01"), None);
        assert_eq!(parse_time("yesterday"), None);
    }
}

/// What a console account may do. Each role may do everything the roles before it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads every page.
    Viewer,
    /// Also acts on errors, runs and cancels jobs, and couples and uncouples records.
    Operator,
    /// Also changes mappings and manages accounts.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    /// The word used in the store, the CLI and the console.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// Parses the word [`Role::as_str`] gives.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The account a request is signed in as.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    /// The account's name: what the audit log and the record logs call them.
    pub name: String,
    /// What they may do.
    pub role: Role,
}

/// A console account as the users page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    /// The account's name.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// When it was created (milliseconds since the epoch).
    pub created_at: i64,
    /// When it last signed in, if it has.
    pub last_signed_in: Option<i64>,
    /// How many sessions it has open now.
    pub sessions: i64,
}

/// One entry of the audit log: who did what, when, to which records, with what outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The entry's id; newer entries have larger ids.
    pub id: i64,
    /// When (milliseconds since the epoch).
    pub at: i64,
    /// Who: an account's name, or what acted for nobody (the scheduler, the CLI).
    pub actor: String,
    /// What: `retry`, `sign_in`, `add_user`, …
    pub action: String,
    /// To what: the records, mapping or account acted on.
    pub selection: String,
    /// How it ended.
    pub outcome: String,
}

/// Which audit entries a list means.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Only this actor's.
    pub actor: Option<String>,
    /// Only this action's.
    pub action: Option<String>,
    /// Only entries whose selection or outcome contain this text (any case).
    pub text: Option<String>,
    /// Only entries older than this id (the next page).
    pub before: Option<i64>,
}

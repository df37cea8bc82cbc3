//! Jobs: what a job does, where it is in its life, its counters, and the summary the
//! console and the CLI list.

use serde::{Deserialize, Serialize};

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

/// What started a job: the mapping's schedule, a person asking for it, or a person's
/// action on errors or couplings that needs records synchronized or uncoupled now. Jobs
/// keep it as their actor's name (see [`Trigger::actor`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The mapping's schedule.
    Schedule,
    /// A person (or the command line), by name.
    Person(String),
    /// A person's action (Retry, Remove Coupling), by the person's name.
    Action(String),
}

impl Trigger {
    /// The actor's name the schedule's jobs carry; no account may take it.
    pub const SCHEDULE: &'static str = "schedule";

    /// The name jobs carry as their actor.
    pub fn actor(&self) -> &str {
        match self {
            Trigger::Schedule => Trigger::SCHEDULE,
            Trigger::Person(name) | Trigger::Action(name) => name,
        }
    }

    /// The trigger of a job of `kind` whose actor is `actor`.
    pub fn of(actor: &str, kind: JobKind) -> Trigger {
        match kind {
            _ if actor == Trigger::SCHEDULE => Trigger::Schedule,
            JobKind::Targeted | JobKind::Uncoupling => Trigger::Action(actor.to_string()),
            _ => Trigger::Person(actor.to_string()),
        }
    }
}

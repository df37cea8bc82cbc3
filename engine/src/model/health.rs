//! A mapping's health: whether it synchronizes as it should, and if not, each problem in
//! plain words; and its records counted by status (the sync health counts).

use super::status::{RecordStatus, StatusCode};
use serde::{Deserialize, Serialize};

/// A problem of a whole mapping: a stable code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    /// Scheduled synchronization is paused.
    Paused,
    /// No run has succeeded for more than three intervals (or ever, after one ran).
    NoRecentSuccess,
    /// The last job failed (as did those before it, counted).
    JobFailing,
    /// A system does not answer now.
    SystemUnreachable,
    /// Nothing has run the mapping's schedule for more than three intervals.
    NoWorker,
    /// New errors are found faster than before.
    ErrorsGrowing,
    /// A table or column the configuration names no longer exists.
    MissingColumn,
}

impl ProblemCode {
    /// Every problem, in the order the console and `/metrics` list them.
    pub const ALL: [ProblemCode; 7] = [
        ProblemCode::Paused,
        ProblemCode::NoRecentSuccess,
        ProblemCode::JobFailing,
        ProblemCode::SystemUnreachable,
        ProblemCode::NoWorker,
        ProblemCode::ErrorsGrowing,
        ProblemCode::MissingColumn,
    ];

    /// The code as written in the API, the command line and `/metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCode::Paused => "paused",
            ProblemCode::NoRecentSuccess => "no_recent_success",
            ProblemCode::JobFailing => "job_failing",
            ProblemCode::SystemUnreachable => "system_unreachable",
            ProblemCode::NoWorker => "no_worker",
            ProblemCode::ErrorsGrowing => "errors_growing",
            ProblemCode::MissingColumn => "missing_column",
        }
    }
}

/// One problem of a mapping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The stable code.
    pub code: ProblemCode,
    /// The problem in plain words, with its figures.
    pub message: String,
}

/// Whether a mapping synchronizes as it should.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingHealth {
    /// The mapping.
    pub mapping: String,
    /// When its last successful run finished (milliseconds since 1970).
    pub last_success_at: Option<i64>,
    /// Its schedule's interval (milliseconds).
    pub interval_ms: i64,
    /// Every problem that holds; none when the mapping is healthy.
    pub problems: Vec<Problem>,
}

impl MappingHealth {
    /// Whether no problem holds.
    pub fn healthy(&self) -> bool {
        self.problems.is_empty()
    }
}

/// How many of a mapping's records are in one state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCount {
    /// The state.
    pub code: StatusCode,
    /// How many records are in it.
    pub count: i64,
    /// Whether there are more than `count` (changes are counted up to a limit).
    pub at_least: bool,
}

/// The states the sync health counts, in the order they are shown.
pub const COUNTED_STATES: [StatusCode; 12] = [
    StatusCode::InSync,
    StatusCode::Pending,
    StatusCode::New,
    StatusCode::Failing,
    StatusCode::AmbiguousMatch,
    StatusCode::Skipped,
    StatusCode::UpdateConflict,
    StatusCode::DeletedLocal,
    StatusCode::DeletedIntegration,
    StatusCode::Deferred,
    StatusCode::ExcludedByFilter,
    StatusCode::Uncoupled,
];

/// One page of a mapping's records in one state, each with its status now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordsByStatus {
    /// The mapping.
    pub mapping: String,
    /// The state listed.
    pub code: StatusCode,
    /// The page (from 0).
    pub page: i64,
    /// Whether a next page follows.
    pub more: bool,
    /// The records, each with its status as it is now (which may have moved on since it
    /// was counted).
    pub rows: Vec<RecordStatus>,
}

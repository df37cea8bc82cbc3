//! The overview: each mapping's state in numbers, and the error trend.

use super::errors::SyncErrorKind;
use super::health::{HealthCount, MappingHealth};
use super::jobs::JobSummary;
use serde::{Deserialize, Serialize};

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
    /// Its records counted by state, in the order of
    /// [`COUNTED_STATES`](super::health::COUNTED_STATES).
    pub by_state: Vec<HealthCount>,
    /// Whether it synchronizes as it should.
    pub health: MappingHealth,
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

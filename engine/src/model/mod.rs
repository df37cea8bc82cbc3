//! The vocabulary types shared by the engine, the server and the console in the browser.
//! Plain serde types: they compile to WebAssembly without any database code.
//!
//! Split by noun, one file each, so a type is found by its name: mappings and their
//! sides, jobs, sync errors, actions on them, records and their couplings, a record's
//! status, a mapping's health, the overview's numbers, pruned history, alerts, console
//! accounts, and times. Every type is re-exported here and
//! named `model::X` wherever it is used.

mod accounts;
mod actions;
mod alerts;
mod errors;
mod health;
mod href;
mod jobs;
mod mappings;
mod overview;
mod records;
mod retention;
mod status;
mod time;

pub use crate::value::Value;
pub use accounts::{AuditEntry, AuditFilter, Role, SignedIn, UserSummary};
pub use actions::{Action, ActionAnswer, Outcome, RecordOutcome, Resolution, Selection};
pub use alerts::{
    AlertDelivery, AlertFiring, AlertRuleSummary, AlertsView, DeliveryStatus, FiringState,
};
pub use errors::{
    Candidate, ErrorCursor, ErrorDetail, ErrorFilter, ErrorRef, FieldComparison, SyncErrorKind,
    SyncErrorSummary,
};
pub use health::{
    COUNTED_STATES, HealthCount, MappingHealth, Problem, ProblemCode, RecordsByStatus,
};
pub use href::encode;
pub use jobs::{Counters, JobKind, JobState, JobSummary, Trigger};
pub use mappings::{
    DeletionConflictPolicy, Direction, FieldSummary, MappingSummary, OnMatch, Side, TableSummary,
    UpdateConflictPolicy,
};
pub use overview::{ErrorTrend, MappingCounts};
pub use records::{CouplingSummary, FieldChange, LogEntrySummary, RecordPair};
pub use retention::{History, PruneReport, Pruned};
pub use status::{Fix, FoundRecord, Reason, RecordStatus, StatusCode};
pub use time::{format_time, parse_time};

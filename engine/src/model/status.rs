//! Why a record is or is not synchronizing: its state, the reasons behind it (each a
//! stable code, a sentence, the facts it rests on and the fix where there is one).

use super::mappings::Side;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A record's state, or one reason behind it: a stable code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusCode {
    /// Coupled, and both records are as at the last synchronization.
    InSync,
    /// Changed since the last synchronization; the next run takes it.
    Pending,
    /// Not coupled; the next run creates it on the other side, or couples it by match.
    New,
    /// The last attempt failed; the next run tries again.
    Failing,
    /// Left out of scheduled runs after the same failure twice; Retry puts it back.
    Skipped,
    /// An open update conflict.
    UpdateConflict,
    /// An open error: the local record was deleted.
    DeletedLocal,
    /// An open error: the integration record was deleted.
    DeletedIntegration,
    /// Waiting for a record it depends on to be coupled.
    Deferred,
    /// Its match is ambiguous: it waits for a person to choose.
    AmbiguousMatch,
    /// Outside its side's table filter.
    ExcludedByFilter,
    /// Not coupled, and the mapping synchronizes coupled records only.
    OnlyCoupled,
    /// Its changes do not flow this way.
    Direction,
    /// Only fields that are not mapped this way changed.
    UnmappedChange,
    /// Its coupling was removed; not synchronized again until it changes.
    Uncoupled,
    /// The mapping is paused.
    MappingPaused,
    /// The last job could not reach a system.
    SystemUnreachable,
    /// Nothing has run the mapping's schedule for more than three intervals.
    NoWorker,
    /// A create was started and not confirmed; the next run completes it.
    PendingCreate,
    /// No such record on that side now.
    NotFound,
}

impl StatusCode {
    /// Every code.
    pub const ALL: [StatusCode; 20] = [
        StatusCode::InSync,
        StatusCode::Pending,
        StatusCode::New,
        StatusCode::Failing,
        StatusCode::Skipped,
        StatusCode::UpdateConflict,
        StatusCode::DeletedLocal,
        StatusCode::DeletedIntegration,
        StatusCode::Deferred,
        StatusCode::AmbiguousMatch,
        StatusCode::ExcludedByFilter,
        StatusCode::OnlyCoupled,
        StatusCode::Direction,
        StatusCode::UnmappedChange,
        StatusCode::Uncoupled,
        StatusCode::MappingPaused,
        StatusCode::SystemUnreachable,
        StatusCode::NoWorker,
        StatusCode::PendingCreate,
        StatusCode::NotFound,
    ];

    /// The code as written in the API, the command line and the console.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusCode::InSync => "in_sync",
            StatusCode::Pending => "pending",
            StatusCode::New => "new",
            StatusCode::Failing => "failing",
            StatusCode::Skipped => "skipped",
            StatusCode::UpdateConflict => "update_conflict",
            StatusCode::DeletedLocal => "deleted_local",
            StatusCode::DeletedIntegration => "deleted_integration",
            StatusCode::Deferred => "deferred",
            StatusCode::AmbiguousMatch => "ambiguous_match",
            StatusCode::ExcludedByFilter => "excluded_by_filter",
            StatusCode::OnlyCoupled => "only_coupled",
            StatusCode::Direction => "direction",
            StatusCode::UnmappedChange => "unmapped_change",
            StatusCode::Uncoupled => "uncoupled",
            StatusCode::MappingPaused => "mapping_paused",
            StatusCode::SystemUnreachable => "system_unreachable",
            StatusCode::NoWorker => "no_worker",
            StatusCode::PendingCreate => "pending_create",
            StatusCode::NotFound => "not_found",
        }
    }

    /// The code written as [`as_str`](Self::as_str) writes it.
    pub fn parse(text: &str) -> Option<StatusCode> {
        Self::ALL.into_iter().find(|code| code.as_str() == text)
    }

    /// The state in a few words, for a badge.
    pub fn label(self) -> &'static str {
        match self {
            StatusCode::InSync => "In sync",
            StatusCode::Pending => "Pending",
            StatusCode::New => "New",
            StatusCode::Failing => "Failing",
            StatusCode::Skipped => "Skipped",
            StatusCode::UpdateConflict => "Update conflict",
            StatusCode::DeletedLocal => "Deleted locally",
            StatusCode::DeletedIntegration => "Deleted in the integration system",
            StatusCode::Deferred => "Deferred",
            StatusCode::AmbiguousMatch => "Ambiguous match",
            StatusCode::ExcludedByFilter => "Excluded by filter",
            StatusCode::OnlyCoupled => "Only coupled records synchronize",
            StatusCode::Direction => "Not this direction",
            StatusCode::UnmappedChange => "Unmapped change",
            StatusCode::Uncoupled => "Uncoupled",
            StatusCode::MappingPaused => "Mapping paused",
            StatusCode::SystemUnreachable => "System unreachable",
            StatusCode::NoWorker => "No worker",
            StatusCode::PendingCreate => "Create pending",
            StatusCode::NotFound => "Not found",
        }
    }
}

/// What a person can do about a reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Fix {
    /// Retry the open error (its page offers the other fixes too).
    Retry {
        /// The error's id.
        error_id: i64,
        /// Its version, as an action on it names it.
        version: i64,
    },
    /// Open the error's page, where its fixes are.
    OpenError {
        /// The error's id.
        error_id: i64,
    },
    /// Resume the paused mapping.
    Resume {
        /// The mapping.
        mapping: String,
    },
    /// Look at the record this one waits for.
    OpenRecord {
        /// Its mapping.
        mapping: String,
        /// Its side.
        side: Side,
        /// Its key.
        key: String,
    },
}

/// One reason behind a record's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// The stable code.
    pub code: StatusCode,
    /// The reason in plain words.
    pub message: String,
    /// The facts it rests on: times (milliseconds since 1970), keys, counts, who.
    pub facts: BTreeMap<String, String>,
    /// The fix, where there is one.
    pub fix: Option<Fix>,
}

/// Why a record is or is not synchronizing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordStatus {
    /// The mapping.
    pub mapping: String,
    /// The record's side.
    pub side: Side,
    /// The record's key.
    pub key: String,
    /// Its partner's key, when coupled.
    pub partner: Option<String>,
    /// The state that decides what happens next.
    pub state: StatusCode,
    /// Every reason that holds, the state's first.
    pub reasons: Vec<Reason>,
}

/// A record the finder found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundRecord {
    /// Its mapping.
    pub mapping: String,
    /// Its side.
    pub side: Side,
    /// Its key.
    pub key: String,
    /// A readable description, such as its name, when known.
    pub description: Option<String>,
}

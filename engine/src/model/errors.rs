//! Sync errors: their kinds, the summary and detail the console shows, the filter and
//! cursor that page through them, and the reference an action sends back.

use super::mappings::Side;
use crate::value::Value;
use serde::{Deserialize, Serialize};
use std::fmt;

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
    /// For a record not coupled: the other side's records it matches, for a person to
    /// couple it with one of (several when the match is ambiguous).
    pub candidates: Vec<Candidate>,
    /// Whether the record waits for a person because its match is ambiguous: to couple it
    /// with one of the candidates, or to create it anew (Create New).
    pub held: bool,
    /// When the error was resolved, if it was.
    pub resolved_at: Option<i64>,
    /// Who resolved it.
    pub resolved_by: Option<String>,
}

/// A record of the other side that an uncoupled record matches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// Its key.
    pub key: String,
    /// A readable description, such as its name.
    pub description: Option<String>,
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

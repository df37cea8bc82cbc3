//! Records: their couplings, and the log of what synchronization did to them, field by
//! field.

use super::mappings::{Direction, Side};
use crate::value::Value;
use serde::{Deserialize, Serialize};

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

/// A record and its partner, field by field: both as they are now, with the values of
/// their last synchronization.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordPair {
    /// The local record's key, when known.
    pub local_key: Option<String>,
    /// The integration record's key, when known.
    pub integration_key: Option<String>,
    /// Whether the local record exists now.
    pub local_exists: bool,
    /// Whether the integration record exists now.
    pub integration_exists: bool,
    /// Each mapped field of both.
    pub fields: Vec<super::FieldComparison>,
}

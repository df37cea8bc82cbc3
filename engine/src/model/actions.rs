//! Actions on records and sync errors: what they act on, how a conflict is resolved,
//! and the answer per record.

use super::errors::{ErrorFilter, ErrorRef};
use super::mappings::Side;
use serde::{Deserialize, Serialize};

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

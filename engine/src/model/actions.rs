//! Actions on records and sync errors: what they act on, how a conflict is resolved,
//! and the answer per record.

use super::errors::{ErrorFilter, ErrorRef, SyncErrorKind, SyncErrorSummary};
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

/// An action on sync errors. Parsed once where a request arrives (the errors page's form,
/// the API, the command line); the engine takes it as it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Retry (or Retry All, on every matching error): synchronize the records again now.
    Retry,
    /// Synchronize: resolve update conflicts as chosen.
    Synchronize(Resolution),
    /// Restore Records: recreate deleted records from their partners.
    RestoreRecords,
    /// Delete Records: delete the partners of deleted records, and the couplings.
    DeleteRecords,
    /// Remove Coupling: uncouple the records; both stay.
    RemoveCoupling,
    /// Find for Deleted: scan the selection's mapping (or every mapping) for records
    /// that no longer exist.
    FindForDeleted,
    /// Create New: create a record not coupled anew on the other side, instead of
    /// coupling it by match (the choice an ambiguous match leaves to a person).
    CreateNew,
}

impl Action {
    /// The action's name in answers and the audit log.
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Retry => "retry",
            Action::Synchronize(_) => "resolve",
            Action::RestoreRecords => "restore_records",
            Action::DeleteRecords => "delete_records",
            Action::RemoveCoupling => "remove_coupling",
            Action::FindForDeleted => "find_for_deleted",
            Action::CreateNew => "create_new",
        }
    }

    /// The value of the errors page's button for the action (`merge` with choices per
    /// field for [`Resolution::Fields`]).
    pub fn form_name(&self) -> &'static str {
        match self {
            Action::Retry => "retry",
            Action::Synchronize(Resolution::Local) => "use_local",
            Action::Synchronize(Resolution::Integration) => "use_integration",
            Action::Synchronize(Resolution::Merge | Resolution::Fields(_)) => "merge",
            Action::RestoreRecords => "restore",
            Action::DeleteRecords => "delete_records",
            Action::RemoveCoupling => "remove_coupling",
            Action::FindForDeleted => "find_deleted",
            Action::CreateNew => "create_new",
        }
    }

    /// The action a button of the errors page names, with the per-field choices sent
    /// with `merge`; answers whether it means every matching error (`retry_all`).
    pub fn from_form(
        name: &str,
        choices: std::collections::BTreeMap<String, Side>,
    ) -> Option<(Action, bool)> {
        let action = match name {
            "retry_all" => return Some((Action::Retry, true)),
            "retry" => Action::Retry,
            "use_local" => Action::Synchronize(Resolution::Local),
            "use_integration" => Action::Synchronize(Resolution::Integration),
            "merge" if choices.is_empty() => Action::Synchronize(Resolution::Merge),
            "merge" => Action::Synchronize(Resolution::Fields(choices)),
            "restore" => Action::RestoreRecords,
            "delete_records" => Action::DeleteRecords,
            "remove_coupling" => Action::RemoveCoupling,
            "find_deleted" => Action::FindForDeleted,
            "create_new" => Action::CreateNew,
            _ => return None,
        };
        Some((action, false))
    }

    /// Whether the action applies to error `e`: Retry to a refused record and to a pair
    /// whose records both exist; Synchronize to an update conflict; Restore and Delete
    /// Records to a deleted record whose partner remains; Remove Coupling to coupled
    /// records; Create New to a record not coupled that failed. The engine still answers
    /// per record for what it refuses.
    pub fn applies_to(&self, e: &SyncErrorSummary) -> bool {
        let deleted = matches!(
            e.kind,
            SyncErrorKind::DeletedLocal | SyncErrorKind::DeletedIntegration
        );
        match self {
            Action::Retry => {
                e.kind == SyncErrorKind::Failed
                    || (e.exists(Side::Local) && e.exists(Side::Integration))
            }
            Action::Synchronize(_) => e.kind == SyncErrorKind::UpdateConflict,
            Action::RestoreRecords | Action::DeleteRecords => {
                deleted && e.exists(Side::Local) != e.exists(Side::Integration)
            }
            Action::RemoveCoupling => e.coupling_id.is_some(),
            Action::FindForDeleted => false,
            Action::CreateNew => e.kind == SyncErrorKind::Failed && e.coupling_id.is_none(),
        }
    }

    /// Whether the action needs errors to act on (Retry All and Find for Deleted can
    /// take the filter alone).
    pub fn needs_errors(&self) -> bool {
        !matches!(self, Action::FindForDeleted)
    }
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

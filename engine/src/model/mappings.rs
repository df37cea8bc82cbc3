//! Mappings: the two sides of a mapping, which way data flows between them, the
//! conflict policies, and the mapping and field summaries the console lists.

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

/// Which record's values win when a record is coupled to its match on the other side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnMatch {
    /// The record whose change found the match.
    Source,
    /// The local record.
    Local,
    /// The integration record.
    Integration,
    /// Neither: both records stay as they are until one of them changes.
    None,
}

impl OnMatch {
    /// The side whose values win when a record of `from` found its match, if any.
    pub fn winner(self, from: Side) -> Option<Side> {
        match self {
            OnMatch::Source => Some(from),
            OnMatch::Local => Some(Side::Local),
            OnMatch::Integration => Some(Side::Integration),
            OnMatch::None => None,
        }
    }

    /// The word used in configuration files and the console.
    pub fn as_str(self) -> &'static str {
        match self {
            OnMatch::Source => "source",
            OnMatch::Local => "local",
            OnMatch::Integration => "integration",
            OnMatch::None => "none",
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
    /// Sets of fields used to find an existing record to couple with, in priority order.
    pub match_on: Vec<Vec<String>>,
    /// Which record's values win when a record is coupled to its match.
    pub on_match: OnMatch,
    /// Whether scheduled synchronization is paused.
    pub paused: bool,
    /// Who paused it (`coupler` when a burst of errors did), while paused.
    pub paused_by: Option<String>,
    /// When it was paused (milliseconds since the epoch), while paused.
    pub paused_at: Option<i64>,
    /// Why Coupler paused it, when it did.
    pub pause_reason: Option<String>,
    /// The burst of errors that pauses it (`10 errors within 15m`), if any.
    pub pause_after: Option<String>,
    /// Settings changed at run time, which now differ from the file's
    /// (`update_conflict`, `deletion_conflict`, `interval`).
    pub overridden: Vec<String>,
    /// When the next scheduled synchronization is due (milliseconds since the epoch).
    pub next_run_at: Option<i64>,
    /// The field mappings.
    pub fields: Vec<FieldSummary>,
}

//! What pruning history past its retention found or removed: [`PruneReport`].

use serde::{Deserialize, Serialize};

/// A kind of history the store keeps for a while and then prunes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum History {
    /// Synchronization Log entries (beyond each record's newest few).
    LogEntries,
    /// Finished jobs (beyond each mapping's newest and newest successful one).
    Jobs,
    /// Sync errors resolved.
    ResolvedErrors,
    /// Audit entries.
    AuditEntries,
    /// The answers kept so that a repeated action is not done twice.
    ActionAnswers,
    /// Alert firings, with their deliveries.
    AlertFirings,
}

impl History {
    /// Every kind, in the order they are pruned.
    pub const ALL: [History; 6] = [
        History::LogEntries,
        History::Jobs,
        History::ResolvedErrors,
        History::AuditEntries,
        History::ActionAnswers,
        History::AlertFirings,
    ];

    /// Its name in the configuration and in JSON (`log_entries`).
    pub fn as_str(self) -> &'static str {
        match self {
            History::LogEntries => "log_entries",
            History::Jobs => "jobs",
            History::ResolvedErrors => "resolved_errors",
            History::AuditEntries => "audit_entries",
            History::ActionAnswers => "action_answers",
            History::AlertFirings => "alert_firings",
        }
    }

    /// Its name in a sentence (`log entries`).
    pub fn label(self) -> &'static str {
        match self {
            History::LogEntries => "log entries",
            History::Jobs => "finished jobs",
            History::ResolvedErrors => "resolved errors",
            History::AuditEntries => "audit entries",
            History::ActionAnswers => "action answers",
            History::AlertFirings => "alert firings",
        }
    }
}

/// How many rows of one kind of history were pruned (or, in a dry run, would be).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pruned {
    /// The kind.
    pub history: History,
    /// Older than this went (`90d`).
    pub older_than: String,
    /// Rows pruned, or found to prune in a dry run.
    pub rows: u64,
}

/// One prune of every kind of history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PruneReport {
    /// Whether it only counted.
    pub dry_run: bool,
    /// Each kind, in [`History::ALL`]'s order.
    pub pruned: Vec<Pruned>,
    /// How long it took, seconds.
    pub seconds: f64,
}

impl PruneReport {
    /// Rows pruned (or found) in all.
    pub fn rows(&self) -> u64 {
        self.pruned.iter().map(|p| p.rows).sum()
    }
}

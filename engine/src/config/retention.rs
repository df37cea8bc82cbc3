//! `[retention]`: how long the store keeps what it only keeps for people to read later
//! (log entries, finished jobs, resolved errors, audit entries), with the defaults an
//! integration left alone for months needs.

use super::parse_duration;
use serde::Deserialize;
use std::time::Duration;

const DAY: u64 = 24 * 3600;

/// How long the store keeps each kind of history before pruning it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Synchronization Log entries (default 90 days); a record's newest
    /// [`log_floor`](Retention::log_floor) entries are kept however old.
    pub log_entries: Duration,
    /// Jobs that finished (default 90 days); each mapping's newest job and newest
    /// successful job are kept however old.
    pub jobs: Duration,
    /// Sync errors resolved (default 30 days); open ones are never pruned.
    pub resolved_errors: Duration,
    /// Audit entries, the answers kept for repeated actions and alert firings (default
    /// 400 days).
    pub audit_entries: Duration,
    /// The log entries every record keeps however old (default 10).
    pub log_floor: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            log_entries: Duration::from_secs(90 * DAY),
            jobs: Duration::from_secs(90 * DAY),
            resolved_errors: Duration::from_secs(30 * DAY),
            audit_entries: Duration::from_secs(400 * DAY),
            log_floor: 10,
        }
    }
}

/// `[retention]` as written: durations such as `"90d"`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RetentionShape {
    log_entries: Option<String>,
    jobs: Option<String>,
    resolved_errors: Option<String>,
    audit_entries: Option<String>,
    log_floor: Option<u32>,
}

impl RetentionShape {
    /// The settings, the defaults where none is written.
    pub(super) fn settings(self) -> Result<Retention, String> {
        let default = Retention::default();
        let read = |name: &str, text: Option<String>, default: Duration| match text {
            Some(text) => parse_duration(&text).map_err(|e| format!("retention.{name}: {e}")),
            None => Ok(default),
        };
        Ok(Retention {
            log_entries: read("log_entries", self.log_entries, default.log_entries)?,
            jobs: read("jobs", self.jobs, default.jobs)?,
            resolved_errors: read(
                "resolved_errors",
                self.resolved_errors,
                default.resolved_errors,
            )?,
            audit_entries: read("audit_entries", self.audit_entries, default.audit_entries)?,
            log_floor: match self.log_floor {
                Some(0) => return Err("retention.log_floor: must be at least 1".into()),
                Some(floor) => floor,
                None => default.log_floor,
            },
        })
    }
}

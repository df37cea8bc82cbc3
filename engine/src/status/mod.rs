//! "Why is this record not synchronizing?": any record's status, on either side, coupled
//! or not, errors or none, with every reason that holds. What the next run would do with
//! the record (and with its partner) comes from the run's own decision, made as a run
//! makes it and writing nothing ([`crate::sync::Next`]); the rest from the store and the
//! systems: the mapping paused, the table's filter, the open errors, the coupling, the
//! last job and the schedule. The record finder ([`find`]) leads to it.

mod counts;
mod find;
pub(crate) mod health;

pub use counts::CHANGES_COUNTED;
pub use health::ERRORS_GROWING_FROM;

use crate::connector::{Connector, Record};
use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{
    Fix, JobState, JobSummary, Reason, RecordStatus, Side, StatusCode, SyncErrorKind,
    SyncErrorSummary, format_time,
};
use crate::pair::read_one;
use crate::store::coupling::{self, Coupling};
use crate::store::{MappingState, job, log, now_millis, progress, sync_error};
use crate::sync::plan::Compiled;
use crate::sync::{Next, Run};
use std::collections::BTreeMap;

/// What the status of one record is worked out from.
struct Facts<'a> {
    compiled: &'a Compiled,
    side: Side,
    key: &'a str,
    record: Option<Record>,
    coupling: Option<Coupling>,
    /// The record's open errors, newest first.
    open: Vec<SyncErrorSummary>,
    /// The modified-on value it had when someone left it uncoupled.
    left_uncoupled: Option<i64>,
    state: MappingState,
    last_job: Option<JobSummary>,
}

impl Engine {
    /// The status of the record `key` on `side` of `mapping`: the state that decides what
    /// happens next, and every reason that holds. A key that exists on neither side is a
    /// status (`not_found`), not an error.
    pub async fn record_status(
        &self,
        mapping: &str,
        side: Side,
        key: &str,
    ) -> Result<RecordStatus, EngineError> {
        if key.is_empty() || key.chars().any(char::is_control) {
            return Err(EngineError::Invalid(
                "key: a record's key is text without control characters".into(),
            ));
        }
        let (compiled, local, integration) = self.prepared(mapping).await?;
        let connectors: [&dyn Connector; 2] = [local.as_ref(), integration.as_ref()];
        let connector = |side: Side| match side {
            Side::Local => connectors[0],
            Side::Integration => connectors[1],
        };
        let record = match read_one(&compiled, connector(side), side, key).await {
            Ok(record) => record,
            Err(EngineError::System { source, .. }) => {
                return Ok(unreachable(mapping, side, key, &source));
            }
            Err(other) => return Err(other),
        };
        let keys = [key.to_string()];
        let mut conn = self.inner.store.conn().await?;
        let coupling = coupling::by_keys(&mut conn, mapping, side, &keys)
            .await?
            .pop();
        let ids: Vec<i64> = sync_error::open_for(&mut conn, mapping, side, &keys)
            .await?
            .into_iter()
            .map(|e| e.id)
            .collect();
        let mut open: Vec<SyncErrorSummary> = sync_error::by_ids(&mut conn, &ids)
            .await?
            .into_iter()
            .map(|row| row.summary)
            .collect();
        open.sort_by_key(|e| std::cmp::Reverse(e.id));
        let left_uncoupled = progress::uncoupled_among(&mut conn, mapping, side, &keys)
            .await?
            .remove(key);
        let last_job = job::latest(&mut conn, mapping).await?;
        drop(conn);
        let facts = Facts {
            compiled: &compiled,
            side,
            key,
            record,
            coupling,
            open,
            left_uncoupled,
            state: self.inner.store.mapping_state(mapping).await?,
            last_job,
        };
        let run = Run::reading(&self.inner.store, &compiled, connectors[0], connectors[1]);
        let decisive = match self.decisive(&facts, &run, connector(side)).await {
            Ok(decisive) => decisive,
            Err(crate::sync::RunError::System(source)) => {
                return Ok(unreachable(mapping, side, key, &source));
            }
            Err(other) => return Err(other.in_mapping(mapping)),
        };
        let mut reasons = vec![decisive];
        reasons.extend(context(&facts));
        // A paused mapping decides for every record a run would take up.
        if facts.state.paused && waits_for_a_run(reasons[0].code) {
            let paused = reasons.pop().expect("the context holds the pause last");
            reasons.insert(0, paused);
        }
        if let Some(partner) = facts.coupling.as_ref().map(|c| c.key(side.other())) {
            reasons[0]
                .facts
                .insert("partner".into(), partner.to_string());
        }
        Ok(RecordStatus {
            mapping: mapping.to_string(),
            side,
            key: key.to_string(),
            partner: facts
                .coupling
                .as_ref()
                .map(|c| c.key(side.other()).to_string()),
            state: reasons[0].code,
            reasons,
        })
    }

    /// The reason that decides the record's state, before the mapping's own (paused,
    /// unreachable, no worker).
    async fn decisive(
        &self,
        f: &Facts<'_>,
        run: &Run<'_>,
        connector: &dyn Connector,
    ) -> Result<Reason, crate::sync::RunError> {
        let (side, other) = (f.side, f.side.other());
        let mapping = &f.compiled.mapping;
        let error_reason = |e: &SyncErrorSummary, code: StatusCode| {
            reason(code, e.message.clone())
                .fact("error_id", e.id)
                .fact("failed_at", e.failed_at)
                .fix(Fix::OpenError { error_id: e.id })
        };
        if let Some(e) = f.open.iter().find(|e| e.kind != SyncErrorKind::Failed) {
            return Ok(error_reason(e, error_code(e.kind)));
        }
        let Some(record) = f.record.clone() else {
            let message = match &f.coupling {
                Some(c) => format!(
                    "no {side} record has key {} now; its coupling with {} remembers it, and \
                     the next run reports it deleted",
                    f.key,
                    c.key(other)
                ),
                None => format!(
                    "no {side} record has key {} now, and no coupling remembers one",
                    f.key
                ),
            };
            return Ok(reason(StatusCode::NotFound, message));
        };
        let table = match side {
            Side::Local => &mapping.local,
            Side::Integration => &mapping.integration,
        };
        if connector
            .outside_filter(f.compiled.spec(side), f.key)
            .await?
        {
            let filter = table.filter.clone().unwrap_or_default();
            return Ok(reason(
                StatusCode::ExcludedByFilter,
                format!(
                    "outside the {side} table's filter ({filter}): the run does not read it, \
                     and it stays as it is{}",
                    if f.coupling.is_some() {
                        ", coupled, with its partner"
                    } else {
                        ""
                    }
                ),
            )
            .fact("filter", filter));
        }
        if let Some(c) = &f.coupling
            && let Some(created) = c.pending
        {
            let key = c.key(created);
            return Ok(reason(
                StatusCode::PendingCreate,
                format!(
                    "the {created} record {key} was being created and its create was not \
                     confirmed; the next run completes it"
                ),
            )
            .fact("created_key", key));
        }
        let flows = match side {
            Side::Local => mapping.direction.to_integration(),
            Side::Integration => mapping.direction.from_integration(),
        };
        let changed = f
            .coupling
            .as_ref()
            .is_none_or(|c| c.modified(side) != Some(record.modified));
        if !flows && changed {
            return Ok(reason(
                StatusCode::Direction,
                format!(
                    "the mapping is {}: changes of {side} records do not flow to the {other} \
                     side",
                    mapping.direction
                ),
            )
            .fact("direction", mapping.direction));
        }
        let next = match flows {
            true => run.preview(side, record).await?,
            false => Next::Nothing,
        };
        // A side of whole-second versions is merged against its base even at the version
        // its coupling knows: at that version with nothing to write, it is at rest.
        let next = match next {
            Next::NothingToWrite if !changed => Next::Nothing,
            next => next,
        };
        let failed = f.open.first();
        Ok(match next {
            Next::Nothing => match &f.coupling {
                Some(c) => self.at_rest(f, run, c).await?,
                None if f.left_uncoupled.is_some() => self.left_uncoupled(f).await,
                None => reason(
                    StatusCode::New,
                    format!("not coupled; the next run takes it up on the {other} side"),
                ),
            },
            Next::LeftAlone => match failed {
                Some(e) if e.skipped => error_reason(e, StatusCode::Skipped)
                    .message(format!(
                        "left out of scheduled runs after failing the same way {} times: {}; \
                         Retry puts it back",
                        e.attempts, e.message
                    ))
                    .fix(Fix::Retry {
                        error_id: e.id,
                        version: e.version,
                    }),
                _ if f.coupling.as_ref().is_some_and(|c| c.skipped) => reason(
                    StatusCode::Skipped,
                    "left out of scheduled runs after failing the same way twice; Retry \
                     puts it back"
                        .to_string(),
                ),
                _ => reason(
                    StatusCode::OnlyCoupled,
                    "not coupled, and the mapping synchronizes coupled records only: couple \
                     it by hand (Set Up Coupling) to synchronize it"
                        .to_string(),
                ),
            },
            Next::NothingToWrite => reason(
                StatusCode::UnmappedChange,
                "changed since the last synchronization, but only in fields that are not \
                 mapped this way: nothing to write"
                    .to_string(),
            ),
            Next::Write { fields } => reason(
                StatusCode::Pending,
                format!(
                    "changed since the last synchronization; the next run writes {} to the \
                     {other} record",
                    fields_or_merged(&fields)
                ),
            )
            .fact("fields", fields.join(", ")),
            Next::Couple { other: key } => reason(
                StatusCode::New,
                format!(
                    "not coupled; the next run couples it with the {other} record {key}, which \
                     it matches"
                ),
            )
            .fact("match", key),
            Next::Create => reason(
                StatusCode::New,
                format!("not coupled; the next run creates it on the {other} side"),
            ),
            Next::Conflict { fields } => reason(
                StatusCode::UpdateConflict,
                format!(
                    "both records changed {} differently since the last synchronization; the \
                     next run reports an update conflict for someone to choose",
                    fields.join(", ")
                ),
            )
            .fact("fields", fields.join(", ")),
            Next::PartnerDeleted => {
                partner_gone(other, f.coupling.as_ref().map_or("?", |c| c.key(other)))
            }
            Next::Fail { message } => match failed {
                Some(e) => error_reason(e, StatusCode::Failing)
                    .message(format!(
                        "the last attempt failed ({} time{}): {}; the next run tries again",
                        e.attempts,
                        if e.attempts == 1 { "" } else { "s" },
                        e.message
                    ))
                    .fact("attempts", e.attempts)
                    .fix(Fix::Retry {
                        error_id: e.id,
                        version: e.version,
                    }),
                None => reason(
                    StatusCode::Failing,
                    format!("the next run fails it: {message}"),
                ),
            },
            Next::Defer { reason: why } => {
                let mut deferred = reason(StatusCode::Deferred, why);
                if let Some((parent, key)) = self.parent_not_coupled(f).await? {
                    deferred = deferred
                        .fact("parent_mapping", &parent)
                        .fact("parent_key", &key)
                        .fix(Fix::OpenRecord {
                            mapping: parent,
                            side,
                            key,
                        });
                }
                deferred
            }
            Next::Hold { message } => {
                let held = reason(StatusCode::AmbiguousMatch, message);
                match failed {
                    Some(e) => held
                        .fact("error_id", e.id)
                        .fix(Fix::OpenError { error_id: e.id }),
                    None => held,
                }
            }
        })
    }

    /// The reason of a coupled record the next run leaves alone: in sync, or waiting for
    /// its partner's change to come across.
    async fn at_rest(
        &self,
        f: &Facts<'_>,
        run: &Run<'_>,
        c: &Coupling,
    ) -> Result<Reason, crate::sync::RunError> {
        let other = f.side.other();
        let connector = run.connector(other);
        let partner = c.key(other);
        let found = connector
            .read(f.compiled.spec(other), &[partner.to_string()])
            .await?
            .pop();
        let flows = match other {
            Side::Local => f.compiled.mapping.direction.to_integration(),
            Side::Integration => f.compiled.mapping.direction.from_integration(),
        };
        let next = match found {
            None => Next::PartnerDeleted,
            Some(record) if flows => run.preview(other, record).await?,
            Some(_) => Next::Nothing,
        };
        Ok(match next {
            Next::PartnerDeleted => partner_gone(other, partner),
            Next::Write { fields } => reason(
                StatusCode::Pending,
                format!(
                    "its partner, the {other} record {partner}, changed; the next run writes {} to this record",
                    fields_or_merged(&fields)
                ),
            ),
            Next::Conflict { fields } => reason(
                StatusCode::UpdateConflict,
                format!(
                    "both records changed {} differently since the last synchronization; the \
                     next run reports an update conflict for someone to choose",
                    fields.join(", ")
                ),
            ),
            Next::Fail { message } => reason(
                StatusCode::Failing,
                format!("its partner's change fails on the next run: {message}"),
            ),
            _ => reason(
                StatusCode::InSync,
                format!(
                    "coupled with the {other} record {partner}; both are as at the last synchronization"
                ),
            ),
        })
    }

    /// The reason of a record someone uncoupled, which stays so until it changes.
    async fn left_uncoupled(&self, f: &Facts<'_>) -> Reason {
        let mut uncoupled = reason(
            StatusCode::Uncoupled,
            "its coupling was removed; it is not synchronized again until it changes".into(),
        );
        let mapping = &f.compiled.mapping.name;
        let log = match self.inner.store.conn().await {
            Ok(mut conn) => log::for_record(&mut conn, mapping, f.side, f.key, 50)
                .await
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        if let Some(entry) = log.iter().find(|e| e.action == "uncoupled") {
            uncoupled = uncoupled
                .message(format!(
                    "its coupling was removed by {} at {}; it is not synchronized again until \
                     it changes",
                    entry.actor,
                    format_time(entry.at)
                ))
                .fact("by", &entry.actor)
                .fact("at", entry.at);
        }
        uncoupled
    }

    /// The parent mapping and key of the first lookup field of the record whose value is
    /// not coupled in its mapping yet.
    async fn parent_not_coupled(
        &self,
        f: &Facts<'_>,
    ) -> Result<Option<(String, String)>, crate::sync::RunError> {
        let Some(record) = &f.record else {
            return Ok(None);
        };
        let mut conn = self.inner.store.conn().await?;
        for field in &f.compiled.fields {
            let (Some(parent), Some(position)) = (&field.field.lookup, field.position(f.side))
            else {
                continue;
            };
            let value = &record.values[position];
            if value.is_empty() {
                continue;
            }
            let key = value.as_text();
            let coupled =
                coupling::translate(&mut conn, parent, f.side, std::slice::from_ref(&key)).await?;
            if coupled.is_empty() {
                return Ok(Some((parent.clone(), key)));
            }
        }
        Ok(None)
    }
}

/// The mapping's own reasons, which hold for each of its records: paused (last, so that
/// it can be moved first), a job that could not reach a system, a schedule nobody runs.
fn context(f: &Facts<'_>) -> Vec<Reason> {
    let mapping = &f.compiled.mapping;
    let mut reasons = Vec::new();
    if let Some(job) = f.last_job.as_ref().filter(|j| j.state == JobState::Failed) {
        let at = job.finished_at.unwrap_or(job.created_at);
        let message = job.message.clone().unwrap_or_default();
        reasons.push(
            reason(
                StatusCode::SystemUnreachable,
                format!(
                    "the mapping's last job ({}, at {}) stopped: {message}",
                    job.id,
                    format_time(at)
                ),
            )
            .fact("job_id", job.id)
            .fact("at", at),
        );
    }
    if let Some(due) = overdue_since(&f.state, mapping.interval, now_millis()) {
        reasons.push(
            reason(
                StatusCode::NoWorker,
                format!(
                    "nothing has run the mapping's schedule since {} (more than three \
                     intervals): start `coupler serve`, or run `coupler sync`",
                    format_time(due)
                ),
            )
            .fact("due_at", due),
        );
    }
    if f.state.paused {
        let mut paused = reason(
            StatusCode::MappingPaused,
            format!(
                "the mapping is paused{}{}: scheduled runs leave its records alone until \
                 someone resumes it (changes are found then; nothing is lost)",
                f.state
                    .paused_by
                    .as_deref()
                    .map_or_else(String::new, |by| format!(" by {by}")),
                f.state
                    .paused_at
                    .map_or_else(String::new, |at| format!(" since {}", format_time(at))),
            ),
        )
        .fix(Fix::Resume {
            mapping: mapping.name.clone(),
        });
        for (name, value) in [
            ("paused_by", f.state.paused_by.clone()),
            ("paused_at", f.state.paused_at.map(|at| at.to_string())),
            ("pause_reason", f.state.pause_reason.clone()),
        ] {
            if let Some(value) = value {
                paused = paused.fact(name, value);
            }
        }
        reasons.push(paused);
    }
    reasons
}

/// When the mapping's scheduled run was due, if nothing has run it for more than three
/// intervals since and it is not paused.
fn overdue_since(state: &MappingState, interval: std::time::Duration, now: i64) -> Option<i64> {
    let due = state.next_run_at?;
    (!state.paused && now - due > 3 * interval.as_millis() as i64).then_some(due)
}

/// The status of a record whose system does not answer now.
fn unreachable(
    mapping: &str,
    side: Side,
    key: &str,
    source: &crate::connector::ConnectorError,
) -> RecordStatus {
    RecordStatus {
        mapping: mapping.to_string(),
        side,
        key: key.to_string(),
        partner: None,
        state: StatusCode::SystemUnreachable,
        reasons: vec![reason(
            StatusCode::SystemUnreachable,
            format!("{source}: nothing synchronizes until it answers again"),
        )],
    }
}

/// Whether a record in `state` waits for the next run to go on.
fn waits_for_a_run(state: StatusCode) -> bool {
    matches!(
        state,
        StatusCode::Pending
            | StatusCode::New
            | StatusCode::Failing
            | StatusCode::Deferred
            | StatusCode::PendingCreate
            | StatusCode::AmbiguousMatch
    )
}

/// The reason of a record whose partner on `other`, `partner`, is gone.
fn partner_gone(other: Side, partner: &str) -> Reason {
    reason(
        match other {
            Side::Local => StatusCode::DeletedLocal,
            Side::Integration => StatusCode::DeletedIntegration,
        },
        format!(
            "its partner, the {other} record {partner}, is gone; the next run reports it deleted"
        ),
    )
}

fn error_code(kind: SyncErrorKind) -> StatusCode {
    match kind {
        SyncErrorKind::UpdateConflict => StatusCode::UpdateConflict,
        SyncErrorKind::DeletedLocal => StatusCode::DeletedLocal,
        SyncErrorKind::DeletedIntegration => StatusCode::DeletedIntegration,
        SyncErrorKind::Failed => StatusCode::Failing,
    }
}

fn fields_or_merged(fields: &[String]) -> String {
    if fields.is_empty() {
        "merged values".to_string()
    } else {
        fields.join(", ")
    }
}

/// A reason with no facts and no fix yet.
fn reason(code: StatusCode, message: String) -> Reason {
    Reason {
        code,
        message,
        facts: BTreeMap::new(),
        fix: None,
    }
}

/// Building a reason up.
trait ReasonExt {
    fn fact(self, name: &str, value: impl ToString) -> Self;
    fn fix(self, fix: Fix) -> Self;
    fn message(self, message: String) -> Self;
}

impl ReasonExt for Reason {
    fn fact(mut self, name: &str, value: impl ToString) -> Self {
        self.facts.insert(name.to_string(), value.to_string());
        self
    }
    fn fix(mut self, fix: Fix) -> Self {
        self.fix = Some(fix);
        self
    }
    fn message(mut self, message: String) -> Self {
        self.message = message;
        self
    }
}

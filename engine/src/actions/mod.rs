//! Remediation actions: what an administrator does to fix failed synchronizations —
//! Retry, Synchronize, Restore Records, Delete Records, Remove Coupling, Find for Deleted,
//! Set Up Coupling, Create New. Every action carries an action id (the same id twice does the work
//! once), checks the version of each error it acts on (a stale one is answered with who
//! handled it and when, and left alone), logs every record it touches, and writes one
//! audit entry.
//!
//! One file per action: [`retry`], [`synchronize`] (resolving conflicts),
//! [`deleted_records`] (Restore Records and Delete Records), [`remove_coupling`],
//! [`set_up_coupling`], [`create_new`] and [`find_deleted`]; this module holds the step they share: take
//! each error at the version its actor saw, act, and answer per record.

mod create_new;
mod deleted_records;
pub(crate) mod find_deleted;
pub(crate) mod remove_coupling;
mod retry;
mod set_up_coupling;
mod synchronize;

use crate::connector::{Connector, Record, WriteOp, WriteOutcome};
use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{
    Action, ActionAnswer, ErrorRef, FieldChange, Outcome, RecordOutcome, Resolution, Selection,
    Side, SyncErrorKind, SyncErrorSummary, format_time,
};
use crate::store::action::{self, Begun};
use crate::store::coupling;
use crate::store::log::NewLogEntry;
use crate::store::sync_error::{self, ErrorRow};
use crate::sync::plan::{Compiled, Lookups};
use std::collections::HashMap;

/// Selections up to this many records are synchronized at once and answered per record;
/// larger ones are queued as a job.
pub const INLINE_LIMIT: usize = 2000;

/// Errors an action took at the version its actor saw (see `sync_error::claim`).
type Claims = std::sync::Mutex<Vec<ErrorRow>>;

/// What an action on errors does to each record.
#[derive(Clone, Copy)]
enum PerRecord<'a> {
    Resolve(&'a Resolution),
    Restore,
    Delete,
    Uncouple,
}

/// The longest action id accepted.
const MAX_ACTION_ID: usize = 100;

/// The longest view token an action id is built on (a view's own is about 25).
const MAX_VIEW: usize = 40;

/// The id of an action sent from `view` by `actor`: the view and a digest of what makes
/// it this action (`what`: the action, its errors at the versions seen, its choices).
/// It stays the same length however many errors the action names, and differs for
/// another actor sending the same from the same view.
pub fn action_id(view: &str, actor: &str, what: &str) -> Result<String, EngineError> {
    use sha2::{Digest, Sha256};
    if view.trim().is_empty() || view.len() > MAX_VIEW {
        return Err(EngineError::Invalid(format!(
            "an action needs the view it was sent from, of 1 to {MAX_VIEW} characters"
        )));
    }
    let mut digest = Sha256::new();
    for part in [actor, what] {
        // Lengths first, so that no two (actor, what) pairs digest the same text.
        digest.update((part.len() as u64).to_le_bytes());
        digest.update(part.as_bytes());
    }
    let hex: String = digest.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(format!("{view}:{hex}"))
}

fn outcome(e: &SyncErrorSummary, outcome: Outcome, message: impl Into<String>) -> RecordOutcome {
    RecordOutcome {
        error_id: Some(e.id),
        mapping: e.mapping.clone(),
        local_key: e.local_key.clone(),
        integration_key: e.integration_key.clone(),
        outcome,
        message: message.into(),
    }
}

fn deleted_side(kind: SyncErrorKind) -> Option<Side> {
    match kind {
        SyncErrorKind::DeletedLocal => Some(Side::Local),
        SyncErrorKind::DeletedIntegration => Some(Side::Integration),
        _ => None,
    }
}

fn entry(
    actor: &str,
    c: (&str, &str),
    action: &'static str,
    changes: Vec<FieldChange>,
    message: Option<String>,
) -> NewLogEntry {
    NewLogEntry {
        job_id: None,
        local_key: Some(c.0.to_string()),
        integration_key: Some(c.1.to_string()),
        direction: None,
        action,
        result: "ok",
        changes,
        message,
        actor: actor.to_string(),
    }
}

fn changes(
    compiled: &Compiled,
    side: Side,
    before: &Record,
    writes: &[(usize, crate::value::Value)],
) -> Vec<FieldChange> {
    let spec = compiled.spec(side);
    writes
        .iter()
        .map(|(p, v)| FieldChange {
            field: spec.columns[*p].clone(),
            old: before.values[*p].clone(),
            new: v.clone(),
        })
        .collect()
}

/// The records an action answered for, as the audit log names them: `MAPPING key`, the
/// first 50 and how many more.
fn records(outcomes: &[RecordOutcome]) -> Option<String> {
    const NAMED: usize = 50;
    if outcomes.is_empty() {
        return None;
    }
    let mut text = outcomes
        .iter()
        .take(NAMED)
        .map(|o| {
            let key = o.local_key.as_deref().or(o.integration_key.as_deref());
            format!("{} {}", o.mapping, key.unwrap_or("?"))
        })
        .collect::<Vec<_>>()
        .join(", ");
    if outcomes.len() > NAMED {
        text.push_str(&format!(" and {} more", outcomes.len() - NAMED));
    }
    Some(text)
}

impl Engine {
    /// Acts on sync errors: the one entry for every action of the errors page, the API
    /// and the command line. `selection` is as the person made it: errors as seen, or
    /// every error matching a filter (taken as they are when the action runs).
    pub async fn act_on_errors(
        &self,
        actor: &str,
        action_id: &str,
        action: &Action,
        selection: &Selection,
    ) -> Result<ActionAnswer, EngineError> {
        let errors = async || match selection {
            Selection::Errors(refs) => Ok(refs.clone()),
            Selection::Matching(filter) => self.matching_error_refs(filter).await,
        };
        match action {
            Action::Retry => self.retry(actor, action_id, selection).await,
            Action::FindForDeleted => self.find_deleted_in(actor, action_id, selection).await,
            Action::CreateNew => self.create_new(actor, action_id, selection).await,
            Action::Synchronize(resolution) => {
                self.resolve(actor, action_id, &errors().await?, resolution)
                    .await
            }
            Action::RestoreRecords => {
                self.restore_records(actor, action_id, &errors().await?)
                    .await
            }
            Action::DeleteRecords => {
                self.delete_records(actor, action_id, &errors().await?)
                    .await
            }
            Action::RemoveCoupling => {
                self.remove_coupling(actor, action_id, &errors().await?)
                    .await
            }
        }
    }

    /// Runs `body` as action `action` with id `action_id`: once per id. Its audit entry is
    /// written as started, before anything changes, and completed with the answer.
    #[tracing::instrument(skip_all, fields(actor = %actor, action = %action, action_id = %action_id))]
    async fn act(
        &self,
        actor: &str,
        action_id: &str,
        action: &str,
        selection: String,
        body: impl AsyncFnOnce(&Claims) -> Result<(Vec<RecordOutcome>, Option<i64>), EngineError>,
    ) -> Result<ActionAnswer, EngineError> {
        if action_id.trim().is_empty() || action_id.len() > MAX_ACTION_ID {
            return Err(EngineError::Invalid(format!(
                "an action needs an id of 1 to {MAX_ACTION_ID} characters"
            )));
        }
        let store = &self.inner.store;
        let mut conn = store.conn().await?;
        match action::begin(&mut conn, action_id, actor, action, &selection).await? {
            Begun::New => {}
            Begun::Done(answer) => return Ok(*answer),
            Begun::Running => {
                return Err(EngineError::Invalid(format!(
                    "action {action_id} is in progress already"
                )));
            }
            Begun::Foreign => {
                return Err(EngineError::Invalid(format!(
                    "action id {action_id} was sent by another account; send your own"
                )));
            }
        }
        drop(conn);
        let claims = Claims::default();
        let result = body(&claims).await;
        let mut conn = store.conn().await?;
        // Errors taken for this action but not acted on go back as they were.
        let taken = std::mem::take(&mut *claims.lock().unwrap_or_else(|e| e.into_inner()));
        for before in taken {
            let done = result.as_ref().is_ok_and(|(outcomes, _)| {
                outcomes
                    .iter()
                    .any(|o| o.error_id == Some(before.summary.id) && o.outcome == Outcome::Done)
            });
            if !done {
                sync_error::release(&mut conn, &before).await?;
            }
        }
        let (outcomes, job_id) = match result {
            Ok(done) => done,
            Err(error) => {
                action::abandon(&mut conn, action_id, &error.to_string()).await?;
                return Err(error);
            }
        };
        let count = |o: Outcome| outcomes.iter().filter(|r| r.outcome == o).count();
        let mut summary = format!(
            "{action}: {} done, {} already handled by someone else, {} refused, {} failed",
            count(Outcome::Done),
            count(Outcome::Stale),
            count(Outcome::Refused),
            count(Outcome::Failed)
        );
        if let Some(job) = job_id {
            summary.push_str(&format!("; job {job} does the work"));
        }
        let answer = ActionAnswer {
            action_id: action_id.to_string(),
            action: action.to_string(),
            outcomes,
            job_id,
            summary,
        };
        action::finish(&mut conn, &answer, records(&answer.outcomes).as_deref()).await?;
        tracing::info!(outcome = %answer.summary, "action done");
        Ok(answer)
    }

    /// The errors a selection means, checked against the versions seen: answers those to
    /// act on, and an outcome for each that cannot be acted on.
    async fn select(
        &self,
        actor: &str,
        selection: &Selection,
        claims: &Claims,
    ) -> Result<(Vec<ErrorRow>, Vec<RecordOutcome>), EngineError> {
        let mut conn = self.inner.store.conn().await?;
        match selection {
            Selection::Matching(filter) => {
                Ok((sync_error::matching(&mut conn, filter).await?, Vec::new()))
            }
            Selection::Errors(refs) => {
                let ids: Vec<i64> = refs.iter().map(|r| r.id).collect();
                let rows: HashMap<i64, ErrorRow> = sync_error::by_ids(&mut conn, &ids)
                    .await?
                    .into_iter()
                    .map(|r| (r.summary.id, r))
                    .collect();
                let mut act = Vec::new();
                let mut answered = Vec::new();
                for seen in refs {
                    // Taking the error at the version seen is what makes one of two
                    // concurrent actions win; the other finds the version moved on.
                    let fresh = rows.get(&seen.id).is_some_and(|r| {
                        r.resolved_at.is_none() && r.summary.version == seen.version
                    });
                    let taken =
                        fresh && sync_error::claim(&mut conn, seen.id, seen.version, actor).await?;
                    if taken && let Some(before) = rows.get(&seen.id) {
                        claims
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(before.clone());
                    }
                    let current = if taken || !fresh {
                        rows.get(&seen.id).cloned()
                    } else {
                        sync_error::by_ids(&mut conn, &[seen.id]).await?.pop()
                    };
                    match current.as_ref() {
                        None => answered.push(RecordOutcome {
                            error_id: Some(seen.id),
                            mapping: String::new(),
                            local_key: None,
                            integration_key: None,
                            outcome: Outcome::Refused,
                            message: format!("no sync error has id {}", seen.id),
                        }),
                        Some(row) if !taken => {
                            let (by, at) = match (row.resolved_at, &row.resolved_by) {
                                (Some(at), Some(by)) => (by.clone(), at),
                                _ => (
                                    row.changed_by
                                        .clone()
                                        .unwrap_or_else(|| "the engine".into()),
                                    row.changed_at.unwrap_or(row.summary.failed_at),
                                ),
                            };
                            answered.push(outcome(
                                &row.summary,
                                Outcome::Stale,
                                format!("already handled by {by} at {}", format_time(at)),
                            ));
                        }
                        Some(row) => act.push(row.clone()),
                    }
                }
                Ok((act, answered))
            }
        }
    }

    /// Runs action `action` on each of `errors` that is still as its actor saw it, with
    /// `each` answering for one record.
    async fn act_on_each(
        &self,
        actor: &str,
        action_id: &str,
        action: &str,
        text: String,
        errors: &[ErrorRef],
        each: PerRecord<'_>,
    ) -> Result<ActionAnswer, EngineError> {
        self.act(actor, action_id, action, text, async |claims: &Claims| {
            let selection = Selection::Errors(errors.to_vec());
            let (rows, mut outcomes) = self.select(actor, &selection, claims).await?;
            for row in rows {
                let e = &row.summary;
                outcomes.push(match each {
                    PerRecord::Resolve(resolution) => {
                        self.resolve_one(actor, e, resolution).await?
                    }
                    PerRecord::Restore => self.deleted_record(actor, e, true).await?,
                    PerRecord::Delete => self.deleted_record(actor, e, false).await?,
                    PerRecord::Uncouple => self.uncouple_error(actor, e).await?,
                });
            }
            Ok((outcomes, None))
        })
        .await
    }

    /// Lookup translations for `records`' lookup fields, both ways.
    async fn lookups(
        &self,
        compiled: &Compiled,
        records: [(Side, &Record); 2],
    ) -> Result<Lookups, EngineError> {
        let mut lookups = Lookups::new();
        let mut conn = self.inner.store.conn().await?;
        for (i, f) in compiled.fields.iter().enumerate() {
            let Some(parent) = &f.field.lookup else {
                continue;
            };
            for (side, record) in records {
                let Some(position) = f.position(side) else {
                    continue;
                };
                let value = record.values[position].as_text();
                if value.is_empty() {
                    continue;
                }
                let found = coupling::translate(&mut conn, parent, side, &[value]).await?;
                lookups.entry(i).or_default().extend(found);
            }
        }
        Ok(lookups)
    }

    async fn write(
        &self,
        mapping: &str,
        connector: &dyn Connector,
        compiled: &Compiled,
        side: Side,
        op: WriteOp,
    ) -> Result<WriteOutcome, EngineError> {
        let mut outcomes = connector
            .write(compiled.spec(side), &[op])
            .await
            .map_err(|source| EngineError::System {
                mapping: mapping.to_string(),
                source,
            })?;
        Ok(outcomes.pop().unwrap_or(WriteOutcome::Changed))
    }
}

//! Remediation actions: what an administrator does to fix failed synchronizations —
//! Retry, Synchronize, Restore Records, Delete Records, Remove Coupling, Find for Deleted,
//! Set Up Coupling. Every action carries an action id (the same id twice does the work
//! once), checks the version of each error it acts on (a stale one is answered with who
//! handled it and when, and left alone), logs every record it touches, and writes one
//! audit entry.

use crate::connector::{Connector, Record, WriteOp, WriteOutcome};
use crate::engine::{Engine, EngineError, Targets};
use crate::model::{
    ActionAnswer, ErrorRef, JobKind, JobSummary, Outcome, RecordOutcome, Resolution, Selection,
    Side, SyncErrorKind, SyncErrorSummary, format_time,
};
use crate::model::{Counters, FieldChange};
use crate::store::action::{self, Begun};
use crate::store::coupling::{self, Coupling, NewCoupling};
use crate::store::log::{self, NewLogEntry};
use crate::store::sync_error::{self, ErrorRow};
use crate::store::{StoreError, progress};
use crate::sync::plan::{self, Compiled, Lookups};
use crate::sync::{Run, RunError, synced_pair};
use std::collections::{BTreeMap, HashMap};

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
    /// Runs `body` as action `action` with id `action_id`: once per id. Its audit entry is
    /// written as started, before anything changes, and completed with the answer.
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
        tracing::info!(actor, action, outcome = %answer.summary, "action");
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

    /// Retry / Retry All: lets scheduled synchronization take the records up again and
    /// synchronizes them now; small selections are answered per record.
    pub async fn retry(
        &self,
        actor: &str,
        action_id: &str,
        selection: &Selection,
    ) -> Result<ActionAnswer, EngineError> {
        let text = serde_json::to_string(selection).unwrap_or_default();
        self.act(actor, action_id, "retry", text, async |claims: &Claims| {
            let (rows, mut outcomes) = self.select(actor, selection, claims).await?;
            let mut retry: Vec<SyncErrorSummary> = Vec::new();
            for row in rows {
                let e = row.summary;
                if let Some(side) = deleted_side(e.kind) {
                    outcomes.push(outcome(
                        &e,
                        Outcome::Refused,
                        format!("the {side} record was deleted: restore it, or delete the other"),
                    ));
                } else {
                    retry.push(e);
                }
            }
            let ids: Vec<i64> = retry.iter().map(|e| e.id).collect();
            let mut tx = self.inner.store.begin().await?;
            sync_error::unskip(&mut tx, &ids, actor).await?;
            tx.commit().await.map_err(StoreError::from)?;

            let mut by_mapping: BTreeMap<String, Targets> = BTreeMap::new();
            for e in &retry {
                let targets = by_mapping.entry(e.mapping.clone()).or_default();
                match (e.side, &e.local_key, &e.integration_key) {
                    (Side::Local, Some(key), _) => targets.local.push(key.clone()),
                    (Side::Integration, _, Some(key)) => targets.integration.push(key.clone()),
                    (_, Some(key), _) => targets.local.push(key.clone()),
                    (_, _, Some(key)) => targets.integration.push(key.clone()),
                    _ => {}
                }
            }
            if retry.len() > INLINE_LIMIT {
                let mut first = None;
                for (mapping, targets) in &by_mapping {
                    let id = self
                        .enqueue(mapping, JobKind::Targeted, actor, Some(targets))
                        .await?;
                    first.get_or_insert(id);
                }
                return Ok((outcomes, first));
            }
            for (mapping, targets) in &by_mapping {
                match self
                    .run_now(mapping, JobKind::Targeted, actor, Some(targets))
                    .await
                {
                    Ok(_) => {}
                    Err(EngineError::Busy(_)) => {
                        self.enqueue(mapping, JobKind::Targeted, actor, Some(targets))
                            .await?;
                    }
                    Err(other) => return Err(other),
                }
            }
            let mut conn = self.inner.store.conn().await?;
            for row in sync_error::by_ids(&mut conn, &ids).await? {
                let e = &row.summary;
                outcomes.push(match row.resolved_at {
                    Some(_) => outcome(e, Outcome::Done, "synchronized"),
                    None if e.version > 0 && e.attempts > 0 => {
                        outcome(e, Outcome::Failed, e.message.clone())
                    }
                    None => outcome(e, Outcome::Done, "queued: its mapping was synchronizing"),
                });
            }
            Ok((outcomes, None))
        })
        .await
    }

    /// Synchronize: resolves update conflicts as chosen, writing both records and
    /// clearing the errors. Several records at once take only a side.
    pub async fn resolve(
        &self,
        actor: &str,
        action_id: &str,
        errors: &[ErrorRef],
        resolution: &Resolution,
    ) -> Result<ActionAnswer, EngineError> {
        if errors.len() > 1 && !matches!(resolution, Resolution::Local | Resolution::Integration) {
            return Err(EngineError::Invalid(
                "several records at once are resolved by taking one side: local or integration"
                    .into(),
            ));
        }
        let text = serde_json::to_string(&(errors, resolution)).unwrap_or_default();
        let each = PerRecord::Resolve(resolution);
        self.act_on_each(actor, action_id, "resolve", text, errors, each)
            .await
    }

    /// The coupling of error `e` and its two records, as they are now.
    pub(crate) async fn pair(
        &self,
        e: &SyncErrorSummary,
    ) -> Result<
        Result<
            (
                Compiled,
                [std::sync::Arc<dyn Connector>; 2],
                Coupling,
                [Option<Record>; 2],
            ),
            RecordOutcome,
        >,
        EngineError,
    > {
        let Some(coupling_id) = e.coupling_id else {
            return Ok(Err(outcome(
                e,
                Outcome::Refused,
                "the records are not coupled",
            )));
        };
        let mut conn = self.inner.store.conn().await?;
        let Some(c) = coupling::by_id(&mut conn, coupling_id).await? else {
            return Ok(Err(outcome(
                e,
                Outcome::Refused,
                "the records are not coupled any more",
            )));
        };
        drop(conn);
        let (compiled, local, integration) = self.prepared(&e.mapping).await?;
        let l = read_one(&compiled, local.as_ref(), Side::Local, &c.local_key).await?;
        let i = read_one(
            &compiled,
            integration.as_ref(),
            Side::Integration,
            &c.integration_key,
        )
        .await?;
        Ok(Ok((compiled, [local, integration], c, [l, i])))
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

    async fn resolve_one(
        &self,
        actor: &str,
        e: &SyncErrorSummary,
        resolution: &Resolution,
    ) -> Result<RecordOutcome, EngineError> {
        if e.kind != SyncErrorKind::UpdateConflict {
            let reason = format!("this is a {} error, not an update conflict", e.kind);
            return Ok(outcome(e, Outcome::Refused, reason));
        }
        self.resolve_one_conflict(actor, e, resolution).await
    }

    async fn resolve_one_conflict(
        &self,
        actor: &str,
        e: &SyncErrorSummary,
        resolution: &Resolution,
    ) -> Result<RecordOutcome, EngineError> {
        let (compiled, connectors, c, [local, integration]) = match self.pair(e).await? {
            Ok(pair) => pair,
            Err(answer) => return Ok(answer),
        };
        let (Some(local), Some(integration)) = (local, integration) else {
            return Ok(outcome(
                e,
                Outcome::Refused,
                "a record was deleted meanwhile: restore or delete instead",
            ));
        };
        let lookups = self
            .lookups(
                &compiled,
                [(Side::Local, &local), (Side::Integration, &integration)],
            )
            .await?;
        let (to_local, to_integration) = match plan::resolve(
            &compiled,
            &local,
            &integration,
            c.base.as_ref(),
            resolution,
            &lookups,
        ) {
            Ok(writes) => writes,
            Err(reason) => return Ok(outcome(e, Outcome::Refused, reason)),
        };
        let mut after = [local.clone(), integration.clone()];
        for (index, (side, record, writes)) in [
            (Side::Local, &local, &to_local),
            (Side::Integration, &integration, &to_integration),
        ]
        .into_iter()
        .enumerate()
        {
            if writes.is_empty() {
                continue;
            }
            let op = WriteOp::Update {
                key: record.key.clone(),
                expected: record.modified,
                values: writes.clone(),
            };
            match self
                .write(&e.mapping, connectors[index].as_ref(), &compiled, side, op)
                .await?
            {
                WriteOutcome::Written(modified) => {
                    after[index] = plan::applied(record, writes, modified)
                }
                WriteOutcome::Refused(reason) => {
                    return Ok(outcome(
                        e,
                        Outcome::Failed,
                        format!("the {side} system refused the values: {reason}"),
                    ));
                }
                WriteOutcome::Changed => {
                    return Ok(outcome(
                        e,
                        Outcome::Failed,
                        format!("the {side} record changed meanwhile: look again"),
                    ));
                }
            }
        }
        let mut written = changes(&compiled, Side::Local, &local, &to_local);
        written.extend(changes(
            &compiled,
            Side::Integration,
            &integration,
            &to_integration,
        ));
        let fields = written.len();
        let mut tx = self.inner.store.begin().await?;
        synced_pair(&mut tx, &compiled, c.id, Side::Local, &after[0], &after[1]).await?;
        sync_error::resolve(&mut tx, &[e.id], actor).await?;
        let how = match resolution {
            Resolution::Local => "with the local data".to_string(),
            Resolution::Integration => "with the integration data".to_string(),
            Resolution::Merge => "by merging".to_string(),
            Resolution::Fields(_) => "field by field".to_string(),
        };
        log::insert(
            &mut tx,
            &e.mapping,
            &[entry(
                actor,
                (&c.local_key, &c.integration_key),
                "resolved",
                written,
                Some(format!("conflict resolved {how}")),
            )],
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(outcome(
            e,
            Outcome::Done,
            format!("synchronized {how}: {fields} field(s) written"),
        ))
    }

    /// Restore Records: recreates each deleted record from its surviving partner and
    /// couples them again.
    pub async fn restore_records(
        &self,
        actor: &str,
        action_id: &str,
        errors: &[ErrorRef],
    ) -> Result<ActionAnswer, EngineError> {
        self.deleted_records(actor, action_id, errors, true).await
    }

    /// Delete Records: deletes each deleted record's surviving partner, and the coupling.
    pub async fn delete_records(
        &self,
        actor: &str,
        action_id: &str,
        errors: &[ErrorRef],
    ) -> Result<ActionAnswer, EngineError> {
        self.deleted_records(actor, action_id, errors, false).await
    }

    async fn deleted_records(
        &self,
        actor: &str,
        action_id: &str,
        errors: &[ErrorRef],
        restore: bool,
    ) -> Result<ActionAnswer, EngineError> {
        let action = if restore {
            "restore_records"
        } else {
            "delete_records"
        };
        let text = serde_json::to_string(errors).unwrap_or_default();
        let each = if restore {
            PerRecord::Restore
        } else {
            PerRecord::Delete
        };
        self.act_on_each(actor, action_id, action, text, errors, each)
            .await
    }

    async fn deleted_record(
        &self,
        actor: &str,
        e: &SyncErrorSummary,
        restore: bool,
    ) -> Result<RecordOutcome, EngineError> {
        let (compiled, connectors, c, records) = match self.pair(e).await? {
            Ok(pair) => pair,
            Err(answer) => return Ok(answer),
        };
        let survivors: Vec<Side> = [Side::Local, Side::Integration]
            .into_iter()
            .filter(|s| records[*s as usize].is_some())
            .collect();
        let survivor = match survivors.as_slice() {
            [one] => *one,
            [] => {
                return Ok(outcome(
                    e,
                    Outcome::Refused,
                    "neither record exists any more: nothing to act on",
                ));
            }
            _ => {
                return Ok(outcome(
                    e,
                    Outcome::Refused,
                    "both records exist: use Retry or Synchronize",
                ));
            }
        };
        let deleted = survivor.other();
        let source = records[survivor as usize]
            .clone()
            .expect("the survivor exists");
        let keys = (c.local_key.as_str(), c.integration_key.as_str());
        if restore {
            let lookups = self
                .lookups(&compiled, [(survivor, &source), (survivor, &source)])
                .await?;
            let values = match plan::create_values(&compiled, survivor, &source, &lookups) {
                Ok(values) => values,
                Err(plan::Blocked::Fail(reason) | plan::Blocked::Defer(reason)) => {
                    return Ok(outcome(e, Outcome::Failed, reason));
                }
            };
            let op = WriteOp::Create {
                key: c.key(deleted).to_string(),
                values: values.clone(),
            };
            let modified = match self
                .write(
                    &e.mapping,
                    connectors[deleted as usize].as_ref(),
                    &compiled,
                    deleted,
                    op,
                )
                .await?
            {
                WriteOutcome::Written(modified) => modified,
                WriteOutcome::Refused(reason) => {
                    return Ok(outcome(
                        e,
                        Outcome::Failed,
                        format!("the {deleted} system refused the record: {reason}"),
                    ));
                }
                WriteOutcome::Changed => {
                    return Ok(outcome(
                        e,
                        Outcome::Failed,
                        "a record with that key appeared meanwhile",
                    ));
                }
            };
            let recreated =
                plan::new_record(compiled.spec(deleted), c.key(deleted), &values, modified);
            let mut tx = self.inner.store.begin().await?;
            synced_pair(&mut tx, &compiled, c.id, survivor, &source, &recreated).await?;
            sync_error::resolve(&mut tx, &[e.id], actor).await?;
            let blank = plan::new_record(compiled.spec(deleted), c.key(deleted), &[], 0);
            let message =
                format!("the deleted {deleted} record was recreated from the {survivor} record");
            log::insert(
                &mut tx,
                &e.mapping,
                &[entry(
                    actor,
                    keys,
                    "restored",
                    changes(&compiled, deleted, &blank, &values),
                    Some(message),
                )],
            )
            .await?;
            tx.commit().await.map_err(StoreError::from)?;
            Ok(outcome(
                e,
                Outcome::Done,
                format!("the {deleted} record was recreated and coupled again"),
            ))
        } else {
            let op = WriteOp::Delete {
                key: source.key.clone(),
            };
            match self
                .write(
                    &e.mapping,
                    connectors[survivor as usize].as_ref(),
                    &compiled,
                    survivor,
                    op,
                )
                .await?
            {
                WriteOutcome::Written(_) => {}
                WriteOutcome::Refused(reason) => {
                    return Ok(outcome(
                        e,
                        Outcome::Failed,
                        format!("the {survivor} system refused to delete: {reason}"),
                    ));
                }
                WriteOutcome::Changed => {
                    return Ok(outcome(e, Outcome::Failed, "the record was gone already"));
                }
            }
            let mut tx = self.inner.store.begin().await?;
            coupling::delete(&mut tx, c.id).await?;
            sync_error::resolve(&mut tx, &[e.id], actor).await?;
            let message = format!("the {survivor} record was deleted, as its partner was");
            log::insert(
                &mut tx,
                &e.mapping,
                &[entry(actor, keys, "deleted", Vec::new(), Some(message))],
            )
            .await?;
            tx.commit().await.map_err(StoreError::from)?;
            Ok(outcome(
                e,
                Outcome::Done,
                format!("the {survivor} record and the coupling were deleted"),
            ))
        }
    }

    /// Remove Coupling on the errors page: uncouples each error's records; both stay, and
    /// are not created anew on the other side until they change.
    pub async fn remove_coupling(
        &self,
        actor: &str,
        action_id: &str,
        errors: &[ErrorRef],
    ) -> Result<ActionAnswer, EngineError> {
        let text = serde_json::to_string(errors).unwrap_or_default();
        self.act_on_each(
            actor,
            action_id,
            "remove_coupling",
            text,
            errors,
            PerRecord::Uncouple,
        )
        .await
    }

    async fn uncouple_error(
        &self,
        actor: &str,
        e: &SyncErrorSummary,
    ) -> Result<RecordOutcome, EngineError> {
        let (_, _, c, records) = match self.pair(e).await? {
            Ok(pair) => pair,
            Err(answer) => return Ok(answer),
        };
        let mut tx = self.inner.store.begin().await?;
        uncouple_one(&mut tx, &e.mapping, &c, &records).await?;
        sync_error::resolve(&mut tx, &[e.id], actor).await?;
        log::insert(
            &mut tx,
            &e.mapping,
            &[entry(
                actor,
                (&c.local_key, &c.integration_key),
                "uncoupled",
                Vec::new(),
                Some("coupling removed; both records stay".into()),
            )],
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(outcome(e, Outcome::Done, "uncoupled; both records stay"))
    }

    /// Removes couplings of `mapping` as a logged uncoupling job: the couplings of these
    /// local keys, or every coupling when `local_keys` is `None`. With `wait`, runs it now.
    pub async fn remove_couplings(
        &self,
        actor: &str,
        mapping: &str,
        local_keys: Option<Vec<String>>,
        wait: bool,
    ) -> Result<JobSummary, EngineError> {
        let targets = Targets {
            local: local_keys.unwrap_or_default(),
            integration: Vec::new(),
        };
        let mut conn = self.inner.store.conn().await?;
        let selection = if targets.local.is_empty() {
            "every coupling".to_string()
        } else {
            targets.local.join(", ")
        };
        action::audit(
            &mut conn,
            actor,
            "remove_couplings",
            &format!("{mapping}: {selection}"),
            "job started",
            None,
        )
        .await?;
        drop(conn);
        if wait {
            self.run_now(mapping, JobKind::Uncoupling, actor, Some(&targets))
                .await
        } else {
            let id = self
                .enqueue(mapping, JobKind::Uncoupling, actor, Some(&targets))
                .await?;
            self.job(id).await
        }
    }

    /// Find for Deleted: scans `mapping`'s couplings for records deleted on either side
    /// and reports them as errors. With `wait`, runs it now.
    pub async fn find_deleted(
        &self,
        actor: &str,
        mapping: &str,
        wait: bool,
    ) -> Result<JobSummary, EngineError> {
        let mut conn = self.inner.store.conn().await?;
        action::audit(
            &mut conn,
            actor,
            "find_for_deleted",
            mapping,
            "job started",
            None,
        )
        .await?;
        drop(conn);
        if wait {
            self.run_now(mapping, JobKind::FindForDeleted, actor, None)
                .await
        } else {
            let id = self
                .enqueue(mapping, JobKind::FindForDeleted, actor, None)
                .await?;
            self.job(id).await
        }
    }

    /// Set Up Coupling: couples a local record with an integration record, refusing keys
    /// coupled already; with `sync_from`, that side's values are written to the other.
    pub async fn set_up_coupling(
        &self,
        actor: &str,
        action_id: &str,
        mapping: &str,
        local_key: &str,
        integration_key: &str,
        sync_from: Option<Side>,
    ) -> Result<ActionAnswer, EngineError> {
        self.configured(mapping)?;
        let text = format!("{mapping}: local {local_key} with integration {integration_key}");
        self.act(
            actor,
            action_id,
            "set_up_coupling",
            text,
            async |_: &Claims| {
                let answer = |o: Outcome, message: String| RecordOutcome {
                    error_id: None,
                    mapping: mapping.to_string(),
                    local_key: Some(local_key.to_string()),
                    integration_key: Some(integration_key.to_string()),
                    outcome: o,
                    message,
                };
                let (compiled, local_connector, integration_connector) =
                    self.prepared(mapping).await?;
                let mut conn = self.inner.store.conn().await?;
                for (side, key) in [
                    (Side::Local, local_key),
                    (Side::Integration, integration_key),
                ] {
                    if let Some(c) = coupling::by_keys(&mut conn, mapping, side, &[key.to_string()])
                        .await?
                        .pop()
                    {
                        let message = format!(
                            "the {side} record {key} is coupled already, with {}",
                            c.key(side.other())
                        );
                        return Ok((vec![answer(Outcome::Refused, message)], None));
                    }
                }
                drop(conn);
                let mut records = Vec::new();
                for (side, key, connector) in [
                    (Side::Local, local_key, &local_connector),
                    (Side::Integration, integration_key, &integration_connector),
                ] {
                    let found = connector
                        .read(compiled.spec(side), &[key.to_string()])
                        .await
                        .map_err(|source| EngineError::System {
                            mapping: mapping.to_string(),
                            source,
                        })?;
                    match found.into_iter().next() {
                        Some(record) => records.push(record),
                        None => {
                            return Ok((
                                vec![answer(
                                    Outcome::Refused,
                                    format!("no {side} record has key {key}"),
                                )],
                                None,
                            ));
                        }
                    }
                }
                let mut after = [records[0].clone(), records[1].clone()];
                let mut written = Vec::new();
                if let Some(from) = sync_from {
                    let lookups = self
                        .lookups(
                            &compiled,
                            [(Side::Local, &records[0]), (Side::Integration, &records[1])],
                        )
                        .await?;
                    let resolution = if from == Side::Local {
                        Resolution::Local
                    } else {
                        Resolution::Integration
                    };
                    let (to_local, to_integration) = match plan::resolve(
                        &compiled,
                        &records[0],
                        &records[1],
                        None,
                        &resolution,
                        &lookups,
                    ) {
                        Ok(writes) => writes,
                        Err(reason) => return Ok((vec![answer(Outcome::Failed, reason)], None)),
                    };
                    for (index, side, writes, connector) in [
                        (0, Side::Local, &to_local, &local_connector),
                        (
                            1,
                            Side::Integration,
                            &to_integration,
                            &integration_connector,
                        ),
                    ] {
                        if writes.is_empty() {
                            continue;
                        }
                        let op = WriteOp::Update {
                            key: records[index].key.clone(),
                            expected: records[index].modified,
                            values: writes.clone(),
                        };
                        match self
                            .write(mapping, connector.as_ref(), &compiled, side, op)
                            .await?
                        {
                            WriteOutcome::Written(modified) => {
                                after[index] = plan::applied(&records[index], writes, modified)
                            }
                            WriteOutcome::Refused(reason) => {
                                return Ok((
                                    vec![answer(
                                        Outcome::Failed,
                                        format!("the {side} system refused the values: {reason}"),
                                    )],
                                    None,
                                ));
                            }
                            WriteOutcome::Changed => {
                                return Ok((
                                    vec![answer(
                                        Outcome::Failed,
                                        format!("the {side} record changed meanwhile: try again"),
                                    )],
                                    None,
                                ));
                            }
                        }
                        written.extend(changes(&compiled, side, &records[index], writes));
                    }
                }
                let mut tx = self.inner.store.begin().await?;
                let new = NewCoupling {
                    local_key: local_key.to_string(),
                    integration_key: integration_key.to_string(),
                    pending: None,
                };
                let id = match coupling::insert(&mut tx, mapping, &[new]).await {
                    Ok(ids) => ids[0],
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        return Ok((
                            vec![answer(
                                Outcome::Stale,
                                "someone coupled one of these records meanwhile".into(),
                            )],
                            None,
                        ));
                    }
                    Err(e) => return Err(e.into()),
                };
                let from = sync_from.unwrap_or(Side::Local);
                let (source, other) = match from {
                    Side::Local => (&after[0], &after[1]),
                    Side::Integration => (&after[1], &after[0]),
                };
                synced_pair(&mut tx, &compiled, id, from, source, other).await?;
                progress::forget_uncoupled(&mut tx, mapping, Side::Local, &[local_key.to_string()])
                    .await?;
                progress::forget_uncoupled(
                    &mut tx,
                    mapping,
                    Side::Integration,
                    &[integration_key.to_string()],
                )
                .await?;
                let how = match sync_from {
                    Some(side) => {
                        format!("coupled by hand and synchronized from the {side} record")
                    }
                    None => "coupled by hand".to_string(),
                };
                log::insert(
                    &mut tx,
                    mapping,
                    &[entry(
                        actor,
                        (local_key, integration_key),
                        "coupled",
                        written,
                        Some(how.clone()),
                    )],
                )
                .await?;
                tx.commit().await.map_err(StoreError::from)?;
                Ok((vec![answer(Outcome::Done, how)], None))
            },
        )
        .await
    }
}

/// Removes coupling `c`; both records stay, remembered as left uncoupled as they are now
/// (`records`: local, integration), so they are not created anew until they change.
/// The record `key` on `side`, if it exists.
pub(crate) async fn read_one(
    compiled: &Compiled,
    connector: &dyn Connector,
    side: Side,
    key: &str,
) -> Result<Option<Record>, EngineError> {
    connector
        .read(compiled.spec(side), &[key.to_string()])
        .await
        .map(|mut records| records.pop())
        .map_err(|source| EngineError::System {
            mapping: compiled.mapping.name.clone(),
            source,
        })
}

async fn uncouple_one(
    tx: &mut sqlx::AnyConnection,
    mapping: &str,
    c: &Coupling,
    records: &[Option<Record>; 2],
) -> Result<(), sqlx::Error> {
    coupling::delete(tx, c.id).await?;
    for side in [Side::Local, Side::Integration] {
        if let Some(record) = &records[side as usize] {
            progress::remember_uncoupled(tx, mapping, side, c.key(side), record.modified).await?;
        }
    }
    Ok(())
}

/// The uncoupling job: removes the couplings `targets` names, or all of the mapping's.
pub(crate) async fn uncouple(run: &mut Run<'_>, targets: &Targets) -> Result<(), RunError> {
    let name = run.compiled.mapping.name.clone();
    let mut after = 0;
    loop {
        let mut conn = run.store.conn().await?;
        let batch: Vec<Coupling> = if targets.local.is_empty() && targets.integration.is_empty() {
            let page = coupling::page(&mut conn, &name, after, crate::sync::BATCH as i64).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            page
        } else if after == 0 {
            after = 1;
            let mut found =
                coupling::by_keys(&mut conn, &name, Side::Local, &targets.local).await?;
            found.extend(
                coupling::by_keys(&mut conn, &name, Side::Integration, &targets.integration)
                    .await?,
            );
            found
        } else {
            break;
        };
        drop(conn);
        let mut current: [HashMap<String, Record>; 2] = Default::default();
        for side in [Side::Local, Side::Integration] {
            let keys: Vec<String> = batch.iter().map(|c| c.key(side).to_string()).collect();
            let connector = if side == Side::Local {
                run.local
            } else {
                run.integration
            };
            current[side as usize] = connector
                .read(run.compiled.spec(side), &keys)
                .await?
                .into_iter()
                .map(|r| (r.key.clone(), r))
                .collect();
        }
        let mut tx = run.store.begin().await?;
        let mut entries = Vec::with_capacity(batch.len());
        let mut couplings = Vec::with_capacity(batch.len());
        for c in &batch {
            let records = [Side::Local, Side::Integration]
                .map(|s| current[s as usize].get(c.key(s)).cloned());
            uncouple_one(&mut tx, &name, c, &records).await?;
            entries.push(NewLogEntry {
                job_id: Some(run.job_id),
                local_key: Some(c.local_key.clone()),
                integration_key: Some(c.integration_key.clone()),
                direction: None,
                action: "uncoupled",
                result: "ok",
                changes: Vec::new(),
                message: Some("coupling removed; both records stay".into()),
                actor: run.actor.clone(),
            });
            couplings.push(c.local_key.clone());
        }
        let open = sync_error::open_for(&mut tx, &name, Side::Local, &couplings).await?;
        let ids: Vec<i64> = open
            .iter()
            .filter(|e| e.coupling_id.is_some())
            .map(|e| e.id)
            .collect();
        sync_error::resolve(&mut tx, &ids, &run.actor).await?;
        log::insert(&mut tx, &name, &entries).await?;
        let delta = Counters {
            uncoupled: batch.len() as u64,
            ..Counters::default()
        };
        if !crate::store::job::add(&mut tx, run.job_id, run.fence, &delta, batch.len() as u64)
            .await?
        {
            return Err(RunError::LeaseLost);
        }
        tx.commit().await.map_err(StoreError::from)?;
        run.counters.add(&delta);
    }
    Ok(())
}

/// The find-for-deleted job: every coupling of the mapping, both records looked up; a
/// record gone on one side is reported as a `deleted_*` error, gone on both uncouples.
pub(crate) async fn find_deleted(run: &mut Run<'_>) -> Result<(), RunError> {
    let name = run.compiled.mapping.name.clone();
    let mut after = 0;
    loop {
        let mut conn = run.store.conn().await?;
        let page = coupling::page(&mut conn, &name, after, crate::sync::BATCH as i64).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        let open: Vec<String> = sync_error::open_for(
            &mut conn,
            &name,
            Side::Local,
            &page.iter().map(|c| c.local_key.clone()).collect::<Vec<_>>(),
        )
        .await?
        .into_iter()
        .filter_map(|e| e.local_key)
        .collect();
        drop(conn);
        let mut exists: [std::collections::HashSet<String>; 2] = Default::default();
        for side in [Side::Local, Side::Integration] {
            let keys: Vec<String> = page
                .iter()
                .filter(|c| c.pending.is_none())
                .map(|c| c.key(side).to_string())
                .collect();
            let connector = if side == Side::Local {
                run.local
            } else {
                run.integration
            };
            exists[side as usize] = connector
                .read(run.compiled.spec(side), &keys)
                .await?
                .into_iter()
                .map(|r| r.key)
                .collect();
        }
        let mut tx = run.store.begin().await?;
        let mut entries = Vec::new();
        let mut delta = Counters::default();
        for c in page.iter().filter(|c| c.pending.is_none()) {
            let present =
                [Side::Local, Side::Integration].map(|s| exists[s as usize].contains(c.key(s)));
            match present {
                [true, true] => {}
                [false, false] => {
                    coupling::delete(&mut tx, c.id).await?;
                    delta.uncoupled += 1;
                    entries.push(NewLogEntry {
                        job_id: Some(run.job_id),
                        local_key: Some(c.local_key.clone()),
                        integration_key: Some(c.integration_key.clone()),
                        direction: None,
                        action: "uncoupled",
                        result: "ok",
                        changes: Vec::new(),
                        message: Some("both records were deleted".into()),
                        actor: run.actor.clone(),
                    });
                }
                [local, _] if open.contains(&c.local_key) && c.skipped => {
                    let _ = local;
                }
                [local, _] => {
                    let deleted = if local {
                        Side::Integration
                    } else {
                        Side::Local
                    };
                    entries.push(
                        run.report_deleted(&mut tx, c, deleted, c.key(deleted.other()), None)
                            .await?,
                    );
                    delta.failed += 1;
                }
            }
        }
        log::insert(&mut tx, &name, &entries).await?;
        if !crate::store::job::add(&mut tx, run.job_id, run.fence, &delta, page.len() as u64)
            .await?
        {
            return Err(RunError::LeaseLost);
        }
        tx.commit().await.map_err(StoreError::from)?;
        run.counters.add(&delta);
    }
    Ok(())
}

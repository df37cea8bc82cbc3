//! What a record that did not synchronize leaves in the store: its sync error, the
//! failure on its coupling and the log entry. DESIGN.md, "Failures": a failure is retried
//! next run and the same failure twice in a row skips the coupling, which puts it on the
//! errors page; a conflict nothing wins and a deletion conflict are skipped at once.

use super::bookkeeping::Ledger;
use super::{RecordResult, Run, RunError};
use crate::connector::Record;
use crate::model::{Side, SyncErrorKind};
use crate::store::coupling::{self, Coupling};
use crate::store::log::NewLogEntry;
use crate::store::sync_error::{self, NewSyncError, OpenError};

impl Run<'_> {
    /// Records a conflict nothing wins: an `update_conflict` sync error, the coupling
    /// skipped at once.
    pub(super) async fn record_conflict(
        &self,
        ledger: &mut Ledger<'_>,
        source: &Record,
        c: Coupling,
        fields: Vec<String>,
        message: String,
    ) -> Result<(), RunError> {
        let from = ledger.from;
        ledger.delta.failed += 1;
        let (l, i) = ledger.keys_of(&source.key, c.key(from.other()));
        coupling::failed(ledger.tx, c.id, from, "conflict", &message, true).await?;
        sync_error::record(
            ledger.tx,
            ledger.mapping,
            &NewSyncError {
                coupling_id: Some(c.id),
                kind: SyncErrorKind::UpdateConflict,
                side: from,
                local_key: l.clone(),
                integration_key: i.clone(),
                description: self.compiled.describe(from, source),
                message: message.clone(),
                fields,
                job_id: Some(self.job_id),
                skipped: true,
                actor: self.actor.clone(),
            },
        )
        .await?;
        ledger.touched(&source.key, RecordResult::Conflict(message.clone()));
        ledger.log(l, i, "conflict", "failed", Vec::new(), Some(message));
        Ok(())
    }

    /// Reports that the record of coupling `c` on `deleted` is gone while its partner
    /// `survivor_key` remains: a `deleted_*` sync error, the coupling skipped until
    /// someone acts. Answers the log entry to write.
    pub async fn report_deleted(
        &self,
        tx: &mut sqlx::AnyConnection,
        c: &Coupling,
        deleted: Side,
        survivor_key: &str,
        description: Option<String>,
    ) -> Result<NewLogEntry, RunError> {
        let message = format!(
            "The {deleted} record {} was deleted; the {} record {survivor_key} remains.",
            c.key(deleted),
            deleted.other(),
        );
        coupling::failed(tx, c.id, deleted.other(), "deleted", &message, true).await?;
        let (local_key, integration_key) =
            (Some(c.local_key.clone()), Some(c.integration_key.clone()));
        sync_error::record(
            tx,
            self.name(),
            &NewSyncError {
                coupling_id: Some(c.id),
                kind: SyncErrorKind::deleted(deleted),
                side: deleted.other(),
                local_key: local_key.clone(),
                integration_key: integration_key.clone(),
                description,
                message: message.clone(),
                fields: Vec::new(),
                job_id: Some(self.job_id),
                skipped: true,
                actor: self.actor.clone(),
            },
        )
        .await?;
        Ok(NewLogEntry {
            job_id: Some(self.job_id),
            local_key,
            integration_key,
            direction: None,
            action: "deletion_conflict",
            result: "failed",
            changes: Vec::new(),
            message: Some(message),
            actor: self.actor.clone(),
        })
    }

    /// Records a failed record: on its coupling (skipped after the same failure twice in a
    /// row) or, for a record not coupled yet, on its sync error alone.
    pub(super) async fn failure(
        &self,
        ledger: &mut Ledger<'_>,
        source: &Record,
        coupling: Option<Coupling>,
        other_key: Option<String>,
        message: String,
        open_error: Option<&OpenError>,
    ) -> Result<(), RunError> {
        let from = ledger.from;
        let source_key = source.key.as_str();
        ledger.delta.failed += 1;
        let other_key =
            other_key.or_else(|| coupling.as_ref().map(|c| c.key(from.other()).to_string()));
        let (local_key, integration_key) = match from {
            Side::Local => (Some(source_key.to_string()), other_key),
            Side::Integration => (other_key, Some(source_key.to_string())),
        };
        let skipped = match &coupling {
            Some(c) => {
                coupling::failed(ledger.tx, c.id, from, "failed", &message, false)
                    .await?
                    .1
            }
            None => open_error.is_some_and(|e| e.message == message && e.attempts >= 1),
        };
        sync_error::record(
            ledger.tx,
            self.name(),
            &NewSyncError {
                coupling_id: coupling.as_ref().map(|c| c.id),
                kind: SyncErrorKind::Failed,
                side: from,
                local_key: local_key.clone(),
                integration_key: integration_key.clone(),
                description: self.compiled.describe(from, source),
                message: message.clone(),
                fields: Vec::new(),
                job_id: Some(self.job_id),
                skipped,
                actor: self.actor.clone(),
            },
        )
        .await?;
        ledger.touched(source_key, RecordResult::Failed(message.clone()));
        let message = if skipped {
            format!("{message} (failed the same way twice: skipped until someone acts)")
        } else {
            message
        };
        ledger.log(
            local_key,
            integration_key,
            "failed",
            "failed",
            Vec::new(),
            Some(message),
        );
        Ok(())
    }
}

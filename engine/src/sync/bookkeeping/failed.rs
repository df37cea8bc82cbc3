//! The bookkeeping of a batch's records that did not synchronize: a conflict nothing
//! wins, and a failed record, each gathered with its log entry among the Ledger's
//! failures ([`crate::sync::Failures`]) and written when the batch is written out.

use super::Ledger;
use crate::connector::Record;
use crate::model::{Side, SyncErrorKind};
use crate::store::coupling::{self, Coupling};
use crate::store::sync_error::{NewSyncError, OpenError};
use crate::sync::{RecordResult, Run};

impl Run<'_> {
    /// Records a conflict nothing wins: an `update_conflict` sync error, the coupling
    /// skipped at once.
    pub(super) fn record_conflict(
        &self,
        ledger: &mut Ledger<'_>,
        source: &Record,
        c: Coupling,
        fields: Vec<String>,
        message: String,
    ) {
        let from = ledger.from;
        ledger.delta.failed += 1;
        let (l, i) = ledger.keys_of(&source.key, c.key(from.other()));
        let counted = coupling::Failure {
            id: c.id,
            from,
            result: "conflict",
            message: message.clone(),
            skip_now: true,
        };
        let error = NewSyncError {
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
        };
        ledger.failures.push(error, Some(counted), None);
        ledger.touched(&source.key, RecordResult::Conflict(message.clone()));
        ledger.log(l, i, "conflict", "failed", Vec::new(), Some(message));
    }

    /// Records a failed record: on its coupling (skipped after the same failure twice in a
    /// row) or, for a record not coupled yet, on its sync error alone.
    pub(super) fn failure(
        &self,
        ledger: &mut Ledger<'_>,
        source: &Record,
        coupling: Option<Coupling>,
        other_key: Option<String>,
        message: String,
        open_error: Option<&OpenError>,
    ) {
        let from = ledger.from;
        let source_key = source.key.as_str();
        ledger.delta.failed += 1;
        let other_key =
            other_key.or_else(|| coupling.as_ref().map(|c| c.key(from.other()).to_string()));
        let (local_key, integration_key) = match from {
            Side::Local => (Some(source_key.to_string()), other_key),
            Side::Integration => (other_key, Some(source_key.to_string())),
        };
        let counted = coupling.as_ref().map(|c| coupling::Failure {
            id: c.id,
            from,
            result: "failed",
            message: message.clone(),
            skip_now: false,
        });
        // Coupled, the coupling's failures say whether it is skipped, once counted.
        let skipped = counted.is_none()
            && open_error.is_some_and(|e| e.message == message && e.attempts >= 1);
        let error = NewSyncError {
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
        };
        ledger.touched(source_key, RecordResult::Failed(message.clone()));
        let entry = ledger.log(
            local_key,
            integration_key,
            "failed",
            "failed",
            Vec::new(),
            Some(message),
        );
        ledger.failures.push(error, counted, Some(entry));
    }
}

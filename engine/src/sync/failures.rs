//! What a record that did not synchronize leaves in the store: its sync error, the
//! failure on its coupling and the log entry (the batch's own failures are gathered by
//! `bookkeeping/failed.rs`; a deletion conflict here, for batches and Find for Deleted). DESIGN.md, "Failures": a failure is retried
//! next run and the same failure twice in a row skips the coupling, which puts it on the
//! errors page; a conflict nothing wins and a deletion conflict are skipped at once.
//!
//! The failures of a store transaction are gathered in [`Failures`] and written together
//! when it is written out: a batch whose every record fails costs a few statements per few
//! hundred records, not several per record.

use super::Run;
use crate::model::{Side, SyncErrorKind};
use crate::store::coupling::{self, Coupling};
use crate::store::log::NewLogEntry;
use crate::store::sync_error::{self, NewSyncError};

/// The failures of one store transaction, to write together.
#[derive(Default)]
pub(crate) struct Failures(Vec<Failure>);

/// One failure to write.
struct Failure {
    error: NewSyncError,
    /// The failure to count on the coupling, when the records are coupled: whether the
    /// coupling is skipped then becomes the error's.
    counted: Option<coupling::Failure>,
    /// The log entry that says so when the record is now skipped: its place among the
    /// entries written with the failures.
    entry: Option<usize>,
}

impl Failures {
    /// Writes the failures: each coupling's failure counted, then the sync errors, and the
    /// log entries of `entries` that a failure names told whether their record is skipped.
    pub(crate) async fn write(
        self,
        tx: &mut sqlx::AnyConnection,
        mapping: &str,
        entries: &mut [NewLogEntry],
    ) -> Result<(), sqlx::Error> {
        if self.0.is_empty() {
            return Ok(());
        }
        let counted: Vec<coupling::Failure> =
            self.0.iter().filter_map(|f| f.counted.clone()).collect();
        let mut skipped = coupling::failed(tx, mapping, &counted).await?.into_iter();
        let mut errors = Vec::with_capacity(self.0.len());
        for failure in self.0 {
            let mut error = failure.error;
            if failure.counted.is_some() {
                error.skipped = skipped.next().unwrap_or(false);
            }
            let said = failure.entry.and_then(|at| entries[at].message.as_mut());
            if let (true, Some(message)) = (error.skipped, said) {
                message.push_str(" (failed the same way twice: skipped until someone acts)");
            }
            errors.push(error);
        }
        sync_error::record(tx, mapping, &errors).await
    }

    /// Adds a failure: its error, the failure to count on its coupling when the records
    /// are coupled, and the log entry that says whether the record is now skipped.
    pub(super) fn push(
        &mut self,
        error: NewSyncError,
        counted: Option<coupling::Failure>,
        entry: Option<usize>,
    ) {
        self.0.push(Failure {
            error,
            counted,
            entry,
        });
    }
}

impl Run<'_> {
    /// Reports, among `failures`, that the record of coupling `c` on `deleted` is gone
    /// while its partner `survivor_key` remains: a `deleted_*` sync error, the coupling
    /// skipped until someone acts. Answers the log entry to write.
    pub(crate) fn report_deleted(
        &self,
        failures: &mut Failures,
        c: &Coupling,
        deleted: Side,
        survivor_key: &str,
        description: Option<String>,
    ) -> NewLogEntry {
        let message = format!(
            "The {deleted} record {} was deleted; the {} record {survivor_key} remains.",
            c.key(deleted),
            deleted.other(),
        );
        let counted = coupling::Failure {
            id: c.id,
            from: deleted.other(),
            result: "deleted",
            message: message.clone(),
            skip_now: true,
        };
        let (local_key, integration_key) =
            (Some(c.local_key.clone()), Some(c.integration_key.clone()));
        let error = NewSyncError {
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
        };
        failures.push(error, Some(counted), None);
        NewLogEntry {
            job_id: Some(self.job_id),
            local_key,
            integration_key,
            direction: None,
            action: "deletion_conflict",
            result: "failed",
            changes: Vec::new(),
            message: Some(message),
            actor: self.actor.clone(),
        }
    }
}

//! What the console shows about one sync error: both records side by side with the
//! values of the last successful synchronization, and the fix in plain words.

use crate::connector::Record;
use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{
    Candidate, ErrorDetail, FieldComparison, Side, SyncErrorKind, SyncErrorSummary,
};
use crate::pair::read_one;
use crate::store::coupling::Base;
use crate::store::sync_error;
use crate::sync::Run;
use crate::sync::plan::Compiled;

impl Engine {
    /// Error `id` with both records as they are now.
    pub async fn error_detail(&self, id: i64) -> Result<ErrorDetail, EngineError> {
        let mut conn = self.inner.store.conn().await?;
        let row = sync_error::by_ids(&mut conn, &[id])
            .await?
            .pop()
            .ok_or_else(|| EngineError::NotFound(format!("no sync error has id {id}")))?;
        drop(conn);
        let (resolved_at, resolved_by) = (row.resolved_at, row.resolved_by);
        let e = row.summary;
        let (compiled, records, base, (candidates, held)) = match self.pair(&e).await? {
            Ok((compiled, _, coupling, [local, integration])) => (
                compiled,
                [local, integration],
                coupling.base,
                (Vec::new(), false),
            ),
            // Not coupled: only the record that was being synchronized is known, and what
            // it matches on the other side.
            Err(_) => {
                let (compiled, local, integration) = self.prepared(&e.mapping).await?;
                let mut records = [None, None];
                for (slot, side, connector) in [
                    (0, Side::Local, &local),
                    (1, Side::Integration, &integration),
                ] {
                    if let Some(key) = e.key(side) {
                        records[slot] = read_one(&compiled, connector.as_ref(), side, key).await?;
                    }
                }
                let source = match e.side {
                    Side::Local => &records[0],
                    Side::Integration => &records[1],
                };
                let candidates = match source {
                    Some(source) if e.coupling_id.is_none() && resolved_at.is_none() => {
                        let run = Run::reading(
                            &self.inner.store,
                            &compiled,
                            local.as_ref(),
                            integration.as_ref(),
                        );
                        let (found, held) = run
                            .candidates_of(e.side, source)
                            .await
                            .map_err(|error| error.in_mapping(&e.mapping))?;
                        let candidates = found
                            .iter()
                            .map(|r| Candidate {
                                key: r.key.clone(),
                                description: compiled.describe(e.side.other(), r),
                            })
                            .collect();
                        (candidates, held)
                    }
                    _ => (Vec::new(), false),
                };
                (compiled, records, None, candidates)
            }
        };
        let [local, integration] = &records;
        let exists = |side: Side, record: &Option<Record>| e.key(side).map(|_| record.is_some());
        Ok(ErrorDetail {
            local_exists: exists(Side::Local, local),
            integration_exists: exists(Side::Integration, integration),
            fields: compare(&compiled, &e.fields, base.as_ref(), local, integration),
            explanation: explain(&e),
            recommendation: recommend(&e.kind, held),
            candidates,
            held,
            resolved_at,
            resolved_by,
            error: e,
        })
    }
}

/// Each mapped field of both records, now and at the last synchronization (`base`);
/// `conflicts` names the fields in conflict.
pub(crate) fn compare(
    compiled: &Compiled,
    conflicts: &[String],
    base: Option<&Base>,
    local: &Option<Record>,
    integration: &Option<Record>,
) -> Vec<FieldComparison> {
    compiled
        .fields
        .iter()
        .map(|f| {
            let now = |side: Side, record: &Option<Record>| {
                Some(record.as_ref()?.values[f.position(side)?].clone())
            };
            let then = |side: Side| {
                let column = f.field.column(side)?;
                base?.side(side).get(column).cloned()
            };
            let changed = |side: Side, record: &Option<Record>| {
                base.is_some() && record.is_some() && now(side, record) != then(side)
            };
            let local_changed = changed(Side::Local, local);
            let integration_changed = changed(Side::Integration, integration);
            FieldComparison {
                name: f.name().to_string(),
                local_field: f.field.local.clone(),
                integration_field: f.field.integration.clone(),
                local_base: then(Side::Local),
                local: now(Side::Local, local),
                integration_base: then(Side::Integration),
                integration: now(Side::Integration, integration),
                local_changed,
                integration_changed,
                conflict: conflicts.iter().any(|c| c == f.name()),
            }
        })
        .collect()
}

fn explain(e: &SyncErrorSummary) -> String {
    match e.kind {
        SyncErrorKind::UpdateConflict => format!(
            "Both records were changed since they were last synchronized, and they now differ \
             in {}. Synchronization leaves the pair alone until someone chooses which data wins.",
            if e.fields.is_empty() {
                "the same fields".to_string()
            } else {
                e.fields.join(", ")
            }
        ),
        SyncErrorKind::DeletedLocal | SyncErrorKind::DeletedIntegration => format!(
            "{} Synchronization leaves the pair alone until someone decides.",
            e.message
        ),
        SyncErrorKind::Failed => format!(
            "{} It failed {} time{} in a row{}.",
            e.message,
            e.attempts,
            if e.attempts == 1 { "" } else { "s" },
            if e.skipped {
                "; synchronization leaves the record alone until someone acts"
            } else {
                ""
            }
        ),
    }
}

fn recommend(e: &SyncErrorKind, held: bool) -> String {
    if held {
        return "Couple the record with the one of its candidates below that it is, Create New \
                if it is none of them, or edit the records so that exactly one matches; Coupler \
                never chooses between them."
            .to_string();
    }
    match e {
        SyncErrorKind::UpdateConflict => {
            "Choose a side for each conflicting field (the other fields merge), or take one \
             record's data entirely."
        }
        SyncErrorKind::DeletedLocal => {
            "Restore Records recreates the local record from the integration record; Delete \
             Records deletes the integration record too."
        }
        SyncErrorKind::DeletedIntegration => {
            "Restore Records recreates the integration record from the local record; Delete \
             Records deletes the local record too."
        }
        SyncErrorKind::Failed => {
            "Correct the value in the system it came from, then Retry; or Remove Coupling to \
             stop synchronizing the pair."
        }
    }
    .to_string()
}

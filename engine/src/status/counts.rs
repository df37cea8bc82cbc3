//! The sync health counts: how many of a mapping's records are in sync, pending, new,
//! failing, skipped, in conflict, deferred, excluded and uncoupled; and each count's
//! records, a page at a time, every row with its status now.
//!
//! The store counts what it keeps (couplings, errors, deferrals, uncoupled records) from
//! its indexes. Pending and new records are each side's change feed from where the next
//! run reads it (its watermark, and the overlap window until settled), read as a run
//! reads it but only up to [`CHANGES_COUNTED`], so counting stays cheap however far
//! behind a mapping is; the records the engine wrote itself are left out by their
//! couplings, as the run leaves them out. Excluded records are counted by the system.

use crate::connector::Connector;
use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{COUNTED_STATES, HealthCount, RecordsByStatus, Side, StatusCode};
use crate::store::progress::{self, Stream};
use crate::store::{by_status, coupling, overview, sync_error};
use crate::sync::feed_from;
use crate::sync::plan::Compiled;
use std::collections::{HashMap, HashSet};

/// How many changes after a watermark are read to count pending and new records.
pub const CHANGES_COUNTED: usize = 1_000;

/// Records per page of a list by state.
pub const STATUS_PAGE: i64 = 25;

/// The changes after a side's watermark that the next run would take up.
#[derive(Debug, Default)]
struct Waiting {
    /// Coupled records changed since their last synchronization.
    pending: Vec<(Side, String)>,
    /// Records not coupled that the next run creates or couples.
    new: Vec<(Side, String)>,
    /// Whether more changes follow than were read.
    more: bool,
}

impl Engine {
    /// `mapping`'s records counted by state now, in the order of [`COUNTED_STATES`].
    pub async fn records_by_state(&self, mapping: &str) -> Result<Vec<HealthCount>, EngineError> {
        let (compiled, local, integration) = self.prepared(mapping).await?;
        self.count_by_state(&compiled, [local.as_ref(), integration.as_ref()])
            .await
    }

    /// `compiled`'s records counted by state, in the order of [`COUNTED_STATES`].
    pub(crate) async fn count_by_state(
        &self,
        compiled: &Compiled,
        connectors: [&dyn Connector; 2],
    ) -> Result<Vec<HealthCount>, EngineError> {
        let name = compiled.mapping.name.as_str();
        let mut conn = self.inner.store.conn().await?;
        let couplings = overview::coupling_counts(&mut conn, name).await?;
        let store = by_status::counts(&mut conn, name).await?;
        drop(conn);
        let waiting = self.waiting(compiled, connectors).await?;
        let mut excluded = 0;
        for (side, connector) in [Side::Local, Side::Integration].into_iter().zip(connectors) {
            let (count, _) = connector
                .outside_filter_keys(compiled.spec(side), 0, 0)
                .await
                .map_err(|source| system(name, source))?;
            excluded += count;
        }
        let pending = waiting.pending.len() as i64;
        let in_sync = (couplings.all - couplings.pending - couplings.with_errors).max(0);
        Ok(COUNTED_STATES
            .into_iter()
            .map(|code| {
                let (count, at_least) = match code {
                    // A coupled record changed since is pending, not in sync.
                    StatusCode::InSync => ((in_sync - pending).max(0), false),
                    StatusCode::Pending => (pending, waiting.more),
                    StatusCode::New => (waiting.new.len() as i64, waiting.more),
                    StatusCode::Failing => (store.failing, false),
                    StatusCode::AmbiguousMatch => (store.ambiguous_match, false),
                    StatusCode::Skipped => (store.skipped, false),
                    StatusCode::UpdateConflict => (store.update_conflict, false),
                    StatusCode::DeletedLocal => (store.deleted_local, false),
                    StatusCode::DeletedIntegration => (store.deleted_integration, false),
                    StatusCode::Deferred => (store.deferred, false),
                    StatusCode::ExcludedByFilter => (excluded, false),
                    StatusCode::Uncoupled => (store.uncoupled, false),
                    _ => (0, false),
                };
                HealthCount {
                    code,
                    count,
                    at_least,
                }
            })
            .collect())
    }

    /// Page `page` (from 0) of `mapping`'s records in `state`, each with its status now.
    /// The states listed are those the sync health counts.
    pub async fn list_records_by_status(
        &self,
        mapping: &str,
        state: StatusCode,
        page: i64,
    ) -> Result<RecordsByStatus, EngineError> {
        if !COUNTED_STATES.contains(&state) {
            return Err(EngineError::Invalid(format!(
                "status: records are listed by one of {}",
                COUNTED_STATES.map(StatusCode::as_str).join(", ")
            )));
        }
        let page = page.max(0);
        let (compiled, local, integration) = self.prepared(mapping).await?;
        let connectors: [&dyn Connector; 2] = [local.as_ref(), integration.as_ref()];
        let offset = page * STATUS_PAGE;
        // One more than a page tells whether another follows.
        let wanted = STATUS_PAGE + 1;
        let mut conn = self.inner.store.conn().await?;
        let stored = by_status::page(&mut conn, mapping, state, offset, wanted).await?;
        drop(conn);
        let mut keys = match stored {
            Some(keys) => keys,
            None if state == StatusCode::ExcludedByFilter => {
                self.excluded_page(&compiled, connectors, offset as usize, wanted as usize)
                    .await?
            }
            None => {
                let waiting = self.waiting(&compiled, connectors).await?;
                let all = match state {
                    StatusCode::Pending => waiting.pending,
                    _ => waiting.new,
                };
                all.into_iter()
                    .skip(offset as usize)
                    .take(wanted as usize)
                    .collect()
            }
        };
        let more = keys.len() as i64 > STATUS_PAGE;
        keys.truncate(STATUS_PAGE as usize);
        let mut rows = Vec::with_capacity(keys.len());
        for (side, key) in keys {
            rows.push(self.record_status(mapping, side, &key).await?);
        }
        Ok(RecordsByStatus {
            mapping: mapping.to_string(),
            code: state,
            page,
            more,
            rows,
        })
    }

    /// Up to `wanted` of the records outside their side's filter after the first `skip`,
    /// the local side's first, each side's by key.
    async fn excluded_page(
        &self,
        compiled: &Compiled,
        connectors: [&dyn Connector; 2],
        mut skip: usize,
        wanted: usize,
    ) -> Result<Vec<(Side, String)>, EngineError> {
        let mut keys = Vec::new();
        for (side, connector) in [Side::Local, Side::Integration].into_iter().zip(connectors) {
            let (count, found) = connector
                .outside_filter_keys(compiled.spec(side), skip, wanted - keys.len())
                .await
                .map_err(|source| system(&compiled.mapping.name, source))?;
            skip = skip.saturating_sub(count as usize);
            keys.extend(found.into_iter().map(|key| (side, key)));
            if keys.len() >= wanted {
                break;
            }
        }
        Ok(keys)
    }

    /// The changes after each side's watermark that the next run would take up (up to
    /// [`CHANGES_COUNTED`] a side), as pending (coupled) or new (not coupled). Changes
    /// a run of the engine wrote itself, records left uncoupled and unchanged since,
    /// records with an open error (counted with their error) and sides whose changes do
    /// not flow are left out.
    async fn waiting(
        &self,
        compiled: &Compiled,
        connectors: [&dyn Connector; 2],
    ) -> Result<Waiting, EngineError> {
        let name = compiled.mapping.name.as_str();
        let direction = compiled.mapping.direction;
        let mut waiting = Waiting::default();
        for (side, connector) in [Side::Local, Side::Integration].into_iter().zip(connectors) {
            let flows = match side {
                Side::Local => direction.to_integration(),
                Side::Integration => direction.from_integration(),
            };
            if !flows {
                continue;
            }
            let mut conn = self.inner.store.conn().await?;
            let watermark = progress::watermark(&mut conn, name, side, Stream::Changes).await?;
            let settled = match watermark {
                Some(_) => progress::resume_from(&mut conn, name, side)
                    .await?
                    .and_then(|(_, settled)| settled),
                None => None,
            };
            drop(conn);
            let (since, cursor) = feed_from(
                watermark.as_ref(),
                settled,
                compiled.spec(side).ticks_per_ms(),
            );
            let mut records = connector
                .changes(
                    compiled.spec(side),
                    since,
                    cursor.as_ref(),
                    CHANGES_COUNTED + 1,
                )
                .await
                .map_err(|source| system(name, source))?;
            if records.len() > CHANGES_COUNTED {
                records.truncate(CHANGES_COUNTED);
                waiting.more = true;
            }
            let keys: Vec<String> = records.iter().map(|r| r.key.clone()).collect();
            let mut conn = self.inner.store.conn().await?;
            let couplings: HashMap<String, Option<i64>> =
                coupling::by_keys(&mut conn, name, side, &keys)
                    .await?
                    .into_iter()
                    .map(|c| (c.key(side).to_string(), c.modified(side)))
                    .collect();
            let failing: HashSet<String> = sync_error::open_for(&mut conn, name, side, &keys)
                .await?
                .into_iter()
                .filter_map(|e| match side {
                    Side::Local => e.local_key,
                    Side::Integration => e.integration_key,
                })
                .collect();
            let uncoupled = progress::uncoupled_among(&mut conn, name, side, &keys).await?;
            drop(conn);
            for record in records {
                if failing.contains(&record.key) {
                    continue;
                }
                match couplings.get(&record.key) {
                    Some(modified) if *modified == Some(record.modified) => {}
                    Some(_) => waiting.pending.push((side, record.key)),
                    None if uncoupled.get(&record.key) == Some(&record.modified) => {}
                    None if compiled.mapping.sync_only_coupled => {}
                    None => waiting.new.push((side, record.key)),
                }
            }
        }
        Ok(waiting)
    }
}

fn system(mapping: &str, source: crate::connector::ConnectorError) -> EngineError {
    EngineError::System {
        mapping: mapping.to_string(),
        source,
    }
}

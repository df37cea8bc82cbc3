//! The candidates of a run and where they come from. A pass of one side reads first the
//! records to look at again (failed, deferred, creates in flight, uncoupled records whose
//! failure is retried), then the side's change feed from its watermark, overlap window
//! included — or, for a side with change tracking of its own, the system's delta feed
//! from the position it gave last, deletions included; a targeted run reads the keys it
//! was given; tombstones report deletions.
//! Each batch of candidates goes on to [`super::classify`].

use super::classify::{Item, Plan, Position, open_by_key};
use super::{BATCH, OVERLAP_MS, Run, RunError};
use crate::connector::{ChangeCursor, ConnectorError, DeltaNext, Record};
use crate::model::Side;
use crate::store::coupling::{self, Coupling};
use crate::store::progress::{self, Stream};
use crate::store::sync_error;
use std::collections::{BTreeSet, HashMap};

/// Where a pass of one side starts, read from the store before anything is read from the
/// system.
struct Start {
    /// The keys to read again before the change feed.
    revisit: BTreeSet<String>,
    /// The keys that failed earlier in this same job: neither retried nor taken from the
    /// change feed again.
    failed_here: BTreeSet<String>,
    /// The keys of records waiting for a record they depend on.
    deferred: BTreeSet<String>,
    /// The change feed's watermark; none in a full pass.
    watermark: Option<(i64, String)>,
    /// The watermark, once the overlap window behind it has been settled.
    settled: Option<i64>,
    /// When the pass began: a window read long enough after its watermark is settled.
    started: i64,
}

/// Where a change feed is read from after `watermark`: the watermark itself once
/// `settled` there, else its overlap window too (see [`OVERLAP_MS`]); the beginning
/// without one.
pub(crate) fn feed_from(
    watermark: Option<&(i64, String)>,
    settled: Option<i64>,
    ticks_per_ms: i64,
) -> (i64, Option<ChangeCursor>) {
    match watermark {
        None => (i64::MIN, None),
        Some((modified, key)) if settled == Some(*modified) => (
            *modified,
            Some(ChangeCursor {
                modified: *modified,
                key: key.clone(),
            }),
        ),
        Some((modified, _)) => (modified.saturating_sub(OVERLAP_MS * ticks_per_ms), None),
    }
}

impl Run<'_> {
    /// Synchronizes records changed on `from` to the other side: first the records to
    /// look at again (failed, deferred, creates in flight), then the changes since the
    /// watermark, batch by batch.
    pub async fn pass(&mut self, from: Side, full: bool) -> Result<(), RunError> {
        let start = self.start(from, full).await?;
        self.revisit(from, &start).await?;
        if self
            .connector(from)
            .tracks_changes(self.compiled.spec(from))
        {
            return self.delta(from, &start, full).await;
        }
        self.changes(from, &start).await?;
        self.settle(from, &start).await
    }

    /// Reads `from`'s own change tracking from the position it gave last (from the
    /// start in a full pass, or the first): the records changed, batch by batch, and the
    /// deletions, as they come; then keeps the position the feed ends at. A position the
    /// system no longer takes reads the side whole, and the job says so. A crash before
    /// the position is kept reads the round again, whose records are at rest by their
    /// versions.
    async fn delta(&mut self, from: Side, start: &Start, full: bool) -> Result<(), RunError> {
        let (name, spec) = (self.name().to_string(), self.compiled.spec(from));
        let connector = self.connector(from);
        let kept = match full {
            true => None,
            false => {
                let mut conn = self.store.conn().await?;
                progress::watermark(&mut conn, &name, from, Stream::Delta)
                    .await?
                    .map(|(_, position)| position)
            }
        };
        let mut page = match connector.delta(spec, kept.as_deref()).await {
            Err(ConnectorError::Expired { system, message }) => {
                self.notes.push(format!(
                    "{system} no longer took the position its changes were read from \
                     ({message}): {from} was read whole, as in a full synchronization"
                ));
                connector.delta(spec, None).await?
            }
            page => page?,
        };
        loop {
            let fresh: Vec<Record> = std::mem::take(&mut page.records)
                .into_iter()
                .filter(|r| !start.revisit.contains(&r.key) && !start.failed_here.contains(&r.key))
                .collect();
            if !fresh.is_empty() {
                self.batch(from, fresh, false, &start.deferred, None, None)
                    .await?;
            }
            if !page.deleted.is_empty() {
                self.deletions(from, &page.deleted, None).await?;
            }
            match page.next {
                DeltaNext::Page(position) => page = connector.delta(spec, Some(&position)).await?,
                DeltaNext::Round(position) => return self.keep_delta(from, &position).await,
            }
        }
    }

    /// Synchronizes the records with `keys` on `from` now, whatever their modified-on
    /// value: a targeted run (Retry, Set Up Coupling).
    pub async fn targets(&mut self, from: Side, keys: &[String]) -> Result<(), RunError> {
        let name = self.name().to_string();
        let mut conn = self.store.conn().await?;
        let deferred: BTreeSet<String> = progress::deferred(&mut conn, &name, from)
            .await?
            .into_iter()
            .collect();
        drop(conn);
        for chunk in keys.chunks(BATCH) {
            let records = self
                .connector(from)
                .read(self.compiled.spec(from), chunk)
                .await?;
            self.batch(from, records, true, &deferred, None, None)
                .await?;
        }
        Ok(())
    }

    /// Handles the deletions `deleted` reported since its tombstone watermark.
    pub async fn tombstones(&mut self, deleted: Side) -> Result<(), RunError> {
        let name = self.name().to_string();
        if self.compiled.spec(deleted).tombstones.is_none() {
            return Ok(());
        }
        let mut conn = self.store.conn().await?;
        let start = progress::watermark(&mut conn, &name, deleted, Stream::Tombstones)
            .await?
            .map_or((i64::MIN, 0), |(at, _)| (at.saturating_sub(OVERLAP_MS), 0));
        drop(conn);
        let mut after = start;
        loop {
            let tombstones = self
                .connector(deleted)
                .tombstones(self.compiled.spec(deleted), after, BATCH)
                .await?;
            let Some(last) = tombstones.last() else { break };
            after = (last.deleted_at, last.id);
            let keys: Vec<String> = tombstones.iter().map(|t| t.key.clone()).collect();
            self.deletions(deleted, &keys, Some(after)).await?;
        }
        Ok(())
    }

    /// The records of `from` to look at again and the change feed's position.
    async fn start(&self, from: Side, full: bool) -> Result<Start, RunError> {
        let name = self.name();
        let mut conn = self.store.conn().await?;
        let mut revisit: BTreeSet<String> = coupling::to_revisit(&mut conn, name, from)
            .await?
            .into_iter()
            .collect();
        revisit.extend(sync_error::uncoupled_to_retry(&mut conn, name, from).await?);
        // A job taken over from a worker that died does not try again what failed in it
        // already: each record counts once, and none is skipped that a run without the
        // fault would not skip.
        let failed_here: BTreeSet<String> =
            sync_error::failed_in_job(&mut conn, name, from, self.job_id)
                .await?
                .into_iter()
                .collect();
        revisit.retain(|key| !failed_here.contains(key));
        let deferred: BTreeSet<String> = progress::deferred(&mut conn, name, from)
            .await?
            .into_iter()
            .collect();
        revisit.extend(deferred.iter().cloned());
        let watermark = if full {
            None
        } else {
            progress::watermark(&mut conn, name, from, Stream::Changes).await?
        };
        let settled = match (&watermark, full) {
            (Some(_), false) => progress::resume_from(&mut conn, name, from)
                .await?
                .and_then(|(_, settled)| settled),
            _ => None,
        };
        Ok(Start {
            revisit,
            failed_here,
            deferred,
            watermark,
            settled,
            started: crate::store::now_millis(),
        })
    }

    /// Reads the records to look at again, by key. A deferred record that is gone no
    /// longer waits for anything.
    async fn revisit(&mut self, from: Side, start: &Start) -> Result<(), RunError> {
        let name = self.name().to_string();
        let keys: Vec<String> = start.revisit.iter().cloned().collect();
        for chunk in keys.chunks(BATCH) {
            let records = self
                .connector(from)
                .read(self.compiled.spec(from), chunk)
                .await?;
            let gone: Vec<String> = chunk
                .iter()
                .filter(|k| start.deferred.contains(*k) && !records.iter().any(|r| &r.key == *k))
                .cloned()
                .collect();
            if !gone.is_empty() {
                let mut conn = self.store.conn().await?;
                progress::undefer(&mut conn, &name, from, &gone).await?;
            }
            self.batch(from, records, true, &start.deferred, None, None)
                .await?;
        }
        Ok(())
    }

    /// Reads `from`'s change feed from the watermark to its end, batch by batch; the
    /// records read again already are left out. The next page is read while a batch is
    /// decided and written: reading changes nothing, and every record of the next page
    /// comes after the batch's in the feed, so none of them is one the batch writes; the
    /// next page is decided only once the batch has committed, so whatever it looks up in
    /// the store is as the batch left it. At most two pages are held at once.
    async fn changes(&mut self, from: Side, start: &Start) -> Result<(), RunError> {
        // The overlap window is read again until a run has read it long enough after
        // the watermark that nothing older can still arrive; then it is settled.
        let compiled = self.compiled;
        let spec = compiled.spec(from);
        let (since, cursor) =
            feed_from(start.watermark.as_ref(), start.settled, spec.ticks_per_ms());
        let connector = self.connector(from);
        let mut records = connector
            .changes(spec, since, cursor.as_ref(), BATCH)
            .await?;
        while let Some(last) = records.last() {
            let next = ChangeCursor {
                modified: last.modified,
                key: last.key.clone(),
            };
            let fresh: Vec<Record> = records
                .into_iter()
                .filter(|r| !start.revisit.contains(&r.key) && !start.failed_here.contains(&r.key))
                .collect();
            let batch = self.batch(
                from,
                fresh,
                false,
                &start.deferred,
                Some(&next),
                start.watermark.as_ref(),
            );
            let ahead = connector.changes(spec, since, Some(&next), BATCH);
            let (written, ahead) = tokio::join!(batch, ahead);
            written?;
            records = ahead?;
        }
        Ok(())
    }

    /// Settles the overlap window behind the watermark the pass leaves, once the pass
    /// began long enough after it that no commit can still bring an older record.
    async fn settle(&self, from: Side, start: &Start) -> Result<(), RunError> {
        let name = self.name();
        let ticks = self.compiled.spec(from).ticks_per_ms();
        let mut conn = self.store.conn().await?;
        if let Some((modified, _)) =
            progress::watermark(&mut conn, name, from, Stream::Changes).await?
            && start.started.saturating_mul(ticks).saturating_sub(modified)
                >= 2 * OVERLAP_MS * ticks
            && start.settled != Some(modified)
        {
            progress::settle(&mut conn, name, from, modified).await?;
        }
        Ok(())
    }

    /// Handles records with `keys` on `deleted` reported gone: each coupling whose record
    /// really is gone meets the mapping's deletion policy.
    async fn deletions(
        &mut self,
        deleted: Side,
        keys: &[String],
        position: Option<(i64, i64)>,
    ) -> Result<(), RunError> {
        let name = self.name().to_string();
        let survivor_side = deleted.other();
        let mut conn = self.store.conn().await?;
        let couplings = coupling::by_keys(&mut conn, &name, deleted, keys).await?;
        let open = open_by_key(
            sync_error::open_for(&mut conn, &name, deleted, keys).await?,
            deleted,
        );
        drop(conn);
        let back: BTreeSet<String> = self
            .connector(deleted)
            .read(self.compiled.spec(deleted), keys)
            .await?
            .into_iter()
            .map(|r| r.key)
            .collect();
        let couplings: Vec<Coupling> = couplings
            .into_iter()
            .filter(|c| c.pending.is_none() && !back.contains(c.key(deleted)))
            // Reported already and waiting for someone: leave it.
            .filter(|c| !(c.skipped && open.contains_key(c.key(deleted))))
            .collect();
        let survivor_keys: Vec<String> = couplings
            .iter()
            .map(|c| c.key(survivor_side).to_string())
            .collect();
        let mut survivors: HashMap<String, Record> = self
            .connector(survivor_side)
            .read(self.compiled.spec(survivor_side), &survivor_keys)
            .await?
            .into_iter()
            .map(|r| (r.key.clone(), r))
            .collect();
        let items: Vec<Item> = couplings
            .into_iter()
            .map(|c| {
                let survivor = survivors.remove(c.key(survivor_side));
                // The batch is seen from the survivor's side: its record is the source.
                let source = survivor.clone().unwrap_or_else(|| Record {
                    key: c.key(survivor_side).to_string(),
                    modified: 0,
                    values: Vec::new(),
                });
                Item::new(
                    source,
                    Plan::Deleted {
                        coupling: c,
                        deleted,
                        survivor,
                    },
                    false,
                )
            })
            .collect();
        let position = position.map(|(at, id)| Position::Tombstones(at, id));
        self.execute(
            survivor_side,
            items,
            &open_by_key(open.into_values(), survivor_side),
            &BTreeSet::new(),
            position,
        )
        .await
    }
}

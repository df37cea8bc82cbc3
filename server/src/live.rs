//! Live events: one task per process watches the store's change stamp while anyone
//! listens — on PostgreSQL woken by the notices every process's commits send (LISTEN/
//! NOTIFY), on SQLite twice a second — and `/api/events` tells each open console page
//! (server-sent events) when it changed, so pages fetch again within a second of a job's
//! batch or another administrator's action, whichever process did it.

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use engine::Engine;
use futures_util::Stream;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::watch;

/// How often the store is asked whether anything changed, when nothing tells.
const POLL: Duration = Duration::from_millis(500);
/// The same where the store announces its changes, in case a notice is lost.
const FALLBACK: Duration = Duration::from_secs(5);
/// The least time between two looks: a job committing many batches a second makes a
/// few events a second, not one per batch.
const GAP: Duration = Duration::from_millis(150);

/// Starts watching `engine`'s store; the answer counts the changes seen.
pub fn watch_changes(engine: Engine) -> watch::Receiver<u64> {
    let (tx, rx) = watch::channel(0u64);
    tokio::spawn(async move {
        let mut last = None;
        // On PostgreSQL every process's commits are announced (LISTEN/NOTIFY): look when
        // told, at most every GAP, and poll only as a fallback.
        let mut notices = engine.store().change_notices();
        let mut tick = tokio::time::interval(if notices.is_some() { FALLBACK } else { POLL });
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            match notices.as_mut() {
                Some(told) => tokio::select! {
                    _ = tick.tick() => {}
                    changed = told.changed() => {
                        if changed.is_err() {
                            notices = None;
                        }
                        tokio::time::sleep(GAP).await;
                    }
                },
                None => {
                    tick.tick().await;
                }
            }
            if tx.is_closed() {
                break;
            }
            // Only the router's own receiver: nobody listens, so nothing to ask.
            if tx.receiver_count() <= 1 {
                continue;
            }
            match engine.change_stamp().await {
                Ok(stamp) if last != Some(stamp) => {
                    if last.is_some() {
                        tx.send_modify(|n| *n += 1);
                    }
                    last = Some(stamp);
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "could not read the store's change stamp"),
            }
        }
    });
    rx
}

/// `GET /api/events`: a `change` event whenever the store changes.
pub async fn events(
    _: crate::guard::SignedInReader,
    State(state): State<crate::router::AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut changes = state.changes.clone();
    changes.mark_unchanged();
    let stream = futures_util::stream::unfold(changes, |mut changes| async move {
        changes.changed().await.ok()?;
        let count = *changes.borrow_and_update();
        let event = Event::default().event("change").data(count.to_string());
        Some((Ok(event), changes))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

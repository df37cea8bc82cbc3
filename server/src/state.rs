//! What every handler shares: the engine, the console's site, the session policy, and the
//! count of the store's changes. One task per process watches the store's change stamp
//! while anyone listens — on PostgreSQL woken by the notices every process's commits send
//! (LISTEN/NOTIFY), on SQLite twice a second — and counts each change it sees, for
//! [live events](crate::live).

use crate::site::Site;
use axum::extract::FromRef;
use engine::Engine;
use engine::accounts::SessionPolicy;
use leptos::config::{Env, LeptosOptions};
use std::time::Duration;
use tokio::sync::watch;

/// How often the store is asked whether anything changed, when nothing tells.
const POLL: Duration = Duration::from_millis(500);
/// The same where the store announces its changes, in case a notice is lost.
const FALLBACK: Duration = Duration::from_secs(5);
/// The least time between two looks: a job committing many batches a second makes a
/// few events a second, not one per batch.
const GAP: Duration = Duration::from_millis(150);

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The engine, provided as context to every server function and page.
    pub engine: Engine,
    /// Where the console's built files come from.
    pub site: Site,
    /// What the pages call those files.
    pub leptos: LeptosOptions,
    /// Counts the store's changes, for live events.
    pub changes: watch::Receiver<u64>,
    /// How long sessions last.
    pub sessions: SessionPolicy,
    /// The hosts (`name:port`, or a name for any port) requests may name; `None`: any.
    pub allowed_hosts: Option<Vec<String>>,
}

impl AppState {
    /// The state of a router over `engine` serving `site`, watching its store for live
    /// events.
    pub fn new(engine: Engine, site: Site) -> AppState {
        let changes = watch_changes(engine.clone());
        let leptos = LeptosOptions::builder()
            .output_name(site.output_name())
            .site_pkg_dir("pkg")
            .env(Env::PROD)
            .build();
        AppState {
            engine,
            site,
            leptos,
            changes,
            sessions: SessionPolicy::default(),
            allowed_hosts: None,
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

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

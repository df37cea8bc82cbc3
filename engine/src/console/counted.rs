//! Counts shared by every reader: [`Counted`], one figure per key counted at most a
//! period ago, and [`KeptCount`], a count kept while what it counts is unchanged.

use crate::model::{HealthCount, MappingHealth};
use std::time::{Duration, Instant};

/// How long the overview's counts serve before they are counted again.
pub const COUNTS_FOR: Duration = Duration::from_secs(2);

/// How long the records counted by state and the mappings' health serve before they are
/// counted again: they read both systems and every open error, so they are counted less
/// often than the overview's other numbers.
pub const STATES_COUNT_FOR: Duration = Duration::from_secs(10);

/// A figure counted at most a period ago for a key (such as the period it covers),
/// shared by every reader. One reader counts it again while the others take the last
/// count for the same key, so a slow count holds up only the reader who started it.
/// Readers who have nothing to take yet (the first ones, or a new period) wait for the
/// count under way, so that a crowd arriving together counts once, but no longer than
/// the period: then they count for themselves.
#[derive(Debug)]
pub(crate) struct Counted<K, T> {
    /// How long a count serves.
    period: Duration,
    last: std::sync::RwLock<Option<(Instant, K, T)>>,
    /// Held by the reader counting again.
    counting: tokio::sync::Mutex<()>,
    /// Whether a count runs in the background ([`Counted::refresh`]).
    refreshing: std::sync::atomic::AtomicBool,
}

impl<K: Clone + PartialEq, T: Clone> Counted<K, T> {
    pub(crate) fn new(period: Duration) -> Self {
        Counted {
            period,
            last: std::sync::RwLock::new(None),
            counting: tokio::sync::Mutex::new(()),
            refreshing: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The last count for `key` however old, counted again in the background by
    /// `count` when it is not recent (once at a time), so that no reader waits for a
    /// count but the first ones. `None` when there is no count for `key` yet.
    pub(crate) fn refresh<F>(self: &std::sync::Arc<Self>, key: &K, count: F) -> Option<T>
    where
        K: Send + Sync + 'static,
        T: Send + Sync + 'static,
        F: Future<Output = Option<T>> + Send + 'static,
    {
        use std::sync::atomic::Ordering;
        let (value, recent) = self.last(key)?;
        if !recent
            && self
                .refreshing
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            let counted = self.clone();
            let key = key.clone();
            tokio::spawn(async move {
                // Cleared however the count ends, so that a failed count is tried again.
                struct Done<'a>(&'a std::sync::atomic::AtomicBool);
                impl Drop for Done<'_> {
                    fn drop(&mut self) {
                        self.0.store(false, Ordering::Release);
                    }
                }
                let _done = Done(&counted.refreshing);
                if let Some(value) = count.await {
                    *counted.last.write().unwrap_or_else(|e| e.into_inner()) =
                        Some((Instant::now(), key, value));
                }
            });
        }
        Some(value)
    }

    /// The last count for `key`, however old, and whether it is recent.
    fn last(&self, key: &K) -> Option<(T, bool)> {
        let last = self.last.read().unwrap_or_else(|e| e.into_inner());
        match last.as_ref() {
            Some((at, k, value)) if k == key => Some((value.clone(), at.elapsed() < self.period)),
            _ => None,
        }
    }

    /// The last count for `key` if there is one (counted again in the background, as
    /// [`Counted::refresh`] does, when not recent), else counted by `count` now (as
    /// [`Counted::get`] does). A failed count in the background is logged and tried
    /// again by the next reader.
    pub(crate) async fn kept<E, F, Fut>(
        self: &std::sync::Arc<Self>,
        key: K,
        count: F,
    ) -> Result<T, E>
    where
        K: Send + Sync + 'static,
        T: Send + Sync + 'static,
        E: std::fmt::Display,
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let again = count();
        let again = async move {
            again
                .await
                .inspect_err(|error| tracing::warn!(%error, "cannot count the overview's numbers"))
                .ok()
        };
        if let Some(value) = self.refresh(&key, again) {
            return Ok(value);
        }
        self.get(key, async || count().await).await
    }

    /// The figure for `key`: the last count if recent, else counted again with `count`.
    pub(crate) async fn get<E>(
        &self,
        key: K,
        count: impl AsyncFnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let last = self.last(&key);
        if let Some((value, true)) = last {
            return Ok(value);
        }
        let _counting = match (self.counting.try_lock(), last) {
            (Ok(guard), _) => Some(guard),
            (Err(_), Some((value, _))) => return Ok(value),
            (Err(_), None) => match tokio::time::timeout(self.period, self.counting.lock()).await {
                Ok(guard) => match self.last(&key) {
                    Some((value, true)) => return Ok(value),
                    _ => Some(guard),
                },
                Err(_) => None,
            },
        };
        let value = count().await?;
        *self.last.write().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), key, value.clone()));
        Ok(value)
    }
}

/// A count of the open errors a filter matches, and when and at which stamp it was taken.
#[derive(Debug)]
pub(crate) struct KeptCount {
    pub(crate) stamp: [i64; 2],
    pub(crate) count: i64,
    pub(crate) at: Instant,
}

/// A mapping's records by state and its health, as the overview counted them last.
#[derive(Clone, Debug)]
pub(crate) struct MappingStates {
    pub(crate) mapping: String,
    pub(crate) by_state: Vec<HealthCount>,
    pub(crate) health: MappingHealth,
}

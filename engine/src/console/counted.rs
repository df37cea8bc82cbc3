//! Counts shared by every reader: [`Counted`], one figure per key counted at most a
//! period ago (longer when counting is slow), and [`CountedEach`], such a figure for each
//! of many things, such as the errors each filter matches.

use crate::model::{HealthCount, MappingHealth};
use std::time::{Duration, Instant};

/// How long the overview's counts serve before they are counted again.
pub const COUNTS_FOR: Duration = Duration::from_secs(2);

/// How long the records counted by state and the mappings' health serve before they are
/// counted again: they read both systems and every open error, so they are counted less
/// often than the overview's other numbers.
pub const STATES_COUNT_FOR: Duration = Duration::from_secs(10);

/// A count serves at least this many times as long as it took, so that counting again
/// keeps the store busy a tenth of the time at most, however much there is to count (a
/// million couplings take the store's process most of a second to count).
pub const SERVES_TIMES_ITS_COST: u32 = 10;

/// How long a [`CountedEach`] keeps the figure of something nobody reads.
const FORGOTTEN_AFTER: Duration = Duration::from_secs(60);

/// A figure as counted: when, for which key, and for how long it serves.
#[derive(Debug)]
struct Count<K, T> {
    at: Instant,
    serves: Duration,
    key: K,
    value: T,
}

/// A figure counted at most a period ago for a key (such as the period it covers),
/// shared by every reader. One reader counts it again while the others take the last
/// count for the same key, so a slow count holds up only the reader who started it.
/// Readers who have nothing to take yet (the first ones, or a new period) wait for the
/// count under way, so that a crowd arriving together counts once, but no longer than
/// the period: then they count for themselves. A count serves for the period, or
/// [`SERVES_TIMES_ITS_COST`] times as long as it took if that is longer.
#[derive(Debug)]
pub(crate) struct Counted<K, T> {
    /// How long a count serves at least.
    period: Duration,
    last: std::sync::RwLock<Option<Count<K, T>>>,
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
                let started = Instant::now();
                if let Some(value) = count.await {
                    counted.keep(started, key, value);
                }
            });
        }
        Some(value)
    }

    /// The last count for `key`, however old, and whether it is recent.
    fn last(&self, key: &K) -> Option<(T, bool)> {
        let last = self.last.read().unwrap_or_else(|e| e.into_inner());
        match last.as_ref() {
            Some(c) if c.key == *key => Some((c.value.clone(), c.at.elapsed() < c.serves)),
            _ => None,
        }
    }

    /// Keeps `value`, counted for `key` from `started` until now.
    fn keep(&self, started: Instant, key: K, value: T) {
        let serves = self.period.max(started.elapsed() * SERVES_TIMES_ITS_COST);
        *self.last.write().unwrap_or_else(|e| e.into_inner()) = Some(Count {
            at: Instant::now(),
            serves,
            key,
            value,
        });
    }

    /// Whether nothing was counted yet, or the last count is younger than `age`.
    fn counted_within(&self, age: Duration) -> bool {
        let last = self.last.read().unwrap_or_else(|e| e.into_inner());
        last.as_ref().is_none_or(|c| c.at.elapsed() < age)
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
        let started = Instant::now();
        let value = count().await?;
        self.keep(started, key, value.clone());
        Ok(value)
    }
}

/// A [`Counted`] figure for each of many things (`W`), each counted on its own; the
/// figures nobody read for a minute are forgotten.
#[derive(Debug)]
pub(crate) struct CountedEach<W, K, T> {
    period: Duration,
    each: std::sync::Mutex<std::collections::HashMap<W, std::sync::Arc<Counted<K, T>>>>,
}

impl<W: Clone + Eq + std::hash::Hash, K: Clone + PartialEq, T: Clone> CountedEach<W, K, T> {
    pub(crate) fn new(period: Duration) -> Self {
        CountedEach {
            period,
            each: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// The figure of `which`, shared by everyone who reads it.
    pub(crate) fn of(&self, which: &W) -> std::sync::Arc<Counted<K, T>> {
        let mut each = self.each.lock().unwrap_or_else(|e| e.into_inner());
        each.retain(|_, c| c.counted_within(FORGOTTEN_AFTER));
        each.entry(which.clone())
            .or_insert_with(|| std::sync::Arc::new(Counted::new(self.period)))
            .clone()
    }
}

/// A mapping's records by state and its health, as the overview counted them last.
#[derive(Clone, Debug)]
pub(crate) struct MappingStates {
    pub(crate) mapping: String,
    pub(crate) by_state: Vec<HealthCount>,
    pub(crate) health: MappingHealth,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A count of `counted` that takes `took` and answers how many counts there were.
    async fn slow_count(counted: &AtomicUsize, took: Duration) -> Result<usize, String> {
        tokio::time::sleep(took).await;
        Ok(counted.fetch_add(1, Ordering::SeqCst) + 1)
    }

    #[tokio::test]
    async fn a_slow_count_serves_ten_times_as_long_as_it_took() {
        let counts = AtomicUsize::new(0);
        let fast = Counted::new(Duration::from_millis(20));
        assert_eq!(
            fast.get((), async || slow_count(&counts, Duration::ZERO).await)
                .await,
            Ok(1)
        );
        tokio::time::sleep(Duration::from_millis(40)).await;
        // Past its period, a quick count is taken again.
        assert_eq!(
            fast.get((), async || slow_count(&counts, Duration::ZERO).await)
                .await,
            Ok(2)
        );

        let slow = Counted::new(Duration::from_millis(20));
        let took = Duration::from_millis(50);
        assert_eq!(
            slow.get((), async || slow_count(&counts, took).await).await,
            Ok(3)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Within ten times what it took (500 ms), the slow one still serves.
        assert_eq!(
            slow.get((), async || slow_count(&counts, took).await).await,
            Ok(3)
        );
        assert_eq!(counts.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_crowd_after_a_change_waits_for_one_count() {
        let counts = Arc::new(AtomicUsize::new(0));
        let each: Arc<CountedEach<&str, u32, usize>> =
            Arc::new(CountedEach::new(Duration::from_secs(2)));
        for stamp in [1, 2] {
            let readers: Vec<_> = (0..20)
                .map(|_| {
                    let (each, counts) = (each.clone(), counts.clone());
                    tokio::spawn(async move {
                        let took = Duration::from_millis(30);
                        let counted = each.of(&"open errors");
                        counted
                            .get(stamp, async || slow_count(&counts, took).await)
                            .await
                    })
                })
                .collect();
            for reader in readers {
                reader.await.unwrap().unwrap();
            }
            // One count for each stamp, however many read it.
            assert_eq!(counts.load(Ordering::SeqCst), stamp as usize);
        }
        // Another filter is counted on its own.
        let other = each.of(&"failed only");
        let n = other
            .get(2, async || slow_count(&counts, Duration::ZERO).await)
            .await;
        assert_eq!(n, Ok(3));
    }
}

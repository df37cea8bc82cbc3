//! Service protection: every request to one OData system passes its [`Gate`]. A 429 or
//! 503 with `Retry-After` closes the gate for every request of that system until the
//! time given (sending more would only extend the penalty), and the request is sent again
//! when it opens. How many requests may be out at once adapts: one fewer after each
//! refusal, one more after a run of answers without one, never above the configured
//! limit, nor above the degree of parallelism the service recommends (Dataverse's
//! `x-ms-dop-hint`) once it has said one.

use crate::connector::Traffic;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, SemaphorePermit};

/// Answers in a row without a refusal after which one more request may be out at once.
const GROW_AFTER: u64 = 50;

/// The longest one `Retry-After` is honoured for; a service asking for longer is asked
/// again after this.
const LONGEST_WAIT: Duration = Duration::from_secs(300);

/// The gate of one system's requests.
#[derive(Debug)]
pub(super) struct Gate {
    /// Until when no request may be sent.
    closed_until: Mutex<Option<Instant>>,
    /// Requests out at once, within `limit`.
    permits: Semaphore,
    /// The most requests out at once, as configured.
    limit: usize,
    /// Permits currently held back after refusals.
    held_back: Mutex<usize>,
    /// Answers since the last refusal.
    calm: AtomicU64,
    /// The most requests out at once it grows back to: the limit, or the service's hint.
    ceiling: AtomicU64,
    /// Whether the service's recommended parallelism has been taken.
    hinted: std::sync::atomic::AtomicBool,
    /// Requests let through; refusals met (429 or 503), and the milliseconds they cost.
    requests: AtomicU64,
    refusals: AtomicU64,
    waited_ms: AtomicU64,
}

impl Gate {
    /// A gate letting `limit` requests out at once.
    pub(super) fn new(limit: usize) -> Gate {
        let limit = limit.max(1);
        Gate {
            closed_until: Mutex::new(None),
            permits: Semaphore::new(limit),
            limit,
            held_back: Mutex::new(0),
            calm: AtomicU64::new(0),
            hinted: std::sync::atomic::AtomicBool::new(false),
            ceiling: AtomicU64::new(limit as u64),
            requests: AtomicU64::new(0),
            refusals: AtomicU64::new(0),
            waited_ms: AtomicU64::new(0),
        }
    }

    /// Waits until the gate is open and a request may be out; the permit is held while
    /// it is.
    pub(super) async fn enter(&self) -> SemaphorePermit<'_> {
        loop {
            let until = *self.closed_until.lock().expect("gate");
            match until {
                Some(until) if until > Instant::now() => {
                    let wait = until - Instant::now();
                    tokio::time::sleep(wait).await;
                    self.waited_ms
                        .fetch_add(wait.as_millis() as u64, Ordering::Relaxed);
                }
                _ => break,
            }
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.permits
            .acquire()
            .await
            .expect("the gate's permits are never closed")
    }

    /// The service answered without refusing.
    pub(super) fn answered(&self) {
        if self.calm.fetch_add(1, Ordering::Relaxed) + 1 >= GROW_AFTER {
            self.calm.store(0, Ordering::Relaxed);
            let mut held = self.held_back.lock().expect("gate");
            let out_at_once = self.limit - *held;
            if *held > 0 && (out_at_once as u64) < self.ceiling.load(Ordering::Relaxed) {
                *held -= 1;
                self.permits.add_permits(1);
            }
        }
    }

    /// The service recommends `hint` requests at once: the first time it says so, the
    /// gate lets no more than that out (and never grows past it).
    pub(super) fn hint(&self, hint: usize) {
        if self.hinted.swap(true, Ordering::Relaxed) {
            return;
        }
        let mut held = self.held_back.lock().expect("gate");
        let keep = hint.clamp(1, self.limit);
        while self.limit - *held > keep {
            match self.permits.try_acquire() {
                Ok(permit) => permit.forget(),
                // The rest are out now; the hint stands as the ceiling to grow to.
                Err(_) => break,
            }
            *held += 1;
        }
        drop(held);
        self.ceiling.store(keep as u64, Ordering::Relaxed);
    }

    /// The service refused a request and asked for `wait`: the gate closes until then,
    /// and one request fewer may be out at once.
    pub(super) fn refused(&self, wait: Duration) {
        self.refusals.fetch_add(1, Ordering::Relaxed);
        self.calm.store(0, Ordering::Relaxed);
        let until = Instant::now() + wait.min(LONGEST_WAIT);
        let mut closed = self.closed_until.lock().expect("gate");
        *closed = Some(closed.map_or(until, |c| c.max(until)));
        drop(closed);
        let mut held = self.held_back.lock().expect("gate");
        if *held + 1 < self.limit
            && let Ok(permit) = self.permits.try_acquire()
        {
            permit.forget();
            *held += 1;
        }
    }

    /// What the gate has let through and met so far.
    pub(super) fn traffic(&self) -> Traffic {
        let now = Instant::now();
        let closed_until = self
            .closed_until
            .lock()
            .expect("gate")
            .filter(|until| *until > now)
            .map(|until| {
                jiff::Timestamp::now().as_millisecond() + (until - now).as_millis() as i64
            });
        Traffic {
            requests: self.requests.load(Ordering::Relaxed),
            refusals: self.refusals.load(Ordering::Relaxed),
            waited_ms: self.waited_ms.load(Ordering::Relaxed),
            closed_until,
        }
    }
}

/// How long a `Retry-After` value asks to wait: seconds, or an HTTP date.
pub(super) fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(1e6)));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value)
        .ok()?;
    let wait = at.as_millisecond() - jiff::Timestamp::now().as_millisecond();
    Some(Duration::from_millis(wait.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon"), None);
    }

    #[tokio::test]
    async fn a_refusal_closes_the_gate_until_the_time_asked_and_holds_a_request_back() {
        let gate = Gate::new(4);
        gate.refused(Duration::from_millis(150));
        let until = gate.traffic().closed_until.expect("closed");
        let from_now = until - jiff::Timestamp::now().as_millisecond();
        assert!((100..=150).contains(&from_now), "{from_now} ms");
        let started = Instant::now();
        let permit = gate.enter().await;
        assert!(started.elapsed() >= Duration::from_millis(140));
        assert_eq!(gate.traffic().closed_until, None, "open again");
        assert_eq!(gate.permits.available_permits(), 2, "three out at once now");
        drop(permit);
        for _ in 0..GROW_AFTER {
            gate.answered();
        }
        assert_eq!(gate.permits.available_permits(), 4, "grown back");
        assert_eq!(gate.traffic().refusals, 1);
    }

    #[test]
    fn the_services_hint_is_taken_once_and_never_grown_past() {
        let gate = Gate::new(8);
        gate.hint(3);
        assert_eq!(gate.permits.available_permits(), 3);
        gate.hint(6);
        assert_eq!(gate.permits.available_permits(), 3, "the first hint stands");
        for _ in 0..GROW_AFTER * 3 {
            gate.answered();
        }
        assert_eq!(gate.permits.available_permits(), 3, "never past the hint");
        gate.refused(Duration::ZERO);
        assert_eq!(gate.permits.available_permits(), 2);
        for _ in 0..GROW_AFTER {
            gate.answered();
        }
        assert_eq!(
            gate.permits.available_permits(),
            3,
            "grown back to the hint"
        );
    }
}

//! [`SignInLimits`]: failed sign-ins counted in this process, per account and per
//! network address, so that guessing passwords is slow.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed sign-ins within [`SignInLimits::window`] allowed before further attempts are
/// refused until the window passes: per account, and per network address.
#[derive(Debug)]
pub(crate) struct SignInLimits {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl SignInLimits {
    const PER_ACCOUNT: u32 = 5;
    const PER_ADDRESS: u32 = 20;
    const WINDOW: Duration = Duration::from_secs(15 * 60);

    pub(crate) fn new() -> SignInLimits {
        SignInLimits {
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(name: &str, address: &str) -> [(String, u32); 2] {
        [
            (format!("account {name}"), Self::PER_ACCOUNT),
            (format!("address {address}"), Self::PER_ADDRESS),
        ]
    }

    /// Reserves one attempt of `name` from `address`, counted as failed until
    /// [`SignInLimits::succeeded`] says otherwise: the check and the count are one step,
    /// so attempts sent at once cannot all pass the check before any is counted. Answers
    /// how long to wait instead when a limit is reached.
    pub(crate) fn reserve(&self, name: &str, address: &str) -> Result<(), Duration> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.retain(|_, (_, since)| since.elapsed() < Self::WINDOW);
        let keys = Self::keys(name, address);
        let wait = keys
            .iter()
            .filter_map(|(key, limit)| {
                let (count, since) = failures.get(key)?;
                (*count >= *limit).then(|| Self::WINDOW.saturating_sub(since.elapsed()))
            })
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        for (key, _) in keys {
            failures.entry(key).or_insert((0, Instant::now())).0 += 1;
        }
        Ok(())
    }

    /// The attempt reserved for `name` from `address` was never made (its password could
    /// not be checked): it does not count.
    pub(crate) fn release(&self, name: &str, address: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for (key, _) in Self::keys(name, address) {
            if let Some((count, _)) = failures.get_mut(&key) {
                *count = count.saturating_sub(1);
            }
        }
    }

    /// `name` signed in from `address`: its account starts afresh, and the attempt
    /// reserved for the address was no failure.
    pub(crate) fn succeeded(&self, name: &str, address: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&format!("account {name}"));
        if let Some((count, _)) = failures.get_mut(&format!("address {address}")) {
            *count = count.saturating_sub(1);
        }
    }
}

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

    /// How long until `name` from `address` may try again, if it may not now.
    pub(crate) fn wait(&self, name: &str, address: &str) -> Option<Duration> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.retain(|_, (_, since)| since.elapsed() < Self::WINDOW);
        Self::keys(name, address)
            .into_iter()
            .filter_map(|(key, limit)| {
                let (count, since) = failures.get(&key)?;
                (*count >= limit).then(|| Self::WINDOW.saturating_sub(since.elapsed()))
            })
            .max()
    }

    pub(crate) fn failed(&self, name: &str, address: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for (key, _) in Self::keys(name, address) {
            failures.entry(key).or_insert((0, Instant::now())).0 += 1;
        }
    }

    pub(crate) fn succeeded(&self, name: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&format!("account {name}"));
    }
}

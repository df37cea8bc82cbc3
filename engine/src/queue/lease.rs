//! Leases on running jobs: who holds one (`coupler@HOST:PID:N`), and ending at once the
//! leases of workers of this machine that have died.

use crate::store::{StoreError, job};

/// How long a worker's claim on a job lasts without a heartbeat. A job whose worker died
/// is claimable again after this, well within a minute.
pub const LEASE_MS: i64 = 30_000;

/// This machine's name, as the kernel knows it (empty where that cannot be read).
pub(crate) fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_default()
}

/// Whether lease owner `owner` (`coupler@HOST:PID:N`) is a process of this machine that
/// no longer runs. Anything else — another machine, an unreadable name, a system
/// without `/proc` — is not known to be gone, and its lease runs out as usual.
fn owner_is_gone(owner: &str) -> bool {
    let mut parts = owner
        .strip_prefix("coupler@")
        .unwrap_or_default()
        .rsplitn(3, ':');
    let (Some(_), Some(pid), Some(host)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let here = this_host();
    !here.is_empty()
        && host == here
        && std::path::Path::new("/proc/self").exists()
        && pid.parse::<u32>().is_ok_and(|pid| {
            pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        })
}

/// Ends the leases of running jobs whose worker was a process of this machine that has
/// died (killed, crashed): a restarted `coupler` takes their work over at once instead
/// of waiting for the lease to run out.
pub(crate) async fn release_dead_leases(conn: &mut sqlx::AnyConnection) -> Result<(), StoreError> {
    for (id, owner) in job::lease_holders(conn).await? {
        if owner_is_gone(&owner) {
            tracing::info!(
                job = id,
                owner,
                "the job's worker has died; its lease ends now"
            );
            job::expire_lease(conn, id, &owner).await?;
        }
    }
    Ok(())
}

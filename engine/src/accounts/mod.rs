//! Console accounts: passwords hashed with Argon2id, sessions kept in the store (so every
//! process sharing it knows them), sign-in attempts limited per account and per address,
//! and the audit log's reader. Every change to an account is audited in its transaction.

pub(crate) mod limits;

use crate::error::EngineError;
use crate::handle::Engine;
use crate::model::{AuditEntry, AuditFilter, Role, SignedIn, UserSummary};
use crate::store::{account, action, now_millis};
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{self, Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::sync::OnceLock;
use std::time::Duration;

/// The longest account name.
pub const MAX_NAME: usize = 64;
/// The shortest password.
pub const MIN_PASSWORD: usize = 8;
/// The longest password (hashing is the cost; this bounds it).
pub const MAX_PASSWORD: usize = 1024;

/// How long sessions last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused this long ends.
    pub idle: Duration,
    /// A session ends this long after sign-in, used or not.
    pub absolute: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle: Duration::from_secs(60 * 60),
            absolute: Duration::from_secs(12 * 60 * 60),
        }
    }
}

fn hasher() -> Argon2<'static> {
    // 19 MiB, 2 passes, 1 lane: the least that is recommended for Argon2id.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Password hashes computed at once, each on a thread of its own kept for hashing: a
/// hash holds 19 MiB while it runs, and memory a thread once used stays with it, so a
/// crowd of sign-ins (wrong names included) can take no more than this many of them.
const HASHING: usize = 2;

/// Sign-ins that may wait for a hash beyond those running; past that they are answered
/// "try again" at once.
const HASH_QUEUE: usize = 32;

/// Work for the hashing threads.
type HashWork = Box<dyn FnOnce() + Send>;

/// The queue of the [`HASHING`] threads, started on first use.
fn hashing_queue() -> &'static std::sync::mpsc::SyncSender<HashWork> {
    static QUEUE: OnceLock<std::sync::mpsc::SyncSender<HashWork>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (queue, work) = std::sync::mpsc::sync_channel::<HashWork>(HASH_QUEUE);
        let work = std::sync::Arc::new(std::sync::Mutex::new(work));
        for n in 0..HASHING {
            let work = work.clone();
            let started = std::thread::Builder::new()
                .name(format!("coupler-hash-{n}"))
                .spawn(move || {
                    loop {
                        let next = work.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        match next {
                            Ok(hash) => hash(),
                            Err(_) => break,
                        }
                    }
                });
            if let Err(error) = started {
                tracing::error!(%error, "cannot start a password hashing thread");
            }
        }
        queue
    })
}

/// Runs `work` (a password hash) on one of the hashing threads; refused as
/// [`EngineError::Throttled`] when [`HASH_QUEUE`] hashes wait already.
async fn hashing<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, EngineError> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    hashing_queue()
        .try_send(Box::new(move || {
            let _ = answer.send(work());
        }))
        .map_err(|_| EngineError::Throttled(1))?;
    answered
        .await
        .map_err(|_| EngineError::Invalid("password hashing has stopped".into()))
}

/// Argon2 of `password` and `salt` into `len` bytes, in this hashing thread's own working
/// memory, kept from one hash to the next: 19 MiB allocated afresh for each hash stays
/// with the allocator after it, until a crowd of sign-ins has taken hundreds of MiB.
fn argon2_output(
    argon: &Argon2<'_>,
    password: &[u8],
    salt: Salt<'_>,
    len: usize,
) -> password_hash::Result<Output> {
    thread_local!(static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) });
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes)?;
    MEMORY.with_borrow_mut(|blocks| {
        blocks.resize(argon.params().block_count(), Block::default());
        Output::init_with(len, |out| {
            Ok(argon.hash_password_into_with_memory(password, salt, out, &mut blocks[..])?)
        })
    })
}

/// A new hash of `secret` with a fresh salt, as a PHC string (`$argon2id$v=19$…`).
fn new_hash(secret: &[u8]) -> password_hash::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let argon = hasher();
    let output = argon2_output(&argon, secret, salt.as_salt(), Params::DEFAULT_OUTPUT_LEN)?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params())?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

async fn hash_password(password: String) -> Result<String, EngineError> {
    hashing(move || new_hash(password.as_bytes()))
        .await?
        .map_err(|e| EngineError::Invalid(format!("the password cannot be hashed: {e}")))
}

/// Whether `password` matches `hash`; without a hash (no such account) it is checked
/// against a decoy, so that a wrong name takes as long to refuse as a wrong password.
async fn password_matches(password: String, hash: Option<String>) -> Result<bool, EngineError> {
    hashing(move || {
        let hash = hash.unwrap_or_else(decoy_hash);
        let matches = || -> password_hash::Result<bool> {
            let parsed = PasswordHash::new(&hash)?;
            let version = parsed
                .version
                .map_or(Ok(Version::V0x13), Version::try_from)?;
            let argon = Argon2::new(
                Algorithm::try_from(parsed.algorithm)?,
                version,
                Params::try_from(&parsed)?,
            );
            let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
                return Ok(false);
            };
            let output = argon2_output(&argon, password.as_bytes(), salt, expected.len())?;
            // Outputs compare in constant time.
            Ok(output == expected)
        };
        matches().unwrap_or(false)
    })
    .await
}

/// A hash no password matches, verified for unknown accounts so that a wrong name takes
/// as long to refuse as a wrong password.
fn decoy_hash() -> String {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY
        .get_or_init(|| {
            let mut secret = [0u8; 32];
            OsRng.fill_bytes(&mut secret);
            new_hash(&secret).unwrap_or_default()
        })
        .clone()
}

/// A new session token: 256 random bits, as hex.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A readable random password: 16 letters and digits (about 95 bits).
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// Refuses names that would not read plainly in the audit log or a URL.
pub fn check_name(name: &str) -> Result<(), EngineError> {
    let fine = |c: char| c.is_ascii_alphanumeric() || "._@-".contains(c);
    if name.is_empty() || name.len() > MAX_NAME || !name.chars().all(fine) {
        return Err(EngineError::Invalid(format!(
            "a user name is 1 to {MAX_NAME} letters, digits, dots, dashes, underscores or @"
        )));
    }
    if name == crate::model::Trigger::SCHEDULE {
        return Err(EngineError::Invalid(format!(
            "{name:?} is the name of the mappings' schedule: choose another"
        )));
    }
    Ok(())
}

fn check_password(password: &str) -> Result<(), EngineError> {
    let length = password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&length) {
        return Err(EngineError::Invalid(format!(
            "a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters"
        )));
    }
    Ok(())
}

/// Whether `session` is neither idle nor older than `policy` allows, at `now`.
fn session_lasts(session: &account::SessionRow, policy: SessionPolicy, now: i64) -> bool {
    now - session.created_at < millis(policy.absolute)
        && now - session.seen_at < millis(policy.idle)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Engine {
    /// Adds an account with `role` and `password`.
    pub async fn add_user(
        &self,
        actor: &str,
        name: &str,
        role: Role,
        password: &str,
    ) -> Result<(), EngineError> {
        check_name(name)?;
        check_password(password)?;
        let hash = hash_password(password.to_string()).await?;
        let mut tx = self.inner.store.begin().await?;
        if !account::insert(&mut tx, name, &hash, role, now_millis()).await? {
            return Err(EngineError::Invalid(format!("a user named {name} exists")));
        }
        action::audit(
            &mut tx,
            actor,
            "add_user",
            name,
            &format!("added as {role}"),
            None,
        )
        .await?;
        tx.commit().await.map_err(EngineError::from)?;
        tracing::info!(actor, user = name, %role, "user added");
        Ok(())
    }

    /// Every account.
    pub async fn users(&self) -> Result<Vec<UserSummary>, EngineError> {
        let mut conn = self.inner.store.conn().await?;
        Ok(account::list(&mut conn).await?)
    }

    /// Changes an account's role. The last admin stays an admin.
    pub async fn set_user_role(
        &self,
        actor: &str,
        name: &str,
        role: Role,
    ) -> Result<(), EngineError> {
        let mut tx = self.inner.store.begin().await?;
        self.keep_an_admin(&mut tx, name, role).await?;
        if !account::set_role(&mut tx, name, role).await? {
            return Err(EngineError::NotFound(format!("no user is named {name}")));
        }
        action::audit(
            &mut tx,
            actor,
            "set_user_role",
            name,
            &format!("now {role}"),
            None,
        )
        .await?;
        tx.commit().await.map_err(EngineError::from)?;
        Ok(())
    }

    /// Removes an account and ends its sessions. The last admin stays.
    pub async fn remove_user(&self, actor: &str, name: &str) -> Result<(), EngineError> {
        let mut tx = self.inner.store.begin().await?;
        self.keep_an_admin(&mut tx, name, Role::Viewer).await?;
        if !account::delete(&mut tx, name).await? {
            return Err(EngineError::NotFound(format!("no user is named {name}")));
        }
        action::audit(&mut tx, actor, "remove_user", name, "removed", None).await?;
        tx.commit().await.map_err(EngineError::from)?;
        Ok(())
    }

    /// Refuses to leave the store without an admin: someone must be able to manage it.
    async fn keep_an_admin(
        &self,
        conn: &mut sqlx::AnyConnection,
        name: &str,
        becomes: Role,
    ) -> Result<(), EngineError> {
        let is_admin = account::credentials(conn, name)
            .await?
            .is_some_and(|(_, role)| role == Role::Admin);
        if is_admin && becomes != Role::Admin && account::count_with(conn, Role::Admin).await? <= 1
        {
            return Err(EngineError::Invalid(format!(
                "{name} is the only admin: make another user admin first"
            )));
        }
        Ok(())
    }

    /// Signs `name` in from `address`: answers a new session token and who it signs in, or refuses a wrong
    /// name or password (in the same words, after the same work) and too many attempts.
    pub async fn sign_in(
        &self,
        name: &str,
        password: &str,
        address: &str,
    ) -> Result<(String, SignedIn), EngineError> {
        let limits = &self.inner.sign_in_limits;
        limits
            .reserve(name, address)
            .map_err(|wait| EngineError::Throttled(wait.as_secs().max(1)))?;
        let found = if name.len() <= MAX_NAME && password.len() <= MAX_PASSWORD {
            let mut conn = self.inner.store.conn().await?;
            account::credentials(&mut conn, name).await?
        } else {
            None
        };
        let hash = found.as_ref().map(|(hash, _)| hash.clone());
        let matches = match password_matches(password.to_string(), hash).await {
            Ok(matches) => matches,
            Err(error) => {
                limits.release(name, address);
                return Err(error);
            }
        };
        // Names are only written to the audit log once they are known to be accounts.
        let shown = if found.is_some() {
            name
        } else {
            "unknown user"
        };
        let mut tx = self.inner.store.begin().await?;
        let Some((_, role)) = found.filter(|_| matches) else {
            action::audit(
                &mut tx,
                shown,
                "sign_in",
                address,
                "refused: wrong name or password",
                None,
            )
            .await?;
            tx.commit().await.map_err(EngineError::from)?;
            return Err(EngineError::Denied("wrong name or password".into()));
        };
        limits.succeeded(name, address);
        let token = new_token();
        account::open_session(&mut tx, &token_hash(&token), name, now_millis()).await?;
        action::audit(&mut tx, name, "sign_in", address, "signed in", None).await?;
        tx.commit().await.map_err(EngineError::from)?;
        let signed_in = SignedIn {
            name: name.to_string(),
            role,
        };
        Ok((token, signed_in))
    }

    /// Whether session `token` is still open and within `policy`, without counting the
    /// question as a use of it: for a page that stays open, such as live events.
    pub async fn session_is_open(
        &self,
        token: &str,
        policy: SessionPolicy,
    ) -> Result<bool, EngineError> {
        let mut conn = self.inner.store.conn().await?;
        let session = account::session(&mut conn, &token_hash(token)).await?;
        Ok(session.is_some_and(|s| session_lasts(&s, policy, now_millis())))
    }

    /// The account signed in with `token`, if its session is open and within `policy`.
    /// A session found expired is ended.
    pub async fn session(
        &self,
        token: &str,
        policy: SessionPolicy,
    ) -> Result<Option<SignedIn>, EngineError> {
        let hash = token_hash(token);
        let mut conn = self.inner.store.conn().await?;
        let Some(session) = account::session(&mut conn, &hash).await? else {
            return Ok(None);
        };
        let now = now_millis();
        if !session_lasts(&session, policy, now) {
            account::end_session(&mut conn, &hash).await?;
            return Ok(None);
        }
        // A write per request would serialise readers on SQLite: once a minute is
        // precise enough for an idle timeout counted in minutes.
        if now - session.seen_at >= 60_000.min(millis(policy.idle) / 2) {
            account::touch_session(&mut conn, &hash, now).await?;
        }
        Ok(Some(SignedIn {
            name: session.name,
            role: session.role,
        }))
    }

    /// Ends the session of `token`.
    pub async fn sign_out(&self, token: &str) -> Result<(), EngineError> {
        let mut conn = self.inner.store.conn().await?;
        account::end_session(&mut conn, &token_hash(token)).await?;
        Ok(())
    }

    /// Ends every session of `name`, on every process; answers how many there were.
    pub async fn sign_out_everywhere(&self, actor: &str, name: &str) -> Result<u64, EngineError> {
        let mut tx = self.inner.store.begin().await?;
        let ended = account::end_sessions(&mut tx, name).await?;
        action::audit(
            &mut tx,
            actor,
            "sign_out_everywhere",
            name,
            &format!("{ended} sessions ended"),
            None,
        )
        .await?;
        tx.commit().await.map_err(EngineError::from)?;
        Ok(ended)
    }

    /// Ends the sessions `policy` has expired; answers how many.
    pub async fn end_expired_sessions(&self, policy: SessionPolicy) -> Result<u64, EngineError> {
        let now = now_millis();
        let mut conn = self.inner.store.conn().await?;
        Ok(account::end_expired(
            &mut conn,
            now - millis(policy.absolute),
            now - millis(policy.idle),
        )
        .await?)
    }

    /// A page of the audit log, newest first.
    pub async fn audit(
        &self,
        filter: &AuditFilter,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, EngineError> {
        let mut conn = self.inner.store.conn().await?;
        Ok(account::audit_entries(&mut conn, filter, limit.clamp(1, 1000)).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn passwords_hashed_by_the_argon2_crate_itself_still_verify() {
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::generate(&mut OsRng);
        let before = hasher()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        let matches = |password: &str, hash: &str| {
            password_matches(password.to_string(), Some(hash.to_string()))
        };
        assert!(matches("correct horse", &before).await.unwrap());
        assert!(!matches("correct mule", &before).await.unwrap());
        let now = hash_password("correct horse".into()).await.unwrap();
        assert!(now.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{now}");
        assert!(matches("correct horse", &now).await.unwrap());
        assert!(!matches("correct horse", "not a hash").await.unwrap());
    }
}

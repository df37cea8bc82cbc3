//! The fault suite: real `coupler` processes killed, stalled, cut off from their store
//! and from a system, and two of them sharing one PostgreSQL store. After each fault
//! nothing is lost or duplicated: every local record is coupled exactly once, both sides
//! of every coupling agree, neither system has a record twice. Seeded, and every wait is
//! bounded.

use crate::support::{StoreKind, fresh_database, temp_dir};
use engine::Engine;
use engine::config::Config;
use engine::model::{ErrorFilter, JobKind, JobState, Role};
use sqlx::{AnyPool, Row};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Customers in the initial synchronizations the faults interrupt.
const CUSTOMERS: u64 = 20_000;
/// SIGKILL seeds.
const SEEDS: u64 = 20;

/// A small deterministic generator (xorshift64*): a seed picks the same faults again.
struct Seeded(u64);

impl Seeded {
    fn new(seed: u64) -> Seeded {
        Seeded(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

/// Two demo systems and a store, all SQLite files or all PostgreSQL databases, with a
/// `coupler.toml` for the binary.
struct Site {
    dir: PathBuf,
    config: PathBuf,
    store_url: String,
    crm_url: String,
    erp: AnyPool,
    crm: AnyPool,
}

impl Site {
    async fn new(
        kind: StoreKind,
        label: &str,
        customers: u64,
        edit: impl FnOnce(String) -> String,
    ) -> Site {
        sqlx::any::install_default_drivers();
        let dir = temp_dir(label);
        let erp_url = fresh_database(kind, &dir, "erp").await;
        let crm_url = fresh_database(kind, &dir, "crm").await;
        let store_url = fresh_database(kind, &dir, "store").await;
        engine::demo::create_customers(&erp_url, &crm_url, customers)
            .await
            .expect("create the demo systems");
        let config = dir.join("coupler.toml");
        std::fs::write(
            &config,
            edit(engine::demo::config(&erp_url, &crm_url, &store_url)),
        )
        .unwrap();
        Site {
            erp: AnyPool::connect(&erp_url).await.unwrap(),
            crm: AnyPool::connect(&crm_url).await.unwrap(),
            dir,
            config,
            store_url,
            crm_url,
        }
    }

    /// An engine on the site's store, as a client of the processes under test.
    async fn engine(&self) -> Engine {
        let config = Config::load(&self.config).expect("the configuration loads");
        Engine::open(config, &self.store_url)
            .await
            .expect("open the store")
    }

    fn coupler(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_coupler"));
        for var in ["COUPLER_CONFIG", "COUPLER_DATABASE_URL", "COUPLER_ADDR"] {
            command.env_remove(var);
        }
        command
            .env("RUST_LOG", "warn")
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }

    /// `coupler sync --mapping CUSTOMER`, which must succeed.
    fn sync(&self) {
        let output = self
            .coupler(&["sync", "--mapping", "CUSTOMER"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "sync: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// `coupler serve` on a free port; answers the process and its address once it
    /// listens.
    fn serve(&self, extra: &[&str]) -> Server {
        let (child, address) = crate::support::spawn_serve(
            self.coupler(&["serve", "--addr", "127.0.0.1:0"])
                .args(extra),
        );
        Server { child, address }
    }

    /// Edits the ERP as people do while a run goes on: renames some customers and adds
    /// new ones. Answers nothing: `converged` checks that all of it arrived.
    async fn edit_erp(&self, rng: &mut Seeded, round: u64) {
        for i in 0..5 {
            let no = format!("C{:06}", 1 + rng.below(CUSTOMERS));
            let statement = format!(
                "update customer set name = 'Renamed {round}-{i}' where no = '{no}' and length(name) <= 160"
            );
            sqlx::query(&statement).execute(&self.erp).await.unwrap();
        }
        let no = format!("N{round:05}");
        let statement = format!(
            "insert into customer (no, name, email) values ('{no}', 'New {round}', 'new{round}@example.com')"
        );
        sqlx::query(&statement).execute(&self.erp).await.unwrap();
    }

    /// The CUSTOMER mapping has converged with nothing lost or duplicated.
    async fn converged(&self, store: &AnyPool, context: &str) {
        let customers: HashMap<String, (String, Option<String>)> =
            sqlx::query("select no, name, email from customer")
                .fetch_all(&self.erp)
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get(0), (r.get(1), r.get(2))))
                .collect();
        let accounts: HashMap<String, (String, Option<String>)> =
            sqlx::query("select accountid, name, emailaddress1 from account")
                .fetch_all(&self.crm)
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get(0), (r.get(1), r.get(2))))
                .collect();
        let couplings: Vec<(String, String, Option<String>)> = sqlx::query(
            "select local_key, integration_key, pending from coupling where mapping = 'CUSTOMER'",
        )
        .fetch_all(store)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
        let coupled: HashSet<&str> = couplings.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(
            coupled.len(),
            couplings.len(),
            "{context}: a local record coupled twice"
        );
        for (local, integration, pending) in &couplings {
            assert!(
                pending.is_none(),
                "{context}: {local} is still being created"
            );
            let customer = customers
                .get(local)
                .unwrap_or_else(|| panic!("{context}: coupled {local} is gone"));
            let account = accounts
                .get(integration)
                .unwrap_or_else(|| panic!("{context}: {local}'s account {integration} is gone"));
            if customer.0.chars().count() <= 160 {
                assert_eq!(
                    customer, account,
                    "{context}: {local} and {integration} differ"
                );
            }
        }
        let missing: Vec<&String> = customers
            .iter()
            .filter(|(no, (name, _))| name.chars().count() <= 160 && !coupled.contains(no.as_str()))
            .map(|(no, _)| no)
            .take(5)
            .collect();
        assert!(missing.is_empty(), "{context}: not coupled: {missing:?}");
        assert_eq!(
            accounts.len(),
            couplings.len(),
            "{context}: every account is one customer's (none created twice)"
        );
        for (pool, query) in [
            (
                &self.erp,
                "select count(*) from (select email from customer group by email having count(*) > 1) d",
            ),
            (
                &self.crm,
                "select count(*) from (select emailaddress1 from account group by emailaddress1 having count(*) > 1) d",
            ),
        ] {
            let twice: i64 = sqlx::query(query).fetch_one(pool).await.unwrap().get(0);
            assert_eq!(twice, 0, "{context}: an e-mail twice in a system");
        }
    }
}

/// A `coupler serve` process.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name}");
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits up to `limit` for `check` to answer something.
async fn until<T>(limit: Duration, what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(started.elapsed() < limit, "waited {limit:?} for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every mapping but CUSTOMER paused, and CUSTOMER synchronized every `interval`.
fn only_customers(interval: &'static str) -> impl FnOnce(String) -> String {
    move |text| {
        text.replacen(
            "interval = \"30s\"",
            &format!("interval = \"{interval}\""),
            1,
        )
    }
}

async fn pause_others(engine: &Engine) {
    for name in ["CONTACT", "ITEM-PRODUCT"] {
        engine.set_mapping_paused("test", name, true).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_of_an_initial_synchronization_loses_and_duplicates_nothing() {
    // How long an uninterrupted run takes, to kill within it.
    let clean = Site::new(StoreKind::Sqlite, "faults-clean", CUSTOMERS, |t| t).await;
    let started = Instant::now();
    clean.sync();
    let run_ms = started.elapsed().as_millis() as u64;
    let store = AnyPool::connect(&format!(
        "sqlite://{}",
        clean.dir.join("store.db").display()
    ))
    .await
    .unwrap();
    clean.converged(&store, "without a fault").await;
    store.close().await;
    let _ = std::fs::remove_dir_all(&clean.dir);

    for seed in 1..=SEEDS {
        let site = Site::new(
            StoreKind::Sqlite,
            &format!("faults-kill-{seed}"),
            CUSTOMERS,
            |t| t,
        )
        .await;
        let mut rng = Seeded::new(seed);
        let kill_at = Duration::from_millis(50 + rng.below(run_ms * 9 / 10));
        let mut run = site
            .coupler(&["sync", "--mapping", "CUSTOMER"])
            .spawn()
            .unwrap();
        tokio::time::sleep(kill_at / 2).await;
        site.edit_erp(&mut rng, seed * 10).await;
        tokio::time::sleep(kill_at / 2).await;
        run.kill().unwrap();
        run.wait().unwrap();
        site.edit_erp(&mut rng, seed * 10 + 1).await;
        // Started again: the first run finishes the work, the second takes up the edits
        // the first may have read before they were made.
        site.sync();
        site.sync();
        let store = AnyPool::connect(&format!("sqlite://{}", site.dir.join("store.db").display()))
            .await
            .unwrap();
        site.converged(&store, &format!("seed {seed}, killed after {kill_at:?}"))
            .await;
        store.close().await;
        let _ = std::fs::remove_dir_all(&site.dir);
    }
}

/// A site on PostgreSQL with one account to sign in with, its engine, and a pool on its
/// store.
async fn postgres_site(
    label: &str,
    customers: u64,
    interval: &'static str,
) -> (Site, Engine, AnyPool) {
    let site = Site::new(
        StoreKind::Postgres,
        label,
        customers,
        only_customers(interval),
    )
    .await;
    let engine = site.engine().await;
    pause_others(&engine).await;
    engine
        .add_user("test", "ada", Role::Admin, crate::support::PASSWORD)
        .await
        .unwrap();
    engine
        .add_user("test", "bob", Role::Admin, crate::support::PASSWORD)
        .await
        .unwrap();
    let store = AnyPool::connect(&site.store_url).await.unwrap();
    (site, engine, store)
}

/// The running job of the CUSTOMER mapping, once it has committed a batch.
async fn running(engine: &Engine, id: i64) -> engine::model::JobSummary {
    until(
        Duration::from_secs(60),
        "the job to make progress",
        async || {
            let job = engine.job(id).await.unwrap();
            (job.state == JobState::Running && job.done > 0).then_some(job)
        },
    )
    .await
}

async fn succeeded(engine: &Engine, id: i64, limit: Duration) -> engine::model::JobSummary {
    until(limit, "the job to succeed", async || {
        let job = engine.job(id).await.unwrap();
        assert_ne!(job.state, JobState::Failed, "{:?}", job.message);
        (job.state == JobState::Succeeded).then_some(job)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_of_a_killed_process_is_taken_over_by_another_and_its_counters_add_up() {
    let (site, engine, store) = postgres_site("faults-takeover", CUSTOMERS, "1h").await;
    engine
        .set_mapping_paused("test", "CUSTOMER", true)
        .await
        .unwrap();
    let first = site.serve(&["--lease-seconds", "5"]);
    let id = engine
        .enqueue("CUSTOMER", JobKind::FullSynchronization, "test", None)
        .await
        .unwrap();
    let before = running(&engine, id).await;
    first.kill();
    let killed_at = Instant::now();
    let _second = site.serve(&["--lease-seconds", "5"]);
    let job = succeeded(&engine, id, Duration::from_secs(60)).await;
    assert!(
        killed_at.elapsed() < Duration::from_secs(60),
        "taken over within 60 s"
    );
    assert!(
        job.done >= before.done,
        "the second process went on from the first's batches"
    );
    site.converged(&store, "after the takeover").await;
    let c = job.counters;
    let couplings: i64 = sqlx::query("select count(*) from coupling where mapping = 'CUSTOMER'")
        .fetch_one(&store)
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        c.coupled as i64, couplings,
        "coupled counts each coupling once: {c:?}"
    );
    assert_eq!(
        c.inserted + c.modified,
        c.coupled,
        "each coupled customer was written once: {c:?}"
    );
    let long: i64 = sqlx::query("select count(*) from customer where length(name) > 160")
        .fetch_one(&site.erp)
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        c.failed as i64, long,
        "each refused customer counted once: {c:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_worker_cannot_commit_after_its_lease_is_taken_over() {
    let (site, engine, store) = postgres_site("faults-stall", CUSTOMERS, "1h").await;
    engine
        .set_mapping_paused("test", "CUSTOMER", true)
        .await
        .unwrap();
    let stalled = site.serve(&["--lease-seconds", "4"]);
    let id = engine
        .enqueue("CUSTOMER", JobKind::FullSynchronization, "test", None)
        .await
        .unwrap();
    running(&engine, id).await;
    stalled.signal("STOP");
    let _other = site.serve(&["--lease-seconds", "4"]);
    let job = succeeded(&engine, id, Duration::from_secs(60)).await;
    stalled.signal("CONT");
    // The stalled process wakes mid-batch with a lease it lost: its commits are refused.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = engine.job(id).await.unwrap();
    assert_eq!(after.state, JobState::Succeeded);
    assert_eq!(
        after.counters, job.counters,
        "nothing counted after the takeover"
    );
    site.converged(&store, "after the stalled worker woke")
        .await;
    stalled.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_store_connection_and_an_unreachable_system_are_retried_to_the_same_end() {
    let (site, engine, store) = postgres_site("faults-cut", CUSTOMERS, "1s").await;
    let _server = site.serve(&[]);
    // The schedule queues CUSTOMER at once; cut the store off in the middle of it.
    let first = until(Duration::from_secs(30), "a scheduled job", async || {
        engine
            .jobs(5)
            .await
            .unwrap()
            .into_iter()
            .find(|j| j.mapping == "CUSTOMER")
    })
    .await;
    running(&engine, first.id).await;
    let admin = AnyPool::connect(&crate::support::postgres_admin_url())
        .await
        .unwrap();
    let store_db = site.store_url.rsplit('/').next().unwrap().to_string();
    let cut = |database: String| {
        format!(
            "select pg_terminate_backend(pid) from pg_stat_activity where datname = '{database}' and pid <> pg_backend_pid()"
        )
    };
    sqlx::query(&cut(store_db.clone()))
        .execute(&admin)
        .await
        .unwrap();
    // Then the CRM stops answering for a while.
    let crm_db = site.crm_url.rsplit('/').next().unwrap().to_string();
    site.crm.close().await;
    sqlx::query(&format!(
        r#"alter database "{crm_db}" with allow_connections false"#
    ))
    .execute(&admin)
    .await
    .unwrap();
    sqlx::query(&cut(crm_db.clone()))
        .execute(&admin)
        .await
        .unwrap();
    let failed = until(
        Duration::from_secs(60),
        "a job failed for the CRM",
        async || {
            engine.jobs(20).await.ok()?.into_iter().find(|j| {
                j.mapping == "CUSTOMER"
                    && j.state == JobState::Failed
                    && j.message.as_deref().is_some_and(|m| m.contains("crm"))
            })
        },
    )
    .await;
    sqlx::query(&format!(
        r#"alter database "{crm_db}" with allow_connections true"#
    ))
    .execute(&admin)
    .await
    .unwrap();
    let recovered = until(
        Duration::from_secs(90),
        "a job to succeed again",
        async || {
            engine.jobs(50).await.ok()?.into_iter().find(|j| {
                j.mapping == "CUSTOMER" && j.id > failed.id && j.state == JobState::Succeeded
            })
        },
    )
    .await;
    // Let the schedule run once more, so edits read mid-run are taken up too.
    until(Duration::from_secs(60), "one more run", async || {
        engine.jobs(50).await.ok()?.into_iter().find(|j| {
            j.mapping == "CUSTOMER" && j.id > recovered.id && j.state == JobState::Succeeded
        })
    })
    .await;
    let site = Site {
        crm: AnyPool::connect(&site.crm_url).await.unwrap(),
        ..site
    };
    site.converged(&store, "after the store and the CRM came back")
        .await;
    assert!(
        failed
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("crm"),
        "the failed job names the system: {:?}",
        failed.message
    );
}

/// One HTTP/1.1 exchange on a fresh connection: the status, headers and body.
fn http(
    address: &str,
    method: &str,
    path: &str,
    cookie: &str,
    body: &str,
) -> (u16, String, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nAccept: application/json\r\n\
         Cookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

fn sign_in(address: &str, name: &str) -> String {
    let (status, head, body) = http(
        address,
        "POST",
        "/api/sign_in",
        "",
        &format!(
            "name={name}&password={}",
            crate::support::PASSWORD.replace(' ', "+")
        ),
    );
    assert_eq!(status, 200, "{body}");
    let line = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect("a session cookie");
    line.split_once(':')
        .unwrap()
        .1
        .trim()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_administrators_on_two_processes_act_on_one_error_and_exactly_one_wins() {
    let (site, engine, _store) = postgres_site("faults-two", 500, "1h").await;
    engine
        .set_mapping_paused("test", "CUSTOMER", true)
        .await
        .unwrap();
    site.sync();
    let a = site.serve(&["--workers", "0"]);
    let b = site.serve(&["--workers", "0"]);
    let ada = sign_in(&a.address, "ada");
    let bob = sign_in(&b.address, "bob");
    // Sessions are the store's: ada's works on the other process too.
    let (status, _, me) = http(&b.address, "POST", "/api/current_user", &ada, "");
    assert_eq!((status, me.contains("\"ada\"")), (200, true), "{me}");

    // B's console hears of what A does within a second.
    let mut events = TcpStream::connect(&b.address).unwrap();
    write!(
        events,
        "GET /api/events HTTP/1.1\r\nHost: {}\r\nCookie: {bob}\r\n\r\n",
        b.address
    )
    .unwrap();
    events
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut events = BufReader::new(events);
    let mut line = String::new();
    while !line.starts_with("HTTP/1.1 200") {
        line.clear();
        events.read_line(&mut line).unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;

    let error = engine
        .sync_errors(&ErrorFilter::default(), None, 1)
        .await
        .unwrap();
    let error = error.first().expect("the demo has a refused customer");
    let form = |view: &str| {
        format!(
            "action=retry&refs[0]={}:{}&view={view}",
            error.id, error.version
        )
    };
    let (ada_form, bob_form) = (form("ada-view"), form("bob-view"));
    let (a_address, b_address) = (a.address.clone(), b.address.clone());
    let (ada2, bob2) = (ada.clone(), bob.clone());
    let acted = Instant::now();
    let one = std::thread::spawn(move || {
        http(
            &a_address,
            "POST",
            "/api/act_on_sync_errors",
            &ada2,
            &ada_form,
        )
    });
    let two = std::thread::spawn(move || {
        http(
            &b_address,
            "POST",
            "/api/act_on_sync_errors",
            &bob2,
            &bob_form,
        )
    });
    let answers = [one.join().unwrap(), two.join().unwrap()];
    let took = acted.elapsed();
    let heard = {
        let mut heard = None;
        while acted.elapsed() < Duration::from_secs(3) && heard.is_none() {
            line.clear();
            if events.read_line(&mut line).is_ok() && line.starts_with("event: change") {
                heard = Some(acted.elapsed());
            }
        }
        heard.expect("B's event stream told of the change")
    };
    eprintln!(
        "the other process told of the change {heard:?} after acting; the action took {took:?}"
    );
    let mut handled = 0;
    let mut stale = 0;
    for (status, _, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        let answer: serde_json::Value = serde_json::from_str(body).unwrap();
        match answer["outcomes"][0]["outcome"].as_str() {
            Some("stale") => stale += 1,
            Some(_) => handled += 1,
            None => panic!("an answer per record: {body}"),
        }
    }
    assert_eq!((handled, stale), (1, 1), "exactly one wins: {answers:?}");
    assert!(
        heard < took + Duration::from_secs(1),
        "heard {heard:?} after acting, the action took {took:?}"
    );
    a.kill();
    b.kill();
    let _ = std::fs::remove_dir_all(&site.dir);
}

//! A CRM over an OData v4 Web API (`kind = "dataverse"`): a real OData service on
//! loopback (odatapy's reference service, `support/odata_service.py`, stamping
//! `modifiedon` in whole seconds as Dataverse does) coupled with an ERP database. New
//! customers reach it, its edits come back, a value it refuses fails that record alone
//! with its own words, edits on both sides are an update conflict, and an update of a
//! record that changed since it was read is not sent. On SQLite and PostgreSQL.

use crate::on_both_stores;
use crate::support::fault_proxy::{Fault, FaultProxy};
use crate::support::{StoreKind, drain, fresh_database, python, temp_dir};
use engine::config::Config;
use engine::connector::{Connector, ODataConnector, TableSpec, WriteOp, WriteOutcome};
use engine::model::{
    JobKind, JobState, JobSummary, Side, StatusCode, SyncErrorKind, SyncErrorSummary,
};
use engine::store::sync_error::ErrorFilter;
use engine::sync::FaultPoint;
use engine::value::{ColumnKind, Value};
use engine::{Engine, Systems};
use serde_json::{Value as Json, json};
use sqlx::AnyPool;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bench_measures_a_synchronization_to_an_odata_service() {
    // The service takes one request in any three seconds: the bench's raw writes and the
    // synchronization both meet its 429s, wait, and write everything still.
    let service = Service::start(&["--limit", "1/3"]);
    let root = service.root.clone();
    let done = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_coupler"))
            .args(["bench", "--odata", &root, "--records", "1000", "--json"])
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let figures: Json = serde_json::from_str(&stdout).unwrap();
    assert!(figures["raw"].as_f64().unwrap() > 0.0, "{figures}");
    let sync = &figures["initial_sync"];
    assert_eq!(
        sync["inserted"].as_u64().unwrap() + sync["refused"].as_u64().unwrap(),
        1000,
        "{figures}"
    );
    assert!(sync["inserted"].as_u64().unwrap() > 900, "{figures}");
    // The service refused requests, and none came while a Retry-After it gave ran.
    let limits: Json = serde_json::from_str(&service.text("limits").await).unwrap();
    assert!(limits["refused"].as_u64().unwrap() > 0, "{limits}");
    assert_eq!(limits["inside_window"], 0, "{limits}");
    // The raw accounts are gone again: the service holds the synchronized ones.
    let count = service.text("accounts/$count").await;
    assert_eq!(
        count.trim().parse::<u64>().unwrap(),
        sync["inserted"].as_u64().unwrap()
    );
    // Two batches of 500 writes, and the reads of the change feed.
    let requests = sync["traffic"]["requests"].as_u64().unwrap();
    assert!((3..20).contains(&requests), "{figures}");
    // Refused and waited for, as the service asked.
    let raw = &figures["raw_refusals"];
    assert!(raw["count"].as_u64().unwrap() > 0, "{figures}");
    assert!(raw["waited_s"].as_f64().unwrap() >= 1.0, "{figures}");
    assert!(
        sync["traffic"]["refusals"].as_u64().unwrap() > 0,
        "{figures}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_reads_an_entity_set_from_metadata() {
    let s = setup(StoreKind::Sqlite, &[], |_| {
        "kind = \"dataverse\"".to_string()
    })
    .await;
    let config = s.config.clone();
    let done = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_coupler"))
            .arg("--config")
            .arg(&config)
            .args(["inspect", "crm", "accounts", "--json"])
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let shape: Json = serde_json::from_str(&stdout).unwrap();
    assert_eq!(shape["key"], "accountid", "{shape}");
    assert_eq!(shape["modified_candidates"][0], "modifiedon", "{shape}");
    let name = shape["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "name")
        .unwrap_or_else(|| panic!("{shape}"));
    assert_eq!(name["declared"], "Edm.String");
    assert_eq!(name["kind"], "text");
}

on_both_stores!(
    customers_reach_the_service_and_its_edits_come_back,
    a_value_the_service_refuses_fails_that_record_alone,
    a_value_refused_inside_a_json_batch_fails_that_record_alone,
    edits_on_both_sides_are_an_update_conflict,
    find_for_deleted_finds_an_account_deleted_in_the_service,
    a_service_asking_to_wait_is_waited_for,
    client_credentials_sign_in_and_a_refused_token_is_renewed_once,
    a_crash_at_any_write_step_loses_and_duplicates_nothing,
    a_batch_whose_answer_is_lost_is_sent_again_and_duplicates_nothing,
    a_read_answered_after_the_timeout_is_sent_again,
    with_change_tracking_edits_and_deletions_come_from_the_feed,
    an_expired_change_tracking_position_reads_the_side_whole_and_says_so,
    a_table_filter_on_the_service_narrows_what_is_read,
    a_job_waiting_on_the_services_limit_says_until_when,
);

/// The OData service, running until dropped.
struct Service {
    child: Child,
    root: String,
    http: reqwest::Client,
}

impl Service {
    /// The service, asking for the arguments `args` of its script.
    fn start(args: &[&str]) -> Service {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/support/odata_service.py");
        let mut child = Command::new(python())
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the OData service");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("the OData service did not start: {line:?}"))
            .to_string();
        Service {
            child,
            root: format!("http://{address}/"),
            http: reqwest::Client::new(),
        }
    }

    /// Every account, as the service has it, by name.
    async fn accounts(&self) -> Vec<Json> {
        let page: Json = serde_json::from_str(&self.text("accounts?$orderby=name").await).unwrap();
        page["value"].as_array().unwrap().clone()
    }

    /// What the service answers to a GET of `path`, asked again each second while it
    /// refuses for its limit.
    async fn text(&self, path: &str) -> String {
        loop {
            let answer = self
                .http
                .get(format!("{}{path}", self.root))
                .send()
                .await
                .unwrap();
            if answer.status() != 429 {
                return answer.text().await.unwrap();
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }

    /// The account named `name`.
    async fn account(&self, name: &str) -> Json {
        self.accounts()
            .await
            .into_iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("no account {name}"))
    }

    /// Changes account `id` as a person in the CRM would.
    async fn edit(&self, id: &str, change: Json) {
        let answer = self
            .http
            .patch(format!("{}accounts({id})", self.root))
            .header("If-Match", "*")
            .header("Content-Type", "application/json")
            .body(change.to_string())
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{answer:?}");
    }
}

impl Service {
    /// Creates `account` as a person in the CRM would.
    async fn create(&self, account: Json) {
        let answer = self
            .http
            .post(format!("{}accounts", self.root))
            .header("Content-Type", "application/json")
            .body(account.to_string())
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{answer:?}");
    }

    /// Deletes account `id` as a person in the CRM would.
    async fn delete(&self, id: &str) {
        let answer = self
            .http
            .delete(format!("{}accounts({id})", self.root))
            .header("If-Match", "*")
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{answer:?}");
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An ERP database, the OData CRM and an engine coupling their customers and accounts.
struct World {
    engine: Engine,
    erp: AnyPool,
    crm: Service,
    /// The fault layer the engine reaches the service through.
    proxy: FaultProxy,
}

const ERP: &str = "create table customer (no text primary key, name text not null, \
    city text, email text, credit_limit numeric(12,2), modified_at bigint not null)";

async fn world(kind: StoreKind) -> World {
    world_of(kind, "dataverse").await
}

/// A world whose CRM is a system of kind `system_kind`.
async fn world_of(kind: StoreKind, system_kind: &str) -> World {
    world_with(kind, &format!("kind = \"{system_kind}\"")).await
}

/// A world whose CRM's settings are `settings`.
async fn world_with(kind: StoreKind, settings: &str) -> World {
    open(setup(kind, &[], |_| settings.to_string()).await).await
}

/// The engine of a world set up.
async fn open(setup: Setup) -> World {
    let Setup {
        crm,
        proxy,
        erp,
        config,
        store_url,
    } = setup;
    let config = Config::load(&config).expect("the configuration loads");
    let systems = Systems::connect(&config)
        .await
        .expect("the systems connect");
    let engine = Engine::open_with(config, &store_url, systems)
        .await
        .unwrap();
    World {
        engine,
        erp,
        crm,
        proxy,
    }
}

/// The parts of a world before an engine opens them.
struct Setup {
    crm: Service,
    proxy: FaultProxy,
    erp: AnyPool,
    /// The configuration file.
    config: std::path::PathBuf,
    store_url: String,
}

/// The service started with `args`, the proxy in front of it, an ERP and a store of
/// `kind`, and a configuration of them with `crm_settings(service root)` added to the
/// CRM's settings.
async fn setup(kind: StoreKind, args: &[&str], crm_settings: impl Fn(&str) -> String) -> Setup {
    let crm = Service::start(args);
    let crm_settings = crm_settings(&crm.root);
    let proxy = FaultProxy::start(&crm.root).await;
    let dir = temp_dir(match kind {
        StoreKind::Sqlite => "odata-sqlite",
        StoreKind::Postgres => "odata-postgres",
    });
    let erp_url = fresh_database(kind, &dir, "erp").await;
    let store_url = fresh_database(kind, &dir, "store").await;
    sqlx::any::install_default_drivers();
    let erp = AnyPool::connect(&erp_url).await.unwrap();
    sqlx::raw_sql(ERP).execute(&erp).await.unwrap();
    let path = dir.join("coupler.toml");
    std::fs::write(
        &path,
        format!(
            r#"[store]
url = "{store_url}"

[systems.erp]
url = "{erp_url}"

[systems.crm]
url = "{root}"
{crm_settings}

[[mapping]]
name = "CUSTOMER"
local = {{ system = "erp", table = "customer", key = "no", modified = "modified_at" }}
integration = {{ system = "crm", table = "accounts", key = "accountid", modified = "modifiedon" }}

[[mapping.field]]
local = "name"
integration = "name"

[[mapping.field]]
local = "city"
integration = "address1_city"

[[mapping.field]]
local = "email"
integration = "emailaddress1"

[[mapping.field]]
local = "credit_limit"
integration = "creditlimit"
direction = "to_integration"
"#,
            root = proxy.root
        ),
    )
    .unwrap();
    Setup {
        crm,
        proxy,
        erp,
        config: path,
        store_url,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

impl World {
    async fn erp(&self, sql: &str) {
        sqlx::query(sql).execute(&self.erp).await.unwrap();
    }

    async fn add_customer(&self, no: &str, name: &str, city: &str) {
        self.erp(&format!(
            "insert into customer (no, name, city, email, credit_limit, modified_at) \
             values ('{no}', '{name}', '{city}', '{no}@example.com', 1500.50, {})",
            now_ms()
        ))
        .await;
    }

    async fn customer(&self, no: &str, column: &str) -> Option<String> {
        sqlx::query_scalar(&format!(
            "select cast({column} as text) from customer where no = '{no}'"
        ))
        .fetch_one(&self.erp)
        .await
        .unwrap()
    }

    async fn run(&self) -> JobSummary {
        let mut jobs = self
            .engine
            .synchronize(Some("CUSTOMER"), false, "test")
            .await
            .expect("synchronize");
        jobs.remove(0)
    }

    async fn sync(&self) -> JobSummary {
        let job = self.run().await;
        assert_eq!(job.state, JobState::Succeeded, "{:?}", job.message);
        job
    }

    async fn errors(&self) -> Vec<SyncErrorSummary> {
        let filter = ErrorFilter {
            mapping: Some("CUSTOMER".to_string()),
            ..ErrorFilter::default()
        };
        self.engine.sync_errors(&filter, None, 100).await.unwrap()
    }
}

async fn customers_reach_the_service_and_its_edits_come_back(kind: StoreKind) {
    let w = world(kind).await;
    w.add_customer("C1", "Aalborg Cykler", "Aalborg").await;
    w.add_customer("C2", "Bergen Bakeri", "Bergen").await;
    let job = w.sync().await;
    assert_eq!(job.counters.inserted, 2, "{job:?}");
    let writes: Vec<String> = w
        .proxy
        .seen()
        .into_iter()
        .filter(|s| !s.request.starts_with("GET"))
        .map(|s| s.request)
        .collect();
    assert_eq!(writes, ["POST /$batch"], "both creates in one batch");

    let accounts = w.crm.accounts().await;
    assert_eq!(accounts.len(), 2, "{accounts:?}");
    assert_eq!(accounts[0]["name"], "Aalborg Cykler");
    assert_eq!(accounts[0]["address1_city"], "Aalborg");
    assert_eq!(accounts[0]["emailaddress1"], "C1@example.com");
    assert_eq!(accounts[0]["creditlimit"], json!(1500.5));

    let quiet = w.sync().await;
    assert_eq!(
        (quiet.counters.inserted, quiet.counters.modified),
        (0, 0),
        "the engine's own writes are not read back as changes: {quiet:?}"
    );

    let id = accounts[1]["accountid"].as_str().unwrap().to_string();
    w.crm.edit(&id, json!({"address1_city": "Stavanger"})).await;
    let job = w.sync().await;
    assert_eq!(job.counters.modified, 1, "{job:?}");
    assert_eq!(w.customer("C2", "city").await.as_deref(), Some("Stavanger"));
    assert_eq!(w.customer("C1", "city").await.as_deref(), Some("Aalborg"));

    w.erp(&format!(
        "update customer set name = 'Aalborg Cykler A/S', modified_at = {} where no = 'C1'",
        now_ms()
    ))
    .await;
    w.sync().await;
    w.crm.account("Aalborg Cykler A/S").await;
    assert!(w.errors().await.is_empty(), "{:?}", w.errors().await);
}

async fn a_value_the_service_refuses_fails_that_record_alone(kind: StoreKind) {
    one_refused_record_fails_alone(world(kind).await).await
}

/// Business Central's dialect: writes in a JSON `$batch`.
async fn a_value_refused_inside_a_json_batch_fails_that_record_alone(kind: StoreKind) {
    one_refused_record_fails_alone(world_of(kind, "business_central").await).await
}

async fn one_refused_record_fails_alone(w: World) {
    w.add_customer("C1", "Aalborg Cykler", "Aalborg").await;
    // The service's accounts hold a city of at most 80 characters; the mapping says
    // nothing of it, so the service is the one to refuse.
    let long = "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch".repeat(2);
    w.add_customer("C2", "Bergen Bakeri", &long).await;
    let job = w.sync().await;
    assert_eq!(
        (job.counters.inserted, job.counters.failed),
        (1, 1),
        "{job:?}"
    );
    assert_eq!(w.crm.accounts().await.len(), 1);

    let errors = w.errors().await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind, SyncErrorKind::Failed);
    assert_eq!(errors[0].local_key.as_deref(), Some("C2"));
    assert!(
        errors[0].message.contains("address1_city") && errors[0].message.contains("facets"),
        "the service's own words: {}",
        errors[0].message
    );

    w.erp(&format!(
        "update customer set city = 'Bergen', modified_at = {} where no = 'C2'",
        now_ms()
    ))
    .await;
    w.sync().await;
    assert_eq!(
        w.crm.account("Bergen Bakeri").await["address1_city"],
        "Bergen"
    );
    assert!(w.errors().await.is_empty(), "the fix closed the error");
}

async fn edits_on_both_sides_are_an_update_conflict(kind: StoreKind) {
    let w = world(kind).await;
    w.add_customer("C1", "Aalborg Cykler", "Aalborg").await;
    w.sync().await;
    let id = w.crm.account("Aalborg Cykler").await["accountid"]
        .as_str()
        .unwrap()
        .to_string();

    w.crm.edit(&id, json!({"address1_city": "Odense"})).await;
    w.erp(&format!(
        "update customer set city = 'Esbjerg', modified_at = {} where no = 'C1'",
        now_ms()
    ))
    .await;
    w.sync().await;
    let errors = w.errors().await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind, SyncErrorKind::UpdateConflict);
    assert_eq!(
        w.crm.account("Aalborg Cykler").await["address1_city"],
        "Odense"
    );
    assert_eq!(w.customer("C1", "city").await.as_deref(), Some("Esbjerg"));

    // An update naming a version the record no longer has is not sent.
    let connector = ODataConnector::open(&w.engine.config().systems["crm"])
        .await
        .unwrap();
    let mut spec = TableSpec {
        table: "accounts".into(),
        key: "accountid".into(),
        modified: "modifiedon".into(),
        modified_kind: Default::default(),
        modified_unit: Default::default(),
        time_zone: None,
        columns: vec!["address1_city".into()],
        kinds: Vec::new(),
        types: Vec::new(),
        key_kind: ColumnKind::Text,
        tombstones: None,
        filter: None,
        filter_kinds: Vec::new(),
    };
    connector.check(&mut spec).await.unwrap();
    let current = connector
        .read(&spec, std::slice::from_ref(&id))
        .await
        .unwrap();
    assert_eq!(current[0].values, [Value::Text("Odense".into())]);
    let city = 0;
    let outcomes = connector
        .write(
            &spec,
            &[WriteOp::Update {
                key: id.clone(),
                expected: 0,
                values: vec![(city, Value::Text("Roskilde".into()))],
            }],
        )
        .await
        .unwrap();
    assert_eq!(outcomes, [WriteOutcome::Changed]);
    assert_eq!(
        w.crm.account("Aalborg Cykler").await["address1_city"],
        "Odense"
    );

    // With the version it has, it is.
    let outcomes = connector
        .write(
            &spec,
            &[WriteOp::Update {
                key: id.clone(),
                expected: current[0].modified,
                values: vec![(city, Value::Text("Roskilde".into()))],
            }],
        )
        .await
        .unwrap();
    assert!(
        matches!(outcomes[0], WriteOutcome::Written(v) if v >= current[0].modified),
        "{outcomes:?}"
    );
    assert_eq!(
        w.crm.account("Aalborg Cykler").await["address1_city"],
        "Roskilde"
    );
}

async fn find_for_deleted_finds_an_account_deleted_in_the_service(kind: StoreKind) {
    let w = world(kind).await;
    for (no, name) in [
        ("C1", "Aalborg Cykler"),
        ("C2", "Bergen Bakeri"),
        ("C3", "Cork Cafe"),
    ] {
        w.add_customer(no, name, "Aalborg").await;
    }
    w.sync().await;
    let gone = w.crm.account("Bergen Bakeri").await["accountid"]
        .as_str()
        .unwrap()
        .to_string();
    w.crm.delete(&gone).await;
    // The service's change feed of modified records does not say it; the scan does.
    w.sync().await;
    assert!(w.errors().await.is_empty());

    w.engine
        .enqueue("CUSTOMER", JobKind::FindForDeleted, "test", None)
        .await
        .unwrap();
    let ran = drain(&w.engine).await;
    assert_eq!(ran[0].state, JobState::Succeeded, "{ran:?}");
    let errors = w.errors().await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind, SyncErrorKind::DeletedIntegration);
    assert_eq!(errors[0].local_key.as_deref(), Some("C2"));
    assert_eq!(errors[0].integration_key.as_deref(), Some(gone.as_str()));
}

async fn a_service_asking_to_wait_is_waited_for(kind: StoreKind) {
    let w = world(kind).await;
    for (no, name) in [
        ("C1", "Aalborg Cykler"),
        ("C2", "Bergen Bakeri"),
        ("C3", "Cork Cafe"),
    ] {
        w.add_customer(no, name, "Aalborg").await;
    }
    // The service's protection refuses a create, asking for a second, then a read
    // without saying how long.
    w.proxy
        .inject(Fault::refused(reqwest::Method::POST, 429, Some("1")));
    w.proxy
        .inject(Fault::refused(reqwest::Method::GET, 503, None));
    let job = w.sync().await;
    assert_eq!(job.counters.inserted, 3, "{job:?}");
    assert_eq!(w.crm.accounts().await.len(), 3, "each created once");

    let seen = w.proxy.seen();
    let refused = seen
        .iter()
        .position(|s| s.status == 429)
        .unwrap_or_else(|| panic!("the refusal was met: {seen:?}"));
    let next = &seen[refused + 1];
    let waited = next.at - seen[refused].at;
    assert!(
        waited >= std::time::Duration::from_millis(950),
        "no request before the second asked for ({waited:?}): {seen:?}"
    );
    assert_eq!(
        next.request, seen[refused].request,
        "the refused create, again"
    );
    assert!(seen.iter().any(|s| s.status == 503), "{seen:?}");
}

/// The client secret of the signed-in service: it must never be shown.
const SECRET: &str = "s3cret-Client-Value-42";

async fn client_credentials_sign_in_and_a_refused_token_is_renewed_once(kind: StoreKind) {
    let client = format!("coupler-app:{SECRET}");
    // The token endpoint is the service's own, reached directly; the Web API through
    // the proxy, which refuses one read with 401 as a service does a token it revoked.
    let s = setup(kind, &["--client", &client], |root| {
        format!(
            "kind = \"dataverse\"\nauth = {{ token_url = \"{root}token\", client_id = \"coupler-app\", \
             client_secret_env = \"COUPLER_TEST_CRM_SECRET\", scope = \"accounts/.default\" }}"
        )
    })
    .await;
    let token_url = format!("{}token", s.crm.root);
    for (no, name) in [("C1", "Aalborg Cykler"), ("C2", "Bergen Bakeri")] {
        sqlx::query(&format!(
            "insert into customer (no, name, city, email, credit_limit, modified_at) \
             values ('{no}', '{name}', 'Aalborg', '{no}@example.com', 10, {})",
            now_ms()
        ))
        .execute(&s.erp)
        .await
        .unwrap();
    }
    s.proxy
        .inject(Fault::refused(reqwest::Method::GET, 401, None));

    let sync = |secret: &'static str| {
        let config = s.config.clone();
        let store_url = s.store_url.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_coupler"))
                .args(["--config"])
                .arg(&config)
                .args(["--database-url", &store_url, "sync", "--json"])
                .env("COUPLER_TEST_CRM_SECRET", secret)
                .env("RUST_LOG", "debug")
                .output()
                .unwrap()
        })
    };
    let done = sync(SECRET).await.unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&done.stdout).into_owned(),
        String::from_utf8_lossy(&done.stderr).into_owned(),
    );
    assert!(done.status.success(), "{stdout}{stderr}");
    let jobs: Json = serde_json::from_str(&stdout).unwrap();
    assert_eq!(jobs[0]["state"], "succeeded", "{stdout}");
    assert_eq!(jobs[0]["counters"]["inserted"], 2, "{stdout}");
    assert_eq!(s.crm.accounts_signed_in(&token_url, &client).await.len(), 2);
    assert!(
        s.proxy.seen().iter().any(|r| r.status == 401),
        "the refusal was met"
    );
    let issued: Json = serde_json::from_slice(
        &reqwest::get(format!("{}tokens", s.crm.root))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    // One for the run, one after the 401, one for the test's own look.
    assert_eq!(issued["issued"], 3, "a new token once the old was refused");
    assert!(
        !stdout.contains(SECRET) && !stderr.contains(SECRET),
        "the secret is never shown"
    );

    let refused = sync("not-the-secret").await.unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(stderr.contains("invalid_client"), "{stderr}");
    assert!(!stderr.contains("not-the-secret"), "{stderr}");
}

impl Service {
    /// Every account, read with a token of the client `client` (`id:secret`).
    async fn accounts_signed_in(&self, token_url: &str, client: &str) -> Vec<Json> {
        let (id, secret) = client.split_once(':').unwrap();
        let token: Json = serde_json::from_slice(
            &self
                .http
                .post(token_url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", id),
                    ("client_secret", secret),
                ])
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap(),
        )
        .unwrap();
        let answer = self
            .http
            .get(format!("{}accounts", self.root))
            .bearer_auth(token["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        let page: Json = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
        page["value"].as_array().unwrap().clone()
    }
}

async fn a_crash_at_any_write_step_loses_and_duplicates_nothing(kind: StoreKind) {
    for point in FaultPoint::ALL {
        let w = world(kind).await;
        for n in 1..=5 {
            w.add_customer(&format!("C{n}"), &format!("Customer {n}"), "Aalborg")
                .await;
        }
        // During the initial synchronization: creates.
        w.engine.inject_fault(point);
        let crashed = w.run().await;
        assert!(
            crashed
                .message
                .as_deref()
                .unwrap_or_default()
                .contains("injected fault"),
            "{point}: {crashed:?}"
        );
        w.erp(&format!(
            "update customer set city = 'Odense', modified_at = {} where no = 'C3'",
            now_ms()
        ))
        .await;
        w.sync().await;
        let accounts = w.crm.accounts().await;
        assert_eq!(accounts.len(), 5, "{point}: no duplicate: {accounts:?}");
        let couplings = w
            .engine
            .couplings("CUSTOMER", None, None, 100)
            .await
            .unwrap();
        assert_eq!(couplings.len(), 5, "{point}: every customer coupled once");
        assert_eq!(
            w.crm.account("Customer 3").await["address1_city"],
            "Odense",
            "{point}"
        );

        // During an incremental one: an update each way.
        let id = w.crm.account("Customer 4").await["accountid"]
            .as_str()
            .unwrap()
            .to_string();
        w.crm.edit(&id, json!({"address1_city": "Viborg"})).await;
        w.erp(&format!(
            "update customer set name = 'Customer 2 A/S', modified_at = {} where no = 'C2'",
            now_ms()
        ))
        .await;
        w.engine.inject_fault(point);
        w.run().await;
        w.sync().await;
        w.crm.account("Customer 2 A/S").await;
        assert_eq!(
            w.customer("C4", "city").await.as_deref(),
            Some("Viborg"),
            "{point}"
        );
        assert_eq!(w.crm.accounts().await.len(), 5, "{point}");
        assert!(
            w.errors().await.is_empty(),
            "{point}: {:?}",
            w.errors().await
        );
    }
}

async fn a_batch_whose_answer_is_lost_is_sent_again_and_duplicates_nothing(kind: StoreKind) {
    let w = world(kind).await;
    for n in 1..=3 {
        w.add_customer(&format!("C{n}"), &format!("Customer {n}"), "Aalborg")
            .await;
    }
    // The service makes the accounts, but its answer is lost on the way back.
    w.proxy
        .inject(Fault::answer_lost(reqwest::Method::POST, 502));
    let job = w.sync().await;
    assert_eq!(job.counters.inserted, 3, "{job:?}");
    assert_eq!(w.crm.accounts().await.len(), 3, "no duplicate");
    let batches = w
        .proxy
        .seen()
        .into_iter()
        .filter(|s| s.request == "POST /$batch")
        .count();
    assert_eq!(batches, 2, "the batch was sent again");
    assert!(w.errors().await.is_empty(), "{:?}", w.errors().await);
    assert_eq!(
        w.engine
            .couplings("CUSTOMER", None, None, 100)
            .await
            .unwrap()
            .len(),
        3
    );
}

async fn a_read_answered_after_the_timeout_is_sent_again(kind: StoreKind) {
    let s = setup(kind, &[], |_| {
        "kind = \"dataverse\"\ntimeout = \"1s\"".to_string()
    })
    .await;
    let config = Config::load(&s.config).unwrap();
    let systems = Systems::connect(&config).await.unwrap();
    let engine = Engine::open_with(config, &s.store_url, systems)
        .await
        .unwrap();
    let w = World {
        engine,
        erp: s.erp,
        crm: s.crm,
        proxy: s.proxy,
    };
    w.add_customer("C1", "Aalborg Cykler", "Aalborg").await;
    w.sync().await;
    w.crm
        .edit(
            w.crm.account("Aalborg Cykler").await["accountid"]
                .as_str()
                .unwrap(),
            json!({"address1_city": "Skagen"}),
        )
        .await;
    let before = w.proxy.seen().len();
    // The read of the change feed answers after two seconds: past the timeout.
    w.proxy.inject(Fault::slow(
        reqwest::Method::GET,
        std::time::Duration::from_secs(2),
    ));
    let job = w.sync().await;
    assert_eq!(job.counters.modified, 1, "{job:?}");
    assert_eq!(w.customer("C1", "city").await.as_deref(), Some("Skagen"));
    let reads: Vec<_> = w.proxy.seen()[before..]
        .iter()
        .filter(|s| s.request == "GET /accounts")
        .cloned()
        .collect();
    assert!(reads.len() >= 2, "the slow read was sent again: {reads:?}");
}

async fn with_change_tracking_edits_and_deletions_come_from_the_feed(kind: StoreKind) {
    let w = world_with(kind, "kind = \"dataverse\"\nchange_tracking = true").await;
    for (no, name) in [
        ("C1", "Aalborg Cykler"),
        ("C2", "Bergen Bakeri"),
        ("C3", "Cork Cafe"),
    ] {
        w.add_customer(no, name, "Aalborg").await;
    }
    w.sync().await;
    let quiet = w.sync().await;
    assert_eq!(quiet.counters, Default::default(), "{quiet:?}");
    let id = |name: &'static str| {
        let crm = &w.crm;
        async move {
            crm.account(name).await["accountid"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let (first, second) = (id("Aalborg Cykler").await, id("Bergen Bakeri").await);
    w.crm
        .edit(&first, json!({"address1_city": "Thisted"}))
        .await;
    w.crm.delete(&second).await;
    let before = w.proxy.seen().len();

    let job = w.sync().await;
    assert_eq!(
        w.customer("C1", "city").await.as_deref(),
        Some("Thisted"),
        "{job:?}"
    );
    let errors = w.errors().await;
    assert_eq!(errors.len(), 1, "the deletion, from the feed: {errors:?}");
    assert_eq!(errors[0].kind, SyncErrorKind::DeletedIntegration);
    assert_eq!(errors[0].local_key.as_deref(), Some("C2"));
    assert!(
        w.proxy.seen()[before..]
            .iter()
            .any(|s| s.request == "GET /accounts" && s.query.contains("deltatoken")),
        "read from the delta link"
    );
    assert_eq!(job.message, None);
}

async fn an_expired_change_tracking_position_reads_the_side_whole_and_says_so(kind: StoreKind) {
    let w = world_with(kind, "kind = \"dataverse\"\nchange_tracking = true").await;
    w.add_customer("C1", "Aalborg Cykler", "Aalborg").await;
    w.sync().await;
    let id = w.crm.account("Aalborg Cykler").await["accountid"]
        .as_str()
        .unwrap()
        .to_string();
    w.crm.edit(&id, json!({"address1_city": "Hirtshals"})).await;
    // The service no longer takes the delta token the last run kept.
    w.proxy
        .inject(Fault::refused(reqwest::Method::GET, 410, None).holding("deltatoken"));
    let job = w.sync().await;
    let message = job.message.clone().unwrap_or_default();
    assert!(
        message.contains("no longer took") && message.contains("read whole"),
        "{job:?}"
    );
    assert_eq!(w.customer("C1", "city").await.as_deref(), Some("Hirtshals"));
    assert!(w.proxy.seen().iter().any(|s| s.status == 410));

    let next = w.sync().await;
    assert_eq!(next.message, None, "tracking again from the new position");
    assert_eq!(next.counters, Default::default(), "{next:?}");
}

/// A world whose CRM side reads only the accounts `filter` holds for, with `settings`.
async fn world_filtering(kind: StoreKind, settings: &str, filter: &str) -> Setup {
    let setup = setup(kind, &[], |_| settings.to_string()).await;
    let text = std::fs::read_to_string(&setup.config).unwrap().replacen(
        r#"modified = "modifiedon" }"#,
        &format!(r#"modified = "modifiedon", filter = "{filter}" }}"#),
        1,
    );
    std::fs::write(&setup.config, text).unwrap();
    setup
}

async fn a_table_filter_on_the_service_narrows_what_is_read(kind: StoreKind) {
    let setup = world_filtering(kind, "kind = \"dataverse\"", "address1_city != 'Oslo'").await;
    for (id, name, city) in [
        ("1", "Aarhus Bryghus", json!("Aarhus")),
        ("2", "Oslo Fisk", json!("Oslo")),
        ("3", "Nowhere Ltd", Json::Null),
    ] {
        setup
            .crm
            .create(json!({
                "accountid": format!("00000000-0000-4000-8000-00000000000{id}"),
                "name": name,
                "address1_city": city,
            }))
            .await;
    }
    // Customers come from the CRM here: the ERP stamps their modified-on itself.
    let now = match kind {
        StoreKind::Sqlite => "cast(unixepoch('subsec') * 1000 as integer)",
        StoreKind::Postgres => "cast(extract(epoch from clock_timestamp()) * 1000 as bigint)",
    };
    let stamped = ERP.replace(
        "modified_at bigint not null",
        &format!("modified_at bigint not null default ({now})"),
    );
    sqlx::raw_sql(&format!("drop table customer; {stamped}"))
        .execute(&setup.erp)
        .await
        .unwrap();
    let w = open(setup).await;
    let job = w.sync().await;
    assert_eq!(job.counters.inserted, 1, "{job:?} {:?}", w.errors().await);
    let names: Vec<String> = sqlx::query_scalar("select name from customer")
        .fetch_all(&w.erp)
        .await
        .unwrap();
    assert_eq!(
        names,
        ["Aarhus Bryghus"],
        "a null city is outside `!= 'Oslo'`, as in SQL"
    );
    assert!(
        w.proxy.seen().iter().any(|s| s
            .query
            .replace("%20", " ")
            .replace("%27", "'")
            .contains("(address1_city ne 'Oslo' and address1_city ne null)")),
        "the filter is the service's to apply"
    );

    let oslo = "00000000-0000-4000-8000-000000000002";
    let status = w
        .engine
        .record_status("CUSTOMER", Side::Integration, oslo)
        .await
        .unwrap();
    assert_eq!(status.state, StatusCode::ExcludedByFilter, "{status:?}");
    let excluded = w
        .engine
        .list_records_by_status("CUSTOMER", StatusCode::ExcludedByFilter, 0)
        .await
        .unwrap();
    let keys: Vec<&str> = excluded.rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(
        keys,
        [oslo, "00000000-0000-4000-8000-000000000003"],
        "{excluded:?}"
    );

    // A record that comes inside the filter is read by the next run.
    w.crm.edit(oslo, json!({"address1_city": "Bergen"})).await;
    let job = w.sync().await;
    assert_eq!(job.counters.inserted, 1, "{job:?}");
    assert_eq!(
        w.engine
            .record_status("CUSTOMER", Side::Integration, oslo)
            .await
            .unwrap()
            .state,
        StatusCode::InSync
    );

    // A change-tracking feed takes no $filter: refused at start, saying what to do.
    let setup = world_filtering(
        kind,
        "kind = \"dataverse\"\nchange_tracking = true",
        "address1_city != 'Oslo'",
    )
    .await;
    let config = Config::load(&setup.config).unwrap();
    // Refused when the mapping is first checked: connecting, the engine's start, or its
    // first run.
    let refused = match Systems::connect(&config).await {
        Err(e) => e.to_string(),
        Ok(systems) => match Engine::open_with(config, &setup.store_url, systems).await {
            Ok(engine) => match engine.synchronize(Some("CUSTOMER"), false, "test").await {
                Ok(jobs) => format!("{:?}", jobs[0].message),
                Err(e) => e.to_string(),
            },
            Err(e) => e.to_string(),
        },
    };
    let message = format!("{refused:?}");
    assert!(
        message.contains("change_tracking = false") && message.contains("accounts"),
        "{message}"
    );
}

async fn a_job_waiting_on_the_services_limit_says_until_when(kind: StoreKind) {
    let w = world(kind).await;
    w.add_customer("C1", "Aalborg Cykler", "Aalborg").await;
    w.proxy
        .inject(Fault::refused(reqwest::Method::POST, 429, Some("3")));
    let engine = w.engine.clone();
    let run =
        tokio::spawn(async move { engine.synchronize(Some("CUSTOMER"), false, "test").await });
    let mut shown = None;
    for _ in 0..50 {
        let jobs = w.engine.jobs(5).await.unwrap();
        if let Some(message) = jobs
            .iter()
            .find(|j| j.state == JobState::Running)
            .and_then(|j| j.message.clone())
        {
            shown = Some(message);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let shown = shown.expect("the running job said what it waits on");
    assert!(
        shown.starts_with("waiting until ") && shown.contains("system crm asked to wait"),
        "{shown}"
    );
    let job = run.await.unwrap().unwrap().remove(0);
    assert_eq!(job.state, JobState::Succeeded, "{job:?}");
    assert_eq!(job.message, None, "no longer waiting once it ends");
    assert_eq!(job.counters.inserted, 1);
}

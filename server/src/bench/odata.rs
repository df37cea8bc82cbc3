//! `coupler bench --odata URL`: the figures of a CRM over an OData Web API. The service
//! at URL has an `accounts` entity set shaped like Dataverse's (as
//! `tests/support/odata_service.py` serves one). Measured in one run: `raw` (N accounts
//! written straight to the service in `$batch` requests of 500, as fast as it takes
//! them), then `initial_sync` (N customers of an ERP on the bench's store synchronized
//! to it, one way: records/s, its ratio to raw, the requests sent and the 429/503
//! refusals met and the time they cost). The raw accounts are deleted between the two
//! (not measured), so both write to an entity set as empty, and a service that slows as
//! it grows slows both alike.

use super::{BenchStore, Scratch};
use anyhow::{Context, bail};
use engine::Engine;
use engine::config::Config;
use serde::Serialize;
use serde_json::json;
use std::time::Instant;

/// Writes per `$batch`, in the raw figure and in the synchronization alike.
const BATCH: u64 = 500;

/// The figures of an OData run.
#[derive(Debug, Serialize)]
pub struct ODataFigures {
    /// Records (N).
    pub records: u64,
    /// The service's own write rate through `$batch`, records/s.
    pub raw: f64,
    /// The refusals of its protection the raw writes met.
    pub raw_refusals: Refusals,
    /// N customers synchronized to the service.
    pub initial_sync: ODataSync,
}

/// An initial synchronization to the OData service.
#[derive(Debug, Serialize)]
pub struct ODataSync {
    /// Records per second.
    pub records_per_s: f64,
    /// Its share of `raw`.
    pub ratio_to_raw: f64,
    /// How long it took.
    pub seconds: f64,
    /// Records created on the service.
    pub inserted: u64,
    /// Records it refused (the demo's names too long for it).
    pub refused: u64,
    /// What was sent to the service, and the refusals of its protection.
    pub traffic: engine::connector::Traffic,
}

/// Measures against the service at `root` with `n` records.
pub(super) async fn measure(
    root: &str,
    n: u64,
    postgres_url: &str,
    store: BenchStore,
    say: &impl Fn(String),
) -> anyhow::Result<ODataFigures> {
    let root = format!("{}/", root.trim_end_matches('/'));
    say(format!(
        "coupler bench: {n} records to the OData service at {root}"
    ));
    let http = reqwest::Client::new();

    // 1. raw: N accounts in $batch requests of 500, straight to the service.
    let ids: Vec<String> = (0..n).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let started = Instant::now();
    let raw_refusals = send_batches(&http, &root, &ids, |i, id| {
        json!({
            "method": "POST",
            "url": "accounts",
            "headers": {"content-type": "application/json"},
            "body": {
                "accountid": id,
                "name": format!("Raw account {i}"),
                "address1_city": "Aarhus",
                "emailaddress1": format!("raw{i}@example.com"),
                "creditlimit": 1000,
            },
        })
    })
    .await?;
    let took = started.elapsed().as_secs_f64();
    let raw = n as f64 / took;
    say(format!(
        "raw              {raw:>12.0} records/s  ({n} accounts in {took:.2} s, $batch of {BATCH}; {} 429/503, {:.1} s waited)",
        raw_refusals.count, raw_refusals.waited_s
    ));

    // The raw accounts go again (not measured), so the synchronization writes to a set
    // as empty as the raw writes found it.
    say("                 (deleting the raw accounts)".to_string());
    send_batches(&http, &root, &ids, |_, id| {
        json!({
            "method": "DELETE",
            "url": format!("accounts({id})"),
            "headers": {"if-match": "*"},
        })
    })
    .await?;

    // 2. initial_sync: N customers of an ERP to the service.
    let scratch = Scratch::new(store, postgres_url).await?;
    let result = async {
        say(format!("                 (creating {n} customers)"));
        let erp = scratch.database("odata_erp").await?;
        let unused = scratch.database("odata_crm").await?;
        engine::demo::create_customers(&erp, &unused, n).await?;
        let store_url = scratch.database("odata_store").await?;
        let path = scratch.dir.join("coupler-odata.toml");
        std::fs::write(&path, config(&erp, &root, &store_url))?;
        let config = Config::load(&path)?;
        let systems = engine::Systems::connect(&config).await?;
        let engine = Engine::open_with(config, &store_url, systems).await?;
        let started = Instant::now();
        let job = engine
            .synchronize(Some("CUSTOMER"), false, "bench")
            .await?
            .remove(0);
        let seconds = started.elapsed().as_secs_f64();
        // The demo's customers include a few whose names are too long for the CRM:
        // the service refuses those.
        if job.counters.inserted + job.counters.failed != n {
            bail!(
                "the initial synchronization created {} and failed {} of {n} accounts: {:?}",
                job.counters.inserted,
                job.counters.failed,
                job.message
            );
        }
        Ok::<_, anyhow::Error>(ODataSync {
            records_per_s: n as f64 / seconds,
            ratio_to_raw: n as f64 / seconds / raw,
            seconds,
            inserted: job.counters.inserted,
            refused: job.counters.failed,
            traffic: engine.traffic("crm").await,
        })
    }
    .await;
    scratch.remove().await;
    let sync = result?;
    say(format!(
        "initial_sync     {:>12.0} records/s  ({:.2} s; {:.1}% of raw; {} created, {} refused by the service; {} requests, {} 429/503, {:.1} s waited)",
        sync.records_per_s,
        sync.seconds,
        sync.ratio_to_raw * 100.0,
        sync.inserted,
        sync.refused,
        sync.traffic.requests,
        sync.traffic.refusals,
        sync.traffic.waited_ms as f64 / 1000.0
    ));
    Ok(ODataFigures {
        records: n,
        raw,
        raw_refusals,
        initial_sync: sync,
    })
}

/// The refusals of a service's protection met by [`send_batches`], and the time they cost.
#[derive(Debug, Default, Serialize)]
pub struct Refusals {
    /// 429 and 503 answers.
    pub count: u64,
    /// Seconds waited for the `Retry-After` they gave.
    pub waited_s: f64,
}

/// One request per id, made by `request(index, id)`, sent in JSON `$batch` requests of
/// [`BATCH`] with `continue-on-error`. A batch refused with 429 or 503 is sent again after
/// the `Retry-After` given (a second if none), as the service asks.
async fn send_batches(
    http: &reqwest::Client,
    root: &str,
    ids: &[String],
    request: impl Fn(usize, &str) -> serde_json::Value,
) -> anyhow::Result<Refusals> {
    let mut refusals = Refusals::default();
    for (chunk, first) in ids
        .chunks(BATCH as usize)
        .zip((0..).step_by(BATCH as usize))
    {
        let requests: Vec<_> = chunk
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let mut one = request(first + i, id);
                one["id"] = json!((first + i + 1).to_string());
                one
            })
            .collect();
        let body = json!({ "requests": requests }).to_string();
        loop {
            let answer = http
                .post(format!("{root}$batch"))
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .header("Prefer", "odata.continue-on-error")
                .body(body.clone())
                .send()
                .await
                .with_context(|| format!("the OData service at {root}"))?;
            let status = answer.status().as_u16();
            if status == 429 || status == 503 {
                let seconds = answer
                    .headers()
                    .get("Retry-After")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(1);
                refusals.count += 1;
                refusals.waited_s += seconds as f64;
                tokio::time::sleep(std::time::Duration::from_secs(seconds)).await;
                continue;
            }
            if !answer.status().is_success() {
                bail!(
                    "the OData service answered a batch with {}",
                    answer.status()
                );
            }
            break;
        }
    }
    Ok(refusals)
}

/// The configuration of the ERP's customers coupled with the service's accounts.
fn config(erp: &str, root: &str, store: &str) -> String {
    format!(
        r#"[store]
url = "{store}"

[systems.erp]
url = "{erp}"

[systems.crm]
kind = "odata"
url = "{root}"
batch_size = {BATCH}

[[mapping]]
name = "CUSTOMER"
direction = "to_integration"
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
"#
    )
}

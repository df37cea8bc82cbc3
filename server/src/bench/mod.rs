//! `coupler bench`: measures the engine and the console on fresh temporary databases
//! against the raw write rate of the destination, and prints each figure as it is
//! measured (with `--json`, one object with all of them at the end).
//!
//! The figures: `raw` (the CRM's account table filled as fast as the driver allows),
//! `initial_sync` (N customers synchronized to the CRM with couplings, base snapshots and
//! log), `incremental` (1,000 changes among N and among N/10 coupled records),
//! `failing_sync` (a run in which the CRM refuses 100,000 changed records, or N),
//! `errors_page` (the errors list through the real router with those open errors),
//! `record_status` (a record's status through the router), `health` (the sync health
//! counts and every mapping's health, counted afresh),
//! `retry_all`, `concurrent_console` (50 clients reading pages) and `peak_rss_mb` of the
//! initial synchronization. With `--odata URL`, the figures of a CRM over an OData Web
//! API instead ([`odata`]).

mod odata;

use crate::router::router;
use crate::state::AppState;
use anyhow::{Context, bail};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use clap::{Args, ValueEnum};
use engine::Engine;
use engine::config::Config;
use engine::model::{ErrorFilter, Selection, SyncErrorKind};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// Options of `coupler bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// How many records: customers in the ERP, accounts in the raw table.
    #[arg(long, default_value_t = 1_000_000)]
    pub records: u64,
    /// Where the store and both systems live.
    #[arg(long, value_enum, default_value_t = BenchStore::Sqlite)]
    pub store: BenchStore,
    /// A smoke run: 10,000 records and short load phases (checks, never timings).
    #[arg(long)]
    pub quick: bool,
    /// Print one JSON object with every figure (progress goes to standard error).
    #[arg(long)]
    pub json: bool,
    /// A PostgreSQL server to create the temporary databases in (with `--store postgres`).
    #[arg(
        long,
        env = "COUPLER_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres_url: String,
    /// Measure a CRM over the OData service at this root instead (an `accounts` entity
    /// set shaped like Dataverse's, as `tests/support/odata_service.py` serves).
    #[arg(long)]
    pub odata: Option<String>,
}

/// The databases a benchmark runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BenchStore {
    /// SQLite files in a temporary folder.
    Sqlite,
    /// Temporary databases on a PostgreSQL server.
    Postgres,
}

/// Every figure of a run.
#[derive(Debug, Serialize)]
pub struct Figures {
    /// Records (N).
    pub records: u64,
    /// Where it ran.
    pub store: BenchStore,
    /// The destination's raw write rate, rows/s.
    pub raw: f64,
    /// The initial synchronization.
    pub initial_sync: InitialSync,
    /// 1,000 changes, among N and among N/10 coupled records.
    pub incremental: Incremental,
    /// A run in which the CRM refuses every changed record.
    pub failing_sync: FailingSync,
    /// The errors list through the router.
    pub errors_page: ErrorsPage,
    /// A record's status through the router.
    pub record_status: RecordStatusCalls,
    /// The sync health counts and the mapping health, counted afresh.
    pub health: HealthCosts,
    /// Seconds until Retry All over every open error answered.
    pub retry_all: f64,
    /// Clients reading pages at once.
    pub concurrent_console: Concurrent,
    /// Find for Deleted over every coupling, as a mapping's `deletion_scan` runs it.
    pub deletion_scan: DeletionScan,
    /// Pruning old log entries while the console is read.
    pub prune: PruneFigures,
    /// The process's peak resident memory during the initial synchronization, MiB.
    pub peak_rss_mb: f64,
}

/// Pruning's figures: old log entries (20 for each of N/10 records) pruned down to each
/// record's floor while 50 clients read the console.
#[derive(Debug, Serialize)]
pub struct PruneFigures {
    /// Old log entries added before pruning.
    pub added: u64,
    /// Rows pruned.
    pub rows: u64,
    /// Seconds the prune took.
    pub seconds: f64,
    /// Rows pruned per second.
    pub rows_per_s: f64,
    /// The console read meanwhile.
    pub console: Concurrent,
}

/// The figures of a run whose every record is refused: what recording failures costs.
#[derive(Debug, Serialize)]
pub struct FailingSync {
    /// Records the run recorded as failed.
    pub failed: u64,
    /// Seconds the run took.
    pub seconds: f64,
    /// Failed records per second.
    pub records_per_s: f64,
}

/// The scan for deleted records' figures.
#[derive(Debug, Serialize)]
pub struct DeletionScan {
    /// Couplings scanned.
    pub couplings: u64,
    /// Seconds it took.
    pub seconds: f64,
    /// Couplings scanned per second.
    pub couplings_per_s: f64,
}

/// The initial synchronization's figures.
#[derive(Debug, Serialize)]
pub struct InitialSync {
    /// Local records synchronized per second.
    pub records_per_s: f64,
    /// Seconds it took.
    pub seconds: f64,
    /// `records_per_s` / `raw`.
    pub ratio_to_raw: f64,
    /// Records coupled.
    pub coupled: u64,
    /// Records refused (names too long for the CRM).
    pub failed: u64,
}

/// The incremental runs' figures.
#[derive(Debug, Serialize)]
pub struct Incremental {
    /// Records changed before each run.
    pub changed: u64,
    /// Seconds of the run among N coupled records.
    pub seconds: f64,
    /// Seconds of the run among N/10 coupled records.
    pub seconds_tenth: f64,
    /// `seconds` / `seconds_tenth`: about 1 when cost follows changes, 10 when size.
    pub ratio: f64,
}

/// A record's status's figures: `get_record_status` through the router, in turn for a
/// record in sync, one failing and a key on neither side.
#[derive(Debug, Serialize)]
pub struct RecordStatusCalls {
    /// Calls made.
    pub calls: usize,
    /// Median, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
}

/// What the sync health counts (the CUSTOMER mapping's records by state) and every
/// mapping's health cost when counted afresh, as the overview counts them every ten
/// seconds while anyone looks, and what the overview's first count costs (the server
/// makes it when it starts, so that no reader waits for it).
#[derive(Debug, Serialize)]
pub struct HealthCosts {
    /// Counts of each kind made.
    pub calls: usize,
    /// `records_by_state`: median, ms.
    pub by_state_p50_ms: f64,
    /// `records_by_state`: 99th percentile, ms.
    pub by_state_p99_ms: f64,
    /// `mapping_health`: median, ms.
    pub health_p50_ms: f64,
    /// `mapping_health`: 99th percentile, ms.
    pub health_p99_ms: f64,
    /// The overview's first count (its numbers and error trends with nothing counted
    /// yet, as a server counts them when it starts), ms.
    pub overview_first_count_ms: f64,
}

/// The errors list's figures.
#[derive(Debug, Serialize)]
pub struct ErrorsPage {
    /// Open errors while measuring.
    pub errors: i64,
    /// Server-function calls made.
    pub calls: usize,
    /// Median, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// p99 per kind of call: first page, deep keyset page, by kind, text search.
    pub p99_by_call_ms: Vec<(String, f64)>,
    /// The server-rendered `/errors` page's 99th percentile, ms.
    pub rendered_p99_ms: f64,
}

/// The concurrent readers' figures.
#[derive(Debug, Serialize)]
pub struct Concurrent {
    /// Clients.
    pub clients: usize,
    /// Requests per second each.
    pub per_client_per_s: u32,
    /// Seconds they ran.
    pub seconds: f64,
    /// Requests answered.
    pub requests: usize,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// 99th percentile of each page, ms.
    pub p99_by_page_ms: Vec<(String, f64)>,
    /// Requests that failed (not 200).
    pub failed: usize,
    /// Whether the clients were signed in (accounts do not exist yet).
    pub signed_in: bool,
}

/// Runs the benchmark and prints its figures.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let n = if args.quick { 10_000 } else { args.records };
    if n < 1000 {
        bail!("--records must be at least 1000");
    }
    let say = |line: String| {
        if args.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    if let Some(root) = &args.odata {
        let figures = odata::measure(root, n, &args.postgres_url, args.store, &say).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&figures)?);
        }
        return Ok(());
    }
    let scratch = Scratch::new(args.store, &args.postgres_url).await?;
    let result = measure(&scratch, n, args.quick, &say).await;
    scratch.remove().await;
    let figures = result?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&figures)?);
    }
    for line in verdicts(&figures) {
        say(line);
    }
    Ok(())
}

async fn measure(
    scratch: &Scratch,
    n: u64,
    quick: bool,
    say: &impl Fn(String),
) -> anyhow::Result<Figures> {
    say(format!(
        "coupler bench: {n} records on {}",
        scratch.kind_name()
    ));

    // 1. raw: the CRM's account table filled directly.
    let raw_url = scratch.database("raw").await?;
    let took = engine::demo::fill_accounts(&raw_url, n).await?;
    let raw = n as f64 / took.as_secs_f64();
    say(format!(
        "raw              {raw:>12.0} rows/s  ({n} accounts in {:.2} s)",
        took.as_secs_f64()
    ));

    // 2. initial_sync, with the peak memory of this process meanwhile.
    say(format!("                 (creating {n} customers)"));
    let world = World::create(scratch, "big", n).await?;
    say(format!("                 (synchronizing {n} customers)"));
    reset_peak_rss();
    let started = Instant::now();
    let job = world.sync().await?;
    let seconds = started.elapsed().as_secs_f64();
    let peak_rss_mb = peak_rss_mb();
    let initial_sync = InitialSync {
        records_per_s: n as f64 / seconds,
        seconds,
        ratio_to_raw: n as f64 / seconds / raw,
        coupled: job.counters.coupled,
        failed: job.counters.failed,
    };
    say(format!(
        "initial_sync     {:>12.0} records/s  ({seconds:.2} s; {:.1}% of raw; {} coupled, {} refused)",
        initial_sync.records_per_s,
        initial_sync.ratio_to_raw * 100.0,
        initial_sync.coupled,
        initial_sync.failed
    ));
    say(format!("peak_rss_mb      {peak_rss_mb:>12.1} MiB"));

    // 3. incremental: 1,000 changes among N, then among N/10.
    let changed = 1000;
    let seconds_big = world.change_and_sync(changed, n).await?;
    let small = World::create(scratch, "tenth", n / 10).await?;
    small.sync().await?;
    let seconds_tenth = small.change_and_sync(changed, n / 10).await?;
    let incremental = Incremental {
        changed,
        seconds: seconds_big,
        seconds_tenth,
        ratio: seconds_big / seconds_tenth.max(1e-6),
    };
    say(format!(
        "incremental      {seconds_big:>12.3} s  ({changed} changed among {n}; {seconds_tenth:.3} s among {}; ratio {:.2})",
        n / 10,
        incremental.ratio
    ));

    // 4. errors_page: 100,000 open errors (or N, if fewer), through the router.
    let failing = n.min(100_000);
    say(format!("                 (making {failing} records fail)"));
    let failing_sync = world.fail(failing).await?;
    say(format!(
        "failing_sync     {:>12.0} records/s  ({} refused in {:.2} s)",
        failing_sync.records_per_s, failing_sync.failed, failing_sync.seconds
    ));
    let app = router(AppState::new(
        world.engine.clone(),
        crate::site::Site::Folder(world.dir.clone()),
    ));
    // The console's readers are signed in, as people are: one session per client.
    let password = engine::accounts::random_password();
    world
        .engine
        .add_user("bench", "bench", engine::model::Role::Viewer, &password)
        .await?;
    let mut cookies = Vec::new();
    for _ in 0..CLIENTS {
        let (token, _) = world.engine.sign_in("bench", &password, "bench").await?;
        cookies.push(format!("{}={token}", app::server::SESSION_COOKIE));
    }
    let errors_page = errors_page(&app, &world.engine, &cookies[0]).await?;
    say(format!(
        "errors_page      p50 {:.2} ms  p99 {:.2} ms  ({} calls, {} open errors; {}); rendered /errors p99 {:.2} ms",
        errors_page.p50_ms,
        errors_page.p99_ms,
        errors_page.calls,
        errors_page.errors,
        errors_page
            .p99_by_call_ms
            .iter()
            .map(|(call, ms)| format!("{call} p99 {ms:.2} ms"))
            .collect::<Vec<_>>()
            .join(", "),
        errors_page.rendered_p99_ms
    ));

    // 4b. record_status: in sync, failing, and on neither side, in turn.
    let record_status = record_status(&app, n, &cookies[0]).await?;
    say(format!(
        "record_status    p50 {:.2} ms  p99 {:.2} ms  ({} calls)",
        record_status.p50_ms, record_status.p99_ms, record_status.calls
    ));

    // 4c. health: the overview's first count, then the counts by state and every
    // mapping's health, afresh.
    let started = Instant::now();
    world.engine.count_overview().await?;
    let overview_first_count_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut by_state = Vec::new();
    let mut health_times = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        world.engine.records_by_state("CUSTOMER").await?;
        by_state.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        world.engine.mapping_health().await?;
        health_times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let health = HealthCosts {
        calls: by_state.len(),
        by_state_p50_ms: percentile(&mut by_state.clone(), 0.50),
        by_state_p99_ms: percentile(&mut by_state, 0.99),
        health_p50_ms: percentile(&mut health_times.clone(), 0.50),
        health_p99_ms: percentile(&mut health_times, 0.99),
        overview_first_count_ms,
    };
    say(format!(
        "health           records_by_state p50 {:.2} ms  p99 {:.2} ms; mapping_health p50 {:.2} ms  p99 {:.2} ms  ({} calls each); the overview's first count {:.2} ms",
        health.by_state_p50_ms,
        health.by_state_p99_ms,
        health.health_p50_ms,
        health.health_p99_ms,
        health.calls,
        health.overview_first_count_ms
    ));

    // 5. retry_all.
    let started = Instant::now();
    let filter = ErrorFilter {
        kind: Some(SyncErrorKind::Failed),
        ..ErrorFilter::default()
    };
    world
        .engine
        .retry("bench", "bench-retry-all", &Selection::Matching(filter))
        .await?;
    let retry_all = started.elapsed().as_secs_f64();
    say(format!(
        "retry_all        {retry_all:>12.3} s  (over {} errors, until the answer)",
        errors_page.errors
    ));

    // 6. concurrent_console.
    let concurrent_console = concurrent(&app, if quick { 3 } else { 20 }, cookies.clone()).await;
    say(format!(
        "concurrent       p99 {:.2} ms  ({} clients × {}/s for {:.0} s: {} requests, {} failed; {})",
        concurrent_console.p99_ms,
        concurrent_console.clients,
        concurrent_console.per_client_per_s,
        concurrent_console.seconds,
        concurrent_console.requests,
        concurrent_console.failed,
        concurrent_console
            .p99_by_page_ms
            .iter()
            .map(|(page, ms)| format!("{page} p99 {ms:.2} ms"))
            .collect::<Vec<_>>()
            .join(", ")
    ));

    // 7. deletion_scan: both records of every coupling looked up.
    let started = Instant::now();
    let scan = world.engine.find_deleted("bench", "CUSTOMER", true).await?;
    let seconds = started.elapsed().as_secs_f64();
    let deletion_scan = DeletionScan {
        couplings: scan.done,
        seconds,
        couplings_per_s: scan.done as f64 / seconds,
    };
    say(format!(
        "deletion_scan    {seconds:>12.3} s  ({} couplings, {:.0}/s)",
        deletion_scan.couplings, deletion_scan.couplings_per_s
    ));
    // 8. prune: old history pruned down to each record's floor, the console read meanwhile.
    let records = (n / 10).max(1);
    let added = engine::demo::add_old_log_entries(
        world.engine.store(),
        "CUSTOMER",
        records,
        20,
        Duration::from_secs(200 * 24 * 3600),
    )
    .await?;
    let done = Arc::new(AtomicBool::new(false));
    let readers = {
        let (app, cookies, done) = (app.clone(), cookies.clone(), done.clone());
        tokio::spawn(async move {
            concurrent_until(&app, cookies, Duration::from_secs(600), done).await
        })
    };
    let started = Instant::now();
    let pruned = world.engine.prune("bench", false, |_| {}).await;
    let seconds = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Release);
    let console = readers.await?;
    let rows = pruned?.rows();
    let prune = PruneFigures {
        added,
        rows,
        seconds,
        rows_per_s: rows as f64 / seconds,
        console,
    };
    say(format!(
        "prune            {:>12.0} rows/s  ({rows} of {added} old log entries pruned in {seconds:.2} s); console meanwhile p99 {:.2} ms ({} requests, {} failed)",
        prune.rows_per_s, prune.console.p99_ms, prune.console.requests, prune.console.failed
    ));
    Ok(Figures {
        records: n,
        store: scratch.kind,
        raw,
        initial_sync,
        incremental,
        failing_sync,
        errors_page,
        record_status,
        health,
        retry_all,
        concurrent_console,
        deletion_scan,
        prune,
        peak_rss_mb,
    })
}

/// `get_record_status` 300 times through the router: the last customer (in sync), the
/// first (failing: its name was lengthened) and a key that exists nowhere.
async fn record_status(
    app: &axum::Router,
    n: u64,
    cookie: &str,
) -> anyhow::Result<RecordStatusCalls> {
    let keys = [
        format!("C{n:06}"),
        "C000001".to_string(),
        "NOBODY".to_string(),
    ];
    let mut times = Vec::with_capacity(300);
    for i in 0..300 {
        let form = format!("mapping=CUSTOMER&side=local&key={}", keys[i % keys.len()]);
        let request = Request::post("/api/get_record_status")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .header(header::COOKIE, cookie)
            .body(Body::from(form))?;
        times.push(timed(app, request).await?);
    }
    Ok(RecordStatusCalls {
        calls: times.len(),
        p50_ms: percentile(&mut times.clone(), 0.50),
        p99_ms: percentile(&mut times, 0.99),
    })
}

/// The targets of issue-sized runs, met or missed, in words.
fn verdicts(f: &Figures) -> Vec<String> {
    let floor = match f.store {
        BenchStore::Sqlite => 50_000.0,
        BenchStore::Postgres => 30_000.0,
    };
    let (sync, inc, page, busy) = (
        &f.initial_sync,
        &f.incremental,
        &f.errors_page,
        &f.concurrent_console,
    );
    // (target, met, the figure)
    let targets = [
        (
            "initial_sync ≥ 25% of raw".to_string(),
            sync.ratio_to_raw >= 0.25,
            format!("{:.1}%", sync.ratio_to_raw * 100.0),
        ),
        (
            format!("initial_sync ≥ {floor:.0} records/s"),
            sync.records_per_s >= floor,
            format!("{:.0}", sync.records_per_s),
        ),
        (
            "incremental ≤ 0.5 s".into(),
            inc.seconds <= 0.5,
            format!("{:.3} s", inc.seconds),
        ),
        (
            "incremental N vs N/10 ≤ 2×".into(),
            inc.ratio <= 2.0,
            format!("{:.2}×", inc.ratio),
        ),
        (
            "errors_page p99 ≤ 50 ms".into(),
            page.p99_ms <= 50.0,
            format!("{:.2} ms", page.p99_ms),
        ),
        (
            "rendered /errors p99 ≤ 100 ms".into(),
            page.rendered_p99_ms <= 100.0,
            format!("{:.2} ms", page.rendered_p99_ms),
        ),
        (
            "retry_all ≤ 3 s".into(),
            f.retry_all <= 3.0,
            format!("{:.3} s", f.retry_all),
        ),
        (
            "concurrent_console p99 ≤ 200 ms, none failed".into(),
            busy.p99_ms <= 200.0 && busy.failed == 0,
            format!("{:.2} ms, {} failed", busy.p99_ms, busy.failed),
        ),
        (
            "deletion_scan ≤ 30 s".into(),
            f.deletion_scan.seconds <= 30.0,
            format!("{:.3} s", f.deletion_scan.seconds),
        ),
        (
            "peak_rss_mb ≤ 300".into(),
            f.peak_rss_mb <= 300.0,
            format!("{:.1} MiB", f.peak_rss_mb),
        ),
    ];
    std::iter::once("targets (set for 1,000,000 records on 2 cores):".to_string())
        .chain(targets.into_iter().map(|(target, met, figure)| {
            format!(
                "{} {target}: {figure}",
                if met { "met   " } else { "missed" }
            )
        }))
        .collect()
}

/// The errors list called through the router: first page, a deep keyset page, by kind,
/// and a text search, 250 each; then the rendered page.
async fn errors_page(
    app: &axum::Router,
    engine: &Engine,
    cookie: &str,
) -> anyhow::Result<ErrorsPage> {
    let errors = engine.sync_error_count(&ErrorFilter::default()).await?;
    // A position deep in the list: fifty pages of a thousand down, or the last one.
    let mut deep = None;
    for _ in 0..50 {
        let page = engine
            .sync_errors(&ErrorFilter::default(), deep, 1000)
            .await?;
        match page.last() {
            Some(last) if page.len() == 1000 => {
                deep = Some(engine::model::ErrorCursor {
                    failed_at: last.failed_at,
                    id: last.id,
                })
            }
            _ => break,
        }
    }
    let deep = deep.map_or(String::new(), |c| format!("after={}.{}", c.failed_at, c.id));
    let calls = [
        ("first page", String::new()),
        ("deep page", deep),
        ("by kind", "kind=failed".to_string()),
        ("text search", "search=C0000777".to_string()),
    ];
    let mut all = Vec::new();
    let mut by_call = Vec::new();
    for (name, form) in &calls {
        let mut times = Vec::with_capacity(250);
        for _ in 0..250 {
            let request = Request::post("/api/list_sync_errors")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "application/json")
                .header(header::COOKIE, cookie)
                .body(Body::from(form.clone()))?;
            times.push(timed(app, request).await?);
        }
        by_call.push((name.to_string(), percentile(&mut times.clone(), 0.99)));
        all.extend(times);
    }
    let mut rendered = Vec::with_capacity(100);
    for _ in 0..100 {
        let request = Request::get("/errors")
            .header(header::ACCEPT, "text/html")
            .header(header::COOKIE, cookie)
            .body(Body::empty())?;
        rendered.push(timed(app, request).await?);
    }
    Ok(ErrorsPage {
        errors,
        calls: all.len(),
        p50_ms: percentile(&mut all.clone(), 0.50),
        p99_ms: percentile(&mut all, 0.99),
        p99_by_call_ms: by_call,
        rendered_p99_ms: percentile(&mut rendered, 0.99),
    })
}

/// Milliseconds the router took to answer `request` completely; an answer other than
/// 200 is an error.
async fn timed(app: &axum::Router, request: Request<Body>) -> anyhow::Result<f64> {
    let asked = request.uri().to_string();
    let started = Instant::now();
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if status != StatusCode::OK {
        bail!(
            "{asked} answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok(ms)
}

/// Clients of the concurrent console.
const CLIENTS: usize = 50;

/// 50 signed-in clients (one session each in `cookies`), each reading a page every
/// 200 ms for `seconds`.
async fn concurrent(app: &axum::Router, seconds: u64, cookies: Vec<String>) -> Concurrent {
    let never = Arc::new(AtomicBool::new(false));
    concurrent_until(app, cookies, Duration::from_secs(seconds), never).await
}

/// The clients of [`concurrent`], reading for at most `most`, or until `done` is set.
async fn concurrent_until(
    app: &axum::Router,
    cookies: Vec<String>,
    most: Duration,
    done: Arc<AtomicBool>,
) -> Concurrent {
    let started = Instant::now();
    const PER_S: u32 = 5;
    const PAGES: [&str; 5] = [
        "/",
        "/errors",
        "/errors?kind=failed",
        "/jobs",
        "/mappings/CUSTOMER",
    ];
    let until = started + most;
    let mut clients = Vec::with_capacity(CLIENTS);
    for (client, cookie) in cookies.into_iter().enumerate() {
        let (app, done) = (app.clone(), done.clone());
        clients.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(1000 / u64::from(PER_S)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let (mut times, mut failed) = (Vec::new(), 0);
            let mut i = client;
            while Instant::now() < until && !done.load(Ordering::Acquire) {
                tick.tick().await;
                let page = i % PAGES.len();
                let request = Request::get(PAGES[page])
                    .header(header::ACCEPT, "text/html")
                    .header(header::COOKIE, &cookie)
                    .body(Body::empty())
                    .expect("a request");
                i += 1;
                match timed(&app, request).await {
                    Ok(ms) => times.push((page, ms)),
                    Err(_) => failed += 1,
                }
            }
            (times, failed)
        }));
    }
    let (mut by_page, mut failed) = (vec![Vec::new(); PAGES.len()], 0);
    for client in clients {
        if let Ok((t, f)) = client.await {
            for (page, ms) in t {
                by_page[page].push(ms);
            }
            failed += f;
        } else {
            failed += 1;
        }
    }
    let mut times: Vec<f64> = by_page.iter().flatten().copied().collect();
    let p99_by_page_ms = PAGES
        .iter()
        .zip(&mut by_page)
        .map(|(page, times)| (page.to_string(), percentile(times, 0.99)))
        .collect();
    Concurrent {
        clients: CLIENTS,
        per_client_per_s: PER_S,
        seconds: started.elapsed().as_secs_f64(),
        requests: times.len() + failed,
        p99_ms: percentile(&mut times, 0.99),
        p99_by_page_ms,
        failed,
        signed_in: true,
    }
}

fn percentile(times: &mut [f64], p: f64) -> f64 {
    if times.is_empty() {
        return 0.0;
    }
    times.sort_by(f64::total_cmp);
    let rank = ((times.len() as f64 * p).ceil() as usize).clamp(1, times.len());
    times[rank - 1]
}

/// Resets the kernel's record of this process's peak memory (Linux).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// This process's peak resident memory since the last reset, MiB (0 where unknown).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A demo ERP and CRM with N customers, a store, and an engine over them.
struct World {
    engine: Engine,
    erp_url: String,
    dir: PathBuf,
}

impl World {
    async fn create(scratch: &Scratch, label: &str, customers: u64) -> anyhow::Result<World> {
        let erp_url = scratch.database(&format!("{label}_erp")).await?;
        let crm_url = scratch.database(&format!("{label}_crm")).await?;
        let store_url = scratch.database(&format!("{label}_store")).await?;
        engine::demo::create_customers(&erp_url, &crm_url, customers).await?;
        engine::demo::age_customers(&erp_url).await?;
        let dir = scratch.dir.join(label);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("coupler.toml");
        let text = engine::demo::config(&erp_url, &crm_url, &store_url);
        std::fs::write(&path, &text)?;
        let config = Config::parse(&path, &text)?;
        let engine = Engine::open(config, &store_url).await?;
        Ok(World {
            engine,
            erp_url,
            dir,
        })
    }

    /// Synchronizes CUSTOMER now; answers its job.
    async fn sync(&self) -> anyhow::Result<engine::model::JobSummary> {
        let mut jobs = self
            .engine
            .synchronize(Some("CUSTOMER"), false, "bench")
            .await?;
        jobs.pop().context("the synchronization ran no job")
    }

    /// In steady state — the last run long enough ago that a quiet run settles both
    /// change feeds, as runs on a schedule do — changes `changed` customers spread over
    /// the first `of`, then synchronizes; answers that run's seconds.
    async fn change_and_sync(&self, changed: u64, of: u64) -> anyhow::Result<f64> {
        let settle = Duration::from_millis(2 * engine::sync::OVERLAP_MS as u64 + 500);
        tokio::time::sleep(settle).await;
        self.sync().await?;
        engine::demo::touch_customers(&self.erp_url, changed, of).await?;
        let started = Instant::now();
        let job = self.sync().await?;
        if job.counters.modified < changed / 2 {
            bail!(
                "the incremental run modified {} records of {changed} changed",
                job.counters.modified
            );
        }
        Ok(started.elapsed().as_secs_f64())
    }

    /// Makes the first `count` customers fail (names too long for the CRM) and
    /// synchronizes, leaving `count` open errors or so; answers that run's figures.
    async fn fail(&self, count: u64) -> anyhow::Result<FailingSync> {
        engine::demo::lengthen_names(&self.erp_url, count).await?;
        let started = Instant::now();
        let job = self.sync().await?;
        let seconds = started.elapsed().as_secs_f64();
        let failed = job.counters.failed;
        Ok(FailingSync {
            failed,
            seconds,
            records_per_s: failed as f64 / seconds,
        })
    }
}

/// Where the temporary databases live, removed at the end.
struct Scratch {
    kind: BenchStore,
    dir: PathBuf,
    postgres: Option<(String, String)>,
    made: std::sync::Mutex<Vec<String>>,
}

impl Scratch {
    async fn new(kind: BenchStore, postgres_url: &str) -> anyhow::Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("coupler-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let postgres = match kind {
            BenchStore::Sqlite => None,
            BenchStore::Postgres => {
                engine::demo::check_server(postgres_url)
                    .await
                    .with_context(|| {
                        format!(
                            "--store postgres needs a PostgreSQL server at {} (--postgres-url)",
                            engine::demo::redact(postgres_url)
                        )
                    })?;
                Some((
                    postgres_url.to_string(),
                    format!("coupler_bench_{}", std::process::id()),
                ))
            }
        };
        Ok(Scratch {
            kind,
            dir,
            postgres,
            made: std::sync::Mutex::new(Vec::new()),
        })
    }

    fn kind_name(&self) -> &'static str {
        match self.kind {
            BenchStore::Sqlite => "SQLite",
            BenchStore::Postgres => "PostgreSQL",
        }
    }

    /// A fresh, empty database named `label`.
    async fn database(&self, label: &str) -> anyhow::Result<String> {
        match &self.postgres {
            None => Ok(sqlite_url(&self.dir.join(format!("{label}.db")))),
            Some((admin, prefix)) => {
                let name = format!("{prefix}_{label}");
                let url = engine::demo::create_database(admin, &name).await?;
                if let Ok(mut made) = self.made.lock() {
                    made.push(name);
                }
                Ok(url)
            }
        }
    }

    async fn remove(&self) {
        if let Some((admin, _)) = &self.postgres {
            let names = self.made.lock().map(|m| m.clone()).unwrap_or_default();
            for name in names {
                let _ = engine::demo::drop_database(admin, &name).await;
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

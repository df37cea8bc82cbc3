//! `coupler serve`: its options, and start-up: load the configuration, open the store,
//! listen, and serve the router until interrupted.

use crate::router::router;
use crate::site::Site;
use crate::state::AppState;
use anyhow::Context;
use clap::Args;
use engine::Engine;
use engine::config::{Config, resolve_url};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::net::TcpListener;

/// Options of `coupler serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, env = "COUPLER_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// A folder holding the built console (pkg/coupler.js, pkg/coupler.wasm,
    /// pkg/coupler.css) to serve instead of the one inside the binary, as in development.
    /// Default: the console inside the binary (a release build), else `target/site`.
    #[arg(long, env = "COUPLER_SITE_ROOT")]
    pub site_root: Option<PathBuf>,
    /// Job workers in this process (0: run no jobs, only serve the console).
    #[arg(long, env = "COUPLER_WORKERS", default_value_t = 1)]
    pub workers: usize,
    /// How long a worker's claim on a job lasts without a heartbeat (sent every third
    /// of it): another process takes over a job whose worker stopped after this long.
    #[arg(long, env = "COUPLER_LEASE_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(3..))]
    pub lease_seconds: u64,
    /// A console session unused this many minutes ends.
    #[arg(long, env = "COUPLER_SESSION_IDLE_MINUTES", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub session_idle_minutes: u64,
    /// A console session ends this many hours after sign-in, used or not.
    #[arg(long, env = "COUPLER_SESSION_HOURS", default_value_t = 12,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub session_hours: u64,
    /// The host names the console answers to (`console.example:443`; a name without a
    /// port takes any port), comma-separated; others are refused, so that a web page
    /// whose name was pointed at this machine cannot read it. Default: the address it
    /// listens on and `localhost`, with its port; any host when it listens on every
    /// address. `*` allows any.
    #[arg(long, env = "COUPLER_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// The longest a client may take to send a request's head (from its first byte, or
    /// waiting between requests on a kept-alive connection) before it is closed.
    #[arg(long, env = "COUPLER_HEADER_READ_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_seconds: u64,
    /// Connections one client address may hold at once; more are closed as they arrive.
    #[arg(long, env = "COUPLER_CONNECTIONS_PER_ADDRESS", default_value_t = 128,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub connections_per_address: u64,
}

/// Serves the console for the configuration at `config_path`.
pub async fn serve(
    config_path: &Path,
    database_url: Option<String>,
    args: ServeArgs,
) -> anyhow::Result<()> {
    let config = Config::load(config_path)?;
    let store_url = store_url(&config, database_url);
    let engine = Engine::open(config, &store_url).await?;
    engine.set_lease(Duration::from_secs(args.lease_seconds));
    if engine.users().await?.is_empty() {
        anyhow::bail!(
            "nobody can sign in to this store yet: create the first admin with \
             `coupler user add NAME --role admin`, then serve again"
        );
    }
    let listener = TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let site = Site::choose(args.site_root);
    if site.has_webassembly() {
        tracing::info!(site = site.describe(), "serving the console");
    } else {
        tracing::warn!(
            site = site.describe(),
            "the console's WebAssembly is not built here: pages are served but not hydrated (build it with `cargo xtask site`)"
        );
    }
    {
        // Counted once now, so that the first readers of the overview do not wait for it.
        let engine = engine.clone();
        tokio::spawn(async move {
            if let Err(error) = engine.count_overview().await {
                tracing::warn!(%error, "cannot count the overview's numbers");
            }
        });
    }
    let workers: Vec<_> = (0..args.workers)
        .map(|_| {
            let engine = engine.clone();
            tokio::spawn(async move {
                engine
                    .run_workers(Duration::from_millis(500), std::future::pending())
                    .await
            })
        })
        .collect();
    let mut state = AppState::new(engine, site);
    state.sessions = engine::accounts::SessionPolicy {
        idle: Duration::from_secs(args.session_idle_minutes * 60),
        absolute: Duration::from_secs(args.session_hours * 3600),
    };
    let address = listener
        .local_addr()
        .context("cannot read the listening address")?;
    state.allowed_hosts = allowed_hosts(&args.allowed_hosts, address);
    let sessions = state.sessions;
    let sweeper = {
        let engine = state.engine.clone();
        tokio::spawn(async move {
            // Expired sessions are refused when used; this removes the unused ones too.
            let mut tick = tokio::time::interval(Duration::from_secs(600));
            loop {
                tick.tick().await;
                if let Err(error) = engine.end_expired_sessions(sessions).await {
                    tracing::warn!(%error, "cannot end expired sessions");
                }
            }
        })
    };
    let pruner = {
        let engine = state.engine.clone();
        tokio::spawn(async move {
            // History past its retention goes a minute after start, then every hour.
            let every = engine::retention::PRUNE_EVERY;
            let first = tokio::time::Instant::now() + Duration::from_secs(60);
            let mut tick = tokio::time::interval_at(first, every);
            loop {
                tick.tick().await;
                if let Err(error) = engine.prune("coupler", false, |_| {}).await {
                    tracing::warn!(%error, "cannot prune history");
                }
            }
        })
    };
    let alerter = {
        let engine = state.engine.clone();
        tokio::spawn(async move { engine.run_alerts().await })
    };
    let app = router(state);
    println!("Coupler console: http://{address}");
    let limits = crate::listen::Limits {
        header_read: Duration::from_secs(args.header_read_seconds),
        per_address: args.connections_per_address as usize,
    };
    crate::listen::serve(listener, app, limits, shutdown()).await;
    sweeper.abort();
    pruner.abort();
    alerter.abort();
    for worker in workers {
        worker.abort();
    }
    Ok(())
}

/// The hosts a console listening on `address` answers to: those `given`, else its own
/// address and `localhost` with its port (none to check when it listens on every address).
fn allowed_hosts(given: &[String], address: SocketAddr) -> Option<Vec<String>> {
    let given: Vec<String> = given
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    if given.iter().any(|h| h == "*") {
        return None;
    }
    if !given.is_empty() {
        return Some(given);
    }
    if address.ip().is_unspecified() {
        return None;
    }
    Some(vec![
        address.to_string(),
        format!("localhost:{}", address.port()),
    ])
}

/// The store URL: the command line or environment, else the configuration's `[store]`,
/// else `coupler.db` next to the configuration file.
pub fn store_url(config: &Config, given: Option<String>) -> String {
    given
        .or_else(|| config.store_url.clone())
        .unwrap_or_else(|| {
            let folder = config.path.parent().unwrap_or(Path::new("."));
            resolve_url(folder, "sqlite://coupler.db")
        })
}

async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => return interrupt.await.unwrap_or(()),
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    interrupt.await.unwrap_or(());
    tracing::info!("shutting down");
}

//! The command line: `coupler serve | demo | sync | errors | couplings | log`, each with
//! `--help`. Parsed once at start-up; every failure ends as one line on standard error
//! and a non-zero exit.

use crate::report;
use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use engine::config::Config;
use engine::model::{JobState, Side, SyncErrorKind};
use engine::store::sync_error::ErrorFilter;
use engine::{Engine, Systems};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Keeps the records of two business systems in sync, and hosts the console where
/// administrators fix what failed.
#[derive(Debug, Parser)]
#[command(name = "coupler", version, propagate_version = true)]
pub struct Cli {
    /// The configuration file: systems, mappings, field mappings, policies, schedules.
    #[arg(
        long,
        global = true,
        env = "COUPLER_CONFIG",
        default_value = "coupler.toml"
    )]
    pub config: PathBuf,
    /// The store: sqlite://FILE or postgres://USER@HOST/DATABASE. Default: the
    /// configuration's [store] url, else coupler.db next to the configuration.
    #[arg(long, global = true, env = "COUPLER_DATABASE_URL")]
    pub database_url: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the console and host the engine.
    Serve(ServeArgs),
    /// Create two demo systems (an ERP and a CRM database) and a coupler.toml mapping
    /// them; `demo simulate` edits them the way people do.
    Demo(DemoArgs),
    /// Synchronize now: every mapping in dependency order, or one.
    Sync(SyncArgs),
    /// List the open sync errors.
    Errors(ErrorsArgs),
    /// List a mapping's couplings.
    Couplings(CouplingsArgs),
    /// Show a record's synchronization log.
    Log(LogArgs),
}

/// Options of `coupler serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, env = "COUPLER_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// The folder holding the built console (pkg/coupler.js, pkg/coupler.wasm, pkg/coupler.css).
    #[arg(long, env = "COUPLER_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
}

/// Options of `coupler demo`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DemoArgs {
    /// The folder to create erp.db, crm.db and coupler.toml in.
    #[arg(long, default_value = "demo")]
    pub dir: PathBuf,
    /// How many ERP customers to create.
    #[arg(long, default_value_t = 1000)]
    pub customers: u64,
    /// Edit an existing demo instead.
    #[command(subcommand)]
    pub action: Option<DemoAction>,
}

/// What `coupler demo` can do to an existing demo.
#[derive(Debug, Subcommand)]
pub enum DemoAction {
    /// Edit both systems the way people do: creates, edits, deletes, and the same
    /// records edited on both sides.
    Simulate {
        /// The demo's folder.
        #[arg(long, default_value = "demo")]
        dir: PathBuf,
        /// Picks the records to edit; the same seed edits the same records.
        #[arg(long)]
        seed: Option<u64>,
    },
}

/// Options of `coupler sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Only this mapping.
    #[arg(long)]
    pub mapping: Option<String>,
    /// Read every record, not only those modified since the last run.
    #[arg(long)]
    pub full: bool,
    /// Print the jobs as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The kinds of sync error, as the command line names them.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum KindArg {
    /// Both records changed the same field differently.
    UpdateConflict,
    /// The local record was deleted.
    DeletedLocal,
    /// The integration record was deleted.
    DeletedIntegration,
    /// A value was refused.
    Failed,
}

impl From<KindArg> for SyncErrorKind {
    fn from(kind: KindArg) -> Self {
        match kind {
            KindArg::UpdateConflict => SyncErrorKind::UpdateConflict,
            KindArg::DeletedLocal => SyncErrorKind::DeletedLocal,
            KindArg::DeletedIntegration => SyncErrorKind::DeletedIntegration,
            KindArg::Failed => SyncErrorKind::Failed,
        }
    }
}

/// Options of `coupler errors`.
#[derive(Debug, Args)]
pub struct ErrorsArgs {
    /// Only this mapping's errors.
    #[arg(long)]
    pub mapping: Option<String>,
    /// Only errors of this kind.
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
    /// At most this many, newest first.
    #[arg(long, default_value_t = 1000)]
    pub limit: i64,
    /// Print the errors as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `coupler couplings`.
#[derive(Debug, Args)]
pub struct CouplingsArgs {
    /// The mapping.
    #[arg(long)]
    pub mapping: String,
    /// At most this many, by local key.
    #[arg(long, default_value_t = 1000)]
    pub limit: i64,
    /// Print the couplings as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `coupler log`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("record").required(true).args(["local", "integration"])))]
pub struct LogArgs {
    /// The mapping.
    #[arg(long)]
    pub mapping: String,
    /// The local record's key.
    #[arg(long)]
    pub local: Option<String>,
    /// The integration record's key.
    #[arg(long)]
    pub integration: Option<String>,
    /// At most this many entries, newest first.
    #[arg(long, default_value_t = 200)]
    pub limit: i64,
    /// Print the entries as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Parses the command line, runs the command, and turns any failure into one line.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => return fail(anyhow::Error::new(error).context("cannot start the runtime")),
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => fail(error),
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let Cli {
        config,
        database_url,
        command,
    } = cli;
    match command {
        Command::Serve(args) => crate::serve::serve(&config, database_url, args).await?,
        Command::Demo(args) => demo(args).await?,
        Command::Sync(args) => return sync(&config, database_url, args).await,
        Command::Errors(args) => {
            let engine = open(&config, database_url).await?;
            let filter = ErrorFilter {
                mapping: args.mapping,
                kind: args.kind.map(Into::into),
            };
            let errors = engine.sync_errors(&filter, args.limit).await?;
            report::print(args.json, &errors, report::errors)?;
        }
        Command::Couplings(args) => {
            let engine = open(&config, database_url).await?;
            let couplings = engine.couplings(&args.mapping, None, args.limit).await?;
            report::print(args.json, &couplings, report::couplings)?;
        }
        Command::Log(args) => {
            let engine = open(&config, database_url).await?;
            let (side, key) = match (args.local, args.integration) {
                (Some(key), _) => (Side::Local, key),
                (None, Some(key)) => (Side::Integration, key),
                (None, None) => unreachable!("clap requires one of --local and --integration"),
            };
            let entries = engine
                .record_log(&args.mapping, side, &key, args.limit)
                .await?;
            report::print(args.json, &entries, report::log)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Loads the configuration and opens the store, without touching the systems.
async fn open(config_path: &Path, database_url: Option<String>) -> anyhow::Result<Engine> {
    let config = Config::load(config_path)?;
    let url = crate::serve::store_url(&config, database_url);
    Ok(Engine::open(config, &url).await?)
}

async fn sync(
    config_path: &Path,
    database_url: Option<String>,
    args: SyncArgs,
) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    if let Some(name) = &args.mapping
        && config.mapping(name).is_none()
    {
        anyhow::bail!("no mapping is named {name:?}");
    }
    // Every system and table is checked before anything is written anywhere.
    let systems = Systems::connect(&config).await?;
    let url = crate::serve::store_url(&config, database_url);
    let engine = Engine::open_with(config, &url, systems).await?;
    let jobs = engine
        .synchronize(args.mapping.as_deref(), args.full, "cli")
        .await?;
    report::print(args.json, &jobs, report::jobs)?;
    Ok(if jobs.iter().any(|j| j.state == JobState::Failed) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    match args.action {
        None => {
            let summary = engine::demo::create(&args.dir, args.customers).await?;
            println!(
                "Created the demo in {}: {} customers, {} contacts and {} items in erp.db; {} accounts in crm.db.",
                args.dir.display(),
                summary.customers,
                summary.contacts,
                summary.items,
                summary.accounts
            );
            println!("Configuration: {}", summary.config.display());
        }
        Some(DemoAction::Simulate { dir, seed }) => {
            let seed = seed.unwrap_or_else(|| engine::store::now_millis() as u64);
            let simulation = engine::demo::simulate_dir(&dir, seed)
                .await
                .with_context(|| format!("cannot simulate on the demo in {}", dir.display()))?;
            for edit in &simulation.edits {
                println!("{edit}");
            }
        }
    }
    Ok(())
}

fn fail(error: anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    ExitCode::FAILURE
}

//! The command line: `coupler serve | demo`, each with `--help`. Parsed once at start-up;
//! every failure ends as one line on standard error and a non-zero exit.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
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
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the console and host the engine.
    Serve(ServeArgs),
    /// Create two demo systems (an ERP and a CRM database) and a coupler.toml mapping them.
    Demo(DemoArgs),
}

/// Options of `coupler serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, env = "COUPLER_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// The store: sqlite://FILE or postgres://USER@HOST/DATABASE. Default: the
    /// configuration's [store] url, else coupler.db next to the configuration.
    #[arg(long, env = "COUPLER_DATABASE_URL")]
    pub database_url: Option<String>,
    /// The folder holding the built console (pkg/coupler.js, pkg/coupler.wasm, pkg/coupler.css).
    #[arg(long, env = "COUPLER_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
}

/// Options of `coupler demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The folder to create erp.db, crm.db and coupler.toml in.
    #[arg(long, default_value = "demo")]
    pub dir: PathBuf,
    /// How many ERP customers to create.
    #[arg(long, default_value_t = 1000)]
    pub customers: u64,
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
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(error),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => crate::serve::serve(&cli.config, args).await,
        Command::Demo(args) => demo(args).await,
    }
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
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
    Ok(())
}

fn fail(error: anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    ExitCode::FAILURE
}

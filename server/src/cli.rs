//! The command line: `coupler serve | demo | sync | errors | couplings | log | jobs | user | bench`, each with
//! `--help`. Parsed once at start-up; every failure ends as one line on standard error
//! and a non-zero exit.

use crate::report;
use crate::serve::ServeArgs;
use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use engine::config::Config;
use engine::model::{
    Action, ActionAnswer, ErrorFilter, JobState, Outcome, Resolution, Role, Selection, Side,
    SyncErrorKind,
};
use engine::{Engine, Systems, Targets, UncouplingScope};
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
    /// List the open sync errors, or act on them (retry, resolve, restore, …).
    Errors(ErrorsArgs),
    /// List a mapping's couplings, or remove or set up couplings.
    Couplings(CouplingsArgs),
    /// Show a record's synchronization log.
    Log(LogArgs),
    /// Why a record is or is not synchronizing: its state and every reason that holds.
    Status(StatusArgs),
    /// Each mapping's health: whether it synchronizes as it should, and every problem.
    Health(HealthArgs),
    /// Write a consistent copy of the store (SQLite) to a new file, while it serves.
    Backup {
        /// The new file.
        file: PathBuf,
    },
    /// Prune history older than [retention] allows (log entries, finished jobs, resolved
    /// errors, audit entries), as `coupler serve` does every hour.
    Prune {
        /// Count what would be pruned, and prune nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print one JSON object (progress goes to standard error).
        #[arg(long)]
        json: bool,
    },
    /// Restore a backup into an empty store (the configuration's, or --database-url).
    Restore {
        /// The backup.
        file: PathBuf,
    },
    /// Show a system's tables, or one table's columns, key and modified-on candidates.
    Inspect(crate::inspect::InspectArgs),
    /// Propose a mapping of two tables (`mapping suggest`).
    Mapping(crate::inspect::MappingArgs),
    /// Scan a mapping's couplings for records deleted on either side; report them as errors.
    FindDeleted(FindDeletedArgs),
    /// List the newest jobs, or cancel one.
    Jobs(JobsArgs),
    /// Measure the engine and the console on fresh temporary databases.
    Bench(crate::bench::BenchArgs),
    /// Manage the console's accounts.
    User(UserArgs),
}

/// Options of `coupler user`.
#[derive(Debug, Args)]
pub struct UserArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: UserAction,
}

/// What `coupler user` does.
#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Add an account. The password is asked for, or read from COUPLER_PASSWORD.
    Add {
        /// The account's name.
        name: String,
        /// What it may do.
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// List the accounts.
    List {
        /// Print them as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove an account and end its sessions.
    Remove {
        /// The account's name.
        name: String,
    },
    /// Change what an account may do.
    SetRole {
        /// The account's name.
        name: String,
        /// Its new role.
        #[arg(value_enum)]
        role: RoleArg,
    },
    /// End every session of an account, on every process.
    SignOut {
        /// The account's name.
        name: String,
    },
}

/// A role, as the command line names it.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RoleArg {
    /// Reads every page.
    Viewer,
    /// Also acts on errors, runs jobs, couples and uncouples records.
    Operator,
    /// Also changes mappings and manages accounts.
    Admin,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Viewer => Role::Viewer,
            RoleArg::Operator => Role::Operator,
            RoleArg::Admin => Role::Admin,
        }
    }
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
#[command(args_conflicts_with_subcommands = true)]
pub struct ErrorsArgs {
    /// Act on errors instead of listing them.
    #[command(subcommand)]
    pub action: Option<ErrorsAction>,
    /// Only this mapping's errors.
    #[arg(long)]
    pub mapping: Option<String>,
    /// Only errors of this kind.
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
    /// Only errors whose keys, description or message contain this text.
    #[arg(long)]
    pub search: Option<String>,
    /// At most this many, newest first.
    #[arg(long, default_value_t = 1000)]
    pub limit: i64,
    /// Print the errors as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What `coupler errors` does to errors.
#[derive(Debug, Subcommand)]
pub enum ErrorsAction {
    /// Synchronize the errors' records again now (their skipped mark is cleared).
    Retry {
        /// The errors' ids.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<i64>,
        /// Every open error (of --mapping and --kind, when given).
        #[arg(long)]
        all: bool,
        /// With --all: only this mapping's errors.
        #[arg(long, requires = "all")]
        mapping: Option<String>,
        /// With --all: only errors of this kind.
        #[arg(long, value_enum, requires = "all")]
        kind: Option<KindArg>,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Resolve update conflicts by taking one side's data.
    Resolve {
        /// The errors' ids.
        #[arg(required = true)]
        ids: Vec<i64>,
        /// Which side's data wins.
        #[arg(long = "use", value_enum)]
        side: SideArg,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Recreate deleted records from their partners and couple them again.
    Restore {
        /// The errors' ids.
        #[arg(required = true)]
        ids: Vec<i64>,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete the partners of deleted records, and the couplings.
    DeleteRecords {
        /// The errors' ids.
        #[arg(required = true)]
        ids: Vec<i64>,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Uncouple the errors' records; both stay.
    RemoveCoupling {
        /// The errors' ids.
        #[arg(required = true)]
        ids: Vec<i64>,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create the errors' records anew on the other side instead of coupling them by
    /// match (records held by an ambiguous match); they are never matched again.
    CreateNew {
        /// The errors' ids.
        #[arg(required = true)]
        ids: Vec<i64>,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// A side, as the command line names it.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SideArg {
    /// The local table's record.
    Local,
    /// The integration table's record.
    Integration,
}

impl From<SideArg> for Side {
    fn from(side: SideArg) -> Self {
        match side {
            SideArg::Local => Side::Local,
            SideArg::Integration => Side::Integration,
        }
    }
}

/// Options of `coupler couplings`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CouplingsArgs {
    /// Remove or set up couplings instead of listing them.
    #[command(subcommand)]
    pub action: Option<CouplingsAction>,
    /// The mapping.
    #[arg(long, required = false)]
    pub mapping: Option<String>,
    /// At most this many, by local key.
    #[arg(long, default_value_t = 1000)]
    pub limit: i64,
    /// Print the couplings as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What `coupler couplings` does to couplings.
#[derive(Debug, Subcommand)]
pub enum CouplingsAction {
    /// Remove couplings as a logged uncoupling job; both records of each stay.
    #[command(group(clap::ArgGroup::new("which").required(true).args(["all", "local"])))]
    Remove {
        /// The mapping.
        #[arg(long)]
        mapping: String,
        /// Every coupling of the mapping.
        #[arg(long)]
        all: bool,
        /// The couplings of these local keys.
        #[arg(long, num_args = 1..)]
        local: Vec<String>,
        /// Print the job as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Couple a local record with an integration record.
    Add {
        /// The mapping.
        #[arg(long)]
        mapping: String,
        /// The local record's key.
        #[arg(long)]
        local: String,
        /// The integration record's key.
        #[arg(long)]
        integration: String,
        /// Write this side's values to the other record at once.
        #[arg(long, value_enum)]
        sync_from: Option<SideArg>,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Options of `coupler find-deleted`.
#[derive(Debug, Args)]
pub struct FindDeletedArgs {
    /// The mapping.
    #[arg(long)]
    pub mapping: String,
    /// Print the job as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `coupler jobs`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct JobsArgs {
    /// Cancel a job instead of listing them.
    #[command(subcommand)]
    pub action: Option<JobsAction>,
    /// At most this many, newest first.
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
    /// Print the jobs as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What `coupler jobs` does to a job.
#[derive(Debug, Subcommand)]
pub enum JobsAction {
    /// Cancel a queued job, or stop a running one after its current batch.
    Cancel {
        /// The job's id.
        id: i64,
    },
}

/// Which record: a mapping and one side's key (`coupler log`, `coupler status`).
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("record").required(true).args(["local", "integration"])))]
pub struct RecordArgs {
    /// The mapping.
    #[arg(long)]
    pub mapping: String,
    /// The local record's key.
    #[arg(long)]
    pub local: Option<String>,
    /// The integration record's key.
    #[arg(long)]
    pub integration: Option<String>,
}

impl RecordArgs {
    /// The record's side and key.
    fn side_and_key(self) -> (Side, String) {
        match (self.local, self.integration) {
            (Some(key), _) => (Side::Local, key),
            (None, Some(key)) => (Side::Integration, key),
            (None, None) => unreachable!("clap requires one of --local and --integration"),
        }
    }
}

/// Options of `coupler log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// The record.
    #[command(flatten)]
    pub record: RecordArgs,
    /// At most this many entries, newest first.
    #[arg(long, default_value_t = 200)]
    pub limit: i64,
    /// Print the entries as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `coupler status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The record.
    #[command(flatten)]
    pub record: RecordArgs,
    /// Print the status as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `coupler health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Print each mapping's health as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Parses the command line, runs the command, and turns any failure into one line.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init(if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    });
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
        Command::Bench(args) => crate::bench::run(args).await?,
        Command::Inspect(args) => crate::inspect::inspect(&config, args).await?,
        Command::Mapping(args) => crate::inspect::mapping(&config, args).await?,
        Command::Sync(args) => return sync(&config, database_url, args).await,
        Command::Errors(args) => {
            let engine = open(&config, database_url).await?;
            match args.action {
                None => {
                    let filter = ErrorFilter {
                        mapping: args.mapping,
                        kind: args.kind.map(Into::into),
                        text: args.search,
                        ..ErrorFilter::default()
                    };
                    let errors = engine.sync_errors(&filter, None, args.limit).await?;
                    report::print(args.json, &errors, report::errors)?;
                }
                Some(action) => return errors_action(&engine, action).await,
            }
        }
        Command::Couplings(args) => {
            let engine = open(&config, database_url).await?;
            match args.action {
                None => {
                    let mapping = args
                        .mapping
                        .context("name the mapping: coupler couplings --mapping NAME")?;
                    let couplings = engine.couplings(&mapping, None, None, args.limit).await?;
                    report::print(args.json, &couplings, report::couplings)?;
                }
                Some(CouplingsAction::Remove {
                    mapping,
                    all,
                    local,
                    json,
                }) => {
                    let scope = if all {
                        UncouplingScope::Every
                    } else {
                        UncouplingScope::Keys(Targets {
                            local,
                            integration: Vec::new(),
                        })
                    };
                    let job = engine
                        .remove_couplings(ACTOR, &mapping, scope, true)
                        .await?;
                    report::print(json, std::slice::from_ref(&job), report::jobs)?;
                }
                Some(CouplingsAction::Add {
                    mapping,
                    local,
                    integration,
                    sync_from,
                    json,
                }) => {
                    let answer = engine
                        .set_up_coupling(
                            ACTOR,
                            &action_id(),
                            &mapping,
                            &local,
                            &integration,
                            sync_from.map(Into::into),
                        )
                        .await?;
                    return answered(json, &answer);
                }
            }
        }
        Command::FindDeleted(args) => {
            let engine = open(&config, database_url).await?;
            let job = engine.find_deleted(ACTOR, &args.mapping, true).await?;
            report::print(args.json, std::slice::from_ref(&job), report::jobs)?;
        }
        Command::Jobs(args) => {
            let engine = open(&config, database_url).await?;
            match args.action {
                None => report::print(args.json, &engine.jobs(args.limit).await?, report::jobs)?,
                Some(JobsAction::Cancel { id }) => {
                    let job = engine.cancel_job(ACTOR, id).await?;
                    report::print(args.json, std::slice::from_ref(&job), report::jobs)?;
                }
            }
        }
        Command::User(args) => {
            let engine = open(&config, database_url).await?;
            user(&engine, args.action).await?;
        }
        Command::Log(args) => {
            let engine = open(&config, database_url).await?;
            let mapping = args.record.mapping.clone();
            let (side, key) = args.record.side_and_key();
            let entries = engine.record_log(&mapping, side, &key, args.limit).await?;
            report::print(args.json, &entries, report::log)?;
        }
        Command::Status(args) => {
            let engine = open(&config, database_url).await?;
            let mapping = args.record.mapping.clone();
            let (side, key) = args.record.side_and_key();
            let status = engine.record_status(&mapping, side, &key).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print!("{}", report::status(&status));
            }
        }
        Command::Backup { file } => {
            let engine = open(&config, database_url).await?;
            let summary = engine.store().backup(&file).await?;
            println!(
                "backed up the store to {}: {} couplings, {} open errors, {} bytes",
                file.display(),
                summary.couplings,
                summary.open_errors,
                summary.bytes
            );
        }
        Command::Restore { file } => {
            let loaded = Config::load(&config)?;
            let url = crate::serve::store_url(&loaded, database_url);
            let summary = engine::store::backup::restore(&file, &url).await?;
            println!(
                "restored {} into the store: {} couplings, {} open errors",
                file.display(),
                summary.couplings,
                summary.open_errors
            );
        }
        Command::Prune { dry_run, json } => {
            let engine = open(&config, database_url).await?;
            let verb = if dry_run { "would prune" } else { "pruned" };
            let report = engine
                .prune(ACTOR, dry_run, |p| {
                    let line = format!(
                        "{verb} {} {} older than {}",
                        p.rows,
                        p.history.label(),
                        p.older_than
                    );
                    if json {
                        eprintln!("{line}");
                    } else {
                        println!("{line}");
                    }
                })
                .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("{verb} {} rows in {:.2} s", report.rows(), report.seconds);
            }
        }
        Command::Health(args) => {
            let engine = open(&config, database_url).await?;
            let health = engine.mapping_health().await?;
            report::print(args.json, &health, report::health)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Who the command line acts as, in logs and the audit.
const ACTOR: &str = "cli";

/// A fresh action id for one command.
fn action_id() -> String {
    format!("cli-{}-{}", std::process::id(), engine::store::now_millis())
}

async fn errors_action(engine: &Engine, action: ErrorsAction) -> anyhow::Result<ExitCode> {
    // The command line acts on the errors as they are now.
    let errors = async |ids: &[i64]| -> anyhow::Result<Selection> {
        Ok(Selection::Errors(engine.error_refs(ids).await?))
    };
    let (action, selection, json) = match action {
        ErrorsAction::Retry {
            ids,
            all,
            mapping,
            kind,
            json,
        } => {
            let selection = if all {
                Selection::Matching(ErrorFilter {
                    mapping,
                    kind: kind.map(Into::into),
                    ..ErrorFilter::default()
                })
            } else {
                errors(&ids).await?
            };
            (Action::Retry, selection, json)
        }
        ErrorsAction::Resolve { ids, side, json } => {
            let resolution = match Side::from(side) {
                Side::Local => Resolution::Local,
                Side::Integration => Resolution::Integration,
            };
            (Action::Synchronize(resolution), errors(&ids).await?, json)
        }
        ErrorsAction::Restore { ids, json } => (Action::RestoreRecords, errors(&ids).await?, json),
        ErrorsAction::DeleteRecords { ids, json } => {
            (Action::DeleteRecords, errors(&ids).await?, json)
        }
        ErrorsAction::RemoveCoupling { ids, json } => {
            (Action::RemoveCoupling, errors(&ids).await?, json)
        }
        ErrorsAction::CreateNew { ids, json } => (Action::CreateNew, errors(&ids).await?, json),
    };
    let answer = engine
        .act_on_errors(ACTOR, &action_id(), &action, &selection)
        .await?;
    answered(json, &answer)
}

/// Prints an action's answer; fails when nothing it asked for was done.
fn answered(json: bool, answer: &ActionAnswer) -> anyhow::Result<ExitCode> {
    report::print(json, std::slice::from_ref(answer), report::answers)?;
    let nothing_done =
        !answer.outcomes.is_empty() && answer.outcomes.iter().all(|o| o.outcome != Outcome::Done);
    Ok(if nothing_done && answer.job_id.is_none() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
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

async fn user(engine: &Engine, action: UserAction) -> anyhow::Result<()> {
    match action {
        UserAction::Add { name, role } => {
            engine::accounts::check_name(&name)?;
            let password = password(&name)?;
            engine
                .add_user(ACTOR, &name, role.into(), &password)
                .await?;
            println!("Added {name} as {}.", Role::from(role));
        }
        UserAction::List { json } => {
            report::print(json, &engine.users().await?, report::users)?;
        }
        UserAction::Remove { name } => {
            engine.remove_user(ACTOR, &name).await?;
            println!("Removed {name}; their sessions have ended.");
        }
        UserAction::SetRole { name, role } => {
            engine.set_user_role(ACTOR, &name, role.into()).await?;
            println!("{name} is now {}.", Role::from(role));
        }
        UserAction::SignOut { name } => {
            let ended = engine.sign_out_everywhere(ACTOR, &name).await?;
            println!("Ended {ended} sessions of {name}.");
        }
    }
    Ok(())
}

/// The new account's password: `COUPLER_PASSWORD`, else asked for twice on the terminal.
fn password(name: &str) -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("COUPLER_PASSWORD") {
        return Ok(password);
    }
    let first = rpassword::prompt_password(format!("Password for {name}: "))
        .context("cannot read the password (set COUPLER_PASSWORD when there is no terminal)")?;
    let second = rpassword::prompt_password("Again: ").context("cannot read the password")?;
    anyhow::ensure!(first == second, "the passwords differ");
    Ok(first)
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
            let engine = open(&summary.config, None).await?;
            let existing: Vec<String> = engine.users().await?.into_iter().map(|u| u.name).collect();
            println!("Console accounts (name, role, password):");
            for role in Role::ALL {
                let name = role.as_str();
                if existing.iter().any(|n| n == name) {
                    println!(
                        "  {name:<8}  {:<8}  (kept: it existed already)",
                        role.as_str()
                    );
                    continue;
                }
                let password = engine::accounts::random_password();
                engine.add_user("demo", name, role, &password).await?;
                println!("  {name:<8}  {:<8}  {password}", role.as_str());
            }
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

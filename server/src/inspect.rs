//! `coupler inspect` and `coupler mapping suggest`: what a system's catalogue says of its
//! tables, for writing a mapping of them, and a mapping proposed from two tables.

use clap::{Args, Subcommand};
use engine::config::Config;
use engine::inspect::{self, TableReport};
use engine::value::ColumnKind;
use std::path::Path;

/// Options of `coupler inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The system, as `coupler.toml` names it.
    pub system: String,
    /// One table: its columns, key and modified-on candidates. Without it: the tables.
    pub table: Option<String>,
    /// Print it as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `coupler mapping`.
#[derive(Debug, Args)]
pub struct MappingArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: MappingAction,
}

/// What `coupler mapping` does.
#[derive(Debug, Subcommand)]
pub enum MappingAction {
    /// Print a `[[mapping]]` block for coupler.toml pairing two tables' fields by name
    /// and kind, to edit before use.
    Suggest {
        /// The local table, as SYSTEM:TABLE.
        #[arg(long, value_parser = system_table)]
        local: (String, String),
        /// The integration table, as SYSTEM:TABLE.
        #[arg(long, value_parser = system_table)]
        integration: (String, String),
    },
}

/// `coupler inspect`.
pub async fn inspect(config_path: &Path, args: InspectArgs) -> anyhow::Result<()> {
    let config = Config::load(config_path)?;
    match args.table {
        None => {
            let tables = inspect::tables(&config, &args.system).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&tables)?);
            } else {
                for table in tables {
                    println!("{table}");
                }
            }
        }
        Some(table) => {
            let report = inspect::table(&config, &args.system, &table).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", describe(&report));
            }
        }
    }
    Ok(())
}

/// `coupler mapping …`.
pub async fn mapping(config_path: &Path, args: MappingArgs) -> anyhow::Result<()> {
    let config = Config::load(config_path)?;
    match args.action {
        MappingAction::Suggest { local, integration } => {
            let local = inspect::table(&config, &local.0, &local.1).await?;
            let integration = inspect::table(&config, &integration.0, &integration.1).await?;
            print!("{}", inspect::suggest_mapping(&local, &integration));
        }
    }
    Ok(())
}

/// One table as text: its columns, then what a mapping of it would use.
fn describe(report: &TableReport) -> String {
    let rows = report
        .shape
        .columns
        .iter()
        .map(|c| {
            let mut notes = Vec::new();
            if c.primary_key {
                notes.push("primary key");
            }
            if report.modified_candidates.first() == Some(&c.name) {
                notes.push("modified-on");
            } else if report.modified_candidates.contains(&c.name) {
                notes.push("modified-on candidate");
            }
            if c.kind.is_none() {
                notes.push("not readable by Coupler");
            }
            vec![
                c.name.clone(),
                c.declared.clone(),
                c.kind.map_or("-", kind_name).to_string(),
                if c.nullable { "yes" } else { "no" }.to_string(),
                notes.join(", "),
            ]
        })
        .collect();
    let mut text = format!("{}:{}\n", report.system, report.shape.table);
    text.push_str(&crate::report::table(
        &["COLUMN", "DECLARED", "KIND", "NULL", "NOTE"],
        rows,
    ));
    let or_none = |value: Option<&String>, none: &str| value.cloned().unwrap_or(none.to_string());
    text.push_str(&format!(
        "key: {}\nmodified-on: {}\ntombstones: {}\n",
        or_none(report.key.as_ref(), "none (no one-column primary key)"),
        or_none(
            report.modified_candidates.first(),
            "none found (an integer, timestamp or datetime column the system sets on every change)"
        ),
        or_none(
            report.tombstones.as_ref(),
            "none (deletions are found by Find for Deleted)"
        ),
    ));
    text
}

fn kind_name(kind: ColumnKind) -> &'static str {
    match kind {
        ColumnKind::Integer => "integer",
        ColumnKind::Real => "real",
        ColumnKind::Text => "text",
    }
}

/// `SYSTEM:TABLE`.
fn system_table(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((system, table)) if !system.is_empty() && !table.is_empty() => {
            Ok((system.to_string(), table.to_string()))
        }
        _ => Err(format!("{text:?} is not SYSTEM:TABLE (erp:customer, say)")),
    }
}

//! `coupler inspect` and `coupler mapping suggest`: a system's tables as its catalogue
//! describes them, read without a store or a mapping, and a mapping proposed from two
//! tables ([`suggest`]).

mod suggest;

pub use suggest::suggest_mapping;

use crate::config::{Config, System};
use crate::connector::{ColumnShape, TableShape};
use crate::error::EngineError;
use crate::systems::open_connector;
use serde::Serialize;

/// One table of a system, with what a mapping of it would need.
#[derive(Clone, Debug, Serialize)]
pub struct TableReport {
    /// The system.
    pub system: String,
    /// The table and its columns.
    #[serde(flatten)]
    pub shape: TableShape,
    /// The key column, when the primary key is one column.
    pub key: Option<String>,
    /// Columns that could serve as modified-on, likeliest first.
    pub modified_candidates: Vec<String>,
    /// The system's tombstone table, when the configuration names one: deletions of this
    /// table are read from it. Without one, deletions are found by Find for Deleted.
    pub tombstones: Option<String>,
}

/// The tables of `system`.
pub async fn tables(config: &Config, system: &str) -> Result<Vec<String>, EngineError> {
    let connector = open_connector(named(config, system)?).await?;
    Ok(connector.tables().await?)
}

/// One table of `system`.
pub async fn table(config: &Config, system: &str, table: &str) -> Result<TableReport, EngineError> {
    let system = named(config, system)?;
    let connector = open_connector(system).await?;
    let shape = connector.shape(table).await?.ok_or_else(|| {
        EngineError::NotFound(format!("system {} has no table {table:?}", system.name))
    })?;
    Ok(TableReport {
        system: system.name.clone(),
        key: shape.key().map(|c| c.name.clone()),
        modified_candidates: names(shape.modified_candidates()),
        tombstones: system.tombstones.clone(),
        shape,
    })
}

fn named<'a>(config: &'a Config, system: &str) -> Result<&'a System, EngineError> {
    config.systems.get(system).ok_or_else(|| {
        let known: Vec<&str> = config.systems.keys().map(String::as_str).collect();
        EngineError::NotFound(format!(
            "no system is named {system:?} in {} (it names {})",
            config.path.display(),
            known.join(", ")
        ))
    })
}

fn names(columns: Vec<&ColumnShape>) -> Vec<String> {
    columns.into_iter().map(|c| c.name.clone()).collect()
}

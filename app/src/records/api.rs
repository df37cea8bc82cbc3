//! Server functions for records, at `/api/get_record_log`, `/api/get_record_status` and
//! `/api/find_records`.

use crate::error::AppError;
use engine::model::{FoundRecord, LogEntrySummary, RecordStatus};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A record's status with a view token for the fixes sent from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusView {
    /// The status.
    pub status: RecordStatus,
    /// Names this rendering, for the action ids of its fixes.
    pub view: String,
}

/// The synchronization log of the record `key` on `side` (`local` or `integration`) of
/// `mapping`, newest first.
#[server(endpoint = "get_record_log")]
pub async fn get_record_log(
    mapping: String,
    side: String,
    key: String,
) -> Result<Vec<LogEntrySummary>, AppError> {
    let (engine, _) = crate::server::engine_as(engine::model::Role::Viewer)?;
    let side = side_named(&side)?;
    Ok(engine.record_log(&mapping, side, &key, 500).await?)
}

/// Why the record `key` on `side` of `mapping` is or is not synchronizing: its state and
/// every reason that holds, each with its code, facts and fix. A key on neither side is a
/// status (`not_found`).
#[server(endpoint = "get_record_status")]
pub async fn get_record_status(
    mapping: String,
    side: String,
    key: String,
) -> Result<StatusView, AppError> {
    let (engine, _) = crate::server::engine_as(engine::model::Role::Viewer)?;
    let side = side_named(&side)?;
    Ok(StatusView {
        status: engine.record_status(&mapping, side, &key).await?,
        view: crate::server::unique_token(),
    })
}

/// The records `text` names: by key in every mapping's two tables, coupled or not, and
/// by the description or keys of open errors; 50 at most.
#[server(endpoint = "find_records")]
pub async fn find_records(text: String) -> Result<Vec<FoundRecord>, AppError> {
    let (engine, _) = crate::server::engine_as(engine::model::Role::Viewer)?;
    Ok(engine.find_records(&text, 50).await?)
}

#[cfg(feature = "ssr")]
fn side_named(side: &str) -> Result<engine::model::Side, AppError> {
    engine::model::Side::parse(side).ok_or_else(|| {
        crate::error::fail(AppError::Invalid {
            field: "side".into(),
            message: format!("{side:?} is not a side: local or integration"),
        })
    })
}

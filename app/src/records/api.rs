//! Server functions for records, at `/api/get_record_log`, `/api/get_record_status`,
//! `/api/find_records` and `/api/list_records_by_status`.

use crate::error::AppError;
use engine::model::{FoundRecord, LogEntrySummary, RecordPair, RecordStatus, RecordsByStatus};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A record's status and the record beside its partner, with a view token for the fixes
/// sent from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusView {
    /// The status.
    pub status: RecordStatus,
    /// The record and its partner, field by field; none when they cannot be read now.
    pub pair: Option<RecordPair>,
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
/// every reason that holds, each with its code, facts and fix; and the record beside its
/// partner. A key on neither side is a status (`not_found`).
#[server(endpoint = "get_record_status")]
pub async fn get_record_status(
    mapping: String,
    side: String,
    key: String,
) -> Result<StatusView, AppError> {
    let (engine, _) = crate::server::engine_as(engine::model::Role::Viewer)?;
    let side = side_named(&side)?;
    let status = engine.record_status(&mapping, side, &key).await?;
    // A system that does not answer has no records to show.
    let pair = match status.state {
        engine::model::StatusCode::SystemUnreachable => None,
        _ => engine.record_pair(&mapping, side, &key).await.ok(),
    };
    Ok(StatusView {
        pair,
        status,
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

/// Page `page` (from 0, 25 a page) of `mapping`'s records in the state `status` (one of
/// the states the sync health counts: `in_sync`, `pending`, `new`, `failing`, …), each
/// with its status now.
#[server(endpoint = "list_records_by_status")]
pub async fn list_records_by_status(
    mapping: String,
    status: String,
    page: Option<String>,
) -> Result<RecordsByStatus, AppError> {
    use crate::input;
    use engine::model::StatusCode;
    let (engine, _) = crate::server::engine_as(engine::model::Role::Viewer)?;
    let state = input::choice(
        status.trim(),
        "status",
        StatusCode::parse,
        "a record's state",
    )?;
    let page = input::number(page, "page", "a page number")?.unwrap_or(0);
    Ok(engine.list_records_by_status(&mapping, state, page).await?)
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

//! Server functions for records, at `/api/get_record_log`.

use crate::error::AppError;
use engine::model::LogEntrySummary;
use leptos::prelude::*;

/// The synchronization log of the record `key` on `side` (`local` or `integration`) of
/// `mapping`, newest first.
#[server(endpoint = "get_record_log")]
pub async fn get_record_log(
    mapping: String,
    side: String,
    key: String,
) -> Result<Vec<LogEntrySummary>, AppError> {
    let (engine, _) = crate::server::engine_as(engine::model::Role::Viewer)?;
    let side = engine::model::Side::parse(&side).ok_or_else(|| {
        crate::error::fail(AppError::Invalid {
            field: "side".into(),
            message: format!("{side:?} is not a side: local or integration"),
        })
    })?;
    Ok(engine.record_log(&mapping, side, &key, 500).await?)
}

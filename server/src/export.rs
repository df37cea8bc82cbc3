//! `GET /api/export_sync_errors.csv`: the open errors of the errors page's filter as CSV,
//! streamed a keyset page at a time, so an export of every error holds one page in
//! memory.

use crate::state::AppState;
use app::error::AppError;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use engine::Engine;
use engine::model::{ErrorCursor, ErrorFilter, Side, SyncErrorSummary, format_time};
use serde::Deserialize;

/// Errors read from the store per chunk of the answer.
const CHUNK: i64 = 1000;

/// The errors page's filter fields.
#[derive(Debug, Default, Deserialize)]
pub struct ExportQuery {
    mapping: Option<String>,
    kind: Option<String>,
    search: Option<String>,
    since: Option<String>,
    until: Option<String>,
    job: Option<String>,
}

/// The CSV answer, or 400 with the filter's problem in plain words.
pub async fn sync_errors(
    _: crate::guard::SignedInReader,
    State(state): State<AppState>,
    Query(query): Query<ExportQuery>,
) -> Response {
    let filter = match app::error_filter(
        query.mapping,
        query.kind,
        query.search,
        query.since,
        query.until,
        query.job,
    ) {
        Ok(filter) => filter,
        Err(error) => return (StatusCode::BAD_REQUEST, format!("{error}\n")).into_response(),
    };
    if let Some(mapping) = &filter.mapping
        && state.engine.config().mapping(mapping).is_none()
    {
        let error = AppError::NotFound(format!("no mapping is named {mapping}"));
        return (StatusCode::NOT_FOUND, format!("{error}\n")).into_response();
    }
    let pages = futures_util::stream::unfold(
        Some((state.engine.clone(), filter, None, true)),
        |page| async move {
            let (engine, filter, after, first) = page?;
            let (bytes, next) = chunk(&engine, &filter, after, first).await;
            let page = next.map(|after| (engine, filter, Some(after), false));
            Some((bytes, page))
        },
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"sync-errors.csv\"",
            ),
        ],
        Body::from_stream(pages),
    )
        .into_response()
}

/// One chunk of CSV (with the header row first) and where the next one starts.
async fn chunk(
    engine: &Engine,
    filter: &ErrorFilter,
    after: Option<ErrorCursor>,
    first: bool,
) -> (Result<Bytes, std::io::Error>, Option<ErrorCursor>) {
    let errors = match engine.sync_errors(filter, after, CHUNK).await {
        Ok(errors) => errors,
        Err(error) => {
            tracing::error!(%error, "the export stopped");
            return (Err(std::io::Error::other(error.to_string())), None);
        }
    };
    let mut out = csv::Writer::from_writer(Vec::new());
    let written = (|| -> Result<(), csv::Error> {
        if first {
            out.write_record(HEADER)?;
        }
        for e in &errors {
            out.write_record(row(e))?;
        }
        out.flush()?;
        Ok(())
    })();
    let next = (errors.len() as i64 == CHUNK)
        .then(|| errors.last())
        .flatten()
        .map(|e| ErrorCursor {
            failed_at: e.failed_at,
            id: e.id,
        });
    match (written, out.into_inner()) {
        (Ok(()), Ok(bytes)) => (Ok(Bytes::from(bytes)), next),
        _ => (Err(std::io::Error::other("could not write CSV")), None),
    }
}

const HEADER: [&str; 14] = [
    "id",
    "mapping",
    "kind",
    "local_key",
    "local_exists",
    "integration_key",
    "integration_exists",
    "description",
    "message",
    "failed_on",
    "first_failed_on",
    "attempts",
    "skipped",
    "last_changed_by",
];

/// A cell a spreadsheet would not read as a formula: text starting with `=`, `+`, `-`,
/// `@`, a TAB or a carriage return gets a `'` before it (OWASP's advice for CSV files).
fn cell(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

fn row(e: &SyncErrorSummary) -> [String; 14] {
    row_values(e).map(cell)
}

fn row_values(e: &SyncErrorSummary) -> [String; 14] {
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
    [
        e.id.to_string(),
        e.mapping.clone(),
        e.kind.as_str().to_string(),
        e.local_key.clone().unwrap_or_default(),
        yes_no(e.exists(Side::Local)),
        e.integration_key.clone().unwrap_or_default(),
        yes_no(e.exists(Side::Integration)),
        e.description.clone().unwrap_or_default(),
        e.message.clone(),
        format_time(e.failed_at),
        format_time(e.first_failed_at),
        e.attempts.to_string(),
        yes_no(e.skipped),
        e.changed_by.clone().unwrap_or_default(),
    ]
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn cells_that_a_spreadsheet_would_run_are_neutralised() {
        for formula in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(cell(formula.to_string()), format!("'{formula}"));
        }
        for plain in ["Castillo Furniture", "C000001", "", "a=b", "yes"] {
            assert_eq!(cell(plain.to_string()), plain);
        }
    }
}

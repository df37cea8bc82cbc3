//! What every server function does first and last: take the engine from context, and
//! turn engine errors into [`AppError`]s with the right HTTP status.

use crate::error::AppError;
use engine::{Engine, EngineError};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

/// The engine provided by the server as context.
pub fn engine() -> Result<Engine, AppError> {
    use_context::<Engine>().ok_or_else(|| {
        tracing::error!("the engine was not provided to the server function");
        AppError::Internal
    })
}

/// Sets the response status that fits `error` and hands it back.
pub fn fail(error: AppError) -> AppError {
    if let Some(response) = use_context::<ResponseOptions>() {
        let status = match &error {
            AppError::NotFound(_) => 404,
            AppError::Invalid { .. } | AppError::Transport(_) => 400,
            AppError::Stale { .. } => 409,
            AppError::Forbidden => 403,
            AppError::Unavailable(_) => 503,
            AppError::Internal => 500,
        };
        response.set_status(http::StatusCode::from_u16(status).unwrap_or_default());
    }
    error
}

impl From<EngineError> for AppError {
    fn from(error: EngineError) -> Self {
        fail(match error {
            EngineError::UnknownMapping(_) => AppError::NotFound(error.to_string()),
            EngineError::Busy(_) => AppError::Invalid {
                field: "mapping".into(),
                message: error.to_string(),
            },
            EngineError::System { .. } => AppError::Unavailable(error.to_string()),
            EngineError::Stopped { .. } => AppError::Unavailable(error.to_string()),
            EngineError::Invalid(message) => AppError::Invalid {
                field: "request".into(),
                message,
            },
            EngineError::NotFound(message) => AppError::NotFound(message),
            EngineError::Store(store) => {
                tracing::error!(error = %store, "store failed");
                AppError::Internal
            }
        })
    }
}

/// A token no other call of this process answers, nor (in practice) any other process.
pub fn unique_token() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!(
        "{nanos:x}{:x}{:x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

//! The one error type every server function returns, and on the server the HTTP status
//! each kind of error answers with. It crosses the wire as JSON; `Internal` carries no
//! detail to the browser (the server logs it).

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};

/// Why a server function did not do what was asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// An input was refused.
    #[error("{field}: {message}")]
    Invalid {
        /// The input's name.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// Someone else acted first: nothing was changed.
    #[error("already handled by {by} at {at}")]
    Stale {
        /// Who acted.
        by: String,
        /// When.
        at: String,
    },
    /// Nobody is signed in, or the session has ended.
    #[error("sign in first: you are not signed in, or your session has ended")]
    SignIn,
    /// The name and password did not match an account.
    #[error("{0}")]
    Denied(String),
    /// The signed-in account may not do this.
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// Too many failed sign-ins.
    #[error("too many failed sign-ins: try again in {0} s")]
    Throttled(u64),
    /// A system the engine needs is not answering, or its tables are not as configured.
    #[error("{0}")]
    Unavailable(String),
    /// Something failed on the server; the details are in its log.
    #[error("something went wrong on the server; the details are in its log")]
    Internal,
    /// The request did not reach the server, or its answer could not be read.
    #[error("the server could not be reached: {0}")]
    Transport(String),
}

impl AppError {
    /// The id in a page's address, or not found in plain words.
    pub fn id_from(text: &str, of_what: &str) -> Result<i64, AppError> {
        text.parse()
            .map_err(|_| AppError::NotFound(format!("{text:?} is not {of_what}'s id")))
    }

    /// The error as the console shows it: an alert in plain words.
    pub fn alert(&self) -> AnyView {
        view! { <p class="error" role="alert">{self.to_string()}</p> }.into_any()
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let error = match value {
            ServerFnErrorErr::Request(detail)
            | ServerFnErrorErr::Deserialization(detail)
            | ServerFnErrorErr::Serialization(detail) => AppError::Transport(detail),
            ServerFnErrorErr::Args(detail) | ServerFnErrorErr::MissingArg(detail) => {
                AppError::Invalid {
                    field: "request".into(),
                    message: detail,
                }
            }
            other => {
                #[cfg(feature = "ssr")]
                tracing::error!(error = %other, "server function failed");
                let _ = other;
                AppError::Internal
            }
        };
        // On the server, a request that could not be read is the client's fault: 400.
        #[cfg(feature = "ssr")]
        let error = fail(error);
        error
    }
}

/// Sets the response status that fits `error` and hands it back. A form posted without
/// JavaScript keeps the redirect back to its page, which then shows the error.
#[cfg(feature = "ssr")]
pub fn fail(error: AppError) -> AppError {
    let plain_form_post = use_context::<http::request::Parts>().is_some_and(|parts| {
        parts.uri.path().starts_with("/api/")
            && parts
                .headers
                .get(http::header::ACCEPT)
                .and_then(|accept| accept.to_str().ok())
                .is_some_and(|accept| accept.contains("text/html"))
    });
    if plain_form_post {
        return error;
    }
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        let status = match &error {
            AppError::NotFound(_) => 404,
            AppError::Invalid { .. } | AppError::Transport(_) => 400,
            AppError::Stale { .. } => 409,
            AppError::SignIn | AppError::Denied(_) => 401,
            AppError::Forbidden(_) => 403,
            AppError::Throttled(_) => 429,
            AppError::Unavailable(_) => 503,
            AppError::Internal => 500,
        };
        response.set_status(http::StatusCode::from_u16(status).unwrap_or_default());
    }
    error
}

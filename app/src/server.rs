//! What every server function does first and last: check who is asking, take the engine
//! from context, and turn engine errors into [`AppError`]s with the right HTTP status.

use crate::error::{AppError, fail};
use engine::model::{Role, SignedIn};
use engine::{Engine, EngineError};
use http::request::Parts;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

/// The cookie that carries a console session's token.
pub const SESSION_COOKIE: &str = "coupler_session";

/// The network address a request came from, as the server saw it.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress(pub std::net::IpAddr);

/// Who the request being served is signed in as (the server resolved the session).
pub fn signed_in() -> Option<SignedIn> {
    use_context::<Parts>()?
        .extensions
        .get::<SignedIn>()
        .cloned()
}

/// The engine, for someone signed in with at least `role`; and who they are.
pub fn engine_as(role: Role) -> Result<(Engine, SignedIn), AppError> {
    let me = signed_in().ok_or_else(|| fail(AppError::SignIn))?;
    if me.role < role {
        return Err(fail(AppError::Forbidden(format!(
            "this needs the {role} role, and {} is {}",
            me.name, me.role
        ))));
    }
    Ok((engine()?, me))
}

/// The session token the request carries, if any.
pub fn session_token() -> Option<String> {
    let parts = use_context::<Parts>()?;
    cookie(&parts.headers, SESSION_COOKIE)
}

/// The value of cookie `name` in `headers`.
pub fn cookie(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

/// The engine provided by the server as context. Server functions ask [`engine_as`].
pub(crate) fn engine() -> Result<Engine, AppError> {
    use_context::<Engine>().ok_or_else(|| {
        tracing::error!("the engine was not provided to the server function");
        AppError::Internal
    })
}

/// Gives the page being rendered a fresh nonce and the Content-Security-Policy that
/// names it: scripts run only from this console or with the nonce, WebAssembly may be
/// compiled, and nothing may frame the page or send a form elsewhere.
pub fn provide_page_policy() {
    let nonce = leptos::nonce::Nonce::new();
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    provide_context(nonce);
    if let (Some(response), Ok(value)) = (
        use_context::<ResponseOptions>(),
        http::HeaderValue::from_str(&policy),
    ) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

impl From<EngineError> for AppError {
    fn from(error: EngineError) -> Self {
        fail(match error {
            EngineError::UnknownMapping(_) => AppError::NotFound(error.to_string()),
            EngineError::Busy(_) => AppError::Invalid {
                field: "mapping".into(),
                message: error.to_string(),
            },
            EngineError::System { .. } | EngineError::Connector(_) => {
                AppError::Unavailable(error.to_string())
            }
            EngineError::Stopped { .. } | EngineError::Cancelled(_) => {
                AppError::Unavailable(error.to_string())
            }
            EngineError::Invalid(message) => AppError::Invalid {
                field: "request".into(),
                message,
            },
            EngineError::NotFound(message) => AppError::NotFound(message),
            EngineError::Denied(message) => AppError::Denied(message),
            EngineError::Throttled(seconds) => AppError::Throttled(seconds),
            EngineError::Store(store) => {
                tracing::error!(error = %store, "store failed");
                AppError::Internal
            }
        })
    }
}

/// The network address the request came from, as the sign-in limits count it.
pub fn client_address() -> String {
    use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<ClientAddress>().map(|a| a.0.to_string()))
        .unwrap_or_else(|| "unknown".to_string())
}

/// Gives the browser the session `token`: an HttpOnly, SameSite=Strict cookie, Secure
/// when the console is reached over HTTPS.
pub fn start_session(token: &str) {
    let https = use_context::<http::request::Parts>().is_some_and(|p| {
        p.uri.scheme_str() == Some("https")
            || p.headers
                .get("x-forwarded-proto")
                .is_some_and(|v| v.as_bytes() == b"https")
    });
    set_cookie(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{}",
        if https { "; Secure" } else { "" }
    ));
}

/// Takes the session cookie back from the browser.
pub fn end_session() {
    set_cookie(&format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
    ));
}

fn set_cookie(value: &str) {
    if let (Some(response), Ok(value)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::HeaderValue::from_str(value),
    ) {
        response.append_header(http::header::SET_COOKIE, value);
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

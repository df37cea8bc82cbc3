//! What every request passes through before the console answers it: changes only from
//! the console's own origin and with a bounded body; the session resolved to who is
//! signed in; pages for the signed-in only; and security headers on every answer.

use crate::state::AppState;
use app::server::{ClientAddress, SESSION_COOKIE, cookie};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use engine::model::SignedIn;
use std::net::SocketAddr;

/// The largest request body accepted: far above any form of the console.
pub const MAX_BODY: usize = 256 * 1024;

/// The policy of answers that are not pages (pages name their own nonce).
const DEFAULT_POLICY: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The guard, as axum middleware.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    use tracing::Instrument;
    // Every log line of a request names it; the path names the server function. (Not
    // the query: it can hold a search for a record's data.)
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path()
    );
    // The console's own files may be kept; every other answer is someone's view.
    let shared =
        request.uri().path().starts_with("/pkg/") || request.uri().path() == "/favicon.ico";
    let posted = request.method() == Method::POST;
    async move {
        let shown = shown_form_error(&request);
        let mut response = match shown {
            FormError::Foreign => Redirect::to(&without_form_error(&request)).into_response(),
            _ => match admit(&state, request).await {
                Ok(request) => next.run(request).await,
                Err(refusal) => refusal.into_response(),
            },
        };
        if posted {
            remember_form_error(&mut response);
            drop_empty_query(&mut response);
        } else if shown == FormError::Own {
            forget_form_error(&mut response);
        }
        secure_headers(response.headers_mut());
        if !shared {
            response
                .headers_mut()
                .entry(header::CACHE_CONTROL)
                .or_insert(HeaderValue::from_static("no-store"));
        }
        response
    }
    .instrument(span)
    .await
}

/// The cookie naming the error this browser's own form post was answered with (a
/// digest of it), so that a page shows only that error, not one written into a link.
const FORM_ERROR_COOKIE: &str = "coupler_form_error";

/// Whether a page is asked to show a form's error (`?__path=…&__err=…`, as the answer
/// to a form posted without JavaScript redirects), and whose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FormError {
    /// No error to show.
    None,
    /// The error this browser's own post was answered with.
    Own,
    /// Any other: a link someone made. The page is shown without it.
    Foreign,
}

fn query_value<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

fn digest(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn shown_form_error(request: &Request) -> FormError {
    let Some(error) = request.uri().query().and_then(|q| query_value(q, "__err")) else {
        return FormError::None;
    };
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return FormError::None;
    }
    match cookie(request.headers(), FORM_ERROR_COOKIE) {
        Some(seen) if seen == digest(error) => FormError::Own,
        _ => FormError::Foreign,
    }
}

/// The request's address without a form's error in it.
fn without_form_error(request: &Request) -> String {
    let uri = request.uri();
    let kept: Vec<&str> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| {
            !pair.is_empty() && !pair.starts_with("__err=") && !pair.starts_with("__path=")
        })
        .collect();
    if kept.is_empty() {
        uri.path().to_string()
    } else {
        format!("{}?{}", uri.path(), kept.join("&"))
    }
}

/// A form post answered with a redirect carrying its error: the browser keeps the
/// error's digest for a minute, so the page it goes back to may show it.
fn remember_form_error(response: &mut Response) {
    let error = response
        .headers()
        .get(header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| l.split_once('?'))
        .and_then(|(_, query)| query_value(query, "__err"))
        .map(digest);
    if let Some(error) = error
        && let Ok(value) = HeaderValue::from_str(&format!(
            "{FORM_ERROR_COOKIE}={error}; Path=/; HttpOnly; SameSite=Strict; Max-Age=60"
        ))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// A form post's redirect back to a page without a query goes to the page's own address,
/// not to the address with an empty query that the answer writes (`/records/…?`).
fn drop_empty_query(response: &mut Response) {
    let bare = response
        .headers()
        .get(header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| l.strip_suffix('?'))
        .and_then(|l| HeaderValue::from_str(l).ok());
    if let Some(bare) = bare {
        response.headers_mut().insert(header::LOCATION, bare);
    }
}

fn forget_form_error(response: &mut Response) {
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "coupler_form_error=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
}

/// Why a request was not let through.
enum Refusal {
    /// Answered with this status and message.
    Refused(StatusCode, String),
    /// A page for the signed-in: go sign in, then come back to this address.
    SignIn(String),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Refused(status, message) => (status, format!("{message}\n")).into_response(),
            Refusal::SignIn(asked) => {
                Redirect::to(&format!("/login?next={}", app::encode(&asked))).into_response()
            }
        }
    }
}

fn refuse(status: StatusCode, message: &str) -> Refusal {
    Refusal::Refused(status, message.to_string())
}

async fn admit(state: &AppState, mut request: Request) -> Result<Request, Refusal> {
    if let Some(allowed) = &state.allowed_hosts {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let name = host
            .rsplit_once(':')
            .map_or(host.as_str(), |(name, _)| name);
        if !allowed.iter().any(|a| *a == host || *a == name) {
            return Err(refuse(
                StatusCode::MISDIRECTED_REQUEST,
                "this console does not answer to that host name",
            ));
        }
    }
    let changes = !matches!(*request.method(), Method::GET | Method::HEAD);
    if changes {
        from_own_origin(request.headers())?;
        request = bounded(request).await?;
    }
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        let address = ClientAddress(peer.ip());
        request.extensions_mut().insert(address);
    }
    if let Some(token) = cookie(request.headers(), SESSION_COOKIE) {
        match state.engine.session(&token, state.sessions).await {
            Ok(Some(signed_in)) => {
                request.extensions_mut().insert(signed_in);
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, "cannot read the session");
                return Err(refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the store is not answering; try again shortly",
                ));
            }
        }
    }
    if !changes && is_page(request.uri().path()) && request.extensions().get::<SignedIn>().is_none()
    {
        let asked = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        return Err(Refusal::SignIn(asked));
    }
    Ok(request)
}

/// Pages need a session; the sign-in page, the API (each function checks for itself),
/// the built files and the probes do not.
fn is_page(path: &str) -> bool {
    !(path == "/login"
        || path == "/health"
        || path == "/metrics"
        || path.starts_with("/api/")
        || path.starts_with("/pkg/")
        || path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.')))
}

/// A browser names where a request comes from: a change must come from this console.
/// Clients that are not browsers send neither header, and carry no cookie a page could
/// borrow.
fn from_own_origin(headers: &HeaderMap) -> Result<(), Refusal> {
    let forged = || {
        refuse(
            StatusCode::FORBIDDEN,
            "changes must come from the console's own pages",
        )
    };
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.as_bytes(), b"same-origin" | b"none")
    {
        return Err(forged());
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, host)| host);
        if host.is_none() || origin_host != host {
            return Err(forged());
        }
    }
    Ok(())
}

async fn bounded(request: Request) -> Result<Request, Refusal> {
    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("a request body may be at most {} KiB", MAX_BODY / 1024),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_BODY) {
        return Err(too_large());
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| too_large())?;
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

fn secure_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(DEFAULT_POLICY));
}

/// Someone signed in, for the handlers outside the server functions (live events, the
/// CSV export); anyone else is answered 401.
pub struct SignedInReader(pub SignedIn);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SignedInReader {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<SignedIn>()
            .cloned()
            .map(SignedInReader)
            .ok_or_else(|| refuse(StatusCode::UNAUTHORIZED, "sign in first").into_response())
    }
}

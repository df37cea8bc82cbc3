//! Server functions for accounts: signing in and out, and (for admins) managing users.

use crate::error::AppError;
use engine::model::{SignedIn, UserSummary};
use leptos::prelude::*;

/// Who the request is signed in as; nobody is an answer, not an error.
#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<Option<SignedIn>, AppError> {
    Ok(crate::server::signed_in())
}

/// Signs in: on success the browser holds a new session (an HttpOnly, SameSite=Strict
/// cookie) and goes to `next` (a path of this console; the overview otherwise).
#[server(endpoint = "sign_in")]
pub async fn sign_in(
    name: String,
    password: String,
    next: Option<String>,
) -> Result<SignedIn, AppError> {
    use crate::server::{ClientAddress, SESSION_COOKIE};
    use http::request::Parts;
    let engine = crate::server::engine()?;
    let parts = use_context::<Parts>();
    let address = parts
        .as_ref()
        .and_then(|p| p.extensions.get::<ClientAddress>())
        .map_or_else(|| "unknown".to_string(), |a| a.0.to_string());
    let name = name.trim().to_string();
    let (token, signed_in) = engine.sign_in(&name, &password, &address).await?;
    // The session the browser had, if any, ends: a sign-in always starts a new one.
    if let Some(old) = crate::server::session_token() {
        engine.sign_out(&old).await?;
    }
    let https = parts.as_ref().is_some_and(|p| {
        p.uri.scheme_str() == Some("https")
            || p.headers
                .get("x-forwarded-proto")
                .is_some_and(|v| v.as_bytes() == b"https")
    });
    set_cookie(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{}",
        if https { "; Secure" } else { "" }
    ));
    leptos_axum::redirect(&safe_next(next.as_deref()));
    Ok(signed_in)
}

/// `next` when it is a path of this console, else the overview: a sign-in link cannot
/// send anyone elsewhere.
#[cfg(feature = "ssr")]
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.starts_with("/login") =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(feature = "ssr")]
fn set_cookie(value: &str) {
    if let (Some(response), Ok(value)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::HeaderValue::from_str(value),
    ) {
        response.append_header(http::header::SET_COOKIE, value);
    }
}

/// Signs this browser out.
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    use crate::server::SESSION_COOKIE;
    let engine = crate::server::engine()?;
    if let Some(token) = crate::server::session_token() {
        engine.sign_out(&token).await?;
    }
    set_cookie(&format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
    ));
    leptos_axum::redirect("/login");
    Ok(())
}

/// Every account.
#[server(endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<UserSummary>, AppError> {
    let (engine, _) = crate::server::engine_as(engine::model::Role::Admin)?;
    Ok(engine.users().await?)
}

/// Adds an account.
#[server(endpoint = "add_user")]
pub async fn add_user(name: String, role: String, password: String) -> Result<(), AppError> {
    let (engine, me) = crate::server::engine_as(engine::model::Role::Admin)?;
    let role = parse_role(&role)?;
    Ok(engine
        .add_user(&me.name, name.trim(), role, &password)
        .await?)
}

/// Changes an account's role.
#[server(endpoint = "set_user_role")]
pub async fn set_user_role(name: String, role: String) -> Result<(), AppError> {
    let (engine, me) = crate::server::engine_as(engine::model::Role::Admin)?;
    let role = parse_role(&role)?;
    Ok(engine.set_user_role(&me.name, &name, role).await?)
}

/// Removes an account; its sessions end.
#[server(endpoint = "remove_user")]
pub async fn remove_user(name: String) -> Result<(), AppError> {
    let (engine, me) = crate::server::engine_as(engine::model::Role::Admin)?;
    Ok(engine.remove_user(&me.name, &name).await?)
}

/// Ends every session of an account, on every process.
#[server(endpoint = "sign_out_user")]
pub async fn sign_out_user(name: String) -> Result<u64, AppError> {
    let (engine, me) = crate::server::engine_as(engine::model::Role::Admin)?;
    Ok(engine.sign_out_everywhere(&me.name, &name).await?)
}

#[cfg(feature = "ssr")]
fn parse_role(text: &str) -> Result<engine::model::Role, AppError> {
    engine::model::Role::parse(text).ok_or_else(|| {
        crate::error::fail(AppError::Invalid {
            field: "role".into(),
            message: format!("{text:?} is not a role: viewer, operator or admin"),
        })
    })
}

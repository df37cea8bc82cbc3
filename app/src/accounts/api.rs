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
    let engine = crate::server::engine()?;
    let address = crate::server::client_address();
    let (token, signed_in) = engine.sign_in(name.trim(), &password, &address).await?;
    // The session the browser had, if any, ends: a sign-in always starts a new one.
    if let Some(old) = crate::server::session_token() {
        engine.sign_out(&old).await?;
    }
    crate::server::start_session(&token);
    leptos_axum::redirect(&crate::input::next_path(next.as_deref()));
    Ok(signed_in)
}

/// Signs this browser out.
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    let engine = crate::server::engine()?;
    if let Some(token) = crate::server::session_token() {
        engine.sign_out(&token).await?;
    }
    crate::server::end_session();
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

//! Pages of the console that are not built yet. Each says so plainly rather than
//! pretending to work, and names what it will show.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
fn NotBuilt(title: &'static str, will_show: &'static str) -> impl IntoView {
    view! {
        <Title text=title />
        <h1>{title}</h1>
        <p class="not-built" role="status">
            "This page is not built yet. It will show " {will_show} "."
        </p>
    }
}

/// `/audit`.
#[component]
pub fn AuditPage() -> impl IntoView {
    view! { <NotBuilt title="Audit" will_show="who did what, when, to which records, with what outcome" /> }
}

/// `/users`.
#[component]
pub fn UsersPage() -> impl IntoView {
    view! { <NotBuilt title="Users" will_show="the accounts and their roles" /> }
}

/// `/login`.
#[component]
pub fn LoginPage() -> impl IntoView {
    view! {
        <NotBuilt
            title="Sign in"
            will_show="the sign-in form; until accounts exist, the console is open to whoever reaches it"
        />
    }
}

/// Any other path.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found" />
        <h1>"Not found"</h1>
        <p>"No page has this address. " <a href="/">"Go to the overview"</a> "."</p>
    }
}

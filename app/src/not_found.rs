//! The page for an address no route matches.

use leptos::prelude::*;
use leptos_meta::Title;

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

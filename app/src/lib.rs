//! Coupler's console: the routes and pages the administrators use, and the server
//! functions under `/api/` that the pages (and any other client) call. Server functions
//! are thin: they take the [`engine::Engine`] from context, call it, and map its errors.

mod accounts;
mod alerts;
mod audit;
pub mod error;
mod errors;
#[cfg(feature = "ssr")]
mod input;
mod jobs;
mod layout;
mod live;
mod mappings;
mod not_found;
mod overview;
mod records;
#[cfg(feature = "ssr")]
pub mod server;

pub use accounts::api::{
    AddUser, CurrentUser, ListUsers, RemoveUser, SetUserRole, SignIn, SignOut, SignOutUser,
};
pub use alerts::ListAlerts;
pub use audit::ListAudit;
pub use errors::api::{ActOnSyncErrors, GetSyncError, ListSyncErrors};
#[cfg(feature = "ssr")]
pub use errors::form::filter as error_filter;
pub use jobs::api::{CancelJob, GetJob, ListJobs};
pub use mappings::api::{
    GetMapping, GetMappingCounts, ListCouplings, ListMappings, RemoveAllCouplings,
    RemoveOneCoupling, RunMapping, SetMappingPaused, SetMappingSettings, SetUpCoupling,
};
pub use overview::ErrorTrends;
pub use records::api::GetRecordLog;
pub use records::href::encode;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::SsrMode;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

/// The HTML document around the app, rendered on the server.
///
/// Each page gets a fresh nonce: its Content-Security-Policy lets only scripts carrying
/// it (the hydration script and the resources inlined for it), the console's own files
/// and its WebAssembly run. The stylesheet, the script and the WebAssembly are named by
/// `options.output_name`, which carries the build's digest when the site is embedded.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    server::provide_page_policy();
    let stylesheet = format!("/{}/{}.css", options.site_pkg_dir, options.output_name);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <link rel="stylesheet" id="coupler" href=stylesheet />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The console: the layout and every route of DESIGN.md's console.
///
/// Every route renders completely on the server before it is sent (`SsrMode::Async`),
/// so pages read the same with JavaScript disabled.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=|page: String| {
            if page.is_empty() { "Coupler".to_string() } else { format!("{page} · Coupler") }
        } />
        <Router>
            <layout::Layout>
                <Routes fallback=not_found::NotFound>
                    <Route path=path!("/") view=overview::OverviewPage ssr=SsrMode::Async />
                    <Route path=path!("/errors") view=errors::page::ErrorsPage ssr=SsrMode::Async />
                    <Route path=path!("/errors/:id") view=errors::detail::ErrorPage ssr=SsrMode::Async />
                    <Route path=path!("/find") view=records::page::FindPage ssr=SsrMode::Async />
                    <Route path=path!("/records/:mapping/:side/:key") view=records::page::RecordPage ssr=SsrMode::Async />
                    <Route path=path!("/records/:mapping/:side/:key/log") view=records::page::RecordPage ssr=SsrMode::Async />
                    <Route path=path!("/jobs") view=jobs::page::JobsPage ssr=SsrMode::Async />
                    <Route path=path!("/jobs/:id") view=jobs::page::JobPage ssr=SsrMode::Async />
                    <Route path=path!("/mappings") view=mappings::page::MappingsPage ssr=SsrMode::Async />
                    <Route path=path!("/mappings/:name") view=mappings::page::MappingPage ssr=SsrMode::Async />
                    <Route path=path!("/mappings/:name/records") view=records::list::RecordsByStatusPage ssr=SsrMode::Async />
                    <Route path=path!("/mappings/:name/couplings") view=mappings::couplings::CouplingsPage ssr=SsrMode::Async />
                    <Route path=path!("/audit") view=audit::AuditPage ssr=SsrMode::Async />
                    <Route path=path!("/alerts") view=alerts::AlertsPage ssr=SsrMode::Async />
                    <Route path=path!("/users") view=accounts::page::UsersPage ssr=SsrMode::Async />
                    <Route path=path!("/login") view=accounts::page::LoginPage ssr=SsrMode::Async />
                </Routes>
            </layout::Layout>
        </Router>
    }
}

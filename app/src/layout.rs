//! The frame around every page: the product name and the navigation to every page.

use leptos::prelude::*;
use leptos_router::components::A;

/// Navigation and the main area.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    crate::live::provide_live();
    let me = crate::accounts::provide_me().0;
    // Marks the page once the WebAssembly has taken over; effects never run on the server.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Coupler"</a>
            <nav aria-label="Main">
                <A href="/" exact=true>"Overview"</A>
                <A href="/errors">"Synchronization Errors"</A>
                <A href="/jobs">"Synchronization Jobs"</A>
                <A href="/mappings">"Table Mappings"</A>
                <A href="/alerts">"Alerts"</A>
                <A href="/audit">"Audit"</A>
                <A href="/users">"Users"</A>
            </nav>
            <form class="finder" action="/find" method="get" role="search">
                <input type="search" name="text" aria-label="Find a record" placeholder="Find a record" />
            </form>
            <div class="me">
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match me.await {
                            Ok(Some(me)) => view! {
                                <span class="who">{format!("{} ({})", me.name, me.role)}</span>
                                <crate::accounts::page::SignOutButton />
                            }
                            .into_any(),
                            _ => view! { <A href="/login">"Sign in"</A> }.into_any(),
                        }
                    })}
                </Suspense>
            </div>
        </header>
        <main>{children()}</main>
    }
}

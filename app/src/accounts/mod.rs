//! Signing in and out, who is signed in, and the users page: the console's accounts.

pub mod api;
pub mod page;

use engine::model::{Role, SignedIn};
use leptos::prelude::*;

/// Who is signed in, as the layout fetched it: every page may ask.
#[derive(Clone, Copy)]
pub struct Me(pub Resource<Result<Option<SignedIn>, crate::error::AppError>>);

impl Me {
    /// Whether whoever is signed in has at least `role`; waits for the answer.
    pub async fn has(self, role: Role) -> bool {
        self.0
            .await
            .ok()
            .flatten()
            .is_some_and(|me| me.role >= role)
    }
}

/// Who is signed in, as the layout offered it.
pub fn use_me() -> Me {
    expect_context::<Me>()
}

/// Fetches who is signed in again on every navigation (a sign-in or sign-out is one) and
/// offers it to every page.
pub fn provide_me() -> Me {
    let location = leptos_router::hooks::use_location();
    let me = Me(Resource::new(
        move || location.pathname.get(),
        |_| api::current_user(),
    ));
    provide_context(me);
    me
}

/// Shows `children` only to someone signed in with at least `role`. The server refuses
/// the actions anyway; this keeps controls nobody may use off the page.
#[component]
pub fn IfRole(role: Role, children: ChildrenFn) -> impl IntoView {
    let me = use_me();
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                me.has(role).await.then(|| children.read_value()())
            })}
        </Suspense>
    }
}

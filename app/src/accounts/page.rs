//! `/login` (sign in and out) and `/users` (accounts and roles, for admins).

use super::Me;
use super::api::{AddUser, RemoveUser, SetUserRole, SignIn, SignOut, SignOutUser, list_users};
use crate::error::AppError;
use engine::model::{Role, UserSummary, format_time};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// `/login`: the sign-in form, or who is signed in and a way out.
#[component]
pub fn LoginPage() -> impl IntoView {
    let me = expect_context::<Me>().0;
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".into());
    let sign_in = ServerAction::<SignIn>::new();
    view! {
        <Title text="Sign in" />
        <h1>"Sign in"</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(me)) => view! {
                        <p role="status">{format!("You are signed in as {} ({}).", me.name, me.role)}</p>
                        <SignOutButton />
                    }
                    .into_any(),
                    _ => ().into_any(),
                }
            })}
        </Suspense>
        {move || sign_in.value().get().and_then(Result::err).map(|e| e.alert())}
        <ActionForm action=sign_in attr:class="sign-in">
            <input type="hidden" name="next" value=next />
            <label>"Name " <input name="name" autocomplete="username" required maxlength="64" /></label>
            <label>
                "Password "
                <input name="password" type="password" autocomplete="current-password" required maxlength="1024" />
            </label>
            <button type="submit">"Sign in"</button>
        </ActionForm>
    }
}

/// Ends this browser's session.
#[component]
pub fn SignOutButton() -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    view! {
        <ActionForm action=sign_out attr:class="sign-out">
            <button type="submit">"Sign out"</button>
        </ActionForm>
    }
}

/// `/users`: every account with its role and sessions; add, change, sign out, remove.
#[component]
pub fn UsersPage() -> impl IntoView {
    let add = ServerAction::<AddUser>::new();
    let set_role = ServerAction::<SetUserRole>::new();
    let remove = ServerAction::<RemoveUser>::new();
    let sign_out = ServerAction::<SignOutUser>::new();
    let users = Resource::new(
        move || {
            (
                add.version().get(),
                set_role.version().get(),
                remove.version().get(),
                sign_out.version().get(),
            )
        },
        |_| list_users(),
    );
    let refused = move || {
        [
            add.value().get().and_then(Result::err),
            set_role.value().get().and_then(Result::err),
            remove.value().get().and_then(Result::err),
            sign_out.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .map(|e: AppError| e.alert())
        .collect_view()
    };
    view! {
        <Title text="Users" />
        <h1>"Users"</h1>
        {refused}
        <Transition fallback=|| view! { <p>"Loading the users…"</p> }>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(users) => view! { <UserTable users set_role remove sign_out /> }.into_any(),
                    Err(error) => error.alert(),
                }
            })}
        </Transition>
        <h2>"Add a user"</h2>
        <ActionForm action=add attr:class="add-user">
            <label>"Name " <input name="name" required maxlength="64" autocomplete="off" /></label>
            <label>"Role " <RoleSelect selected=Role::Viewer /></label>
            <label>
                "Password "
                <input name="password" type="password" required minlength="8" maxlength="1024" autocomplete="new-password" />
            </label>
            <button type="submit">"Add"</button>
        </ActionForm>
    }
}

#[component]
fn RoleSelect(selected: Role) -> impl IntoView {
    view! {
        <select name="role">
            {Role::ALL
                .into_iter()
                .map(|r| view! { <option value=r.as_str() selected=r == selected>{r.as_str()}</option> })
                .collect_view()}
        </select>
    }
}

#[component]
fn UserTable(
    users: Vec<UserSummary>,
    set_role: ServerAction<SetUserRole>,
    remove: ServerAction<RemoveUser>,
    sign_out: ServerAction<SignOutUser>,
) -> impl IntoView {
    view! {
        <table class="users">
            <thead>
                <tr>
                    <th>"Name"</th><th>"Role"</th><th>"Created"</th><th>"Last signed in"</th>
                    <th>"Sessions"</th><th>"Change"</th>
                </tr>
            </thead>
            <tbody>
                {users
                    .into_iter()
                    .map(|u| {
                        let name = u.name.clone();
                        let (for_role, for_sign_out) = (name.clone(), name.clone());
                        let role_label = format!("Set the role of {name}");
                        let sign_out_label = format!("Sign {name} out everywhere");
                        let remove_label = format!("Remove {name}");
                        view! {
                            <tr>
                                <td>{u.name.clone()}</td>
                                <td>{u.role.as_str()}</td>
                                <td>{format_time(u.created_at)}</td>
                                <td>{u.last_signed_in.map_or("never".into(), format_time)}</td>
                                <td>{u.sessions}</td>
                                <td class="user-actions">
                                    <ActionForm action=set_role>
                                        <input type="hidden" name="name" value=for_role />
                                        <RoleSelect selected=u.role />
                                        <button type="submit" aria-label=role_label>"Set role"</button>
                                    </ActionForm>
                                    <ActionForm action=sign_out>
                                        <input type="hidden" name="name" value=for_sign_out />
                                        <button type="submit" aria-label=sign_out_label>"Sign out everywhere"</button>
                                    </ActionForm>
                                    <ActionForm action=remove>
                                        <input type="hidden" name="name" value=name />
                                        <button type="submit" class="danger" aria-label=remove_label>"Remove"</button>
                                    </ActionForm>
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

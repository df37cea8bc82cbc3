//! The console is safe to put on a network: every server function refuses whoever may
//! not call it, sessions behave, changes come only from the console's own pages, bad
//! input is a clear 4xx that changes nothing, and every answer carries its security
//! headers. Through the real router, on SQLite and PostgreSQL.

use crate::on_both_stores;
use crate::support::{PASSWORD, StoreKind, TestApp, site};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use engine::model::{AuditFilter, Role};
use server::router::router;
use server::state::AppState;
use std::time::Duration;

on_both_stores!(
    every_server_function_refuses_the_anonymous_and_every_role_below_its_need,
    signing_in_opens_a_new_strict_session_and_signing_out_ends_it,
    a_session_ends_when_idle_and_sign_out_everywhere_ends_every_session,
    sign_in_attempts_are_limited_per_account_and_per_address,
    sign_ins_sent_at_once_are_limited_as_if_one_after_another,
    pages_send_the_signed_out_to_sign_in_and_back,
    changes_must_come_from_the_consoles_own_origin,
    bad_input_is_a_clear_4xx_and_changes_nothing,
    every_answer_carries_the_security_headers,
    a_page_shows_only_the_error_of_this_browsers_own_form_post,
    metrics_answer_admins_and_this_machine_only,
    actions_are_audited_with_who_and_the_audit_is_filterable,
    admins_manage_users_and_the_last_admin_stays,
);

/// The role each server function needs (`None`: anyone may call it), and a form it
/// accepts, so that a refusal can only come from the role check.
const NEEDS: &[(&str, Option<Role>, &str)] = &[
    ("current_user", None, ""),
    ("sign_in", None, "name=x&password=y"),
    ("sign_out", None, ""),
    ("list_sync_errors", Some(Role::Viewer), ""),
    ("get_sync_error", Some(Role::Viewer), "id=1"),
    ("list_jobs", Some(Role::Viewer), ""),
    ("get_job", Some(Role::Viewer), "id=1"),
    ("list_mappings", Some(Role::Viewer), ""),
    ("get_mapping", Some(Role::Viewer), "name=CUSTOMER"),
    ("get_mapping_counts", Some(Role::Viewer), ""),
    ("error_trends", Some(Role::Viewer), ""),
    ("list_couplings", Some(Role::Viewer), "name=CUSTOMER"),
    (
        "get_record_log",
        Some(Role::Viewer),
        "mapping=CUSTOMER&side=local&key=C000001",
    ),
    (
        "get_record_status",
        Some(Role::Viewer),
        "mapping=CUSTOMER&side=local&key=C000001",
    ),
    ("find_records", Some(Role::Viewer), "text=C000001"),
    (
        "list_records_by_status",
        Some(Role::Viewer),
        "mapping=CUSTOMER&status=in_sync",
    ),
    ("get_mapping_health", Some(Role::Viewer), ""),
    ("list_audit", Some(Role::Viewer), ""),
    ("list_alerts", Some(Role::Viewer), ""),
    (
        "act_on_sync_errors",
        Some(Role::Operator),
        "action=retry_all&view=v",
    ),
    ("cancel_job", Some(Role::Operator), "id=1"),
    (
        "run_mapping",
        Some(Role::Operator),
        "name=CUSTOMER&job=synchronize",
    ),
    (
        "remove_one_coupling",
        Some(Role::Operator),
        "name=CUSTOMER&local_key=C000001",
    ),
    (
        "set_up_coupling",
        Some(Role::Operator),
        "name=CUSTOMER&local_key=C000001&integration_key=x",
    ),
    (
        "set_mapping_paused",
        Some(Role::Admin),
        "name=CUSTOMER&paused=true",
    ),
    (
        "set_mapping_settings",
        Some(Role::Admin),
        "name=CUSTOMER&update_conflict=none&deletion_conflict=none&interval=5m",
    ),
    (
        "remove_all_couplings",
        Some(Role::Admin),
        "name=CUSTOMER&confirm=0",
    ),
    ("list_users", Some(Role::Admin), ""),
    (
        "add_user",
        Some(Role::Admin),
        "name=mallory&role=admin&password=long+enough",
    ),
    ("set_user_role", Some(Role::Admin), "name=admin&role=viewer"),
    ("remove_user", Some(Role::Admin), "name=admin"),
    ("sign_out_user", Some(Role::Admin), "name=admin"),
];

async fn every_server_function_refuses_the_anonymous_and_every_role_below_its_need(
    kind: StoreKind,
) {
    let app = TestApp::spawn(kind).await;
    let viewer = app.account("vera", Role::Viewer).await;
    let operator = app.account("otto", Role::Operator).await;
    let registered: Vec<(&str, String)> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, method)| (path, method.to_string()))
        .collect();
    let mut names: Vec<&str> = registered
        .iter()
        .map(|(path, method)| {
            assert_eq!(method, "POST", "{path} changes nothing on GET");
            path.strip_prefix("/api/").unwrap_or(path)
        })
        .collect();
    names.sort_unstable();
    let mut known: Vec<&str> = NEEDS.iter().map(|(name, _, _)| *name).collect();
    known.sort_unstable();
    assert_eq!(
        names, known,
        "every registered server function says here what it needs"
    );

    let before = app
        .engine
        .audit(&AuditFilter::default(), 1000)
        .await
        .unwrap();
    for (name, needs, form) in NEEDS {
        let Some(needs) = needs else { continue };
        let anonymous = app.call_as(None, name, form).await;
        assert_eq!(
            anonymous.status,
            StatusCode::UNAUTHORIZED,
            "{name} refuses the anonymous: {}",
            anonymous.body
        );
        assert_eq!(anonymous.json(), "SignIn", "{name}");
        let expired = app.call_as(Some("coupler_session=ended"), name, form).await;
        assert_eq!(expired.status, StatusCode::UNAUTHORIZED, "{name}");
        for (role, cookie) in [(Role::Viewer, &viewer), (Role::Operator, &operator)] {
            if role >= *needs {
                continue;
            }
            let lower = app.call_as(Some(cookie), name, form).await;
            assert_eq!(
                lower.status,
                StatusCode::FORBIDDEN,
                "{name} refuses a {role}: {}",
                lower.body
            );
            let message = lower.json()["Forbidden"].as_str().unwrap().to_string();
            assert!(
                message.contains(&format!("needs the {needs} role")),
                "{message}"
            );
        }
    }
    let after = app
        .engine
        .audit(&AuditFilter::default(), 1000)
        .await
        .unwrap();
    assert_eq!(after, before, "no refused call changed anything");
    assert!(!app.engine.mapping("CUSTOMER").await.unwrap().paused);
    assert_eq!(app.engine.users().await.unwrap().len(), 3);

    // The role each needs is enough: the same calls succeed for it (one of each).
    let viewer_reads = app.call_as(Some(&viewer), "list_audit", "").await;
    assert_eq!(viewer_reads.status, StatusCode::OK, "{}", viewer_reads.body);
    let operator_runs = app
        .call_as(
            Some(&operator),
            "run_mapping",
            "name=CUSTOMER&job=synchronize",
        )
        .await;
    assert_eq!(
        operator_runs.status,
        StatusCode::OK,
        "{}",
        operator_runs.body
    );
    assert_eq!(operator_runs.json()["actor"], "otto");
}

/// A form-encoded sign-in as a browser sends it; answers the response.
async fn sign_in(
    app: &TestApp,
    name: &str,
    password: &str,
    cookie: Option<&str>,
) -> crate::support::TestResponse {
    let form = format!("name={name}&password={}", password.replace(' ', "+"));
    app.call_as(cookie, "sign_in", &form).await
}

fn session_cookie(response: &crate::support::TestResponse) -> String {
    let set = response.headers[header::SET_COOKIE].to_str().unwrap();
    set.split(';').next().unwrap().to_string()
}

async fn signing_in_opens_a_new_strict_session_and_signing_out_ends_it(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    app.account("olga", Role::Operator).await;

    let wrong = sign_in(&app, "olga", "not her password", None).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.json()["Denied"], "wrong name or password");
    assert!(wrong.headers.get(header::SET_COOKIE).is_none());
    let nobody = sign_in(&app, "nobody", PASSWORD, None).await;
    assert_eq!(
        nobody.json()["Denied"],
        "wrong name or password",
        "the same words"
    );

    let first = sign_in(&app, "olga", PASSWORD, None).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.json()["role"], "operator");
    let set = first.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    for part in ["coupler_session=", "Path=/", "HttpOnly", "SameSite=Strict"] {
        assert!(set.contains(part), "{set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP on loopback: {set}");
    let cookie = session_cookie(&first);
    let me = app.call_as(Some(&cookie), "current_user", "").await;
    assert_eq!(me.json()["name"], "olga");

    // Signing in again, from the same browser, starts a new session and ends the old.
    let second = sign_in(&app, "olga", PASSWORD, Some(&cookie)).await;
    let renewed = session_cookie(&second);
    assert_ne!(renewed, cookie, "a new session id at sign-in");
    assert_eq!(
        app.call_as(Some(&cookie), "current_user", "").await.json(),
        serde_json::Value::Null
    );
    assert_eq!(
        app.call_as(Some(&renewed), "current_user", "").await.json()["name"],
        "olga"
    );

    // Behind a proxy that speaks HTTPS, the cookie is Secure.
    let https = app
        .send(
            Request::post("/api/sign_in")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header("x-forwarded-proto", "https")
                .body(Body::from(format!(
                    "name=olga&password={}",
                    PASSWORD.replace(' ', "+")
                )))
                .unwrap(),
        )
        .await;
    assert!(
        https.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );

    let out = app.call_as(Some(&renewed), "sign_out", "").await;
    assert!(
        out.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = app.call_as(Some(&renewed), "list_mappings", "").await;
    assert_eq!(
        after.status,
        StatusCode::UNAUTHORIZED,
        "the session has ended"
    );

    // Without JavaScript the form goes on to the page asked for, never elsewhere.
    for (next, to) in [
        ("%2Ferrors%3Fkind%3Dfailed", "/errors?kind=failed"),
        ("https%3A%2F%2Fevil.example", "/"),
        ("%2F%2Fevil.example", "/"),
        // A TAB or a backslash that browsers drop or read as a slash: another host.
        ("%2F%09%2Fother.example%2F", "/"),
        ("%09%2F%2Fother.example", "/"),
        ("%2F%5C%2Fother.example", "/"),
        ("%2F%5Cother.example", "/"),
        ("javascript%3Aalert(1)", "/"),
        // Line breaks would split the redirect's header.
        ("%2Ferrors%0D%0ASet-Cookie%3A+x%3Dy", "/"),
        ("%2Ferrors%0A", "/"),
        ("%2Flogin%3Fnext%3D%2F%2Fother.example", "/"),
    ] {
        let plain = app
            .send(
                Request::post("/api/sign_in")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::ACCEPT, "text/html")
                    .header(header::REFERER, "/login")
                    .body(Body::from(format!(
                        "name=olga&password={}&next={next}",
                        PASSWORD.replace(' ', "+")
                    )))
                    .unwrap(),
            )
            .await;
        assert!(plain.status.is_redirection(), "{}", plain.status);
        assert_eq!(plain.headers[header::LOCATION], to);
    }
}

async fn a_session_ends_when_idle_and_sign_out_everywhere_ends_every_session(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    let state = AppState {
        sessions: engine::accounts::SessionPolicy {
            idle: Duration::from_secs(1),
            absolute: Duration::from_secs(3600),
        },
        ..AppState::new(app.engine.clone(), site(&app.dir))
    };
    let strict = router(state);
    let call = |cookie: String| {
        let strict = strict.clone();
        async move {
            use tower::ServiceExt;
            strict
                .oneshot(
                    Request::post("/api/list_mappings")
                        .header(header::COOKIE, cookie)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap()
                .status()
        }
    };
    let idle = app.account("ida", Role::Viewer).await;
    assert_eq!(call(idle.clone()).await, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        call(idle).await,
        StatusCode::UNAUTHORIZED,
        "idle past its limit"
    );

    // Two browsers of one person; an admin signs them out of both.
    let laptop = app.account("eve", Role::Operator).await;
    let phone = app.session_of("eve").await;
    assert_eq!(
        app.call_as(Some(&laptop), "list_jobs", "").await.status,
        StatusCode::OK
    );
    let ended = app.call("sign_out_user", "name=eve").await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    assert_eq!(ended.json(), 2);
    for cookie in [&laptop, &phone] {
        let status = app.call_as(Some(cookie), "list_jobs", "").await.status;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // The admin's own session is untouched.
    assert_eq!(app.call("list_jobs", "").await.status, StatusCode::OK);
}

async fn sign_in_attempts_are_limited_per_account_and_per_address(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    app.account("tom", Role::Viewer).await;
    for _ in 0..5 {
        let wrong = sign_in(&app, "tom", "guess guess", None).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    }
    let limited = sign_in(&app, "tom", PASSWORD, None).await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        limited.body
    );
    assert!(
        limited.json()["Throttled"].as_u64().unwrap() > 800,
        "about 15 minutes"
    );
    // Another account from another address is not held up by tom's.
    app.account("uma", Role::Viewer).await;
    let (token, _) = app
        .engine
        .sign_in("uma", PASSWORD, "10.0.0.2")
        .await
        .unwrap();
    assert!(!token.is_empty());

    // Per address: 20 failures from one address over many names stop the 21st try.
    for i in 0..20 {
        let _ = app
            .engine
            .sign_in(&format!("name{i}"), "guess guess", "10.0.0.9")
            .await;
    }
    let refused = app.engine.sign_in("uma", PASSWORD, "10.0.0.9").await;
    assert!(
        matches!(refused, Err(engine::EngineError::Throttled(_))),
        "{refused:?}"
    );
    let audit = app
        .engine
        .audit(
            &AuditFilter {
                action: Some("sign_in".into()),
                ..AuditFilter::default()
            },
            1000,
        )
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.actor == "unknown user" && e.outcome.starts_with("refused")),
        "failed sign-ins are audited, unknown names unnamed"
    );
}

async fn sign_ins_sent_at_once_are_limited_as_if_one_after_another(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    app.account("vic", Role::Viewer).await;
    // 49 guesses and the right password, all at once, for one account from one address.
    let attempts = (0..50).map(|i| {
        let password = if i == 49 { PASSWORD } else { "guess guess" };
        app.engine.sign_in("vic", password, "10.0.0.7")
    });
    let answers = futures_util::future::join_all(attempts).await;
    let throttled = answers
        .iter()
        .filter(|a| matches!(a, Err(engine::EngineError::Throttled(_))))
        .count();
    assert!(
        answers.len() - throttled <= 5,
        "at most five attempts are checked, as one after another: {} were",
        answers.len() - throttled
    );
}

async fn pages_send_the_signed_out_to_sign_in_and_back(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    let page = app.get_as(None, "/errors?kind=failed").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.headers[header::LOCATION],
        "/login?next=%2Ferrors%3Fkind%3Dfailed"
    );
    let login = app.get_as(None, "/login?next=%2Ferrors").await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(
        login.body.contains(r#"name="password" type="password""#),
        "{}",
        login.body
    );
    assert!(login.body.contains(r#"value="/errors""#));
    let csv = app.get_as(None, "/api/export_sync_errors.csv").await;
    assert_eq!(csv.status, StatusCode::UNAUTHORIZED);
    let signed_in = app.get("/errors").await;
    assert_eq!(signed_in.status, StatusCode::OK);
    assert!(
        signed_in.body.contains("admin (admin)"),
        "who is signed in is shown"
    );
}

async fn changes_must_come_from_the_consoles_own_origin(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    let post = |headers: Vec<(&'static str, &'static str)>| {
        let mut request = Request::post("/api/set_mapping_paused")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "console.example:3000")
            .header(header::COOKIE, app.admin.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request
            .body(Body::from("name=CUSTOMER&paused=true"))
            .unwrap()
    };
    for forged in [
        vec![("origin", "http://evil.example")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site")],
        vec![
            ("sec-fetch-site", "same-site"),
            ("origin", "http://console.example:3000"),
        ],
    ] {
        let response = app.send(post(forged.clone())).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{forged:?}");
        assert_eq!(
            response.body,
            "changes must come from the console's own pages\n"
        );
    }
    assert!(
        !app.engine.mapping("CUSTOMER").await.unwrap().paused,
        "nothing changed"
    );
    let own = app
        .send(post(vec![
            ("origin", "http://console.example:3000"),
            ("sec-fetch-site", "same-origin"),
        ]))
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert!(app.engine.mapping("CUSTOMER").await.unwrap().paused);

    let get = app
        .get_as(
            Some(&app.admin),
            "/api/set_mapping_paused?name=CUSTOMER&paused=false",
        )
        .await;
    assert_eq!(
        get.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "changes are POST only"
    );
}

async fn bad_input_is_a_clear_4xx_and_changes_nothing(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    let operator = app.account("oz", Role::Operator).await;
    let before = app
        .engine
        .audit(&AuditFilter::default(), 1000)
        .await
        .unwrap();
    let long = "x".repeat(5_000);
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        // Over-long strings.
        (
            "list_sync_errors",
            format!("search={long}"),
            StatusCode::BAD_REQUEST,
            "at most",
        ),
        (
            "list_audit",
            format!("search={long}"),
            StatusCode::BAD_REQUEST,
            "at most 200",
        ),
        // A NUL would end the store's text search early.
        (
            "list_sync_errors",
            "search=a%00b".into(),
            StatusCode::BAD_REQUEST,
            "no control characters",
        ),
        (
            "sign_in",
            format!("name={long}&password={long}"),
            StatusCode::UNAUTHORIZED,
            "wrong name or password",
        ),
        (
            "act_on_sync_errors",
            format!("action=retry&refs[0]=1:1&view={long}"),
            StatusCode::BAD_REQUEST,
            "",
        ),
        // Unknown ids and names.
        (
            "get_sync_error",
            "id=987654".into(),
            StatusCode::NOT_FOUND,
            "987654",
        ),
        (
            "get_job",
            "id=987654".into(),
            StatusCode::NOT_FOUND,
            "987654",
        ),
        (
            "cancel_job",
            "id=987654".into(),
            StatusCode::NOT_FOUND,
            "987654",
        ),
        (
            "run_mapping",
            "name=NOPE&job=synchronize".into(),
            StatusCode::NOT_FOUND,
            "NOPE",
        ),
        // Malformed enum values.
        (
            "run_mapping",
            "name=CUSTOMER&job=everything".into(),
            StatusCode::BAD_REQUEST,
            "is not a job",
        ),
        (
            "list_sync_errors",
            "kind=broken".into(),
            StatusCode::BAD_REQUEST,
            "broken",
        ),
        (
            "act_on_sync_errors",
            "action=explode&refs[0]=1:1&view=v".into(),
            StatusCode::BAD_REQUEST,
            "explode",
        ),
        (
            "get_record_log",
            "mapping=CUSTOMER&side=middle&key=C1".into(),
            StatusCode::BAD_REQUEST,
            "middle",
        ),
        (
            "get_record_status",
            "mapping=CUSTOMER&side=middle&key=C1".into(),
            StatusCode::BAD_REQUEST,
            "middle",
        ),
        (
            "get_record_status",
            "mapping=NOPE&side=local&key=C1".into(),
            StatusCode::NOT_FOUND,
            "NOPE",
        ),
        (
            "get_record_status",
            "mapping=CUSTOMER&side=local&key=a%0Ab".into(),
            StatusCode::BAD_REQUEST,
            "key",
        ),
        (
            "list_records_by_status",
            "mapping=CUSTOMER&status=sleepy".into(),
            StatusCode::BAD_REQUEST,
            "sleepy",
        ),
        (
            "list_records_by_status",
            "mapping=CUSTOMER&status=not_found".into(),
            StatusCode::BAD_REQUEST,
            "in_sync",
        ),
        (
            "list_records_by_status",
            "mapping=NOPE&status=pending".into(),
            StatusCode::NOT_FOUND,
            "NOPE",
        ),
        (
            "list_records_by_status",
            "mapping=CUSTOMER&status=pending&page=two".into(),
            StatusCode::BAD_REQUEST,
            "two",
        ),
        (
            "find_records",
            "text=%20".into(),
            StatusCode::BAD_REQUEST,
            "key or a name",
        ),
        // Wrong types.
        (
            "get_sync_error",
            "id=abc".into(),
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            "list_sync_errors",
            "limit=many".into(),
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            "set_up_coupling",
            "name=CUSTOMER&local_key=&integration_key=".into(),
            StatusCode::BAD_REQUEST,
            "1 to 200",
        ),
    ];
    for (function, form, status, says) in &cases {
        let response = app.call_as(Some(&operator), function, form).await;
        assert_eq!(
            response.status,
            *status,
            "{function} {}: {}",
            &form[..form.len().min(60)],
            response.body
        );
        assert!(
            response.body.contains(says),
            "{function}: {}",
            response.body
        );
        assert!(
            !response.body.contains("went wrong"),
            "never a 500: {}",
            response.body
        );
    }
    // Admin-only inputs, by an admin.
    for (function, form, says) in [
        (
            "add_user",
            "name=bad name&role=viewer&password=long+enough",
            "a user name is 1 to 64",
        ),
        (
            "add_user",
            "name=ok&role=owner&password=long+enough",
            "is not a role",
        ),
        (
            "add_user",
            "name=ok&role=viewer&password=short",
            "8 to 1024",
        ),
        (
            "set_user_role",
            "name=nobody&role=viewer",
            "no user is named nobody",
        ),
        (
            "set_mapping_settings",
            "name=CUSTOMER&update_conflict=sometimes&deletion_conflict=none&interval=5m",
            "sometimes",
        ),
        (
            "set_mapping_settings",
            "name=CUSTOMER&update_conflict=none&deletion_conflict=none&interval=soon",
            "interval",
        ),
    ] {
        let response = app.call(function, form).await;
        assert!(
            response.status.is_client_error(),
            "{function}: {}",
            response.status
        );
        assert!(
            response.body.contains(says),
            "{function}: {}",
            response.body
        );
    }
    // An oversized body, declared or not.
    let huge = format!("search={}", "y".repeat(server::guard::MAX_BODY + 1));
    let oversized = app
        .call_as(Some(&operator), "list_sync_errors", &huge)
        .await;
    assert_eq!(oversized.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(oversized.body, "a request body may be at most 256 KiB\n");
    let chunked = app
        .send(
            Request::post("/api/list_sync_errors")
                .header(header::COOKIE, &operator)
                .body(Body::from_stream(futures_util::stream::iter(vec![Ok::<
                    _,
                    std::io::Error,
                >(
                    huge.clone().into_bytes(),
                )])))
                .unwrap(),
        )
        .await;
    assert_eq!(chunked.status, StatusCode::PAYLOAD_TOO_LARGE);

    let after = app
        .engine
        .audit(&AuditFilter::default(), 1000)
        .await
        .unwrap();
    let changed: Vec<_> = after
        .iter()
        .filter(|e| !before.contains(e) && e.action != "sign_in")
        .collect();
    assert!(changed.is_empty(), "nothing was done: {changed:?}");
    assert_eq!(app.engine.users().await.unwrap().len(), 2);
}

async fn every_answer_carries_the_security_headers(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    for response in [
        app.get("/errors").await,
        app.get_as(None, "/login").await,
        app.call("list_mappings", "").await,
        app.get_as(None, "/health").await,
        app.get("/no/such/page").await,
    ] {
        assert_eq!(response.headers["x-content-type-options"], "nosniff");
        assert_eq!(response.headers["x-frame-options"], "DENY");
        let policy = response.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert_eq!(
            response.headers[header::CACHE_CONTROL],
            "no-store",
            "nobody's view is kept by a browser or a proxy"
        );
    }
    let page = app.get("/errors").await;
    let policy = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        policy.contains("'wasm-unsafe-eval'"),
        "the WebAssembly may run: {policy}"
    );
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce");
    assert!(nonce.len() >= 16, "{nonce}");
    assert!(
        page.body.contains(&format!(r#"nonce="{nonce}""#)),
        "the hydration script carries the page's nonce"
    );
    let again = app.get("/errors").await;
    assert!(
        !again.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains(nonce),
        "a fresh nonce per page"
    );
}

async fn a_page_shows_only_the_error_of_this_browsers_own_form_post(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    // A form posted without JavaScript is answered with a redirect carrying its error.
    let posted = app
        .post_form(
            "act_on_sync_errors",
            "action=explode&refs[]=1:1&view=v",
            "http://localhost/errors?kind=failed",
        )
        .await;
    assert!(posted.status.is_redirection(), "{}", posted.status);
    let location = posted.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(location.contains("__err="), "{location}");
    let remembered = posted.headers[header::SET_COOKIE].to_str().unwrap();
    let form_cookie = remembered.split(';').next().unwrap().to_string();
    assert!(
        form_cookie.starts_with("coupler_form_error="),
        "{remembered}"
    );
    let own = app
        .get_as(Some(&format!("{}; {form_cookie}", app.admin)), &location)
        .await;
    assert_eq!(own.status, StatusCode::OK);
    assert!(
        own.body.contains("is not an action on sync errors"),
        "the browser that posted sees its error"
    );

    // The same error in a link someone sent is not shown: the page comes without it.
    let foreign = app.get(&location).await;
    assert!(foreign.status.is_redirection(), "{}", foreign.status);
    assert_eq!(foreign.headers[header::LOCATION], "/errors?kind=failed");
    let made_up = "/errors?__path=%2Fapi%2Fact_on_sync_errors&__err=eyJEZW5pZWQiOiJZb3VyIHBhc3N3b3JkIGhhcyBleHBpcmVkIn0%3D";
    let injected = app.get(made_up).await;
    assert!(injected.status.is_redirection(), "{}", injected.status);
    assert_eq!(injected.headers[header::LOCATION], "/errors");
    // A form that succeeds goes back to its page's own address, not one with an empty
    // query.
    let fine = app
        .post_form(
            "set_mapping_paused",
            "name=CUSTOMER&paused=false",
            "http://localhost/records/CUSTOMER/local/C000001",
        )
        .await;
    assert!(fine.status.is_redirection(), "{}", fine.status);
    assert_eq!(
        fine.headers[header::LOCATION],
        "http://localhost/records/CUSTOMER/local/C000001"
    );
}

async fn metrics_answer_admins_and_this_machine_only(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    let viewer = app.account("val", Role::Viewer).await;
    let from = |address: &str, cookie: Option<&str>| {
        let mut request = Request::get("/metrics");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let mut request = request.body(Body::empty()).unwrap();
        request.extensions_mut().insert(ConnectInfo(
            address.parse::<std::net::SocketAddr>().unwrap(),
        ));
        request
    };
    let remote = app.send(from("192.0.2.7:5000", None)).await;
    assert_eq!(remote.status, StatusCode::FORBIDDEN);
    let remote_viewer = app.send(from("192.0.2.7:5000", Some(&viewer))).await;
    assert_eq!(remote_viewer.status, StatusCode::FORBIDDEN);
    let remote_admin = app.send(from("192.0.2.7:5000", Some(&app.admin))).await;
    assert_eq!(remote_admin.status, StatusCode::OK);
    let local = app.send(from("127.0.0.1:5000", None)).await;
    assert_eq!(local.status, StatusCode::OK);
    assert!(
        local.body.contains("# TYPE coupler_open_sync_errors gauge"),
        "{}",
        local.body
    );
    assert!(
        local
            .body
            .contains(r#"coupler_couplings{mapping="CUSTOMER"} 0"#),
        "{}",
        local.body
    );
}

async fn actions_are_audited_with_who_and_the_audit_is_filterable(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    let operator = app.account("opal", Role::Operator).await;
    let run = app
        .call_as(
            Some(&operator),
            "run_mapping",
            "name=CONTACT&job=find_deleted",
        )
        .await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.body);
    let paused = app
        .call("set_mapping_paused", "name=ITEM-PRODUCT&paused=true")
        .await;
    assert_eq!(paused.status, StatusCode::OK);
    let acted = app
        .call_as(
            Some(&operator),
            "act_on_sync_errors",
            "action=retry_all&view=v1",
        )
        .await;
    assert_eq!(acted.status, StatusCode::OK, "{}", acted.body);

    let by_opal = app.call("list_audit", "actor=opal").await.json();
    let actions: Vec<&str> = by_opal["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["retry", "find_for_deleted", "sign_in"],
        "newest first"
    );
    let retry = &by_opal["entries"][0];
    assert!(
        retry["outcome"]
            .as_str()
            .unwrap()
            .starts_with("retry: 0 done"),
        "{retry}"
    );
    let pause = app.call("list_audit", "action=pause").await.json();
    assert_eq!(pause["entries"][0]["actor"], "admin");
    assert_eq!(pause["entries"][0]["selection"], "ITEM-PRODUCT");
    let text = app.call("list_audit", "search=item-prod").await.json();
    assert_eq!(text["entries"].as_array().unwrap().len(), 1, "{text}");
    let page = app.get("/audit?actor=opal").await;
    assert!(page.body.contains("find_for_deleted"), "{}", page.body);
}

async fn admins_manage_users_and_the_last_admin_stays(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    let added = app
        .call(
            "add_user",
            "name=nia&role=operator&password=long+enough+too",
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let taken = app
        .call("add_user", "name=nia&role=viewer&password=long+enough+too")
        .await;
    assert_eq!(
        taken.json()["Invalid"]["message"],
        "a user named nia exists"
    );
    let listed = app.call("list_users", "").await.json();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "nia"]);
    let (token, signed_in) = app
        .engine
        .sign_in("nia", "long enough too", "test")
        .await
        .unwrap();
    assert_eq!(signed_in.role, Role::Operator);
    let nia = format!("coupler_session={token}");

    let demote = app.call("set_user_role", "name=admin&role=viewer").await;
    assert_eq!(demote.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        demote.json()["Invalid"]["message"],
        "admin is the only admin: make another user admin first"
    );
    let remove_self = app.call("remove_user", "name=admin").await;
    assert_eq!(remove_self.status, StatusCode::BAD_REQUEST);

    // A role change applies to open sessions at once.
    assert_eq!(
        app.call("set_user_role", "name=nia&role=viewer")
            .await
            .status,
        StatusCode::OK
    );
    let refused = app
        .call_as(Some(&nia), "run_mapping", "name=CUSTOMER&job=synchronize")
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.call("remove_user", "name=nia").await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.call_as(Some(&nia), "list_jobs", "").await.status,
        StatusCode::UNAUTHORIZED
    );
    let page = app.get("/users").await;
    assert!(
        page.body.contains(r#"aria-label="Remove admin""#),
        "{}",
        page.body
    );
}

//! The real router over a real store, on SQLite and on PostgreSQL: `/health`, pages
//! rendered on the server, and the server functions under `/api/`.

use crate::on_both_stores;
use crate::support::{StoreKind, TestApp, router_over};
use axum::http::{StatusCode, header};

on_both_stores!(
    health_answers_once_the_store_does,
    the_overview_is_rendered_on_the_server,
    list_mappings_answers_the_configured_mappings_in_dependency_order,
    a_form_post_without_javascript_pauses_and_returns_to_the_page,
    an_unknown_mapping_is_not_found,
    an_unknown_page_is_not_found,
    the_errors_list_answers_pages_and_refuses_bad_filters,
    actions_on_errors_refuse_a_malformed_selection,
    a_hundred_selected_errors_are_retried_with_and_without_javascript,
    the_same_view_and_selection_from_two_accounts_are_two_actions,
    removing_one_coupling_needs_its_key,
    the_errors_export_neutralises_cells_a_spreadsheet_would_run,
    the_errors_export_is_csv_and_refuses_a_bad_filter,
    live_events_are_a_server_sent_event_stream,
    live_events_end_when_their_session_does,
    pages_answer_while_other_routers_are_built,
);

async fn health_answers_once_the_store_does(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    let response = app.get("/health").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body, "ok\n");
}

async fn the_overview_is_rendered_on_the_server(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    let response = app.get("/").await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(
        response.body.contains("<title>Overview · Coupler</title>"),
        "{}",
        response.body
    );
    for name in ["CUSTOMER", "CONTACT", "ITEM-PRODUCT"] {
        assert!(
            response
                .body
                .contains(&format!(r#"<a href="/mappings/{name}">{name}</a>"#)),
            "the overview links {name}"
        );
    }
    assert!(
        response.body.contains(r#"/pkg/coupler.js"#),
        "the page loads the console's WebAssembly"
    );
}

async fn list_mappings_answers_the_configured_mappings_in_dependency_order(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    let response = app.call("list_mappings", "").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let list = response.json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["CUSTOMER", "ITEM-PRODUCT", "CONTACT"]);
    let customer = &list[0];
    assert_eq!(customer["local"]["table"], "customer");
    assert_eq!(customer["integration"]["table"], "account");
    assert_eq!(customer["direction"], "bidirectional");
    assert_eq!(customer["paused"], false);
    assert_eq!(customer["fields"][0]["max_length"], 160);
}

async fn a_form_post_without_javascript_pauses_and_returns_to_the_page(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    let response = app
        .post_form(
            "set_mapping_paused",
            "name=CONTACT&paused=true",
            "/mappings",
        )
        .await;
    assert!(
        response.status.is_redirection(),
        "{} {}",
        response.status,
        response.body
    );
    assert_eq!(response.headers[header::LOCATION], "/mappings");

    let page = app.get("/mappings").await;
    assert!(
        page.body.contains(r#"aria-label="Resume CONTACT""#),
        "CONTACT shows Resume"
    );
    assert!(
        page.body.contains(r#"aria-label="Pause CUSTOMER""#),
        "CUSTOMER is untouched"
    );

    let contact = app.engine.mapping("CONTACT").await.unwrap();
    assert!(contact.paused, "the store holds the new state");
}

async fn an_unknown_mapping_is_not_found(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    let response = app
        .call("set_mapping_paused", "name=NOPE&paused=true")
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.json()["NotFound"], r#"no mapping is named "NOPE""#);

    let page = app.get("/mappings/NOPE").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("Mapping not found"));
}

async fn an_unknown_page_is_not_found(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert!(response.body.contains("No page has this address"));
}

async fn the_errors_list_answers_pages_and_refuses_bad_filters(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    let response = app.call("list_sync_errors", "limit=2").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let list = response.json();
    assert_eq!(list["total"], 0);
    assert_eq!(list["errors"], serde_json::json!([]));
    assert_eq!(list["next"], serde_json::Value::Null);
    assert_eq!(
        list["mappings"],
        serde_json::json!(["CUSTOMER", "ITEM-PRODUCT", "CONTACT"])
    );
    for (form, field, says) in [
        ("kind=broken", "kind", "is not a kind"),
        ("after=yesterday", "after", "is not a page position"),
        ("since=yesterday", "since", "is not a date"),
        ("job=seven", "job", "is not a job's id"),
    ] {
        let response = app.call("list_sync_errors", form).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{form}");
        assert_eq!(response.json()["Invalid"]["field"], field, "{form}");
        let message = response.json()["Invalid"]["message"].to_string();
        assert!(message.contains(says), "{form}: {message}");
    }
    let response = app.call("list_sync_errors", "mapping=NOPE").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
}

async fn actions_on_errors_refuse_a_malformed_selection(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    for (form, field) in [
        ("action=retry&view=v", "refs"),
        ("action=retry&refs[]=seven&view=v", "refs"),
        ("row=retry&view=v", "row"),
        ("action=explode&refs[]=1:1&view=v", "action"),
        (
            "action=merge&refs[]=1:1&fields[0]=city:nowhere&view=v",
            "fields",
        ),
    ] {
        let response = app.call("act_on_sync_errors", form).await;
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{form}: {}",
            response.body
        );
        assert_eq!(response.json()["Invalid"]["field"], field, "{form}");
    }
    // A well-formed action on an error that does not exist is refused for that record.
    let response = app
        .call("act_on_sync_errors", "action=retry&refs[]=424242:1&view=v")
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.json()["outcomes"][0]["outcome"], "refused");
}

/// A demo whose first `failing` customers fail to synchronize twice over (a name longer
/// than the CRM takes), so each is an open, skipped `failed` error.
async fn with_failures(kind: StoreKind, customers: u64, failing: u64) -> TestApp {
    use sqlx::Executor;
    let app = TestApp::spawn_with(kind, customers).await;
    sqlx::any::install_default_drivers();
    let erp = sqlx::AnyPool::connect(&format!("sqlite://{}", app.dir.join("erp.db").display()))
        .await
        .unwrap();
    erp.execute(
        format!(
            "update customer set name = no || ' {}' where no <= 'C{failing:06}'",
            "x".repeat(200)
        )
        .as_str(),
    )
    .await
    .unwrap();
    for _ in 0..2 {
        app.engine
            .synchronize(Some("CUSTOMER"), false, "test")
            .await
            .unwrap();
    }
    app
}

/// The errors of a list answer as a form's selection, and the list's view.
fn selection(list: &serde_json::Value) -> (String, String) {
    let refs = list["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("refs[]={}:{}", e["id"], e["version"]))
        .collect::<Vec<_>>()
        .join("&");
    (refs, list["view"].as_str().unwrap().to_string())
}

async fn a_hundred_selected_errors_are_retried_with_and_without_javascript(kind: StoreKind) {
    let app = with_failures(kind, 130, 130).await;
    let list = app
        .call("list_sync_errors", "kind=failed&limit=100")
        .await
        .json();
    assert!(list["total"].as_i64().unwrap() > 100, "{}", list["total"]);
    assert_eq!(list["errors"].as_array().unwrap().len(), 100);
    let (refs, view) = selection(&list);
    let response = app
        .call(
            "act_on_sync_errors",
            &format!("action=retry&{refs}&view={view}"),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let answer = response.json();
    let outcomes = answer["outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 100, "one outcome per selected error");
    for outcome in outcomes {
        // Still too long: each fails again, and says why.
        assert_eq!(outcome["outcome"], "failed", "{outcome}");
        assert!(
            outcome["message"]
                .as_str()
                .unwrap()
                .contains("takes at most 160"),
            "{outcome}"
        );
    }

    // The same page as a browser without JavaScript posts it, from a new view.
    let list = app
        .call("list_sync_errors", "kind=failed&limit=100")
        .await
        .json();
    let (refs, view) = selection(&list);
    let response = app
        .post_form(
            "act_on_sync_errors",
            &format!("action=retry&{refs}&view={view}"),
            "/errors?kind=failed&limit=100",
        )
        .await;
    assert!(
        response.status.is_redirection(),
        "{} {}",
        response.status,
        response.body
    );
    assert_eq!(
        response.headers[header::LOCATION],
        "/errors?kind=failed&limit=100",
        "back to the page, with no error"
    );
    let audit = app.call("list_audit", "action=retry").await.json();
    let outcomes: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes.len(), 2, "two actions: {audit}");
    for outcome in outcomes {
        assert!(outcome.starts_with("retry: 0 done"), "{outcome}");
        assert!(outcome.contains("100 failed"), "{outcome}");
    }
}

async fn the_same_view_and_selection_from_two_accounts_are_two_actions(kind: StoreKind) {
    let app = with_failures(kind, 10, 1).await;
    let operator = app.account("opal", engine::model::Role::Operator).await;
    let list = app.call("list_sync_errors", "kind=failed").await.json();
    let (refs, view) = selection(&list);
    let form = format!("action=retry&{refs}&view={view}");
    let first = app.call("act_on_sync_errors", &form).await.json();
    assert_eq!(first["outcomes"][0]["outcome"], "failed", "{first}");
    let second = app
        .call_as(Some(&operator), "act_on_sync_errors", &form)
        .await
        .json();
    assert_ne!(first["action_id"], second["action_id"], "{second}");
    let message = second["outcomes"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("already handled by"),
        "opal's own answer: the error moved on since the view was read: {second}"
    );
    let audit = app
        .call("list_audit", "actor=opal&action=retry")
        .await
        .json();
    assert_eq!(
        audit["entries"].as_array().unwrap().len(),
        1,
        "opal's action is audited as opal's: {audit}"
    );
}

async fn the_errors_export_neutralises_cells_a_spreadsheet_would_run(kind: StoreKind) {
    use sqlx::Executor;
    let app = TestApp::spawn_with(kind, 10).await;
    sqlx::any::install_default_drivers();
    let erp = sqlx::AnyPool::connect(&format!("sqlite://{}", app.dir.join("erp.db").display()))
        .await
        .unwrap();
    let formula = r#"=HYPERLINK("http://evil.example","Click")"#;
    erp.execute(
        format!(
            "update customer set name = '{formula} {}' where no = 'C000001'",
            "x".repeat(200)
        )
        .as_str(),
    )
    .await
    .unwrap();
    app.engine
        .synchronize(Some("CUSTOMER"), false, "test")
        .await
        .unwrap();
    let csv = app.get("/api/export_sync_errors.csv?search=C000001").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.contains("'=HYPERLINK"), "{}", csv.body);
    assert!(!csv.body.contains(",=HYPERLINK"), "{}", csv.body);
    assert!(!csv.body.contains(",\"=HYPERLINK"), "{}", csv.body);
}

async fn removing_one_coupling_needs_its_key(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    app.engine
        .synchronize(Some("CUSTOMER"), false, "test")
        .await
        .unwrap();
    let before = app.engine.coupling_count("CUSTOMER").await.unwrap();
    assert!(before > 0);
    let operator = app.account("opal", engine::model::Role::Operator).await;
    let response = app
        .call_as(
            Some(&operator),
            "remove_one_coupling",
            "name=CUSTOMER&local_key=",
        )
        .await;
    assert_eq!(
        response.status,
        StatusCode::BAD_REQUEST,
        "{}",
        response.body
    );
    assert_eq!(response.json()["Invalid"]["field"], "local_key");
    assert_eq!(
        app.engine.coupling_count("CUSTOMER").await.unwrap(),
        before,
        "every coupling stays"
    );
}

async fn the_errors_export_is_csv_and_refuses_a_bad_filter(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    let response = app.get("/api/export_sync_errors.csv").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.headers[header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    assert!(response.body.starts_with("id,mapping,kind,local_key,"));
    assert_eq!(
        response.body.lines().count(),
        1,
        "no errors yet: {}",
        response.body
    );
    let response = app.get("/api/export_sync_errors.csv?kind=broken").await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert!(response.body.contains("is not a kind"));
    let response = app.get("/api/export_sync_errors.csv?search=a%00b").await;
    assert_eq!(
        response.status,
        StatusCode::BAD_REQUEST,
        "{}",
        response.body
    );
    assert!(response.body.contains("no control characters"));
    let response = app.get("/api/export_sync_errors.csv?mapping=NOPE").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
}

async fn live_events_are_a_server_sent_event_stream(kind: StoreKind) {
    use tower::ServiceExt;
    let app = TestApp::spawn(kind).await;
    let anonymous = app.get_as(None, "/api/events").await;
    assert_eq!(
        anonymous.status,
        StatusCode::UNAUTHORIZED,
        "events are for the signed-in"
    );
    let request = axum::http::Request::get("/api/events")
        .header(header::COOKIE, &app.admin)
        .body(axum::body::Body::empty())
        .unwrap();
    // The stream never ends: look at the head only.
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
}

async fn live_events_end_when_their_session_does(kind: StoreKind) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let app = TestApp::spawn(kind).await;
    let cookie = app.session_of("admin").await;
    let request = axum::http::Request::get("/api/events")
        .header(header::COOKIE, &cookie)
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let signed_out = app.call_as(Some(&cookie), "sign_out", "").await;
    assert!(signed_out.status.is_success() || signed_out.status.is_redirection());
    let mut body = response.into_body();
    let ended = tokio::time::timeout(std::time::Duration::from_secs(15), async {
        while let Some(frame) = body.frame().await {
            frame.unwrap();
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream ends once its session has");
}

/// Building a router lists the console's routes by rendering the app with resource
/// loading suppressed for the whole process; a page whose resource was first polled
/// meanwhile never answered. Several routers in one process (tests, the benchmark) must
/// not stop each other's pages.
async fn pages_answer_while_other_routers_are_built(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    let (engine, dir) = (app.engine.clone(), app.dir.clone());
    let building = tokio::task::spawn_blocking(move || {
        for _ in 0..40 {
            drop(router_over(&engine, &dir));
        }
    });
    let pages = ["/", "/mappings/CUSTOMER", "/errors", "/jobs"];
    for path in pages.iter().cycle().take(40) {
        let response = app.get(path).await;
        assert_eq!(response.status, StatusCode::OK, "{path}: {}", response.body);
    }
    building.await.expect("the routers are built");
}

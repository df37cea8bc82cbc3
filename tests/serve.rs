//! The real router over a real store, on SQLite and on PostgreSQL: `/health`, pages
//! rendered on the server, and the server functions under `/api/`.

mod support;

use axum::http::{StatusCode, header};
use support::{StoreKind, TestApp};

on_both_stores!(
    health_answers_once_the_store_does,
    the_overview_is_rendered_on_the_server,
    list_mappings_answers_the_configured_mappings_in_dependency_order,
    a_form_post_without_javascript_pauses_and_returns_to_the_page,
    an_unknown_mapping_is_not_found,
    an_unknown_page_is_not_found,
    the_errors_list_answers_pages_and_refuses_bad_filters,
    actions_on_errors_refuse_a_malformed_selection,
    the_errors_export_is_csv_and_refuses_a_bad_filter,
    live_events_are_a_server_sent_event_stream,
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

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

//! polish10: defects of the agent workspace (issue 10) a person would notice: the active
//! saved view is named, times are `<time datetime>` elements the browser localises, the bell
//! pages its notifications on a cursor.

mod common;

use common::session::Browser;
use common::*;
use serde_json::json;

/// A saved view named "Hot leads" of the signed-in administrator; returns its id.
async fn hot_leads(app: &TestApp) -> i64 {
    let query = json!({"payload": [{"attribute_key": "status", "filter_operator": "equal_to", "values": ["open"], "query_operator": null}]});
    let (status, created) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{}/custom_filters", app.account_id),
            Some(json!({"custom_filter": {"name": "Hot leads", "type": "conversation", "query": query}})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{created}");
    created["id"].as_i64().unwrap()
}

#[actix_rt::test]
async fn the_active_saved_view_is_named_in_the_list_and_the_phone_marker() {
    let app = TestApp::start();
    app.create_inbox_direct();
    let id = hot_leads(&app).await;
    let acc = app.account_id;
    let mut ana = Browser::new(&app);
    ana.sign_in("ana@example.com", "correct horse").await;

    let (status, page, _) = ana
        .get(&format!(
            "/app/accounts/{acc}/conversations?assignee_type=all&view={id}"
        ))
        .await;
    assert_eq!(status, 200, "{page}");
    let summary = &page[page.find("data-view-summary").expect("a view summary")..];
    let summary = &summary[..summary.find("</p>").unwrap()];
    assert!(
        summary.contains(r#"View: <strong dir="auto">Hot leads</strong>"#),
        "{summary}"
    );
    let phone = &page[page.find("<summary>").unwrap()..];
    let phone = &phone[..phone.find("</summary>").unwrap()];
    assert!(phone.contains("View: Hot leads"), "{phone}");

    // Without a view: the generic summary, and no view line.
    let (_, page, _) = ana
        .get(&format!("/app/accounts/{acc}/conversations"))
        .await;
    assert!(!page.contains("data-view-summary"));
    assert!(page.contains("<summary>Filters: "), "phone marker");
}

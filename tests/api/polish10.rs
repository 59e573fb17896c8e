//! polish10: defects of the agent workspace (issue 10) a person would notice: the active
//! saved view is named, times are `<time datetime>` elements the browser localises, the bell
//! pages its notifications on a cursor.

use crate::common::session::Browser;
use crate::common::*;
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
    let (_, page, _) = ana.get(&format!("/app/accounts/{acc}/conversations")).await;
    assert!(!page.contains("data-view-summary"));
    assert!(page.contains("<summary>Filters: "), "phone marker");
}

/// A conversation (the customer of `text.json` wrote); returns (conversation id, contact id).
async fn conversation(app: &TestApp) -> (i64, i64) {
    app.create_inbox_direct();
    app.deliver_bytes(&with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    let row = app.query_json("SELECT jsonb_build_array(id, contact_id) FROM conversations");
    (row[0].as_i64().unwrap(), row[1].as_i64().unwrap())
}

fn add_notifications(app: &TestApp, conversation_id: i64, n: i64) {
    use diesel::RunQueryDsl;
    diesel::sql_query(format!(
        "INSERT INTO notifications (account_id, user_id, notification_type, primary_actor_type, \
                                    primary_actor_id, created_at, updated_at) \
         SELECT {acc}, {user}, 'conversation_assignment', 'Conversation', {conversation_id}, \
                now(), now() FROM generate_series(1, {n})",
        acc = app.account_id,
        user = app.admin_id,
    ))
    .execute(&mut app.conn())
    .unwrap();
}

fn ids(page: &serde_json::Value) -> Vec<i64> {
    page["data"]["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_i64().unwrap())
        .collect()
}

#[actix_rt::test]
async fn the_bell_pages_on_a_cursor_and_chatwoots_page_still_works() {
    let app = TestApp::start();
    let (conversation_id, _) = conversation(&app).await;
    add_notifications(&app, conversation_id, 20);
    let base = format!("/api/v1/accounts/{}/notifications", app.account_id);

    let first = app.get(&base).await;
    let first_ids = ids(&first);
    assert_eq!(first_ids.len(), 15);
    let next = first["data"]["meta"]["next_before"].as_i64().expect("more");
    assert_eq!(next, *first_ids.last().unwrap());

    // A notification arriving meanwhile shifts `page=2` but not the cursor.
    add_notifications(&app, conversation_id, 1);
    let second = app.get(&format!("{base}?before={next}")).await;
    let second_ids = ids(&second);
    assert_eq!(second_ids.len(), 5, "{second}");
    assert!(second_ids.iter().all(|id| *id < next));
    assert_eq!(
        second["data"]["meta"]["next_before"],
        serde_json::Value::Null
    );
    let mut all: Vec<i64> = first_ids.iter().chain(&second_ids).copied().collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 20, "nothing repeated or skipped");

    // Chatwoot's `page` keeps working.
    let page2 = app.get(&format!("{base}?page=2")).await;
    assert_eq!(page2["data"]["meta"]["current_page"], 2);
    assert_eq!(ids(&page2).len(), 6);

    // Bad cursors: 422 naming `before`.
    for bad in ["abc", "0", "-4", "99999999999999999999999"] {
        let (status, body) = app
            .api("GET", &format!("{base}?before={bad}"), None, &app.token)
            .await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(body["field"], "before", "{body}");
    }
    // Another user's cursor shows them nothing of ours.
    let (_, agent_token) = app.create_agent("ben@example.com");
    let (status, theirs) = app
        .api("GET", &format!("{base}?before={next}"), None, &agent_token)
        .await;
    assert_eq!(status, 200);
    assert_eq!(ids(&theirs), Vec::<i64>::new());
}

#[actix_rt::test]
async fn a_contact_note_is_announced_to_open_panels() {
    let app = TestApp::start();
    let (_, contact_id) = conversation(&app).await;
    let (status, note) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/contacts/{contact_id}/notes",
                app.account_id
            ),
            Some(json!({"content": "Prefers calls after 5pm"})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{note}");
    let event = app.query_json(
        "SELECT to_jsonb(e) FROM realtime_events e WHERE name = 'contact_note.changed'",
    );
    assert_eq!(event["payload"]["contact_id"], contact_id, "{event}");
    assert_eq!(event["payload"]["note_id"], note["id"], "{event}");
    assert_eq!(event["payload"]["action"], "created", "{event}");
    assert_eq!(event["inbox_id"], serde_json::Value::Null);
    // Ids only: the note's text is read through the API, which checks who may see it.
    assert!(!event.to_string().contains("5pm"), "{event}");
}

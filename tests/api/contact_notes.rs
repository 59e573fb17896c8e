//! Contact notes over `/api/v1/accounts/{id}/contacts/{contact_id}/notes` (Chatwoot's
//! shape): create, list newest first, update, delete, 422 naming `content`, 404 across
//! accounts and for agents who cannot see the contact, and the notes in the contact panel.

use crate::common::session::Browser;
use crate::common::*;
use serde_json::json;
use switchboard::domain::accounts;

#[actix_rt::test]
async fn notes_in_chatwoots_shape_newest_first_and_in_the_contact_panel() {
    let app = TestApp::start();
    let acc = app.account_id;
    let inbox = app.create_inbox(json!({})).await;
    app.deliver("text.json").await;
    let contact_id = app.contacts()[0]["id"].as_i64().unwrap();
    let base = format!("/api/v1/accounts/{acc}/contacts/{contact_id}/notes");

    let (status, list) = app.api("GET", &base, None, &app.token).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list, json!([]), "a bare array, as Chatwoot answers");

    let (status, first) = app
        .api(
            "POST",
            &base,
            Some(json!({"content": "  Prefers <b>Arabic</b>, VIP  "})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{first}");
    let mut keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "account_id",
            "contact_id",
            "content",
            "created_at",
            "id",
            "updated_at",
            "user"
        ]
    );
    assert_eq!(first["content"], "Prefers <b>Arabic</b>, VIP", "trimmed");
    assert_eq!(first["account_id"], acc);
    assert_eq!(first["contact_id"], contact_id);
    assert_eq!(first["user"]["id"], app.admin_id);
    assert_eq!(first["user"]["name"], "Ana Admin");
    assert!(first["created_at"].is_i64(), "Unix seconds, as Chatwoot");

    // Rails' wrapped form works too.
    let (status, second) = app
        .api(
            "POST",
            &base,
            Some(json!({"note": {"content": "Called back on Tuesday"}})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{second}");
    let (_, list) = app.api("GET", &base, None, &app.token).await;
    let contents: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        contents,
        ["Called back on Tuesday", "Prefers <b>Arabic</b>, VIP"],
        "newest first"
    );

    // 422 naming the field.
    for bad in [
        json!({"content": "   "}),
        json!({}),
        json!({"content": 5}),
        json!({"content": "x".repeat(10_001)}),
    ] {
        let (status, err) = app.api("POST", &base, Some(bad.clone()), &app.token).await;
        assert_eq!(status, 422, "{bad} → {err}");
        assert_eq!(err["field"], "content", "{err}");
    }

    // Update and delete.
    let id = first["id"].as_i64().unwrap();
    let (status, changed) = app
        .api(
            "PATCH",
            &format!("{base}/{id}"),
            Some(json!({"content": "Prefers Arabic"})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["content"], "Prefers Arabic");
    let (status, err) = app
        .api(
            "PATCH",
            &format!("{base}/{id}"),
            Some(json!({"content": ""})),
            &app.token,
        )
        .await;
    assert_eq!((status, err["field"].clone()), (422, json!("content")));

    // The contact panel of the contact's conversation shows the notes, escaped.
    let display_id = app
        .query_json("SELECT to_jsonb(min(display_id)) FROM conversations")
        .as_i64()
        .unwrap();
    let mut ana = Browser::new(&app);
    ana.sign_in("ana@example.com", "correct horse").await;
    let (status, html, _) = ana
        .get(&format!("/app/accounts/{acc}/conversations/{display_id}"))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("Contact notes"), "{html}");
    assert!(html.contains("Called back on Tuesday"));
    assert!(html.contains("Prefers Arabic"));
    assert!(html.contains(&format!("data-contact-id=\"{contact_id}\"")));
    assert!(html.contains("/static/contact_notes.js"));

    let (status, _) = app
        .api("DELETE", &format!("{base}/{id}"), None, &app.token)
        .await;
    assert_eq!(status, 200);
    let (_, list) = app.api("GET", &base, None, &app.token).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (status, _) = app
        .api("DELETE", &format!("{base}/{id}"), None, &app.token)
        .await;
    assert_eq!(status, 404, "already gone");

    // An agent outside the contact's inbox does not see the contact: 404, never 403.
    let (ben_id, ben_token) = app.create_agent("ben@example.com");
    let (status, _) = app.api("GET", &base, None, &ben_token).await;
    assert_eq!(status, 404);
    let (status, _) = app
        .api("POST", &base, Some(json!({"content": "hi"})), &ben_token)
        .await;
    assert_eq!(status, 404);
    // Once a member of the inbox, the agent reads and writes.
    let inbox_id = inbox["id"].as_i64().unwrap();
    switchboard::domain::inboxes::add_member(&mut app.conn(), inbox_id, ben_id).unwrap();
    let (status, by_ben) = app
        .api("POST", &base, Some(json!({"content": "hi"})), &ben_token)
        .await;
    assert_eq!(status, 200, "{by_ben}");
    assert_eq!(by_ben["user"]["id"], ben_id);

    // Another account: its token and its ids never reach ours.
    let other = accounts::create_admin(
        &mut app.conn(),
        "Else",
        "Eve",
        "eve@example.com",
        "password1",
    )
    .unwrap();
    let theirs = format!(
        "/api/v1/accounts/{}/contacts/{contact_id}/notes",
        other.account_id
    );
    let (status, _) = app.api("GET", &theirs, None, &other.api_access_token).await;
    assert_eq!(status, 404);
    let (status, _) = app
        .api(
            "POST",
            &theirs,
            Some(json!({"content": "x"})),
            &other.api_access_token,
        )
        .await;
    assert_eq!(status, 404);
    let second_id = second["id"].as_i64().unwrap();
    let (status, _) = app
        .api(
            "PATCH",
            &format!("{theirs}/{second_id}"),
            Some(json!({"content": "x"})),
            &other.api_access_token,
        )
        .await;
    assert_eq!(status, 404);
    // A note id that exists but belongs to another contact is a 404 too.
    let (status, _) = app
        .api(
            "DELETE",
            &format!(
                "/api/v1/accounts/{acc}/contacts/{}/notes/{second_id}",
                contact_id + 1000
            ),
            None,
            &app.token,
        )
        .await;
    assert_eq!(status, 404);
}

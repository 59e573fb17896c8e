//! Authorization rules and the Inbox API (create, validate, list, show, update).

use crate::common::*;
use serde_json::{json, Value};

#[actix_rt::test]
async fn tokens_and_membership_gate_the_api() {
    let app = TestApp::start();
    let inbox = app.create_inbox(json!({})).await;
    app.deliver("text.json").await;
    let acc = app.account_id;
    let conv = format!("/api/v1/accounts/{acc}/conversations/1");

    assert_eq!(app.api("GET", &conv, None, "").await.0, 401);
    let (status, err) = app.api("GET", &conv, None, "not-a-real-token").await;
    assert_eq!(status, 401);
    assert_eq!(err["error"], "invalid api_access_token");

    // An agent who is not a member of the inbox sees nothing of it.
    let (agent_id, agent) = app.create_agent("ben@example.com");
    assert_eq!(app.api("GET", &conv, None, &agent).await.0, 404);
    assert_eq!(
        app.api("GET", &format!("{conv}/messages"), None, &agent)
            .await
            .0,
        404
    );
    let (_, list) = app
        .api(
            "GET",
            &format!("/api/v1/accounts/{acc}/conversations"),
            None,
            &agent,
        )
        .await;
    assert_eq!(list["data"]["meta"]["all_count"], 0);
    let (_, inboxes) = app
        .api(
            "GET",
            &format!("/api/v1/accounts/{acc}/inboxes"),
            None,
            &agent,
        )
        .await;
    assert_eq!(inboxes["payload"], json!([]));
    assert_eq!(
        app.api(
            "GET",
            &format!("/api/v1/accounts/{acc}/inboxes/1"),
            None,
            &agent
        )
        .await
        .0,
        404
    );
    let (_, contacts) = app
        .api(
            "GET",
            &format!("/api/v1/accounts/{acc}/contacts"),
            None,
            &agent,
        )
        .await;
    assert_eq!(contacts["meta"]["count"], 0);

    // Once a member, the agent sees it; agents still cannot create or edit inboxes.
    switchboard::domain::inboxes::add_member(
        &mut app.conn(),
        inbox["id"].as_i64().unwrap(),
        agent_id,
    )
    .unwrap();
    assert_eq!(app.api("GET", &conv, None, &agent).await.0, 200);
    let (_, seen) = app
        .api(
            "GET",
            &format!("/api/v1/accounts/{acc}/inboxes/1"),
            None,
            &agent,
        )
        .await;
    assert_eq!(seen["phone_number"], PHONE);
    assert!(
        seen["provider_config"]
            .get("webhook_verify_token")
            .is_none(),
        "agents do not see the verify token"
    );
    let (_, contacts) = app
        .api(
            "GET",
            &format!("/api/v1/accounts/{acc}/contacts"),
            None,
            &agent,
        )
        .await;
    assert_eq!(contacts["meta"]["count"], 1);
    let (status, err) = app
        .api(
            "PATCH",
            &format!("/api/v1/accounts/{acc}/inboxes/1"),
            Some(json!({"name": "x"})),
            &agent,
        )
        .await;
    assert_eq!(status, 403, "{err}");

    // Another account's data answers 404, even to its own admin token elsewhere.
    let other = switchboard::domain::accounts::create_admin(
        &mut app.conn(),
        "Other Co",
        "Olga",
        "olga@example.com",
        "password123",
    )
    .unwrap();
    assert_eq!(
        app.api("GET", &conv, None, &other.api_access_token).await.0,
        404
    );
    assert_eq!(
        app.api(
            "GET",
            &format!("/api/v1/accounts/{acc}/inboxes"),
            None,
            &other.api_access_token
        )
        .await
        .0,
        404
    );
    let (_, own) = app
        .api(
            "GET",
            &format!("/api/v1/accounts/{}/conversations", other.account_id),
            None,
            &other.api_access_token,
        )
        .await;
    assert_eq!(own["data"]["meta"]["all_count"], 0);
    // Authorization: Bearer works like api_access_token.
    let svc = actix_web::test::init_service(
        actix_web::App::new().configure(switchboard::app::configure(app.state.clone())),
    )
    .await;
    let req = actix_web::test::TestRequest::get()
        .uri("/api/v1/profile")
        .insert_header(("Authorization", format!("Bearer {}", app.token)))
        .to_request();
    assert_eq!(
        actix_web::test::call_service(&svc, req)
            .await
            .status()
            .as_u16(),
        200
    );
}

#[actix_rt::test]
async fn create_inbox_returns_callback_details_and_hides_secrets() {
    let app = TestApp::start();
    let inbox = app
        .create_inbox(json!({"app_secret": "super-secret-app-secret"}))
        .await;
    assert_eq!(
        inbox["webhook_url"],
        "https://support.example.com/webhooks/whatsapp/+15551234567"
    );
    assert_eq!(inbox["channel_type"], "Channel::Whatsapp");
    assert_eq!(inbox["phone_number"], PHONE);
    assert_eq!(inbox["provider"], "whatsapp_cloud");
    let cfg = &inbox["provider_config"];
    assert_eq!(cfg["phone_number_id"], PHONE_NUMBER_ID);
    assert_eq!(cfg["business_account_id"], WABA_ID);
    assert_eq!(cfg["api_key"], "••••1234");
    assert_eq!(cfg["app_secret"], "••••cret");
    let text = inbox.to_string();
    assert!(!text.contains("EAAG-test-access-token") && !text.contains("super-secret-app-secret"));
    // At rest the secrets are ciphertexts.
    let row = app.query_json("SELECT to_jsonb(c) FROM channel_whatsapp c");
    assert!(!row.to_string().contains("EAAG-test") && !row.to_string().contains("super-secret"));
    assert!(row["api_key_ciphertext"]
        .as_str()
        .unwrap()
        .starts_with("v1:"));

    let acc = app.account_id;
    let list = app.get(&format!("/api/v1/accounts/{acc}/inboxes")).await;
    assert_eq!(list["payload"].as_array().unwrap().len(), 1);
    let one = app
        .get(&format!("/api/v1/accounts/{acc}/inboxes/{}", inbox["id"]))
        .await;
    assert_eq!(
        one["provider_config"]["webhook_verify_token"],
        cfg["webhook_verify_token"]
    );
    assert_eq!(
        app.api(
            "GET",
            &format!("/api/v1/accounts/{acc}/inboxes/999"),
            None,
            &app.token.clone()
        )
        .await
        .0,
        404
    );
}

#[actix_rt::test]
async fn create_inbox_validation_names_the_field() {
    let app = TestApp::start();
    let acc = app.account_id;
    let token = app.token.clone();
    let good = json!({"name": "Support", "channel": {"type": "whatsapp", "phone_number": PHONE, "provider": "whatsapp_cloud",
        "provider_config": {"api_key": "EAAG-abc-123456", "phone_number_id": PHONE_NUMBER_ID, "business_account_id": WABA_ID}}});
    let with = |pointer: &str, value: Value| {
        let mut b = good.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        b.pointer_mut(parent).unwrap()[key] = value;
        b
    };
    let cases = [
        (
            with("/channel/phone_number", json!("15551234567")),
            "channel.phone_number",
        ),
        (
            with("/channel/phone_number", json!("+1555")),
            "channel.phone_number",
        ),
        (
            with("/channel/phone_number", json!("+1234567890123456")),
            "channel.phone_number",
        ),
        (
            with("/channel/phone_number", json!("+1555abc4567")),
            "channel.phone_number",
        ),
        (with("/name", json!("  ")), "name"),
        (
            with("/channel/provider_config/api_key", json!("")),
            "channel.provider_config.api_key",
        ),
        (
            with("/channel/provider_config/phone_number_id", json!("abc")),
            "channel.provider_config.phone_number_id",
        ),
        (
            with("/channel/provider_config/business_account_id", json!(null)),
            "channel.provider_config.business_account_id",
        ),
        (
            with("/channel/provider_config/source", json!("partner")),
            "channel.provider_config.source",
        ),
        (with("/channel/type", json!("telegram")), "channel.type"),
        (
            with("/channel/provider", json!("360dialog")),
            "channel.provider",
        ),
        (json!({"name": "No channel"}), "channel"),
    ];
    for (body, field) in cases {
        let (status, err) = app
            .api(
                "POST",
                &format!("/api/v1/accounts/{acc}/inboxes"),
                Some(body),
                &token,
            )
            .await;
        assert_eq!(status, 422, "{field}: {err}");
        assert_eq!(err["field"], field, "{err}");
        assert!(err["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    // Numeric ids given as JSON numbers are accepted.
    let numeric = with(
        "/channel/provider_config/phone_number_id",
        json!(106540352242922u64),
    );
    assert_eq!(
        app.api(
            "POST",
            &format!("/api/v1/accounts/{acc}/inboxes"),
            Some(numeric),
            &token
        )
        .await
        .0,
        200
    );
    // The number must be unique.
    let (status, err) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{acc}/inboxes"),
            Some(good.clone()),
            &token,
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(err["field"], "channel.phone_number");
    assert!(err["error"].as_str().unwrap().contains("already exists"));
    // Malformed JSON is a 400 with a message.
    let svc = actix_web::test::init_service(
        actix_web::App::new().configure(switchboard::app::configure(app.state.clone())),
    )
    .await;
    let req = actix_web::test::TestRequest::post()
        .uri(&format!("/api/v1/accounts/{acc}/inboxes"))
        .insert_header(("api_access_token", token.as_str()))
        .insert_header(("content-type", "application/json"))
        .set_payload("{\"name\": ")
        .to_request();
    let resp = actix_web::test::call_service(&svc, req).await;
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = actix_web::test::read_body_json(resp).await;
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("invalid JSON body"));
    // Oversize and non-JSON bodies get their own clear answers.
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let req = actix_web::test::TestRequest::post()
        .uri(&format!("/api/v1/accounts/{acc}/inboxes"))
        .insert_header(("api_access_token", token.as_str()))
        .insert_header(("content-type", "application/json"))
        .set_payload(huge)
        .to_request();
    assert_eq!(
        actix_web::test::call_service(&svc, req)
            .await
            .status()
            .as_u16(),
        413
    );
    let req = actix_web::test::TestRequest::post()
        .uri(&format!("/api/v1/accounts/{acc}/inboxes"))
        .insert_header(("api_access_token", token.as_str()))
        .insert_header(("content-type", "text/plain"))
        .set_payload("name=x")
        .to_request();
    let resp = actix_web::test::call_service(&svc, req).await;
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = actix_web::test::read_body_json(resp).await;
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("Content-Type: application/json"));
}

#[actix_rt::test]
async fn patch_inbox_updates_name_and_credentials() {
    let app = TestApp::start();
    let inbox = app.create_inbox(json!({})).await;
    let acc = app.account_id;
    let token = app.token.clone();
    let url = format!("/api/v1/accounts/{acc}/inboxes/{}", inbox["id"]);
    let (status, updated) = app
        .api("PATCH", &url, Some(json!({"name": "Sales", "channel": {"provider_config": {"api_key": "EAAG-new-token-9876", "app_secret": "new-app-secret"}}})), &token)
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["name"], "Sales");
    assert_eq!(updated["provider_config"]["api_key"], "••••9876");
    assert_eq!(updated["provider_config"]["app_secret"], "••••cret");
    assert_eq!(
        updated["provider_config"]["webhook_verify_token"],
        inbox["provider_config"]["webhook_verify_token"]
    );
    // The new secret is now enforced on the webhook.
    let body = webhook_fixture("text.json");
    assert_eq!(app.post_webhook(PHONE, &body, None).await.0, 401);
    assert_eq!(
        app.post_webhook(PHONE, &body, Some(sign("new-app-secret", &body)))
            .await
            .0,
        200
    );
    // Echoing the masked value back changes nothing; a bad number is refused.
    let (status, _) = app
        .api(
            "PATCH",
            &url,
            Some(json!({"channel": {"provider_config": {"api_key": "••••9876"}}})),
            &token,
        )
        .await;
    assert_eq!(status, 200);
    let (status, err) = app
        .api(
            "PATCH",
            &url,
            Some(json!({"channel": {"phone_number": "12345"}})),
            &token,
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(err["field"], "channel.phone_number");
    let key: String = {
        let mut conn = app.conn();
        let (_, ch) =
            switchboard::domain::inboxes::find_by_id(&mut conn, inbox["id"].as_i64().unwrap())
                .unwrap();
        ch.api_key(&app.state.secrets).unwrap()
    };
    assert_eq!(key, "EAAG-new-token-9876");
}

#[actix_rt::test]
async fn health_reports_the_database() {
    let app = TestApp::start();
    let (status, body) = app.api("GET", "/health", None, "").await;
    assert_eq!(status, 200);
    assert_eq!(body["database"], "ok");
    assert_eq!(body["ingest_backlog"], 0);
    let (status, body) = app.api("GET", "/no/such/route", None, "").await;
    assert_eq!(status, 404);
    assert!(body["error"].is_string());
}

/// Deleting an inbox removes everything in it, though some of its rows name the inbox (and
/// the account) without a foreign key of their own (migration `ingest_foreign_keys`): they
/// go with their conversation or message, and its realtime events are deleted explicitly.
#[actix_rt::test]
async fn deleting_an_inbox_removes_its_conversations_messages_attachments_and_events() {
    use diesel::prelude::*;
    let app = TestApp::start();
    let (inbox, _) = app.create_inbox_direct();
    app.deliver("text.json").await;
    app.deliver("image.json").await;
    let mut conn = app.conn();
    let count = |conn: &mut switchboard::db::DbConn, table: &str| -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let column = match table {
            "attachments" => "message_id IN (SELECT id FROM messages WHERE inbox_id = $1)",
            _ => "inbox_id = $1",
        };
        diesel::sql_query(format!("SELECT count(*) AS n FROM {table} WHERE {column}"))
            .bind::<diesel::sql_types::BigInt, _>(inbox.id)
            .get_result::<N>(conn)
            .unwrap()
            .n
    };
    let tables = [
        "conversations",
        "messages",
        "attachments",
        "realtime_events",
        "contact_inboxes",
    ];
    for table in tables {
        assert!(count(&mut conn, table) > 0, "{table} holds rows before");
    }
    let attachments_before: i64 = {
        use switchboard::db::schema::attachments;
        attachments::table.count().get_result(&mut conn).unwrap()
    };
    assert!(attachments_before > 0);
    switchboard::domain::inboxes::delete(&mut conn, app.account_id, inbox.id).unwrap();
    for table in tables {
        assert_eq!(count(&mut conn, table), 0, "{table} after the delete");
    }
    let attachments_after: i64 = {
        use switchboard::db::schema::attachments;
        attachments::table.count().get_result(&mut conn).unwrap()
    };
    assert_eq!(attachments_after, 0);
}

//! The contact write paths of Chatwoot's API (issue 11, contacts-api): `POST /contacts`,
//! `PATCH|PUT|DELETE /contacts/{id}`, `GET|POST /contacts/{id}/labels`,
//! `GET /contacts/{id}/conversations`, `POST /contacts/filter` and
//! `POST /actions/contact_merge`: shapes, 422s naming the field, duplicates naming the
//! holder, 404 across accounts, the data-protection delete (media files and counts), and a
//! merge that loses nothing and routes the mergee's next message to the base.

use crate::common::*;
use serde_json::{json, Value};
use switchboard::domain::accounts;

fn field_of(body: &Value) -> &str {
    body["field"].as_str().unwrap_or("")
}

/// Creates a contact through the API; returns its id.
async fn create(app: &TestApp, body: Value) -> i64 {
    let (status, out) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{}/contacts", app.account_id),
            Some(body),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{out}");
    out["payload"]["contact"]["id"].as_i64().unwrap()
}

#[actix_rt::test]
async fn create_update_and_refuse_bad_or_duplicate_input() {
    let app = TestApp::start();
    let acc = app.account_id;
    let inbox = app.create_inbox(json!({})).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    let base = format!("/api/v1/accounts/{acc}/contacts");

    // Chatwoot's create shape, with the contact inbox of the WhatsApp inbox.
    let (status, out) = app
        .api(
            "POST",
            &base,
            Some(json!({
                "name": "Ana Lima",
                "email": " Ana@Example.COM ",
                "phone_number": "+1 (650) 555-0100",
                "identifier": "crm-42",
                "avatar_url": "https://example.com/ana.png",
                "additional_attributes": {"company_name": "Acme", "city": "Lisbon"},
                "custom_attributes": {"plan": "gold"},
                "inbox_id": inbox_id,
            })),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{out}");
    let c = &out["payload"]["contact"];
    let ana = c["id"].as_i64().unwrap();
    assert_eq!(c["name"], "Ana Lima");
    assert_eq!(c["email"], "ana@example.com");
    assert_eq!(c["phone_number"], "+16505550100");
    assert_eq!(c["identifier"], "crm-42");
    assert_eq!(c["additional_attributes"]["city"], "Lisbon");
    assert_eq!(
        c["additional_attributes"]["avatar_url"],
        "https://example.com/ana.png"
    );
    assert_eq!(c["custom_attributes"]["plan"], "gold");
    assert_eq!(c["contact_inboxes"][0]["source_id"], "16505550100");
    assert_eq!(out["payload"]["contact_inbox"]["source_id"], "16505550100");
    assert_eq!(out["payload"]["contact_inbox"]["inbox"]["id"], inbox_id);
    assert_eq!(
        app.count("realtime_events WHERE name = 'contact.created'"),
        1,
        "contact.created recorded"
    );

    // Rails' wrapped form, without an inbox.
    let (status, out) = app
        .api(
            "POST",
            &base,
            Some(json!({"contact": {"name": "Bruno", "phone_number": "+351912345678"}})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{out}");
    let bruno = out["payload"]["contact"]["id"].as_i64().unwrap();
    assert_eq!(out["payload"]["contact_inbox"], Value::Null);

    // Bad input: 422 naming the field.
    for (body, field) in [
        (
            json!({"name": "X", "phone_number": "16505550100"}),
            "phone_number",
        ),
        (
            json!({"name": "X", "phone_number": "+1 650 CALL ME"}),
            "phone_number",
        ),
        (json!({"name": "X", "email": "not an email"}), "email"),
        (json!({"name": ""}), "name"),
        (json!({}), "name"),
        (json!({"name": "x".repeat(300)}), "name"),
        (
            json!({"name": "X", "avatar_url": "javascript:alert(1)"}),
            "avatar_url",
        ),
        (
            json!({"name": "X", "additional_attributes": "city"}),
            "additional_attributes",
        ),
        (
            json!({"name": "X", "custom_attributes": [1]}),
            "custom_attributes",
        ),
        (json!({"name": "X", "inbox_id": "abc"}), "inbox_id"),
        (json!({"name": "X", "inbox_id": inbox_id}), "phone_number"),
        (json!({"name": 12}), "name"),
    ] {
        let (status, out) = app.api("POST", &base, Some(body.clone()), &app.token).await;
        assert_eq!(status, 422, "{body}: {out}");
        assert_eq!(field_of(&out), field, "{body}: {out}");
        assert!(out["error"].as_str().unwrap().len() > 10, "{out}");
    }
    // Another account's inbox, and a huge id: 404, never a 5xx.
    for id in [json!(999_999_999), json!(i64::MAX)] {
        let (status, out) = app
            .api(
                "POST",
                &base,
                Some(json!({"name": "X", "phone_number": "+14155550000", "inbox_id": id})),
                &app.token,
            )
            .await;
        assert_eq!(status, 404, "{out}");
    }

    // Duplicates: 422 naming the field and the contact holding it.
    for (body, field) in [
        (
            json!({"name": "Dup", "phone_number": "+16505550100"}),
            "phone_number",
        ),
        (json!({"name": "Dup", "email": "ANA@example.com"}), "email"),
        (json!({"name": "Dup", "identifier": "crm-42"}), "identifier"),
    ] {
        let (status, out) = app.api("POST", &base, Some(body.clone()), &app.token).await;
        assert_eq!(status, 422, "{body}: {out}");
        assert_eq!(field_of(&out), field, "{out}");
        let msg = out["error"].as_str().unwrap();
        assert!(
            msg.contains(&format!("Ana Lima (contact {ana})")),
            "names the holder: {msg}"
        );
    }

    // Update: PATCH and PUT, wrapped or bare; attributes merge, null removes a key.
    let (status, out) = app
        .api(
            "PATCH",
            &format!("{base}/{bruno}"),
            Some(json!({"contact": {"email": "bruno@example.com", "custom_attributes": {"plan": "silver", "tier": 2}}})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["payload"]["email"], "bruno@example.com");
    assert_eq!(out["payload"]["name"], "Bruno", "absent fields stay");
    let (status, out) = app
        .api(
            "PUT",
            &format!("{base}/{bruno}"),
            Some(
                json!({"name": "Bruno Costa", "custom_attributes": {"tier": null}, "email": null}),
            ),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["payload"]["name"], "Bruno Costa");
    assert_eq!(out["payload"]["email"], Value::Null, "null clears");
    assert_eq!(
        out["payload"]["custom_attributes"],
        json!({"plan": "silver"})
    );
    assert!(app.count("realtime_events WHERE name = 'contact.updated'") >= 2);

    // A duplicate on update names the holder; the contact's own value is no duplicate.
    let (status, out) = app
        .api(
            "PATCH",
            &format!("{base}/{bruno}"),
            Some(json!({"phone_number": "+16505550100"})),
            &app.token,
        )
        .await;
    assert_eq!(status, 422, "{out}");
    assert_eq!(field_of(&out), "phone_number");
    assert!(out["error"]
        .as_str()
        .unwrap()
        .contains(&format!("(contact {ana})")));
    let (status, out) = app
        .api(
            "PATCH",
            &format!("{base}/{ana}"),
            Some(json!({"email": "ana@example.com", "identifier": "crm-42"})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{out}");
    let (status, out) = app
        .api(
            "PATCH",
            &format!("{base}/{ana}"),
            Some(json!({"email": "nope"})),
            &app.token,
        )
        .await;
    assert_eq!((status, field_of(&out)), (422, "email"), "{out}");

    // A new phone is mapped in the contact's inboxes: the old number stays mapped too.
    let (status, out) = app
        .api(
            "PATCH",
            &format!("{base}/{ana}"),
            Some(json!({"phone_number": "+16505550199"})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["payload"]["phone_number"], "+16505550199");
    assert_eq!(
        app.count(&format!(
            "contact_inboxes WHERE contact_id = {ana} AND source_id IN ('16505550199', '16505550100')"
        )),
        2
    );

    // Another account: its token sees nothing here, ours nothing there.
    let other = accounts::create_admin(
        &mut app.conn(),
        "Other",
        "Olga Other",
        "olga@example.com",
        "correct horse",
    )
    .unwrap();
    let (status, _) = app
        .api(
            "PATCH",
            &format!("{base}/{ana}"),
            Some(json!({"name": "Hacked"})),
            &other.api_access_token,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .api(
            "PATCH",
            &format!("/api/v1/accounts/{}/contacts/{ana}", other.account_id),
            Some(json!({"name": "Hacked"})),
            &other.api_access_token,
        )
        .await;
    assert_eq!(status, 404, "another account's contact id");
    for (method, path) in [
        (
            "DELETE",
            format!("/api/v1/accounts/{}/contacts/{ana}", other.account_id),
        ),
        (
            "GET",
            format!(
                "/api/v1/accounts/{}/contacts/{ana}/labels",
                other.account_id
            ),
        ),
        (
            "POST",
            format!(
                "/api/v1/accounts/{}/contacts/{ana}/labels",
                other.account_id
            ),
        ),
        (
            "GET",
            format!(
                "/api/v1/accounts/{}/contacts/{ana}/conversations",
                other.account_id
            ),
        ),
    ] {
        let (status, out) = app
            .api(
                method,
                &path,
                Some(json!({"labels": ["x"]})),
                &other.api_access_token,
            )
            .await;
        assert_eq!(status, 404, "{method} {path}: {out}");
    }
    let (status, out) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/actions/contact_merge",
                other.account_id
            ),
            Some(json!({"base_contact_id": ana, "mergee_contact_id": bruno})),
            &other.api_access_token,
        )
        .await;
    assert_eq!(status, 404, "{out}");
    assert_eq!(app.count("contacts"), 2, "nothing changed");
}

#[actix_rt::test]
async fn labels_conversations_and_filter() {
    let app = TestApp::start();
    let acc = app.account_id;
    app.create_inbox(json!({})).await;
    app.deliver("text.json").await;
    let sheena = app.contacts()[0]["id"].as_i64().unwrap();
    let ana = create(
        &app,
        json!({"name": "Ana Lima", "email": "ana@example.com", "additional_attributes": {"city": "Lisbon", "country_code": "PT"}, "custom_attributes": {"plan": "gold", "seats": 12}}),
    )
    .await;
    let base = format!("/api/v1/accounts/{acc}/contacts");

    // Labels: POST replaces the list, normalised as conversation labels.
    let (status, out) = app
        .api(
            "POST",
            &format!("{base}/{ana}/labels"),
            Some(json!({"labels": ["VIP", "billing", "vip"]})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out, json!({"payload": ["billing", "vip"]}));
    let out = app.get(&format!("{base}/{ana}/labels")).await;
    assert_eq!(out, json!({"payload": ["billing", "vip"]}));
    for body in [
        json!({}),
        json!({"labels": [1]}),
        json!({"labels": ["no spaces"]}),
    ] {
        let (status, out) = app
            .api(
                "POST",
                &format!("{base}/{ana}/labels"),
                Some(body),
                &app.token,
            )
            .await;
        assert_eq!((status, field_of(&out)), (422, "labels"), "{out}");
    }
    let (status, _) = app
        .api("GET", &format!("{base}/999999/labels"), None, &app.token)
        .await;
    assert_eq!(status, 404);

    // Conversations of a contact, in the conversation list's shape.
    let out = app.get(&format!("{base}/{sheena}/conversations")).await;
    let convs = out["payload"].as_array().unwrap();
    assert_eq!(convs.len(), 1, "{out}");
    assert_eq!(convs[0]["meta"]["sender"]["id"], sheena, "{out}");
    let out = app.get(&format!("{base}/{ana}/conversations")).await;
    assert_eq!(out, json!({"payload": []}));
    // An agent who is not a member of the inbox sees neither the contact nor its threads.
    let (_, ben_token) = app.create_agent("ben@example.com");
    let (status, _) = app
        .api(
            "GET",
            &format!("{base}/{sheena}/conversations"),
            None,
            &ben_token,
        )
        .await;
    assert_eq!(status, 404);

    // Filter: Chatwoot's payload over fields, additional and custom attributes, labels.
    let filter = |payload: Value| {
        let app = &app;
        let base = base.clone();
        async move {
            let (status, out) = app
                .api(
                    "POST",
                    &format!("{base}/filter"),
                    Some(json!({"payload": payload})),
                    &app.token,
                )
                .await;
            (status, out)
        }
    };
    let ids = |out: &Value| -> Vec<i64> {
        out["payload"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    for (payload, expected) in [
        (
            json!([{"attribute_key": "name", "filter_operator": "contains", "values": ["LIMA"]}]),
            vec![ana],
        ),
        (
            json!([{"attribute_key": "email", "filter_operator": "equal_to", "values": ["ANA@example.com"]}]),
            vec![ana],
        ),
        (
            json!([{"attribute_key": "email", "filter_operator": "is_not_present"}]),
            vec![sheena],
        ),
        (
            json!([{"attribute_key": "phone_number", "filter_operator": "contains", "values": ["650555"]}]),
            vec![sheena],
        ),
        (
            json!([{"attribute_key": "city", "filter_operator": "equal_to", "values": ["lisbon"]}]),
            vec![ana],
        ),
        (
            json!([{"attribute_key": "country_code", "filter_operator": "not_equal_to", "values": ["PT"]}]),
            vec![sheena],
        ),
        (
            json!([{"attribute_key": "labels", "filter_operator": "equal_to", "values": ["vip"]}]),
            vec![ana],
        ),
        (
            json!([{"attribute_key": "plan", "filter_operator": "equal_to", "values": ["gold"]}]),
            vec![ana],
        ),
        (
            json!([{"attribute_key": "seats", "filter_operator": "is_greater_than", "values": [10]}]),
            vec![ana],
        ),
        (
            json!([{"attribute_key": "seats", "filter_operator": "is_less_than", "values": ["10"]}]),
            vec![],
        ),
        (
            json!([{"attribute_key": "created_at", "filter_operator": "is_greater_than", "values": ["2000-01-01"]}]),
            vec![ana, sheena],
        ),
        (
            json!([
                {"attribute_key": "name", "filter_operator": "contains", "values": ["sheena"], "query_operator": "OR"},
                {"attribute_key": "labels", "filter_operator": "equal_to", "values": ["vip"]},
            ]),
            vec![ana, sheena],
        ),
        (
            json!([
                {"attribute_key": "name", "filter_operator": "contains", "values": ["%"], "query_operator": "AND"},
            ]),
            vec![],
        ),
    ] {
        let (status, out) = filter(payload.clone()).await;
        assert_eq!(status, 200, "{payload}: {out}");
        let mut expected = expected;
        expected.sort_by(|a, b| b.cmp(a));
        assert_eq!(ids(&out), expected, "{payload}: {out}");
        assert_eq!(out["meta"]["count"], expected.len(), "{out}");
        assert_eq!(out["meta"]["count_is_lower_bound"], false, "{out}");
    }
    for (payload, field) in [
        (
            json!([{"attribute_key": "no such key!", "filter_operator": "equal_to", "values": ["x"]}]),
            "payload[0].attribute_key",
        ),
        (
            json!([{"attribute_key": "name", "filter_operator": "is_greater_than", "values": ["x"]}]),
            "payload[0].filter_operator",
        ),
        (
            json!([{"attribute_key": "name", "filter_operator": "equal_to", "values": []}]),
            "payload[0].values",
        ),
        (
            json!([{"attribute_key": "name", "filter_operator": "equal_to", "values": ["x"], "query_operator": "XOR"}]),
            "payload[0].query_operator",
        ),
        (json!("nope"), "payload"),
    ] {
        let (status, out) = filter(payload.clone()).await;
        assert_eq!((status, field_of(&out)), (422, field), "{payload}: {out}");
    }
}

#[actix_rt::test]
async fn delete_removes_the_contact_its_threads_and_media_files() {
    let app = TestApp::start();
    let acc = app.account_id;
    app.create_inbox(json!({})).await;
    app.deliver("text.json").await;
    app.deliver("image.json").await;
    app.deliver("text_unicode.json").await;
    let sheena: i64 = app
        .query_json("SELECT to_jsonb(id) FROM contacts WHERE phone_number = '+16505551234'")
        .as_i64()
        .unwrap();
    // The image's file, as the media worker stores it.
    let att: i64 = app
        .query_json("SELECT to_jsonb(id) FROM attachments")
        .as_i64()
        .unwrap();
    let relative = format!("{acc}/{att}/photo.jpg");
    let file = app.storage.join(&relative);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, b"jpeg bytes").unwrap();
    {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!(
            "UPDATE attachments SET storage_path = '{relative}', download_status = 'downloaded'"
        ))
        .execute(&mut app.conn())
        .unwrap();
    }
    let base = format!("/api/v1/accounts/{acc}/contacts");
    // A note and a label, and a participant, go too.
    let (status, _) = app
        .api(
            "POST",
            &format!("{base}/{sheena}/notes"),
            Some(json!({"content": "VIP"})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200);

    // Agents may not delete (Chatwoot: administrators only).
    let (_, ben_token) = app.create_agent("ben@example.com");
    let (status, _) = app
        .api("DELETE", &format!("{base}/{sheena}"), None, &ben_token)
        .await;
    assert!(status == 403 || status == 401, "{status}");
    let (status, _) = app
        .api("DELETE", &format!("{base}/99999999"), None, &app.token)
        .await;
    assert_eq!(status, 404);

    let (status, out) = app
        .api("DELETE", &format!("{base}/{sheena}"), None, &app.token)
        .await;
    assert_eq!(status, 200, "{out}");
    assert!(!file.exists(), "the media file is removed from disk");
    assert_eq!(app.count(&format!("contacts WHERE id = {sheena}")), 0);
    assert_eq!(
        app.count(&format!("contact_inboxes WHERE contact_id = {sheena}")),
        0
    );
    assert_eq!(
        app.count(&format!("contact_notes WHERE contact_id = {sheena}")),
        0
    );
    assert_eq!(app.count("attachments"), 0);
    assert_eq!(app.count("conversations"), 1, "Zoë's thread stays");
    assert_eq!(
        app.count("messages m JOIN conversations c ON c.id = m.conversation_id"),
        app.count("messages"),
        "no orphan messages"
    );
    // The maintained counts stay exact.
    let counted = app
        .query_json("SELECT to_jsonb(coalesce(sum(n), 0)::bigint) FROM conversation_counts WHERE label = ''")
        .as_i64()
        .unwrap();
    assert_eq!(counted, 1);
    let meta = app
        .get(&format!(
            "/api/v1/accounts/{acc}/conversations/meta?status=all"
        ))
        .await;
    assert_eq!(meta["meta"]["all_count"], 1, "{meta}");
    assert_eq!(
        app.count("realtime_events WHERE name = 'contact.deleted'"),
        1
    );

    // The same customer writing again starts afresh.
    let again = String::from_utf8(with_current_timestamps(&webhook_fixture("text.json")))
        .unwrap()
        .replace("MQA=", "OQA=");
    app.deliver_bytes(again.as_bytes()).await;
    assert_eq!(app.count("contacts"), 2);
}

#[actix_rt::test]
async fn merge_keeps_everything_and_the_mergees_next_message_lands_on_the_base() {
    let app = TestApp::start();
    let acc = app.account_id;
    app.create_inbox(json!({})).await;
    app.deliver("text.json").await; // Sheena: phone 16505551234 + BSUID US.1349…
    app.deliver("text_unicode.json").await; // Zoë: phone 5511987654321 + BSUID BR.7…
    let id_of = |phone: &str| {
        app.query_json(&format!(
            "SELECT to_jsonb(id) FROM contacts WHERE phone_number = '{phone}'"
        ))
        .as_i64()
        .unwrap()
    };
    let mergee = id_of("+16505551234");
    let base_id = id_of("+5511987654321");
    let base = format!("/api/v1/accounts/{acc}/contacts");
    // The mergee's note, contact labels, email and a custom attribute; its thread's label.
    app.api(
        "POST",
        &format!("{base}/{mergee}/notes"),
        Some(json!({"content": "Prefers mornings"})),
        &app.token,
    )
    .await;
    app.api(
        "POST",
        &format!("{base}/{mergee}/labels"),
        Some(json!({"labels": ["vip"]})),
        &app.token,
    )
    .await;
    app.api(
        "POST",
        &format!("{base}/{base_id}/labels"),
        Some(json!({"labels": ["lead"]})),
        &app.token,
    )
    .await;
    let (status, out) = app
        .api(
            "PATCH",
            &format!("{base}/{mergee}"),
            Some(json!({"email": "sheena@example.com", "custom_attributes": {"plan": "gold"}})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{out}");
    let display: i64 = app
        .query_json(&format!(
            "SELECT to_jsonb(display_id) FROM conversations WHERE contact_id = {mergee}"
        ))
        .as_i64()
        .unwrap();
    app.api(
        "POST",
        &format!("/api/v1/accounts/{acc}/conversations/{display}/labels"),
        Some(json!({"labels": ["billing"]})),
        &app.token,
    )
    .await;
    let messages_before = app.count("messages");

    // Bad input first.
    let merge_url = format!("/api/v1/accounts/{acc}/actions/contact_merge");
    for (body, status_want, field) in [
        (
            json!({"base_contact_id": base_id}),
            422,
            "mergee_contact_id",
        ),
        (json!({"mergee_contact_id": mergee}), 422, "base_contact_id"),
        (
            json!({"base_contact_id": "x", "mergee_contact_id": mergee}),
            422,
            "base_contact_id",
        ),
        (
            json!({"base_contact_id": base_id, "mergee_contact_id": base_id}),
            422,
            "mergee_contact_id",
        ),
        (
            json!({"base_contact_id": base_id, "mergee_contact_id": 987654321}),
            404,
            "",
        ),
    ] {
        let (status, out) = app
            .api("POST", &merge_url, Some(body.clone()), &app.token)
            .await;
        assert_eq!(
            (status, field_of(&out)),
            (status_want, field),
            "{body}: {out}"
        );
    }

    let (status, out) = app
        .api(
            "POST",
            &merge_url,
            Some(json!({"base_contact_id": base_id, "mergee_contact_id": mergee})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(
        out["id"], base_id,
        "the contact object itself, as Chatwoot answers"
    );
    assert_eq!(
        out["phone_number"], "+5511987654321",
        "the base's own values win"
    );
    assert_eq!(
        out["email"], "sheena@example.com",
        "missing values come over"
    );
    assert_eq!(out["custom_attributes"]["plan"], "gold");
    let sources: Vec<&str> = out["contact_inboxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ci| ci["source_id"].as_str().unwrap())
        .collect();
    for s in [
        "16505551234",
        "US.13491208655302741918",
        "5511987654321",
        "BR.70000000000000000001",
    ] {
        assert!(sources.contains(&s), "identity {s} moved: {sources:?}");
    }
    assert_eq!(
        app.count(&format!("contacts WHERE id = {mergee}")),
        0,
        "mergee deleted"
    );
    assert_eq!(
        app.count(&format!("conversations WHERE contact_id = {base_id}")),
        2
    );
    assert_eq!(app.count("messages"), messages_before, "no message lost");
    assert_eq!(
        app.count(&format!("contact_notes WHERE contact_id = {base_id}")),
        1
    );
    let labels = app.get(&format!("{base}/{base_id}/labels")).await;
    assert_eq!(labels, json!({"payload": ["lead", "vip"]}));
    assert_eq!(app.count("conversations WHERE labels = '{billing}'"), 1);
    let threads = app.get(&format!("{base}/{base_id}/conversations")).await;
    assert_eq!(
        threads["payload"].as_array().unwrap().len(),
        2,
        "one thread list"
    );
    assert!(app.count(&format!(
        "realtime_events WHERE name = 'contact.updated' AND (payload->>'contact_id')::bigint = {base_id}"
    )) >= 1);

    // The mergee's phone writes again: it lands on the base, in its existing thread.
    let again = String::from_utf8(with_current_timestamps(&webhook_fixture("text.json")))
        .unwrap()
        .replace("MQA=", "OQA=");
    app.deliver_bytes(again.as_bytes()).await;
    assert_eq!(app.count("contacts"), 1, "no third contact");
    assert_eq!(
        app.count(&format!("conversations WHERE contact_id = {base_id}")),
        2
    );
    assert_eq!(app.count("messages"), messages_before + 1);
}

#[actix_rt::test]
async fn a_typed_in_contact_is_adopted_by_the_first_message_from_its_phone() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    let id = create(
        &app,
        json!({"name": "Sheena (CRM)", "phone_number": "+16505551234"}),
    )
    .await;
    app.deliver("text.json").await;
    assert_eq!(app.count("contacts"), 1, "no duplicate contact");
    assert_eq!(
        app.count(&format!("conversations WHERE contact_id = {id}")),
        1
    );
    let c = &app.contacts()[0];
    assert_eq!(c["name"], "Sheena (CRM)", "the typed name is kept");
    assert_eq!(c["bsuid"], "US.13491208655302741918");
}

#[actix_rt::test]
async fn concurrent_creates_with_one_phone_make_one_contact() {
    use switchboard::domain::accounts::{Role, Viewer};
    use switchboard::domain::contact_writes::{self, ContactInput};
    let app = TestApp::start();
    let viewer = Viewer {
        user_id: app.admin_id,
        account_id: app.account_id,
        role: Role::Administrator,
    };
    let results: Vec<Result<i64, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let viewer = viewer.clone();
                let app = &app;
                s.spawn(move || {
                    let body = json!({"name": format!("Twin {i}"), "phone_number": "+14155550123", "email": format!("TWIN@example.com")});
                    let input = ContactInput::from_json(body.as_object().unwrap()).unwrap();
                    contact_writes::create(&mut app.conn(), &viewer, &input)
                        .map(|(c, _)| c.id)
                        .map_err(|e| format!("{e:?}"))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "{results:?}");
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(r.contains("already belongs to Twin"), "{r}");
    }
    assert_eq!(app.count("contacts"), 1);
}

#[actix_rt::test]
async fn contact_webhooks_and_label_renames_follow_the_api() {
    let app = TestApp::start();
    let acc = app.account_id;
    let (status, hook) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{acc}/webhooks"),
            Some(json!({"webhook": {"url": "https://93.184.216.34/hook",
                "subscriptions": ["contact_created", "contact_updated"]}})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{hook}");
    let id = create(&app, json!({"name": "Ana", "email": "ana@example.com"})).await;
    let bruno = create(&app, json!({"name": "Bruno"})).await;
    let base = format!("/api/v1/accounts/{acc}/contacts");
    app.api(
        "PATCH",
        &format!("{base}/{id}"),
        Some(json!({"name": "Ana Lima"})),
        &app.token,
    )
    .await;
    app.api(
        "POST",
        &format!("/api/v1/accounts/{acc}/actions/contact_merge"),
        Some(json!({"base_contact_id": id, "mergee_contact_id": bruno})),
        &app.token,
    )
    .await;
    let events: Vec<String> = app
        .query_json(
            "SELECT coalesce(jsonb_agg(payload->>'event' ORDER BY id), '[]') FROM jobs WHERE kind = 'webhook_delivery'",
        )
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        events,
        [
            "contact_created",
            "contact_created",
            "contact_updated",
            "contact_updated"
        ],
        "create, create, update, merge (for the base)"
    );
    let body = app.query_json(
        "SELECT payload->'body' FROM jobs WHERE kind = 'webhook_delivery' ORDER BY id DESC LIMIT 1",
    );
    assert_eq!(body["id"], id, "{body}");

    // Renaming or deleting an account label rewrites contact labels as conversation labels.
    let (status, label) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{acc}/labels"),
            Some(json!({"title": "vip"})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{label}");
    app.api(
        "POST",
        &format!("{base}/{id}/labels"),
        Some(json!({"labels": ["vip", "lead"]})),
        &app.token,
    )
    .await;
    let label_id = label["id"].as_i64().unwrap();
    let (status, _) = app
        .api(
            "PATCH",
            &format!("/api/v1/accounts/{acc}/labels/{label_id}"),
            Some(json!({"title": "gold"})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200);
    let out = app.get(&format!("{base}/{id}/labels")).await;
    assert_eq!(out, json!({"payload": ["gold", "lead"]}));
    app.api(
        "DELETE",
        &format!("/api/v1/accounts/{acc}/labels/{label_id}"),
        None,
        &app.token,
    )
    .await;
    let out = app.get(&format!("{base}/{id}/labels")).await;
    assert_eq!(out, json!({"payload": ["lead"]}));
}

/// Figures: `POST /contacts/filter` server time (the domain call: count + page) over
/// `CONTACTS_BENCH_N` contacts (default 200,000). Run with
/// `cargo test --test api contacts_api::bench_filter -- --ignored --nocapture`.
#[actix_rt::test]
#[ignore]
async fn bench_filter() {
    use diesel::RunQueryDsl;
    use switchboard::domain::accounts::{Role, Viewer};
    use switchboard::domain::contact_filter::{self, Filter};
    let n: i64 = std::env::var("CONTACTS_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let app = TestApp::start();
    let acc = app.account_id;
    let mut conn = app.conn();
    diesel::sql_query(format!(
        "INSERT INTO contacts (account_id, name, phone_number, email, additional_attributes, custom_attributes, labels, created_at, updated_at) \
         SELECT {acc}, 'Person ' || g || ' ' || md5(g::text), '+1415' || lpad(g::text, 7, '0'), \
                CASE WHEN g % 3 = 0 THEN 'p' || g || '@example.com' END, \
                jsonb_build_object('city', (ARRAY['Lisbon','Porto','Paris','Austin'])[1 + g % 4], 'country_code', (ARRAY['PT','FR','US'])[1 + g % 3]), \
                jsonb_build_object('plan', (ARRAY['gold','silver','free'])[1 + g % 3], 'seats', g % 50), \
                CASE WHEN g % 10 = 0 THEN ARRAY['vip'] ELSE '{{}}'::text[] END, \
                now() - (({n} - g) || ' minutes')::interval, now() \
         FROM generate_series(1, {n}) g"
    ))
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query("ANALYZE contacts")
        .execute(&mut conn)
        .unwrap();
    let viewer = Viewer {
        user_id: app.admin_id,
        account_id: acc,
        role: Role::Administrator,
    };
    for (label, payload) in [
        (
            "name contains (rare)",
            json!([{"attribute_key": "name", "filter_operator": "contains", "values": ["1234 "]}]),
        ),
        (
            "email equal_to",
            json!([{"attribute_key": "email", "filter_operator": "equal_to", "values": ["p300@example.com"]}]),
        ),
        (
            "phone contains",
            json!([{"attribute_key": "phone_number", "filter_operator": "contains", "values": ["4150001"]}]),
        ),
        (
            "city equal_to (common)",
            json!([{"attribute_key": "city", "filter_operator": "equal_to", "values": ["lisbon"]}]),
        ),
        (
            "labels vip",
            json!([{"attribute_key": "labels", "filter_operator": "equal_to", "values": ["vip"]}]),
        ),
        (
            "custom seats > 45",
            json!([{"attribute_key": "seats", "filter_operator": "is_greater_than", "values": [45]}]),
        ),
        (
            "created in the last day",
            json!([{"attribute_key": "created_at", "filter_operator": "is_greater_than", "values": [chrono::Utc::now().timestamp() - 86_400]}]),
        ),
    ] {
        let filter = Filter::parse(&json!({ "payload": payload })).unwrap();
        let mut times = vec![];
        let mut count = 0;
        for _ in 0..5 {
            let t = std::time::Instant::now();
            let (_, total) = contact_filter::page(&mut conn, &viewer, &filter, 1).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            count = total;
        }
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "contacts={n} filter={label:<26} matches={count:<7} p50={:.1} ms max={:.1} ms",
            times[2], times[4]
        );
    }
}

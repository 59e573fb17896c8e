//! Custom attributes (issue 11): definitions over `/custom_attribute_definitions` in
//! Chatwoot's shape, values validated per type with a 422 naming `custom_attributes.<key>`,
//! the conversation's `POST …/custom_attributes` (merge, event, webhook body), the contact's
//! values through the domain function and route, another account's ids (404), agents (403 on
//! definitions), and filtering conversations by a custom attribute.

use crate::common::*;
use serde_json::{json, Value};
use switchboard::domain::accounts;
use switchboard::domain::custom_attributes::{self as ca, Model};

async fn define(app: &TestApp, body: Value) -> Value {
    let (status, d) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/custom_attribute_definitions",
                app.account_id
            ),
            Some(body.clone()),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{body} → {d}");
    d
}

#[actix_rt::test]
async fn definitions_crud_in_chatwoots_shape() {
    let app = TestApp::start();
    let acc = app.account_id;
    let base = format!("/api/v1/accounts/{acc}/custom_attribute_definitions");

    let plan = define(
        &app,
        json!({
            "attribute_display_name": "Plan",
            "attribute_display_type": 6,
            "attribute_key": "plan",
            "attribute_description": "What the customer pays for",
            "attribute_model": 1,
            "attribute_values": ["Gold", "Silver"],
        }),
    )
    .await;
    let mut keys: Vec<&str> = plan
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
            "attribute_description",
            "attribute_display_name",
            "attribute_display_type",
            "attribute_key",
            "attribute_model",
            "attribute_values",
            "created_at",
            "default_value",
            "id",
            "regex_cue",
            "regex_pattern",
            "updated_at"
        ]
    );
    assert_eq!(plan["attribute_display_type"], "list");
    assert_eq!(plan["attribute_model"], "contact_attribute");
    assert_eq!(plan["attribute_values"], json!(["Gold", "Silver"]));

    // Names work as well as Chatwoot's integers, and Rails' wrapped body.
    let order = define(
        &app,
        json!({"custom_attribute_definition": {
            "attribute_display_name": "Order number",
            "attribute_display_type": "text",
            "attribute_key": "order_number",
            "attribute_model": "conversation_attribute",
            "regex_pattern": "^ORD-\\d+$",
            "regex_cue": "Use the form ORD-123",
        }}),
    )
    .await;
    assert_eq!(order["attribute_model"], "conversation_attribute");
    assert_eq!(order["regex_cue"], "Use the form ORD-123");
    // The same key in the other model is another attribute.
    define(
        &app,
        json!({"attribute_display_name": "Plan", "attribute_display_type": 0,
               "attribute_key": "plan", "attribute_model": 0}),
    )
    .await;

    // Listing by model.
    let (status, contact_list) = app
        .api(
            "GET",
            &format!("{base}?attribute_model=1"),
            None,
            &app.token,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(contact_list.as_array().unwrap().len(), 1);
    let (_, conv_list) = app
        .api(
            "GET",
            &format!("{base}?attribute_model=conversation_attribute"),
            None,
            &app.token,
        )
        .await;
    assert_eq!(conv_list.as_array().unwrap().len(), 2);
    let (_, all) = app.api("GET", &base, None, &app.token).await;
    assert_eq!(all.as_array().unwrap().len(), 3);
    let (status, err) = app
        .api(
            "GET",
            &format!("{base}?attribute_model=7"),
            None,
            &app.token,
        )
        .await;
    assert_eq!(
        (status, err["field"].clone()),
        (422, json!("attribute_model"))
    );

    // Show and update.
    let id = plan["id"].as_i64().unwrap();
    let (status, shown) = app
        .api("GET", &format!("{base}/{id}"), None, &app.token)
        .await;
    assert_eq!((status, &shown), (200, &plan));
    let (status, changed) = app
        .api(
            "PATCH",
            &format!("{base}/{id}"),
            Some(json!({"attribute_values": ["Gold", "Silver", "Bronze"],
                        "attribute_display_name": "Plan tier", "attribute_key": "plan"})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        changed["attribute_values"],
        json!(["Gold", "Silver", "Bronze"])
    );
    assert_eq!(changed["attribute_display_name"], "Plan tier");

    // 422 naming the field.
    let bad: Vec<(Value, &str)> = vec![
        (
            json!({"attribute_display_name": "X", "attribute_display_type": 0,
                   "attribute_key": "plan", "attribute_model": 1}),
            "attribute_key",
        ),
        (
            json!({"attribute_display_name": "X", "attribute_display_type": 0,
                   "attribute_key": "Plan Tier", "attribute_model": 1}),
            "attribute_key",
        ),
        (
            json!({"attribute_display_name": "X", "attribute_display_type": 0,
                   "attribute_key": "email", "attribute_model": 1}),
            "attribute_key",
        ),
        (
            json!({"attribute_display_name": "X", "attribute_display_type": 0,
                   "attribute_model": 1}),
            "attribute_key",
        ),
        (
            json!({"attribute_display_name": " ", "attribute_display_type": 0,
                   "attribute_key": "x", "attribute_model": 1}),
            "attribute_display_name",
        ),
        (
            json!({"attribute_display_name": "X", "attribute_display_type": 12,
                   "attribute_key": "x", "attribute_model": 1}),
            "attribute_display_type",
        ),
        (
            json!({"attribute_display_name": "X", "attribute_display_type": 0,
                   "attribute_key": "x", "attribute_model": 5}),
            "attribute_model",
        ),
        (
            json!({"attribute_display_name": "X", "attribute_display_type": "list",
                   "attribute_key": "x", "attribute_model": 1, "attribute_values": []}),
            "attribute_values",
        ),
        (
            json!({"attribute_display_name": "X", "attribute_display_type": "text",
                   "attribute_key": "x", "attribute_model": 1, "regex_pattern": "(["}),
            "regex_pattern",
        ),
        (
            json!({"attribute_display_name": "X", "attribute_display_type": "text",
                   "attribute_key": "x", "attribute_model": 1, "attribute_values": 5}),
            "attribute_values",
        ),
    ];
    for (body, field) in bad {
        let (status, err) = app.api("POST", &base, Some(body.clone()), &app.token).await;
        assert_eq!(status, 422, "{body} → {err}");
        assert_eq!(err["field"], field, "{body} → {err}");
    }
    let (status, err) = app
        .api(
            "PATCH",
            &format!("{base}/{id}"),
            Some(json!({"attribute_key": "tier"})),
            &app.token,
        )
        .await;
    assert_eq!(
        (status, err["field"].clone()),
        (422, json!("attribute_key"))
    );

    // The Settings page lists them for administrators; agents are refused it.
    let mut ana = crate::common::session::Browser::new(&app);
    ana.sign_in("ana@example.com", "correct horse").await;
    let (status, html, _) = ana
        .get(&format!("/app/accounts/{acc}/settings/custom_attributes"))
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Order number") && html.contains("order_number"),
        "{html}"
    );
    assert!(html.contains("/static/custom_attributes.js"));

    // Agents read but do not change.
    let (_, ben) = app.create_agent("ben@example.com");
    let mut ben_browser = crate::common::session::Browser::new(&app);
    ben_browser
        .sign_in("ben@example.com", "agent password")
        .await;
    let (status, _, _) = ben_browser
        .get(&format!("/app/accounts/{acc}/settings/custom_attributes"))
        .await;
    assert_eq!(status, 403, "administrators only");
    let (status, _) = app.api("GET", &base, None, &ben).await;
    assert_eq!(status, 200);
    let (status, _) = app
        .api(
            "POST",
            &base,
            Some(
                json!({"attribute_display_name": "Y", "attribute_display_type": 0,
                        "attribute_key": "y", "attribute_model": 1}),
            ),
            &ben,
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = app.api("DELETE", &format!("{base}/{id}"), None, &ben).await;
    assert_eq!(status, 403);

    // Another account: 404 for our ids.
    let other = accounts::create_admin(
        &mut app.conn(),
        "Else",
        "Eve",
        "eve@example.com",
        "password1",
    )
    .unwrap();
    let theirs = format!(
        "/api/v1/accounts/{}/custom_attribute_definitions",
        other.account_id
    );
    for (method, body) in [
        ("GET", None),
        ("PATCH", Some(json!({"attribute_display_name": "Z"}))),
        ("DELETE", None),
    ] {
        let (status, _) = app
            .api(
                method,
                &format!("{theirs}/{id}"),
                body,
                &other.api_access_token,
            )
            .await;
        assert_eq!(status, 404, "{method}");
    }
    let (_, theirs_list) = app.api("GET", &theirs, None, &other.api_access_token).await;
    assert_eq!(theirs_list, json!([]));
    // Our token on their account: 404 or 401, never data.
    let (status, _) = app.api("GET", &theirs, None, &app.token).await;
    assert!(status == 404 || status == 401 || status == 403, "{status}");

    // Delete.
    let (status, _) = app
        .api("DELETE", &format!("{base}/{id}"), None, &app.token)
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .api("GET", &format!("{base}/{id}"), None, &app.token)
        .await;
    assert_eq!(status, 404);
}

#[actix_rt::test]
async fn values_validated_per_type_merged_and_announced() {
    let app = TestApp::start_with(Options {
        webhooks_allow_local: true,
        ..Default::default()
    });
    let acc = app.account_id;
    app.create_inbox(json!({})).await;
    app.deliver("text.json").await;
    let contact_id = app.contacts()[0]["id"].as_i64().unwrap();
    let display_id = app
        .query_json("SELECT to_jsonb(min(display_id)) FROM conversations")
        .as_i64()
        .unwrap();
    let (status, hook) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{acc}/webhooks"),
            Some(json!({"url": "http://127.0.0.1:9/hook",
                        "subscriptions": ["conversation_updated", "contact_updated"]})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{hook}");

    for (key, kind, extra) in [
        (
            "plan",
            "list",
            json!({"attribute_values": ["Gold", "Silver"]}),
        ),
        ("seats", "number", json!({})),
        ("website", "link", json!({})),
        ("renewal", "date", json!({})),
        ("vip", "checkbox", json!({})),
        (
            "order_number",
            "text",
            json!({"regex_pattern": "^ORD-\\d+$", "regex_cue": "Use the form ORD-123"}),
        ),
    ] {
        for model in [0, 1] {
            let mut body = json!({"attribute_display_name": key, "attribute_display_type": kind,
                                  "attribute_key": key, "attribute_model": model});
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            define(&app, body).await;
        }
    }

    let conv = format!("/api/v1/accounts/{acc}/conversations/{display_id}/custom_attributes");
    let (status, out) = app
        .api(
            "POST",
            &conv,
            Some(json!({"custom_attributes": {
                "plan": "gold", "seats": "12", "website": "https://example.com",
                "renewal": "2026-11-30", "vip": true, "order_number": "ORD-7"}})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(
        out["custom_attributes"],
        json!({"plan": "Gold", "seats": 12, "website": "https://example.com",
               "renewal": "2026-11-30", "vip": true, "order_number": "ORD-7"}),
        "normalised"
    );
    assert_eq!(
        app.count(
            "realtime_events WHERE name = 'conversation.updated' \
             AND payload->'changed' ? 'custom_attributes'"
        ),
        1
    );
    let bodies = app.query_json(
        "SELECT coalesce(jsonb_agg(payload->'body' ORDER BY id), '[]') FROM jobs \
         WHERE kind = 'webhook_delivery' AND payload->>'event' = 'conversation_updated'",
    );
    let body = &bodies[0];
    let carried = if body["custom_attributes"].is_object() {
        &body["custom_attributes"]
    } else {
        &body["conversation"]["custom_attributes"]
    };
    assert_eq!(
        carried["plan"], "Gold",
        "the webhook body carries them: {body}"
    );

    // Merge: other keys stay, null removes; the same values again change nothing.
    let (status, out) = app
        .api(
            "POST",
            &conv,
            Some(json!({"custom_attributes": {"seats": 3, "vip": null}})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["custom_attributes"]["seats"], 3);
    assert_eq!(out["custom_attributes"]["plan"], "Gold");
    assert!(out["custom_attributes"].get("vip").is_none());
    app.api(
        "POST",
        &conv,
        Some(json!({"custom_attributes": {"seats": 3}})),
        &app.token,
    )
    .await;
    assert_eq!(
        app.count(
            "realtime_events WHERE name = 'conversation.updated' \
             AND payload->'changed' ? 'custom_attributes'"
        ),
        2,
        "no event without a change"
    );
    // The conversation's API body carries them.
    let (_, shown) = app
        .api(
            "GET",
            &format!("/api/v1/accounts/{acc}/conversations/{display_id}"),
            None,
            &app.token,
        )
        .await;
    assert_eq!(shown["custom_attributes"]["plan"], "Gold", "{shown}");

    // A 422 per type, naming custom_attributes.<key>, with the reason.
    let cases = [
        (json!({"seats": "many"}), "seats", "must be a number"),
        (
            json!({"plan": "Bronze"}),
            "plan",
            "must be one of: Gold, Silver",
        ),
        (
            json!({"renewal": "30/11/2026"}),
            "renewal",
            "must be a date like 2026-11-30",
        ),
        (
            json!({"website": "example.com"}),
            "website",
            "must be a URL starting with http(s)://",
        ),
        (json!({"vip": "maybe"}), "vip", "must be true or false"),
        (
            json!({"order_number": "7"}),
            "order_number",
            "Use the form ORD-123",
        ),
        (json!({"nonsense": 1}), "nonsense", "no custom attribute"),
    ];
    for (patch, key, why) in cases {
        let (status, err) = app
            .api(
                "POST",
                &conv,
                Some(json!({ "custom_attributes": patch })),
                &app.token,
            )
            .await;
        assert_eq!(status, 422, "{patch} → {err}");
        assert_eq!(err["field"], format!("custom_attributes.{key}"), "{err}");
        assert!(err["error"].as_str().unwrap().contains(why), "{err}");
    }
    for body in [json!({}), json!({"custom_attributes": [1]})] {
        let (status, err) = app.api("POST", &conv, Some(body), &app.token).await;
        assert_eq!(
            (status, err["field"].clone()),
            (422, json!("custom_attributes"))
        );
    }

    // Contacts: the domain function and the route validate, merge and announce.
    let saved = ca::set_for_contact(
        &mut app.conn(),
        acc,
        contact_id,
        &json!({"plan": "silver", "seats": 2}),
    )
    .unwrap();
    assert_eq!(
        saved.custom_attributes,
        json!({"plan": "Silver", "seats": 2})
    );
    let err =
        ca::set_for_contact(&mut app.conn(), acc, contact_id, &json!({"seats": "x"})).unwrap_err();
    assert!(err.to_string().contains("must be a number"), "{err}");
    let contact_route = format!("/api/v1/accounts/{acc}/contacts/{contact_id}/custom_attributes");
    let (status, out) = app
        .api(
            "POST",
            &contact_route,
            Some(json!({"custom_attributes": {"seats": null, "vip": "yes"}})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(
        out["custom_attributes"],
        json!({"plan": "Silver", "vip": true})
    );
    let (status, err) = app
        .api(
            "POST",
            &contact_route,
            Some(json!({"custom_attributes": {"plan": "Bronze"}})),
            &app.token,
        )
        .await;
    assert_eq!(
        (status, err["field"].clone()),
        (422, json!("custom_attributes.plan"))
    );
    assert!(
        app.count(
            "jobs WHERE kind = 'webhook_delivery' AND payload->>'event' = 'contact_updated' \
             AND payload->'body'->'custom_attributes'->>'plan' = 'Silver'"
        ) >= 2,
        "contact_updated carries the attributes"
    );
    let (_, contact) = app
        .api(
            "GET",
            &format!("/api/v1/accounts/{acc}/contacts/{contact_id}"),
            None,
            &app.token,
        )
        .await;
    assert_eq!(contact["payload"]["custom_attributes"]["plan"], "Silver");

    // The contacts filter's building blocks: a condition on a contact attribute as a
    // predicate on `contacts`.
    {
        use diesel::prelude::*;
        use switchboard::db::schema::contacts;
        let mut conn = app.conn();
        let count = |conn: &mut diesel::PgConnection, op: &str, values: Value| -> i64 {
            let c = ca::parse_contact_condition(
                conn,
                acc,
                "payload[0]",
                "plan",
                op,
                values.as_array().unwrap(),
            )
            .unwrap()
            .expect("plan is a contact attribute");
            contacts::table
                .filter(contacts::account_id.eq(acc))
                .filter(ca::predicate::<contacts::table>(
                    "contacts.custom_attributes",
                    &c,
                ))
                .count()
                .get_result(conn)
                .unwrap()
        };
        assert_eq!(count(&mut conn, "equal_to", json!(["Silver"])), 1);
        assert_eq!(count(&mut conn, "equal_to", json!(["Gold"])), 0);
        assert_eq!(count(&mut conn, "is_present", json!([])), 1);
        assert!(ca::parse_contact_condition(
            &mut conn,
            acc,
            "payload[0]",
            "nope",
            "equal_to",
            &[json!("x")]
        )
        .unwrap()
        .is_none());
    }

    // Another account and an agent outside the inbox: 404.
    let other = accounts::create_admin(
        &mut app.conn(),
        "Else",
        "Eve",
        "eve@example.com",
        "password1",
    )
    .unwrap();
    let theirs = format!(
        "/api/v1/accounts/{}/conversations/{display_id}/custom_attributes",
        other.account_id
    );
    let (status, _) = app
        .api(
            "POST",
            &theirs,
            Some(json!({"custom_attributes": {"seats": 1}})),
            &other.api_access_token,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/contacts/{contact_id}/custom_attributes",
                other.account_id
            ),
            Some(json!({"custom_attributes": {"seats": 1}})),
            &other.api_access_token,
        )
        .await;
    assert_eq!(status, 404);
    let (_, ben) = app.create_agent("ben@example.com");
    let (status, _) = app
        .api(
            "POST",
            &conv,
            Some(json!({"custom_attributes": {"seats": "bad"}})),
            &ben,
        )
        .await;
    assert_eq!(status, 404, "404 before the 422");
    let (status, _) = app
        .api(
            "POST",
            &contact_route,
            Some(json!({"custom_attributes": {"seats": 1}})),
            &ben,
        )
        .await;
    assert_eq!(status, 404);
    let err = ca::validate(
        &mut app.conn(),
        other.account_id,
        Model::Contact,
        &json!({"plan": "Gold"}),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("no custom attribute"),
        "definitions are per account: {err}"
    );
}

#[actix_rt::test]
async fn conversations_filter_by_custom_attribute() {
    let app = TestApp::start();
    let acc = app.account_id;
    app.create_inbox(json!({})).await;
    app.deliver("text.json").await;
    let display_id = app
        .query_json("SELECT to_jsonb(min(display_id)) FROM conversations")
        .as_i64()
        .unwrap();
    for (key, kind, extra) in [
        (
            "plan",
            "list",
            json!({"attribute_values": ["Gold", "Silver"]}),
        ),
        ("seats", "number", json!({})),
        ("renewal", "date", json!({})),
        ("vip", "checkbox", json!({})),
        ("note", "text", json!({})),
    ] {
        let mut body = json!({"attribute_display_name": key, "attribute_display_type": kind,
                              "attribute_key": key, "attribute_model": 0});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        define(&app, body).await;
    }
    // A stored value of another type (written before the definition) never breaks a query.
    {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!(
            "UPDATE conversations SET custom_attributes = '{{\"seats\": \"lots\"}}' \
             WHERE display_id = {display_id}"
        ))
        .execute(&mut app.conn())
        .unwrap();
    }
    let filter = format!("/api/v1/accounts/{acc}/conversations/filter");
    let ids = |v: &Value| -> Vec<i64> {
        v["payload"]
            .as_array()
            .unwrap_or(&vec![])
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    let run = |cond: Value| {
        let app = &app;
        let filter = filter.clone();
        async move {
            app.api(
                "POST",
                &filter,
                Some(json!({"payload": [cond]})),
                &app.token,
            )
            .await
        }
    };
    let (status, out) = run(json!({"attribute_key": "seats", "filter_operator": "is_greater_than",
                                   "values": [1], "custom_attribute_type": "conversation_attribute"}))
    .await;
    assert_eq!(status, 200, "{out}");
    assert!(ids(&out).is_empty());

    app.api(
        "POST",
        &format!("/api/v1/accounts/{acc}/conversations/{display_id}/custom_attributes"),
        Some(
            json!({"custom_attributes": {"plan": "Gold", "seats": 12, "renewal": "2026-11-30",
                                          "vip": true, "note": "Wants a Callback"}}),
        ),
        &app.token,
    )
    .await;
    let hits = [
        json!({"attribute_key": "plan", "filter_operator": "equal_to", "values": ["Gold"]}),
        json!({"attribute_key": "plan", "filter_operator": "not_equal_to", "values": ["Silver"]}),
        json!({"attribute_key": "plan", "filter_operator": "is_present", "values": []}),
        json!({"attribute_key": "seats", "filter_operator": "is_greater_than", "values": ["10"]}),
        json!({"attribute_key": "seats", "filter_operator": "is_less_than", "values": [13]}),
        json!({"attribute_key": "seats", "filter_operator": "equal_to", "values": [12]}),
        json!({"attribute_key": "renewal", "filter_operator": "is_greater_than", "values": ["2026-11-01"]}),
        json!({"attribute_key": "vip", "filter_operator": "equal_to", "values": [true]}),
        json!({"attribute_key": "note", "filter_operator": "contains", "values": ["callback"]}),
        json!({"attribute_key": "note", "filter_operator": "equal_to", "values": ["wants a callback"]}),
    ];
    for cond in hits {
        let (status, out) = run(cond.clone()).await;
        assert_eq!(status, 200, "{cond} → {out}");
        assert_eq!(ids(&out).len(), 1, "{cond} matches");
    }
    let misses = [
        json!({"attribute_key": "plan", "filter_operator": "equal_to", "values": ["Silver"]}),
        json!({"attribute_key": "plan", "filter_operator": "is_not_present", "values": []}),
        json!({"attribute_key": "seats", "filter_operator": "is_greater_than", "values": [12]}),
        json!({"attribute_key": "renewal", "filter_operator": "is_less_than", "values": ["2026-11-30"]}),
        json!({"attribute_key": "vip", "filter_operator": "equal_to", "values": ["false"]}),
        json!({"attribute_key": "note", "filter_operator": "does_not_contain", "values": ["CALL"]}),
    ];
    for cond in misses {
        let (status, out) = run(cond.clone()).await;
        assert_eq!(status, 200, "{cond} → {out}");
        assert!(ids(&out).is_empty(), "{cond} does not match");
    }
    // Combined with a standard condition.
    let (status, out) = app
        .api(
            "POST",
            &filter,
            Some(json!({"payload": [
                {"attribute_key": "status", "filter_operator": "equal_to", "values": ["open"],
                 "query_operator": "AND"},
                {"attribute_key": "plan", "filter_operator": "equal_to", "values": ["Gold"]}]})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(ids(&out).len(), 1);

    // Bad conditions: 422 naming the part.
    for (cond, field) in [
        (
            json!({"attribute_key": "nope", "filter_operator": "equal_to", "values": ["x"]}),
            "payload[0].attribute_key",
        ),
        (
            json!({"attribute_key": "plan", "filter_operator": "is_greater_than", "values": ["x"]}),
            "payload[0].filter_operator",
        ),
        (
            json!({"attribute_key": "plan", "filter_operator": "equal_to", "values": ["Bronze"]}),
            "payload[0].values",
        ),
        (
            json!({"attribute_key": "seats", "filter_operator": "equal_to", "values": ["many"]}),
            "payload[0].values",
        ),
        (
            json!({"attribute_key": "seats", "filter_operator": "equal_to", "values": []}),
            "payload[0].values",
        ),
    ] {
        let (status, err) = run(cond.clone()).await;
        assert_eq!(status, 422, "{cond} → {err}");
        assert_eq!(err["field"], field, "{cond} → {err}");
    }

    // A saved view with a custom attribute condition lists through the inbox screen.
    let (status, view) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{acc}/custom_filters"),
            Some(json!({"name": "Gold", "filter_type": "conversation",
                        "query": {"payload": [{"attribute_key": "plan",
                                  "filter_operator": "equal_to", "values": ["Gold"]}]}})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{view}");
}

//! Gaps of issues 10, 11 and 12 closed by the `gaps` branch, through the doors people use:
//! the UI pages' Content-Security-Policy (signed in with a session cookie), a
//! Dualhook-connected inbox receiving forwarded messages while `WHATSAPP_APP_SECRET` is set,
//! Meta's `template_category_update` fixture on the message route, and the contacts bulk
//! action (`POST /bulk_actions` with `type: "Contact"`).

use crate::common::session::Browser;
use crate::common::*;
use actix_web::{test, App};
use serde_json::{json, Value};
use switchboard::app;
use switchboard::domain::templates;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// GETs `path` with the browser's session cookie; returns status and the CSP header.
async fn csp_of(b: &Browser<'_>, path: &str) -> (u16, Option<String>) {
    let svc = test::init_service(App::new().configure(app::configure(b.app.state.clone()))).await;
    let mut req = test::TestRequest::get().uri(path);
    for c in &b.cookies {
        req = req.cookie(c.clone());
    }
    let resp = test::call_service(&svc, req.to_request()).await;
    let csp = resp
        .headers()
        .get("content-security-policy")
        .map(|v| v.to_str().unwrap().to_string());
    (resp.status().as_u16(), csp)
}

/// The directive `name` of a policy, split into its sources.
fn directive(policy: &str, name: &str) -> Option<Vec<String>> {
    policy.split(';').map(str::trim).find_map(|d| {
        let mut parts = d.split_whitespace();
        (parts.next() == Some(name)).then(|| parts.map(str::to_string).collect())
    })
}

#[actix_rt::test]
async fn ui_pages_send_a_content_security_policy_that_forbids_remote_scripts() {
    let app = TestApp::start();
    app.create_inbox_direct();
    let mut b = Browser::new(&app);
    // The sign-in page itself, before any session.
    let (status, csp) = csp_of(&b, "/app/login").await;
    assert_eq!(status, 200);
    assert!(csp.is_some(), "the login page sends a CSP");
    let (status, _, _) = b.sign_in("ana@example.com", "correct horse").await;
    assert_eq!(status, 303);
    let acc = app.account_id;
    for page in [
        format!("/app/accounts/{acc}/conversations"),
        format!("/app/accounts/{acc}/contacts"),
        format!("/app/accounts/{acc}/search"),
        format!("/app/accounts/{acc}/settings/inboxes"),
        format!("/app/accounts/{acc}/settings/labels"),
        format!("/app/accounts/{acc}/contacts/import"),
    ] {
        let (status, csp) = csp_of(&b, &page).await;
        assert_eq!(status, 200, "{page}");
        let csp = csp.unwrap_or_else(|| panic!("{page} sends no Content-Security-Policy"));
        // Scripts only from our own origin: no remote host, no inline, no eval, no data:.
        let scripts = directive(&csp, "script-src")
            .or_else(|| directive(&csp, "default-src"))
            .unwrap_or_else(|| panic!("{page}: no script-src nor default-src in {csp}"));
        assert_eq!(
            scripts,
            vec!["'self'"],
            "{page}: script sources {scripts:?}"
        );
        assert_eq!(
            directive(&csp, "default-src"),
            Some(vec!["'self'".to_string()]),
            "{page}: {csp}"
        );
        assert_eq!(
            directive(&csp, "object-src"),
            Some(vec!["'none'".to_string()])
        );
        assert_eq!(
            directive(&csp, "base-uri"),
            Some(vec!["'none'".to_string()])
        );
        for s in [
            "*",
            "http:",
            "https:",
            "'unsafe-inline'",
            "'unsafe-eval'",
            "data:",
        ] {
            assert!(
                !scripts.iter().any(|x| x == s),
                "{page}: script-src allows {s}"
            );
        }
        // Every page's <script> tags name our own files only.
        let (_, html, _) = b.get(&page).await;
        for (i, _) in html.match_indices("<script") {
            let tag = &html[i..i + html[i..].find('>').unwrap()];
            assert!(
                tag.contains("src=\"/static/"),
                "{page}: a script that is not ours: {tag}"
            );
        }
    }
}

// ---------- Dualhook: forwarded messages while WHATSAPP_APP_SECRET is set ----------

const DH_SECRET: &str = "dh_test_partner_secret_0123456789abcdef";
const DH_API_KEY: &str = "dh_live_test_key_0123456789";
const META_APP_SECRET: &str = "our-own-meta-app-secret-0123456789";

fn dualhook_fixture(name: &str) -> Vec<u8> {
    let p = format!(
        "{}/../shared/fixtures/dualhook/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// Posts the lifecycle fixture `name` to the account's event URL with its recorded headers.
async fn deliver_lifecycle(app: &TestApp, name: &str) {
    let table: Value = serde_json::from_slice(&dualhook_fixture("signatures.json")).unwrap();
    let file = format!("lifecycle/{name}.json");
    let h = &table["files"][&file];
    let body = dualhook_fixture(&file);
    let svc = test::init_service(App::new().configure(app::configure(app.state.clone()))).await;
    let req = test::TestRequest::post()
        .uri(&format!("/webhooks/dualhook/{}", app.account_id))
        .insert_header(("content-type", "application/json"))
        .insert_header((
            "x-dualhook-event-id",
            h["X-Dualhook-Event-Id"].as_str().unwrap(),
        ))
        .insert_header((
            "x-dualhook-signature",
            h["X-Dualhook-Signature"].as_str().unwrap(),
        ))
        .set_payload(body);
    let resp = test::call_service(&svc, req.to_request()).await;
    assert_eq!(resp.status().as_u16(), 200, "{name}");
}

#[actix_rt::test]
async fn a_dualhook_inbox_keeps_receiving_forwarded_messages_while_whatsapp_app_secret_is_set() {
    let rest = |name: &str| -> Value {
        serde_json::from_slice(&dualhook_fixture(&format!("rest/{name}"))).unwrap()
    };
    let dualhook = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/connections/conn_3Zt8pLw5QeN1/reveal-secrets"))
        .and(header(
            "authorization",
            format!("Bearer {DH_API_KEY}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(rest("reveal_secrets_response.json")),
        )
        .mount(&dualhook)
        .await;
    let graph = MockServer::start().await;
    mount_graph_defaults(&graph).await;
    let number: Value = serde_json::from_slice(
        &std::fs::read(shared_fixture("graph/phone_number_health.json")).unwrap(),
    )
    .unwrap();
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{PHONE_NUMBER_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(number))
        .mount(&graph)
        .await;
    let app = TestApp::start_with(Options {
        graph_base_url: Some(graph.uri()),
        dualhook_base_url: Some(dualhook.uri()),
        global_app_secret: Some(META_APP_SECRET.into()),
        ..Default::default()
    });
    let (status, json) = app
        .api(
            "PUT",
            &format!("/api/v1/accounts/{}/integrations/dualhook", app.account_id),
            Some(json!({"api_key": DH_API_KEY, "partner_secret": DH_SECRET})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 200, "{json}");
    deliver_lifecycle(&app, "onboarding_started").await;
    deliver_lifecycle(&app, "onboarding_completed_coexistence").await;
    switchboard::jobs::dualhook::run_due(&app.state)
        .await
        .expect("dualhook jobs");
    let channel = app.query_json(&format!(
        "SELECT to_jsonb(c) FROM channel_whatsapp c WHERE phone_number_id = '{PHONE_NUMBER_ID}'"
    ));
    assert_eq!(channel["source"], "dualhook", "{channel}");
    app.state.phone_cache.clear();

    // Forwarded by Dualhook: signed with Dualhook's app secret (not ours), or not at all.
    // The decision order: a channel, provider whatsapp_cloud, no app secret of its own, not
    // Embedded Signup → no signature required, even though WHATSAPP_APP_SECRET is set.
    let text = |suffix: &str| -> Vec<u8> {
        let raw =
            String::from_utf8(with_current_timestamps(&webhook_fixture("text.json"))).unwrap();
        let mut v: Value = serde_json::from_str(&raw).unwrap();
        let msg = &mut v["entry"][0]["changes"][0]["value"]["messages"][0];
        msg["id"] = json!(format!("wamid.gaps-dualhook-{suffix}"));
        msg["text"]["body"] = json!(format!("forwarded {suffix}"));
        serde_json::to_vec(&v).unwrap()
    };
    let body = text("unsigned");
    let (status, out) = app.post_webhook(PHONE, &body, None).await;
    assert_eq!(status, 200, "{out}");
    let body = text("dualhook-signed");
    let (status, out) = app
        .post_webhook(
            PHONE,
            &body,
            Some(sign("dualhooks-own-meta-app-secret", &body)),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    let body = text("meta-signed");
    let (status, out) = app
        .post_webhook(PHONE, &body, Some(sign(META_APP_SECRET, &body)))
        .await;
    assert_eq!(status, 200, "{out}");
    app.ingest();
    let bodies = app
        .query_json("SELECT jsonb_agg(content ORDER BY id) FROM messages WHERE message_type = 0");
    assert_eq!(
        bodies,
        json!([
            "forwarded unsigned",
            "forwarded dualhook-signed",
            "forwarded meta-signed"
        ])
    );
    assert_eq!(app.count("conversations"), 1);

    // Step 1 still holds with the secret set: a number without an inbox must be signed.
    let body = text("stranger");
    let (status, _) = app.post_webhook("+15550000000", &body, None).await;
    assert_eq!(status, 401);
    let (status, _) = app
        .post_webhook("+15550000000", &body, Some(sign(META_APP_SECRET, &body)))
        .await;
    assert_eq!(status, 404);

    // Step 3: once the inbox carries its own app secret, only that one signs for it.
    let (status, json) = app
        .api(
            "PATCH",
            &format!(
                "/api/v1/accounts/{}/inboxes/{}",
                app.account_id,
                app.query_json("SELECT to_jsonb(inbox_id) FROM dualhook_inboxes")
                    .as_i64()
                    .expect("the Dualhook inbox")
            ),
            Some(json!({"channel": {"provider_config": {"app_secret": "inbox-own-secret-1234"}}})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 200, "setting the inbox's app secret: {json}");
    app.state.phone_cache.clear();
    let body = text("after-own-secret");
    let (status, _) = app.post_webhook(PHONE, &body, None).await;
    assert_eq!(status, 401, "the inbox's own secret is enforced");
    let (status, _) = app
        .post_webhook(PHONE, &body, Some(sign(META_APP_SECRET, &body)))
        .await;
    assert_eq!(status, 401, "WHATSAPP_APP_SECRET no longer signs for it");
    let (status, _) = app
        .post_webhook(PHONE, &body, Some(sign("inbox-own-secret-1234", &body)))
        .await;
    assert_eq!(status, 200);
}

// ---------- template_category_update on the message route ----------

#[actix_rt::test]
async fn the_template_category_update_fixture_recategorises_the_template() {
    let app = TestApp::start();
    let (inbox, _) = app.create_inbox_direct();
    templates::replace_all(
        &mut app.conn(),
        app.account_id,
        inbox.id,
        &[templates::SyncedTemplate {
            external_id: Some("1304694804498707".into()),
            name: "reservation_confirmation".into(),
            language: "en_US".into(),
            status: "APPROVED".into(),
            category: Some("UTILITY".into()),
            parameter_format: "POSITIONAL".into(),
            components: json!([{"type": "BODY", "text": "Your table is booked"}]),
        }],
        chrono::Utc::now(),
    )
    .expect("templates");
    let body = std::fs::read(shared_fixture("management/template_category_update.json")).unwrap();
    // Meta's own delivery to the number's route (a manual inbox without an app secret).
    let (status, text) = app.post_webhook(PHONE, &body, None).await;
    assert_eq!(status, 200, "{text}");
    app.ingest();
    assert_eq!(app.count("whatsapp_events WHERE status <> 'processed'"), 0);
    let row = app.query_json(
        "SELECT to_jsonb(t) FROM message_templates t WHERE name = 'reservation_confirmation'",
    );
    assert_eq!(row["category"], "MARKETING", "{row}");
    let signal = app.query_json(
        "SELECT to_jsonb(s) FROM whatsapp_template_signals s JOIN message_templates t ON t.id = s.template_id WHERE t.name = 'reservation_confirmation'",
    );
    assert_eq!(signal["previous_category"], "UTILITY", "{signal}");
    assert!(signal["pending_category"].is_null());

    // What the administrator sees on the inbox's page, and the API's template.
    let mut b = Browser::new(&app);
    b.sign_in("ana@example.com", "correct horse").await;
    let (status, html, _) = b
        .get(&format!(
            "/app/accounts/{}/settings/inboxes/{}",
            app.account_id, inbox.id
        ))
        .await;
    assert_eq!(status, 200);
    let at = html
        .find(">reservation_confirmation<")
        .expect("the template is listed");
    let row_html = &html[at..at + html[at..].find("</tr>").unwrap_or(html.len() - at)];
    assert!(row_html.contains("MARKETING"), "{row_html}");
    assert!(row_html.contains("Was UTILITY"), "{row_html}");

    // The same delivery again (Meta retries) changes nothing more.
    let (status, _) = app.post_webhook(PHONE, &body, None).await;
    assert_eq!(status, 200);
    app.ingest();
    assert_eq!(app.count("whatsapp_events WHERE status <> 'processed'"), 0);
    let again = app.query_json(
        "SELECT to_jsonb(t.category) FROM message_templates t WHERE name = 'reservation_confirmation'",
    );
    assert_eq!(again, "MARKETING");
}

// ---------- contacts bulk actions (POST /bulk_actions, type Contact) ----------

fn seed_contacts(app: &TestApp) {
    use diesel::RunQueryDsl;
    let acc = app.account_id;
    for sql in [
        format!("INSERT INTO labels (account_id, title, color) VALUES ({acc}, 'vip', '#20bf6b')"),
        format!(
            "INSERT INTO contacts (account_id, name, phone_number, labels, created_at)
             SELECT {acc}, format('Silva %s', n), format('+1202555%s', lpad(n::text, 4, '0')),
                    CASE WHEN n <= 3 THEN ARRAY['lead'] ELSE '{{}}'::text[] END,
                    now() - n * interval '1 minute'
             FROM generate_series(1, 60) n"
        ),
        format!(
            "INSERT INTO contacts (account_id, name, created_at)
             SELECT {acc}, format('Other %s', n), now() - interval '1 day' FROM generate_series(1, 4) n"
        ),
    ] {
        diesel::sql_query(sql).execute(&mut app.conn()).unwrap();
    }
}

fn contact_ids(app: &TestApp, like: &str) -> Vec<i64> {
    serde_json::from_value(app.query_json(&format!(
        "SELECT coalesce(jsonb_agg(id ORDER BY id), '[]') FROM contacts WHERE name LIKE '{like}'"
    )))
    .unwrap()
}

#[actix_rt::test]
async fn contact_bulk_actions_are_one_atomic_request() {
    let app = TestApp::start();
    seed_contacts(&app);
    let url = format!("/api/v1/accounts/{}/bulk_actions", app.account_id);
    let token = app.token.clone();
    let silvas = contact_ids(&app, "Silva %");
    let others = contact_ids(&app, "Other %");
    let events_before = app.count("realtime_events WHERE name = 'contact.updated'");

    // Labels on named contacts: added to what each has, sorted, once.
    let (status, json) = app
        .api(
            "POST",
            &url,
            Some(json!({"type": "Contact", "ids": [silvas[0], silvas[1], silvas[10], silvas[0]], "labels": {"add": ["VIP"]}})),
            &token,
        )
        .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json, json!({"count": 3, "changed": 3}));
    assert_eq!(
        app.query_json(&format!(
            "SELECT to_jsonb(labels) FROM contacts WHERE id = {}",
            silvas[0]
        )),
        json!(["lead", "vip"])
    );
    assert_eq!(app.count("contacts WHERE 'vip' = ANY(labels)"), 3);
    assert_eq!(
        app.count("realtime_events WHERE name = 'contact.updated'") - events_before,
        3
    );
    // Again: nothing changes, no event.
    let (_, json) = app
        .api(
            "POST",
            &url,
            Some(json!({"type": "contact", "ids": [silvas[0]], "labels": {"add": ["vip"]}})),
            &token,
        )
        .await;
    assert_eq!(json, json!({"count": 1, "changed": 0}));

    // All or nothing: one id of another account (or absent) refuses the whole action.
    let (status, json) = app
        .api(
            "POST",
            &url,
            Some(json!({"type": "Contact", "ids": [silvas[2], 999_999_999], "labels": {"add": ["gold"]}})),
            &token,
        )
        .await;
    assert_eq!(status, 404, "{json}");
    assert!(json.to_string().contains("999999999"), "{json}");
    assert_eq!(app.count("contacts WHERE 'gold' = ANY(labels)"), 0);

    // Every contact matching the list's search and filters, resolved on the server.
    let (status, json) = app
        .api(
            "POST",
            &url,
            Some(json!({"type": "Contact", "matching": {"q": "silva", "label": "lead"}, "labels": {"add": ["gold"]}})),
            &token,
        )
        .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["count"], 3);
    let (status, json) = app
        .api(
            "POST",
            &url,
            Some(json!({"type": "Contact", "matching": {"q": "silva", "sort": "name", "after": "5"}, "labels": {"add": ["silva"]}})),
            &token,
        )
        .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["count"], 60, "paging is ignored: every match");
    assert_eq!(app.count("contacts WHERE 'silva' = ANY(labels)"), 60);
    assert_eq!(
        app.count("contacts WHERE name LIKE 'Other %' AND labels <> '{}'"),
        0
    );

    // Bad input: 4xx with the field named, never a 5xx.
    for (body, status, field) in [
        (
            json!({"type": "Contact", "labels": {"add": ["x"]}}),
            422,
            "ids",
        ),
        (
            json!({"type": "Contact", "ids": [], "labels": {"add": ["x"]}}),
            422,
            "ids",
        ),
        (
            json!({"type": "Contact", "ids": "1,2", "labels": {"add": ["x"]}}),
            422,
            "ids",
        ),
        (
            json!({"type": "Contact", "ids": [1e30], "labels": {"add": ["x"]}}),
            422,
            "ids",
        ),
        (
            json!({"type": "Contact", "ids": [-4], "labels": {"add": ["x"]}}),
            422,
            "ids",
        ),
        (
            json!({"type": "Contact", "ids": [silvas[0]], "matching": {}, "labels": {"add": ["x"]}}),
            422,
            "ids",
        ),
        (
            json!({"type": "Contact", "matching": "q=silva", "labels": {"add": ["x"]}}),
            422,
            "matching",
        ),
        (
            json!({"type": "Contact", "matching": {"q": 5}, "labels": {"add": ["x"]}}),
            422,
            "matching.q",
        ),
        (
            json!({"type": "Contact", "matching": {"created_from": "yesterday"}, "labels": {"add": ["x"]}}),
            422,
            "created_from",
        ),
        (
            json!({"type": "Contact", "matching": {"attr": "nope"}, "labels": {"add": ["x"]}}),
            422,
            "attr",
        ),
        (
            json!({"type": "Contact", "matching": {"q": "zzzzzz"}, "labels": {"add": ["x"]}}),
            422,
            "ids",
        ),
        (
            json!({"type": "Contact", "ids": [silvas[0]]}),
            422,
            "labels",
        ),
        (
            json!({"type": "Contact", "ids": [silvas[0]], "labels": {"add": []}}),
            422,
            "labels",
        ),
        (
            json!({"type": "Contact", "ids": [silvas[0]], "labels": {"remove": ["vip"]}}),
            422,
            "labels",
        ),
        (
            json!({"type": "Contact", "ids": [silvas[0]], "labels": {"add": [7]}}),
            422,
            "labels",
        ),
        (
            json!({"type": "Contact", "ids": [silvas[0]], "labels": {"add": ["a\u{0}b"]}}),
            400,
            "labels.add[0]",
        ),
        (
            json!({"type": "Contact", "ids": [silvas[0]], "action_name": "explode"}),
            422,
            "action_name",
        ),
        (
            json!({"type": "Contact", "ids": [silvas[0]], "action_name": "delete", "labels": {"add": ["x"]}}),
            422,
            "action_name",
        ),
        (
            json!({"type": "Contact", "matching": {"q": "a\u{0}"}, "labels": {"add": ["x"]}}),
            400,
            "matching.q",
        ),
    ] {
        let (got, json) = app.api("POST", &url, Some(body.clone()), &token).await;
        assert_eq!(got, status, "{body} → {json}");
        assert_eq!(json["field"], field, "{body} → {json}");
    }
    let too_many: Vec<i64> = (1..=10_001).collect();
    let (got, json) = app
        .api(
            "POST",
            &url,
            Some(json!({"type": "Contact", "ids": too_many, "labels": {"add": ["x"]}})),
            &token,
        )
        .await;
    assert_eq!(got, 422, "{json}");
    assert_eq!(app.count("contacts WHERE 'x' = ANY(labels)"), 0);

    // Delete: administrators only; all or nothing; the conversations go too.
    let (_, agent_token) = app.create_agent("ben@example.com");
    let (status, _) = app
        .api(
            "POST",
            &url,
            Some(json!({"type": "Contact", "ids": [others[0]], "action_name": "delete"})),
            &agent_token,
        )
        .await;
    assert_eq!(status, 403);
    // An agent sees no contact outside their inboxes: labels on them are a 404.
    let (status, _) = app
        .api(
            "POST",
            &url,
            Some(json!({"type": "Contact", "ids": [others[0]], "labels": {"add": ["vip"]}})),
            &agent_token,
        )
        .await;
    assert_eq!(status, 404);
    let (status, json) = app
        .api(
            "POST",
            &url,
            Some(
                json!({"type": "Contact", "ids": [others[0], others[1]], "action_name": "delete"}),
            ),
            &token,
        )
        .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json, json!({"count": 2, "changed": 2}));
    assert_eq!(app.count("contacts WHERE name LIKE 'Other %'"), 2);
    assert_eq!(
        app.count("realtime_events WHERE name = 'contact.deleted'"),
        2
    );
    let (status, json) = app
        .api(
            "POST",
            &url,
            Some(json!({"type": "Contact", "matching": {"q": "silva", "label": "gold"}, "action_name": "delete"})),
            &token,
        )
        .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["count"], 3);
    assert_eq!(app.count("contacts WHERE name LIKE 'Silva %'"), 57);

    // Another account's contacts are never reached, by ids or by matching.
    let mut conn = app.conn();
    let other = switchboard::domain::accounts::create_admin(
        &mut conn,
        "Other Co",
        "Olga",
        "olga@example.com",
        "another password",
    )
    .unwrap();
    drop(conn);
    let (status, _) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{}/bulk_actions", other.account_id),
            Some(json!({"type": "Contact", "ids": [silvas[20]], "action_name": "delete"})),
            &other.api_access_token,
        )
        .await;
    assert_eq!(status, 404);
    let (status, json) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{}/bulk_actions", other.account_id),
            Some(json!({"type": "Contact", "matching": {"q": "silva"}, "action_name": "delete"})),
            &other.api_access_token,
        )
        .await;
    assert_eq!(status, 422, "nothing of theirs matches: {json}");
    assert_eq!(app.count("contacts WHERE name LIKE 'Silva %'"), 57);

    // The conversation bulk action is unchanged by the type switch.
    let (status, json) = app
        .api(
            "POST",
            &url,
            Some(json!({"type": "Conversation", "ids": [], "fields": {"status": "resolved"}})),
            &token,
        )
        .await;
    assert_eq!(status, 422, "{json}");
    assert_eq!(json["field"], "ids");
}

#[actix_rt::test]
async fn the_contact_count_partial_counts_what_select_all_matching_covers() {
    let app = TestApp::start();
    seed_contacts(&app);
    let mut b = Browser::new(&app);
    b.sign_in("ana@example.com", "correct horse").await;
    let base = format!("/app/accounts/{}/partials/contact_count", app.account_id);
    let (status, body, _) = b.get(&format!("{base}?q=silva")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"total": 60, "exact": true})
    );
    let (_, body, _) = b.get(&format!("{base}?q=silva&label=lead")).await;
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["total"], 3);
    let (status, _, _) = b.get(&format!("{base}?created_from=nope")).await;
    assert_eq!(status, 422);
    // Signed out: no answer.
    let mut anonymous = Browser::new(&app);
    let (status, _, _) = anonymous.get(&format!("{base}?q=silva")).await;
    assert!(status == 401 || status == 302 || status == 303, "{status}");
}

//! The OpenAPI document's response schemas match what the API really answers: real
//! responses of a seeded account (contacts, conversations, messages with attachments,
//! inboxes, …) are validated against the 200 schema the served document declares for their
//! operation, so a view that drifts from its schema fails here even without schemathesis.
//! The `jsonschema` crate validates (a dev-dependency).

use crate::common::*;
use serde_json::{json, Value};

const SCHEMA_PREFIX: &str = "#/components/schemas/";

/// The tags whose operations each answer a typed 2xx body (`dualhook` is not here: its
/// webhook routes answer Meta, not the API).
const TYPED_TAGS: &[&str] = &[
    "contacts",
    "contact_notes",
    "conversations",
    "conversation_actions",
    "conversation_create",
    "conversation_filters",
    "messages",
    "inboxes",
    "inbox_members",
    "automation",
    "csat",
    "search",
    "message_templates",
    "business_profile",
    "contact_csv",
    "reports",
];

/// 2xx responses still declared as an untyped `JsonValue` (125 before the response
/// schemas; the 6 left: `/health`, `/ready` and the routes that receive Meta's and
/// Dualhook's webhooks): lower it as more get typed, never raise it.
const MAX_UNTYPED: usize = 6;

/// Where `value` breaks `schema` (empty when it conforms), `path` naming each place. The
/// `jsonschema` crate validates (draft 2020-12, which OpenAPI 3.1 schemas are): `schema` gets
/// the document's `components` beside it, so its `#/components/schemas/…` references resolve.
fn violations(doc: &Value, schema: &Value, value: &Value, path: &str) -> Vec<String> {
    let root = match schema {
        Value::Object(o) => {
            let mut o = o.clone();
            o.insert("components".into(), doc["components"].clone());
            Value::Object(o)
        }
        other => other.clone(),
    };
    let validator = jsonschema::draft202012::new(&root)
        .unwrap_or_else(|e| panic!("{path}: the schema does not compile: {e}"));
    validator
        .iter_errors(value)
        .map(|e| format!("{path}{}: {e}", e.instance_path()))
        .collect()
}

/// The JSON schema of `method path`'s 200 answer in `doc`.
fn response_schema<'d>(doc: &'d Value, method: &str, path: &str) -> &'d Value {
    let op = &doc["paths"][path][method.to_lowercase()];
    assert!(
        op.is_object(),
        "no operation {method} {path} in the document"
    );
    let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} declares no JSON 200 body: {}",
        op["responses"]
    );
    schema
}

/// The component schema an operation's 200 body refers to, directly or as its items.
fn referenced_name(schema: &Value) -> Option<String> {
    let r = schema["$ref"]
        .as_str()
        .or_else(|| schema["items"]["$ref"].as_str())?;
    r.strip_prefix(SCHEMA_PREFIX).map(str::to_string)
}

/// Names of the component schemas reachable from a checked response's schema, to see that
/// the run covered the core ones.
fn refs_in(doc: &Value, schema: &Value, seen: &mut std::collections::BTreeSet<String>) {
    match schema {
        Value::Object(o) => {
            if let Some(r) = o.get("$ref").and_then(Value::as_str) {
                let name = r.trim_start_matches(SCHEMA_PREFIX).to_string();
                if seen.insert(name.clone()) {
                    refs_in(doc, &doc["components"]["schemas"][&name], seen);
                }
            }
            for v in o.values() {
                refs_in(doc, v, seen);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| refs_in(doc, v, seen)),
        _ => {}
    }
}

struct Checker<'a> {
    app: &'a TestApp,
    doc: Value,
    failures: Vec<String>,
    checked: Vec<String>,
    schemas: std::collections::BTreeSet<String>,
}

impl<'a> Checker<'a> {
    /// A checker of `app`'s responses against the document it serves.
    async fn new(app: &'a TestApp) -> Checker<'a> {
        let (_, doc) = app.api("GET", "/api/v1/openapi.json", None, "").await;
        Checker {
            app,
            doc,
            failures: Vec::new(),
            checked: Vec::new(),
            schemas: Default::default(),
        }
    }

    /// Calls `method real_path` (the operation `method path`), expects 200, and validates
    /// the body against the operation's 200 schema. Returns the body.
    async fn call(
        &mut self,
        method: &str,
        path: &str,
        real_path: &str,
        body: Option<Value>,
    ) -> Value {
        let (status, json) = self
            .app
            .api(method, real_path, body, &self.app.token.clone())
            .await;
        assert_eq!(status, 200, "{method} {real_path}: {json}");
        self.check(method, path, real_path, &json);
        json
    }

    /// Validates `json`, the 200 answer of `method real_path` (the operation `method path`),
    /// against the operation's 200 schema.
    fn check(&mut self, method: &str, path: &str, real_path: &str, json: &Value) {
        let schema = response_schema(&self.doc, method, path).clone();
        assert!(
            referenced_name(&schema).as_deref() != Some("JsonValue"),
            "{method} {path} answers an untyped body: {schema}"
        );
        refs_in(&self.doc, &schema, &mut self.schemas);
        let found = violations(&self.doc, &schema, json, "$");
        if !found.is_empty() {
            self.failures.push(format!(
                "{method} {real_path} contradicts its schema {schema}:\n  {}\n  body: {json}",
                found.join("\n  ")
            ));
        }
        self.checked.push(format!("{method} {path}"));
    }
}

#[actix_rt::test]
async fn core_responses_match_their_openapi_schemas() {
    let app = TestApp::start();
    let inbox = app.create_inbox(json!({})).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    // A conversation whose thread has text, media, a location and a shared contact.
    for fixture in [
        "text.json",
        "image.json",
        "location.json",
        "contacts.json",
        "document.json",
    ] {
        // Now, so the 24-hour window is open for the agent's reply.
        app.deliver_bytes(&with_current_timestamps(&webhook_fixture(fixture)))
            .await;
    }
    let (agent_id, agent_token) = app.create_agent("ben@example.com");
    let mut c = Checker::new(&app).await;
    let a = format!("/api/v1/accounts/{}", app.account_id);
    let p = "/api/v1/accounts/{account_id}";

    // Teams, SLA policies and members give the conversation an assignee, a team and an SLA.
    let (status, team) = app
        .api(
            "POST",
            &format!("{a}/teams"),
            Some(json!({"name": "Sales"})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{team}");
    let (status, sla) = app
        .api(
            "POST",
            &format!("{a}/sla_policies"),
            Some(json!({"name": "Gold", "first_response_time_threshold": 3600})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{sla}");

    // Inboxes and their members.
    c.call(
        "GET",
        &format!("{p}/inboxes"),
        &format!("{a}/inboxes"),
        None,
    )
    .await;
    c.call(
        "GET",
        &format!("{p}/inboxes/{{id}}"),
        &format!("{a}/inboxes/{inbox_id}"),
        None,
    )
    .await;
    c.call(
        "PATCH",
        &format!("{p}/inboxes/{{id}}"),
        &format!("{a}/inboxes/{inbox_id}"),
        Some(json!({"name": "Support desk"})),
    )
    .await;
    c.call(
        "POST",
        &format!("{p}/inbox_members"),
        &format!("{a}/inbox_members"),
        Some(json!({"inbox_id": inbox_id, "user_ids": [agent_id]})),
    )
    .await;
    c.call(
        "GET",
        &format!("{p}/inbox_members/{{inbox_id}}"),
        &format!("{a}/inbox_members/{inbox_id}"),
        None,
    )
    .await;

    // Conversations and their actions.
    let conv = format!("{a}/conversations/1");
    let conv_p = format!("{p}/conversations/{{display_id}}");
    let assigned = c
        .call(
            "POST",
            &format!("{conv_p}/assignments"),
            &format!("{conv}/assignments"),
            Some(json!({"assignee_id": app.admin_id})),
        )
        .await;
    assert_eq!(assigned["id"], json!(app.admin_id), "{assigned}");
    let to_team = c
        .call(
            "POST",
            &format!("{conv_p}/assignments"),
            &format!("{conv}/assignments"),
            Some(json!({"team_id": team["id"]})),
        )
        .await;
    assert_eq!(to_team["name"], "Sales", "{to_team}");
    let nothing = c
        .call(
            "POST",
            &format!("{conv_p}/assignments"),
            &format!("{conv}/assignments"),
            Some(json!({})),
        )
        .await;
    assert!(nothing.is_null(), "{nothing}");
    c.call(
        "POST",
        &format!("{conv_p}/assignments"),
        &format!("{conv}/assignments"),
        Some(json!({"assignee_id": app.admin_id})),
    )
    .await;
    c.call(
        "POST",
        &format!("{conv_p}/labels"),
        &format!("{conv}/labels"),
        Some(json!({"labels": ["billing", "vip"]})),
    )
    .await;
    c.call(
        "GET",
        &format!("{conv_p}/labels"),
        &format!("{conv}/labels"),
        None,
    )
    .await;
    let patched = c
        .call(
            "PATCH",
            &conv_p,
            &conv,
            Some(
                json!({"priority": "high", "sla_policy_id": sla["payload"]["id"],
                "custom_attributes": {"plan": "gold"}}),
            ),
        )
        .await;
    assert!(patched["applied_sla"].is_object(), "{patched}");
    assert!(patched["meta"]["assignee"].is_object(), "{patched}");
    assert!(patched["meta"]["team"].is_object(), "{patched}");
    // An agent's reply and a private note: messages with a user sender.
    c.call(
        "POST",
        &format!("{conv_p}/messages"),
        &format!("{conv}/messages"),
        Some(json!({"content": "Thanks, we are on it."})),
    )
    .await;
    let note = c
        .call(
            "POST",
            &format!("{conv_p}/messages"),
            &format!("{conv}/messages"),
            Some(json!({"content": "Check the invoice", "private": true})),
        )
        .await;
    let thread = c
        .call(
            "GET",
            &format!("{conv_p}/messages"),
            &format!("{conv}/messages"),
            None,
        )
        .await;
    let payload = thread["payload"].as_array().unwrap();
    assert!(
        payload
            .iter()
            .any(|m| !m["attachments"].as_array().unwrap().is_empty()),
        "the thread has attachments: {thread}"
    );
    assert!(
        payload.iter().any(|m| m["sender"]["type"] == "contact")
            && payload.iter().any(|m| m["sender"]["type"] == "user"),
        "the thread has contact and agent senders: {thread}"
    );
    c.call(
        "DELETE",
        &format!("{conv_p}/messages/{{message_id}}"),
        &format!("{conv}/messages/{}", note["id"]),
        None,
    )
    .await;
    c.call(
        "POST",
        &format!("{conv_p}/update_last_seen"),
        &format!("{conv}/update_last_seen"),
        Some(json!({})),
    )
    .await;
    c.call(
        "GET",
        &format!("{p}/conversations"),
        &format!("{a}/conversations"),
        None,
    )
    .await;
    c.call(
        "GET",
        &format!("{p}/conversations/meta"),
        &format!("{a}/conversations/meta"),
        None,
    )
    .await;
    c.call("GET", &conv_p, &conv, None).await;
    c.call(
        "POST",
        &format!("{p}/conversations/filter"),
        &format!("{a}/conversations/filter"),
        Some(
            json!({"payload": [{"attribute_key": "status", "filter_operator": "equal_to",
            "values": ["open"], "query_operator": null}]}),
        ),
    )
    .await;
    c.call(
        "POST",
        &format!("{conv_p}/toggle_status"),
        &format!("{conv}/toggle_status"),
        Some(json!({"status": "snoozed", "snoozed_until": 4_102_444_800i64})),
    )
    .await;
    c.call(
        "POST",
        &format!("{p}/bulk_actions"),
        &format!("{a}/bulk_actions"),
        Some(json!({"type": "Conversation", "ids": [1], "fields": {"status": "open"}})),
    )
    .await;
    let filter = c
        .call(
            "POST",
            &format!("{p}/custom_filters"),
            &format!("{a}/custom_filters"),
            Some(json!({"name": "Open", "filter_type": "conversation",
                "query": {"payload": [{"attribute_key": "status", "filter_operator": "equal_to",
                "values": ["open"], "query_operator": null}]}})),
        )
        .await;
    c.call(
        "GET",
        &format!("{p}/custom_filters"),
        &format!("{a}/custom_filters"),
        None,
    )
    .await;
    c.call(
        "GET",
        &format!("{p}/custom_filters/{{id}}"),
        &format!("{a}/custom_filters/{}", filter["id"]),
        None,
    )
    .await;

    // A conversation started through the API, for a new contact.
    let created = c
        .call(
            "POST",
            &format!("{p}/contacts"),
            &format!("{a}/contacts"),
            Some(
                json!({"name": "Maria", "phone_number": "+5511987654321", "inbox_id": inbox_id,
                "additional_attributes": {"city": "Recife"}}),
            ),
        )
        .await;
    assert!(created["payload"]["contact_inbox"].is_object(), "{created}");
    let maria = created["payload"]["contact"]["id"].as_i64().unwrap();
    c.call(
        "POST",
        &format!("{p}/conversations"),
        &format!("{a}/conversations"),
        Some(json!({"inbox_id": inbox_id, "contact_id": maria,
            "message": {"content": "Met at the fair", "private": true}})),
    )
    .await;

    // Contacts.
    c.call(
        "GET",
        &format!("{p}/contacts"),
        &format!("{a}/contacts"),
        None,
    )
    .await;
    c.call(
        "GET",
        &format!("{p}/contacts/search"),
        &format!("{a}/contacts/search?q=maria"),
        None,
    )
    .await;
    let contact = format!("{a}/contacts/{maria}");
    let contact_p = format!("{p}/contacts/{{id}}");
    let shown = c.call("GET", &contact_p, &contact, None).await;
    assert!(
        !shown["payload"]["contact_inboxes"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{shown}"
    );
    c.call(
        "PATCH",
        &contact_p,
        &contact,
        Some(json!({"email": "maria@example.com"})),
    )
    .await;
    c.call(
        "PUT",
        &contact_p,
        &contact,
        Some(json!({"identifier": "crm-42"})),
    )
    .await;
    c.call(
        "POST",
        &format!("{contact_p}/labels"),
        &format!("{contact}/labels"),
        Some(json!({"labels": ["vip"]})),
    )
    .await;
    c.call(
        "GET",
        &format!("{contact_p}/labels"),
        &format!("{contact}/labels"),
        None,
    )
    .await;
    c.call(
        "GET",
        &format!("{contact_p}/conversations"),
        &format!("{contact}/conversations"),
        None,
    )
    .await;
    c.call(
        "POST",
        &format!("{p}/contacts/filter"),
        &format!("{a}/contacts/filter"),
        Some(
            json!({"payload": [{"attribute_key": "name", "filter_operator": "contains",
            "values": ["a"], "query_operator": null}]}),
        ),
    )
    .await;
    c.call(
        "POST",
        &format!("{contact_p}/notes"),
        &format!("{contact}/notes"),
        Some(json!({"content": "Called back about the invoice"})),
    )
    .await;
    c.call(
        "GET",
        &format!("{contact_p}/notes"),
        &format!("{contact}/notes"),
        None,
    )
    .await;
    // A second contact, merged into Maria, and a third one deleted.
    let other = c
        .call(
            "POST",
            &format!("{p}/contacts"),
            &format!("{a}/contacts"),
            Some(json!({"name": "Maria S.", "email": "maria.s@example.com"})),
        )
        .await;
    assert!(other["payload"]["contact_inbox"].is_null(), "{other}");
    c.call(
        "POST",
        &format!("{p}/actions/contact_merge"),
        &format!("{a}/actions/contact_merge"),
        Some(json!({"base_contact_id": maria,
            "mergee_contact_id": other["payload"]["contact"]["id"]})),
    )
    .await;
    let gone = c
        .call(
            "POST",
            &format!("{p}/contacts"),
            &format!("{a}/contacts"),
            Some(json!({"name": "Temp"})),
        )
        .await;
    c.call(
        "DELETE",
        &contact_p,
        &format!("{a}/contacts/{}", gone["payload"]["contact"]["id"]),
        None,
    )
    .await;

    for body in [
        json!({"typing_status": "off"}),
        json!({"typing_status": "on", "is_private": true}),
    ] {
        c.call(
            "POST",
            &format!("{conv_p}/toggle_typing_status"),
            &format!("{conv}/toggle_typing_status"),
            Some(body),
        )
        .await;
    }

    // The settings resources.
    c.call("GET", p, &a, None).await;
    c.call(
        "PATCH",
        p,
        &a,
        Some(json!({"conversation_retention_days": 365})),
    )
    .await;
    c.call("GET", "/api/v1/profile", "/api/v1/profile", None)
        .await;
    c.call(
        "GET",
        &format!("{p}/notification_settings"),
        &format!("{a}/notification_settings"),
        None,
    )
    .await;
    // The agent hands the conversation to the administrator: a notification for the latter.
    for assignee in [agent_id, app.admin_id] {
        let (status, json) = app
            .api(
                "POST",
                &format!("{conv}/assignments"),
                Some(json!({"assignee_id": assignee})),
                &agent_token,
            )
            .await;
        assert_eq!(status, 200, "{json}");
    }
    let notifications = c
        .call(
            "GET",
            &format!("{p}/notifications"),
            &format!("{a}/notifications"),
            None,
        )
        .await;
    assert!(
        !notifications["data"]["payload"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{notifications}"
    );
    c.call(
        "GET",
        &format!("{p}/notifications/unread_count"),
        &format!("{a}/notifications/unread_count"),
        None,
    )
    .await;
    c.call(
        "POST",
        &format!("{conv_p}/participants"),
        &format!("{conv}/participants"),
        Some(json!({"user_ids": [agent_id]})),
    )
    .await;
    c.call(
        "GET",
        &format!("{conv_p}/participants"),
        &format!("{conv}/participants"),
        None,
    )
    .await;
    c.call(
        "POST",
        &format!("{p}/canned_responses"),
        &format!("{a}/canned_responses"),
        Some(json!({"short_code": "hi", "content": "Hello!"})),
    )
    .await;
    c.call(
        "GET",
        &format!("{p}/canned_responses"),
        &format!("{a}/canned_responses"),
        None,
    )
    .await;
    let definition = c
        .call(
            "POST",
            &format!("{p}/custom_attribute_definitions"),
            &format!("{a}/custom_attribute_definitions"),
            Some(
                json!({"attribute_display_name": "Plan", "attribute_key": "plan",
                "attribute_display_type": "list", "attribute_model": "contact_attribute",
                "attribute_values": ["gold", "silver"]}),
            ),
        )
        .await;
    c.call(
        "GET",
        &format!("{p}/custom_attribute_definitions/{{id}}"),
        &format!("{a}/custom_attribute_definitions/{}", definition["id"]),
        None,
    )
    .await;
    c.call(
        "GET",
        &format!("{p}/custom_attribute_definitions"),
        &format!("{a}/custom_attribute_definitions"),
        None,
    )
    .await;
    c.call(
        "POST",
        &format!("{contact_p}/custom_attributes"),
        &format!("{contact}/custom_attributes"),
        Some(json!({"custom_attributes": {"plan": "gold"}})),
    )
    .await;
    c.call(
        "GET",
        &format!("{p}/sla_policies"),
        &format!("{a}/sla_policies"),
        None,
    )
    .await;
    c.call(
        "GET",
        &format!("{p}/sla_policies/{{id}}"),
        &format!("{a}/sla_policies/{}", sla["payload"]["id"]),
        None,
    )
    .await;
    // Last, so no event of this test is queued for it (no delivery runs here anyway).
    let hook = c
        .call(
            "POST",
            &format!("{p}/webhooks"),
            &format!("{a}/webhooks"),
            Some(json!({"url": "https://93.184.216.34/hook", "name": "CRM",
                "subscriptions": ["message_created"]})),
        )
        .await;
    c.call(
        "GET",
        &format!("{p}/webhooks"),
        &format!("{a}/webhooks"),
        None,
    )
    .await;
    c.call(
        "GET",
        &format!("{p}/webhooks/{{id}}/deliveries"),
        &format!(
            "{a}/webhooks/{}/deliveries",
            hook["payload"]["webhook"]["id"]
        ),
        None,
    )
    .await;

    assert!(
        c.failures.is_empty(),
        "responses that contradict the OpenAPI document:\n{}",
        c.failures.join("\n")
    );
    for core in [
        "Contact",
        "ContactInbox",
        "Conversation",
        "AppliedSla",
        "Message",
        "Attachment",
        "MessageSender",
        "Inbox",
        "InboxHealth",
        "MessageTemplate",
        "Profile",
        "Webhook",
        "CannedResponse",
        "CustomAttributeDefinition",
        "SlaPolicy",
        "NotificationSettings",
        "Notification",
    ] {
        assert!(
            c.schemas.contains(core),
            "no response was checked against {core}: {:?}",
            c.schemas
        );
    }
    eprintln!("checked {} responses: {:?}", c.checked.len(), c.checked);
}

/// A `multipart/form-data` body with one file part.
fn multipart_file(boundary: &str, field: &str, file_name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; \
         filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

/// The other resources' responses match their schemas too: automation rules and their runs,
/// macros and an execution, CSAT responses, the global search, the Dualhook integration, a
/// contact import, the business profile, template management (against a Graph stand-in)
/// and the v2 reports.
#[actix_rt::test]
async fn other_responses_match_their_openapi_schemas() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let graph_json = |name: &str| -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(shared_fixture(&format!("graph/{name}"))).unwrap(),
        )
        .unwrap()
    };
    let server = MockServer::start().await;
    mount_graph_defaults(&server).await;
    let profile_path = format!("/v25.0/{PHONE_NUMBER_ID}/whatsapp_business_profile");
    let templates_path = format!("/v25.0/{WABA_ID}/message_templates");
    Mock::given(method("GET"))
        .and(path(profile_path.as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(graph_json("business_profile_get.json")),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(profile_path.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(templates_path.as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(graph_json("template_create_ok.json")),
        )
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(templates_path.as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(graph_json("template_delete_ok.json")),
        )
        .mount(&server)
        .await;
    let app = TestApp::start_with(Options {
        graph_base_url: Some(server.uri()),
        ..Default::default()
    });
    let inbox_id = app.create_inbox_direct().0.id;
    let mut c = Checker::new(&app).await;
    let a = format!("/api/v1/accounts/{}", app.account_id);
    let p = "/api/v1/accounts/{account_id}";

    // An automation rule, and a run of it on an incoming message.
    let rule = c
        .call(
            "POST",
            &format!("{p}/automation_rules"),
            &format!("{a}/automation_rules"),
            Some(json!({"automation_rule": {
                "name": "Refunds", "event_name": "message_created",
                "conditions": [{"attribute_key": "content", "filter_operator": "contains",
                    "values": ["refund"], "query_operator": "and"}],
                "actions": [{"action_name": "add_label", "action_params": ["refund"]}]}})),
        )
        .await;
    let rule_id = rule["payload"]["id"].as_i64().unwrap();
    let rule_p = format!("{p}/automation_rules/{{id}}");
    let rule_a = format!("{a}/automation_rules/{rule_id}");
    c.call(
        "GET",
        &format!("{p}/automation_rules"),
        &format!("{a}/automation_rules"),
        None,
    )
    .await;
    c.call("GET", &rule_p, &rule_a, None).await;
    c.call(
        "PATCH",
        &rule_p,
        &rule_a,
        Some(json!({"description": "Label refund requests"})),
    )
    .await;
    app.deliver_bytes(text_delivery("16505550001", "wamid.shape1", "I want a refund").as_bytes())
        .await;
    switchboard::jobs::automation::drain(&app.state)
        .await
        .expect("automation jobs");
    let runs = c
        .call(
            "GET",
            &format!("{rule_p}/runs"),
            &format!("{rule_a}/runs"),
            None,
        )
        .await;
    assert!(!runs["payload"].as_array().unwrap().is_empty(), "{runs}");

    // A macro, run on the conversation.
    let made = c
        .call(
            "POST",
            &format!("{p}/macros"),
            &format!("{a}/macros"),
            Some(json!({"macro": {"name": "Escalate", "visibility": "global",
                "actions": [{"action_name": "add_label", "action_params": ["escalated"]},
                    {"action_name": "change_priority", "action_params": ["high"]}]}})),
        )
        .await;
    let macro_p = format!("{p}/macros/{{id}}");
    let macro_a = format!("{a}/macros/{}", made["payload"]["id"]);
    c.call("GET", &format!("{p}/macros"), &format!("{a}/macros"), None)
        .await;
    c.call("GET", &macro_p, &macro_a, None).await;
    c.call(
        "PUT",
        &macro_p,
        &macro_a,
        Some(json!({"name": "Escalate now"})),
    )
    .await;
    let done = c
        .call(
            "POST",
            &format!("{macro_p}/execute"),
            &format!("{macro_a}/execute"),
            Some(json!({"conversation_ids": [1]})),
        )
        .await;
    assert_eq!(done["payload"][0]["conversation_id"], 1, "{done}");

    // An answered CSAT survey.
    {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!(
            "INSERT INTO csat_survey_responses (account_id, inbox_id, conversation_id, \
             contact_id, assigned_agent_id, scale, rating, feedback_message, rated_at) \
             SELECT account_id, inbox_id, id, contact_id, {}, '1-5', 5, 'Quick', now() \
             FROM conversations WHERE display_id = 1",
            app.admin_id
        ))
        .execute(&mut app.conn())
        .unwrap();
    }
    let csat = c
        .call(
            "GET",
            &format!("{p}/csat_survey_responses"),
            &format!("{a}/csat_survey_responses"),
            None,
        )
        .await;
    assert_eq!(csat.as_array().map(Vec::len), Some(1), "{csat}");

    // The global search finds the contact, the conversation and the message.
    let found = c
        .call(
            "GET",
            &format!("{p}/search"),
            &format!("{a}/search?q=refund"),
            None,
        )
        .await;
    assert!(
        !found["payload"]["messages"].as_array().unwrap().is_empty(),
        "{found}"
    );
    let found = c
        .call(
            "GET",
            &format!("{p}/search"),
            &format!("{a}/search?q=16505550001"),
            None,
        )
        .await;
    assert!(
        !found["payload"]["contacts"].as_array().unwrap().is_empty(),
        "{found}"
    );

    // The Dualhook integration.
    let dualhook = format!("{p}/integrations/dualhook");
    let dualhook_a = format!("{a}/integrations/dualhook");
    c.call("GET", &dualhook, &dualhook_a, None).await;
    c.call(
        "PUT",
        &dualhook,
        &dualhook_a,
        Some(json!({"api_key": "dh-key-12345678"})),
    )
    .await;

    // A contact import with a refused row.
    let boundary = "----switchboard-shape-test";
    let svc = actix_web::test::init_service(
        actix_web::App::new().configure(switchboard::app::configure(app.state.clone())),
    )
    .await;
    let req = actix_web::test::TestRequest::post()
        .uri(&format!("{a}/contacts/import"))
        .insert_header(("api_access_token", app.token.as_str()))
        .insert_header((
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        ))
        .set_payload(multipart_file(
            boundary,
            "import_file",
            "contacts.csv",
            b"name,phone_number\nAna,+5511987654321\nBea,not a phone\n",
        ))
        .to_request();
    let resp = actix_web::test::call_service(&svc, req).await;
    assert_eq!(resp.status().as_u16(), 200);
    let import: Value = serde_json::from_slice(&actix_web::test::read_body(resp).await).unwrap();
    c.check(
        "POST",
        &format!("{p}/contacts/import"),
        &format!("{a}/contacts/import"),
        &import,
    );
    while switchboard::jobs::contact_import::run_next(&app.state)
        .await
        .expect("import job")
    {}
    let import = c
        .call(
            "GET",
            &format!("{p}/contacts/imports/{{import_id}}"),
            &format!("{a}/contacts/imports/{}", import["id"]),
            None,
        )
        .await;
    assert_eq!(import["status"], "completed", "{import}");

    // The business profile.
    let profile = format!("{p}/inboxes/{{id}}/business_profile");
    let profile_a = format!("{a}/inboxes/{inbox_id}/business_profile");
    c.call("GET", &profile, &profile_a, None).await;
    c.call(
        "PUT",
        &profile,
        &profile_a,
        Some(json!({"about": "Open 8-20, every day"})),
    )
    .await;

    // A template: created, approved by Meta's webhook, edited, deleted.
    let templates = format!("{p}/inboxes/{{inbox_id}}/message_templates");
    let templates_a = format!("{a}/inboxes/{inbox_id}/message_templates");
    let mut draft = json!({
        "name": "order_update_v1", "language": "en_US", "category": "UTILITY",
        "parameter_format": "positional",
        "components": {
            "body": {"text": "Hi {{1}}, your order is {{2}}.",
                     "examples": {"1": "Sheena", "2": "on its way"}},
            "footer": {"text": "Main Street Store"}}
    });
    let created = c
        .call("POST", &templates, &templates_a, Some(draft.clone()))
        .await;
    app.deliver("message_template_status_update.json").await;
    let approved = app.query_json("SELECT to_jsonb(external_id) FROM message_templates");
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{}", approved.as_str().unwrap())))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(&server)
        .await;
    let one = format!("{templates}/{{template_id}}");
    let one_a = format!("{templates_a}/{}", created["id"]);
    draft["components"]["footer"]["text"] = json!("Main Street Store, since 1990");
    draft.as_object_mut().unwrap().remove("name");
    c.call("PATCH", &one, &one_a, Some(draft)).await;
    let deleted = c.call("DELETE", &one, &one_a, None).await;
    assert_eq!(deleted["deleted"], 1, "{deleted}");

    // The v2 reports over the last day.
    let r = format!("/api/v2/accounts/{}", app.account_id);
    let rp = "/api/v2/accounts/{account_id}";
    let now = chrono::Utc::now().timestamp();
    let range = format!("since={}&until={}", now - 86_400, now + 60);
    for (op, query) in [
        (
            "reports",
            format!("metric=conversations_count&group_by=day&{range}"),
        ),
        ("reports", format!("metric=avg_first_response_time&{range}")),
        ("reports/summary", range.clone()),
        ("reports/conversations", String::new()),
        ("reports/conversations", "type=agent".to_string()),
        ("reports/overview", String::new()),
        ("summary_reports/{by}", range.clone()),
        ("reports/first_response_time_distribution", range.clone()),
        (
            "reports/outgoing_messages_count",
            format!("group_by=agent&{range}"),
        ),
        ("reports/times", range.clone()),
        ("reports/csat", range.clone()),
        ("reports/sla", range.clone()),
        ("reports/whatsapp", range.clone()),
    ] {
        let real = op.replace("{by}", "inbox");
        let answer = c
            .call(
                "GET",
                &format!("{rp}/{op}"),
                &format!("{r}/{real}?{query}"),
                None,
            )
            .await;
        if op == "reports/csat" {
            assert_eq!(answer["answered"], 1, "{answer}");
        }
    }

    assert!(
        c.failures.is_empty(),
        "responses that contradict the OpenAPI document:\n{}",
        c.failures.join("\n")
    );
    for schema in [
        "AutomationRule",
        "AutomationCondition",
        "AutomationAction",
        "AutomationRun",
        "Macro",
        "MacroExecuted",
        "CsatResponse",
        "SearchAnswer",
        "DualhookIntegration",
        "ContactImport",
        "ImportRowError",
        "BusinessProfile",
        "StoredMessageTemplate",
        "TemplatesDeleted",
        "ReportPoint",
        "ReportSummary",
        "ReportConversationCounts",
        "ReportAgentConversations",
        "ReportOverview",
        "ReportRow",
        "ResponseTimeBuckets",
        "ReportOutgoingCount",
        "ReportTimeStat",
        "ReportCsat",
        "ReportSla",
        "ReportWhatsapp",
    ] {
        assert!(
            c.schemas.contains(schema),
            "no response was checked against {schema}: {:?}",
            c.schemas
        );
    }
    eprintln!("checked {} responses: {:?}", c.checked.len(), c.checked);
}

/// The validator is not a no-op: responses that break the schemas are caught.
#[actix_rt::test]
async fn the_shape_check_catches_a_drifted_view() {
    let doc = serde_json::to_value(switchboard::web::openapi::openapi()).unwrap();
    let schema = |name: &str| json!({"$ref": format!("{SCHEMA_PREFIX}{name}")});
    let contact = json!({
        "id": 1, "name": "Maria", "email": null, "phone_number": "+5511987654321",
        "identifier": null, "thumbnail": "", "availability_status": "offline", "blocked": false,
        "bsuid": null, "parent_bsuid": null, "username": null, "additional_attributes": {},
        "custom_attributes": {}, "last_activity_at": null, "created_at": 1_700_000_000,
    });
    assert_eq!(
        violations(&doc, &schema("Contact"), &contact, "$"),
        Vec::<String>::new()
    );
    let mut drifted = contact.clone();
    drifted["id"] = json!("1");
    assert!(!violations(&doc, &schema("Contact"), &drifted, "$").is_empty());
    let mut missing = contact.clone();
    missing.as_object_mut().unwrap().remove("created_at");
    assert!(!violations(&doc, &schema("Contact"), &missing, "$").is_empty());
    let mut not_null = contact.clone();
    not_null["name"] = Value::Null;
    assert!(!violations(&doc, &schema("Contact"), &not_null, "$").is_empty());
    let mut bad_inbox = contact.clone();
    bad_inbox["contact_inboxes"] = json!([{"source_id": "5511987654321", "inbox": {"id": 1}}]);
    assert!(!violations(&doc, &schema("Contact"), &bad_inbox, "$").is_empty());
    // Extra fields are allowed: no schema forbids additional properties.
    let mut extra = contact.clone();
    extra["new_field"] = json!(true);
    assert!(violations(&doc, &schema("Contact"), &extra, "$").is_empty());
    // The search's composed schemas check both parts: the contact's fields and their own.
    let mut found = contact.clone();
    found["conversation_ids"] = json!([1]);
    assert!(violations(&doc, &schema("SearchContact"), &found, "$").is_empty());
    found.as_object_mut().unwrap().remove("conversation_ids");
    assert!(!violations(&doc, &schema("SearchContact"), &found, "$").is_empty());
    found["conversation_ids"] = json!([1]);
    found["id"] = json!("1");
    assert!(!violations(&doc, &schema("SearchContact"), &found, "$").is_empty());
    // One of: an agent, a team or null — not a string.
    assert!(violations(&doc, &schema("AssignmentResult"), &Value::Null, "$").is_empty());
    assert!(!violations(&doc, &schema("AssignmentResult"), &json!("x"), "$").is_empty());
}

/// How many operations still answer an untyped `JsonValue` for a 2xx, printed and capped at
/// [`MAX_UNTYPED`]; no operation of [`TYPED_TAGS`] answers one.
#[test]
fn core_operations_answer_typed_bodies() {
    let doc = serde_json::to_value(switchboard::web::openapi::openapi()).unwrap();
    let untyped_ref = format!("{SCHEMA_PREFIX}JsonValue");
    let mut untyped = Vec::new();
    let mut typed = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().into_iter().flatten() {
                if !status.starts_with('2') {
                    continue;
                }
                let Some(content) = response["content"].as_object() else {
                    continue;
                };
                for media in content.values() {
                    let s = &media["schema"];
                    if s["$ref"] == untyped_ref.as_str()
                        || s["items"]["$ref"] == untyped_ref.as_str()
                    {
                        untyped.push((
                            op["tags"][0].as_str().unwrap_or("").to_string(),
                            format!("{} {path}", method.to_uppercase()),
                        ));
                    } else {
                        typed += 1;
                    }
                }
            }
        }
    }
    eprintln!(
        "2xx bodies: {typed} typed, {} still JsonValue: {untyped:#?}",
        untyped.len()
    );
    let core: Vec<_> = untyped
        .iter()
        .filter(|(tag, _)| TYPED_TAGS.contains(&tag.as_str()))
        .collect();
    assert!(
        core.is_empty(),
        "core operations answering an untyped JsonValue: {core:?}"
    );
    assert!(
        untyped.len() <= MAX_UNTYPED,
        "{} operations answer an untyped JsonValue, more than {MAX_UNTYPED}: give the new ones \
         a schema (src/web/openapi/schemas/)",
        untyped.len()
    );
}

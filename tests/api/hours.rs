//! Issue 13 (hours): business hours, greeting, out of office and CSAT, end to end against the
//! Graph stand-in (wiremock): the inbox API fields and their validation, the greeting on a
//! contact's first message, the out-of-office reply once per closed period, never while a bot
//! handles the conversation, CSAT inside the window (interactive) and outside (template, or
//! the reason recorded), each answer kind, the comment within 10 minutes, and
//! `GET /csat_survey_responses`.

use crate::common::*;
use chrono::{Datelike, Utc};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use switchboard::domain::auto_replies;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const MESSAGES_PATH: &str = "/v25.0/106540352242922/messages";

struct Wamids(AtomicUsize);

impl Respond for Wamids {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": "+16505551234", "wa_id": "16505551234"}],
            "messages": [{"id": format!("wamid.SENT.{n}")}],
        }))
    }
}

async fn graph() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/v25\.0/[0-9]+/message_templates$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": "901", "name": "csat_rate", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
             "components": [
                {"type": "BODY", "text": "How did we do?"},
                {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "👍 Great"}, {"type": "QUICK_REPLY", "text": "👎 Not good"}]}
             ]}
        ], "paging": {}})))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_graph_defaults(&server).await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(Wamids(AtomicUsize::new(0)))
        .mount(&server)
        .await;
    server
}

async fn sent(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == MESSAGES_PATH && r.method.as_str() == "POST")
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .filter(|b| b.get("status").is_none())
        .collect()
}

/// A webhook body with one customer message `message` (its `type` and payload) at unix
/// second `ts`, wamid `wamid.IN.<n>`.
fn incoming(n: usize, ts: i64, message: Value) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&webhook_fixture("text.json")).unwrap();
    let m = &mut v["entry"][0]["changes"][0]["value"]["messages"][0];
    let mut obj = json!({"id": format!("wamid.IN.{n}"), "timestamp": ts.to_string(),
        "from": "16505551234", "from_user_id": "US.13491208655302741918"});
    for (k, x) in message.as_object().unwrap() {
        obj[k] = x.clone();
    }
    *m = obj;
    serde_json::to_vec(&v).unwrap()
}

fn text(body: &str) -> Value {
    json!({"type": "text", "text": {"body": body}})
}

async fn app_with(server: &MockServer, settings: Value) -> (TestApp, i64) {
    let app = TestApp::start_with(Options {
        graph_base_url: Some(server.uri()),
        ..Default::default()
    });
    let inbox = app.create_inbox(json!({})).await;
    let id = inbox["id"].as_i64().unwrap();
    let (status, json) = app
        .api(
            "PATCH",
            &format!("/api/v1/accounts/{}/inboxes/{id}", app.account_id),
            Some(settings),
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 200, "{json}");
    (app, id)
}

/// Runs the hours jobs, then the sends.
async fn run_jobs(app: &TestApp) -> Vec<auto_replies::Outcome> {
    let mut out = vec![];
    loop {
        let job = switchboard::jobs::claim(&mut app.conn(), auto_replies::JOB_KIND, 60).unwrap();
        let Some(job) = job else { break };
        out.push(
            switchboard::jobs::hours::run_job(&app.state, job)
                .await
                .unwrap(),
        );
    }
    app.run_send_jobs().await;
    out
}

fn automated(app: &TestApp, kind: &str) -> i64 {
    app.count(&format!(
        "messages WHERE message_type = 1 AND sender_type IS NULL AND content_attributes->>'automated' = '{kind}'"
    ))
}

/// A weekday range open only on the day after today (UTC), so "now" is closed.
fn closed_today() -> Value {
    let tomorrow = (Utc::now().weekday().num_days_from_sunday() + 1) % 7;
    json!([{"day_of_week": tomorrow, "open_hour": 9, "open_minutes": 0, "close_hour": 17, "close_minutes": 0}])
}

#[actix_rt::test]
async fn inbox_api_fields_round_trip_and_validate() {
    let server = graph().await;
    let (app, id) = app_with(
        &server,
        json!({"working_hours_enabled": true, "timezone": "Europe/Berlin",
            "working_hours": [
                {"day_of_week": 1, "open_hour": 9, "open_minutes": 0, "close_hour": 12, "close_minutes": 0},
                {"day_of_week": 1, "open_hour": 13, "open_minutes": 0, "close_hour": 17, "close_minutes": 30}],
            "holidays": ["2026-12-25"], "out_of_office_message": "We're closed.",
            "greeting_enabled": true, "greeting_message": "Welcome!",
            "csat_survey_enabled": true, "csat_scale": "thumbs", "csat_question": "Happy?",
            "csat_template": {"name": "csat_rate", "language": "en_US"}}),
    )
    .await;
    let path = format!("/api/v1/accounts/{}/inboxes/{id}", app.account_id);
    let inbox = app.get(&path).await;
    assert_eq!(inbox["working_hours_enabled"], true);
    assert_eq!(inbox["timezone"], "Europe/Berlin");
    assert_eq!(inbox["greeting_message"], "Welcome!");
    assert_eq!(inbox["csat_scale"], "thumbs");
    assert_eq!(inbox["csat_template"]["name"], "csat_rate");
    assert_eq!(inbox["holidays"], json!(["2026-12-25"]));
    // Monday has two ranges; the other six days one closed row each.
    let rows = inbox["working_hours"].as_array().unwrap();
    assert_eq!(rows.len(), 8);
    assert_eq!(rows[2]["close_minutes"], 30);
    // The list carries them too.
    let list = app
        .get(&format!("/api/v1/accounts/{}/inboxes", app.account_id))
        .await;
    assert_eq!(list["payload"][0]["out_of_office_message"], "We're closed.");

    for (body, field) in [
        (json!({"timezone": "Mars/Base"}), "timezone"),
        (
            json!({"working_hours": [{"day_of_week": 1, "open_hour": 17, "close_hour": 9}]}),
            "working_hours[0].close_hour",
        ),
        (json!({"working_hours": "9-5"}), "working_hours"),
        (json!({"holidays": ["tomorrow"]}), "holidays[0]"),
        (json!({"csat_scale": "stars"}), "csat_scale"),
        (
            json!({"csat_template": {"name": "nope", "language": "en_US"}}),
            "csat_template",
        ),
        (json!({"greeting_enabled": "yes"}), "greeting_enabled"),
        (json!({"greeting_message": 7}), "greeting_message"),
    ] {
        let (status, json) = app
            .api("PATCH", &path, Some(body.clone()), &app.token.clone())
            .await;
        assert_eq!(status, 422, "{body}: {json}");
        assert_eq!(json["field"], field, "{body}: {json}");
    }
}

#[actix_rt::test]
async fn greeting_once_for_a_new_contact_and_out_of_office_once_per_closed_period() {
    let server = graph().await;
    let (app, _) = app_with(
        &server,
        json!({"greeting_enabled": true, "greeting_message": "Welcome to Acme!",
            "working_hours_enabled": true, "timezone": "UTC", "working_hours": closed_today(),
            "out_of_office_message": "We're closed; we answer from 09:00."}),
    )
    .await;
    let now = Utc::now().timestamp();
    app.deliver_bytes(&incoming(1, now, text("Hello?"))).await;
    app.deliver_bytes(&incoming(2, now, text("Anyone there?")))
        .await;
    let outcomes = run_jobs(&app).await;
    assert_eq!(outcomes.len(), 2);
    assert_eq!(automated(&app, "greeting"), 1);
    assert_eq!(automated(&app, "out_of_office"), 1);
    let bodies = sent(&server).await;
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[0]["text"]["body"], "Welcome to Acme!");
    assert_eq!(
        bodies[1]["text"]["body"],
        "We're closed; we answer from 09:00."
    );

    // A week later (the next closed period): one more out-of-office, no greeting.
    app.deliver_bytes(&incoming(3, now + 7 * 86400, text("Still there?")))
        .await;
    run_jobs(&app).await;
    assert_eq!(automated(&app, "greeting"), 1);
    assert_eq!(automated(&app, "out_of_office"), 2);

    // While a bot handles the conversation, nothing.
    {
        use diesel::RunQueryDsl;
        diesel::sql_query(
            "UPDATE conversations SET additional_attributes = additional_attributes || '{\"handled_by\": \"bot\"}'",
        )
        .execute(&mut app.conn())
        .unwrap();
    }
    app.deliver_bytes(&incoming(4, now + 14 * 86400, text("Hello bot")))
        .await;
    run_jobs(&app).await;
    assert_eq!(automated(&app, "out_of_office"), 2);
}

#[actix_rt::test]
async fn nothing_is_queued_for_an_inbox_without_these_settings() {
    let server = graph().await;
    let app = TestApp::start_with(Options {
        graph_base_url: Some(server.uri()),
        ..Default::default()
    });
    app.create_inbox(json!({})).await;
    app.deliver_bytes(&incoming(1, Utc::now().timestamp(), text("Hi")))
        .await;
    assert_eq!(
        app.count(&format!("jobs WHERE kind = '{}'", auto_replies::JOB_KIND)),
        0
    );
}

async fn resolve(app: &TestApp, display_id: i64) {
    let (status, json) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/conversations/{display_id}/toggle_status",
                app.account_id
            ),
            Some(json!({"status": "resolved"})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 200, "{json}");
}

fn first_conversation(app: &TestApp) -> (i64, i64) {
    let v = app.query_json(
        "SELECT jsonb_build_array(id, display_id) FROM conversations ORDER BY id LIMIT 1",
    );
    (v[0].as_i64().unwrap(), v[1].as_i64().unwrap())
}

#[actix_rt::test]
async fn csat_inside_the_window_is_a_list_and_each_answer_kind_is_a_rating_with_a_comment() {
    let server = graph().await;
    let (app, _) = app_with(
        &server,
        json!({"csat_survey_enabled": true, "csat_question": "How did we do?"}),
    )
    .await;
    let now = Utc::now().timestamp();
    app.deliver_bytes(&incoming(1, now, text("Help please")))
        .await;
    run_jobs(&app).await;
    let (conv, display) = first_conversation(&app);
    resolve(&app, display).await;
    run_jobs(&app).await;
    let bodies = sent(&server).await;
    let survey = bodies.last().unwrap();
    assert_eq!(survey["type"], "interactive", "{survey}");
    assert_eq!(survey["interactive"]["type"], "list");
    assert_eq!(survey["interactive"]["body"]["text"], "How did we do?");
    assert_eq!(
        survey["interactive"]["action"]["sections"][0]["rows"][0]["id"],
        format!("csat:{conv}:5")
    );

    // A list_reply answers it with 4; a text within 10 minutes is the comment.
    app.deliver_bytes(&incoming(
        2,
        now + 5,
        json!({"type": "interactive", "interactive": {"type": "list_reply",
            "list_reply": {"id": format!("csat:{conv}:4"), "title": "4 - Good"}}}),
    ))
    .await;
    run_jobs(&app).await;
    app.deliver_bytes(&incoming(3, now + 65, text("Quick and friendly")))
        .await;
    run_jobs(&app).await;
    let list = app
        .get(&format!(
            "/api/v1/accounts/{}/csat_survey_responses",
            app.account_id
        ))
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    // The answer and its comment joined the resolved conversation (no new one opened).
    assert_eq!(app.count("conversations"), 1);
    assert_eq!(
        app.query_json("SELECT to_jsonb(status) FROM conversations"),
        "resolved"
    );
    assert_eq!(
        app.count(&format!(
            "messages WHERE conversation_id = {conv} AND message_type = 0"
        )),
        3
    );
    assert_eq!(list[0]["rating"], 4);
    assert_eq!(list[0]["feedback_message"], "Quick and friendly");
    assert_eq!(list[0]["conversation_id"], display);
    assert_eq!(list[0]["contact"]["name"], "Sheena Nelson");
    assert_eq!(
        app.count(&format!(
            "messages WHERE conversation_id = {conv} AND message_type = 2 AND content = 'The customer rated the conversation 4/5'"
        )),
        1
    );
    // A later text (over 10 minutes) is not a comment; the rating keeps its first comment.
    app.deliver_bytes(&incoming(4, now + 3600, text("one more thing")))
        .await;
    run_jobs(&app).await;
    let list = app
        .get(&format!(
            "/api/v1/accounts/{}/csat_survey_responses?inbox_id=999",
            app.account_id
        ))
        .await;
    assert_eq!(list.as_array().unwrap().len(), 0);

    // Filters are checked.
    let (status, json) = app
        .api(
            "GET",
            &format!(
                "/api/v1/accounts/{}/csat_survey_responses?since=yesterday",
                app.account_id
            ),
            None,
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(json["field"], "since");
}

#[actix_rt::test]
async fn csat_outside_the_window_uses_the_template_and_its_button_payload_rates() {
    let server = graph().await;
    let (app, _) = app_with(
        &server,
        json!({"csat_survey_enabled": true, "csat_scale": "thumbs",
            "csat_template": {"name": "csat_rate", "language": "en_US"}}),
    )
    .await;
    // The customer wrote two days ago: the window is closed.
    let old = Utc::now().timestamp() - 2 * 86400;
    app.deliver_bytes(&incoming(1, old, text("Help please")))
        .await;
    run_jobs(&app).await;
    let (conv, display) = first_conversation(&app);
    resolve(&app, display).await;
    run_jobs(&app).await;
    let bodies = sent(&server).await;
    let survey = bodies.last().unwrap();
    assert_eq!(survey["type"], "template", "{survey}");
    assert_eq!(survey["template"]["name"], "csat_rate");
    let payloads: Vec<Value> = survey["template"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "button")
        .map(|c| c["parameters"][0]["payload"].clone())
        .collect();
    assert_eq!(
        payloads,
        vec![
            json!(format!("csat:{conv}:up")),
            json!(format!("csat:{conv}:down"))
        ]
    );
    // The template's quick-reply button comes back as a `button` message.
    app.deliver_bytes(&incoming(
        2,
        Utc::now().timestamp(),
        json!({"type": "button", "button": {"payload": format!("csat:{conv}:down"), "text": "👎 Not good"}}),
    ))
    .await;
    run_jobs(&app).await;
    let rating = app.query_json("SELECT to_jsonb(rating) FROM csat_survey_responses");
    assert_eq!(rating, 1);
}

#[actix_rt::test]
async fn csat_outside_the_window_without_a_template_records_the_reason_and_buttons_rate() {
    let server = graph().await;
    let (app, _) = app_with(
        &server,
        json!({"csat_survey_enabled": true, "csat_scale": "thumbs"}),
    )
    .await;
    let old = Utc::now().timestamp() - 2 * 86400;
    app.deliver_bytes(&incoming(1, old, text("Help please")))
        .await;
    run_jobs(&app).await;
    let (conv, display) = first_conversation(&app);
    resolve(&app, display).await;
    run_jobs(&app).await;
    assert_eq!(sent(&server).await.len(), 0);
    assert_eq!(
        app.count(&format!(
            "messages WHERE conversation_id = {conv} AND message_type = 2 AND content LIKE 'CSAT survey not sent: the 24-hour customer service window is closed%'"
        )),
        1
    );

    // Inside the window (a fresh message, resolved again): reply buttons; a button_reply rates.
    let now = Utc::now().timestamp();
    app.deliver_bytes(&incoming(2, now, text("Back again")))
        .await;
    run_jobs(&app).await;
    let latest = app.query_json(
        "SELECT jsonb_build_array(id, display_id) FROM conversations ORDER BY id DESC LIMIT 1",
    );
    let (conv2, display2) = (latest[0].as_i64().unwrap(), latest[1].as_i64().unwrap());
    resolve(&app, display2).await;
    run_jobs(&app).await;
    let survey = sent(&server).await.last().cloned().unwrap();
    assert_eq!(survey["interactive"]["type"], "button", "{survey}");
    app.deliver_bytes(&incoming(
        3,
        now + 2,
        json!({"type": "interactive", "interactive": {"type": "button_reply",
            "button_reply": {"id": format!("csat:{conv2}:up"), "title": "👍"}}}),
    ))
    .await;
    run_jobs(&app).await;
    let rating = app.query_json(&format!(
        "SELECT to_jsonb(rating) FROM csat_survey_responses WHERE conversation_id = {conv2}"
    ));
    assert_eq!(rating, 5);
}

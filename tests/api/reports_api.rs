//! Issue 14 (reports): Chatwoot's v2 reports API answers the same fields as Chatwoot's for
//! the same query (keys compared with the reference's schemas), agents see their inboxes
//! only, and bad parameters are 4xx with a message.

use crate::common::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn schema_keys(name: &str) -> BTreeSet<String> {
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/reference/chatwoot-application-api.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let s = &spec["components"]["schemas"][name];
    let props = if s["type"] == "array" {
        &s["items"]["properties"]
    } else {
        &s["properties"]
    };
    keys(props)
}

async fn seeded() -> (TestApp, i64, i64) {
    let app = TestApp::start();
    let inbox = app.create_inbox(json!({})).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    app.deliver_bytes(&with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    app.ingest();
    let display = app
        .query_json("SELECT to_jsonb(display_id) FROM conversations LIMIT 1")
        .as_i64()
        .unwrap();
    let base = format!(
        "/api/v1/accounts/{}/conversations/{display}",
        app.account_id
    );
    let (s, body) = app
        .api(
            "POST",
            &format!("{base}/messages"),
            Some(json!({"content": "Hello"})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    (app, inbox_id, display)
}

fn range() -> String {
    let now = chrono::Utc::now().timestamp();
    format!("since={}&until={}", now - 86_400, now + 3_600)
}

#[actix_rt::test]
async fn v2_reports_answer_chatwoots_fields() {
    let (app, inbox_id, _) = seeded().await;
    let a = app.account_id;
    let r = range();
    let summary = app
        .get(&format!(
            "/api/v2/accounts/{a}/reports/summary?type=account&{r}"
        ))
        .await;
    let mut expected = schema_keys("account_summary");
    expected.insert("reply_time".into());
    assert_eq!(keys(&summary), expected);
    assert_eq!(keys(&summary["previous"]).len(), 7);
    assert_eq!(summary["conversations_count"], 1);
    assert_eq!(summary["incoming_messages_count"], 1);
    assert_eq!(summary["outgoing_messages_count"], 1);

    for metric in [
        "conversations_count",
        "incoming_messages_count",
        "outgoing_messages_count",
        "avg_first_response_time",
        "avg_resolution_time",
        "resolutions_count",
        "reply_time",
    ] {
        let series = app
            .get(&format!(
                "/api/v2/accounts/{a}/reports?metric={metric}&type=inbox&id={inbox_id}&{r}&group_by=day&timezone_offset=5.5"
            ))
            .await;
        let items = series.as_array().unwrap();
        assert!(!items.is_empty() && items.len() <= 3, "{series}");
        for p in items {
            assert!(p["value"].is_number() && p["timestamp"].is_i64(), "{p}");
        }
    }
    let counts = app
        .get(&format!(
            "/api/v2/accounts/{a}/reports/conversations?type=account"
        ))
        .await;
    let mut expected =
        BTreeSet::from(["open".to_string(), "unattended".into(), "unassigned".into()]);
    expected.insert("pending".into());
    assert_eq!(keys(&counts), expected);
    assert_eq!(counts["open"], 1);
    let agents = app
        .get(&format!(
            "/api/v2/accounts/{a}/reports/conversations/?type=agent"
        ))
        .await;
    assert_eq!(keys(&agents[0]), schema_keys("agent_conversation_metrics"));

    for (by, schema) in [
        ("agent", "agent_summary"),
        ("inbox", "inbox_summary"),
        ("team", "team_summary"),
    ] {
        let rows = app
            .get(&format!(
                "/api/v2/accounts/{a}/summary_reports/{by}?{r}&business_hours=true"
            ))
            .await;
        if let Some(first) = rows.as_array().unwrap().first() {
            let have = keys(first);
            assert!(schema_keys(schema).is_subset(&have), "{by}: {have:?}");
        }
    }
    let inboxes = app
        .get(&format!("/api/v2/accounts/{a}/summary_reports/inbox?{r}"))
        .await;
    assert_eq!(inboxes[0]["id"], inbox_id);
    assert_eq!(inboxes[0]["conversations_count"], 1);

    let dist = app
        .get(&format!(
            "/api/v2/accounts/{a}/reports/first_response_time_distribution?{r}"
        ))
        .await;
    assert_eq!(dist["Channel::Whatsapp"]["0-1h"], 1);
    let out = app
        .get(&format!(
            "/api/v2/accounts/{a}/reports/outgoing_messages_count?group_by=inbox&{r}"
        ))
        .await;
    assert_eq!(keys(&out[0]), schema_keys("outgoing_messages_count"));
    let times = app
        .get(&format!("/api/v2/accounts/{a}/reports/times?{r}"))
        .await;
    assert_eq!(times[0]["metric"], "first_response");
    assert_eq!(times[0]["count"], 1);
    let wa = app
        .get(&format!("/api/v2/accounts/{a}/reports/whatsapp?{r}"))
        .await;
    assert!(wa["templates"].is_array() && wa["failures"].is_array());
    let csat = app
        .get(&format!("/api/v2/accounts/{a}/reports/csat?{r}"))
        .await;
    assert_eq!(csat["sent"], 0);
    let overview = app
        .get(&format!("/api/v2/accounts/{a}/reports/overview"))
        .await;
    assert_eq!(overview["total"]["open"], 1);
    for path in [
        "reports/agents",
        "reports/inboxes",
        "reports/labels",
        "reports/teams",
        "reports/export/conversations",
        "reports/conversations.csv",
    ] {
        let (s, _) = app
            .api(
                "GET",
                &format!("/api/v2/accounts/{a}/{path}?{r}"),
                None,
                &app.token.clone(),
            )
            .await;
        assert_eq!(s, 200, "{path}");
    }
}

#[actix_rt::test]
async fn agents_see_their_inboxes_and_bad_params_are_4xx() {
    let (app, inbox_id, _) = seeded().await;
    let a = app.account_id;
    let r = range();
    let (_, agent) = app.create_agent("ben@example.com");
    // Not a member of the inbox: its report is 404, the account's figures exclude it.
    let (s, _) = app
        .api(
            "GET",
            &format!("/api/v2/accounts/{a}/reports/summary?type=inbox&id={inbox_id}&{r}"),
            None,
            &agent,
        )
        .await;
    assert_eq!(s, 404);
    let (s, body) = app
        .api(
            "GET",
            &format!("/api/v2/accounts/{a}/reports/summary?{r}"),
            None,
            &agent,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(body["conversations_count"], 0);
    let (_, body) = app
        .api(
            "GET",
            &format!("/api/v2/accounts/{a}/reports/conversations"),
            None,
            &agent,
        )
        .await;
    assert_eq!(body["open"], 0);
    // Other account's ids, unknown names, malformed values.
    let t = app.token.clone();
    for (q, want) in [
        ("reports?metric=nope", 422),
        ("reports", 422),
        ("reports/summary?since=abc", 422),
        ("reports/summary?since=99999999999999999999", 422),
        ("reports/summary?since=100&until=50", 422),
        ("reports/summary?since=0&until=1700000000", 422),
        ("reports/summary?type=inbox&id=999999", 404),
        ("reports/summary?type=agent&id=-1", 422),
        ("reports/summary?type=team", 422),
        ("reports/summary?type=planet&id=1", 422),
        ("reports/summary?type=label&id=nolabel", 404),
        ("reports?metric=conversations_count&group_by=hour", 422),
        ("reports/summary?timezone=Mars/Base", 422),
        ("reports/summary?timezone_offset=99", 422),
        ("reports/summary?business_hours=maybe", 422),
        ("reports/summary?id=%00", 400),
        ("reports/summary?type=inbox&id=1%002", 400),
        ("summary_reports/planets", 404),
        ("reports/export/planets", 404),
        ("reports/outgoing_messages_count?group_by=planet", 422),
    ] {
        let (s, body) = app
            .api("GET", &format!("/api/v2/accounts/{a}/{q}"), None, &t)
            .await;
        assert_eq!(s, want, "{q}: {body}");
        if want == 422 || want == 400 {
            assert!(
                body["message"].is_string() || body["error"].is_string(),
                "{q}: {body}"
            );
        }
    }
    let (s, _) = app
        .api(
            "GET",
            &format!("/api/v2/accounts/{}/reports/summary", a + 1000),
            None,
            &t,
        )
        .await;
    assert!(s == 401 || s == 403 || s == 404, "{s}");
}

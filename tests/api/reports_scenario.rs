//! Issue 14 (reports): a fixed week of conversations checked against hand-computed figures,
//! and the reporting facts recorded through the real paths (webhook, API reply, resolve).
//!
//! The week (2026-03-02 .. 2026-03-10; New York moves to daylight time on Sunday 03-08 at
//! 07:00Z, Berlin stays at UTC+1):
//! - C1, inbox "NY" (business hours America/New_York Mon–Fri 09:00–17:00), label billing,
//!   assigned to Ben: customer Fri 03-06 21:00Z (16:00 EST); Ben replies Mon 03-09 13:30Z
//!   (09:30 EDT): first response 232,200 s, in business hours 5,400 s (Fri 16–17, Mon
//!   9–9:30); resolved 14:00Z: 234,000 s, business hours 7,200 s.
//! - C2, inbox "Berlin" (no business hours), label billing, team Tier 1, Ben: customer Tue
//!   03-03 10:00Z, reply 10:10Z (600 s); customer 11:00Z, greeting (automated) 11:01Z and a
//!   private note 11:02Z (neither answers), reply 11:30Z (reply time 1,800 s); resolved
//!   12:00Z (7,200 s); reopened Wed 03-04 09:00Z, customer 09:00Z, reply 09:20Z (1,200 s),
//!   resolved 10:00Z (3,600 s, measured from the reopen).
//! - C3, inbox "Berlin", label vip: customer Sun 03-08 23:30Z (NY 19:30 EDT, Berlin Mon
//!   00:30), template "promo" (MARKETING) by the admin 23:40Z (600 s), whose `failed` status
//!   (error 131047) arrives late, twice.
//! - C4, inbox "NY": customer Mon 03-09 04:30Z (NY 00:30 EDT: Monday only with DST; 23:30
//!   Sunday in EST), unanswered.

use crate::common::*;
use chrono::{DateTime, TimeZone, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde_json::json;
use switchboard::domain::reporting as f;
use switchboard::domain::reports::{self, By, GroupBy, Query, Subject, Zone};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

fn id(conn: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Id>(conn).unwrap().id
}

struct World {
    app: TestApp,
    ny: i64,
    berlin: i64,
    ben: i64,
    team: i64,
    c: [i64; 4],
    template_msg: i64,
}

fn conversation(conn: &mut PgConnection, account: i64, inbox: i64, contact: i64, at: &str) -> i64 {
    let c = id(
        conn,
        &format!(
            "INSERT INTO conversations (account_id, inbox_id, contact_id, last_activity_at, created_at) \
             VALUES ({account}, {inbox}, {contact}, '{at}', '{at}') RETURNING id"
        ),
    );
    f::conversation_created(conn, c).unwrap();
    c
}

/// Stores a message and records its facts; `kind` incoming / reply / automated / note /
/// template.
fn message(conn: &mut PgConnection, conv: i64, kind: &str, sender: Option<i64>, at: &str) -> i64 {
    let (mt, private, attrs) = match kind {
        "incoming" => (0, false, json!({})),
        "reply" => (1, false, json!({})),
        "automated" => (1, false, json!({"automated": "greeting"})),
        "note" => (1, true, json!({})),
        "template" => (
            3,
            false,
            json!({"template": {"name": "promo", "language": "en", "category": "MARKETING"}}),
        ),
        _ => unreachable!(),
    };
    let (st, sid) = match (kind, sender) {
        ("incoming", _) => ("'Contact'".to_string(), "NULL".to_string()),
        (_, Some(u)) => ("'User'".to_string(), u.to_string()),
        _ => ("NULL".to_string(), "NULL".to_string()),
    };
    let m = id(
        conn,
        &format!(
            "INSERT INTO messages (account_id, inbox_id, conversation_id, message_type, content, \
               content_type, content_attributes, private, status, sender_type, sender_id, created_at, updated_at) \
             SELECT account_id, inbox_id, id, {mt}, 'hi', 'text', '{attrs}', {private}, 'sent', {st}, {sid}, '{at}', '{at}' \
             FROM conversations WHERE id = {conv} RETURNING id"
        ),
    );
    f::message_created(conn, m).unwrap();
    m
}

fn setup() -> World {
    let app = TestApp::start();
    let inbox = app.create_inbox_direct();
    let (ben, _) = app.create_agent("ben@example.com");
    let mut conn = app.conn();
    let a = app.account_id;
    let ny = inbox.0.id;
    diesel::sql_query("UPDATE inboxes SET name = 'NY' WHERE id = $1")
        .bind::<BigInt, _>(ny)
        .execute(&mut conn)
        .unwrap();
    let berlin = switchboard::domain::inboxes::create(
        &mut conn,
        &app.state.secrets,
        a,
        switchboard::domain::inboxes::NewWhatsappInbox {
            name: "Berlin".into(),
            phone_number: "+4930123456".into(),
            phone_number_id: "4930123456".into(),
            business_account_id: "4930999".into(),
            api_key: "EAAG-test-access-token-5678".into(),
            ..Default::default()
        },
    )
    .expect("second inbox")
    .0
    .id;
    let hours: String = json!([1, 2, 3, 4, 5]
        .iter()
        .map(|d| json!({"day_of_week": d, "open_hour": 9, "open_minutes": 0, "close_hour": 17, "close_minutes": 0}))
        .collect::<Vec<_>>())
    .to_string();
    conn.batch_execute(&format!(
        "INSERT INTO inbox_hours_settings (inbox_id, account_id, working_hours_enabled, timezone, working_hours) \
         VALUES ({ny}, {a}, true, 'America/New_York', '{hours}');
         INSERT INTO inbox_members (inbox_id, user_id) VALUES ({ny}, {ben}), ({berlin}, {ben});"
    ))
    .unwrap();
    let team = id(
        &mut conn,
        &format!("INSERT INTO teams (account_id, name) VALUES ({a}, 'Tier 1') RETURNING id"),
    );
    let contact = id(
        &mut conn,
        &format!("INSERT INTO contacts (account_id, name) VALUES ({a}, 'Kim') RETURNING id"),
    );
    let admin = app.admin_id;

    // C1
    let c1 = conversation(&mut conn, a, ny, contact, "2026-03-06T21:00:00Z");
    message(&mut conn, c1, "incoming", None, "2026-03-06T21:00:00Z");
    conn.batch_execute(&format!(
        "UPDATE conversations SET assignee_id = {ben}, labels = ARRAY['billing'] WHERE id = {c1}"
    ))
    .unwrap();
    f::assigned(
        &mut conn,
        c1,
        f::CONVERSATION_ASSIGNED,
        t("2026-03-06T21:05:00Z"),
    )
    .unwrap();
    message(&mut conn, c1, "reply", Some(ben), "2026-03-09T13:30:00Z");
    f::status_changed(&mut conn, c1, "resolved", "open", t("2026-03-09T14:00:00Z")).unwrap();

    // C2
    let c2 = conversation(&mut conn, a, berlin, contact, "2026-03-03T10:00:00Z");
    conn.batch_execute(&format!(
        "UPDATE conversations SET assignee_id = {ben}, team_id = {team}, labels = ARRAY['billing'] WHERE id = {c2}"
    ))
    .unwrap();
    f::assigned(
        &mut conn,
        c2,
        f::CONVERSATION_ASSIGNED,
        t("2026-03-03T10:00:00Z"),
    )
    .unwrap();
    f::assigned(&mut conn, c2, f::TEAM_ASSIGNED, t("2026-03-03T10:00:00Z")).unwrap();
    message(&mut conn, c2, "incoming", None, "2026-03-03T10:00:00Z");
    message(&mut conn, c2, "reply", Some(ben), "2026-03-03T10:10:00Z");
    message(&mut conn, c2, "incoming", None, "2026-03-03T11:00:00Z");
    message(&mut conn, c2, "automated", None, "2026-03-03T11:01:00Z");
    message(&mut conn, c2, "note", Some(ben), "2026-03-03T11:02:00Z");
    message(&mut conn, c2, "reply", Some(ben), "2026-03-03T11:30:00Z");
    f::status_changed(&mut conn, c2, "resolved", "open", t("2026-03-03T12:00:00Z")).unwrap();
    f::status_changed(&mut conn, c2, "open", "resolved", t("2026-03-04T09:00:00Z")).unwrap();
    message(&mut conn, c2, "incoming", None, "2026-03-04T09:00:00Z");
    message(&mut conn, c2, "reply", Some(ben), "2026-03-04T09:20:00Z");
    f::status_changed(&mut conn, c2, "resolved", "open", t("2026-03-04T10:00:00Z")).unwrap();

    // C3
    let c3 = conversation(&mut conn, a, berlin, contact, "2026-03-08T23:30:00Z");
    conn.batch_execute(&format!(
        "UPDATE conversations SET labels = ARRAY['vip'] WHERE id = {c3}"
    ))
    .unwrap();
    message(&mut conn, c3, "incoming", None, "2026-03-08T23:30:00Z");
    let template_msg = message(
        &mut conn,
        c3,
        "template",
        Some(admin),
        "2026-03-08T23:40:00Z",
    );

    // C4
    let c4 = conversation(&mut conn, a, ny, contact, "2026-03-09T04:30:00Z");
    message(&mut conn, c4, "incoming", None, "2026-03-09T04:30:00Z");

    // Final statuses for the live overview.
    conn.batch_execute(&format!(
        "UPDATE conversations SET status = 'resolved' WHERE id IN ({c1}, {c2});
         UPDATE conversations SET waiting_since = '2026-03-09T04:30:00Z' WHERE id = {c4};"
    ))
    .unwrap();
    drop(conn);
    World {
        app,
        ny,
        berlin,
        ben,
        team,
        c: [c1, c2, c3, c4],
        template_msg,
    }
}

fn query(w: &World, zone: Zone, since: &str, until: &str) -> Query {
    Query {
        account_id: w.app.account_id,
        visible_inboxes: None,
        subject: Subject::Account,
        since: t(since),
        until: t(until),
        zone,
        business_hours: false,
    }
}

fn ny_week(w: &World) -> Query {
    // New York midnights: 03-02 00:00 EST = 05:00Z; 03-10 00:00 EDT = 04:00Z.
    query(
        w,
        Zone::Named(chrono_tz::America::New_York),
        "2026-03-02T05:00:00Z",
        "2026-03-10T04:00:00Z",
    )
}

fn close(a: Option<f64>, b: f64) {
    let a = a.expect("a value");
    assert!((a - b).abs() < 0.01, "{a} != {b}");
}

#[actix_rt::test]
async fn a_fixed_week_gives_the_hand_computed_figures() {
    let w = setup();
    let mut conn = w.app.conn();
    // A late failed status, delivered twice: counted once, on the day the template was sent.
    conn.batch_execute(&format!(
        "UPDATE messages SET status = 'failed', external_error = '(#131047) Re-engagement message' WHERE id = {}",
        w.template_msg
    ))
    .unwrap();
    f::message_failed(&mut conn, w.template_msg).unwrap();
    f::message_failed(&mut conn, w.template_msg).unwrap();

    let q = ny_week(&w);
    let totals = reports::totals(&mut conn, &q).unwrap();
    assert_eq!(totals.conversations_count, 4);
    assert_eq!(totals.incoming_messages_count, 6);
    // Replies (4 by Ben, 1 template) and the greeting; never the private note.
    assert_eq!(totals.outgoing_messages_count, 6);
    assert_eq!(totals.resolutions_count, 3);
    assert!((totals.avg_first_response_time - 77_800.0).abs() < 0.01);
    assert!((totals.avg_resolution_time - 81_600.0).abs() < 0.01);
    assert!((totals.reply_time - 1_500.0).abs() < 0.01);
    let bh = reports::totals(
        &mut conn,
        &Query {
            business_hours: true,
            ..q.clone()
        },
    )
    .unwrap();
    assert!((bh.avg_first_response_time - 2_200.0).abs() < 0.01);
    assert!((bh.avg_resolution_time - 6_000.0).abs() < 0.01);

    // Per day in New York: DST makes 03-08 23 hours long; C4 (04:30Z) is Monday 03-09.
    let days = reports::series(&mut conn, &q, "conversations_count", GroupBy::Day).unwrap();
    assert_eq!(days.len(), 8);
    let per_day: Vec<(i64, f64)> = days.iter().map(|p| (p.timestamp, p.value)).collect();
    let ts = |s: &str| t(s).timestamp();
    assert_eq!(
        per_day,
        vec![
            (ts("2026-03-02T05:00:00Z"), 0.0),
            (ts("2026-03-03T05:00:00Z"), 1.0),
            (ts("2026-03-04T05:00:00Z"), 0.0),
            (ts("2026-03-05T05:00:00Z"), 0.0),
            (ts("2026-03-06T05:00:00Z"), 1.0),
            (ts("2026-03-07T05:00:00Z"), 0.0),
            (ts("2026-03-08T05:00:00Z"), 1.0),
            (ts("2026-03-09T04:00:00Z"), 1.0),
        ]
    );
    // Berlin (UTC+1): C3 (23:30Z) and C4 are both Monday 03-09.
    let berlin = query(
        &w,
        Zone::Named(chrono_tz::Europe::Berlin),
        "2026-03-01T23:00:00Z",
        "2026-03-09T23:00:00Z",
    );
    let days = reports::series(&mut conn, &berlin, "conversations_count", GroupBy::Day).unwrap();
    let values: Vec<f64> = days.iter().map(|p| p.value).collect();
    assert_eq!(values, vec![0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 2.0]);
    // A fixed offset (Chatwoot's timezone_offset = -5: no DST) puts C4 on Sunday.
    let est = query(
        &w,
        Zone::from_offset_hours("-5").unwrap(),
        "2026-03-02T05:00:00Z",
        "2026-03-10T05:00:00Z",
    );
    let days = reports::series(&mut conn, &est, "conversations_count", GroupBy::Day).unwrap();
    let values: Vec<f64> = days.iter().map(|p| p.value).collect();
    assert_eq!(values, vec![0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 2.0, 0.0]);
    // A week bucket (Monday start) holds everything; resolutions per day.
    let weeks = reports::series(&mut conn, &q, "resolutions_count", GroupBy::Week).unwrap();
    assert_eq!(weeks.iter().map(|p| p.value).sum::<f64>(), 3.0);
    let frt = reports::series(&mut conn, &q, "avg_first_response_time", GroupBy::Day).unwrap();
    assert_eq!(frt[1].value, 600.0); // 03-03: C2
    assert_eq!(frt[7].value, 232_200.0); // 03-09: C1's reply
    assert_eq!(frt[6].value, 600.0); // 03-08 NY: C3's template at 23:40Z

    // Medians and p90 (percentile_cont).
    let times = reports::times(&mut conn, &q).unwrap();
    let first = &times[0];
    assert_eq!((first.metric.as_str(), first.count), ("first_response", 3));
    close(first.median, 600.0);
    close(first.p90, 185_880.0);
    assert_eq!(first.distribution, [2, 0, 0, 0, 1]);
    let res = &times[1];
    assert_eq!((res.metric.as_str(), res.count), ("resolution", 3));
    close(res.median, 7_200.0);
    close(res.p90, 188_640.0);
    let reply = &times[2];
    assert_eq!(reply.count, 2);
    close(reply.median, 1_500.0);
    close(reply.p90, 1_740.0);
    let times_bh = reports::times(
        &mut conn,
        &Query {
            business_hours: true,
            ..q.clone()
        },
    )
    .unwrap();
    close(times_bh[0].avg, 2_200.0);
    close(times_bh[0].p90, 4_440.0);
    close(times_bh[1].median, 7_200.0);
    close(times_bh[1].p90, 7_200.0);

    // Breakdowns.
    let agents = reports::breakdown(&mut conn, &q, By::Agent).unwrap();
    let ben = agents.iter().find(|r| r.id == w.ben).unwrap();
    assert_eq!(ben.conversations_count, 2);
    assert_eq!(ben.resolved_conversations_count, 3);
    // Four replies, and the greeting counted for the assignee (it has no sender).
    assert_eq!(ben.outgoing_messages_count, 5);
    close(ben.avg_reply_time, 1_500.0);
    close(ben.avg_first_response_time, 116_400.0);
    let admin = agents.iter().find(|r| r.id == w.app.admin_id).unwrap();
    close(admin.avg_first_response_time, 600.0);
    let inboxes = reports::breakdown(&mut conn, &q, By::Inbox).unwrap();
    let ny = inboxes.iter().find(|r| r.id == w.ny).unwrap();
    assert_eq!(
        (ny.conversations_count, ny.resolved_conversations_count),
        (2, 1)
    );
    let be = inboxes.iter().find(|r| r.id == w.berlin).unwrap();
    assert_eq!(
        (be.conversations_count, be.resolved_conversations_count),
        (2, 2)
    );
    close(be.avg_resolution_time, 5_400.0);
    let teams = reports::breakdown(&mut conn, &q, By::Team).unwrap();
    let tier = teams.iter().find(|r| r.id == w.team).unwrap();
    assert_eq!(
        (tier.conversations_count, tier.resolved_conversations_count),
        (1, 2)
    );
    let labels = reports::breakdown(&mut conn, &q, By::Label).unwrap();
    let billing = labels.iter().find(|r| r.name == "billing").unwrap();
    assert_eq!(
        (
            billing.conversations_count,
            billing.resolved_conversations_count
        ),
        (2, 3)
    );
    close(billing.avg_first_response_time, 116_400.0);
    let vip = labels.iter().find(|r| r.name == "vip").unwrap();
    assert_eq!(vip.conversations_count, 1);
    // A label subject.
    let lq = Query {
        subject: Subject::Label("billing".into()),
        ..q.clone()
    };
    assert_eq!(
        reports::totals(&mut conn, &lq).unwrap().resolutions_count,
        3
    );

    // An agent who sees only the NY inbox sees only its figures.
    let nyq = Query {
        visible_inboxes: Some(vec![w.ny]),
        ..q.clone()
    };
    let only = reports::totals(&mut conn, &nyq).unwrap();
    assert_eq!((only.conversations_count, only.resolutions_count), (2, 1));

    // WhatsApp: the template by name and category; the late failure once, on 03-08 NY.
    let templates = reports::templates(&mut conn, &q).unwrap();
    assert_eq!(templates.len(), 1);
    assert_eq!(
        (
            templates[0].key.as_str(),
            templates[0].category.as_str(),
            templates[0].count
        ),
        ("promo", "MARKETING", 1)
    );
    let failures = reports::failures(&mut conn, &q).unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!((failures[0].key.as_str(), failures[0].count), ("131047", 1));
    let sunday = query(
        &w,
        Zone::Named(chrono_tz::America::New_York),
        "2026-03-08T05:00:00Z",
        "2026-03-09T04:00:00Z",
    );
    assert_eq!(reports::failures(&mut conn, &sunday).unwrap()[0].count, 1);

    // The live overview: C3 and C4 open and unassigned, C4 waiting.
    let o = reports::live::overview(&mut conn, w.app.account_id, None).unwrap();
    assert_eq!(
        (
            o.total.open,
            o.total.unattended,
            o.total.unassigned,
            o.total.pending
        ),
        (2, 1, 2, 0)
    );
    let ny_live = o.inboxes.iter().find(|i| i.id == w.ny).unwrap();
    assert_eq!((ny_live.open, ny_live.unattended), (1, 1));
    assert!(o.agents.iter().any(|a| a.id == w.ben && a.open == 0));

    // The rollups agree with the facts (the trigger kept them in step).
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    f::fold(&mut conn).unwrap();
    let facts: N = diesel::sql_query("SELECT count(*) AS n FROM reporting_events")
        .get_result(&mut conn)
        .unwrap();
    let rolled: N =
        diesel::sql_query("SELECT COALESCE(sum(count), 0)::int8 AS n FROM reporting_rollups")
            .get_result(&mut conn)
            .unwrap();
    assert_eq!(facts.n, rolled.n);
    let _ = w.c;
}

#[actix_rt::test]
async fn csv_exports_carry_the_same_figures() {
    let w = setup();
    let mut conn = w.app.conn();
    let q = ny_week(&w);
    for kind in reports::csv::KINDS {
        let bytes = reports::csv::report(&mut conn, &q, kind, GroupBy::Day)
            .unwrap()
            .unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.lines().count() >= 2, "{kind}: {text}");
    }
    let conv = String::from_utf8(
        reports::csv::report(&mut conn, &q, "conversations", GroupBy::Day)
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    let mut rdr = csv::Reader::from_reader(conv.as_bytes());
    let header = rdr.headers().unwrap().clone();
    assert_eq!(&header[2], "conversations_count");
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 8);
    assert_eq!(&rows[7][1], "2026-03-09");
    assert_eq!(&rows[7][2], "1");
    assert!(reports::csv::report(&mut conn, &q, "nope", GroupBy::Day)
        .unwrap()
        .is_none());
    // Per-conversation rows, in pages.
    let mut out = reports::csv::conversations_header();
    let mut after = None;
    let mut pages = 0;
    loop {
        pages += 1;
        match reports::csv::conversations_page(&mut conn, &q, after, 3, &mut out).unwrap() {
            Some(last) => after = Some(last),
            None => break,
        }
    }
    assert_eq!(pages, 2);
    let mut rdr = csv::Reader::from_reader(out.as_slice());
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 4);
    let c2 = rows
        .iter()
        .find(|r| &r[1] == "Berlin" && &r[5] == "billing")
        .unwrap();
    assert_eq!(&c2[7], "600");
    assert_eq!(&c2[9], "10800"); // two resolutions: 7,200 + 3,600
    assert_eq!(&c2[12], "3");
    assert_eq!(&c2[14], "1");
}

/// The hook records facts on the real paths: a customer's webhook message, an agent's reply
/// through the API, a resolve, a reopen and a second resolve.
#[actix_rt::test]
async fn facts_follow_the_real_paths() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
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
            Some(json!({"content": "Hello, how can I help?"})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, _) = app
        .api(
            "POST",
            &format!("{base}/messages"),
            Some(json!({"content": "internal", "private": true})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(s, 200);
    for status in ["resolved", "open", "resolved"] {
        let (s, body) = app
            .api(
                "POST",
                &format!("{base}/toggle_status"),
                Some(json!({"status": status})),
                &app.token.clone(),
            )
            .await;
        assert_eq!(s, 200, "{body}");
    }
    let names = app.query_json("SELECT jsonb_agg(name ORDER BY id) FROM reporting_events");
    let names: Vec<&str> = names
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .filter(|n| !n.ends_with("_assigned"))
        .collect();
    assert_eq!(
        names,
        vec![
            "conversation_created",
            "message_received",
            "message_sent",
            "first_response",
            "conversation_resolved",
            "conversation_opened",
            "conversation_resolved",
        ],
        "{names:?}"
    );
    let mut conn = app.conn();
    #[derive(QueryableByName)]
    struct R {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    f::fold(&mut conn).unwrap();
    let rolled: Vec<R> = diesel::sql_query(
        "SELECT name, sum(count)::int8 AS count FROM reporting_rollups GROUP BY name ORDER BY name",
    )
    .load(&mut conn)
    .unwrap();
    let resolved = rolled
        .iter()
        .find(|r| r.name == "conversation_resolved")
        .unwrap();
    assert_eq!(resolved.count, 2);
    let _ = Utc.timestamp_opt(0, 0);
}

#[actix_rt::test]
async fn sla_figures_closed_windows_and_label_moves_by_hand() {
    let w = setup();
    let mut conn = w.app.conn();
    let a = w.app.account_id;
    let [c1, c2, c3, c4] = w.c;
    // SLAs written as domain::sla leaves them: Gold on C1 (missed: first response and
    // resolution breached) and C2 (hit); Silver on C3 (running) and C4 (running, first
    // response breached); Bronze applied nowhere.
    let gold = id(&mut conn, &format!("INSERT INTO sla_policies (account_id, name, description, first_response_time_threshold) VALUES ({a}, 'Gold', '', 3600) RETURNING id"));
    let silver = id(&mut conn, &format!("INSERT INTO sla_policies (account_id, name, description, first_response_time_threshold) VALUES ({a}, 'Silver', '', 7200) RETURNING id"));
    id(&mut conn, &format!("INSERT INTO sla_policies (account_id, name, description) VALUES ({a}, 'Bronze', '') RETURNING id"));
    let applied = |conn: &mut PgConnection, c: i64, p: i64, status: &str, at: &str| {
        id(conn, &format!(
            "INSERT INTO applied_slas (account_id, conversation_id, sla_policy_id, sla_status, breached, created_at, updated_at) \
             VALUES ({a}, {c}, {p}, '{status}', false, '{at}', '{at}') RETURNING id"))
    };
    let breach = |conn: &mut PgConnection, s: i64, c: i64, kind: &str, at: &str| {
        conn.batch_execute(&format!(
            "INSERT INTO sla_events (applied_sla_id, account_id, conversation_id, event_type, started_at, due_at, created_at) \
             VALUES ({s}, {a}, {c}, '{kind}', '{at}', '{at}', '{at}')")).unwrap();
    };
    let s1 = applied(&mut conn, c1, gold, "missed", "2026-03-06T21:00:00Z");
    breach(&mut conn, s1, c1, "frt", "2026-03-06T22:00:00Z");
    breach(&mut conn, s1, c1, "rt", "2026-03-07T21:00:00Z");
    applied(&mut conn, c2, gold, "hit", "2026-03-03T10:00:00Z");
    applied(&mut conn, c3, silver, "active", "2026-03-08T23:30:00Z");
    let s4 = applied(
        &mut conn,
        c4,
        silver,
        "active_with_misses",
        "2026-03-09T04:30:00Z",
    );
    breach(&mut conn, s4, c4, "frt", "2026-03-09T06:30:00Z");

    let q = ny_week(&w);
    let r = reports::sla::sla(&mut conn, &q).unwrap();
    let names: Vec<&str> = r.policies.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Bronze", "Gold", "Silver"]);
    let tot = &r.total;
    assert_eq!((tot.applied, tot.hit, tot.missed, tot.active), (4, 1, 1, 2));
    assert_eq!(
        (tot.breaches_frt, tot.breaches_nrt, tot.breaches_rt),
        (2, 0, 1)
    );
    assert_eq!(tot.hit_rate(), Some(0.5));
    let g = &r.policies[1];
    assert_eq!((g.applied, g.hit, g.missed, g.breaches()), (2, 1, 1, 2));
    let s = &r.policies[2];
    assert_eq!(
        (s.applied, s.active, s.hit_rate(), s.breaches_frt),
        (2, 2, None, 1)
    );
    assert_eq!((r.policies[0].applied, r.policies[0].hit_rate()), (0, None));
    // Inbox NY: C1 and C4.
    let ny = reports::sla::sla(
        &mut conn,
        &Query {
            subject: Subject::Inbox(w.ny),
            ..q.clone()
        },
    )
    .unwrap()
    .total;
    assert_eq!(
        (ny.applied, ny.missed, ny.active, ny.breaches()),
        (2, 1, 1, 3)
    );
    assert_eq!(ny.hit_rate(), Some(0.0));
    let csv = String::from_utf8(
        reports::csv::report(&mut conn, &q, "sla", GroupBy::Day)
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert!(csv.contains("Gold,2,1,1,0,50.0,1,0,1"), "{csv}");
    assert!(csv.contains(",All policies,4,1,1,2,50.0,2,0,1"), "{csv}");

    // Closed windows: C1's (customer 03-06 21:00Z, reply only on 03-09) closed 03-07 21:00Z;
    // C4's (03-09 04:30Z, never answered) 03-10 04:30Z; C2's and C3's were answered.
    assert_eq!(
        f::close_windows(&mut conn, t("2026-03-20T00:00:00Z"), 100).unwrap(),
        2
    );
    assert_eq!(
        f::close_windows(&mut conn, t("2026-03-21T00:00:00Z"), 100).unwrap(),
        0
    );
    let per_day = |conn: &mut PgConnection, zone: Zone, since: &str, until: &str| -> Vec<f64> {
        reports::series(
            conn,
            &query(&w, zone, since, until),
            "windows_closed_unanswered",
            GroupBy::Day,
        )
        .unwrap()
        .iter()
        .map(|p| p.value)
        .collect()
    };
    // New York, 03-02 .. 03-10: C1's on Sat 03-07 (16:00 EST), C4's on Tue 03-10 (00:30 EDT).
    assert_eq!(
        per_day(
            &mut conn,
            Zone::Named(chrono_tz::America::New_York),
            "2026-03-02T05:00:00Z",
            "2026-03-11T04:00:00Z"
        ),
        [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0]
    );
    // Kolkata (UTC+5:30, day edges mid-hour): C1's at 02:30 on 03-08, C4's at 10:00 on 03-10.
    assert_eq!(
        per_day(
            &mut conn,
            Zone::Named(chrono_tz::Asia::Kolkata),
            "2026-03-01T18:30:00Z",
            "2026-03-10T18:30:00Z"
        ),
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0]
    );
    // A range of one minute around C1's close, read from the facts themselves.
    assert_eq!(
        per_day(
            &mut conn,
            Zone::Offset(0),
            "2026-03-07T20:59:30Z",
            "2026-03-07T21:00:30Z"
        ),
        [1.0]
    );
    let wa = String::from_utf8(
        reports::csv::report(&mut conn, &ny_week(&w), "whatsapp", GroupBy::Day)
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert!(wa.contains("2026-03-07,1"), "{wa}");

    // A label added to C3 moves its facts into the label's rollups (and back out).
    let billing = |conn: &mut PgConnection| {
        reports::breakdown(conn, &ny_week(&w), By::Label)
            .unwrap()
            .into_iter()
            .find(|r| r.name == "billing")
            .map(|r| (r.conversations_count, r.incoming_messages_count))
            .unwrap()
    };
    assert_eq!(billing(&mut conn), (2, 4)); // C1: 1 incoming, C2: 3
    conn.batch_execute(&format!(
        "UPDATE conversations SET labels = ARRAY['vip', 'billing'] WHERE id = {c3}"
    ))
    .unwrap();
    assert_eq!(billing(&mut conn), (3, 5));
    conn.batch_execute(&format!(
        "UPDATE conversations SET labels = ARRAY['vip'] WHERE id = {c3}"
    ))
    .unwrap();
    assert_eq!(billing(&mut conn), (2, 4));
    // Every rollup still adds up to the facts.
    #[derive(QueryableByName)]
    struct Check {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ok: bool,
    }
    f::fold(&mut conn).unwrap();
    let ok: Check = diesel::sql_query(format!(
        "SELECT (SELECT count(*) FROM reporting_events WHERE account_id = {a}) * 3 \
           = (SELECT sum(count) FROM reporting_daily WHERE account_id = {a}) \
         AND (SELECT sum(count) FROM reporting_label_daily WHERE account_id = {a}) \
           = (SELECT sum(count) FROM reporting_label_hourly WHERE account_id = {a}) \
         AND (SELECT sum(count) FROM reporting_label_daily WHERE account_id = {a}) \
           = (SELECT count(*) FROM reporting_events e JOIN conversations c ON c.id = e.conversation_id \
              CROSS JOIN unnest(c.labels) WHERE e.account_id = {a}) AS ok"
    ))
    .get_result(&mut conn)
    .unwrap();
    assert!(ok.ok);
    let _ = (c2, w.berlin, w.team, w.ben, w.template_msg);
}

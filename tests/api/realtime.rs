//! Realtime: domain events written with the change and announced with NOTIFY, fanned out by
//! each process's hub, and streamed over SSE at `GET /api/v1/accounts/{id}/events` with
//! visibility rules, `Last-Event-ID` replay, cross-process delivery and rollback safety.

use crate::common::*;
use diesel::{Connection, RunQueryDsl};
use serde_json::{json, Value};
use std::time::Duration;
use switchboard::app::{self, AppState};
use switchboard::domain::accounts;
use switchboard::domain::events;
use switchboard::domain::messages::{self, message_type, NewMessage};
use switchboard::web::realtime;

const OUTGOING_WAMID: &str = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJPVVRHT0lOR18wMDAwMDEA";

/// How long a test waits for an event that should come.
const WAIT: Duration = Duration::from_secs(10);

/// A real HTTP server on 127.0.0.1 for `state`, with its realtime listener running (as
/// `serve` has through `spawn_workers`).
struct Server {
    base: String,
    handle: actix_web::dev::ServerHandle,
}

impl Server {
    async fn start(state: &AppState) -> Server {
        realtime::spawn(state);
        let st = state.clone();
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new().configure(app::configure(st.clone()))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("bind");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(server);
        // From here on no committed event can be missed by this process.
        let deadline = std::time::Instant::now() + WAIT;
        while !state.realtime.ready() {
            assert!(
                std::time::Instant::now() < deadline,
                "realtime listener did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Server {
            base: format!("http://{addr}"),
            handle,
        }
    }

    async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// One parsed SSE message.
#[derive(Debug, Clone)]
struct Msg {
    id: Option<i64>,
    event: String,
    data: Value,
}

/// An open event stream read with reqwest.
struct Sse {
    resp: reqwest::Response,
    buf: String,
    /// Whether the stream began with `retry: 2000`.
    saw_retry: bool,
}

impl Sse {
    async fn open(server: &Server, account_id: i64, token: &str, last: Option<&str>) -> Sse {
        Self::open_url(
            &format!("{}/api/v1/accounts/{account_id}/events", server.base),
            token,
            last,
        )
        .await
    }

    async fn open_url(url: &str, token: &str, last: Option<&str>) -> Sse {
        let mut req = reqwest::Client::new()
            .get(url)
            .header("api_access_token", token);
        if let Some(l) = last {
            req = req.header("Last-Event-ID", l);
        }
        let resp = req.send().await.expect("connect to the event stream");
        assert_eq!(resp.status(), 200, "events endpoint answered");
        assert_eq!(
            resp.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Sse {
            resp,
            buf: String::new(),
            saw_retry: false,
        }
    }

    /// The next message that has an `event:` field, within `wait`.
    async fn next_within(&mut self, wait: Duration) -> Option<Msg> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf[..end].to_string();
                self.buf.drain(..end + 2);
                let mut msg = Msg {
                    id: None,
                    event: String::new(),
                    data: Value::Null,
                };
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        msg.id = Some(v.parse().expect("numeric id"));
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        msg.event = v.to_string();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        msg.data = serde_json::from_str(v).expect("data is JSON");
                    } else if line == "retry: 2000" {
                        self.saw_retry = true;
                    }
                }
                if !msg.event.is_empty() {
                    return Some(msg);
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.resp.chunk()).await;
            match chunk {
                Err(_) => return None,
                Ok(Ok(Some(bytes))) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(Ok(None)) => return None,
                Ok(Err(e)) => panic!("stream failed: {e}"),
            }
        }
    }

    async fn next(&mut self) -> Msg {
        self.next_within(WAIT)
            .await
            .expect("an event should have arrived")
    }

    /// Every message up to and including the one with id `last`.
    async fn until(&mut self, last: i64) -> Vec<Msg> {
        let mut out = vec![];
        loop {
            let m = self.next().await;
            let id = m.id;
            out.push(m);
            if id == Some(last) {
                return out;
            }
        }
    }
}

/// Emits an account-wide event (no inbox: every member sees it) to mark a point in a stream.
fn barrier(app: &TestApp) -> i64 {
    let mut conn = app.conn();
    events::emit(
        &mut conn,
        app.account_id,
        None,
        None,
        "test.barrier",
        json!({}),
    )
    .unwrap();
    emitted_after(&mut conn, "test.barrier", 0).pop().unwrap()
}

/// The ids of the events named `name` after id `after` that `conn` sees, oldest first (what
/// `events::emit` stored: it returns no id, since inside a batch it has none yet).
fn emitted_after(conn: &mut diesel::PgConnection, name: &str, after: i64) -> Vec<i64> {
    use diesel::prelude::*;
    use switchboard::db::schema::realtime_events as e;
    e::table
        .filter(e::name.eq(name))
        .filter(e::id.gt(after))
        .order(e::id)
        .select(e::id)
        .load(conn)
        .unwrap()
}

/// The account's events in the table after `after`, as (id, name).
fn stored_after(app: &TestApp, after: i64) -> Vec<(i64, String)> {
    events::since(&mut app.conn(), app.account_id, after, 10_000)
        .unwrap()
        .into_iter()
        .map(|e| (e.id, e.name))
        .collect()
}

fn names(msgs: &[Msg]) -> Vec<&str> {
    msgs.iter().map(|m| m.event.as_str()).collect()
}

fn store_outgoing(app: &TestApp, wamid: &str) -> i64 {
    let conversation_id = app
        .query_json("SELECT to_jsonb(id) FROM conversations ORDER BY id LIMIT 1")
        .as_i64()
        .unwrap();
    let inbox_id = app
        .query_json("SELECT to_jsonb(id) FROM inboxes ORDER BY id LIMIT 1")
        .as_i64()
        .unwrap();
    let new = NewMessage {
        account_id: app.account_id,
        inbox_id,
        conversation_id,
        message_type: message_type::OUTGOING,
        content: Some("Yes, size M is in stock.".into()),
        content_type: "text".into(),
        content_attributes: json!({}),
        private: false,
        status: "progress".into(),
        source_id: Some(wamid.into()),
        external_error: None,
        sender_type: Some("User".into()),
        sender_id: Some(app.admin_id),
        created_at: chrono::Utc::now(),
    };
    app.conn()
        .transaction(|c| messages::insert_if_new(c, &new, &[]))
        .unwrap()
        .expect("new message")
        .0
        .id
}

#[actix_rt::test]
async fn delivered_message_streams_conversation_created_then_message_created() {
    let app = TestApp::start();
    let inbox = app.create_inbox(json!({})).await;
    let server = Server::start(&app.state).await;
    let mut sse = Sse::open(&server, app.account_id, &app.token, None).await;

    app.deliver("text.json").await;
    // The customer is new: their contact first (an open Contacts list redraws).
    let contact = sse.next().await;
    assert!(sse.saw_retry, "the stream starts with retry: 2000");
    assert_eq!(contact.event, "contact.created");
    assert_eq!(contact.data["inbox_id"], inbox["id"]);
    let created = sse.next().await;
    assert_eq!(created.event, "conversation.created");
    let d = &created.data;
    assert_eq!(d["event"], "conversation.created");
    assert_eq!(d["id"], created.id.unwrap());
    assert_eq!(d["account_id"], app.account_id);
    assert_eq!(d["inbox_id"], inbox["id"]);
    assert_eq!(d["display_id"], 1);
    assert_eq!(d["status"], "open");
    assert!(
        d["conversation_id"].is_i64() && d["contact_id"].is_i64(),
        "{d}"
    );

    let message = sse.next().await;
    assert_eq!(message.event, "message.created");
    let d = &message.data;
    assert!(message.id > created.id);
    assert_eq!(d["display_id"], 1);
    assert_eq!(d["conversation_id"], created.data["conversation_id"]);
    assert_eq!(d["message_type"], 0);
    assert_eq!(d["private"], false);
    let stored_id = app
        .query_json("SELECT to_jsonb(id) FROM messages LIMIT 1")
        .as_i64()
        .unwrap();
    assert_eq!(d["message_id"], stored_id);
    assert!(
        serde_json::to_string(d).unwrap().len() < 400,
        "payloads stay small: {d}"
    );

    // A duplicate delivery changes nothing and streams nothing.
    app.deliver("text.json").await;
    let b = barrier(&app);
    assert_eq!(sse.next().await.id, Some(b));
    server.stop().await;
}

#[actix_rt::test]
async fn status_webhook_streams_message_updated() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    app.deliver("text.json").await;
    let outgoing = store_outgoing(&app, OUTGOING_WAMID);
    let server = Server::start(&app.state).await;
    let mut sse = Sse::open(&server, app.account_id, &app.token, None).await;

    app.deliver("status_delivered.json").await;
    let m = sse.next().await;
    assert_eq!(m.event, "message.updated");
    assert_eq!(m.data["message_id"], outgoing);
    assert_eq!(m.data["status"], "delivered");
    assert_eq!(m.data["update"], "status");
    assert_eq!(m.data["display_id"], 1);

    // An older status changes nothing: no event.
    app.deliver("status_sent.json").await;
    let b = barrier(&app);
    assert_eq!(sse.next().await.id, Some(b));

    // A newer status is.
    app.deliver("status_read.json").await;
    let m = sse.next().await;
    assert_eq!(
        (m.event.as_str(), m.data["status"].as_str()),
        ("message.updated", Some("read"))
    );
    server.stop().await;
}

#[actix_rt::test]
async fn agents_only_receive_events_of_their_inboxes() {
    let app = TestApp::start();
    let inbox = app.create_inbox(json!({})).await;
    app.auto_assignment_off(inbox["id"].as_i64().unwrap());
    let (_, outsider_token) = app.create_agent("out@example.com");
    let (member, member_token) = app.create_agent("in@example.com");
    switchboard::domain::inboxes::add_member(
        &mut app.conn(),
        inbox["id"].as_i64().unwrap(),
        member,
    )
    .unwrap();
    let server = Server::start(&app.state).await;
    let mut admin = Sse::open(&server, app.account_id, &app.token, None).await;
    let mut inside = Sse::open(&server, app.account_id, &member_token, None).await;
    let mut outside = Sse::open(&server, app.account_id, &outsider_token, None).await;

    app.deliver("text.json").await;
    let b = barrier(&app);
    let expected = vec![
        "contact.created",
        "conversation.created",
        "message.created",
        "test.barrier",
    ];
    assert_eq!(names(&admin.until(b).await), expected);
    assert_eq!(names(&inside.until(b).await), expected);
    // The outsider's first event is the account-wide barrier: nothing of the inbox before.
    let first = outside.next().await;
    assert_eq!((first.event.as_str(), first.id), ("test.barrier", Some(b)));

    // Another account's admin cannot open this account's stream.
    let other = accounts::create_admin(
        &mut app.conn(),
        "Other Co",
        "Olga",
        "olga@example.com",
        "password123",
    )
    .unwrap();
    let url = format!("{}/api/v1/accounts/{}/events", server.base, app.account_id);
    let resp = reqwest::Client::new()
        .get(&url)
        .header("api_access_token", &other.api_access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let resp = reqwest::Client::new().get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    server.stop().await;
}

#[actix_rt::test]
async fn reconnecting_with_last_event_id_replays_exactly_the_missed_events() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    let server = Server::start(&app.state).await;
    let mut sse = Sse::open(&server, app.account_id, &app.token, None).await;
    app.deliver("text.json").await;
    assert_eq!(sse.next().await.event, "contact.created");
    let first = sse.next().await;
    let second = sse.next().await;
    assert_eq!(
        names(&[first.clone(), second.clone()]),
        ["conversation.created", "message.created"]
    );
    // The client goes away having seen only the first event; more happens meanwhile.
    drop(sse);
    let last_seen = first.id.unwrap();
    app.deliver("text_forwarded.json").await;
    app.deliver("status_delivered.json").await; // kept pending: no event
    let missed = stored_after(&app, last_seen);
    assert_eq!(missed.len(), 2, "{missed:?}");

    let mut back = Sse::open(
        &server,
        app.account_id,
        &app.token,
        Some(&last_seen.to_string()),
    )
    .await;
    // Live events after the replay come once, in order, with no duplicate.
    let outgoing = store_outgoing(&app, OUTGOING_WAMID);
    let b = barrier(&app);
    let got = back.until(b).await;
    let got_ids: Vec<(i64, String)> = got
        .iter()
        .map(|m| (m.id.unwrap(), m.event.clone()))
        .collect();
    assert_eq!(got_ids, stored_after(&app, last_seen));
    assert_eq!(got[0].id, second.id);
    let created = &got[got.len() - 2];
    assert_eq!(created.data["message_id"], outgoing);
    // The pending status was applied on insert: one message.created, already delivered.
    assert_eq!(created.data["status"], "delivered");

    // `?last_event_id=` works the same for clients that cannot set the header.
    let url = format!(
        "{}/api/v1/accounts/{}/events?last_event_id={}",
        server.base,
        app.account_id,
        second.id.unwrap()
    );
    let mut by_query = Sse::open_url(&url, &app.token, None).await;
    let replayed = by_query.until(b).await;
    assert_eq!(
        replayed.iter().map(|m| m.id.unwrap()).collect::<Vec<_>>(),
        stored_after(&app, second.id.unwrap())
            .iter()
            .map(|e| e.0)
            .collect::<Vec<_>>()
    );
    server.stop().await;
}

#[actix_rt::test]
async fn two_processes_sharing_a_database_each_deliver_every_event() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    // A second "process": its own state, pool, hub and LISTEN connection on the same database.
    let storage = std::env::temp_dir().join(format!("switchboard-test-{}-b", app.db.name));
    let other = AppState::new(config_for(&app.db.url, &storage, &Options::default()));
    let server_a = Server::start(&app.state).await;
    let server_b = Server::start(&other).await;
    let mut on_a = Sse::open(&server_a, app.account_id, &app.token, None).await;
    let mut on_b = Sse::open(&server_b, app.account_id, &app.token, None).await;

    // Emitted through process A (its webhook route and ingest), seen by both.
    app.deliver("text.json").await;
    let a = on_a.until(on_a_last(&app)).await;
    let b = on_b.until(on_a_last(&app)).await;
    let ids = |v: &[Msg]| v.iter().map(|m| m.id.unwrap()).collect::<Vec<_>>();
    assert_eq!(
        names(&a),
        ["contact.created", "conversation.created", "message.created"]
    );
    assert_eq!(ids(&a), ids(&b));

    // Emitted through process B's API, seen by A.
    let (status, body) = {
        let path = format!(
            "/api/v1/accounts/{}/conversations/1/toggle_status",
            app.account_id
        );
        let resp = reqwest::Client::new()
            .post(format!("{}{path}", server_b.base))
            .header("api_access_token", &app.token)
            .json(&json!({"status": "resolved"}))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    };
    assert_eq!(status, 200, "{body}");
    let changed = on_a.next().await;
    assert_eq!(changed.event, "conversation.status_changed");
    assert_eq!(changed.data["status"], "resolved");
    assert_eq!(changed.data["previous_status"], "open");
    assert_eq!(on_a.next().await.event, "message.created"); // the activity line
    server_a.stop().await;
    server_b.stop().await;
    let _ = std::fs::remove_dir_all(storage);
}

/// The latest event id of the account.
fn on_a_last(app: &TestApp) -> i64 {
    stored_after(app, 0).last().map(|e| e.0).unwrap()
}

#[actix_rt::test]
async fn an_event_emitted_in_a_rolled_back_transaction_is_never_delivered() {
    let app = TestApp::start();
    let (inbox, _) = app.create_inbox_direct();
    let server = Server::start(&app.state).await;
    let mut sse = Sse::open(&server, app.account_id, &app.token, None).await;

    let rolled_back = app.conn().transaction::<(), diesel::result::Error, _>(|c| {
        events::emit(
            c,
            app.account_id,
            Some(inbox.id),
            None,
            "test.rolled_back",
            json!({}),
        )
        .unwrap();
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(rolled_back.is_err());
    let b = barrier(&app);
    let first = sse.next().await;
    assert_eq!((first.event.as_str(), first.id), ("test.barrier", Some(b)));
    assert_eq!(
        app.count("realtime_events WHERE name = 'test.rolled_back'"),
        0
    );
    server.stop().await;
}

#[actix_rt::test]
async fn a_burst_larger_than_the_broadcast_arrives_complete_and_once() {
    let app = TestApp::start();
    let (inbox, _) = app.create_inbox_direct();
    let server = Server::start(&app.state).await;
    let mut sse = Sse::open(&server, app.account_id, &app.token, None).await;
    let n = realtime::BROADCAST_CAPACITY + 500;
    // One transaction: the hub broadcasts them all at once, faster than the stream drains.
    let ids: Vec<i64> = app
        .conn()
        .transaction::<_, switchboard::error::AppError, _>(|c| {
            (0..n).try_for_each(|i| {
                events::emit(
                    c,
                    app.account_id,
                    Some(inbox.id),
                    None,
                    "test.burst",
                    json!({"n": i}),
                )
            })?;
            Ok(emitted_after(c, "test.burst", 0))
        })
        .unwrap();
    let got = sse.until(*ids.last().unwrap()).await;
    assert_eq!(
        got.iter().map(|m| m.id.unwrap()).collect::<Vec<_>>(),
        ids,
        "every event once, in order"
    );
    server.stop().await;
}

#[test]
fn hub_broadcasts_each_event_once() {
    let hub = realtime::Hub::new();
    let mut rx = hub.subscribe();
    let e = events::Event {
        id: 7,
        account_id: 1,
        inbox_id: None,
        conversation_id: None,
        name: "message.created".into(),
        payload: json!({"message_id": 3}),
        created_at: chrono::Utc::now(),
    };
    assert_eq!(hub.publish(vec![e.clone(), e.clone()]), 1);
    assert_eq!(hub.publish(vec![e.clone()]), 0);
    assert_eq!(rx.try_recv().unwrap().id, 7);
    assert!(rx.try_recv().is_err());
    let data = e.to_json();
    assert_eq!(data["event"], "message.created");
    assert_eq!(data["message_id"], 3);
    assert_eq!(
        std::str::from_utf8(&realtime::sse_message(&e)).unwrap(),
        format!("id: 7\nevent: message.created\ndata: {data}\n\n")
    );
    assert!(
        e.visible_to(1, Some(&[])),
        "account-wide events reach every member"
    );
    assert!(!e.visible_to(2, None));
}

/// The events stored after `after`, as (name, payload).
fn events_after(app: &TestApp, after: i64) -> Vec<(String, Value)> {
    events::since(&mut app.conn(), app.account_id, after, 1000)
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.payload))
        .collect()
}

fn last_event_id(app: &TestApp) -> i64 {
    events::max_id(&mut app.conn()).unwrap()
}

#[actix_rt::test]
async fn each_conversation_action_emits_its_event() {
    let app = TestApp::start();
    let (inbox, _) = app.create_inbox_direct();
    app.deliver_bytes(&with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    let conv = format!("/api/v1/accounts/{}/conversations/1", app.account_id);
    let post = |action: &'static str, body: Value| {
        let path = format!("{conv}/{action}");
        let token = app.token.clone();
        let app = &app;
        async move {
            let (status, json) = app.api("POST", &path, Some(body), &token).await;
            assert_eq!(status, 200, "{action}: {json}");
        }
    };

    let mark = last_event_id(&app);
    post("toggle_status", json!({"status": "pending"})).await;
    let got = events_after(&app, mark);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, "conversation.status_changed");
    assert_eq!(got[0].1["status"], "pending");
    assert_eq!(got[0].1["previous_status"], "open");
    assert_eq!(got[0].1["display_id"], 1);
    assert_eq!(got[1].0, "message.created");
    assert_eq!(got[1].1["message_type"], 2);

    // Nothing changes: nothing is emitted.
    let mark = last_event_id(&app);
    post("toggle_status", json!({"status": "pending"})).await;
    assert!(events_after(&app, mark).is_empty());

    post("toggle_priority", json!({"priority": "urgent"})).await;
    let got = events_after(&app, mark);
    assert_eq!(got[0].0, "conversation.updated");
    assert_eq!(got[0].1["changed"], json!(["priority"]));
    assert_eq!(got[0].1["priority"], "urgent");
    assert_eq!(got[1].0, "message.created");

    let mark = last_event_id(&app);
    post("assignments", json!({"assignee_id": app.admin_id})).await;
    let got = events_after(&app, mark);
    assert_eq!(got[0].0, "assignee.changed");
    assert_eq!(got[0].1["assignee_id"], app.admin_id);
    assert_eq!(got[0].1["previous_assignee_id"], Value::Null);
    assert_eq!(got[1].0, "message.created");

    let team = accounts::create_team(&mut app.conn(), app.account_id, "Billing", None).unwrap();
    let mark = last_event_id(&app);
    post("assignments", json!({"team_id": team.id})).await;
    let got = events_after(&app, mark);
    assert_eq!(got[0].0, "conversation.updated");
    assert_eq!(got[0].1["changed"], json!(["team_id"]));
    assert_eq!(got[0].1["team_id"], team.id);

    let mark = last_event_id(&app);
    post("labels", json!({"labels": ["vip", "billing"]})).await;
    let got = events_after(&app, mark);
    assert_eq!(got[0].0, "conversation.updated");
    assert_eq!(got[0].1["changed"], json!(["labels"]));
    assert_eq!(got.len(), 2, "one activity line: {got:?}");

    // Snoozing, then the contact's reply reopening it.
    let mark = last_event_id(&app);
    post("toggle_status", json!({"status": "snoozed"})).await;
    assert_eq!(events_after(&app, mark)[0].1["status"], "snoozed");
    let mark = last_event_id(&app);
    app.deliver_bytes(&with_current_timestamps(&webhook_fixture(
        "text_forwarded.json",
    )))
    .await;
    let got = events_after(&app, mark);
    // The assignee (the admin, above) hears of the customer's message on their bell too. The
    // bell's event is stored by the notification's own statement, the others at the end of the
    // ingest unit (`events::batched`), so it comes first.
    let names: Vec<&str> = got.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "notification.created",
            "message.created",
            "conversation.status_changed",
        ]
    );
    assert_eq!(got[0].1["user_id"], app.admin_id);
    assert_eq!(got[2].1["status"], "open");
    assert_eq!(got[2].1["previous_status"], "snoozed");

    // An agent's private note and reply are message.created too.
    let mark = last_event_id(&app);
    let (status, body) = app
        .api(
            "POST",
            &format!("{conv}/messages"),
            Some(json!({"content": "internal", "private": true})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let got = events_after(&app, mark);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "message.created");
    assert_eq!(got[0].1["private"], true);
    assert_eq!(got[0].1["message_id"], body["id"]);

    // Opening the conversation with unread messages: conversation.updated.
    let mark = last_event_id(&app);
    post("update_last_seen", json!({})).await;
    let got = events_after(&app, mark);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "conversation.updated");
    assert_eq!(got[0].1["changed"], json!(["agent_last_seen_at"]));
    // Nothing unread any more: no event.
    let mark = last_event_id(&app);
    post("update_last_seen", json!({})).await;
    assert!(events_after(&app, mark).is_empty());

    // Every conversation event row carries the account, inbox and conversation (the
    // customer's new contact is announced in the inbox, without a conversation).
    let rows = app.query_json(
        "SELECT jsonb_agg(DISTINCT jsonb_build_array(inbox_id, conversation_id)) FROM realtime_events WHERE name NOT LIKE 'contact%'",
    );
    let conversation_id = app
        .query_json("SELECT to_jsonb(id) FROM conversations")
        .as_i64()
        .unwrap();
    assert_eq!(rows, json!([[inbox.id, conversation_id]]));
}

#[actix_rt::test]
async fn send_results_emit_message_updated() {
    let app = TestApp::start();
    app.create_inbox_direct();
    app.deliver_bytes(&with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    let m = store_progress(&app);
    let mark = last_event_id(&app);
    let mut conn = app.conn();
    conn.transaction(|c| messages::record_sent(c, m, "wamid.SENT1", 1_763_712_000))
        .unwrap();
    // Idempotent: a second answer changes nothing and emits nothing.
    conn.transaction(|c| messages::record_sent(c, m, "wamid.SENT2", 1_763_712_000))
        .unwrap();
    let got = events_after(&app, mark);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "message.updated");
    assert_eq!(got[0].1["update"], "sent");
    assert_eq!(got[0].1["status"], "sent");

    let failing = store_progress(&app);
    let mark = last_event_id(&app);
    messages::record_send_failure(&mut conn, failing, "(#131026) Message undeliverable", None)
        .unwrap();
    let got = events_after(&app, mark);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1["status"], "failed");
    assert_eq!(got[0].1["message_id"], failing);
    // Already failed: nothing more.
    let mark = last_event_id(&app);
    messages::record_send_failure(&mut conn, failing, "again", None).unwrap();
    assert!(events_after(&app, mark).is_empty());
}

/// An outgoing message as the API stores it (status `progress`, no wamid yet).
fn store_progress(app: &TestApp) -> i64 {
    let conversation_id = app
        .query_json("SELECT to_jsonb(id) FROM conversations ORDER BY id LIMIT 1")
        .as_i64()
        .unwrap();
    let c =
        switchboard::domain::conversations::find_by_id(&mut app.conn(), conversation_id).unwrap();
    let (m, _) = switchboard::domain::outbox::create(
        &mut app.conn(),
        &c,
        app.admin_id,
        switchboard::domain::outbox::OutgoingInput {
            content: Some("hello".into()),
            ..Default::default()
        },
        3,
        chrono::Utc::now(),
    )
    .unwrap();
    m.id
}

#[actix_rt::test]
async fn prune_keeps_the_last_24_hours() {
    let app = TestApp::start();
    app.create_inbox_direct();
    let old = barrier(&app);
    let recent = barrier(&app);
    diesel::sql_query(format!(
        "UPDATE realtime_events SET created_at = now() - interval '25 hours' WHERE id = {old}"
    ))
    .execute(&mut app.conn())
    .unwrap();
    let cutoff = chrono::Utc::now() - events::RETENTION;
    assert_eq!(events::prune(&mut app.conn(), cutoff).unwrap(), 1);
    let left: Vec<i64> = stored_after(&app, 0).into_iter().map(|e| e.0).collect();
    assert_eq!(left, vec![recent]);
}

#[actix_rt::test]
async fn a_client_too_far_behind_is_told_to_resync() {
    let app = TestApp::start();
    let (inbox, _) = app.create_inbox_direct();
    let server = Server::start(&app.state).await;
    let mut live = Sse::open(&server, app.account_id, &app.token, None).await;
    let mark = last_event_id(&app);
    let n = realtime::REPLAY_LIMIT as usize + 1;
    let ids: Vec<i64> = app
        .conn()
        .transaction::<_, switchboard::error::AppError, _>(|c| {
            (0..n).try_for_each(|_| {
                events::emit(
                    c,
                    app.account_id,
                    Some(inbox.id),
                    None,
                    "test.burst",
                    json!({}),
                )
            })?;
            Ok(emitted_after(c, "test.burst", mark))
        })
        .unwrap();
    let last = *ids.last().unwrap();
    // Once a live client has them all, the hub has published them.
    assert_eq!(live.until(last).await.len(), n);

    let mut behind = Sse::open(&server, app.account_id, &app.token, Some(&mark.to_string())).await;
    let first = behind.next().await;
    assert_eq!(first.event, "resync");
    assert_eq!(first.id, Some(last));
    assert_eq!(first.data["event"], "resync");
    // Then live events, from after the resync point.
    let b = barrier(&app);
    assert_eq!(behind.next().await.id, Some(b));
    // Within the limit (999 of the burst and the barrier), the missed events are replayed.
    let mut close = Sse::open(
        &server,
        app.account_id,
        &app.token,
        Some(&ids[1].to_string()),
    )
    .await;
    let replayed = close.until(b).await;
    assert_eq!(replayed.len(), realtime::REPLAY_LIMIT as usize);
    assert_eq!(replayed[0].id, Some(ids[2]));
    assert!(replayed.iter().all(|m| m.event != "resync"));
    server.stop().await;
}

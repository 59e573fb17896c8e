//! Paging on a unique ordered key: a conversation's thread pages on `(created_at, id)` (the
//! API's `before`/`after` take message ids and resolve them to that pair), the conversation
//! list on `(last_activity_at, id)`, contacts on `id`. Messages whose timestamps run against
//! their ids (imported history, late deliveries) are each returned once, in order.

use crate::common::*;
use diesel::RunQueryDsl;
use serde_json::Value;
use std::collections::HashSet;
use switchboard::domain::messages;

/// Adds `n` messages to conversation 1 whose timestamps are shuffled against their ids
/// (`(k * 37) % n` seconds, halved so that every timestamp is shared by two messages: ties
/// are broken by id). Returns the thread's ids in `(created_at, id)` order.
fn shuffled_thread(app: &TestApp, n: i64) -> Vec<i64> {
    let mut conn = app.conn();
    diesel::sql_query(format!(
        "INSERT INTO messages (account_id, inbox_id, conversation_id, message_type, content, created_at) \
         SELECT c.account_id, c.inbox_id, c.id, (k % 2)::smallint, 'history ' || k, \
                timestamptz '2026-01-01 00:00:00+00' + (((k * 37) % {n}) / 2) * interval '1 second' \
         FROM conversations c, generate_series(1, {n}) AS k WHERE c.display_id = 1"
    ))
    .execute(&mut conn)
    .unwrap();
    thread_ids(app)
}

fn thread_ids(app: &TestApp) -> Vec<i64> {
    app.query_json(
        "SELECT jsonb_agg(m.id ORDER BY m.created_at, m.id) FROM messages m \
         JOIN conversations c ON c.id = m.conversation_id WHERE c.display_id = 1",
    )
    .as_array()
    .unwrap()
    .iter()
    .map(|v| v.as_i64().unwrap())
    .collect()
}

fn page_ids(v: &Value) -> Vec<i64> {
    v["payload"]
        .as_array()
        .unwrap_or_else(|| panic!("payload in {v}"))
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect()
}

#[actix_rt::test]
async fn paging_back_and_forth_returns_every_shuffled_message_once_in_order() {
    let app = TestApp::start();
    app.create_inbox_direct();
    app.deliver("text.json").await;
    let expected = shuffled_thread(&app, 120);
    assert_eq!(expected.len(), 121);
    // The timestamps really run against the ids (otherwise the test proves nothing).
    let mut by_id = expected.clone();
    by_id.sort();
    assert_ne!(by_id, expected);

    let url = format!(
        "/api/v1/accounts/{}/conversations/1/messages",
        app.account_id
    );
    // Back from the newest, 20 at a time, as Chatwoot's client scrolls.
    let mut seen: Vec<i64> = Vec::new();
    let mut page = page_ids(&app.get(&url).await);
    let mut pages = 0;
    while !page.is_empty() {
        pages += 1;
        assert!(page.len() <= 20);
        let mut sorted = page.clone();
        sorted.sort_by_key(|id| expected.iter().position(|e| e == id).unwrap());
        assert_eq!(sorted, page, "each page is oldest first");
        let first = page[0];
        page.extend(seen);
        seen = page;
        page = page_ids(&app.get(&format!("{url}?before={first}")).await);
        assert!(pages < 20, "paging back never ends");
    }
    assert_eq!(
        seen, expected,
        "paging back returns each message once, in order"
    );
    assert_eq!(pages, 7);

    // Forward from the oldest with `after`, 100 at a time.
    let mut forward = vec![expected[0]];
    loop {
        let last = *forward.last().unwrap();
        let page = page_ids(&app.get(&format!("{url}?after={last}")).await);
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 100);
        forward.extend(page);
    }
    assert_eq!(
        forward, expected,
        "paging forward returns each once, in order"
    );

    // Both bounds: what lies strictly between, in order.
    let between = page_ids(
        &app.get(&format!(
            "{url}?after={}&before={}",
            expected[10], expected[20]
        ))
        .await,
    );
    assert_eq!(between, expected[11..20].to_vec());

    // The domain function pages the same way, and says when earlier messages remain.
    let conversation_id = app
        .query_json("SELECT to_jsonb(id) FROM conversations WHERE display_id = 1")
        .as_i64()
        .unwrap();
    let mut conn = app.conn();
    let latest = messages::thread_page(&mut conn, conversation_id, None, None, 50).unwrap();
    assert!(latest.has_earlier);
    let ids: Vec<i64> = latest.messages.iter().map(|m| m.id).collect();
    assert_eq!(ids, expected[71..].to_vec());
    let oldest =
        messages::thread_page(&mut conn, conversation_id, Some(expected[21]), None, 50).unwrap();
    assert!(!oldest.has_earlier);
    assert_eq!(
        oldest.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        expected[..21].to_vec()
    );
}

#[actix_rt::test]
async fn a_bad_paging_cursor_is_a_422_naming_it() {
    let app = TestApp::start();
    app.create_inbox_direct();
    app.deliver("text.json").await;
    let url = format!(
        "/api/v1/accounts/{}/conversations/1/messages",
        app.account_id
    );
    for (query, field) in [
        ("before=abc", "before"),
        ("after=-3", "after"),
        ("before=999999", "before"),
        ("after=1.5", "after"),
    ] {
        let (status, body) = app
            .api("GET", &format!("{url}?{query}"), None, &app.token)
            .await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["field"], field, "{query}: {body}");
        assert!(body["error"].as_str().unwrap().contains(field), "{body}");
    }
    // An empty value reads as absent (as Chatwoot's client sends `before=` on the first page).
    let (status, body) = app
        .api("GET", &format!("{url}?before="), None, &app.token)
        .await;
    assert_eq!((status, page_ids(&body).len()), (200, 1), "{body}");
}

#[actix_rt::test]
async fn conversation_and_contact_pages_never_overlap_when_sort_keys_tie() {
    let app = TestApp::start();
    let (inbox, _) = app.create_inbox_direct();
    let mut conn = app.conn();
    // 60 contacts and conversations, all with the same last activity: only id tells them apart.
    diesel::sql_query(format!(
        "WITH new_contacts AS ( \
           INSERT INTO contacts (account_id, name, phone_number, last_activity_at) \
           SELECT {acc}, 'Tied ' || k, '+1555000' || lpad(k::text, 4, '0'), timestamptz '2026-01-01 00:00:00+00' \
           FROM generate_series(1, 60) AS k RETURNING id) \
         INSERT INTO conversations (account_id, inbox_id, contact_id, display_id, status, last_activity_at) \
         SELECT {acc}, {inbox}, id, 100 + row_number() OVER (ORDER BY id), 'open', timestamptz '2026-01-01 00:00:00+00' \
         FROM new_contacts",
        acc = app.account_id,
        inbox = inbox.id,
    ))
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query(format!(
        "INSERT INTO contact_inboxes (contact_id, inbox_id, source_id, source_kind) \
         SELECT id, {}, phone_number, 'phone' FROM contacts",
        inbox.id
    ))
    .execute(&mut conn)
    .unwrap();

    let mut seen = HashSet::new();
    let mut order = Vec::new();
    for page in 1..=4 {
        let v = app
            .get(&format!(
                "/api/v1/accounts/{}/conversations?status=all&page={page}",
                app.account_id
            ))
            .await;
        for c in v["data"]["payload"].as_array().unwrap() {
            let id = c["id"].as_i64().unwrap();
            assert!(seen.insert(id), "conversation {id} on two pages");
            order.push(id);
        }
    }
    assert_eq!(seen.len(), 60);
    let mut newest_first = order.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(order, newest_first, "ties broken by id, newest first");

    let mut seen = HashSet::new();
    for page in 1..=5 {
        for path in ["contacts", "contacts/search?q=tied&"] {
            let sep = if path.ends_with('&') { "" } else { "?" };
            let v = app
                .get(&format!(
                    "/api/v1/accounts/{}/{path}{sep}page={page}",
                    app.account_id
                ))
                .await;
            for c in v["payload"].as_array().unwrap() {
                seen.insert((path, c["id"].as_i64().unwrap()));
            }
        }
    }
    assert_eq!(seen.len(), 120, "every contact once in each list");
}

#[actix_rt::test]
async fn the_conversation_list_cursor_neither_repeats_nor_skips_when_activity_moves_rows() {
    let app = TestApp::start();
    let (inbox, _) = app.create_inbox_direct();
    let mut conn = app.conn();
    // 30 conversations: activity one minute apart, and pairs tied on the same minute.
    diesel::sql_query(format!(
        "WITH new_contacts AS ( \
           INSERT INTO contacts (account_id, name) \
           SELECT {acc}, 'Row ' || k FROM generate_series(1, 30) AS k RETURNING id) \
         INSERT INTO conversations (account_id, inbox_id, contact_id, status, last_activity_at) \
         SELECT {acc}, {inbox}, id, 'open', \
                timestamptz '2026-01-01 00:00:00+00' + ((row_number() OVER (ORDER BY id)) / 2) * interval '1 minute' \
         FROM new_contacts",
        acc = app.account_id,
        inbox = inbox.id,
    ))
    .execute(&mut conn)
    .unwrap();
    let list = |extra: &str| {
        format!(
            "/api/v1/accounts/{}/conversations?status=all{extra}",
            app.account_id
        )
    };
    let display_ids = |v: &Value| -> Vec<i64> {
        v["data"]["payload"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    let first = app.get(&list("")).await;
    let first_ids = display_ids(&first);
    assert_eq!(first_ids.len(), 25);
    let cursor = first["data"]["meta"]["next_cursor"]
        .as_str()
        .expect("a next cursor")
        .to_string();
    // Before the next page is asked for, the 28th conversation gets new activity and moves
    // to the top.
    let all_before = display_ids(&app.get(&list("&page=2")).await);
    let moved = all_before[2];
    diesel::sql_query(format!(
        "UPDATE conversations SET last_activity_at = now() WHERE display_id = {moved}"
    ))
    .execute(&mut conn)
    .unwrap();
    // Offset paging would now show the 25th conversation again; the cursor does not.
    let by_offset = display_ids(&app.get(&list("&page=2")).await);
    assert!(
        by_offset.iter().any(|id| first_ids.contains(id)),
        "offset paging repeats a row: {by_offset:?}"
    );
    let second = app.get(&list(&format!("&cursor={cursor}"))).await;
    let second_ids = display_ids(&second);
    assert_eq!(second["data"]["meta"]["next_cursor"], Value::Null);
    assert!(second_ids.iter().all(|id| !first_ids.contains(id)));
    let expected: Vec<i64> = all_before
        .iter()
        .copied()
        .filter(|id| *id != moved)
        .collect();
    assert_eq!(second_ids, expected);

    // A bad cursor is a 422 naming it.
    for bad in ["abc", "12", "1_x", "99999999999999999999_1"] {
        let (status, body) = app
            .api("GET", &list(&format!("&cursor={bad}")), None, &app.token)
            .await;
        assert_eq!(
            (status, body["field"].as_str()),
            (422, Some("cursor")),
            "{bad}"
        );
    }

    // The UI's "Load more" carries the cursor and loads the rest.
    let mut b = crate::common::session::Browser::new(&app);
    b.sign_in("ana@example.com", "correct horse").await;
    let (_, page, _) = b
        .get(&format!(
            "/app/accounts/{}/conversations?status=all",
            app.account_id
        ))
        .await;
    let more = page
        .split("data-more=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a Load more link")
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert!(more.contains("cursor="), "{more}");
    let (status, rest, _) = b
        .get(&format!(
            "/app/accounts/{}/partials/conversations?{more}",
            app.account_id
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        rest.matches("class=\"conversation-row").count(),
        5,
        "{rest}"
    );
    assert!(!rest.contains("data-more"), "{rest}");
}

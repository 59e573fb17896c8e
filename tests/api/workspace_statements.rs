//! Issue 10, "Speed": a page of the agent workspace issues a fixed number of SQL statements,
//! whatever the number of conversations it shows (no query per row). Every statement of the
//! process is counted through diesel's default instrumentation, so this binary holds this
//! one test only (tests of other binaries run in other processes).

use crate::common::session::Browser;
use crate::common::*;
use diesel::connection::{set_default_instrumentation, Instrumentation, InstrumentationEvent};
use diesel::RunQueryDsl;
use std::sync::atomic::{AtomicUsize, Ordering};

static STATEMENTS: AtomicUsize = AtomicUsize::new(0);

fn counting() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(|event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { .. } = event {
            STATEMENTS.fetch_add(1, Ordering::SeqCst);
        }
    }))
}

/// Adds `n` open conversations, each with its own contact, two messages (one unread), an
/// assignee on every other one, a label on every third one and a reply quoting a message.
fn seed(app: &TestApp, n: i64, agent: i64) {
    let mut conn = app.conn();
    diesel::sql_query(format!(
        "WITH c AS (INSERT INTO contacts (account_id, name, phone_number) \
             SELECT {acc}, 'Seed ' || k, '+1888' || lpad(k::text, 7, '0') \
             FROM generate_series(1, {n}) k RETURNING id) \
         INSERT INTO conversations (account_id, inbox_id, contact_id, assignee_id, labels, \
                                    last_activity_at) \
         SELECT {acc}, (SELECT min(id) FROM inboxes WHERE account_id = {acc}), c.id, \
                CASE WHEN k % 2 = 0 THEN {agent} END, \
                CASE WHEN k % 3 = 0 THEN ARRAY['vip'] ELSE '{{}}' END, now() - k * interval '1 minute' \
         FROM (SELECT id, row_number() OVER (ORDER BY id) AS k FROM c) c",
        acc = app.account_id,
    ))
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query(
        "INSERT INTO messages (account_id, inbox_id, conversation_id, message_type, content, \
                               sender_type, created_at) \
         SELECT c.account_id, c.inbox_id, c.id, k % 2, 'message ' || k, \
                CASE WHEN k % 2 = 0 THEN 'Contact' END, c.last_activity_at - (3 - k) * interval '1 second' \
         FROM conversations c, generate_series(1, 2) k \
         WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id)",
    )
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query(
        "INSERT INTO messages (account_id, inbox_id, conversation_id, message_type, content, \
                               content_attributes, created_at) \
         SELECT m.account_id, m.inbox_id, m.conversation_id, 1, 'quoting', \
                jsonb_build_object('in_reply_to', m.id), m.created_at + interval '1 second' \
         FROM messages m WHERE m.message_type = 0 AND m.content_attributes = '{}'",
    )
    .execute(&mut conn)
    .unwrap();
}

/// Statements of the requests to `paths`, each.
async fn statements(b: &mut Browser<'_>, paths: &[String]) -> Vec<usize> {
    let mut out = vec![];
    for path in paths {
        let before = STATEMENTS.load(Ordering::SeqCst);
        let (status, body, _) = b.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        out.push(STATEMENTS.load(Ordering::SeqCst) - before);
    }
    out
}

#[actix_rt::test]
async fn pages_issue_the_same_statements_for_3_rows_as_for_25() {
    set_default_instrumentation(counting).unwrap();
    let app = TestApp::start();
    app.create_inbox_direct();
    let (agent, _) = app.create_agent("ben@example.com");
    diesel::sql_query(format!(
        "INSERT INTO inbox_members (inbox_id, user_id) SELECT id, {agent} FROM inboxes"
    ))
    .execute(&mut app.conn())
    .unwrap();
    let acc = app.account_id;
    let paths = vec![
        format!("/app/accounts/{acc}/conversations"),
        format!("/app/accounts/{acc}/conversations/1"),
        format!("/app/accounts/{acc}/partials/conversations?assignee_type=all&status=open"),
        format!("/app/accounts/{acc}/partials/sidebar?assignee_type=all&status=open"),
        format!("/api/v1/accounts/{acc}/conversations?status=open"),
    ];
    let mut b = Browser::new(&app);
    let (status, _, _) = b.sign_in("ben@example.com", "agent password").await;
    assert!((300..400).contains(&status), "sign-in answered {status}");

    seed(&app, 3, agent);
    let few = statements(&mut b, &paths).await;
    seed(&app, 40, agent);
    let many = statements(&mut b, &paths).await;
    assert_eq!(
        few, many,
        "statements per request for {paths:?}: 3 conversations {few:?}, 43 conversations {many:?}"
    );
    // The thread page is the largest: the thread, the contact panel (participants, reply
    // times, labels, previous conversations) and the sidebar (counts, teams, saved views).
    // Each request reads inbox membership, the account's inboxes, teams, labels and counts
    // once (`domain::request_memo`; polish10: the thread page went from 40 statements to 28; the
    // custom attribute editors in its panel add one, the definitions, read once per request).
    // Issue 12 (h12) adds one to the workspace and thread pages: the Dualhook states behind the
    // inbox alerts banner (disconnected, heartbeat).
    // Issue 13 (hours): the page reads the inboxes' business hours once (the open-now banner,
    // one statement) and the thread page also the inbox's hours with the contact's CSAT
    // ratings (header note and contact panel, one statement). Issue 13 (SLA): the thread page
    // reads the account's policies with the applied SLA (the picker and the header chip, one
    // statement); list rows carry their SLA in the existing unread-count query.
    let bounds = [20, 33, 14, 11, 14];
    for ((path, n), bound) in paths.iter().zip(&many).zip(bounds) {
        assert!(
            *n <= bound,
            "{path} issued {n} statements (at most {bound})"
        );
    }
}

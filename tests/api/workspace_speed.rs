//! Issue 10, "Speed": the conversation counts (Mine / Unassigned / All, per inbox, per label,
//! per status) are maintained by triggers in `conversation_counts` and must always equal a
//! recount of `conversations`, after every kind of change, after folding, and under
//! concurrent changes from several connections (as from two server processes).

use crate::common::*;
use diesel::RunQueryDsl;
use serde_json::{json, Value};
use switchboard::domain::accounts::{Role, Viewer};
use switchboard::domain::conversations::{self, ListFilter};

/// Adds `n` conversations (each with its own contact) to the account's first inbox, with
/// statuses, assignees (`agent` on some) and labels spread over them.
fn seed(app: &TestApp, n: i64, agent: i64) {
    let mut conn = app.conn();
    diesel::sql_query(format!(
        "WITH c AS (INSERT INTO contacts (account_id, name, phone_number) \
             SELECT {acc}, 'Seed ' || k, '+1999' || lpad(k::text, 7, '0') FROM generate_series(1, {n}) k \
             RETURNING id, name) \
         INSERT INTO conversations (account_id, inbox_id, contact_id, status, assignee_id, labels) \
         SELECT {acc}, (SELECT min(id) FROM inboxes WHERE account_id = {acc}), c.id, \
                (ARRAY['open', 'pending', 'resolved', 'snoozed'])[1 + k % 4], \
                CASE k % 3 WHEN 0 THEN NULL WHEN 1 THEN {agent} ELSE {admin} END, \
                CASE k % 5 WHEN 0 THEN '{{}}'::text[] WHEN 1 THEN ARRAY['vip'] \
                     WHEN 2 THEN ARRAY['billing', 'vip'] ELSE ARRAY['bug'] END \
         FROM (SELECT id, row_number() OVER (ORDER BY id) AS k FROM c) c",
        acc = app.account_id,
        admin = app.admin_id,
    ))
    .execute(&mut conn)
    .unwrap();
}

/// Makes `agent` a member of every inbox of the account.
fn join_inboxes(app: &TestApp, agent: i64) {
    diesel::sql_query(format!(
        "INSERT INTO inbox_members (inbox_id, user_id) SELECT id, {agent} FROM inboxes"
    ))
    .execute(&mut app.conn())
    .unwrap();
}

/// The maintained counts as `{inbox:status:assignee:label: n}`.
fn maintained(app: &TestApp) -> Value {
    let snapshot = conversations::count_snapshot(&mut app.conn(), app.account_id).unwrap();
    let mut out = serde_json::Map::new();
    for g in snapshot.groups {
        out.insert(
            format!("{}:{}:{}:{}", g.inbox_id, g.status, g.assignee_id, g.label),
            json!(g.n),
        );
    }
    Value::Object(out)
}

/// The same, counted from `conversations`.
fn recounted(app: &TestApp) -> Value {
    app.query_json(&format!(
        "SELECT coalesce(jsonb_object_agg(k, n), '{{}}') FROM ( \
           SELECT c.inbox_id || ':' || c.status || ':' || coalesce(c.assignee_id, 0) || ':' || l.label AS k, \
                  count(*) AS n \
           FROM conversations c CROSS JOIN LATERAL (SELECT '' UNION SELECT unnest(c.labels)) l(label) \
           WHERE c.account_id = {} GROUP BY 1) t",
        app.account_id
    ))
}

fn admin(app: &TestApp) -> Viewer {
    Viewer {
        user_id: app.admin_id,
        account_id: app.account_id,
        role: Role::Administrator,
    }
}

#[actix_rt::test]
async fn maintained_counts_equal_a_recount_after_every_kind_of_change() {
    let app = TestApp::start();
    app.create_inbox_direct();
    let (agent, _) = app.create_agent("ben@example.com");
    join_inboxes(&app, agent);
    seed(&app, 60, agent);
    assert_eq!(maintained(&app), recounted(&app), "after inserts");
    let viewer = admin(&app);
    let mut conn = app.conn();
    // The agents' actions, through the domain (each in its own transaction).
    conversations::toggle_status(&mut conn, &viewer, 1, Some("resolved"), None).unwrap();
    conversations::toggle_status(&mut conn, &viewer, 2, Some("pending"), None).unwrap();
    conversations::assign(
        &mut conn,
        &viewer,
        3,
        conversations::AssignTo::Agent(Some(agent)),
    )
    .unwrap();
    conversations::assign(&mut conn, &viewer, 4, conversations::AssignTo::Agent(None)).unwrap();
    conversations::set_labels(&mut conn, &viewer, 5, &["refund", "vip"]).unwrap();
    conversations::set_labels(&mut conn, &viewer, 6, &Vec::<String>::new()).unwrap();
    assert_eq!(
        maintained(&app),
        recounted(&app),
        "after the agents' actions"
    );
    // Set-based changes, a deleted assignee (ON DELETE SET NULL) and deletions.
    diesel::sql_query("UPDATE conversations SET status = 'open' WHERE display_id % 7 = 0")
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query("UPDATE conversations SET labels = labels || ARRAY['lead'] WHERE display_id % 4 = 0 AND NOT 'lead' = ANY(labels)")
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query(format!("DELETE FROM users WHERE id = {agent}"))
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query("DELETE FROM conversations WHERE display_id % 9 = 0")
        .execute(&mut conn)
        .unwrap();
    // An update that touches none of the counted columns writes no delta.
    let before: i64 = app.count("conversation_counts");
    diesel::sql_query("UPDATE conversations SET last_activity_at = now(), priority = 'high'")
        .execute(&mut conn)
        .unwrap();
    assert_eq!(app.count("conversation_counts"), before);
    assert_eq!(maintained(&app), recounted(&app), "after set-based changes");
    // Folding keeps every count and leaves one row per non-empty group.
    assert!(conversations::fold_counts(&mut conn, app.account_id).unwrap());
    assert_eq!(maintained(&app), recounted(&app), "after folding");
    assert_eq!(
        app.count("conversation_counts"),
        maintained(&app).as_object().unwrap().len() as i64
    );
}

#[actix_rt::test]
async fn list_meta_and_sidebar_counts_match_the_rows_they_count() {
    let app = TestApp::start();
    app.create_inbox_direct();
    let (agent, token) = app.create_agent("ben@example.com");
    let inbox_id: i64 = app
        .query_json("SELECT to_jsonb(min(id)) FROM inboxes")
        .as_i64()
        .unwrap();
    join_inboxes(&app, agent);
    seed(&app, 40, agent);
    let acc = app.account_id;
    let filters: [(&str, &str, &str); 5] = [
        ("open", "all", ""),
        ("all", "me", ""),
        ("resolved", "unassigned", "&labels[]=vip"),
        ("all", "assigned", "&labels[]=vip&labels[]=bug"),
        ("pending", "all", "&labels[]=billing"),
    ];
    for (status, assignee, labels) in filters {
        let path = format!(
            "/api/v1/accounts/{acc}/conversations/meta?status={status}&assignee_type={assignee}&inbox_id={inbox_id}{labels}"
        );
        let (code, meta) = app.api("GET", &path, None, &token).await;
        assert_eq!(code, 200, "{meta}");
        let label_list: Vec<&str> = labels
            .split("&labels[]=")
            .filter(|l| !l.is_empty())
            .collect();
        let label_cond = if label_list.is_empty() {
            "TRUE".to_string()
        } else {
            format!("labels && ARRAY{label_list:?}::text[]").replace('"', "'")
        };
        let status_cond = if status == "all" {
            "TRUE".to_string()
        } else {
            format!("status = '{status}'")
        };
        let expected = app.query_json(&format!(
            "SELECT jsonb_build_object( \
               'mine_count', count(*) FILTER (WHERE assignee_id = {agent}), \
               'unassigned_count', count(*) FILTER (WHERE assignee_id IS NULL), \
               'assigned_count', count(*) FILTER (WHERE assignee_id IS NOT NULL), \
               'all_count', count(*)) \
             FROM conversations WHERE account_id = {acc} AND {status_cond} AND {label_cond}"
        ));
        assert_eq!(meta["meta"], expected, "{path}");
    }
    // The sidebar's per-label and per-status counts.
    let viewer = admin(&app);
    let (by_inbox, by_label) =
        conversations::sidebar_counts(&mut app.conn(), &viewer, "open").unwrap();
    let open: i64 = app.count("conversations WHERE status = 'open'");
    assert_eq!(by_inbox, vec![(inbox_id, open)]);
    let expected: Vec<(String, i64)> = serde_json::from_value(app.query_json(
        "SELECT jsonb_agg(jsonb_build_array(l, n) ORDER BY l) FROM (SELECT l, count(*) AS n \
         FROM conversations, unnest(labels) l WHERE status = 'open' GROUP BY l) t",
    ))
    .unwrap();
    assert_eq!(by_label, expected);
    let by_status = conversations::status_counts(&mut app.conn(), &viewer).unwrap();
    assert_eq!(by_status.iter().map(|(_, n)| n).sum::<i64>(), 40);
    // An unknown status is still refused, naming the field.
    let (code, body) = app
        .api(
            "GET",
            &format!("/api/v1/accounts/{acc}/conversations/meta?status=nope"),
            None,
            &token,
        )
        .await;
    assert_eq!(code, 422, "{body}");
    let _ = conversations::list_counts(
        &mut app.conn(),
        &viewer,
        &ListFilter {
            status: Some("all".into()),
            ..Default::default()
        },
    )
    .unwrap();
}

#[actix_rt::test]
async fn concurrent_changes_from_many_connections_keep_the_counts_exact() {
    let app = TestApp::start();
    app.create_inbox_direct();
    let (agent, _) = app.create_agent("ben@example.com");
    join_inboxes(&app, agent);
    seed(&app, 40, agent);
    let viewer = admin(&app);
    // Four threads, each with its own connection, change the same conversations at once
    // (status, assignee, labels) while a fifth keeps folding the counts.
    std::thread::scope(|s| {
        for t in 0..4i32 {
            let app = &app;
            let viewer = viewer.clone();
            s.spawn(move || {
                let mut conn = app.conn();
                for round in 0..15i32 {
                    let display_id = 1 + (t * 7 + round * 3) % 40;
                    let status = ["open", "pending", "resolved", "snoozed"][(round % 4) as usize];
                    let _ = conversations::toggle_status(
                        &mut conn,
                        &viewer,
                        display_id,
                        Some(status),
                        None,
                    );
                    let to = if round % 2 == 0 { Some(agent) } else { None };
                    let _ = conversations::assign(
                        &mut conn,
                        &viewer,
                        display_id,
                        conversations::AssignTo::Agent(to),
                    );
                    let labels: &[&str] = if round % 3 == 0 {
                        &["vip"]
                    } else {
                        &["bug", "lead"]
                    };
                    let _ = conversations::set_labels(&mut conn, &viewer, display_id, labels);
                }
            });
        }
        let app = &app;
        s.spawn(move || {
            let mut conn = app.conn();
            for _ in 0..30 {
                conversations::fold_counts(&mut conn, app.account_id).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        });
    });
    assert_eq!(maintained(&app), recounted(&app));
}

//! `GET /search?q=`: contacts by name, phone or BSUID, messages by text, only in inboxes the
//! caller sees, and the trigram index serving the message search.

use crate::common::session::Browser;
use crate::common::*;
use diesel::RunQueryDsl;
use serde_json::{json, Value};
use switchboard::domain::accounts::{Role, Viewer};
use switchboard::domain::search;

fn ids(v: &Value, kind: &str) -> Vec<i64> {
    v["payload"][kind]
        .as_array()
        .unwrap_or_else(|| panic!("{kind} in {v}"))
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect()
}

#[actix_rt::test]
async fn finds_contacts_and_messages_in_visible_inboxes_only() {
    let app = TestApp::start();
    let acc = app.account_id;
    let (inbox, _) = app.create_inbox_direct();
    app.deliver("text.json").await;
    let contact_id = app.contacts()[0]["id"].as_i64().unwrap();
    let search_url = |q: &str| {
        format!(
            "/api/v1/accounts/{acc}/search?q={}",
            url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
        )
    };

    // Contacts by name (any case), phone (digits, however written) and BSUID.
    for q in [
        "sheena",
        "NELSON",
        "6505551234",
        "+1 (650) 555-1234",
        "US.134912086",
    ] {
        let found = app.get(&search_url(q)).await;
        assert_eq!(ids(&found, "contacts"), vec![contact_id], "{q}: {found}");
        assert_eq!(
            found["payload"]["contacts"][0]["conversation_ids"],
            json!([1])
        );
        assert_eq!(found["payload"]["contacts"][0]["name"], "Sheena Nelson");
        // The contact's conversation comes along, rendered as in the list.
        assert_eq!(ids(&found, "conversations"), vec![1], "{q}");
        assert_eq!(
            found["payload"]["conversations"][0]["meta"]["sender"]["id"],
            contact_id
        );
    }

    // Messages by text.
    let found = app.get(&search_url("BLUE jacket")).await;
    assert_eq!(found["payload"]["contacts"], json!([]));
    let messages = found["payload"]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{found}");
    assert_eq!(
        messages[0]["content"],
        "Hi! Does the blue jacket come in size M?"
    );
    assert_eq!(messages[0]["conversation_id"], 1);
    assert_eq!(messages[0]["message_type"], 0);
    assert_eq!(messages[0]["sender"]["id"], contact_id);

    // A conversation by its number.
    let found = app.get(&search_url("#1")).await;
    assert_eq!(ids(&found, "conversations"), vec![1]);

    // LIKE wildcards in the term match only themselves.
    for q in ["%", "_", "\\", "blue%jacket", "s_ze"] {
        let found = app.get(&search_url(q)).await;
        assert_eq!(found["payload"]["contacts"], json!([]), "{q}");
        assert_eq!(found["payload"]["messages"], json!([]), "{q}");
    }

    // Private notes are not searched.
    let (status, _) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{acc}/conversations/1/messages"),
            Some(json!({"content": "zebra discount for her", "private": true})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.get(&search_url("zebra")).await["payload"]["messages"],
        json!([])
    );

    // A blank term is refused.
    for q in ["", "   "] {
        let (status, err) = app.api("GET", &search_url(q), None, &app.token).await;
        assert_eq!((status, err["field"].as_str()), (422, Some("q")));
    }
    let (status, _) = app
        .api(
            "GET",
            &format!("/api/v1/accounts/{acc}/search"),
            None,
            &app.token,
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(app.api("GET", &search_url("blue"), None, "").await.0, 401);

    // An agent outside the inbox finds nothing; inside, the same as an administrator.
    let (agent_id, agent) = app.create_agent("ben@example.com");
    for q in ["sheena", "blue", "6505551234", "1"] {
        let (status, found) = app.api("GET", &search_url(q), None, &agent).await;
        assert_eq!(status, 200);
        assert_eq!(
            found["payload"],
            json!({"contacts": [], "conversations": [], "messages": []}),
            "{q}"
        );
    }
    switchboard::domain::inboxes::add_member(&mut app.conn(), inbox.id, agent_id).unwrap();
    let (_, found) = app.api("GET", &search_url("blue"), None, &agent).await;
    assert_eq!(found["payload"]["messages"].as_array().unwrap().len(), 1);
    let (_, found) = app.api("GET", &search_url("sheena"), None, &agent).await;
    assert_eq!(ids(&found, "contacts"), vec![contact_id]);

    // The domain function answers the same.
    let viewer = Viewer {
        user_id: agent_id,
        account_id: acc,
        role: Role::Agent,
    };
    let results = search::search(&mut app.conn(), &viewer, "jacket", None, 10).unwrap();
    assert_eq!(results.messages.len(), 1);
    assert_eq!(results.messages[0].display_id, 1);
    let results = search::search(&mut app.conn(), &viewer, "Nelson", None, 10).unwrap();
    assert_eq!(results.contacts.len(), 1);
    assert_eq!(results.contacts[0].1, vec![1]);
}

#[actix_rt::test]
async fn message_search_uses_the_trigram_index() {
    let app = TestApp::start();
    let (inbox, _) = app.create_inbox_direct();
    app.deliver("text.json").await;
    let (agent_id, _) = app.create_agent("ben@example.com");
    switchboard::domain::inboxes::add_member(&mut app.conn(), inbox.id, agent_id).unwrap();
    let mut conn = app.conn();
    // Enough rows that a sequential scan is a real alternative; VACUUM moves the new rows
    // out of the GIN pending list, as autovacuum would on a live table.
    diesel::sql_query(
        "INSERT INTO messages (account_id, inbox_id, conversation_id, message_type, content, created_at) \
         SELECT c.account_id, c.inbox_id, c.id, (n % 2)::smallint, \
                'order ' || n || ' ' || md5(n::text) || ' shipped on time', now() - n * interval '1 minute' \
         FROM conversations c, generate_series(1, 20000) AS n",
    )
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query("VACUUM ANALYZE messages")
        .execute(&mut conn)
        .unwrap();

    let admin = Viewer {
        user_id: app.admin_id,
        account_id: app.account_id,
        role: Role::Administrator,
    };
    let agent = Viewer {
        user_id: agent_id,
        account_id: app.account_id,
        role: Role::Agent,
    };
    let plan_of = |conn: &mut switchboard::db::DbConn, viewer: &Viewer| {
        search::explain_message_search(conn, viewer, "blue jacket", 15)
            .unwrap()
            .join("\n")
    };
    // The planner picks the trigram index by itself...
    for viewer in [&admin, &agent] {
        let plan = plan_of(&mut conn, viewer);
        assert!(
            plan.contains("Bitmap Index Scan on messages_content_fold_trgm"),
            "{plan}"
        );
        assert!(!plan.contains("Seq Scan on messages"), "{plan}");
    }
    // ...and with sequential scans priced out, no other index serves the query better.
    diesel::sql_query("SET enable_seqscan = off")
        .execute(&mut conn)
        .unwrap();
    for viewer in [&admin, &agent] {
        let plan = plan_of(&mut conn, viewer);
        assert!(
            plan.contains("Bitmap Index Scan on messages_content_fold_trgm"),
            "{plan}"
        );
    }
    diesel::sql_query("RESET enable_seqscan")
        .execute(&mut conn)
        .unwrap();
    // And the query finds what it should among the 20000.
    let found = search::search(&mut conn, &admin, "shipped", None, 15).unwrap();
    assert_eq!(found.messages.len(), 15);
    let found = search::search(&mut conn, &agent, "blue jacket", None, 15).unwrap();
    assert_eq!(found.messages.len(), 1);

    // Two passes (the newest `RECENT_SCAN` messages, then the trigram index for older ones)
    // give exactly what one ordered query over every match gives, page after page: a common
    // word, one whose matches straddle the first pass's window, and one found only beyond it.
    diesel::sql_query(
        "INSERT INTO messages (account_id, inbox_id, conversation_id, message_type, content, created_at) \
         SELECT c.account_id, c.inbox_id, c.id, 0, 'a lone needle', now() - interval '30 days' \
         FROM conversations c \
         UNION ALL SELECT c.account_id, c.inbox_id, c.id, 0, 'zebra crossing ' || k, \
                now() - k * interval '150 minutes' \
         FROM conversations c, generate_series(1, 40) AS k",
    )
    .execute(&mut conn)
    .unwrap();
    // The zebras straddle the first pass's window (k * 150 minutes, k = 1..40, against
    // messages one minute apart): `RECENT_SCAN` (2,000) must stay below 6,000.
    const _: () = assert!(search::RECENT_SCAN < 6000);
    for (term, pattern, pages) in [
        ("shipped", "%shipped%", 3),
        ("zebra", "%zebra%", 3),
        ("needle", "%needle%", 1),
    ] {
        let expected: Vec<i64> = app
            .query_json(&format!(
                "SELECT coalesce(jsonb_agg(id ORDER BY created_at DESC, id DESC), '[]') FROM \
                 (SELECT id, created_at FROM messages WHERE message_type IN (0, 1) AND NOT private \
                  AND content LIKE '{pattern}' ORDER BY created_at DESC, id DESC LIMIT {}) t",
                pages * 15
            ))
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        let mut seen = vec![];
        let mut before = None;
        for _ in 0..pages {
            let found = search::search(&mut conn, &admin, term, before, 15).unwrap();
            seen.extend(found.messages.iter().map(|m| m.message.id));
            before = found.next_before;
            if before.is_none() {
                break;
            }
        }
        assert_eq!(seen, expected, "{term}");
    }
}

fn enc(q: &str) -> String {
    url::form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

#[actix_rt::test]
async fn search_ignores_case_and_accents_wants_every_word_and_highlights_safely() {
    let app = TestApp::start();
    let acc = app.account_id;
    app.create_inbox_direct();
    app.deliver("text_unicode.json").await;
    app.deliver("text.json").await;
    let zoe = app
        .contacts()
        .iter()
        .find(|c| c["name"] == "Zoë <b>O'Brien</b>")
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    // Contacts: "zoe", "ZOE", "Zoë" and "zOË" all find Zoë, in the global search and in
    // /contacts/search; words in any order.
    for q in ["zoe", "ZOE", "Zoë", "zOË", "o'brien zoe"] {
        let found = app
            .get(&format!("/api/v1/accounts/{acc}/search?q={}", enc(q)))
            .await;
        assert_eq!(ids(&found, "contacts"), vec![zoe], "{q}: {found}");
        let listed = app
            .get(&format!(
                "/api/v1/accounts/{acc}/contacts/search?q={}",
                enc(q)
            ))
            .await;
        let listed: Vec<i64> = listed["payload"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect();
        assert_eq!(listed, vec![zoe], "{q}");
    }

    // Messages: every word must appear, in any order, whatever the case and accents.
    for q in ["preco ola", "OLA PREÇO", "quotes preço", "Olá"] {
        let found = app
            .get(&format!("/api/v1/accounts/{acc}/search?q={}", enc(q)))
            .await;
        let messages = found["payload"]["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 1, "{q}: {found}");
        assert_eq!(messages[0]["contact_id"], zoe);
        assert_eq!(messages[0]["contact_name"], "Zoë <b>O'Brien</b>");
        assert_eq!(messages[0]["conversation_id"], 1);
    }
    for q in ["ola jacket", "preco nowhere"] {
        let found = app
            .get(&format!("/api/v1/accounts/{acc}/search?q={}", enc(q)))
            .await;
        assert_eq!(found["payload"]["messages"], json!([]), "{q}");
    }

    // The snippet: escaped first, then each match wrapped in <mark>.
    let found = app
        .get(&format!(
            "/api/v1/accounts/{acc}/search?q={}",
            enc("preco ola")
        ))
        .await;
    assert_eq!(
        found["payload"]["messages"][0]["snippet"],
        "<mark>Olá</mark>! <mark>Preço</mark>: 10€ — 👍 &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;"
    );
    // HTML in the message is text, even where it matches.
    let found = app
        .get(&format!(
            "/api/v1/accounts/{acc}/search?q={}",
            enc("script alert")
        ))
        .await;
    let snippet = found["payload"]["messages"][0]["snippet"].as_str().unwrap();
    assert!(
        snippet.contains(
            "&lt;<mark>script</mark>&gt;<mark>alert</mark>(1)&lt;/<mark>script</mark>&gt;"
        ),
        "{snippet}"
    );
    assert!(!snippet.contains("<script"), "{snippet}");
    // The text.json message of the other contact carries its own contact.
    let found = app
        .get(&format!(
            "/api/v1/accounts/{acc}/search?q={}",
            enc("JACKET blue")
        ))
        .await;
    assert_eq!(
        found["payload"]["messages"][0]["contact_name"],
        "Sheena Nelson"
    );
    assert_eq!(
        found["payload"]["messages"][0]["snippet"],
        "Hi! Does the <mark>blue</mark> <mark>jacket</mark> come in size M?"
    );

    // Bad input: 422 naming the field.
    let many = "a b c d e f g h i";
    for (query, field) in [
        (format!("q={}", enc(many)), "q"),
        ("q=ola&before=abc".to_string(), "before"),
        ("q=ola&before=999999".to_string(), "before"),
    ] {
        let (status, body) = app
            .api(
                "GET",
                &format!("/api/v1/accounts/{acc}/search?{query}"),
                None,
                &app.token,
            )
            .await;
        assert_eq!(
            (status, body["field"].as_str()),
            (422, Some(field)),
            "{query}: {body}"
        );
    }

    // The UI search page shows the contact, the conversation and the highlighted match,
    // with the customer's HTML as text.
    let mut b = Browser::new(&app);
    b.sign_in("ana@example.com", "correct horse").await;
    let (status, page, _) = b
        .get(&format!(
            "/app/accounts/{acc}/search?q={}",
            enc("preco ola")
        ))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("<mark>Preço</mark>"), "{page}");
    // The contact's name, escaped (askama writes `<` as `&#60;`).
    assert!(
        page.contains("<span class=\"result-title\">Zoë &#60;b&#62;O&#39;Brien"),
        "{page}"
    );
    assert!(!page.contains("<b>O'Brien"), "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(
        page.contains(&format!("/app/accounts/{acc}/conversations/1?")),
        "{page}"
    );
    let (_, page, _) = b.get(&format!("/app/accounts/{acc}/search?q=zoe")).await;
    assert!(page.contains("<mark>Zoë</mark>"), "{page}");
    let (status, page, _) = b
        .get(&format!("/app/accounts/{acc}/search?q={}", enc(many)))
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("at most 8 words"), "{page}");
}

#[actix_rt::test]
async fn message_results_page_on_created_at_and_id_without_overlaps() {
    let app = TestApp::start();
    let acc = app.account_id;
    app.create_inbox_direct();
    app.deliver("text.json").await;
    // 40 matching messages whose timestamps run against their ids, two per timestamp.
    diesel::sql_query(
        "INSERT INTO messages (account_id, inbox_id, conversation_id, message_type, content, created_at) \
         SELECT c.account_id, c.inbox_id, c.id, 0, 'Parcel ' || k || ' left the depot', \
                timestamptz '2026-01-01 00:00:00+00' + (((k * 17) % 40) / 2) * interval '1 minute' \
         FROM conversations c, generate_series(1, 40) AS k",
    )
    .execute(&mut app.conn())
    .unwrap();
    let expected: Vec<i64> = app
        .query_json(
            "SELECT jsonb_agg(id ORDER BY created_at DESC, id DESC) FROM messages WHERE content LIKE 'Parcel %'",
        )
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let mut seen: Vec<i64> = Vec::new();
    let mut before: Option<i64> = None;
    let mut pages = 0;
    loop {
        let cursor = before.map(|b| format!("&before={b}")).unwrap_or_default();
        let found = app
            .get(&format!(
                "/api/v1/accounts/{acc}/search?q=depot+PARCEL{cursor}"
            ))
            .await;
        pages += 1;
        let page = ids(&found, "messages");
        assert!(page.len() <= 15);
        seen.extend(page);
        match found["meta"]["next_before"].as_i64() {
            Some(next) => before = Some(next),
            None => break,
        }
        assert!(pages < 10, "paging never ends");
    }
    assert_eq!(pages, 3);
    assert_eq!(
        seen, expected,
        "each result once, newest first by (created_at, id)"
    );

    // The domain function gives the same pages.
    let viewer = Viewer {
        user_id: app.admin_id,
        account_id: acc,
        role: Role::Administrator,
    };
    let first = search::search(&mut app.conn(), &viewer, "parcel", None, 25).unwrap();
    let second = search::search(&mut app.conn(), &viewer, "parcel", first.next_before, 25).unwrap();
    let all: Vec<i64> = first
        .messages
        .iter()
        .chain(&second.messages)
        .map(|r| r.message.id)
        .collect();
    assert_eq!(all, expected);
    assert_eq!(second.next_before, None);
}

/// The `QUERY PLAN` lines of `EXPLAIN <sql>`.
fn plan(conn: &mut switchboard::db::DbConn, sql: &str) -> String {
    #[derive(diesel::QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    diesel::sql_query(format!("EXPLAIN {sql}"))
        .load::<Line>(conn)
        .unwrap()
        .into_iter()
        .map(|l| l.line)
        .collect::<Vec<_>>()
        .join("\n")
}

#[actix_rt::test]
async fn a_list_of_phone_numbers_is_looked_up_by_btree_and_search_keeps_its_trigram_index() {
    let app = TestApp::start();
    let acc = app.account_id;
    let mut conn = app.conn();
    // Numbers that share most of their trigrams, as a country's numbers do.
    diesel::sql_query(format!(
        "INSERT INTO contacts (account_id, name, phone_number, bsuid) \
         SELECT {acc}, 'Customer ' || n, '+44700000' || lpad(n::text, 4, '0'), \
                'GB.' || (9000000000 + n) FROM generate_series(1, 6000) AS n"
    ))
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query("VACUUM ANALYZE contacts")
        .execute(&mut conn)
        .unwrap();
    // An ingest unit's new customers (`contacts::create_many`) or a CSV chunk: the list
    // never goes to a trigram index (it cost 200 ms for 50 numbers at this size).
    let numbers: Vec<String> = (1..=200).map(|n| format!("'+44700000{n:04}'")).collect();
    for list in [&numbers[..50], &numbers[..]] {
        let p = plan(
            &mut conn,
            &format!(
                "SELECT id FROM contacts WHERE account_id = {acc} AND phone_number = ANY(ARRAY[{}])",
                list.join(",")
            ),
        );
        assert!(!p.contains("trgm"), "{p}");
        let p = plan(
            &mut conn,
            &format!(
                "SELECT id FROM contacts WHERE account_id = {acc} AND bsuid = ANY(ARRAY[{}])",
                list.join(",").replace("'+44700000", "'GB.900000")
            ),
        );
        assert!(!p.contains("trgm"), "{p}");
    }
    // Search by a part of a number or a BSUID still takes the trigram indexes.
    let p = plan(
        &mut conn,
        "SELECT id FROM contacts WHERE lower(phone_number) LIKE '%7000001234%'",
    );
    assert!(p.contains("contacts_phone_number_lower_trgm"), "{p}");
    let p = plan(
        &mut conn,
        "SELECT id FROM contacts WHERE lower(bsuid) LIKE lower('%GB.9000001234%')",
    );
    assert!(p.contains("contacts_bsuid_lower_trgm"), "{p}");
    // And the search's own conditions find by both.
    use diesel::prelude::*;
    use switchboard::db::schema::contacts;
    for q in [
        "0000 1234",
        "+44 7000001234",
        "gb.9000001234",
        "Customer 1234",
    ] {
        let found: Vec<String> = contacts::table
            .filter(contacts::account_id.eq(acc))
            .filter(search::contact_condition(q, search::ContactFields::Identity).unwrap())
            .select(contacts::name)
            .load(&mut conn)
            .unwrap();
        assert_eq!(found, vec!["Customer 1234".to_string()], "{q}");
    }
}

#[actix_rt::test]
async fn the_adoption_lookups_of_an_account_absent_from_the_statistics_use_the_phone_index() {
    // Statistics taken while a second account had no contacts: the planner expects one row
    // for it, and the lookups by (account, phone number) scanned all of its contacts by
    // `contacts_account` (issue 15). They go by the phone number's own index now.
    let app = TestApp::start();
    let mut conn = app.conn();
    diesel::sql_query(format!(
        "INSERT INTO contacts (account_id, name, phone_number) \
         SELECT {}, 'Customer ' || n, '+44700000' || lpad(n::text, 4, '0') \
         FROM generate_series(1, 3000) AS n",
        app.account_id
    ))
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query("VACUUM ANALYZE contacts")
        .execute(&mut conn)
        .unwrap();
    let other = switchboard::domain::accounts::create_admin(
        &mut conn,
        "New Co",
        "Nina New",
        "nina@example.com",
        "nina's password",
    )
    .unwrap()
    .account_id;
    diesel::sql_query(format!(
        "INSERT INTO contacts (account_id, name, phone_number) \
         SELECT {other}, 'New ' || n, '+45700000' || lpad(n::text, 4, '0') \
         FROM generate_series(1, 3000) AS n"
    ))
    .execute(&mut conn)
    .unwrap();
    use switchboard::domain::contacts;
    for sql in [
        contacts::adopt_one_sql()
            .replace("$1", &other.to_string())
            .replace("$2", "'+457000001234'")
            .replace("$3::text", "NULL::text")
            .replace("$3", "NULL"),
        contacts::adoptable_phones_sql()
            .replace("$1", &other.to_string())
            .replace("$2::text[]", "ARRAY['+457000001234', '+457000002345']"),
    ] {
        let p = plan(&mut conn, &sql);
        assert!(p.contains("contacts_phone_number "), "{p}");
        assert!(!p.contains("contacts_account "), "{p}");
    }
    use diesel::OptionalExtension;
    // And they find what they look for: the new account's contact without a contact inbox.
    #[derive(diesel::QueryableByName)]
    struct Key {
        #[diesel(sql_type = diesel::sql_types::Text)]
        key: String,
    }
    let found: Vec<Key> = diesel::sql_query(contacts::adoptable_phones_sql())
        .bind::<diesel::sql_types::BigInt, _>(other)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(vec![
            "+457000001234".to_string(),
            "+447000001234".to_string(),
            "+457000009999".to_string(),
        ])
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        found.into_iter().map(|k| k.key).collect::<Vec<_>>(),
        vec!["+457000001234".to_string()]
    );
    let adopted: Option<contacts::Contact> = diesel::sql_query(contacts::adopt_one_sql())
        .bind::<diesel::sql_types::BigInt, _>(other)
        .bind::<diesel::sql_types::Text, _>("+457000001234")
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(None::<String>)
        .get_result(&mut conn)
        .optional()
        .unwrap();
    assert_eq!(adopted.map(|c| c.name), Some("New 1234".to_string()));
}

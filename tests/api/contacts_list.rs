//! The contacts list (issue 11, contacts-ui): `domain::contact_list` search, filters, sorts
//! and keyset paging (each row exactly once across pages, ties broken by id, forwards and
//! backwards), and `GET /contacts` / `GET /contacts/search` over it (capped `meta.count`,
//! `sort`, 422 naming the field, BSUID-only and username-only contacts found).

use crate::common::*;
use serde_json::json;
use switchboard::domain::contact_list::{self, ContactQuery, Cursor, SortKey};

/// Inserts the contacts of the list tests into account `acc`: 23 of them, names with ties
/// (three "Ana Ruiz", case and accents varying), five sharing one `created_at`, some never
/// active, one BSUID-only, one username-only, labels on a few. Returns their ids in order.
fn seed(app: &TestApp, acc: i64) -> Vec<i64> {
    use diesel::prelude::*;
    let mut conn = app.conn();
    let sql = format!(
        "INSERT INTO contacts (account_id, name, phone_number, email, bsuid, username, labels, created_at, last_activity_at)
         SELECT {acc},
                CASE WHEN n IN (3, 7, 11) THEN (ARRAY['Ana Ruiz', 'ana ruiz', 'Ána Ruíz'])[1 + n % 3]
                     WHEN n = 5 THEN 'Zoë Nakamura'
                     WHEN n = 6 THEN 'US.BSUIDONLY1'
                     WHEN n = 8 THEN 'ghost_user'
                     ELSE format('Person %s', lpad(n::text, 2, '0')) END,
                CASE WHEN n NOT IN (6, 8) THEN format('+1555%s', lpad(n::text, 7, '0')) END,
                CASE WHEN n = 9 THEN 'Mia.Example@Mail.test' END,
                CASE WHEN n = 6 THEN 'US.BSUIDONLY1' END,
                CASE WHEN n = 8 THEN 'ghost_user' END,
                CASE WHEN n % 4 = 0 THEN ARRAY['vip'] WHEN n % 5 = 0 THEN ARRAY['lead', 'billing'] ELSE '{{}}'::text[] END,
                CASE WHEN n BETWEEN 10 AND 14 THEN timestamptz '2026-06-01 12:00:00+00'
                     ELSE timestamptz '2026-01-01 00:00:00+00' + n * interval '1 day' END,
                CASE WHEN n % 3 = 0 THEN NULL
                     WHEN n % 3 = 1 THEN timestamptz '2026-09-01 00:00:00+00'
                     ELSE timestamptz '2026-10-01 00:00:00+00' + n * interval '1 hour' END
         FROM generate_series(1, 23) n ORDER BY n"
    );
    diesel::sql_query(sql).execute(&mut conn).unwrap();
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    diesel::sql_query(format!(
        "SELECT id FROM contacts WHERE account_id = {acc} ORDER BY id"
    ))
    .load::<Id>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|r| r.id)
    .collect()
}

fn names(p: &contact_list::ContactPage) -> Vec<String> {
    p.rows.iter().map(|r| r.contact.name.clone()).collect()
}

fn ids(p: &contact_list::ContactPage) -> Vec<i64> {
    p.rows.iter().map(|r| r.contact.id).collect()
}

/// Walks every page forwards, then back from the end; both walks must give each matching
/// contact exactly once, in the same order.
fn walk(app: &TestApp, acc: i64, q: &ContactQuery, per: i64) -> Vec<i64> {
    let mut conn = app.conn();
    let mut seen = Vec::new();
    let mut cursor = Cursor::First;
    let mut pages = vec![];
    loop {
        let p = contact_list::page(&mut conn, acc, None, q, cursor, per).unwrap();
        assert!(p.rows.len() as i64 <= per);
        assert_eq!(p.has_prev, cursor != Cursor::First, "{q:?}");
        seen.extend(ids(&p));
        pages.push(ids(&p));
        if !p.has_next {
            break;
        }
        cursor = Cursor::After(*ids(&p).last().unwrap());
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "a row came twice: {q:?}");
    // Backwards from the last page.
    let mut back: Vec<Vec<i64>> = vec![pages.last().unwrap().clone()];
    let mut first = pages.last().unwrap()[0];
    loop {
        let p = contact_list::page(&mut conn, acc, None, q, Cursor::Before(first), per).unwrap();
        if p.rows.is_empty() {
            break;
        }
        back.insert(0, ids(&p));
        if !p.has_prev {
            break;
        }
        first = ids(&p)[0];
    }
    assert_eq!(back.concat(), seen, "backwards differs: {q:?}");
    seen
}

#[actix_rt::test]
async fn every_sort_pages_each_row_once_with_ties_broken_by_id() {
    let app = TestApp::start();
    let acc = app.account_id;
    let all = seed(&app, acc);
    assert_eq!(all.len(), 23);
    for sort in [SortKey::Name, SortKey::LastActivity, SortKey::Created] {
        for descending in [false, true] {
            for per in [1, 4, 7, 50] {
                let q = ContactQuery {
                    sort,
                    descending,
                    ..Default::default()
                };
                let seen = walk(&app, acc, &q, per);
                assert_eq!(seen.len(), 23, "{sort:?} desc={descending} per={per}");
                // The same order as one big page.
                let one =
                    contact_list::page(&mut app.conn(), acc, None, &q, Cursor::First, 200).unwrap();
                assert_eq!(ids(&one), seen);
            }
        }
    }
    let q = |sort, descending| ContactQuery {
        sort,
        descending,
        ..Default::default()
    };
    let mut conn = app.conn();
    // Name: folded, so the three "Ana Ruiz" are together, by id.
    let by_name = contact_list::page(
        &mut conn,
        acc,
        None,
        &q(SortKey::Name, false),
        Cursor::First,
        3,
    )
    .unwrap();
    assert_eq!(
        names(&by_name),
        ["Ana Ruiz", "ana ruiz", "Ána Ruíz"].map(String::from)
    );
    assert_eq!(ids(&by_name), vec![all[2], all[6], all[10]], "ties by id");
    // Created: the five of 2026-06-01 come newest first, ties by id descending.
    let by_created = contact_list::page(
        &mut conn,
        acc,
        None,
        &q(SortKey::Created, true),
        Cursor::First,
        50,
    )
    .unwrap();
    let tied: Vec<i64> = ids(&by_created)
        .into_iter()
        .filter(|id| all[9..14].contains(id))
        .collect();
    assert_eq!(tied, vec![all[13], all[12], all[11], all[10], all[9]]);
    // Last activity: never-active contacts last when newest first.
    let by_activity = contact_list::page(
        &mut conn,
        acc,
        None,
        &q(SortKey::LastActivity, true),
        Cursor::First,
        50,
    )
    .unwrap();
    let tail: Vec<_> = by_activity.rows[by_activity.rows.len() - 7..]
        .iter()
        .map(|r| r.contact.last_activity_at)
        .collect();
    assert!(tail.iter().all(Option::is_none), "{tail:?}");
    // Another account's contact as a cursor: an empty page, nothing of the other account.
    let other = contact_list::page(
        &mut conn,
        acc + 1000,
        None,
        &q(SortKey::Name, false),
        Cursor::After(all[0]),
        10,
    )
    .unwrap();
    assert!(other.rows.is_empty());
}

#[actix_rt::test]
async fn search_and_filters_find_by_every_field_folded() {
    let app = TestApp::start();
    let acc = app.account_id;
    let all = seed(&app, acc);
    let mut conn = app.conn();
    let mut find = |q: &str| -> Vec<String> {
        let query = ContactQuery {
            q: Some(q.into()),
            sort: SortKey::Name,
            ..Default::default()
        };
        let p = contact_list::page(&mut conn, acc, None, &query, Cursor::First, 50).unwrap();
        names(&p)
    };
    assert_eq!(find("zoe"), ["Zoë Nakamura"]);
    assert_eq!(
        find("NAKAMURA ZOË"),
        ["Zoë Nakamura"],
        "any order, case, accents"
    );
    assert_eq!(find("ANA ruiz").len(), 3);
    assert_eq!(find("mia.example@mail"), ["Person 09"], "email, folded");
    assert_eq!(
        find("+1 (555) 000-0005"),
        ["Zoë Nakamura"],
        "a whole phone number"
    );
    assert_eq!(find("555-0000005"), ["Zoë Nakamura"], "digits of a word");
    assert_eq!(find("0000013"), ["Person 13"], "phone digits");
    assert_eq!(
        find("us.bsuidonly1"),
        ["US.BSUIDONLY1"],
        "BSUID-only contact"
    );
    assert_eq!(find("ghost"), ["ghost_user"], "username-only contact");
    assert_eq!(
        find("100%"),
        Vec::<String>::new(),
        "LIKE wildcards are literal"
    );
    assert!(find("nobody-here").is_empty());
    // Bad terms: 422 naming q.
    let long = "x".repeat(201);
    let err = contact_list::page(
        &mut conn,
        acc,
        None,
        &ContactQuery {
            q: Some(long),
            ..Default::default()
        },
        Cursor::First,
        10,
    )
    .unwrap_err();
    assert!(format!("{err:?}").contains("\"q\""), "{err:?}");

    // Labels: any of them.
    let with = |labels: &[&str]| ContactQuery {
        labels: labels.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let vip = contact_list::page(&mut conn, acc, None, &with(&["vip"]), Cursor::First, 50).unwrap();
    assert_eq!(vip.rows.len(), 5, "4, 8, 12, 16, 20");
    assert!(vip.rows.iter().all(|r| r.labels == ["vip"]));
    let either = contact_list::page(
        &mut conn,
        acc,
        None,
        &with(&["vip", "billing"]),
        Cursor::First,
        50,
    )
    .unwrap();
    assert_eq!(either.rows.len(), 5 + 3, "plus 5, 10, 15 (20 is vip)");
    let (n, exact) =
        contact_list::count_capped(&mut conn, acc, None, &with(&["vip", "billing"]), 10_000)
            .unwrap();
    assert_eq!((n, exact), (8, true));
    let (n, exact) = contact_list::count_capped(&mut conn, acc, None, &with(&[]), 5).unwrap();
    assert_eq!((n, exact), (5, false), "capped");

    // Created range [from, to) and activity range.
    let ts = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    let june = ContactQuery {
        created_from: Some(ts("2026-06-01T00:00:00Z")),
        created_to: Some(ts("2026-06-02T00:00:00Z")),
        ..Default::default()
    };
    let p = contact_list::page(&mut conn, acc, None, &june, Cursor::First, 50).unwrap();
    let mut got = ids(&p);
    got.sort();
    assert_eq!(got, all[9..14].to_vec());
    let september = ContactQuery {
        active_from: Some(ts("2026-09-01T00:00:00Z")),
        active_to: Some(ts("2026-09-02T00:00:00Z")),
        ..Default::default()
    };
    let p = contact_list::page(&mut conn, acc, None, &september, Cursor::First, 50).unwrap();
    assert_eq!(p.rows.len(), 8, "n % 3 == 1: 1, 4, …, 22");
    // Search and filters together, paged.
    let both = ContactQuery {
        q: Some("person".into()),
        labels: vec!["vip".into()],
        sort: SortKey::Name,
        ..Default::default()
    };
    assert_eq!(
        walk(&app, acc, &both, 2).len(),
        4,
        "vip and not Ana Ruiz (n=4,12,16,20)"
    );
}

#[actix_rt::test]
async fn api_lists_and_searches_with_capped_count_and_sort() {
    let app = TestApp::start();
    let acc = app.account_id;
    seed(&app, acc);
    let (status, body) = app
        .api(
            "GET",
            &format!("/api/v1/accounts/{acc}/contacts"),
            None,
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["count"], 23);
    assert_eq!(body["payload"].as_array().unwrap().len(), 15);
    let (_, page2) = app
        .api(
            "GET",
            &format!("/api/v1/accounts/{acc}/contacts?page=2"),
            None,
            &app.token,
        )
        .await;
    assert_eq!(page2["payload"].as_array().unwrap().len(), 8);

    let (status, body) = app
        .api(
            "GET",
            &format!("/api/v1/accounts/{acc}/contacts/search?q=ghost"),
            None,
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["count"], 1);
    assert_eq!(body["payload"][0]["name"], "ghost_user", "username-only");
    let (_, body) = app
        .api(
            "GET",
            &format!("/api/v1/accounts/{acc}/contacts/search?q=US.BSUIDONLY1"),
            None,
            &app.token,
        )
        .await;
    assert_eq!(body["payload"][0]["name"], "US.BSUIDONLY1", "BSUID-only");

    let (status, body) = app
        .api(
            "GET",
            &format!("/api/v1/accounts/{acc}/contacts?sort=name"),
            None,
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["payload"][0]["name"], "Ana Ruiz");
    let (_, body) = app
        .api(
            "GET",
            &format!("/api/v1/accounts/{acc}/contacts?sort=-name"),
            None,
            &app.token,
        )
        .await;
    assert_eq!(body["payload"][0]["name"], "Zoë Nakamura");
    let (status, body) = app
        .api(
            "GET",
            &format!("/api/v1/accounts/{acc}/contacts?sort=phone"),
            None,
            &app.token,
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "sort");
    assert!(body["error"].as_str().unwrap().contains("sort"));
    let (status, body) = app
        .api(
            "GET",
            &format!("/api/v1/accounts/{acc}/contacts/search?q=%20"),
            None,
            &app.token,
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "q");
    let _ = json!({});
}

#[actix_rt::test]
async fn pages_answer_422_for_bad_filters_and_404_for_contacts_out_of_sight() {
    use crate::common::session::Browser;
    let app = TestApp::start();
    let acc = app.account_id;
    app.create_inbox(json!({})).await;
    app.deliver("text.json").await;
    let reachable = app.contacts()[0]["id"].as_i64().unwrap();
    let all = seed(&app, acc);
    let mut ana = Browser::new(&app);
    ana.sign_in("ana@example.com", "correct horse").await;

    let (status, html, _) = ana.get(&format!("/app/accounts/{acc}/contacts")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Contacts 1–24"),
        "23 seeded + 1 from the webhook"
    );
    let (status, html, _) = ana
        .get(&format!("/app/accounts/{acc}/contacts?q=ghost"))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("ghost_user"));
    for (query, field) in [
        ("created_from=2026-13-40", "created_from"),
        ("active_to=yesterday", "active_to"),
        ("sort=phone", "sort"),
        ("dir=up", "dir"),
        ("after=abc", "after"),
        ("before=-4", "before"),
    ] {
        let (status, html, _) = ana
            .get(&format!("/app/accounts/{acc}/contacts?{query}"))
            .await;
        assert_eq!(status, 422, "{query}");
        assert!(html.contains(field), "{query}: the message names {field}");
    }
    let (status, _, _) = ana
        .get(&format!(
            "/app/accounts/{acc}/contacts?q={}",
            "x".repeat(201)
        ))
        .await;
    assert_eq!(status, 422);
    let (status, html, _) = ana
        .get(&format!("/app/accounts/{acc}/contacts/{reachable}"))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("US.13491208655302741918") && html.contains("16505551234"));
    let (status, _, _) = ana
        .get(&format!("/app/accounts/{acc}/contacts/{}", all[0] + 10_000))
        .await;
    assert_eq!(status, 404);
    let (status, _, _) = ana
        .get(&format!(
            "/app/accounts/{acc}/contacts/99999999999999999999"
        ))
        .await;
    assert_eq!(status, 404);

    // An agent of no inbox sees no contact; once a member of the inbox, the webhook's.
    let (agent_id, _) = app.create_agent("ben@example.com");
    let mut ben = Browser::new(&app);
    ben.sign_in("ben@example.com", "agent password").await;
    let (status, html, _) = ben.get(&format!("/app/accounts/{acc}/contacts")).await;
    assert_eq!(status, 200);
    assert!(html.contains("No contacts yet"));
    let (status, _, _) = ben
        .get(&format!("/app/accounts/{acc}/contacts/{reachable}"))
        .await;
    assert_eq!(status, 404);
    {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!(
            "INSERT INTO inbox_members (inbox_id, user_id) SELECT id, {agent_id} FROM inboxes"
        ))
        .execute(&mut app.conn())
        .unwrap();
    }
    let (_, html, _) = ben.get(&format!("/app/accounts/{acc}/contacts")).await;
    assert!(html.contains("Sheena Nelson") && !html.contains("ghost_user"));
    let (status, _, _) = ben
        .get(&format!("/app/accounts/{acc}/contacts/{reachable}"))
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = ben
        .get(&format!(
            "/app/accounts/{acc}/contacts/{}",
            all.last().unwrap()
        ))
        .await;
    assert_eq!(status, 404, "a contact of no inbox of Ben's");
}

/// `contacts::touch` moves `last_activity_at` forwards only, and skips writes within
/// `ACTIVITY_GRANULARITY_SECS` of the stored time (a burst of messages is one contacts write).
#[actix_rt::test]
async fn activity_moves_forward_and_a_burst_is_one_write() {
    use chrono::{Duration, TimeZone, Utc};
    use diesel::prelude::*;
    use switchboard::db::schema::contacts;
    use switchboard::domain::contacts as domain;
    let app = TestApp::start();
    let acc = app.account_id;
    let id = seed(&app, acc)[2]; // never active (n = 3)
    let mut conn = app.conn();
    let read = |conn: &mut diesel::PgConnection| -> (Option<chrono::DateTime<Utc>>, i64) {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
            at: Option<chrono::DateTime<Utc>>,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            xmin: i64,
        }
        let r: Row = diesel::sql_query(format!(
            "SELECT last_activity_at AS at, xmin::text::bigint AS xmin FROM contacts WHERE id = {id}"
        ))
        .get_result(conn)
        .unwrap();
        (r.at, r.xmin)
    };
    let t0 = Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap();
    domain::touch(&mut conn, id, t0).unwrap();
    let (at, v1) = read(&mut conn);
    assert_eq!(at, Some(t0));
    // A burst: the next messages within the granularity write nothing (same row version).
    for s in [1, 30, domain::ACTIVITY_GRANULARITY_SECS] {
        domain::touch(&mut conn, id, t0 + Duration::seconds(s)).unwrap();
    }
    assert_eq!(read(&mut conn), (Some(t0), v1));
    // Never backwards.
    domain::touch(&mut conn, id, t0 - Duration::hours(1)).unwrap();
    assert_eq!(read(&mut conn), (Some(t0), v1));
    // Past the granularity it moves.
    let later = t0 + Duration::seconds(domain::ACTIVITY_GRANULARITY_SECS + 1);
    domain::touch(&mut conn, id, later).unwrap();
    assert_eq!(read(&mut conn).0, Some(later));
    let stored: Option<chrono::DateTime<Utc>> = contacts::table
        .find(id)
        .select(contacts::last_activity_at)
        .first(&mut conn)
        .unwrap();
    assert_eq!(stored, Some(later));
}

/// h11: the Contacts screen's custom attribute filter is a condition of the contact filter
/// (`POST /contacts/filter`'s payload) in the list's own query: with search, sort and paging.
#[actix_rt::test]
async fn a_contact_filter_condition_narrows_the_list_with_search_and_paging() {
    use diesel::prelude::*;
    use switchboard::domain::contact_filter::Filter;
    let app = TestApp::start();
    let acc = app.account_id;
    seed(&app, acc);
    for (name, attrs) in [
        ("Zoë Nakamura", r#"{"plan": "gold", "seats": 12}"#),
        ("Person 01", r#"{"plan": "Gold", "seats": 3}"#),
        ("ghost_user", r#"{"seats": 40}"#),
        ("Person 02", r#"{"seats": "lots"}"#),
    ] {
        diesel::sql_query(format!(
            "UPDATE contacts SET custom_attributes = '{attrs}' WHERE account_id = {acc} AND name = '{name}'"
        ))
        .execute(&mut app.conn())
        .unwrap();
    }
    let run = |q: Option<&str>, payload: serde_json::Value, per: i64| {
        let query = ContactQuery {
            q: q.map(str::to_string),
            sort: SortKey::Name,
            filter: Some(Filter::parse(&json!({ "payload": payload })).unwrap()),
            ..Default::default()
        };
        let mut out = vec![];
        let mut cursor = Cursor::First;
        loop {
            let p = contact_list::page(&mut app.conn(), acc, None, &query, cursor, per).unwrap();
            out.extend(names(&p));
            match (p.has_next, p.rows.last()) {
                (true, Some(r)) => cursor = Cursor::After(r.contact.id),
                _ => return out,
            }
        }
    };
    let gold =
        json!([{"attribute_key": "plan", "filter_operator": "equal_to", "values": ["GOLD"]}]);
    assert_eq!(run(None, gold.clone(), 1), ["Person 01", "Zoë Nakamura"]);
    assert_eq!(run(Some("person"), gold, 50), ["Person 01"]);
    let many =
        json!([{"attribute_key": "seats", "filter_operator": "is_greater_than", "values": [10]}]);
    assert_eq!(
        run(None, many, 50),
        ["ghost_user", "Zoë Nakamura"],
        "numbers as numbers"
    );
    let either = json!([
        {"attribute_key": "plan", "filter_operator": "is_present", "values": [], "query_operator": "OR"},
        {"attribute_key": "seats", "filter_operator": "equal_to", "values": ["lots"]}
    ]);
    assert_eq!(
        run(None, either, 2),
        ["Person 01", "Person 02", "Zoë Nakamura"],
        "OR between conditions"
    );
    let unset = json!([{"attribute_key": "plan", "filter_operator": "is_not_present"}]);
    assert_eq!(run(None, unset, 50).len(), 21);
}

//! Contact CSV import and export (`/api/v1/accounts/{id}/contacts/import`, `…/imports/{id}`,
//! `…/contacts/export`): a 10,000-row file with 20 bad rows of several kinds imports 9,980
//! and reports the 20 with line and reason; re-importing updates instead of duplicating;
//! batches resume without duplicates and two workers never import a row twice; an export
//! (BSUID-only and username-only contacts included, formulas neutralised, phones kept)
//! imports back to the same contacts; bad files answer 422, oversize 413, another account's
//! import 404, an agent 403.

use crate::common::*;
use actix_web::{test, App};
use serde_json::{json, Value};
use switchboard::app;
use switchboard::domain::{accounts, contact_csv};

const BOUNDARY: &str = "----switchboard-csv-test";

fn multipart(field: &str, file_name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// POSTs `bytes` as `import_file`; returns status and JSON.
async fn upload(app: &TestApp, account_id: i64, token: &str, bytes: &[u8]) -> (u16, Value) {
    upload_raw(
        app,
        account_id,
        token,
        multipart("import_file", "contacts.csv", bytes),
        None,
    )
    .await
}

async fn upload_raw(
    app: &TestApp,
    account_id: i64,
    token: &str,
    body: Vec<u8>,
    declared_length: Option<u64>,
) -> (u16, Value) {
    let svc = test::init_service(App::new().configure(app::configure(app.state.clone()))).await;
    let mut req = test::TestRequest::post()
        .uri(&format!("/api/v1/accounts/{account_id}/contacts/import"))
        .insert_header(("api_access_token", token))
        .insert_header((
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        ));
    if let Some(n) = declared_length {
        req = req.insert_header(("content-length", n.to_string()));
    }
    let resp = test::call_service(&svc, req.set_payload(body).to_request()).await;
    let status = resp.status().as_u16();
    let bytes = test::read_body(resp).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// GETs the export; returns status, headers of interest and the body.
async fn export(app: &TestApp, account_id: i64, token: &str, query: &str) -> (u16, String, String) {
    get_text(
        app,
        &format!("/api/v1/accounts/{account_id}/contacts/export{query}"),
        token,
    )
    .await
}

/// GETs `path` as text; returns status, `content-type | content-disposition` and the body.
async fn get_text(app: &TestApp, path: &str, token: &str) -> (u16, String, String) {
    let svc = test::init_service(App::new().configure(app::configure(app.state.clone()))).await;
    let req = test::TestRequest::get()
        .uri(path)
        .insert_header(("api_access_token", token))
        .to_request();
    let resp = test::call_service(&svc, req).await;
    let status = resp.status().as_u16();
    let headers = format!(
        "{} | {}",
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
        resp.headers()
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    );
    let bytes = test::read_body(resp).await;
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

/// Runs every due import job, as the worker does.
async fn run_imports(app: &TestApp) {
    for _ in 0..50 {
        if !switchboard::jobs::contact_import::run_next(&app.state)
            .await
            .expect("import job")
        {
            return;
        }
    }
    panic!("import jobs kept coming back");
}

async fn import_status(app: &TestApp, account_id: i64, token: &str, id: i64) -> Value {
    let (status, body) = app
        .api(
            "GET",
            &format!("/api/v1/accounts/{account_id}/contacts/imports/{id}"),
            None,
            token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn parse_csv(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

#[actix_rt::test]
async fn ten_thousand_rows_with_twenty_bad_ones() {
    let app = TestApp::start();
    let acc = app.account_id;
    let mut csv_text = String::from("name,email,phone_number,identifier,company,city,tier\r\n");
    // (line, field) of every bad row, in order.
    let mut expected_bad: Vec<(i64, Option<&str>)> = Vec::new();
    let mut line = 2i64;
    for i in 0..10_000 {
        let row = match i {
            // Invalid emails.
            _ if [7, 507, 1007, 1507, 2007].contains(&i) => {
                expected_bad.push((line, Some("email")));
                format!("Bad Email {i},not-an-email,,id-{i},,,\r\n")
            }
            // Phones that are not E.164.
            _ if [3099, 3599, 4099, 4599, 5099].contains(&i) => {
                expected_bad.push((line, Some("phone_number")));
                format!("Bad Phone {i},,+12 34,id-{i},,,\r\n")
            }
            // Too few values.
            _ if [6250, 6750, 7250, 7750].contains(&i) => {
                expected_bad.push((line, None));
                format!("Short Row {i},short{i}@example.com\r\n")
            }
            // Nothing that names or identifies a contact.
            _ if [8333, 8833, 9333].contains(&i) => {
                expected_bad.push((line, None));
                ",,,,Acme,Lisbon,gold\r\n".to_string()
            }
            // A name over 255 characters.
            _ if [9444, 9544, 9644].contains(&i) => {
                expected_bad.push((line, Some("name")));
                format!("{},long{i}@example.com,,,,,\r\n", "N".repeat(300))
            }
            // A quoted value over two lines: later line numbers must count it.
            100 => format!(
                "\"Multi, Line\",multi@example.com,+14155550100,id-{i},\"Acme\",\"Porto\nNorte\",gold\r\n"
            ),
            _ => format!(
                "Person {i},person{i}@example.com,+1415{:07},id-{i},Acme {},City {},tier{}\r\n",
                i,
                i % 7,
                i % 13,
                i % 3
            ),
        };
        line += row.matches('\n').count() as i64;
        csv_text.push_str(&row);
    }
    assert_eq!(expected_bad.len(), 20);

    let (status, created) = upload(&app, acc, &app.token, csv_text.as_bytes()).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["status"], "pending");
    assert_eq!(created["rows_total"], 10_000);
    let id = created["id"].as_i64().unwrap();
    run_imports(&app).await;

    let done = import_status(&app, acc, &app.token, id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["rows_done"], 10_000);
    assert_eq!(done["imported"], 9_980);
    assert_eq!(done["created"], 9_980);
    assert_eq!(done["failed"], 20);
    assert_eq!(app.count("contacts"), 9_980);
    let reported: Vec<(i64, Option<String>)> = done["failed_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert!(!r["reason"].as_str().unwrap().is_empty());
            (
                r["line"].as_i64().unwrap(),
                r["field"].as_str().map(str::to_string),
            )
        })
        .collect();
    let expected: Vec<(i64, Option<String>)> = expected_bad
        .iter()
        .map(|(l, f)| (*l, f.map(str::to_string)))
        .collect();
    assert_eq!(reported, expected);
    let reasons: Vec<&str> = done["failed_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert!(reasons[0].contains("not a valid email"), "{reasons:?}");
    assert!(reasons[5].contains("E.164"), "{reasons:?}");
    assert!(
        reasons[10].contains("has 2 values but the header has 7"),
        "{reasons:?}"
    );
    assert!(reasons[14].contains("no name, email"), "{reasons:?}");
    assert!(reasons[17].contains("longer than 255"), "{reasons:?}");

    let c =
        app.query_json("SELECT to_jsonb(c) FROM contacts c WHERE email = 'person42@example.com'");
    assert_eq!(c["name"], "Person 42");
    assert_eq!(c["phone_number"], "+14150000042");
    assert_eq!(c["identifier"], "id-42");
    assert_eq!(
        c["additional_attributes"],
        json!({"company_name": "Acme 0", "city": "City 3"})
    );
    assert_eq!(c["custom_attributes"], json!({"tier": "tier0"}));
    let multi = app.query_json("SELECT to_jsonb(c) FROM contacts c WHERE identifier = 'id-100'");
    assert_eq!(multi["additional_attributes"]["city"], "Porto\nNorte");
    // The file is dropped once the import is done.
    assert_eq!(app.count("contact_imports WHERE data IS NOT NULL"), 0);
}

#[actix_rt::test]
async fn matching_rows_update_instead_of_duplicating() {
    let app = TestApp::start();
    let acc = app.account_id;
    let (status, first) = upload(
        &app,
        acc,
        &app.token,
        b"name,email,phone_number,identifier\nAna,ana@example.com,+14155550001,crm-1\nBen,ben@example.com,+14155550002,\n",
    )
    .await;
    assert_eq!(status, 200, "{first}");
    run_imports(&app).await;
    assert_eq!(app.count("contacts"), 2);

    // Chatwoot's order: identifier, email, phone; a file naming one person twice; a row
    // whose email and phone belong to two different contacts is refused.
    let (status, second) = upload(
        &app,
        acc,
        &app.token,
        "Name,Email,Phone_Number,Identifier,plan\n\
         Ana Souza,,,crm-1,pro\n\
         ,BEN@example.com,,,basic\n\
         Clara,clara@example.com,14155550003,,\n\
         Clara Lima,clara@example.com,,,\n\
         Mixed,ana@example.com,+14155550002,,\n"
            .as_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{second}");
    run_imports(&app).await;
    let done = import_status(&app, acc, &app.token, second["id"].as_i64().unwrap()).await;
    assert_eq!(done["created"], 1, "{done}");
    assert_eq!(done["updated"], 2, "{done}");
    assert_eq!(done["failed"], 1, "{done}");
    let bad = &done["failed_rows"][0];
    assert_eq!(bad["line"], 6);
    assert!(
        bad["reason"]
            .as_str()
            .unwrap()
            .contains("email matches contact"),
        "{bad}"
    );
    assert_eq!(app.count("contacts"), 3);
    let ana = app.query_json("SELECT to_jsonb(c) FROM contacts c WHERE identifier = 'crm-1'");
    assert_eq!(ana["name"], "Ana Souza");
    assert_eq!(
        ana["email"], "ana@example.com",
        "an empty cell changes nothing"
    );
    assert_eq!(ana["custom_attributes"], json!({"plan": "pro"}));
    let clara =
        app.query_json("SELECT to_jsonb(c) FROM contacts c WHERE email = 'clara@example.com'");
    assert_eq!(clara["name"], "Clara Lima");
    assert_eq!(
        clara["phone_number"], "+14155550003",
        "the missing + is added"
    );
}

#[actix_rt::test]
async fn batches_resume_and_two_workers_never_import_a_row_twice() {
    let app = TestApp::start();
    let acc = app.account_id;
    let mut text = String::from("name,email\n");
    for i in 0..2_000 {
        text.push_str(&format!("P{i},p{i}@example.com\n"));
    }
    let (status, created) = upload(&app, acc, &app.token, text.as_bytes()).await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_i64().unwrap();
    // One batch, then "a crash": the next runs resume at the saved offset.
    let first = contact_csv::run_batch(&mut app.conn(), id, 300).unwrap();
    assert_eq!(
        (first.rows, first.created, first.finished),
        (300, 300, false)
    );
    let progress = import_status(&app, acc, &app.token, id).await;
    assert_eq!(progress["status"], "processing");
    assert_eq!(progress["rows_done"], 300);
    // Two workers (two processes) racing on the rest.
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let pool = app.state.pool.clone();
            std::thread::spawn(move || {
                let mut conn = pool.get().unwrap();
                let mut rows = 0;
                loop {
                    let o = contact_csv::run_batch(&mut conn, id, 97).unwrap();
                    rows += o.rows;
                    if o.finished {
                        return rows;
                    }
                }
            })
        })
        .collect();
    let rows: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(rows, 1_700);
    assert_eq!(app.count("contacts"), 2_000);
    assert_eq!(
        app.count("(SELECT email FROM contacts GROUP BY email HAVING count(*) > 1) d"),
        0
    );
    let done = import_status(&app, acc, &app.token, id).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["created"], 2_000);
    // The queued job finds the import finished and completes.
    run_imports(&app).await;
    assert_eq!(
        app.count("jobs WHERE kind = 'contact_import' AND status = 'done'"),
        1
    );
}

#[actix_rt::test]
async fn export_round_trips_and_includes_bsuid_only_contacts() {
    let app = TestApp::start();
    let acc = app.account_id;
    let (status, imported) = upload(
        &app,
        acc,
        &app.token,
        "name,email,phone_number,identifier,company_name,city,country,tier,note,labels\n\
         Ana Souza,ana@example.com,+351912345678,crm-1,Acme,Lisboa,Portugal,gold,\"says \"\"hi\"\"\",\"VIP, billing\"\n\
         \"=HYPERLINK(\"\"http://x\"\")\",evil@example.com,,,,,,,@SUM(1),\n\
         Zoë,,+14155550009,,,,,,-minus,lead\n"
            .as_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{imported}");
    run_imports(&app).await;
    assert_eq!(app.count("contacts"), 3);
    // A BSUID-only and a username-only contact, as ingest creates them.
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "INSERT INTO contacts (account_id, name, bsuid, username) VALUES \
             ({acc}, 'US.1234567890', 'US.1234567890', NULL), ({acc}, 'zoe.w', 'US.999', 'zoe.w'), \
             ({acc}, 'quiet.owl', NULL, 'quiet.owl')"
        )),
        &mut app.conn(),
    )
    .unwrap();

    let (status, headers, body) = export(&app, acc, &app.token, "").await;
    assert_eq!(status, 200, "{body}");
    assert!(headers.starts_with("text/csv"), "{headers}");
    assert!(
        headers.contains("attachment; filename=\"contacts-"),
        "{headers}"
    );
    let rows = parse_csv(&body);
    assert_eq!(rows.len(), 6, "{body}");
    assert!(body.starts_with(
        "id,name,email,phone_number,identifier,bsuid,username,company_name,city,country,labels,created_at,last_activity_at,note,tier\r\n"
    ), "{body}");
    let by_name = |n: &str| rows.iter().find(|r| r["name"] == n).cloned();
    assert!(
        by_name("US.1234567890").is_some(),
        "BSUID-only contact exported: {body}"
    );
    assert_eq!(by_name("zoe.w").unwrap()["username"], "zoe.w");
    let owl = by_name("quiet.owl").expect("username-only contact exported");
    assert_eq!(
        (
            owl["username"].as_str(),
            owl["bsuid"].as_str(),
            owl["phone_number"].as_str()
        ),
        ("quiet.owl", "", "")
    );
    // The export's search finds them by BSUID and by username (chatwoot#15586).
    for (q, name) in [
        ("US.1234567890", "US.1234567890"),
        ("quiet.owl", "quiet.owl"),
    ] {
        let (_, _, found) = export(&app, acc, &app.token, &format!("?q={q}")).await;
        let names: Vec<String> = parse_csv(&found)
            .into_iter()
            .map(|r| r["name"].clone())
            .collect();
        assert_eq!(names, vec![name.to_string()], "export ?q={q}");
    }
    let ana = by_name("Ana Souza").unwrap();
    assert_eq!(
        ana["phone_number"], "+351912345678",
        "phones are not escaped"
    );
    assert_eq!(ana["note"], "says \"hi\"");
    assert_eq!(ana["country"], "Portugal");
    assert_eq!(
        ana["labels"], "billing,vip",
        "labels normalised: lowercase, sorted"
    );
    assert!(
        by_name("'=HYPERLINK(\"http://x\")").is_some(),
        "formulas get a leading quote: {body}"
    );
    assert_eq!(by_name("Zoë").unwrap()["note"], "'-minus");

    // Filters: q (folded, like the contacts list) and ids[].
    let (_, _, found) = export(&app, acc, &app.token, "?q=zoe").await;
    let names: Vec<String> = parse_csv(&found)
        .into_iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(names, vec!["Zoë".to_string(), "zoe.w".to_string()]);
    let ana_id = ana["id"].clone();
    let (_, _, one) = export(&app, acc, &app.token, &format!("?ids[]={ana_id}")).await;
    assert_eq!(parse_csv(&one).len(), 1);
    let (_, _, vip) = export(&app, acc, &app.token, "?labels[]=VIP&labels[]=nope").await;
    let names: Vec<String> = parse_csv(&vip)
        .into_iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(names, vec!["Ana Souza".to_string()]);
    let (status, _, _) = export(&app, acc, &app.token, "?ids[]=abc").await;
    assert_eq!(status, 422);

    // Into another account: the same contacts.
    let other = accounts::create_admin(
        &mut app.conn(),
        "Other",
        "Olga",
        "olga@example.com",
        "pw-olga-123",
    )
    .unwrap();
    let (status, again) = upload(
        &app,
        other.account_id,
        &other.api_access_token,
        body.as_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{again}");
    run_imports(&app).await;
    let done = import_status(
        &app,
        other.account_id,
        &other.api_access_token,
        again["id"].as_i64().unwrap(),
    )
    .await;
    assert_eq!(done["created"], 6, "{done}");
    assert_eq!(done["failed"], 0, "{done}");
    let snapshot = |account: i64| {
        app.query_json(&format!(
            "SELECT jsonb_agg(jsonb_build_array(name, email, phone_number, identifier, bsuid, username, \
             additional_attributes, custom_attributes, labels) ORDER BY name) FROM contacts WHERE account_id = {account}"
        ))
    };
    assert_eq!(snapshot(acc), snapshot(other.account_id));

    // Into the same account: nothing changes, nothing is duplicated.
    let (_, same) = upload(&app, acc, &app.token, body.as_bytes()).await;
    run_imports(&app).await;
    let done = import_status(&app, acc, &app.token, same["id"].as_i64().unwrap()).await;
    assert_eq!(
        (done["created"].as_i64(), done["updated"].as_i64()),
        (Some(0), Some(0)),
        "{done}"
    );
    assert_eq!(app.count(&format!("contacts WHERE account_id = {acc}")), 6);
}

#[actix_rt::test]
async fn bad_files_other_accounts_and_agents_are_refused() {
    let app = TestApp::start();
    let acc = app.account_id;
    for (bytes, needle) in [
        (&b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..], "not a CSV text file"),
        (b"name,email\nAna,\xe9t\xe9\n", "not UTF-8"),
        (b"hello world, this is not a contact list\n", "first line"),
        (b"", "empty"),
        (b"name,email\n", "no rows"),
    ] {
        let (status, body) = upload(&app, acc, &app.token, bytes).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["field"], "import_file", "{body}");
        assert!(
            body["error"].as_str().unwrap().contains(needle),
            "{needle}: {body}"
        );
    }
    // No file field.
    let (status, body) = upload_raw(
        &app,
        acc,
        &app.token,
        multipart("other", "x.csv", b"name\nA\n"),
        None,
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("import_file")),
        "{body}"
    );
    // JSON instead of a file.
    let (status, body) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{acc}/contacts/import"),
            Some(json!({})),
            &app.token,
        )
        .await;
    assert_eq!(status, 422, "{body}");
    // Streamed over 20 MiB.
    let mut big = b"name\n".to_vec();
    big.resize(contact_csv::MAX_FILE_BYTES + 10, b'a');
    let (status, _) = upload(&app, acc, &app.token, &big).await;
    assert_eq!(status, 413);

    let (status, created) = upload(&app, acc, &app.token, b"name\nAna\n").await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_i64().unwrap();
    let other = accounts::create_admin(
        &mut app.conn(),
        "Other",
        "Olga",
        "olga@example.com",
        "pw-olga-123",
    )
    .unwrap();
    let (status, body) = app
        .api(
            "GET",
            &format!(
                "/api/v1/accounts/{}/contacts/imports/{id}",
                other.account_id
            ),
            None,
            &other.api_access_token,
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = app
        .api(
            "GET",
            &format!("/api/v1/accounts/{acc}/contacts/imports/{id}"),
            None,
            &other.api_access_token,
        )
        .await;
    assert_eq!(status, 404, "another account's member sees no such account");

    let (_, agent_token) = app.create_agent("ben@example.com");
    let (status, _) = upload(&app, acc, &agent_token, b"name\nAna\n").await;
    assert_eq!(status, 403);
    let (status, _, _) = export(&app, acc, &agent_token, "").await;
    assert_eq!(status, 403);
}

#[actix_rt::test]
async fn the_example_file_on_the_import_page_imports() {
    let app = TestApp::start();
    let acc = app.account_id;
    let example = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static/contacts-example.csv"),
    )
    .unwrap();
    let (status, created) = upload(&app, acc, &app.token, &example).await;
    assert_eq!(status, 200, "{created}");
    run_imports(&app).await;
    let done = import_status(&app, acc, &app.token, created["id"].as_i64().unwrap()).await;
    assert_eq!(
        (done["created"].as_i64(), done["failed"].as_i64()),
        (Some(2), Some(0)),
        "{done}"
    );
    let ana = app.query_json("SELECT to_jsonb(c) FROM contacts c WHERE identifier = 'crm-1001'");
    assert_eq!(ana["labels"], json!(["billing", "vip"]));
    assert_eq!(ana["custom_attributes"], json!({"plan": "gold"}));
}

/// As a live Chatwoot: imported new contacts send no `contact_created`; an existing contact
/// the import changes sends `contact_updated`, one that it leaves as it was sends nothing.
#[actix_rt::test]
async fn webhooks_hear_updates_but_not_bulk_creations() {
    let app = TestApp::start();
    let acc = app.account_id;
    let (status, hook) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{acc}/webhooks"),
            Some(
                json!({"webhook": {"url": "https://93.184.216.34/hook", "name": "CRM",
                "subscriptions": ["contact_created", "contact_updated"]}}),
            ),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{hook}");
    let deliveries = || app.count("jobs WHERE kind = 'webhook_delivery'");
    let (_, first) = upload(
        &app,
        acc,
        &app.token,
        b"name,email\nAna,ana@example.com\nBen,ben@example.com\n",
    )
    .await;
    run_imports(&app).await;
    let done = import_status(&app, acc, &app.token, first["id"].as_i64().unwrap()).await;
    assert_eq!(done["created"], 2);
    assert_eq!(deliveries(), 0, "no contact_created for imported contacts");
    let (_, second) = upload(
        &app,
        acc,
        &app.token,
        b"name,email\nAna Souza,ana@example.com\nBen,ben@example.com\n",
    )
    .await;
    run_imports(&app).await;
    let done = import_status(&app, acc, &app.token, second["id"].as_i64().unwrap()).await;
    assert_eq!(
        (done["updated"].as_i64(), done["created"].as_i64()),
        (Some(1), Some(0)),
        "{done}"
    );
    assert_eq!(deliveries(), 1, "one contact_updated, for Ana only");
    let body = app.query_json("SELECT payload FROM jobs WHERE kind = 'webhook_delivery'");
    assert_eq!(body["event"], "contact_updated", "{body}");
}

#[actix_rt::test]
async fn failed_rows_download_with_line_reason_and_columns_and_import_again() {
    let app = TestApp::start();
    let acc = app.account_id;
    // A number attribute: the importer checks it with the API's validator.
    let (status, d) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{acc}/custom_attribute_definitions"),
            Some(
                json!({"attribute_display_name": "Seats", "attribute_display_type": 1,
                        "attribute_key": "seats", "attribute_model": 1}),
            ),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{d}");
    let (status, up) = upload(
        &app,
        acc,
        &app.token,
        b"name,phone_number,seats,note\n\
          Ana,+14155550001,12,ok\n\
          Ben,not a phone,3,\"=HYPERLINK(\"\"x\"\")\"\n\
          Cleo,+14155550003,many,\"two\nlines\"\n\
          Dan,+14155550004,4.5,\n",
    )
    .await;
    assert_eq!(status, 200, "{up}");
    run_imports(&app).await;
    let id = up["id"].as_i64().unwrap();
    let done = import_status(&app, acc, &app.token, id).await;
    assert_eq!(done["created"], 2, "{done}");
    assert_eq!(done["failed"], 2, "{done}");
    assert_eq!(done["failed_rows"][1]["field"], "custom_attributes.seats");
    let dan = app.query_json("SELECT custom_attributes FROM contacts WHERE name = 'Dan'");
    assert_eq!(dan, json!({"seats": 4.5}), "stored as a number, by type");
    // An open Contacts list hears the batch (one realtime event, no webhook).
    let imported =
        app.query_json("SELECT payload FROM realtime_events WHERE name = 'contacts.imported'");
    assert_eq!(imported, json!({"import_id": id, "created": 2}));

    let path = format!("/api/v1/accounts/{acc}/contacts/imports/{id}/failed_rows");
    let (status, headers, text) = get_text(&app, &path, &app.token).await;
    assert_eq!(status, 200, "{text}");
    assert!(headers.starts_with("text/csv"), "{headers}");
    assert!(headers.contains("attachment"), "{headers}");
    let rows = parse_csv(&text);
    assert_eq!(rows.len(), 2, "{text}");
    assert_eq!(rows[0]["import_line"], "3");
    assert!(rows[0]["import_error"].contains("phone"), "{text}");
    assert_eq!(rows[0]["name"], "Ben");
    assert_eq!(rows[0]["phone_number"], "not a phone");
    assert_eq!(
        rows[0]["note"], "'=HYPERLINK(\"x\")",
        "a formula is neutralised"
    );
    assert_eq!(rows[1]["import_line"], "4");
    assert!(rows[1]["import_error"].contains("Seats"), "{text}");
    assert_eq!(rows[1]["note"], "two\nlines");

    // Fixed, the same file imports: the two added columns are ignored.
    let fixed = text
        .replace("not a phone", "+14155550002")
        .replace(",many,", ",7,");
    let (status, again) = upload(&app, acc, &app.token, fixed.as_bytes()).await;
    assert_eq!(status, 200, "{again}");
    run_imports(&app).await;
    let done = import_status(&app, acc, &app.token, again["id"].as_i64().unwrap()).await;
    assert_eq!(done["failed"], 0, "{done}");
    assert_eq!(done["created"], 2, "{done}");
    let ben = app.query_json("SELECT custom_attributes FROM contacts WHERE name = 'Ben'");
    assert_eq!(ben, json!({"seats": 3, "note": "=HYPERLINK(\"x\")"}));

    // Another account's import: 404; an agent: 403.
    let other = accounts::create_admin(
        &mut app.conn(),
        "Other",
        "Olga",
        "olga@example.com",
        "pw-olga-123",
    )
    .unwrap();
    let (status, _, _) = get_text(
        &app,
        &format!(
            "/api/v1/accounts/{}/contacts/imports/{id}/failed_rows",
            other.account_id
        ),
        &other.api_access_token,
    )
    .await;
    assert_eq!(status, 404);
    let (_, agent_token) = app.create_agent("ben@example.com");
    let (status, _, _) = get_text(&app, &path, &agent_token).await;
    assert_eq!(status, 403);
    let (status, _, body) = get_text(
        &app,
        &format!("/api/v1/accounts/{acc}/contacts/imports/abc/failed_rows"),
        &app.token,
    )
    .await;
    assert!((400..500).contains(&status), "{status} {body}");
}

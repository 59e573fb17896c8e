//! Canned responses over `/api/v1/accounts/{id}/canned_responses` (Chatwoot's shape):
//! CRUD, field names, search order, attachments, 404 across accounts, 422 per field, who may
//! change what, and variables stored verbatim.

use crate::common::*;
use actix_web::{test, App};
use serde_json::{json, Value};
use switchboard::domain::accounts;

fn field(v: &Value) -> &str {
    v["field"].as_str().unwrap_or("")
}

/// A multipart body with text fields and files `(name, mime, bytes)` in `attachments[]`.
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "canned-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    for (file_name, mime, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"attachments[]\"; filename=\"{file_name}\"\r\nContent-Type: {mime}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Sends a multipart request; returns status and JSON.
async fn send_multipart(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    (content_type, body): (String, Vec<u8>),
) -> (u16, Value) {
    let svc =
        test::init_service(App::new().configure(switchboard::app::configure(app.state.clone())))
            .await;
    let req = match method {
        "POST" => test::TestRequest::post(),
        "PATCH" => test::TestRequest::patch(),
        other => panic!("method {other}"),
    }
    .uri(path)
    .insert_header(("api_access_token", token.to_string()))
    .insert_header(("content-type", content_type))
    .set_payload(body)
    .to_request();
    let resp = test::call_service(&svc, req).await;
    let status = resp.status().as_u16();
    let bytes = test::read_body(resp).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// GETs raw bytes with a token; returns status, content type and body.
async fn get_bytes(app: &TestApp, path: &str, token: &str) -> (u16, String, Vec<u8>) {
    let svc =
        test::init_service(App::new().configure(switchboard::app::configure(app.state.clone())))
            .await;
    let req = test::TestRequest::get()
        .uri(path)
        .insert_header(("api_access_token", token.to_string()))
        .to_request();
    let resp = test::call_service(&svc, req).await;
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_string())
        .unwrap_or_default();
    (status, ct, test::read_body(resp).await.to_vec())
}

#[actix_rt::test]
async fn crud_in_chatwoots_shape_with_variables_kept_verbatim() {
    let app = TestApp::start();
    let acc = app.account_id;
    let base = format!("/api/v1/accounts/{acc}/canned_responses");

    let (status, list) = app.api("GET", &base, None, &app.token).await;
    assert_eq!(status, 200);
    assert_eq!(list, json!([]), "a bare array, as Chatwoot answers");

    let content = "Hello {{contact.name}}, I'm {{agent.name}} (#{{conversation.display_id}}) {{unknown.thing}}";
    let (status, created) = app
        .api(
            "POST",
            &base,
            Some(json!({"short_code": "greet", "content": content})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let mut keys: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "account_id",
            "attachments",
            "content",
            "created_at",
            "id",
            "short_code",
            "updated_at"
        ]
    );
    assert_eq!(created["account_id"], acc);
    assert_eq!(created["short_code"], "greet");
    assert_eq!(created["content"], content, "variables are stored verbatim");
    assert_eq!(created["attachments"], json!([]));
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));
    let id = created["id"].as_i64().unwrap();

    // Rails' wrapped form works too, and a leading slash is not part of the code.
    let (status, wrapped) = app
        .api(
            "POST",
            &base,
            Some(json!({"canned_response": {"short_code": "/bye", "content": "Bye!"}})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{wrapped}");
    assert_eq!(wrapped["short_code"], "bye");

    let (status, updated) = app
        .api(
            "PATCH",
            &format!("{base}/{id}"),
            Some(json!({"content": "Hi {{contact.first_name}}"})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["short_code"], "greet");
    assert_eq!(updated["content"], "Hi {{contact.first_name}}");

    let list = app.get(&base).await;
    let codes: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["short_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["bye", "greet"]);

    let (status, _) = app
        .api("DELETE", &format!("{base}/{id}"), None, &app.token)
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .api("DELETE", &format!("{base}/{id}"), None, &app.token)
        .await;
    assert_eq!(status, 404);
    assert_eq!(app.get(&base).await.as_array().unwrap().len(), 1);
    assert_eq!(app.count("canned_responses"), 1);
}

#[actix_rt::test]
async fn search_matches_code_and_content_with_prefix_matches_first() {
    let app = TestApp::start();
    let base = format!("/api/v1/accounts/{}/canned_responses", app.account_id);
    for (code, content) in [
        ("thanks", "Thank you, a greeting from us"),
        ("agreed", "We agree"),
        ("greeting", "Hello there"),
        ("zzz", "Nothing here"),
        ("100pct", "Literally 100% sure"),
    ] {
        let (status, body) = app
            .api(
                "POST",
                &base,
                Some(json!({"short_code": code, "content": content})),
                &app.token,
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let codes = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| c["short_code"].as_str().unwrap().to_string())
            .collect()
    };
    // Prefix of a short code, then inside a short code, then in the content.
    assert_eq!(
        codes(app.get(&format!("{base}?search=GRE")).await),
        ["greeting", "agreed", "thanks"]
    );
    assert_eq!(
        codes(app.get(&format!("{base}?search=gree")).await),
        ["greeting", "agreed", "thanks"]
    );
    // LIKE wildcards are literal.
    assert_eq!(
        codes(app.get(&format!("{base}?search=%25")).await),
        ["100pct"]
    );
    assert_eq!(
        codes(app.get(&format!("{base}?search=_")).await),
        Vec::<String>::new()
    );
    // A blank search lists everything.
    assert_eq!(codes(app.get(&format!("{base}?search=")).await).len(), 5);
}

#[actix_rt::test]
async fn bad_input_is_a_422_naming_the_field() {
    let app = TestApp::start();
    let base = format!("/api/v1/accounts/{}/canned_responses", app.account_id);
    let (status, _) = app
        .api(
            "POST",
            &base,
            Some(json!({"short_code": "greet", "content": "Hi"})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200);
    let long_code = "x".repeat(65);
    let long_content = "y".repeat(4097);
    for (body, want) in [
        (
            json!({"short_code": "GREET", "content": "Hi"}),
            "short_code",
        ),
        (json!({"short_code": "", "content": "Hi"}), "short_code"),
        (json!({"content": "Hi"}), "short_code"),
        (
            json!({"short_code": "two words", "content": "Hi"}),
            "short_code",
        ),
        (
            json!({"short_code": long_code, "content": "Hi"}),
            "short_code",
        ),
        (json!({"short_code": 5, "content": "Hi"}), "short_code"),
        (json!({"short_code": "ok", "content": "  "}), "content"),
        (json!({"short_code": "ok"}), "content"),
        (
            json!({"short_code": "ok", "content": long_content}),
            "content",
        ),
    ] {
        let (status, err) = app.api("POST", &base, Some(body.clone()), &app.token).await;
        assert_eq!(status, 422, "{body}: {err}");
        assert_eq!(field(&err), want, "{body}: {err}");
    }
    // PATCH validates the same way, and may not take another's code.
    let (_, other) = app
        .api(
            "POST",
            &base,
            Some(json!({"short_code": "other", "content": "Other"})),
            &app.token,
        )
        .await;
    let (status, err) = app
        .api(
            "PATCH",
            &format!("{base}/{}", other["id"]),
            Some(json!({"short_code": "Greet"})),
            &app.token,
        )
        .await;
    assert_eq!((status, field(&err)), (422, "short_code"), "{err}");
    // Its own code in another case is fine.
    let (status, ok) = app
        .api(
            "PATCH",
            &format!("{base}/{}", other["id"]),
            Some(json!({"short_code": "OTHER"})),
            &app.token,
        )
        .await;
    assert_eq!((status, ok["short_code"].as_str()), (200, Some("OTHER")));
    // NUL bytes are refused before anything is stored; a bad id is a 404, never a 500.
    let (status, _) = app
        .api(
            "POST",
            &base,
            Some(json!({"short_code": "nul", "content": "a\u{0}b"})),
            &app.token,
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = app
        .api("PATCH", &format!("{base}/abc"), Some(json!({})), &app.token)
        .await;
    assert_eq!(status, 404);
    let (status, _) = app.api("GET", &base, None, "").await;
    assert_eq!(status, 401);
    assert_eq!(app.count("canned_responses"), 2);
}

#[actix_rt::test]
async fn agents_list_and_create_but_change_only_their_own() {
    let app = TestApp::start();
    let base = format!("/api/v1/accounts/{}/canned_responses", app.account_id);
    let (_, agent) = app.create_agent("ben@example.com");
    let (_, admins) = app
        .api(
            "POST",
            &base,
            Some(json!({"short_code": "policy", "content": "Our policy"})),
            &app.token,
        )
        .await;
    let (status, list) = app.api("GET", &base, None, &agent).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (status, mine) = app
        .api(
            "POST",
            &base,
            Some(json!({"short_code": "mine", "content": "Mine"})),
            &agent,
        )
        .await;
    assert_eq!(status, 200, "{mine}");
    let admins_path = format!("{base}/{}", admins["id"]);
    let mine_path = format!("{base}/{}", mine["id"]);
    assert_eq!(
        app.api("PATCH", &admins_path, Some(json!({"content": "x"})), &agent)
            .await
            .0,
        403
    );
    assert_eq!(app.api("DELETE", &admins_path, None, &agent).await.0, 403);
    assert_eq!(
        app.api(
            "PATCH",
            &mine_path,
            Some(json!({"content": "Mine!"})),
            &agent
        )
        .await
        .0,
        200
    );
    // Administrators change anyone's.
    assert_eq!(
        app.api(
            "PATCH",
            &mine_path,
            Some(json!({"content": "Ours"})),
            &app.token
        )
        .await
        .0,
        200
    );
    assert_eq!(app.api("DELETE", &mine_path, None, &agent).await.0, 200);
    assert_eq!(app.get(&base).await.as_array().unwrap().len(), 1);
}

#[actix_rt::test]
async fn another_accounts_ids_look_absent() {
    let app = TestApp::start();
    let base = format!("/api/v1/accounts/{}/canned_responses", app.account_id);
    let other = accounts::create_admin(
        &mut app.conn(),
        "Else",
        "Eve",
        "eve@example.com",
        "password1",
    )
    .unwrap();
    let theirs_base = format!("/api/v1/accounts/{}/canned_responses", other.account_id);
    let (status, theirs) = send_multipart(
        &app,
        &other.api_access_token,
        "POST",
        &theirs_base,
        multipart(
            &[("short_code", "greet"), ("content", "Theirs")],
            &[("a.txt", "text/plain", b"secret")],
        ),
    )
    .await;
    assert_eq!(status, 200, "{theirs}");
    // The same code is free in our account.
    let (status, _) = app
        .api(
            "POST",
            &base,
            Some(json!({"short_code": "greet", "content": "Ours"})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200);
    let their_id = theirs["id"].as_i64().unwrap();
    let their_att = theirs["attachments"][0]["id"].as_i64().unwrap();
    for (method, body) in [
        ("PATCH", Some(json!({"content": "mine now"}))),
        ("DELETE", None),
    ] {
        let (status, _) = app
            .api(method, &format!("{base}/{their_id}"), body, &app.token)
            .await;
        assert_eq!(status, 404, "{method}");
    }
    let (status, _, _) = get_bytes(
        &app,
        &format!("{base}/{their_id}/attachments/{their_att}"),
        &app.token,
    )
    .await;
    assert_eq!(status, 404);
    // Their account as our token: not a member.
    assert_eq!(app.api("GET", &theirs_base, None, &app.token).await.0, 404);
    let mine = app.get(&base).await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["content"], "Ours");
}

#[actix_rt::test]
async fn attachments_are_stored_served_and_removed() {
    let app = TestApp::start();
    let base = format!("/api/v1/accounts/{}/canned_responses", app.account_id);
    let png: &[u8] = b"\x89PNG\r\n\x1a\nnot-really-a-png";
    let (status, created) = send_multipart(
        &app,
        &app.token,
        "POST",
        &base,
        multipart(
            &[
                ("canned_response[short_code]", "menu"),
                (
                    "canned_response[content]",
                    "Here is our menu, {{contact.name}}",
                ),
            ],
            &[
                ("menu.png", "image/png", png),
                ("prices.pdf", "application/pdf", b"%PDF-1.4"),
            ],
        ),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["short_code"], "menu");
    let atts = created["attachments"].as_array().unwrap();
    assert_eq!(atts.len(), 2);
    assert_eq!(atts[0]["file_name"], "menu.png");
    assert_eq!(atts[0]["file_type"], "image");
    assert_eq!(atts[0]["content_type"], "image/png");
    assert_eq!(atts[0]["file_size"], png.len());
    assert_eq!(atts[1]["file_type"], "file");
    let url = atts[0]["data_url"].as_str().unwrap().to_string();
    let (status, ct, bytes) = get_bytes(&app, &url, &app.token).await;
    assert_eq!((status, ct.as_str()), (200, "image/png"));
    assert_eq!(bytes, png);
    // Agents may fetch them (they insert them).
    let (_, agent) = app.create_agent("ben@example.com");
    assert_eq!(get_bytes(&app, &url, &agent).await.0, 200);

    // PATCH adds files (multipart) and removes others (JSON ids).
    let id = created["id"].as_i64().unwrap();
    let (status, more) = send_multipart(
        &app,
        &app.token,
        "PATCH",
        &format!("{base}/{id}"),
        multipart(&[], &[("hours.txt", "text/plain", b"9-5")]),
    )
    .await;
    assert_eq!(status, 200, "{more}");
    assert_eq!(more["attachments"].as_array().unwrap().len(), 3);
    assert_eq!(more["content"], "Here is our menu, {{contact.name}}");
    let first = atts[0]["id"].as_i64().unwrap();
    let (status, fewer) = app
        .api(
            "PATCH",
            &format!("{base}/{id}"),
            Some(json!({"remove_attachment_ids": [first]})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{fewer}");
    assert_eq!(fewer["attachments"].as_array().unwrap().len(), 2);
    assert_eq!(get_bytes(&app, &url, &app.token).await.0, 404);

    // An empty file is a 422 naming attachments, and nothing is stored.
    let (status, err) = send_multipart(
        &app,
        &app.token,
        "POST",
        &base,
        multipart(
            &[("short_code", "empty"), ("content", "x")],
            &[("e.txt", "text/plain", b"")],
        ),
    )
    .await;
    assert_eq!((status, field(&err)), (422, "attachments"), "{err}");
    // A bad field after files were streamed removes them again.
    let (status, err) = send_multipart(
        &app,
        &app.token,
        "POST",
        &base,
        multipart(
            &[("short_code", "bad code"), ("content", "x")],
            &[("f.txt", "text/plain", b"data")],
        ),
    )
    .await;
    assert_eq!((status, field(&err)), (422, "short_code"), "{err}");
    assert_eq!(app.count("canned_responses"), 1);
    assert_eq!(app.count("canned_response_attachments"), 2);

    // Deleting the response deletes its files.
    let (status, _) = app
        .api("DELETE", &format!("{base}/{id}"), None, &app.token)
        .await;
    assert_eq!(status, 200);
    assert_eq!(app.count("canned_response_attachments"), 0);
    let left: Vec<_> = walk(&app.storage);
    assert!(left.is_empty(), "files left behind: {left:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Posts a multipart settings form (the page's CSRF token added unless `csrf` is given).
async fn post_form(
    b: &mut crate::common::session::Browser<'_>,
    action: &str,
    csrf: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> (u16, String, Option<String>) {
    let mut all: Vec<(&str, &str)> = vec![("csrf_token", csrf)];
    all.extend_from_slice(fields);
    let (content_type, body) = multipart(&all, files);
    b.request(
        test::TestRequest::post()
            .uri(action)
            .insert_header(("content-type", content_type))
            .set_payload(body),
    )
    .await
}

#[actix_rt::test]
async fn the_settings_page_creates_edits_and_deletes_with_errors_next_to_the_field() {
    use crate::common::session::Browser;
    let app = TestApp::start();
    let acc = app.account_id;
    let page = format!("/app/accounts/{acc}/settings/canned_responses");
    app.create_agent("ben@example.com");
    let (_, admins) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{acc}/canned_responses"),
            Some(json!({"short_code": "policy", "content": "Our <b>policy</b>"})),
            &app.token,
        )
        .await;

    // Agents open the page (and see only this settings section); HTML in content is text.
    let mut ben = Browser::new(&app);
    ben.sign_in("ben@example.com", "agent password").await;
    let (status, html, _) = ben.get(&page).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("Our &#60;b&#62;policy") || html.contains("Our &lt;b&gt;policy"),
        "{html}"
    );
    assert!(!html.contains("<b>policy"));
    assert!(
        !html.contains("/settings/agents\""),
        "agents see no admin section"
    );
    assert!(html.contains("Created by another agent"));
    let csrf = Browser::csrf_from(&html);

    // Create with a file; an empty file input (filename="") is no file.
    let (status, _, location) = post_form(
        &mut ben,
        &page,
        &csrf,
        &[
            ("short_code", "hello"),
            ("content", "Hello {{contact.first_name}}"),
        ],
        &[
            ("hours.txt", "text/plain", b"9-5"),
            ("", "application/octet-stream", b""),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert!(location.unwrap().contains("notice="));
    let list = app
        .get(&format!("/api/v1/accounts/{acc}/canned_responses"))
        .await;
    let hello = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["short_code"] == "hello")
        .unwrap()
        .clone();
    assert_eq!(hello["content"], "Hello {{contact.first_name}}");
    assert_eq!(hello["attachments"].as_array().unwrap().len(), 1);

    // Errors are shown next to their field, with the submitted values kept.
    let (status, html, _) = post_form(
        &mut ben,
        &page,
        &csrf,
        &[("short_code", "POLICY"), ("content", "Mine")],
        &[],
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"canned-short-code-error\""), "{html}");
    assert!(html.contains("already exists"));
    assert!(html.contains(">Mine</textarea>"));
    let (status, html, _) = post_form(
        &mut ben,
        &page,
        &csrf,
        &[("short_code", "x"), ("content", "  ")],
        &[],
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"canned-content-error\""), "{html}");
    // A wrong CSRF token is refused and stores nothing.
    let (status, _, _) = post_form(
        &mut ben,
        &page,
        "wrong",
        &[("short_code", "sneaky"), ("content", "x")],
        &[("s.txt", "text/plain", b"s")],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(app.count("canned_responses"), 2);
    assert_eq!(app.count("canned_response_attachments"), 1);

    // Edit: change the content and remove the file.
    let hello_id = hello["id"].as_i64().unwrap();
    let att = hello["attachments"][0]["id"].as_i64().unwrap();
    let (status, html, _) = ben.get(&format!("{page}?edit={hello_id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("name=\"remove_attachment_{att}\"")));
    let (status, _, _) = post_form(
        &mut ben,
        &format!("{page}/{hello_id}/update"),
        &csrf,
        &[
            ("short_code", "hello"),
            ("content", "Hello again"),
            (&format!("remove_attachment_{att}"), "yes"),
        ],
        &[],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(app.count("canned_response_attachments"), 0);

    // Another's response: the agent may neither edit nor delete it.
    let policy_id = admins["id"].as_i64().unwrap();
    assert_eq!(ben.get(&format!("{page}?edit={policy_id}")).await.0, 403);
    let (status, _, _) = post_form(
        &mut ben,
        &format!("{page}/{policy_id}/update"),
        &csrf,
        &[("content", "hijack")],
        &[],
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, _) = ben
        .request(
            test::TestRequest::post()
                .uri(&format!("{page}/{policy_id}/delete"))
                .set_form([("csrf_token", csrf.as_str()), ("confirm", "yes")]),
        )
        .await;
    assert_eq!(status, 403);

    // Delete needs the confirmation box.
    let (status, html, _) = ben
        .request(
            test::TestRequest::post()
                .uri(&format!("{page}/{hello_id}/delete"))
                .set_form([("csrf_token", csrf.as_str())]),
        )
        .await;
    assert_eq!(status, 422);
    assert!(html.contains("Tick the box"));
    let (status, _, _) = ben
        .request(
            test::TestRequest::post()
                .uri(&format!("{page}/{hello_id}/delete"))
                .set_form([("csrf_token", csrf.as_str()), ("confirm", "yes")]),
        )
        .await;
    assert_eq!(status, 303);

    // Another account's id is a 404 on every route.
    let other = accounts::create_admin(
        &mut app.conn(),
        "Else",
        "Eve",
        "eve@example.com",
        "password1",
    )
    .unwrap();
    let (_, theirs) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{}/canned_responses", other.account_id),
            Some(json!({"short_code": "x", "content": "y"})),
            &other.api_access_token,
        )
        .await;
    let mut ana = Browser::new(&app);
    ana.sign_in("ana@example.com", "correct horse").await;
    let their = theirs["id"].as_i64().unwrap();
    assert_eq!(ana.get(&format!("{page}?edit={their}")).await.0, 404);
    let ana_csrf = csrf_of(&mut ana, &page).await;
    let (status, _, _) = post_form(
        &mut ana,
        &format!("{page}/{their}/update"),
        &ana_csrf,
        &[("content", "mine")],
        &[],
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        ana.get(&format!(
            "/app/accounts/{}/settings/canned_responses",
            other.account_id
        ))
        .await
        .0,
        404
    );
}

async fn csrf_of(b: &mut crate::common::session::Browser<'_>, page: &str) -> String {
    let (_, html, _) = b.get(page).await;
    crate::common::session::Browser::csrf_from(&html)
}

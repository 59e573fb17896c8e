//! The administrator settings pages without a browser: agents (invitation email, password
//! link, roles, removal, last-administrator protection), teams and labels, who may open
//! them, and setting a password from an invitation link.

use crate::common::session::Browser;
use crate::common::*;
use actix_web::test;
use switchboard::domain::accounts;

/// The path and query of the password link in an invitation email.
fn link_in(eml: &str) -> String {
    let start = eml
        .find("/app/password/reset?token=")
        .expect("a password link in the email");
    let prefix = "/app/password/reset?token=";
    let token: String = eml[start + prefix.len()..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(token.len(), 64, "{eml}");
    format!("{prefix}{token}")
}

/// Every visible `<input>`/`<select>` has a label: `<label for=id>` or a wrapping `<label>`.
fn assert_every_input_labelled(html: &str) {
    for tag in ["<input", "<select"] {
        let mut from = 0;
        while let Some(pos) = html[from..].find(tag).map(|p| p + from) {
            from = pos + tag.len();
            let end = pos + html[pos..].find('>').unwrap();
            let element = &html[pos..=end];
            if element.contains("type=\"hidden\"") {
                continue;
            }
            let before = &html[..pos];
            let wrapped = before.rfind("<label").map(|o| o as i64).unwrap_or(-1)
                > before.rfind("</label>").map(|c| c as i64).unwrap_or(-1);
            let labelled_by_id = element
                .split("id=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .is_some_and(|id| html.contains(&format!("for=\"{id}\"")));
            assert!(wrapped || labelled_by_id, "no label for {element}");
        }
    }
}

/// The `aria-current` link of the settings navigation.
fn current_section(html: &str) -> String {
    let pos = html
        .find("aria-current=\"page\">")
        .expect("a current settings link");
    let rest = &html[pos + "aria-current=\"page\">".len()..];
    rest[..rest.find('<').unwrap()].to_string()
}

#[actix_rt::test]
async fn an_invited_agent_sets_a_password_from_the_email_and_signs_in() {
    let app = TestApp::start();
    let agents = format!("/app/accounts/{}/settings/agents", app.account_id);
    let mut admin = Browser::new(&app);
    admin.sign_in("ana@example.com", "correct horse").await;
    let (status, page, _) = admin.get(&agents).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(current_section(&page), "Agents");
    assert!(page.contains("ana@example.com"));
    assert!(page.contains("Add agent"));
    assert_every_input_labelled(&page);
    // The navigation keeps Inboxes first.
    let inboxes = page.find("/settings/inboxes\"").unwrap();
    for other in [
        "/settings/agents\"",
        "/settings/teams\"",
        "/settings/labels\"",
    ] {
        assert!(inboxes < page.find(other).unwrap(), "{other}");
    }

    // Domain errors come back next to their field, with what was typed.
    let (status, page, _) = admin
        .submit(
            &agents,
            &agents,
            &[
                ("name", "Cara Agent"),
                ("email", "cara at example"),
                ("role", "agent"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("id=\"agent-email-error\""), "{page}");
    assert!(page.contains("is not an email address"));
    assert!(page.contains("value=\"Cara Agent\""));
    let (status, page, _) = admin
        .submit(
            &agents,
            &agents,
            &[
                ("name", " "),
                ("email", "cara@example.com"),
                ("role", "agent"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("id=\"agent-name-error\""), "{page}");
    assert_eq!(app.count("jobs WHERE kind = 'email'"), 0);

    let (status, _, location) = admin
        .submit(
            &agents,
            &agents,
            &[
                ("name", "Cara Agent"),
                ("email", "Cara@Example.com"),
                ("role", "agent"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let location = location.unwrap();
    assert!(
        location.starts_with(&format!("{agents}?notice=")),
        "{location}"
    );
    let (_, page, _) = admin.get(&location).await;
    assert!(page.contains("class=\"notice\""), "{page}");
    assert!(page.contains("cara@example.com"));
    assert!(page.contains("invitation pending"));
    // Inviting the same email again is refused next to the email field.
    let (status, page, _) = admin
        .submit(
            &agents,
            &agents,
            &[
                ("name", "Cara Again"),
                ("email", "cara@example.com"),
                ("role", "agent"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("already an agent of this account"), "{page}");

    // The email job writes the invitation with its link.
    let files = app.run_email_jobs().await;
    assert_eq!(files.len(), 1);
    let eml = read_eml(&files[0]);
    assert!(eml.contains("To: cara@example.com"), "{eml}");
    let link = link_in(&eml);

    // A link without a token says it does not work, and offers nothing to fill in.
    let mut cara = Browser::new(&app);
    let (status, page, _) = cara.get("/app/password/reset").await;
    assert_eq!(status, 200);
    assert!(page.contains(accounts::EXPIRED_LINK));
    assert!(!page.contains("name=\"password\""));

    let (status, page, _) = cara.get(&link).await;
    assert_eq!(status, 200, "{page}");
    assert!(!page.contains(accounts::EXPIRED_LINK));
    assert_every_input_labelled(&page);
    let token = &link[link.find('=').unwrap() + 1..];
    assert!(page.contains(&format!("name=\"token\" value=\"{token}\"")));
    let post = |password: &'static str, again: &'static str| {
        let token = token.to_string();
        move |csrf: String| {
            test::TestRequest::post()
                .uri("/app/password/reset")
                .set_form([
                    ("token", token.as_str()),
                    ("password", password),
                    ("password_confirmation", again),
                    ("csrf_token", csrf.as_str()),
                ])
        }
    };
    let csrf = Browser::csrf_from(&page);
    // A forged form is refused without spending the link.
    let (status, page, _) = cara
        .request(post("a good password", "a good password")("forged".into()))
        .await;
    assert_eq!(status, 403);
    assert!(page.contains("This form has expired"), "{page}");
    let (status, page, _) = cara.request(post("short", "short")(csrf.clone())).await;
    assert_eq!(status, 422);
    assert!(page.contains("id=\"password-field-error\""), "{page}");
    assert!(page.contains("at least 8 characters"));
    let (status, page, _) = cara
        .request(post("a good password", "a good passw0rd")(csrf.clone()))
        .await;
    assert_eq!(status, 422);
    assert!(
        page.contains("id=\"password_confirmation-error\""),
        "{page}"
    );
    let (status, _, location) = cara
        .request(post("a good password", "a good password")(csrf.clone()))
        .await;
    assert_eq!((status, location.as_deref()), (303, Some("/app")));
    // Signed in: /app leads to the inbox screen.
    let (_, _, location) = cara.get("/app").await;
    let conversations = format!("/app/accounts/{}/conversations", app.account_id);
    assert_eq!(location.as_deref(), Some(conversations.as_str()));
    let (status, page, _) = cara.get(&conversations).await;
    assert_eq!(status, 200);
    assert!(page.contains("Cara Agent"));

    // Later, the password signs in; the invitation is no longer pending.
    let mut later = Browser::new(&app);
    let (status, _, location) = later.sign_in("cara@example.com", "a good password").await;
    assert_eq!((status, location.as_deref()), (303, Some("/app")));
    let (_, page, _) = admin.get(&agents).await;
    assert!(!page.contains("invitation pending"), "{page}");

    // The link is spent: the same answer as an unknown one, and the password stays.
    let mut again = Browser::new(&app);
    let (_, page, _) = again.get(&link).await;
    let csrf = Browser::csrf_from(&page);
    let (status, page, _) = again
        .request(post("another password", "another password")(csrf))
        .await;
    assert_eq!(status, 422);
    assert!(page.contains(accounts::EXPIRED_LINK), "{page}");
    let mut unknown = Browser::new(&app);
    let (_, page, _) = unknown.get("/app/password/reset?token=0123abcd").await;
    let csrf = Browser::csrf_from(&page);
    let (status, unknown_page, _) = unknown
        .request(
            test::TestRequest::post()
                .uri("/app/password/reset")
                .set_form([
                    ("token", "0123abcd"),
                    ("password", "another password"),
                    ("password_confirmation", "another password"),
                    ("csrf_token", csrf.as_str()),
                ]),
        )
        .await;
    assert_eq!(status, 422);
    assert!(unknown_page.contains(accounts::EXPIRED_LINK));
    assert!(
        accounts::verify_password(&mut app.conn(), "cara@example.com", "another password")
            .unwrap()
            .is_none()
    );
    assert!(
        accounts::verify_password(&mut app.conn(), "cara@example.com", "a good password")
            .unwrap()
            .is_some()
    );
}

#[actix_rt::test]
async fn roles_change_members_leave_and_the_last_administrator_stays() {
    let app = TestApp::start();
    let acc = app.account_id;
    let agents = format!("/app/accounts/{acc}/settings/agents");
    let (ben_id, _) = app.create_agent("ben@example.com");
    let mut admin = Browser::new(&app);
    admin.sign_in("ana@example.com", "correct horse").await;

    // Ana is the only administrator: she can neither demote nor remove herself.
    let (status, page, _) = admin
        .submit(
            &agents,
            &format!("{agents}/{}/update", app.admin_id),
            &[("role", "agent")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        page.contains(&format!("id=\"role-{}-error\"", app.admin_id)),
        "{page}"
    );
    assert!(
        page.contains("this is the account&#39;s last administrator")
            || page.contains("this is the account&#x27;s last administrator")
    );
    let (status, page, _) = admin
        .submit(
            &agents,
            &format!("{agents}/{}/remove", app.admin_id),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        page.contains(&format!("id=\"remove-{}-error\"", app.admin_id)),
        "{page}"
    );
    assert!(page.contains("last administrator"));
    assert_eq!(
        accounts::role_in(&mut app.conn(), acc, app.admin_id).unwrap(),
        Some(accounts::Role::Administrator)
    );

    // Ben becomes an administrator.
    let (status, _, location) = admin
        .submit(
            &agents,
            &format!("{agents}/{ben_id}/update"),
            &[("role", "administrator")],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page, _) = admin.get(&location.unwrap()).await;
    assert!(
        page.contains("Ben Agent is now an administrator."),
        "{page}"
    );
    assert_eq!(
        accounts::role_in(&mut app.conn(), acc, ben_id).unwrap(),
        Some(accounts::Role::Administrator)
    );
    // An unknown role is refused on the row.
    let (status, page, _) = admin
        .submit(
            &agents,
            &format!("{agents}/{ben_id}/update"),
            &[("role", "owner")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        page.contains(&format!("id=\"role-{ben_id}-error\"")),
        "{page}"
    );

    // Removing needs the confirmation box.
    let (status, page, _) = admin
        .submit(&agents, &format!("{agents}/{ben_id}/remove"), &[])
        .await;
    assert_eq!(status, 422);
    assert!(
        page.contains(&format!("id=\"confirm-{ben_id}-error\"")),
        "{page}"
    );
    assert!(page.contains("Tick the box"));
    let (status, _, location) = admin
        .submit(
            &agents,
            &format!("{agents}/{ben_id}/remove"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page, _) = admin.get(&location.unwrap()).await;
    assert!(page.contains("Ben Agent was removed from the account."));
    assert!(!page.contains("ben@example.com"));
    assert_eq!(
        accounts::role_in(&mut app.conn(), acc, ben_id).unwrap(),
        None
    );
    // Ben's user stays; another account's member is a 404 here.
    assert_eq!(app.count(&format!("users WHERE id = {ben_id}")), 1);
    let (status, _, _) = admin
        .submit(
            &agents,
            &format!("{agents}/{ben_id}/update"),
            &[("role", "agent")],
        )
        .await;
    assert_eq!(status, 404);
}

#[actix_rt::test]
async fn teams_are_created_edited_and_deleted() {
    let app = TestApp::start();
    let teams = format!("/app/accounts/{}/settings/teams", app.account_id);
    let mut admin = Browser::new(&app);
    admin.sign_in("ana@example.com", "correct horse").await;
    let (status, page, _) = admin.get(&teams).await;
    assert_eq!(status, 200);
    assert_eq!(current_section(&page), "Teams");
    assert!(page.contains("No team yet"));

    let (status, _, location) = admin
        .submit(
            &teams,
            &teams,
            &[("name", "Sales"), ("description", "Deals & quotes")],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page, _) = admin.get(&location.unwrap()).await;
    assert!(page.contains("Team Sales created."));
    assert!(
        page.contains("value=\"Deals &#38; quotes\"")
            || page.contains("value=\"Deals &amp; quotes\""),
        "{page}"
    );
    assert_every_input_labelled(&page);
    admin
        .submit(&teams, &teams, &[("name", "Support"), ("description", "")])
        .await;
    let id = |name: &str| {
        app.query_json(&format!(
            "SELECT to_jsonb(id) FROM teams WHERE name = '{name}'"
        ))
        .as_i64()
        .unwrap()
    };
    let (sales, support) = (id("Sales"), id("Support"));

    // A name in use (any case) is refused next to the field, with what was typed.
    let (status, page, _) = admin
        .submit(&teams, &teams, &[("name", "sales"), ("description", "x")])
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("id=\"team-name-error\""), "{page}");
    assert!(page.contains("already exists"));
    assert!(page.contains("value=\"sales\""));

    // Editing in place: renaming onto another team is refused on that row.
    let (status, page, _) = admin
        .submit(
            &teams,
            &format!("{teams}/{support}/update"),
            &[("name", "SALES"), ("description", "Help")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        page.contains(&format!("id=\"team-{support}-name-error\"")),
        "{page}"
    );
    assert!(page.contains("value=\"SALES\""));
    let (status, _, location) = admin
        .submit(
            &teams,
            &format!("{teams}/{sales}/update"),
            &[("name", "Sales EU"), ("description", "Europe")],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page, _) = admin.get(&location.unwrap()).await;
    assert!(page.contains("Team Sales EU saved."));
    assert_eq!(
        app.query_json(&format!(
            "SELECT to_jsonb(description) FROM teams WHERE id = {sales}"
        )),
        "Europe"
    );

    // Deleting needs the confirmation box.
    let (status, page, _) = admin
        .submit(&teams, &format!("{teams}/{sales}/delete"), &[])
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("Tick the box"));
    assert_eq!(app.count(&format!("teams WHERE id = {sales}")), 1);
    let (status, _, location) = admin
        .submit(
            &teams,
            &format!("{teams}/{sales}/delete"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page, _) = admin.get(&location.unwrap()).await;
    assert!(page.contains("Team Sales EU deleted."));
    assert!(!page.contains("value=\"Sales EU\""));
    assert_eq!(app.count("teams"), 1);
}

#[actix_rt::test]
async fn labels_are_created_edited_and_deleted() {
    let app = TestApp::start();
    let labels = format!("/app/accounts/{}/settings/labels", app.account_id);
    let mut admin = Browser::new(&app);
    admin.sign_in("ana@example.com", "correct horse").await;
    let (status, page, _) = admin.get(&labels).await;
    assert_eq!(status, 200);
    assert_eq!(current_section(&page), "Labels");
    assert!(page.contains("No label yet"));
    assert!(!page.contains("style="), "no inline style (CSP)");

    let (status, _, location) = admin
        .submit(
            &labels,
            &labels,
            &[
                ("title", "VIP"),
                ("description", "Big customers"),
                ("color", "#FF0000"),
                ("show_on_sidebar", "yes"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page, _) = admin.get(&location.unwrap()).await;
    assert!(page.contains("Label vip created."), "{page}");
    assert!(page.contains("value=\"vip\""));
    assert!(page.contains("type=\"color\""));
    assert!(page.contains("#FF0000"), "the color shows as text");
    assert!(
        page.contains("value=\"#ff0000\""),
        "the color input's value"
    );
    assert!(!page.contains("style="), "no inline style (CSP)");
    assert_every_input_labelled(&page);
    let vip = app
        .query_json("SELECT to_jsonb(id) FROM labels WHERE title = 'vip'")
        .as_i64()
        .unwrap();

    // A bad title is refused next to its field.
    let (status, page, _) = admin
        .submit(
            &labels,
            &labels,
            &[("title", "not ok!"), ("color", "#00ff00")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("id=\"label-title-error\""), "{page}");
    assert!(page.contains("may contain only letters"));
    assert!(page.contains("value=\"#00ff00\""), "the color is kept");

    // Edit: rename, recolor, take it off the sidebar (an unticked box sends nothing).
    let (status, _, location) = admin
        .submit(
            &labels,
            &format!("{labels}/{vip}/update"),
            &[
                ("title", "vip-gold"),
                ("description", "Biggest"),
                ("color", "#abcdef"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page, _) = admin.get(&location.unwrap()).await;
    assert!(page.contains("Label vip-gold saved."));
    let row = app.query_json(&format!(
        "SELECT to_jsonb(l) FROM labels l WHERE id = {vip}"
    ));
    assert_eq!(row["title"], "vip-gold");
    assert_eq!(row["description"], "Biggest");
    assert_eq!(row["color"], "#abcdef");
    assert_eq!(row["show_on_sidebar"], false);
    let (status, page, _) = admin
        .submit(
            &labels,
            &format!("{labels}/{vip}/update"),
            &[("title", ""), ("color", "#abcdef")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        page.contains(&format!("id=\"label-{vip}-title-error\"")),
        "{page}"
    );

    // Delete, confirmed.
    let (status, _, _) = admin
        .submit(&labels, &format!("{labels}/{vip}/delete"), &[])
        .await;
    assert_eq!(status, 422);
    let (status, _, location) = admin
        .submit(
            &labels,
            &format!("{labels}/{vip}/delete"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page, _) = admin.get(&location.unwrap()).await;
    assert!(page.contains("Label vip-gold deleted."));
    assert_eq!(app.count("labels"), 0);
}

#[actix_rt::test]
async fn agents_get_403_on_administrator_settings() {
    let app = TestApp::start();
    let acc = app.account_id;
    app.create_agent("ben@example.com");
    let mut guest = Browser::new(&app);
    let (status, _, location) = guest
        .get(&format!("/app/accounts/{acc}/settings/agents"))
        .await;
    assert_eq!((status, location.as_deref()), (303, Some("/app/login")));

    let mut ben = Browser::new(&app);
    ben.sign_in("ben@example.com", "agent password").await;
    for page in ["agents", "teams", "labels"] {
        let (status, _, _) = ben
            .get(&format!("/app/accounts/{acc}/settings/{page}"))
            .await;
        assert_eq!(status, 403, "{page}");
    }
    // Posting straight to the forms is refused too, whatever the CSRF token.
    let (_, conversations, _) = ben.get(&format!("/app/accounts/{acc}/conversations")).await;
    let csrf = Browser::csrf_from(&conversations);
    for (path, fields) in [
        (
            "agents",
            vec![
                ("name", "Eve"),
                ("email", "eve@example.com"),
                ("role", "administrator"),
            ],
        ),
        ("agents/1/update", vec![("role", "agent")]),
        ("agents/1/remove", vec![("confirm", "yes")]),
        ("teams", vec![("name", "Mine")]),
        ("labels", vec![("title", "mine")]),
    ] {
        let mut form = fields.clone();
        form.push(("csrf_token", csrf.as_str()));
        let (status, _, _) = ben
            .request(
                test::TestRequest::post()
                    .uri(&format!("/app/accounts/{acc}/settings/{path}"))
                    .set_form(form),
            )
            .await;
        assert_eq!(status, 403, "{path}");
    }
    assert_eq!(app.count("users WHERE email = 'eve@example.com'"), 0);
    assert_eq!(app.count("teams"), 0);
    assert_eq!(app.count("labels"), 0);
    assert_eq!(app.count("jobs WHERE kind = 'email'"), 0);
}

#[actix_rt::test]
async fn webhooks_are_added_shown_and_deleted_in_settings() {
    let app = TestApp::start_with(Options {
        webhooks_allow_local: false,
        ..Default::default()
    });
    let mut b = Browser::new(&app);
    b.sign_in("ana@example.com", "correct horse").await;
    let page = format!("/app/accounts/{}/settings/webhooks", app.account_id);
    let (status, html, _) = b.get(&page).await;
    assert_eq!(status, 200);
    assert_every_input_labelled(&html);
    assert_eq!(current_section(&html), "Webhooks");

    // A private target is refused with the reason on the page.
    let (status, html, _) = b
        .submit(
            &page,
            &page,
            &[
                ("url", "https://127.0.0.1/hook"),
                ("subscriptions", "message_created"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        html.contains("must not point to a private or local address"),
        "{html}"
    );
    let (status, html, _) = b
        .submit(
            &page,
            &page,
            &[
                ("url", "http://crm.example.com/hook"),
                ("subscriptions", "message_created"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(html.contains("Webhook URL must use HTTPS"));

    // A good one is listed with its secret (DNS is not needed for the IP literal).
    let (status, _, location) = b
        .submit(
            &page,
            &page,
            &[
                ("url", "https://93.184.215.14/hook"),
                ("name", "CRM"),
                ("subscriptions", "message_created"),
                ("subscriptions", "conversation_created"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{location:?}");
    let (_, html, _) = b.get(&page).await;
    assert!(html.contains("CRM") && html.contains("message_created, conversation_created"));
    let secret = app.query_json("SELECT to_jsonb(count(*)) FROM webhooks");
    assert_eq!(secret, 1);
    let id = app
        .query_json("SELECT to_jsonb(id) FROM webhooks LIMIT 1")
        .as_i64()
        .unwrap();
    let (status, _, _) = b
        .submit(&page, &format!("{page}/{id}/delete"), &[("confirm", "yes")])
        .await;
    assert_eq!(status, 303);
    assert_eq!(app.count("webhooks"), 0);
}

/// Every row of every table of the public schema, as JSON (to show nothing changed).
fn whole_database(app: &TestApp) -> serde_json::Value {
    let tables = app.query_json(
        "SELECT coalesce(jsonb_agg(tablename::text ORDER BY tablename), '[]') FROM pg_tables WHERE schemaname = 'public'",
    );
    let mut out = serde_json::Map::new();
    for t in tables.as_array().unwrap() {
        let t = t.as_str().unwrap();
        out.insert(
            t.to_string(),
            app.query_json(&format!(
                "SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY to_jsonb(x)::text), '[]') FROM \"{t}\" x"
            )),
        );
    }
    serde_json::Value::Object(out)
}

#[actix_rt::test]
async fn every_settings_action_refuses_another_accounts_objects() {
    use switchboard::domain::{inboxes, labels, teams, webhooks};
    use wiremock::{matchers::any, Mock, MockServer, ResponseTemplate};
    // Graph must hear nothing: no template sync, no webhook setup with the other account's token.
    let graph = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&graph)
        .await;
    let app = TestApp::start_with(Options {
        graph_base_url: Some(graph.uri()),
        ..Default::default()
    });
    let a = app.account_id;
    // Account B, administered by Olga, with one of everything.
    let mut conn = app.conn();
    let other = accounts::create_admin(
        &mut conn,
        "Other Co",
        "Olga Other",
        "olga@example.com",
        "olga password",
    )
    .unwrap();
    let b = other.account_id;
    let (b_inbox, _) = inboxes::create(
        &mut conn,
        &app.state.secrets,
        b,
        inboxes::NewWhatsappInbox {
            name: "Other support".into(),
            phone_number: "+15559876543".into(),
            phone_number_id: "999000111222333".into(),
            business_account_id: "888000111222333".into(),
            api_key: "EAAG-other-accounts-secret-token".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let b_inbox = b_inbox.id;
    inboxes::add_member(&mut conn, b_inbox, other.user_id).unwrap();
    let (bea, _) = accounts::create_user(
        &mut conn,
        b,
        "Bea Other",
        "bea@example.com",
        "bea password",
        accounts::Role::Agent,
    )
    .unwrap();
    let bea = bea.id;
    let pending = accounts::invite_agent(
        &mut conn,
        b,
        other.user_id,
        "Pat Pending",
        "pat@example.com",
        accounts::Role::Agent,
    )
    .unwrap()
    .member
    .user
    .id;
    let team = teams::create(
        &mut conn,
        b,
        &teams::TeamInput {
            name: Some("Other team".into()),
            description: None,
            allow_auto_assign: None,
        },
    )
    .unwrap()
    .id;
    let label = labels::create(
        &mut conn,
        b,
        &labels::LabelInput {
            title: Some("other-label".into()),
            ..Default::default()
        },
    )
    .unwrap()
    .id;
    let hook = webhooks::create(
        &mut conn,
        &app.state.secrets,
        b,
        &webhooks::WebhookInput {
            url: Some("https://93.184.215.14/hook".into()),
            name: Some("Other CRM".into()),
            subscriptions: Some(vec!["message_created".into()]),
            inbox_id: None,
        },
    )
    .unwrap()
    .id;
    // Olga's hook is disabled, so "enable" would change it.
    {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!(
            "UPDATE webhooks SET enabled = false, disabled_reason = 'failing' WHERE id = {hook}"
        ))
        .execute(&mut conn)
        .unwrap();
    }
    drop(conn);

    // Ana administers account A only; she uses her own session and CSRF token.
    let mut ana = Browser::new(&app);
    ana.sign_in("ana@example.com", "correct horse").await;
    let (status, page, _) = ana
        .get(&format!("/app/accounts/{a}/settings/inboxes"))
        .await;
    assert_eq!(status, 200, "{page}");
    let csrf = Browser::csrf_from(&page);
    let before = whole_database(&app);

    let ana_id = app.admin_id.to_string();
    let olga_id = other.user_id.to_string();
    let inbox_form = [
        ("name", "Stolen"),
        ("phone_number", "+15550001111"),
        ("api_key", "EAAG-attacker"),
    ];
    let mut posts: Vec<(String, Vec<(&str, &str)>)> = vec![];
    // Another account's objects through Ana's own account's URLs …
    for action in [
        "update",
        "sync_templates",
        "register_webhook",
        "rotate_token",
        "delete",
    ] {
        let fields = match action {
            "update" => inbox_form.to_vec(),
            "delete" => vec![("confirm", "yes")],
            _ => vec![],
        };
        posts.push((
            format!("/app/accounts/{a}/settings/inboxes/{b_inbox}/{action}"),
            fields,
        ));
    }
    posts.push((
        format!("/app/accounts/{a}/settings/inboxes/{b_inbox}/add_member"),
        vec![("user_id", ana_id.as_str())],
    ));
    posts.push((
        format!("/app/accounts/{a}/settings/inboxes/{b_inbox}/remove_member"),
        vec![("user_id", olga_id.as_str())],
    ));
    for user in [bea, pending, other.user_id] {
        posts.push((
            format!("/app/accounts/{a}/settings/agents/{user}/update"),
            vec![("role", "administrator")],
        ));
        posts.push((
            format!("/app/accounts/{a}/settings/agents/{user}/remove"),
            vec![("confirm", "yes")],
        ));
        posts.push((
            format!("/app/accounts/{a}/settings/agents/{user}/invitation_link"),
            vec![],
        ));
    }
    posts.push((
        format!("/app/accounts/{a}/settings/teams/{team}/update"),
        vec![("name", "Taken over")],
    ));
    posts.push((
        format!("/app/accounts/{a}/settings/teams/{team}/delete"),
        vec![("confirm", "yes")],
    ));
    posts.push((
        format!("/app/accounts/{a}/settings/labels/{label}/update"),
        vec![("title", "taken-over"), ("color", "#000000")],
    ));
    posts.push((
        format!("/app/accounts/{a}/settings/labels/{label}/delete"),
        vec![("confirm", "yes")],
    ));
    posts.push((
        format!("/app/accounts/{a}/settings/webhooks/{hook}/enable"),
        vec![],
    ));
    posts.push((
        format!("/app/accounts/{a}/settings/webhooks/{hook}/delete"),
        vec![("confirm", "yes")],
    ));
    // … and the other account's own URLs, where Ana is no member.
    for (page, fields) in [
        ("settings/inboxes", inbox_form.to_vec()),
        (
            "settings/agents",
            vec![
                ("name", "Mallory"),
                ("email", "mallory@example.com"),
                ("role", "administrator"),
            ],
        ),
        ("settings/teams", vec![("name", "Mallory's")]),
        ("settings/labels", vec![("title", "mallory")]),
        (
            "settings/webhooks",
            vec![
                ("url", "https://93.184.215.14/steal"),
                ("subscriptions", "message_created"),
            ],
        ),
        ("profile", vec![("email_conversation_created", "on")]),
    ] {
        posts.push((format!("/app/accounts/{b}/{page}"), fields));
    }
    for action in ["sync_templates", "register_webhook", "add_member"] {
        posts.push((
            format!("/app/accounts/{b}/settings/inboxes/{b_inbox}/{action}"),
            vec![("user_id", ana_id.as_str())],
        ));
    }
    posts.push((
        format!("/app/accounts/{b}/settings/agents/{bea}/update"),
        vec![("role", "administrator")],
    ));
    posts.push((
        format!("/app/accounts/{b}/settings/teams/{team}/delete"),
        vec![("confirm", "yes")],
    ));
    posts.push((
        format!("/app/accounts/{b}/settings/labels/{label}/delete"),
        vec![("confirm", "yes")],
    ));
    posts.push((
        format!("/app/accounts/{b}/settings/webhooks/{hook}/enable"),
        vec![],
    ));
    for (path, fields) in &posts {
        let mut form = fields.clone();
        form.push(("csrf_token", csrf.as_str()));
        let (status, body, location) = ana
            .request(test::TestRequest::post().uri(path).set_form(form))
            .await;
        assert_eq!(status, 404, "POST {path}: {location:?} {body}");
        let json: serde_json::Value = serde_json::from_str(&body).expect("a JSON error");
        assert!(json["error"].as_str().is_some(), "{path}: {json}");
        assert!(!body.contains("EAAG-other"), "{path}: {body}");
    }
    for path in [
        format!("/app/accounts/{a}/settings/inboxes/{b_inbox}"),
        format!("/app/accounts/{b}/settings/inboxes/{b_inbox}"),
        format!("/app/accounts/{b}/settings/inboxes"),
        format!("/app/accounts/{b}/settings/inboxes/new"),
        format!("/app/accounts/{b}/settings/agents"),
        format!("/app/accounts/{b}/settings/teams"),
        format!("/app/accounts/{b}/settings/labels"),
        format!("/app/accounts/{b}/settings/webhooks"),
        format!("/app/accounts/{b}/profile"),
        format!("/app/accounts/{b}/partials/sidebar"),
    ] {
        let (status, body, _) = ana.get(&path).await;
        assert_eq!(status, 404, "GET {path}: {body}");
        assert!(!body.contains("Other support") && !body.contains("EAAG-other"));
    }
    // Non-numeric ids are 404 too, never a 5xx.
    let (status, _, _) = ana
        .request(
            test::TestRequest::post()
                .uri(&format!("/app/accounts/{a}/settings/teams/abc/delete"))
                .set_form([("confirm", "yes"), ("csrf_token", csrf.as_str())]),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(whole_database(&app), before, "something changed");
    // Ana's own inbox actions still work (the boundary is not a wall for her own account).
    let (status, _, location) = ana
        .request(
            test::TestRequest::post()
                .uri(&format!("/app/accounts/{a}/settings/teams"))
                .set_form([("name", "Own team"), ("csrf_token", csrf.as_str())]),
        )
        .await;
    assert_eq!(status, 303, "{location:?}");
    let own = app
        .query_json("SELECT to_jsonb(id) FROM teams WHERE name = 'Own team'")
        .as_i64()
        .unwrap();
    let (status, _, _) = ana
        .request(
            test::TestRequest::post()
                .uri(&format!("/app/accounts/{a}/settings/teams/{own}/delete"))
                .set_form([("confirm", "yes"), ("csrf_token", csrf.as_str())]),
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(app.count("teams"), 1, "only Olga's team is left");
    graph.verify().await;
}

#[actix_rt::test]
async fn an_administrator_creates_an_invitation_link_for_a_pending_agent() {
    let app = TestApp::start();
    let acc = app.account_id;
    let agents = format!("/app/accounts/{acc}/settings/agents");
    let mut admin = Browser::new(&app);
    admin.sign_in("ana@example.com", "correct horse").await;
    let (status, _, _) = admin
        .submit(
            &agents,
            &agents,
            &[
                ("name", "Cara Agent"),
                ("email", "cara@example.com"),
                ("role", "agent"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let cara = app
        .query_json("SELECT to_jsonb(id) FROM users WHERE email = 'cara@example.com'")
        .as_i64()
        .unwrap();
    // Only the pending row offers a link; Ana's own (with a password) does not.
    let (_, page, _) = admin.get(&agents).await;
    let action = |id: i64| format!("/settings/agents/{id}/invitation_link\"");
    assert!(page.contains(&action(cara)), "{page}");
    assert!(!page.contains(&action(app.admin_id)));
    assert_every_input_labelled(&page);

    // A forged form creates nothing.
    let (status, _, _) = admin
        .request(
            test::TestRequest::post()
                .uri(&format!("{agents}/{cara}/invitation_link"))
                .set_form([("csrf_token", "forged")]),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(app.count("password_reset_tokens"), 0);

    let (status, page, location) = admin
        .submit(&agents, &format!("{agents}/{cara}/invitation_link"), &[])
        .await;
    assert_eq!(status, 200, "{location:?} {page}");
    assert!(
        page.contains(&format!("id=\"invite-link-{cara}\"")),
        "{page}"
    );
    assert!(page.contains("data-copy=\"invite-link-"));
    let prefix = "https://support.example.com/app/password/reset?token=";
    assert!(page.contains(prefix), "{page}");
    let link = link_in(&page);
    let token = &link[link.find('=').unwrap() + 1..];
    // One token, stored as its digest only, valid 7 days.
    assert_eq!(
        app.count(&format!(
            "password_reset_tokens WHERE user_id = {cara} AND used_at IS NULL \
             AND expires_at BETWEEN now() + interval '6 days 23 hours' AND now() + interval '7 days 1 minute'"
        )),
        1
    );
    assert_eq!(
        app.count(&format!(
            "password_reset_tokens WHERE token_digest LIKE '%{token}%'"
        )),
        0
    );

    // The link sets Cara's password once.
    let mut visitor = Browser::new(&app);
    let (status, form, _) = visitor.get(&link).await;
    assert_eq!(status, 200);
    let csrf = Browser::csrf_from(&form);
    let post = |csrf: &str| {
        test::TestRequest::post()
            .uri("/app/password/reset")
            .set_form([
                ("token", token),
                ("password", "cara's password"),
                ("password_confirmation", "cara's password"),
                ("csrf_token", csrf),
            ])
    };
    let (status, _, location) = visitor.request(post(&csrf)).await;
    assert_eq!((status, location.as_deref()), (303, Some("/app")));
    let mut again = Browser::new(&app);
    let (_, form, _) = again.get(&link).await;
    let csrf = Browser::csrf_from(&form);
    let (status, page, _) = again.request(post(&csrf)).await;
    assert_eq!(status, 422);
    assert!(page.contains(accounts::EXPIRED_LINK));

    // Now she has a password: no more links for her (it would take over her account).
    let tokens = app.count("password_reset_tokens");
    let (status, page, _) = admin
        .submit(&agents, &format!("{agents}/{cara}/invitation_link"), &[])
        .await;
    assert_eq!(status, 422, "{page}");
    assert!(
        page.contains(&format!("id=\"invitation-{cara}-error\"")),
        "{page}"
    );
    assert!(!page.contains("?token="));
    assert_eq!(app.count("password_reset_tokens"), tokens);

    // Someone pending in another account too is that account's to invite: refused.
    let mut conn = app.conn();
    let other = accounts::create_admin(
        &mut conn,
        "Other Co",
        "Olga",
        "olga@example.com",
        "olga pass",
    )
    .unwrap();
    let dan = accounts::invite_agent(
        &mut conn,
        other.account_id,
        other.user_id,
        "Dan Double",
        "dan@example.com",
        accounts::Role::Agent,
    )
    .unwrap()
    .member
    .user
    .id;
    accounts::invite_agent(
        &mut conn,
        acc,
        app.admin_id,
        "Dan Double",
        "dan@example.com",
        accounts::Role::Agent,
    )
    .unwrap();
    drop(conn);
    let (status, page, _) = admin
        .submit(&agents, &format!("{agents}/{dan}/invitation_link"), &[])
        .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("invited to another account too"), "{page}");
    assert_eq!(app.count("password_reset_tokens"), tokens);
}

#[actix_rt::test]
async fn the_sidebar_tells_its_two_alls_apart_and_its_counts_follow_the_data() {
    let app = TestApp::start();
    let acc = app.account_id;
    app.create_inbox_direct();
    let mut ana = Browser::new(&app);
    ana.sign_in("ana@example.com", "correct horse").await;
    let (status, page, _) = ana.get(&format!("/app/accounts/{acc}/conversations")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(">All conversations <span class=\"count\">0<"),
        "{page}"
    );
    assert!(
        page.contains(">All statuses <span class=\"count\">0<"),
        "{page}"
    );
    assert!(
        !page.contains(">All <span"),
        "an entry is still called just \"All\""
    );

    // The fragment the page's script swaps in follows new data without a reload.
    let sidebar = format!("/app/accounts/{acc}/partials/sidebar?assignee_type=all&status=open");
    app.deliver("text.json").await;
    let (status, part, _) = ana.get(&sidebar).await;
    assert_eq!(status, 200, "{part}");
    assert!(
        part.contains(">All conversations <span class=\"count\">1<"),
        "{part}"
    );
    assert!(
        part.contains(">Unassigned <span class=\"count\">1<"),
        "{part}"
    );
    assert!(part.contains(">Open <span class=\"count\">1<"), "{part}");
    assert!(part.contains(">Support <span class=\"count\">1<"), "{part}");
    // The active filters stay marked.
    assert!(part.contains("aria-current=\"page\" class=\"active\">All conversations"));
    let (status, _) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{acc}/conversations/1/toggle_status"),
            Some(serde_json::json!({"status": "snoozed"})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 200);
    let (_, part, _) = ana.get(&sidebar).await;
    assert!(part.contains(">Open <span class=\"count\">0<"), "{part}");
    assert!(part.contains(">Snoozed <span class=\"count\">1<"), "{part}");
    assert!(
        part.contains(">All statuses <span class=\"count\">1<"),
        "{part}"
    );
    assert!(
        part.contains(">All conversations <span class=\"count\">0<"),
        "{part}"
    );
    // An unknown status is a 422 naming it, not a 5xx.
    let (status, body, _) = ana
        .get(&format!(
            "/app/accounts/{acc}/partials/sidebar?status=bogus"
        ))
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("\"field\":\"status\""), "{body}");
}

/// Meta only calls public HTTPS URLs: the inbox page says so when `FRONTEND_URL` (and so the
/// webhook URL it shows) is plain http, and says nothing when it is https.
#[actix_rt::test]
async fn the_inbox_page_warns_when_the_webhook_url_is_not_https() {
    for (frontend, warned) in [
        ("http://127.0.0.1:3000", true),
        ("https://support.example.com", false),
    ] {
        let app = TestApp::start_with(Options {
            frontend_url: Some(frontend.into()),
            ..Options::default()
        });
        let (inbox, _) = app.create_inbox_direct();
        let mut admin = Browser::new(&app);
        admin.sign_in("ana@example.com", "correct horse").await;
        let (status, html, _) = admin
            .get(&format!(
                "/app/accounts/{}/settings/inboxes/{}",
                app.account_id, inbox.id
            ))
            .await;
        assert_eq!(status, 200);
        assert!(
            html.contains(&format!("{frontend}/webhooks/whatsapp/")),
            "{html}"
        );
        assert_eq!(
            html.contains("id=\"webhook-url-warning\""),
            warned,
            "{frontend}"
        );
        if warned {
            assert!(html.contains("Meta only calls a public HTTPS address"));
        }
    }
}

//! The administration API: agents (with invitation emails and password links), inbox
//! members, teams and labels, and who may use them.

use crate::common::*;
use serde_json::{json, Value};
use switchboard::domain::accounts;

fn field(v: &Value) -> &str {
    v["field"].as_str().unwrap_or("")
}

/// The password token in an invitation email (`…/app/password/reset?token=<hex>`).
fn token_in(eml: &str) -> String {
    let start = eml
        .find("/app/password/reset?token=")
        .expect("a password link in the email")
        + "/app/password/reset?token=".len();
    eml[start..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect()
}

#[actix_rt::test]
async fn agents_are_invited_by_email_and_set_their_password() {
    let app = TestApp::start();
    let acc = app.account_id;
    let agents = format!("/api/v1/accounts/{acc}/agents");
    let (_, agent_token) = app.create_agent("ben@example.com");

    // Everyone in the account lists agents; only administrators add them.
    let (status, list) = app.api("GET", &agents, None, &app.token).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["email"], "ana@example.com");
    assert_eq!(list[0]["role"], "administrator");
    assert_eq!(list[0]["confirmed"], true);
    assert_eq!(app.api("GET", &agents, None, &agent_token).await.0, 200);
    let cara = json!({"name": "Cara Carter", "email": " Cara@Example.com ", "role": "agent"});
    assert_eq!(
        app.api("POST", &agents, Some(cara.clone()), &agent_token)
            .await
            .0,
        403
    );
    assert_eq!(
        app.api("POST", &agents, Some(cara.clone()), "").await.0,
        401
    );

    // Validation names the field.
    for (body, name) in [
        (
            json!({"name": "X", "email": "not-an-email", "role": "agent"}),
            "email",
        ),
        (
            json!({"name": "X", "email": "x@example", "role": "agent"}),
            "email",
        ),
        (
            json!({"name": "X", "email": "x@example.com", "role": "owner"}),
            "role",
        ),
        (json!({"name": "X", "email": "x@example.com"}), "role"),
        (
            json!({"name": " ", "email": "x@example.com", "role": "agent"}),
            "name",
        ),
        (json!({"email": "x@example.com", "role": "agent"}), "name"),
        (
            json!({"name": "Ana", "email": "ANA@example.com", "role": "agent"}),
            "email",
        ),
    ] {
        let (status, err) = app
            .api("POST", &agents, Some(body.clone()), &app.token)
            .await;
        assert_eq!(status, 422, "{body}: {err}");
        assert_eq!(field(&err), name, "{body}: {err}");
    }
    assert_eq!(app.count("jobs WHERE kind = 'email'"), 0);

    let (status, created) = app.api("POST", &agents, Some(cara), &app.token).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["email"], "cara@example.com");
    assert_eq!(created["name"], "Cara Carter");
    assert_eq!(created["role"], "agent");
    assert_eq!(created["account_id"], acc);
    assert_eq!(created["confirmed"], false);
    let cara_id = created["id"].as_i64().unwrap();
    // No usable password until the link is used.
    assert!(
        accounts::verify_password(&mut app.conn(), "cara@example.com", "")
            .unwrap()
            .is_none()
    );

    // The invitation goes out through the email job, as an .eml file without SMTP.
    assert_eq!(
        app.count("jobs WHERE kind = 'email' AND status = 'pending'"),
        1
    );
    let files = app.run_email_jobs().await;
    assert_eq!(files.len(), 1);
    assert!(files[0].starts_with(app.storage.join("mail")));
    let eml = read_eml(&files[0]);
    assert!(eml.contains("To: cara@example.com"), "{eml}");
    assert!(eml.contains("Subject: You have been invited to Acme on Switchboard"));
    assert!(eml.contains("Ana Admin has invited you"));
    assert!(eml.contains("https://support.example.com/app/password/reset?token="));
    assert_eq!(
        app.count("jobs WHERE kind = 'email' AND status = 'done'"),
        1
    );
    let token = token_in(&eml);
    assert_eq!(token.len(), 64, "{eml}");
    // Only the digest is stored, and nothing secret sits in the job.
    assert_eq!(
        app.count(&format!(
            "password_reset_tokens WHERE user_id = {cara_id} AND expires_at > now() + interval '6 days 23 hours'"
        )),
        1
    );
    assert_eq!(
        app.count(&format!(
            "password_reset_tokens WHERE token_digest = '{token}'"
        )),
        0
    );
    assert_eq!(
        app.count(&format!("jobs WHERE payload::text LIKE '%{token}%'")),
        0
    );

    // Setting the password: too short is refused without spending the link.
    let err = accounts::reset_password_with_token(&mut app.conn(), &token, "short").unwrap_err();
    assert!(
        matches!(&err, switchboard::error::AppError::Unprocessable { field: Some(f), .. } if f == "password")
    );
    let user =
        accounts::reset_password_with_token(&mut app.conn(), &token, "a good password").unwrap();
    assert_eq!(user.id, cara_id);
    let signed_in =
        accounts::verify_password(&mut app.conn(), "CARA@example.com", "a good password").unwrap();
    assert_eq!(signed_in.map(|u| u.id), Some(cara_id));
    assert!(
        accounts::verify_password(&mut app.conn(), "cara@example.com", "wrong password")
            .unwrap()
            .is_none()
    );
    assert!(
        accounts::verify_password(&mut app.conn(), "nobody@example.com", "a good password")
            .unwrap()
            .is_none()
    );
    // The link works once.
    let err = accounts::reset_password_with_token(&mut app.conn(), &token, "another password")
        .unwrap_err();
    assert_eq!(err.to_string(), accounts::EXPIRED_LINK);
    assert!(
        matches!(&err, switchboard::error::AppError::Unprocessable { field: Some(f), .. } if f == "token")
    );
    // Expired and unknown links read the same.
    let expired =
        accounts::create_password_token(&mut app.conn(), cara_id, chrono::TimeDelta::seconds(-1))
            .unwrap();
    for t in [expired.as_str(), "0123456789abcdef", ""] {
        let err = accounts::reset_password_with_token(&mut app.conn(), t, "another password")
            .unwrap_err();
        assert_eq!(err.to_string(), accounts::EXPIRED_LINK);
    }
    let (_, list) = app.api("GET", &agents, None, &app.token).await;
    let cara = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == cara_id)
        .unwrap();
    assert_eq!(cara["confirmed"], true);

    // Adding the same person again is refused.
    let (status, err) = app
        .api(
            "POST",
            &agents,
            Some(json!({"name": "Cara", "email": "cara@example.com", "role": "agent"})),
            &app.token,
        )
        .await;
    assert_eq!((status, field(&err)), (422, "email"), "{err}");
}

#[actix_rt::test]
async fn an_existing_user_joins_with_a_sign_in_link() {
    let app = TestApp::start();
    let other = accounts::create_admin(
        &mut app.conn(),
        "Other Co",
        "Olga Other",
        "olga@example.com",
        "olga's password",
    )
    .unwrap();
    let (status, added) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{}/agents", app.account_id),
            Some(json!({"name": "Someone Else", "email": "olga@example.com", "role": "administrator"})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{added}");
    assert_eq!(added["id"], other.user_id);
    assert_eq!(added["name"], "Olga Other");
    assert_eq!(added["role"], "administrator");
    assert_eq!(added["confirmed"], true);
    let files = app.run_email_jobs().await;
    let eml = read_eml(&files[0]);
    assert!(
        eml.contains("https://support.example.com/app/login"),
        "{eml}"
    );
    assert!(!eml.contains("reset?token="));
    assert_eq!(app.count("password_reset_tokens"), 0);
    // Still an administrator of their own account.
    assert_eq!(
        accounts::role_in(&mut app.conn(), other.account_id, other.user_id).unwrap(),
        Some(accounts::Role::Administrator)
    );
}

#[actix_rt::test]
async fn agents_change_role_and_leave_but_one_administrator_stays() {
    let app = TestApp::start();
    let acc = app.account_id;
    let (inbox, _) = app.create_inbox_direct();
    app.deliver("text.json").await;
    let (ben, ben_token) = app.create_agent("ben@example.com");
    let agent_path = |id: i64| format!("/api/v1/accounts/{acc}/agents/{id}");

    // Agents cannot change anyone.
    assert_eq!(
        app.api(
            "PATCH",
            &agent_path(ben),
            Some(json!({"role": "administrator"})),
            &ben_token
        )
        .await
        .0,
        403
    );
    assert_eq!(
        app.api("DELETE", &agent_path(app.admin_id), None, &ben_token)
            .await
            .0,
        403
    );

    // The only administrator can be neither demoted nor removed.
    let (status, err) = app
        .api(
            "PATCH",
            &agent_path(app.admin_id),
            Some(json!({"role": "agent"})),
            &app.token,
        )
        .await;
    assert_eq!((status, field(&err)), (422, "role"), "{err}");
    let (status, err) = app
        .api("DELETE", &agent_path(app.admin_id), None, &app.token)
        .await;
    assert_eq!((status, field(&err)), (422, "id"), "{err}");

    // Validation and unknown agents.
    let (status, err) = app
        .api(
            "PATCH",
            &agent_path(ben),
            Some(json!({"role": "owner"})),
            &app.token,
        )
        .await;
    assert_eq!((status, field(&err)), (422, "role"));
    let (status, err) = app
        .api(
            "PATCH",
            &agent_path(ben),
            Some(json!({"name": ""})),
            &app.token,
        )
        .await;
    assert_eq!((status, field(&err)), (422, "name"));
    assert_eq!(
        app.api(
            "PATCH",
            &agent_path(987654),
            Some(json!({"name": "X"})),
            &app.token
        )
        .await
        .0,
        404
    );
    let stranger = accounts::create_admin(
        &mut app.conn(),
        "Else",
        "Eve",
        "eve@example.com",
        "password1",
    )
    .unwrap();
    assert_eq!(
        app.api("DELETE", &agent_path(stranger.user_id), None, &app.token)
            .await
            .0,
        404
    );

    // Promote Ben; then the first administrator may step down.
    let (status, promoted) = app
        .api(
            "PATCH",
            &agent_path(ben),
            Some(json!({"role": "administrator", "name": "Ben Boss"})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{promoted}");
    assert_eq!(promoted["role"], "administrator");
    assert_eq!(promoted["name"], "Ben Boss");
    let (status, demoted) = app
        .api(
            "PATCH",
            &agent_path(app.admin_id),
            Some(json!({"role": "agent"})),
            &app.token,
        )
        .await;
    assert_eq!(
        (status, demoted["role"].as_str()),
        (200, Some("agent")),
        "{demoted}"
    );
    // Ana is an agent now: she can no longer change anyone.
    assert_eq!(
        app.api(
            "PATCH",
            &agent_path(ben),
            Some(json!({"name": "X"})),
            &app.token
        )
        .await
        .0,
        403
    );
    let (status, ana) = app
        .api(
            "PATCH",
            &agent_path(app.admin_id),
            Some(json!({"role": "administrator"})),
            &ben_token,
        )
        .await;
    assert_eq!((status, ana["role"].as_str()), (200, Some("administrator")));
    let (status, back) = app
        .api(
            "PATCH",
            &agent_path(ben),
            Some(json!({"role": "agent"})),
            &app.token,
        )
        .await;
    assert_eq!((status, back["role"].as_str()), (200, Some("agent")));

    // Ben works the inbox and holds the conversation; removing him ends both.
    let (status, _) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{acc}/inbox_members"),
            Some(json!({"inbox_id": inbox.id, "user_ids": [ben]})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{acc}/conversations/1/assignments"),
            Some(json!({"assignee_id": ben})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.count(&format!("conversations WHERE assignee_id = {ben}")),
        1
    );
    let (status, body) = app.api("DELETE", &agent_path(ben), None, &app.token).await;
    assert_eq!((status, body), (200, Value::Null));
    assert_eq!(
        app.count(&format!("conversations WHERE assignee_id = {ben}")),
        0
    );
    assert_eq!(
        app.count(&format!("inbox_members WHERE user_id = {ben}")),
        0
    );
    assert_eq!(
        app.count(&format!("users WHERE id = {ben}")),
        1,
        "the user stays"
    );
    let (_, list) = app
        .api(
            "GET",
            &format!("/api/v1/accounts/{acc}/agents"),
            None,
            &app.token,
        )
        .await;
    assert!(list.as_array().unwrap().iter().all(|a| a["id"] != ben));
    // Ben's token no longer opens the account.
    assert_eq!(
        app.api(
            "GET",
            &format!("/api/v1/accounts/{acc}/agents"),
            None,
            &ben_token
        )
        .await
        .0,
        404
    );
}

#[actix_rt::test]
async fn inbox_members_are_added_replaced_and_removed() {
    let app = TestApp::start();
    let acc = app.account_id;
    let (inbox, _) = app.create_inbox_direct();
    app.deliver("text.json").await;
    let (ben, ben_token) = app.create_agent("ben@example.com");
    let (dan, _) = app.create_agent("dan@example.com");
    let members = format!("/api/v1/accounts/{acc}/inbox_members");
    let show = format!("{members}/{}", inbox.id);
    let ids = |v: &Value| -> Vec<i64> {
        v["payload"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_i64().unwrap())
            .collect()
    };

    let (status, list) = app.api("GET", &show, None, &app.token).await;
    assert_eq!((status, ids(&list)), (200, vec![]));
    // An agent outside the inbox does not see it.
    assert_eq!(app.api("GET", &show, None, &ben_token).await.0, 404);

    let (status, list) = app
        .api(
            "POST",
            &members,
            Some(json!({"inbox_id": inbox.id, "user_ids": [ben]})),
            &app.token,
        )
        .await;
    assert_eq!((status, ids(&list)), (200, vec![ben]), "{list}");
    assert_eq!(list["payload"][0]["email"], "ben@example.com");
    // POST adds to the list.
    let (status, list) = app
        .api(
            "POST",
            &members,
            Some(json!({"inbox_id": inbox.id.to_string(), "user_ids": [dan, ben]})),
            &app.token,
        )
        .await;
    assert_eq!((status, ids(&list)), (200, vec![ben, dan]));
    let (status, list) = app.api("GET", &show, None, &ben_token).await;
    assert_eq!((status, ids(&list)), (200, vec![ben, dan]));

    // Only administrators change members.
    for method in ["POST", "PATCH", "DELETE"] {
        let (status, _) = app
            .api(
                method,
                &members,
                Some(json!({"inbox_id": inbox.id, "user_ids": [ben]})),
                &ben_token,
            )
            .await;
        assert_eq!(status, 403, "{method}");
    }

    // Validation.
    let other = accounts::create_admin(
        &mut app.conn(),
        "Else",
        "Eve",
        "eve@example.com",
        "password1",
    )
    .unwrap();
    for (body, name) in [
        (json!({"user_ids": [ben]}), "inbox_id"),
        (json!({"inbox_id": inbox.id}), "user_ids"),
        (json!({"inbox_id": inbox.id, "user_ids": "1"}), "user_ids"),
        (
            json!({"inbox_id": inbox.id, "user_ids": [987654]}),
            "user_ids",
        ),
        (
            json!({"inbox_id": inbox.id, "user_ids": [other.user_id]}),
            "user_ids",
        ),
    ] {
        let (status, err) = app
            .api("POST", &members, Some(body.clone()), &app.token)
            .await;
        assert_eq!((status, field(&err)), (422, name), "{body}: {err}");
    }
    assert_eq!(
        app.api(
            "POST",
            &members,
            Some(json!({"inbox_id": 987654, "user_ids": [ben]})),
            &app.token
        )
        .await
        .0,
        404
    );
    assert_eq!(
        app.api("GET", &format!("{members}/987654"), None, &app.token)
            .await
            .0,
        404
    );

    // Ben holds the conversation; PATCH keeps only Dan, so Ben leaves and is unassigned.
    let (status, _) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{acc}/conversations/1/assignments"),
            Some(json!({"assignee_id": ben})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200);
    let (status, list) = app
        .api(
            "PATCH",
            &members,
            Some(json!({"inbox_id": inbox.id, "user_ids": [dan]})),
            &app.token,
        )
        .await;
    assert_eq!((status, ids(&list)), (200, vec![dan]));
    assert_eq!(app.count("conversations WHERE assignee_id IS NOT NULL"), 0);
    assert_eq!(app.api("GET", &show, None, &ben_token).await.0, 404);

    let (status, body) = app
        .api(
            "DELETE",
            &members,
            Some(json!({"inbox_id": inbox.id, "user_ids": [dan]})),
            &app.token,
        )
        .await;
    assert_eq!((status, body), (200, Value::Null));
    let (_, list) = app.api("GET", &show, None, &app.token).await;
    assert_eq!(ids(&list), Vec::<i64>::new());
    // PATCH with [] empties the list too.
    app.api(
        "POST",
        &members,
        Some(json!({"inbox_id": inbox.id, "user_ids": [ben, dan]})),
        &app.token,
    )
    .await;
    let (status, list) = app
        .api(
            "PATCH",
            &members,
            Some(json!({"inbox_id": inbox.id, "user_ids": []})),
            &app.token,
        )
        .await;
    assert_eq!((status, ids(&list)), (200, vec![]));
}

#[actix_rt::test]
async fn teams_crud_with_unique_names() {
    let app = TestApp::start();
    let acc = app.account_id;
    app.create_inbox_direct();
    app.deliver("text.json").await;
    let (_, agent) = app.create_agent("ben@example.com");
    let teams = format!("/api/v1/accounts/{acc}/teams");

    let (status, billing) = app
        .api(
            "POST",
            &teams,
            Some(
                json!({"name": " Billing ", "description": "Invoices", "allow_auto_assign": false}),
            ),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{billing}");
    assert_eq!(
        billing,
        json!({"id": billing["id"], "name": "Billing", "description": "Invoices",
               "allow_auto_assign": false, "account_id": acc, "is_member": false})
    );
    let id = billing["id"].as_i64().unwrap();
    let (status, sales) = app
        .api("POST", &teams, Some(json!({"name": "Sales"})), &app.token)
        .await;
    assert_eq!(status, 200);
    assert_eq!(sales["allow_auto_assign"], true);
    assert_eq!(sales["description"], Value::Null);

    for body in [
        json!({"name": "billing"}),
        json!({"name": "  "}),
        json!({"description": "no name"}),
        json!({"name": "X", "allow_auto_assign": "yes"}),
    ] {
        let (status, err) = app
            .api("POST", &teams, Some(body.clone()), &app.token)
            .await;
        assert_eq!(status, 422, "{body}: {err}");
    }
    let (_, err) = app
        .api("POST", &teams, Some(json!({"name": "BILLING"})), &app.token)
        .await;
    assert_eq!(field(&err), "name");

    // Everyone reads; only administrators write.
    let (status, list) = app.api("GET", &teams, None, &agent).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Billing", "Sales"]);
    let one = format!("{teams}/{id}");
    assert_eq!(
        app.api("GET", &one, None, &agent).await.1["name"],
        "Billing"
    );
    assert_eq!(
        app.api("POST", &teams, Some(json!({"name": "Mine"})), &agent)
            .await
            .0,
        403
    );
    assert_eq!(
        app.api("PATCH", &one, Some(json!({"name": "Mine"})), &agent)
            .await
            .0,
        403
    );
    assert_eq!(app.api("DELETE", &one, None, &agent).await.0, 403);

    let (status, renamed) = app
        .api(
            "PATCH",
            &one,
            Some(json!({"name": "Accounts", "allow_auto_assign": true})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(renamed["name"], "Accounts");
    assert_eq!(renamed["description"], "Invoices");
    assert_eq!(renamed["allow_auto_assign"], true);
    // Keeping its own name (another case) is fine; taking another team's is not.
    assert_eq!(
        app.api("PATCH", &one, Some(json!({"name": "ACCOUNTS"})), &app.token)
            .await
            .0,
        200
    );
    let (status, err) = app
        .api("PATCH", &one, Some(json!({"name": "sales"})), &app.token)
        .await;
    assert_eq!((status, field(&err)), (422, "name"));

    // Absent and other accounts' teams are 404.
    let other = accounts::create_admin(
        &mut app.conn(),
        "Else",
        "Eve",
        "eve@example.com",
        "password1",
    )
    .unwrap();
    let theirs = accounts::create_team(&mut app.conn(), other.account_id, "Theirs", None).unwrap();
    for path in [format!("{teams}/987654"), format!("{teams}/{}", theirs.id)] {
        assert_eq!(app.api("GET", &path, None, &app.token).await.0, 404);
        assert_eq!(app.api("DELETE", &path, None, &app.token).await.0, 404);
    }
    // The same name in another account is fine.
    assert!(accounts::create_team(&mut app.conn(), other.account_id, "Sales", None).is_ok());

    // Deleting a team leaves its conversations working, without a team.
    let (status, _) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{acc}/conversations/1/assignments"),
            Some(json!({"team_id": id})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app.api("DELETE", &one, None, &app.token).await;
    assert_eq!((status, body), (200, Value::Null));
    let conv = app
        .get(&format!("/api/v1/accounts/{acc}/conversations/1"))
        .await;
    assert_eq!(conv["team_id"], Value::Null);
    assert_eq!(conv["meta"]["team"], Value::Null);
    assert_eq!(app.api("GET", &one, None, &app.token).await.0, 404);
}

#[actix_rt::test]
async fn labels_crud_and_conversations_follow_renames_and_deletes() {
    let app = TestApp::start();
    let acc = app.account_id;
    app.create_inbox_direct();
    app.deliver("text.json").await;
    let (_, agent) = app.create_agent("ben@example.com");
    let labels = format!("/api/v1/accounts/{acc}/labels");

    let (status, billing) = app
        .api(
            "POST",
            &labels,
            Some(json!({"title": "Billing", "description": "Money", "color": "#FF0000", "show_on_sidebar": false})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{billing}");
    assert_eq!(
        billing,
        json!({"id": billing["id"], "title": "billing", "description": "Money",
               "color": "#FF0000", "show_on_sidebar": false})
    );
    let (status, vip) = app
        .api("POST", &labels, Some(json!({"title": "vip"})), &app.token)
        .await;
    assert_eq!(status, 200);
    assert_eq!(vip["color"], "#1f93ff");
    assert_eq!(vip["show_on_sidebar"], true);
    assert_eq!(vip["description"], "");

    for (body, name) in [
        (json!({"title": "bad label"}), "title"),
        (json!({"title": "BILLING"}), "title"),
        (json!({"title": ""}), "title"),
        (json!({"description": "no title"}), "title"),
        (json!({"title": "ok", "color": "red"}), "color"),
        (
            json!({"title": "ok", "show_on_sidebar": 1}),
            "show_on_sidebar",
        ),
    ] {
        let (status, err) = app
            .api("POST", &labels, Some(body.clone()), &app.token)
            .await;
        assert_eq!((status, field(&err)), (422, name), "{body}: {err}");
    }

    // Everyone reads; only administrators write.
    let (status, list) = app.api("GET", &labels, None, &agent).await;
    assert_eq!(status, 200);
    let titles: Vec<&str> = list["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["billing", "vip"]);
    let billing_path = format!("{labels}/{}", billing["id"]);
    let vip_path = format!("{labels}/{}", vip["id"]);
    assert_eq!(
        app.api("GET", &billing_path, None, &agent).await.1["title"],
        "billing"
    );
    assert_eq!(
        app.api("POST", &labels, Some(json!({"title": "mine"})), &agent)
            .await
            .0,
        403
    );
    assert_eq!(
        app.api(
            "PATCH",
            &billing_path,
            Some(json!({"title": "mine"})),
            &agent
        )
        .await
        .0,
        403
    );
    assert_eq!(app.api("DELETE", &billing_path, None, &agent).await.0, 403);

    // The conversation carries both labels and a free tag.
    let conv_labels = format!("/api/v1/accounts/{acc}/conversations/1/labels");
    let (status, _) = app
        .api(
            "POST",
            &conv_labels,
            Some(json!({"labels": ["billing", "vip", "other"]})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200);

    // Renaming follows into the conversation, keeping the list sorted.
    let (status, renamed) = app
        .api(
            "PATCH",
            &billing_path,
            Some(json!({"title": "Finance", "color": "#abc"})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["title"], "finance");
    assert_eq!(renamed["color"], "#abc");
    assert_eq!(renamed["description"], "Money");
    assert_eq!(
        app.get(&conv_labels).await["payload"],
        json!(["finance", "other", "vip"])
    );
    let (status, err) = app
        .api(
            "PATCH",
            &billing_path,
            Some(json!({"title": "VIP"})),
            &app.token,
        )
        .await;
    assert_eq!((status, field(&err)), (422, "title"));
    let (status, err) = app
        .api(
            "PATCH",
            &billing_path,
            Some(json!({"color": "#12345"})),
            &app.token,
        )
        .await;
    assert_eq!((status, field(&err)), (422, "color"));
    // Renaming onto a title the conversation already has leaves it once.
    let (status, _) = app
        .api(
            "PATCH",
            &vip_path,
            Some(json!({"title": "other"})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.get(&conv_labels).await["payload"],
        json!(["finance", "other"])
    );

    // Deleting removes it from the conversation.
    let (status, body) = app.api("DELETE", &billing_path, None, &app.token).await;
    assert_eq!((status, body), (200, Value::Null));
    assert_eq!(app.get(&conv_labels).await["payload"], json!(["other"]));
    assert_eq!(app.api("GET", &billing_path, None, &app.token).await.0, 404);
    assert_eq!(
        app.api("DELETE", &billing_path, None, &app.token).await.0,
        404
    );
    assert_eq!(
        app.api(
            "PATCH",
            &billing_path,
            Some(json!({"title": "x"})),
            &app.token
        )
        .await
        .0,
        404
    );

    // Another account's labels look absent, and the same title is free there.
    let other = accounts::create_admin(
        &mut app.conn(),
        "Else",
        "Eve",
        "eve@example.com",
        "password1",
    )
    .unwrap();
    let (status, theirs) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{}/labels", other.account_id),
            Some(json!({"title": "other"})),
            &other.api_access_token,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.api(
            "GET",
            &format!("{labels}/{}", theirs["id"]),
            None,
            &app.token
        )
        .await
        .0,
        404
    );
    // Their rename does not touch our conversation.
    let (status, _) = app
        .api(
            "PATCH",
            &format!(
                "/api/v1/accounts/{}/labels/{}",
                other.account_id, theirs["id"]
            ),
            Some(json!({"title": "renamed"})),
            &other.api_access_token,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(app.get(&conv_labels).await["payload"], json!(["other"]));
}

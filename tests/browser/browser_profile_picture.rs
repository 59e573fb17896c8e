use crate::browser_kit::*;

// Issue 12 (h12) in headless Chromium: the inbox settings show the WhatsApp business profile
// picture as an image, served by Switchboard from `…/business_profile/picture` (the CSP loads
// no image from Meta). The Graph stand-in plays Meta's CDN with a real PNG. Only the account's
// administrators get it (an agent 403, another account's or unknown inbox 404); a picture URL
// on a private address other than the configured Graph origin is refused by the SSRF guard.
// Screenshots at 1440×900 and 390×844 under `target/screenshots/profile-picture-*.png`.

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const PROFILE_PATH: &str = "/v25.0/106540352242922/whatsapp_business_profile";

async fn mount_profile(env: &Env, picture_url: &str) {
    let mut profile = graph_fixture("business_profile_get.json");
    profile["data"][0]["profile_picture_url"] = json!(picture_url);
    Mock::given(method("GET"))
        .and(path(PROFILE_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(profile))
        .mount(&env.graph)
        .await;
}

/// `fetch(url)` from the page: the status.
async fn status_of(c: &fantoccini::Client, url: &str) -> i64 {
    js(
        c,
        &format!("return fetch({url:?}, {{credentials: 'same-origin'}}).then(r => r.status)"),
    )
    .await
    .as_i64()
    .unwrap()
}

#[tokio::test]
async fn the_business_profile_picture_is_shown_as_an_image() {
    let _one = SERIAL.lock().await;
    let env = Env::start().await;
    let png: &[u8] = include_bytes!("../fixtures/media/box.png");
    Mock::given(method("GET"))
        .and(path("/pps/v/t61/profile.png"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "image/png")
                .set_body_bytes(png.to_vec()),
        )
        .mount(&env.graph)
        .await;
    mount_profile(
        &env,
        &format!("{}/pps/v/t61/profile.png?oh=abc", env.graph.uri()),
    )
    .await;
    let inbox_id = env.create_inbox().await["id"].as_i64().unwrap();
    let settings = env.url(&format!(
        "/app/accounts/{}/settings/inboxes/{inbox_id}",
        env.account_id
    ));
    let picture = format!(
        "/api/v1/accounts/{}/inboxes/{inbox_id}/business_profile/picture",
        env.account_id
    );

    for (w, h, tag) in [(1440, 900, "desktop"), (390, 844, "phone")] {
        let c = env.browser(w, h).await;
        env.sign_in(&c, "ana@example.com", "correct horse").await;
        c.goto(&settings).await.unwrap();
        wait_js(
            &c,
            "(() => { const i = document.querySelector('#bp-picture-current img'); return i && i.complete && i.naturalWidth > 0; })()",
            "the profile picture loaded",
        )
        .await;
        let shown = js(
            &c,
            "const i = document.querySelector('#bp-picture-current img'); return {w: i.naturalWidth, src: i.getAttribute('src'), alt: i.alt}",
        )
        .await;
        assert!(shown["w"].as_i64().unwrap() > 0, "{shown}");
        assert!(
            shown["src"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{picture}?v=")),
            "{shown}"
        );
        assert_eq!(shown["alt"], "Current WhatsApp profile picture");
        js(
            &c,
            "document.getElementById('business-profile').scrollIntoView({block: 'start'}); return true;",
        )
        .await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        screenshot(&c, &format!("profile-picture-{tag}")).await;
        let violations = axe_violations(&c).await;
        assert!(violations.is_empty(), "{violations:#?}");
        if tag == "desktop" {
            // The image route: bytes as Meta's CDN served them, cached briefly and privately.
            let resp = js(
                &c,
                &format!("return fetch({picture:?}, {{credentials: 'same-origin'}}).then(async r => ({{status: r.status, type: r.headers.get('content-type'), cache: r.headers.get('cache-control'), size: (await r.arrayBuffer()).byteLength}}))"),
            )
            .await;
            assert_eq!(resp["status"], 200, "{resp}");
            assert_eq!(resp["type"], "image/png");
            assert_eq!(resp["cache"], "private, max-age=300");
            assert_eq!(resp["size"], png.len());
            // Another account's (or an unknown) inbox: 404.
            let other = format!(
                "/api/v1/accounts/{}/inboxes/{}/business_profile/picture",
                env.account_id,
                inbox_id + 1000
            );
            assert_eq!(status_of(&c, &other).await, 404);
        }
        c.close().await.unwrap();
    }

    // An agent of the account may not fetch it.
    env.create_agent("ben@example.com");
    env.add_member("ben@example.com");
    let c = env.browser(1440, 900).await;
    env.sign_in(&c, "ben@example.com", "agent password").await;
    c.goto(&env.url(&format!("/app/accounts/{}/conversations", env.account_id)))
        .await
        .unwrap();
    assert_eq!(status_of(&c, &picture).await, 403);
    c.close().await.unwrap();

    // A picture URL on a private address that is not the Graph origin: refused unfetched.
    env.graph.reset().await;
    mount_profile(&env, "https://127.0.0.1:9/pps/profile.png").await;
    let c = env.browser(1440, 900).await;
    env.sign_in(&c, "ana@example.com", "correct horse").await;
    c.goto(&settings).await.unwrap();
    let resp = js(
        &c,
        &format!("return fetch({picture:?}, {{credentials: 'same-origin'}}).then(async r => ({{status: r.status, body: await r.json()}}))"),
    )
    .await;
    assert_eq!(resp["status"], 502, "{resp}");
    assert!(
        resp["body"]["message"]
            .as_str()
            .unwrap()
            .contains("private or local address"),
        "{resp}"
    );
    wait_js(
        &c,
        "document.getElementById('bp-picture-current').textContent.includes('could not be loaded')",
        "the picture's error note",
    )
    .await;
    c.close().await.unwrap();
}

//! Issue 15 (retention) in Chromium: the contact page's "Export data" (administrators) is a
//! zip download whose `contact.json` holds the person's messages; Settings → Account saves the
//! conversation retention. Screenshots `target/screenshots/retention-*` at 1440×900 and
//! 390×844; axe-core on both pages.

use crate::browser_kit::*;
use crate::common::*;
use base64::Engine;
use std::io::Read;

/// `contact.json` of an export zip.
fn export_json(bytes: &[u8]) -> serde_json::Value {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut f = z.by_name("contact.json").expect("contact.json in the zip");
    let mut buf = vec![];
    f.read_to_end(&mut buf).unwrap();
    serde_json::from_slice(&buf).unwrap()
}

#[tokio::test]
async fn contact_export_downloads_a_zip_and_account_retention_saves() {
    let _one = SERIAL.lock().await;
    let env = Env::start().await;
    env.create_inbox().await;
    env.post_webhook(with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    env.wait_conversations(1).await;
    let contacts = env.api("GET", "/contacts", None).await;
    let contact = contacts["payload"][0]["id"].as_i64().expect("a contact");
    let mut problems = vec![];

    for (w, h) in [(1440, 900), (390, 844)] {
        let c = env.browser(w, h).await;
        env.sign_in_admin(&c).await;
        goto_app(&c, &env, &format!("/contacts/{contact}")).await;
        wait_js(
            &c,
            "document.querySelector('[data-export-contact]')",
            "the export link",
        )
        .await;
        screenshot(&c, &format!("retention-contact-{w}")).await;
        problems.extend(serious_axe_violations(&c).await);
        let overflow = js(
            &c,
            "const m = document.querySelector('main'); return document.documentElement.scrollWidth > window.innerWidth || m.scrollWidth > m.clientWidth",
        )
        .await;
        assert_eq!(
            overflow,
            serde_json::json!(false),
            "no sideways scroll at {w}"
        );
        if w == 1440 {
            // The link's download, fetched as the browser would (same session cookie).
            let got = c
                .execute_async(
                    "const done = arguments[arguments.length - 1];
                     const a = document.querySelector('[data-export-contact]');
                     fetch(a.href).then(async r => {
                       const buf = new Uint8Array(await r.arrayBuffer());
                       let s = ''; for (const b of buf) s += String.fromCharCode(b);
                       done({status: r.status, type: r.headers.get('content-type'),
                             disposition: r.headers.get('content-disposition'),
                             download: a.getAttribute('download'), body: btoa(s)});
                     }).catch(e => done({error: String(e)}));",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(got["status"], 200, "{got}");
            assert_eq!(got["type"], "application/zip");
            assert!(got["disposition"]
                .as_str()
                .unwrap()
                .contains(&format!("contact-{contact}.zip")));
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(got["body"].as_str().unwrap())
                .unwrap();
            let json = export_json(&bytes);
            assert_eq!(json["contact"]["id"], contact);
            let messages = json["messages"].as_array().unwrap();
            assert_eq!(messages.len(), 1, "{json}");
            assert!(!messages[0]["content"]
                .as_str()
                .unwrap_or_default()
                .is_empty());

            // Settings → Account: set 45 days.
            goto_app(&c, &env, "/settings/account").await;
            fill(&c, "#conversation-retention-days", "45").await;
            click(&c, "#retention-form button[type=submit]").await;
            wait_js(
                &c,
                "document.querySelector('.notice') && location.search.includes('notice')",
                "the saved notice",
            )
            .await;
            let shown = js(
                &c,
                "return document.querySelector('#conversation-retention-days').value",
            )
            .await;
            assert_eq!(shown, serde_json::json!("45"));
            let account = env.api("GET", "", None).await;
            assert_eq!(account["conversation_retention_days"], 45);
        } else {
            goto_app(&c, &env, "/settings/account").await;
        }
        wait_js(
            &c,
            "document.querySelector('#retention-form')",
            "the account settings",
        )
        .await;
        screenshot(&c, &format!("retention-settings-{w}")).await;
        problems.extend(serious_axe_violations(&c).await);
        let overflow = js(
            &c,
            "const m = document.querySelector('main'); return document.documentElement.scrollWidth > window.innerWidth || m.scrollWidth > m.clientWidth",
        )
        .await;
        assert_eq!(
            overflow,
            serde_json::json!(false),
            "no sideways scroll at {w}"
        );
        c.close().await.unwrap();
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

use crate::browser_kit::*;
use crate::common::*;

use serde_json::{json, Value};

/// An agent's reply deleted through `DELETE …/messages/{id}` shows in the thread as
/// "This message was deleted", marked deleted, at desktop and phone width and in the dark
/// theme, and the page keeps passing axe-core.
#[tokio::test]
async fn a_deleted_reply_reads_as_deleted() {
    let _one = SERIAL.lock().await;
    let env = Env::start().await;
    env.create_inbox().await;
    env.post_webhook(with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    env.wait_conversations(1).await;
    let kept = env
        .api(
            "POST",
            "/conversations/1/messages",
            Some(json!({"message": {"content": "Size M is in stock."}})),
        )
        .await;
    assert_eq!(kept["content"], "Size M is in stock.");
    let gone = env
        .api(
            "POST",
            "/conversations/1/messages",
            Some(json!({"content": "Sorry, wrong customer: your order ships Friday."})),
        )
        .await;
    let resp = env
        .http
        .delete(env.url(&format!(
            "/api/v1/accounts/{}/conversations/1/messages/{}/",
            env.account_id, gone["id"]
        )))
        .header("api_access_token", &env.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let deleted: Value = resp.json().await.unwrap();
    assert_eq!(deleted["content"], "This message was deleted");

    for (width, height, dark) in [(1440, 900, false), (390, 844, false), (1440, 900, true)] {
        let c = if dark {
            env.browser_with(width, height, &["--force-dark-mode"])
                .await
        } else {
            env.browser(width, height).await
        };
        env.sign_in_admin(&c).await;
        open_conversation(&c, &env, 1).await;
        wait_js(
            &c,
            "document.querySelector('.message.outgoing.deleted .content')",
            "the deleted bubble",
        )
        .await;
        let text = js(
            &c,
            "return document.querySelector('.message.deleted .content').textContent.trim()",
        )
        .await;
        assert_eq!(text, "This message was deleted");
        let style = js(
            &c,
            "return getComputedStyle(document.querySelector('.message.deleted .content')).fontStyle",
        )
        .await;
        assert_eq!(style, "italic");
        // The other reply is untouched.
        let others = js(
            &c,
            "return [...document.querySelectorAll('.message.outgoing:not(.deleted) .content')].map(e => e.textContent.trim())",
        )
        .await;
        assert!(
            others
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == "Size M is in stock."),
            "{others}"
        );
        let name = format!("parity-deleted-{width}{}", if dark { "-dark" } else { "" });
        screenshot(&c, &name).await;
        let violations = axe_violations(&c).await;
        assert!(violations.is_empty(), "{name}: {violations:#?}");
        c.close().await.unwrap();
    }
}

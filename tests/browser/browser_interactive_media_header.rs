use crate::browser_kit::*;
use crate::common::*;

// Issue 12 (h12) in headless Chromium: reply buttons with a media header from the composer's
// Interactive dialog. The agent picks "Document (link)", gives the https link and a file name;
// the preview names the document, a plain http link is refused next to its field, and the
// Graph stand-in receives exactly Meta's `header: {"type": "document", "document": {"link",
// "filename"}}`. Screenshots at 1440×900 and 390×844, axe-core on the dialog.

use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn set(c: &fantoccini::Client, id: &str, value: &str) {
    js(
        c,
        &format!(
            "const e = document.getElementById({id:?}); e.value = {value:?}; e.dispatchEvent(new Event('input', {{bubbles: true}})); e.dispatchEvent(new Event('change', {{bubbles: true}})); return true"
        ),
    )
    .await;
}

async fn interactive_sent(env: &Env) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let sent: Vec<Value> = env
            .sent()
            .await
            .into_iter()
            .filter(|b| b["type"] == "interactive")
            .map(|b| b["interactive"].clone())
            .collect();
        if !sent.is_empty() {
            return sent;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "no send");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn reply_buttons_with_a_document_header_from_the_composer() {
    let _one = SERIAL.lock().await;
    let env = Env::start().await;
    env.create_inbox().await;
    env.post_webhook(with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    env.wait_conversations(1).await;
    let thread = env.url(&format!("/app/accounts/{}/conversations/1", env.account_id));

    for (w, h, tag) in [(390, 844, "phone"), (1440, 900, "desktop")] {
        let c = env.browser(w, h).await;
        env.sign_in(&c, "ana@example.com", "correct horse").await;
        c.goto(&thread).await.unwrap();
        wait_js(
            &c,
            "document.getElementById('open-interactive') && document.getElementById('open-interactive').getAttribute('aria-disabled') === 'false'",
            "the Interactive button, available",
        )
        .await;
        js(
            &c,
            "document.getElementById('open-interactive').click(); return true",
        )
        .await;
        wait_js(
            &c,
            "document.getElementById('interactive-builder').open",
            "the interactive dialog",
        )
        .await;
        // The header kind is offered for reply buttons, not for a list.
        assert_eq!(
            js(
                &c,
                "return document.getElementById('ib-header-type').closest('[hidden]') === null"
            )
            .await,
            true
        );
        set(&c, "ib-header-type", "document").await;
        wait_js(
            &c,
            "!document.getElementById('ib-header-link').closest('[hidden]') && !document.getElementById('ib-header-filename').closest('[hidden]') && document.getElementById('ib-header').closest('[hidden]')",
            "the link and file name fields instead of the header text",
        )
        .await;
        set(
            &c,
            "ib-body",
            "Your receipt for order 4521. Is everything right?",
        )
        .await;
        set(
            &c,
            "ib-header-link",
            "http://shop.example.com/receipts/4521.pdf",
        )
        .await;
        set(&c, "ib-header-filename", "Receipt 4521.pdf").await;
        js(&c, "const i = document.querySelectorAll('#ib-buttons input'); i[0].value = 'Yes'; i[1].value = 'Something is wrong'; i[1].dispatchEvent(new Event('input', {bubbles: true})); return true").await;
        wait_js(
            &c,
            "document.querySelector('#ib-preview .wa-media-header') && document.querySelector('#ib-preview .wa-media-header').textContent.includes('Document: Receipt 4521.pdf')",
            "the preview names the document",
        )
        .await;
        if tag == "phone" {
            // An http link: refused by the server next to the link field, nothing sent.
            js(
                &c,
                "document.getElementById('ib-send').click(); return true",
            )
            .await;
            wait_js(
                &c,
                "document.getElementById('ib-header-link').getAttribute('aria-invalid') === 'true' && document.getElementById('ib-error').textContent.includes('https://')",
                "the link error",
            )
            .await;
            js(&c, "document.querySelector('#ib-header-link').scrollIntoView({block: 'center'}); return true").await;
            screenshot(&c, "interactive-media-header-error-phone").await;
            c.close().await.unwrap();
            continue;
        }
        set(
            &c,
            "ib-header-link",
            "https://shop.example.com/receipts/4521.pdf",
        )
        .await;
        js(
            &c,
            "document.querySelector('#ib-preview').scrollIntoView({block: 'center'}); return true",
        )
        .await;
        screenshot(&c, &format!("interactive-media-header-{tag}")).await;
        let violations = axe_in(&c, "document.getElementById('interactive-builder')").await;
        assert!(violations.is_empty(), "{violations:#?}");
        js(
            &c,
            "document.getElementById('ib-send').click(); return true",
        )
        .await;
        let sent = interactive_sent(&env).await;
        assert_eq!(
            sent[0],
            json!({"type": "button",
                   "header": {"type": "document", "document": {"link": "https://shop.example.com/receipts/4521.pdf", "filename": "Receipt 4521.pdf"}},
                   "body": {"text": "Your receipt for order 4521. Is everything right?"},
                   "action": {"buttons": [
                     {"type": "reply", "reply": {"id": "Yes", "title": "Yes"}},
                     {"type": "reply", "reply": {"id": "Something is wrong", "title": "Something is wrong"}}]}})
        );
        // The thread names the header.
        wait_js(
            &c,
            "[...document.querySelectorAll('.thread-messages, #messages, main')].some(m => m.textContent.includes('Document: Receipt 4521.pdf'))",
            "the thread shows the document header",
        )
        .await;
        screenshot(&c, "interactive-media-header-thread-desktop").await;
        c.close().await.unwrap();
    }
}

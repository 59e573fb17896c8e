use crate::browser_kit::*;
use crate::common::*;

// Macros in the browser (ops13): an administrator runs a macro from the command palette
// (Ctrl+K) on the open conversation, then from the bulk bar on three selected conversations,
// and sees the effects arrive live (labels in the list, the note in the thread). Muted
// conversations show a badge and an Unmute button. axe on the palette and the bulk menu;
// screenshots at 1440×900 and 390×844.

use fantoccini::Client;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn text(from: &str, wamid: &str, body: &str) -> Vec<u8> {
    text_delivery(from, wamid, body).into_bytes()
}

fn serious(v: Vec<String>) -> Vec<String> {
    v.into_iter()
        .filter(|l| l.contains("(serious)") || l.contains("(critical)"))
        .collect()
}

/// Waits until the API shows `label` on every conversation of `ids`.
async fn wait_labelled(env: &Env, ids: &[i64], label: &str) {
    let started = Instant::now();
    loop {
        let mut all = true;
        for id in ids {
            let c = env.api("GET", &format!("/conversations/{id}"), None).await;
            all &= c["labels"]
                .as_array()
                .is_some_and(|l| l.contains(&json!(label)));
        }
        if all {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "labels {ids:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn select_rows(c: &Client, ids: &[i64]) {
    for id in ids {
        focus_click(c, &format!("input.row-select[data-select='{id}']")).await;
    }
    wait_js(
        c,
        &format!(
            "!document.querySelector('[data-bulk-bar]').hidden && document.querySelector('[data-bulk-count]').textContent === '{}'",
            ids.len()
        ),
        "the bulk bar",
    )
    .await;
}

#[tokio::test]
async fn run_a_macro_from_the_palette_and_from_the_bulk_bar_and_see_it_live() {
    let env = Env::start().await;
    env.create_inbox().await;
    for (i, from) in ["16505550501", "16505550502", "16505550503", "16505550504"]
        .iter()
        .enumerate()
    {
        env.post_webhook(text(from, &format!("wamid.bm{i}"), "Hello"))
            .await;
    }
    env.wait_conversations(4).await;
    let m = env
        .api(
            "POST",
            "/macros",
            Some(
                json!({"name": "Mark VIP", "visibility": "global", "actions": [
                {"action_name": "add_label", "action_params": ["vip"]},
                {"action_name": "change_priority", "action_params": ["high"]},
                {"action_name": "add_private_note", "action_params": ["VIP: answer first"]}]}),
            ),
        )
        .await;
    assert!(m["payload"]["id"].is_i64(), "{m}");

    let c = env.browser(1440, 900).await;
    env.sign_in_admin(&c).await;
    open_conversation(&c, &env, 1).await;
    js(&c, "window.switchboardMacros.load(); return true;").await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Ctrl+K, "Mark VIP", Enter.
    js(
        &c,
        "document.dispatchEvent(new KeyboardEvent('keydown', {key: 'k', ctrlKey: true, bubbles: true})); return true;",
    )
    .await;
    wait_js(
        &c,
        "document.getElementById('palette').open",
        "the command palette",
    )
    .await;
    fill(&c, "#palette-input", "Mark VIP").await;
    wait_js(
        &c,
        "document.querySelector('#palette-list [aria-selected=true]') && document.querySelector('#palette-list [aria-selected=true]').textContent.includes('Run macro Mark VIP')",
        "the macro command",
    )
    .await;
    screenshot(&c, "macros-palette-1440").await;
    let v = serious(axe_in(&c, "document.getElementById('palette')").await);
    assert!(v.is_empty(), "axe (palette): {v:?}");
    type_into(&c, "#palette-input", "\u{E007}").await;
    wait_js(
        &c,
        "document.getElementById('macro-toast') && document.getElementById('macro-toast').textContent.includes('Ran')",
        "the macro's toast",
    )
    .await;
    wait_labelled(&env, &[1], "vip").await;
    // Live: the note lands in the open thread, the label in the list.
    wait_js(
        &c,
        "document.getElementById('thread').textContent.includes('VIP: answer first')",
        "the macro's note in the thread",
    )
    .await;
    wait_js(
        &c,
        "document.getElementById('conversation-list').textContent.includes('#vip')",
        "the label in the list",
    )
    .await;
    screenshot(&c, "macros-palette-done-1440").await;

    // The bulk bar: three selected conversations.
    goto_app(&c, &env, "/conversations").await;
    wait_js(
        &c,
        "document.querySelectorAll('input.row-select').length === 4",
        "the list",
    )
    .await;
    select_rows(&c, &[2, 3, 4]).await;
    focus_click(&c, "[data-macro-bulk]").await;
    wait_js(
        &c,
        "document.querySelector('.macro-menu [data-macro-id]')",
        "the bulk macro menu",
    )
    .await;
    screenshot(&c, "macros-bulk-menu-1440").await;
    let v = serious(axe_in(&c, "document.querySelector('.macro-menu')").await);
    assert!(v.is_empty(), "axe (bulk menu): {v:?}");
    focus_click(&c, ".macro-menu [data-macro-id]").await;
    wait_js(
        &c,
        "document.getElementById('macro-toast') && document.getElementById('macro-toast').textContent.includes('3 conversations')",
        "the bulk toast",
    )
    .await;
    wait_labelled(&env, &[2, 3, 4], "vip").await;
    // Live: every row of the open list shows the label without a reload.
    wait_js(
        &c,
        "[...document.querySelectorAll('#conversation-list .conversation-row')].filter((r) => r.textContent.includes('#vip')).length === 4",
        "the labels in the list",
    )
    .await;
    for id in 2..=4 {
        let conv = env.api("GET", &format!("/conversations/{id}"), None).await;
        assert_eq!(conv["priority"], "high", "{conv}");
    }
    screenshot(&c, "macros-bulk-done-1440").await;

    // A muted conversation: badge and Unmute in the header.
    env.api("POST", "/conversations/1/mute", None).await;
    open_conversation(&c, &env, 1).await;
    wait_js(
        &c,
        "document.querySelector('.thread-header .muted-badge') && document.querySelector('.thread-header [data-action=unmute]')",
        "the muted header",
    )
    .await;
    screenshot(&c, "macros-muted-header-1440").await;
    let v = serious_axe_violations(&c).await;
    assert!(v.is_empty(), "axe (muted conversation): {v:?}");
    focus_click(&c, ".thread-header [data-action=unmute]").await;
    wait_js(
        &c,
        "!document.querySelector('.thread-header .muted-badge')",
        "unmuted",
    )
    .await;
    let conv = env.api("GET", "/conversations/1", None).await;
    assert_eq!(conv["muted"], json!(false), "{conv}");

    // Phone size: the bulk bar's macro menu.
    let p = env.browser(390, 844).await;
    env.sign_in_admin(&p).await;
    goto_app(&p, &env, "/conversations").await;
    wait_js(
        &p,
        "document.querySelectorAll('input.row-select').length === 3",
        "the list (phone; #1 stays resolved after its mute)",
    )
    .await;
    select_rows(&p, &[2, 3, 4]).await;
    focus_click(&p, "[data-macro-bulk]").await;
    wait_js(
        &p,
        "document.querySelector('.macro-menu [data-macro-id]')",
        "the bulk macro menu (phone)",
    )
    .await;
    screenshot(&p, "macros-bulk-menu-390").await;
    let inside: Value = js(
        &p,
        "const r = document.querySelector('.macro-menu').getBoundingClientRect(); return r.left >= 0 && r.right <= window.innerWidth;",
    )
    .await;
    assert_eq!(inside, json!(true), "the menu fits the phone's width");
    env.api("POST", "/conversations/2/mute", None).await;
    open_conversation(&p, &env, 2).await;
    wait_js(
        &p,
        "document.querySelector('.thread-header [data-action=unmute]')",
        "the muted header (phone)",
    )
    .await;
    screenshot(&p, "macros-muted-header-390").await;
}

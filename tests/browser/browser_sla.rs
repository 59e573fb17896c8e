use crate::browser_kit::*;
use crate::common::*;

// Issue 13 (SLA policies) in the browser: an administrator creates a policy in Settings →
// SLA, applies it to a conversation from the contact panel, sees the countdown chip in the
// list row and the thread header, and sees both turn "Breached" live when the deadline
// passes (the policy is tightened over the API; the page is not reloaded). axe (no serious
// violations) and screenshots at 1440×900 and 390×844.

use serde_json::json;

const NO_OVERFLOW: &str = "document.documentElement.scrollWidth <= window.innerWidth + 1";

#[tokio::test]
async fn create_a_policy_apply_it_and_watch_the_chip_breach() {
    let env = Env::start().await;
    env.create_inbox().await;
    env.post_webhook(with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    env.wait_conversations(1).await;

    let c = env.browser(1440, 900).await;
    env.sign_in_admin(&c).await;
    goto_app(&c, &env, "/settings/sla").await;
    wait_js(&c, "document.getElementById('new-sla')", "the SLA page").await;
    screenshot(&c, "sla-settings-empty-1440").await;

    // Create "Gold": first response within 30 minutes, resolution within 1 day.
    click(&c, "#new-sla").await;
    wait_js(
        &c,
        "document.getElementById('sla-editor').open",
        "the editor",
    )
    .await;
    fill(&c, "#sla-name", "Gold").await;
    fill(&c, "#sla-description", "VIP customers").await;
    fill(&c, "#sla-first_response_time_threshold", "30").await;
    fill(&c, "#sla-resolution_time_threshold", "1").await;
    js(
        &c,
        "document.getElementById('sla-resolution_time_threshold-unit').value = '86400'; return true;",
    )
    .await;
    screenshot(&c, "sla-editor-1440").await;
    let violations = serious_axe_violations(&c).await;
    assert!(violations.is_empty(), "axe (editor): {violations:#?}");
    click(&c, "#sla-save").await;
    wait_js(
        &c,
        "document.querySelector('.sla-item') && document.querySelector('.sla-item').textContent.includes('Gold')",
        "the new policy in the list",
    )
    .await;
    let summary = js(
        &c,
        "return document.querySelector('.sla-item .automation-summary').textContent",
    )
    .await;
    assert_eq!(summary, "First response 30m · Resolution 1d");
    let list = env.api("GET", "/sla_policies", None).await;
    let policy = &list["payload"][0];
    assert_eq!(policy["first_response_time_threshold"], 1800, "{list}");
    assert_eq!(policy["resolution_time_threshold"], 86400);
    let id = policy["id"].as_i64().unwrap();
    screenshot(&c, "sla-settings-1440").await;
    let violations = serious_axe_violations(&c).await;
    assert!(violations.is_empty(), "axe: {violations:#?}");

    // Apply it from the contact panel.
    open_conversation(&c, &env, 1).await;
    js(
        &c,
        &format!(
            "const s = document.getElementById('sla-policy'); s.value = '{id}'; \
             s.dispatchEvent(new Event('change', {{bubbles: true}})); return true;"
        ),
    )
    .await;
    wait_js(
        &c,
        "(() => { const h = document.querySelector('.thread-header [data-sla-chip]'); \
           const r = document.querySelector('.conversation-row [data-sla-chip]'); \
           return h && r && /^FRT (30|29)m$/.test(h.querySelector('.sla-text').textContent) \
             && /^FRT (30|29)m$/.test(r.querySelector('.sla-text').textContent); })()",
        "the FRT chip in the header and the list",
    )
    .await;
    let conv = env.api("GET", "/conversations/1", None).await;
    assert_eq!(conv["applied_sla"]["sla_id"], id, "{conv}");
    screenshot(&c, "sla-conversation-1440").await;
    let violations = serious_axe_violations(&c).await;
    assert!(violations.is_empty(), "axe (conversation): {violations:#?}");

    // Tightened to 5 seconds: the deadline passes and both chips turn "Breached" live.
    env.api(
        "PATCH",
        &format!("/sla_policies/{id}"),
        Some(json!({"first_response_time_threshold": 5})),
    )
    .await;
    wait_js(
        &c,
        "(() => { const h = document.querySelector('.thread-header [data-sla-chip]'); \
           const r = document.querySelector('.conversation-row [data-sla-chip]'); \
           return h && r && h.classList.contains('sla-breached') && r.classList.contains('sla-breached') \
             && h.textContent.includes('Breached') && r.textContent.includes('Breached'); })()",
        "the Breached chips",
    )
    .await;
    // The server recorded the miss (worker or recompute), and the bell got a notification.
    for _ in 0..100 {
        let conv = env.api("GET", "/conversations/1", None).await;
        if conv["sla_events"].as_array().is_some_and(|a| !a.is_empty()) {
            assert_eq!(conv["applied_sla"]["breached"], true, "{conv}");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let conv = env.api("GET", "/conversations/1", None).await;
    assert_eq!(conv["sla_events"][0]["event_type"], "frt", "{conv}");
    screenshot(&c, "sla-breached-1440").await;
    // The list's sort picker orders by SLA urgency: the breached conversation comes first.
    js(
        &c,
        "const s = document.querySelector('[data-sort]'); s.value = 'sla_due_asc'; \
         s.dispatchEvent(new Event('change', {bubbles: true})); return true;",
    )
    .await;
    wait_js(
        &c,
        "location.search.includes('sort_by=sla_due_asc') && !!document.querySelector( \
           '.conversation-row:first-of-type [data-sla-chip].sla-breached')",
        "the breached conversation first in the SLA sort",
    )
    .await;

    // Phone width: the settings page and the conversation.
    let p = env.browser(390, 844).await;
    env.sign_in_admin(&p).await;
    goto_app(&p, &env, "/settings/sla").await;
    wait_js(&p, "document.querySelector('.sla-item')", "the SLA page").await;
    assert_eq!(js(&p, &format!("return {NO_OVERFLOW}")).await, true);
    screenshot(&p, "sla-settings-390").await;
    let violations = serious_axe_violations(&p).await;
    assert!(violations.is_empty(), "axe (phone): {violations:#?}");
    goto_app(&p, &env, "/conversations").await;
    wait_js(
        &p,
        "document.querySelector('.conversation-row [data-sla-chip]')",
        "the list chip",
    )
    .await;
    assert_eq!(js(&p, &format!("return {NO_OVERFLOW}")).await, true);
    screenshot(&p, "sla-list-390").await;
    open_conversation(&p, &env, 1).await;
    wait_js(
        &p,
        "document.querySelector('.thread-header [data-sla-chip]')",
        "the header chip",
    )
    .await;
    screenshot(&p, "sla-conversation-390").await;
    let violations = serious_axe_violations(&p).await;
    assert!(
        violations.is_empty(),
        "axe (phone conversation): {violations:#?}"
    );
}

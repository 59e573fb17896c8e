//! BSUID-aware identity, forward-only statuses and updates that arrive before their message.

use crate::common::*;
use serde_json::json;
use switchboard::domain::messages::{self, message_type, NewMessage};

const OUTGOING_WAMID: &str = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJPVVRHT0lOR18wMDAwMDEA";

/// Stores an outgoing message with `wamid` in the main user's conversation, as the send job
/// will once Graph answers.
fn store_outgoing(app: &TestApp, wamid: &str) -> i64 {
    let mut conn = app.conn();
    let conversation_id = app
        .query_json("SELECT to_jsonb(id) FROM conversations ORDER BY id LIMIT 1")
        .as_i64()
        .unwrap();
    let new = NewMessage {
        account_id: app.account_id,
        inbox_id: 1,
        conversation_id,
        message_type: message_type::OUTGOING,
        content: Some("Yes, size M is in stock.".into()),
        content_type: "text".into(),
        content_attributes: json!({}),
        private: false,
        status: "progress".into(),
        source_id: Some(wamid.into()),
        external_error: None,
        sender_type: Some("User".into()),
        sender_id: Some(app.admin_id),
        created_at: chrono::Utc::now(),
    };
    use diesel::Connection;
    conn.transaction(|c| messages::insert_if_new(c, &new, &[]))
        .unwrap()
        .expect("new message")
        .0
        .id
}

fn outgoing_status(app: &TestApp) -> serde_json::Value {
    app.query_json(&format!(
        "SELECT jsonb_build_object('status', status, 'external_error', external_error, 'attrs', content_attributes) FROM messages WHERE source_id = '{OUTGOING_WAMID}'"
    ))
}

#[actix_rt::test]
async fn username_user_then_phone_and_bsuid_stays_in_one_conversation() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    app.deliver("text_username_no_phone.json").await;
    assert_eq!(app.count("contacts"), 1);
    assert_eq!(app.count("conversations"), 1);

    // Later the same user writes with a phone number and the BSUID.
    let later = json!({"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15551234567", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Pablo Morales", "username": "@pablomorales"}, "wa_id": "5215512345678", "user_id": "US.40011122233344455566"}],
        "messages": [{"from": "5215512345678", "from_user_id": "US.40011122233344455566", "id": "wamid.PABLO2", "timestamp": "1763712100", "type": "text", "text": {"body": "Here is my number too"}}]
    }}]}]});
    app.deliver_bytes(&serde_json::to_vec(&later).unwrap())
        .await;
    assert_eq!(app.count("contacts"), 1);
    assert_eq!(app.count("conversations"), 1);
    assert_eq!(app.messages().len(), 2);
    let c = &app.contacts()[0];
    assert_eq!(c["phone_number"], "+5215512345678");
    assert_eq!(c["username"], "@pablomorales");
    assert_eq!(
        app.count("contact_inboxes"),
        3,
        "phone, BSUID and parent BSUID"
    );

    // And a message carrying only the phone still lands there.
    let phone_only = serde_json::to_string(&later)
        .unwrap()
        .replace(",\"from_user_id\":\"US.40011122233344455566\"", "")
        .replace(",\"user_id\":\"US.40011122233344455566\"", "")
        .replace("wamid.PABLO2", "wamid.PABLO3");
    assert!(!phone_only.contains("from_user_id"));
    app.deliver_bytes(phone_only.as_bytes()).await;
    assert_eq!(app.count("conversations"), 1);
    assert_eq!(app.messages().len(), 3);
}

#[actix_rt::test]
async fn resolved_conversation_is_not_reused() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    app.deliver("text.json").await;
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE conversations SET status = 'resolved'"),
        &mut app.conn(),
    )
    .unwrap();
    app.deliver("text_forwarded.json").await;
    assert_eq!(app.count("conversations"), 2);
    assert_eq!(
        app.count("conversations WHERE display_id = 2 AND status = 'open'"),
        1
    );
}

#[actix_rt::test]
async fn status_before_message_is_applied_when_it_appears() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    app.deliver("text.json").await;
    app.deliver("status_delivered.json").await;
    assert_eq!(app.count("pending_message_updates"), 1);
    store_outgoing(&app, OUTGOING_WAMID);
    assert_eq!(app.count("pending_message_updates"), 0);
    assert_eq!(outgoing_status(&app)["status"], "delivered");
    // The rest of the round trip: sent (late, ignored), then read.
    app.deliver("status_sent.json").await;
    assert_eq!(outgoing_status(&app)["status"], "delivered");
    app.deliver("status_read.json").await;
    assert_eq!(outgoing_status(&app)["status"], "read");
}

#[actix_rt::test]
async fn statuses_only_move_forward() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    app.deliver("text.json").await;
    store_outgoing(&app, OUTGOING_WAMID);
    app.deliver("status_read.json").await;
    app.deliver("status_delivered.json").await;
    app.deliver("status_sent.json").await;
    assert_eq!(outgoing_status(&app)["status"], "read");
    // Read then delivered, both pending before the message exists, also end at read.
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    app.deliver("text.json").await;
    app.deliver("status_read.json").await;
    app.deliver("status_delivered.json").await;
    store_outgoing(&app, OUTGOING_WAMID);
    assert_eq!(outgoing_status(&app)["status"], "read");
}

#[actix_rt::test]
async fn failed_status_keeps_code_title_and_details() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    app.deliver("text.json").await;
    store_outgoing(&app, OUTGOING_WAMID);
    app.deliver("status_sent.json").await;
    app.deliver("status_failed_131047.json").await;
    let s = outgoing_status(&app);
    assert_eq!(s["status"], "failed");
    assert_eq!(s["external_error"], "131047: Re-engagement message");
    assert!(s["attrs"]["external_error_details"]
        .as_str()
        .unwrap()
        .contains("more than 24 hours"));
    // Failed is kept: a late delivered does not undo it.
    app.deliver("status_delivered.json").await;
    assert_eq!(outgoing_status(&app)["status"], "failed");
    // The API shows it.
    let thread = app
        .get(&format!(
            "/api/v1/accounts/{}/conversations/1/messages",
            app.account_id
        ))
        .await;
    let out = thread["payload"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["source_id"] == OUTGOING_WAMID)
        .unwrap()
        .clone();
    assert_eq!(out["status"], "failed");
    assert_eq!(out["message_type"], 1);
    assert_eq!(out["external_error"], "131047: Re-engagement message");
}

#[actix_rt::test]
async fn reaction_before_its_target_is_not_lost() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    app.deliver("reaction.json").await;
    assert_eq!(app.messages().len(), 0);
    assert_eq!(
        app.count("pending_message_updates WHERE kind = 'reaction'"),
        1
    );
    app.deliver("smb_message_echoes.json").await;
    let m = &app.messages()[0];
    assert_eq!(m["content_attributes"]["reactions"][0]["emoji"], "👍");
}

#[actix_rt::test]
async fn history_chunks_in_any_order_and_resent_do_not_duplicate() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    let chunk1 = webhook_fixture("history.json");
    // A second chunk with an older message, delivered first.
    let chunk0 = String::from_utf8(chunk1.clone())
        .unwrap()
        .replace(
            "HISTORY00000000000000000000000001",
            "HISTORY00000000000000000000000000",
        )
        .replace(
            "HISTORY00000000000000000000000002",
            "HISTORY0000000000000000000000000A",
        )
        .replace(
            "HISTORY00000000000000000000000003",
            "HISTORY0000000000000000000000000B",
        )
        .replace("\"chunk_order\": 1", "\"chunk_order\": 0")
        .replace("17636256", "17635256");
    app.deliver_bytes(&chunk1).await;
    app.deliver_bytes(chunk0.as_bytes()).await;
    app.deliver_bytes(&chunk1).await;
    let msgs = app.messages();
    assert_eq!(msgs.len(), 6);
    assert_eq!(app.count("conversations"), 1);
    assert_eq!(
        msgs[0]["source_id"], "wamid.HISTORY00000000000000000000000000",
        "ordered by original timestamp"
    );
}

fn text_from(phone: Option<&str>, bsuid: Option<&str>, name: &str, wamid: &str) -> Vec<u8> {
    let mut contact = json!({"profile": {"name": name}});
    let mut message = json!({"id": wamid, "timestamp": "1763712000", "type": "text", "text": {"body": format!("hello from {name}")}});
    if let Some(p) = phone {
        contact["wa_id"] = json!(p);
        message["from"] = json!(p);
    }
    if let Some(b) = bsuid {
        contact["user_id"] = json!(b);
        message["from_user_id"] = json!(b);
    }
    serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15551234567", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [contact], "messages": [message]}}]}]}))
    .unwrap()
}

#[actix_rt::test]
async fn a_user_seen_by_phone_and_by_bsuid_separately_is_merged_when_linked() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    app.deliver_bytes(&text_from(Some("16505550001"), None, "Dana", "wamid.M1"))
        .await;
    app.deliver_bytes(&text_from(None, Some("US.555"), "Dana", "wamid.M2"))
        .await;
    assert_eq!(app.count("contacts"), 2);
    app.deliver_bytes(&text_from(
        Some("16505550001"),
        Some("US.555"),
        "Dana",
        "wamid.M3",
    ))
    .await;
    assert_eq!(
        app.count("contacts"),
        1,
        "the payload linking both identifiers merges them"
    );
    let c = &app.contacts()[0];
    assert_eq!(c["phone_number"], "+16505550001");
    assert_eq!(c["bsuid"], "US.555");
    assert_eq!(
        app.count(&format!("contact_inboxes WHERE contact_id = {}", c["id"])),
        2
    );
    assert_eq!(
        app.count(&format!("conversations WHERE contact_id = {}", c["id"])),
        2
    );
    assert_eq!(
        app.count(&format!("messages WHERE sender_id = {}", c["id"])),
        3
    );
    // From now on both identifiers land in the same (latest) conversation.
    app.deliver_bytes(&text_from(Some("16505550001"), None, "Dana", "wamid.M4"))
        .await;
    app.deliver_bytes(&text_from(None, Some("US.555"), "Dana", "wamid.M5"))
        .await;
    assert_eq!(app.count("contacts"), 1);
    let convs: Vec<i64> = app
        .query_json("SELECT jsonb_agg(DISTINCT conversation_id) FROM messages WHERE source_id IN ('wamid.M3','wamid.M4','wamid.M5')")
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(convs.len(), 1);
}

#[actix_rt::test]
async fn a_recycled_phone_number_with_another_bsuid_is_a_new_contact() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    app.deliver_bytes(&text_from(
        Some("16505550002"),
        Some("US.OLDOWNER"),
        "Old Owner",
        "wamid.R1",
    ))
    .await;
    app.deliver_bytes(&text_from(
        Some("16505550002"),
        Some("US.NEWOWNER"),
        "New Owner",
        "wamid.R2",
    ))
    .await;
    assert_eq!(app.count("contacts"), 2);
    assert_eq!(app.count("conversations"), 2);
    let new_owner = app.query_json("SELECT to_jsonb(id) FROM contacts WHERE bsuid = 'US.NEWOWNER'");
    assert_eq!(
        app.count(&format!(
            "contact_inboxes WHERE source_id = '16505550002' AND contact_id = {new_owner}"
        )),
        1
    );
    // A later phone-only message goes to the number's current owner.
    app.deliver_bytes(&text_from(
        Some("16505550002"),
        None,
        "New Owner",
        "wamid.R3",
    ))
    .await;
    assert_eq!(
        app.count(&format!(
            "messages WHERE source_id = 'wamid.R3' AND sender_id = {new_owner}"
        )),
        1
    );
}

#[actix_rt::test]
async fn a_message_under_the_new_bsuid_before_the_rekey_notice_is_merged() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    app.deliver("text.json").await;
    // The first message under the new BSUID (no phone) arrives before user_id_update.
    app.deliver_bytes(&text_from(
        None,
        Some("US.99990000111122223333"),
        "Sheena Nelson",
        "wamid.EARLY",
    ))
    .await;
    assert_eq!(app.count("contacts"), 2);
    app.deliver("user_id_update.json").await;
    assert_eq!(app.count("contacts"), 1);
    assert_eq!(app.contacts()[0]["bsuid"], "US.99990000111122223333");
    assert_eq!(app.count("messages"), 2);
    assert_eq!(
        app.count("contact_inboxes"),
        3,
        "phone, old BSUID and new BSUID"
    );
}

#[actix_rt::test]
async fn a_removed_reaction_stays_removed_when_the_reaction_is_redelivered() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    app.deliver("smb_message_echoes.json").await;
    app.deliver("reaction.json").await;
    app.deliver("reaction_removed.json").await;
    app.deliver("reaction.json").await; // Meta retries the original reaction
    let m = &app.messages()[0];
    assert_eq!(m["content_attributes"]["reactions"], json!([]));
}

#[actix_rt::test]
async fn nul_characters_do_not_keep_a_delivery_out() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    let body = String::from_utf8(webhook_fixture("text.json"))
        .unwrap()
        .replace("Hi! Does", "Hi!\\u0000 Does")
        .replace("Sheena Nelson", "Sheena\\u0000 Nelson");
    app.deliver_bytes(body.as_bytes()).await;
    let m = &app.messages()[0];
    assert_eq!(m["content"], "Hi! Does the blue jacket come in size M?");
    assert_eq!(app.contacts()[0]["name"], "Sheena Nelson");
}

#[actix_rt::test]
async fn an_edited_caption_replaces_the_caption() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    app.deliver("image.json").await;
    let edit = json!({"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15551234567", "phone_number_id": PHONE_NUMBER_ID},
        "messages": [{"from": MAIN_USER_PHONE, "id": "wamid.EDITCAPTION", "timestamp": "1763712100", "type": "edit",
            "edit": {"original_message_id": "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTAwMDAwMDAwMDAwMDAwMDAwNgA=",
                     "message": {"type": "image", "image": {"caption": "The box, badly dented"}}}}]}}]}]});
    app.deliver_bytes(&serde_json::to_vec(&edit).unwrap()).await;
    let m = &app.messages()[0];
    assert_eq!(m["content"], "The box, badly dented");
    assert_eq!(
        m["content_attributes"]["previous_content"],
        "This is the damaged box"
    );
}

//! Every webhook fixture, posted to a fresh inbox, produces the expected rows.

use crate::common::*;
use serde_json::{json, Value};

const TEXT_WAMID: &str = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTAwMDAwMDAwMDAwMDAwMDAwMQA=";
const ECHO_WAMID: &str = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJFQ0hPXzAwMDAwMDAwMDAwMQA=";
const OUTGOING_WAMID: &str = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJPVVRHT0lOR18wMDAwMDEA";

fn only_message(app: &TestApp) -> Value {
    let msgs = app.messages();
    assert_eq!(msgs.len(), 1, "expected one message, got {msgs:#?}");
    msgs[0].clone()
}

fn attachments(app: &TestApp) -> Vec<Value> {
    app.query_json("SELECT coalesce(json_agg(a ORDER BY a.id), '[]')::jsonb FROM attachments a")
        .as_array()
        .cloned()
        .unwrap()
}

/// Asserts the main user's contact: name, phone, BSUID, and one conversation holding the message.
fn assert_main_user(app: &TestApp) {
    let contacts = app.contacts();
    assert_eq!(contacts.len(), 1, "{contacts:#?}");
    assert_eq!(contacts[0]["name"], "Sheena Nelson");
    assert_eq!(contacts[0]["phone_number"], "+16505551234");
    assert_eq!(contacts[0]["bsuid"], MAIN_USER_BSUID);
    assert_eq!(app.count("contact_inboxes"), 2);
    assert_eq!(
        app.count("conversations WHERE display_id = 1 AND status = 'open'"),
        1
    );
}

async fn check_fixture(name: &str) {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    match name {
        // Reactions target the echo; statuses and edits target messages posted first.
        "reaction.json" => {
            app.deliver("smb_message_echoes.json").await;
            app.deliver(name).await;
            let m = only_message(&app);
            assert_eq!(m["source_id"], ECHO_WAMID);
            assert_eq!(m["content_attributes"]["reactions"][0]["emoji"], "👍");
            assert_eq!(
                m["content_attributes"]["reactions"][0]["sender_type"],
                "Contact"
            );
        }
        "reaction_removed.json" => {
            app.deliver("smb_message_echoes.json").await;
            app.deliver("reaction.json").await;
            app.deliver(name).await;
            let m = only_message(&app);
            assert_eq!(m["content_attributes"]["reactions"], json!([]));
        }
        "smb_message_echoes.json" => {
            app.deliver(name).await;
            let m = only_message(&app);
            assert_eq!(m["message_type"], 1);
            assert_eq!(
                m["content"],
                "Sent from the WhatsApp Business app on my phone"
            );
            assert_eq!(m["content_attributes"]["external_echo"], true);
            assert_eq!(m["sender_type"], Value::Null);
            assert_main_user(&app);
            // Echoes do not open the customer service window.
            assert_eq!(app.count("conversations WHERE last_incoming_at IS NULL"), 1);
        }
        "status_sent.json"
        | "status_delivered.json"
        | "status_read.json"
        | "status_failed_131047.json" => {
            app.deliver(name).await;
            assert_eq!(app.messages().len(), 0);
            assert_eq!(app.count(&format!("pending_message_updates WHERE source_id = '{OUTGOING_WAMID}' AND kind = 'status'")), 1);
        }
        "batch_two_changes.json" => {
            app.deliver(name).await;
            let msgs = app.messages();
            assert_eq!(msgs.len(), 3);
            assert_eq!(app.count("conversations"), 2);
            assert_eq!(app.count("contacts"), 2);
            assert_eq!(app.count("messages m JOIN contacts c ON c.id = m.sender_id WHERE c.name = 'Oliver Smith' AND m.content = 'hello from Oliver'"), 1);
            assert_eq!(
                app.count("pending_message_updates WHERE kind = 'status'"),
                2
            );
        }
        "history.json" => {
            app.deliver(name).await;
            let msgs = app.messages();
            assert_eq!(msgs.len(), 3);
            assert_eq!(msgs[0]["message_type"], 1);
            assert_eq!(msgs[0]["content"], "Your order has shipped.");
            assert_eq!(msgs[0]["status"], "read");
            assert_eq!(msgs[1]["message_type"], 0);
            assert_eq!(msgs[1]["content"], "Thanks!");
            assert!(
                msgs[0]["created_at"]
                    .as_str()
                    .unwrap()
                    .starts_with("2025-11-20"),
                "{}",
                msgs[0]["created_at"]
            );
            assert_eq!(msgs[2]["content_attributes"]["media_placeholder"], true);
            assert!(msgs
                .iter()
                .all(|m| m["content_attributes"]["imported_from_history"] == true));
            assert_eq!(app.count("conversations"), 1);
        }
        "smb_app_state_sync.json" => {
            app.deliver(name).await;
            let contacts = app.contacts();
            assert_eq!(contacts.len(), 1);
            assert_eq!(contacts[0]["name"], "Maria Garcia");
            assert_eq!(contacts[0]["phone_number"], "+34600111222");
            assert_eq!(contacts[0]["bsuid"], "ES.55566677788899900011");
            assert_eq!(
                contacts[0]["additional_attributes"]["in_business_app_address_book"],
                true
            );
            assert_eq!(app.count("conversations"), 0);
        }
        "value_errors_130429.json" => {
            app.deliver(name).await;
            let inbox = app
                .get(&format!("/api/v1/accounts/{}/inboxes/1", app.account_id))
                .await;
            assert_eq!(inbox["last_error"]["code"], 130429);
            assert_eq!(inbox["last_error"]["summary"], "130429: Rate limit hit");
            assert!(inbox["last_error"]["at"].is_i64());
        }
        "message_template_status_update.json" => {
            // A synced, pending copy of the template the fixture approves.
            let inbox_id = app
                .query_json("SELECT to_jsonb(id) FROM inboxes")
                .as_i64()
                .unwrap();
            let pending = switchboard::domain::templates::SyncedTemplate {
                external_id: Some("1387372356726668".into()),
                name: "order_update_v1".into(),
                language: "en_US".into(),
                status: "PENDING".into(),
                category: Some("UTILITY".into()),
                parameter_format: "POSITIONAL".into(),
                components: json!([]),
            };
            switchboard::domain::templates::replace_all(
                &mut app.conn(),
                app.account_id,
                inbox_id,
                &[pending],
                chrono::Utc::now(),
            )
            .unwrap();
            app.deliver(name).await;
            assert_eq!(app.messages().len(), 0);
            assert_eq!(
                app.query_json("SELECT to_jsonb(status) FROM message_templates"),
                json!("APPROVED")
            );
            assert_eq!(
                app.query_json("SELECT to_jsonb(unhandled_fields) FROM whatsapp_events"),
                Value::Null
            );
        }
        "system_user_changed_number.json" => {
            app.deliver("text.json").await;
            app.deliver(name).await;
            let contacts = app.contacts();
            assert_eq!(contacts.len(), 1);
            assert_eq!(contacts[0]["phone_number"], "+12195555358");
            let msgs = app.messages();
            assert_eq!(msgs.len(), 2);
            assert_eq!(msgs[1]["message_type"], 2);
            assert!(msgs[1]["content"]
                .as_str()
                .unwrap()
                .contains("changed from 16505551234 to 12195555358"));
            assert_eq!(
                app.count("contact_inboxes WHERE source_id = '12195555358'"),
                1
            );
        }
        "system_user_changed_user_id.json" | "user_id_update.json" => {
            app.deliver("text.json").await;
            app.deliver(name).await;
            let contacts = app.contacts();
            assert_eq!(contacts.len(), 1);
            assert_eq!(contacts[0]["bsuid"], "US.99990000111122223333");
            assert_eq!(
                app.count("contact_inboxes WHERE source_id = 'US.99990000111122223333'"),
                1
            );
            // The old BSUID stays mapped to the same contact, so late messages still land.
            assert_eq!(
                app.count(&format!(
                    "contact_inboxes WHERE source_id = '{MAIN_USER_BSUID}'"
                )),
                1
            );
            // A later message from the new BSUID alone joins the same conversation.
            let later = String::from_utf8(webhook_fixture("text_username_no_phone.json"))
                .unwrap()
                .replace("US.40011122233344455566", "US.99990000111122223333")
                .replace(
                    "wamid.HBgLVVNFUk5BTUVfT05MWRUCABIYFDNBMDAwMDAwMDAwMDAwMDAwMDAyAA==",
                    "wamid.LATER",
                );
            app.deliver_bytes(later.as_bytes()).await;
            assert_eq!(app.count("conversations"), 1);
            assert_eq!(app.count("contacts"), 1);
        }
        "revoke.json" | "edit.json" => {
            app.deliver("text.json").await;
            app.deliver(name).await;
            let m = only_message(&app);
            if name == "revoke.json" {
                assert_eq!(m["content_attributes"]["deleted"], true);
                assert_eq!(m["content"], "This message was deleted");
            } else {
                assert_eq!(m["content_attributes"]["edited"], true);
                assert_eq!(m["content"], "Hi! Does the blue jacket come in size L?");
                assert_eq!(
                    m["content_attributes"]["previous_content"],
                    "Hi! Does the blue jacket come in size M?"
                );
            }
        }
        _ => {
            app.deliver(name).await;
            let m = only_message(&app);
            assert_eq!(m["message_type"], 0, "{name}");
            assert_eq!(m["sender_type"], "Contact");
            assert_eq!(m["status"], "sent");
            assert!(m["source_id"].as_str().unwrap().starts_with("wamid."));
            let attrs = &m["content_attributes"];
            let atts = attachments(&app);
            // Readable: text content, or a media attachment the UI shows.
            assert!(
                m["content"].as_str().is_some_and(|c| !c.is_empty()) || !atts.is_empty(),
                "{name}: {m:#}"
            );
            match name {
                "text.json" => {
                    assert_eq!(m["content"], "Hi! Does the blue jacket come in size M?");
                    assert_eq!(m["source_id"], TEXT_WAMID);
                    assert_main_user(&app);
                    assert_eq!(
                        app.count(
                            "conversations WHERE last_incoming_at = to_timestamp(1763712000)"
                        ),
                        1
                    );
                }
                "text_forwarded.json" => assert_eq!(attrs["forwarded"], true),
                "text_reply_context.json" => {
                    assert_eq!(attrs["in_reply_to_external_id"], OUTGOING_WAMID)
                }
                "text_unicode.json" => {
                    assert_eq!(
                        m["content"],
                        "Olá! Preço: 10€ — 👍 <script>alert(1)</script> & \"quotes\""
                    );
                    assert_eq!(app.contacts()[0]["name"], "Zoë <b>O'Brien</b>");
                    assert_eq!(app.contacts()[0]["phone_number"], "+5511987654321");
                }
                "text_username_no_phone.json" => {
                    let c = &app.contacts()[0];
                    assert_eq!(c["phone_number"], Value::Null);
                    assert_eq!(c["username"], "@pablomorales");
                    assert_eq!(c["bsuid"], "US.40011122233344455566");
                    assert_eq!(c["parent_bsuid"], "US.ENT.11815799212886844830");
                    assert_eq!(c["name"], "Pablo Morales");
                    assert_eq!(app.count("conversations"), 1);
                }
                "referral_ctwa.json" => {
                    assert_eq!(attrs["referral"]["ctwa_clid"], "Aff-n8ZTODiE79d0000000");
                    assert_eq!(attrs["referral"]["source_type"], "ad");
                }
                "image.json" | "video.json" | "audio_voice.json" | "document.json"
                | "sticker.json" => {
                    assert_eq!(atts.len(), 1);
                    let a = &atts[0];
                    assert_eq!(a["download_status"], "pending");
                    assert!(
                        a["media_id"].is_string()
                            && a["sha256"].is_string()
                            && a["mime_type"].is_string()
                    );
                    assert_eq!(app.count(&format!("jobs WHERE kind = 'media_download' AND payload->>'attachment_id' = '{}'", a["id"])), 1);
                    match name {
                        "image.json" => {
                            assert_eq!(a["file_type"], "image");
                            assert_eq!(m["content"], "This is the damaged box");
                        }
                        "video.json" => assert_eq!(a["file_type"], "video"),
                        "audio_voice.json" => {
                            assert_eq!(a["file_type"], "audio");
                            assert_eq!(a["meta"]["is_recorded_audio"], true);
                            assert_eq!(attrs["is_voice_note"], true);
                        }
                        "document.json" => {
                            assert_eq!(a["file_type"], "file");
                            assert_eq!(a["file_name"], "receipt.pdf");
                            assert_eq!(m["content"], "my receipt");
                        }
                        _ => {
                            assert_eq!(m["content_type"], "sticker");
                            assert_eq!(a["mime_type"], "image/webp");
                        }
                    }
                }
                "location.json" => {
                    let c = m["content"].as_str().unwrap();
                    assert!(
                        c.contains("Main Street Store")
                            && c.contains("1 Hacker Way")
                            && c.contains("37.4611978")
                    );
                    assert_eq!(atts[0]["file_type"], "location");
                    assert_eq!(atts[0]["coordinates_lat"], 37.4611978);
                }
                "contacts.json" => {
                    assert!(m["content"]
                        .as_str()
                        .unwrap()
                        .contains("Barbara J. Johnson: +1 (415) 555-0829"));
                    assert_eq!(atts.len(), 1);
                    assert_eq!(atts[0]["file_type"], "contact");
                    assert_eq!(attrs["contacts"][0]["org"]["company"], "Social Tsunami");
                }
                "interactive_button_reply.json" => {
                    assert_eq!(m["content"], "Cancel order");
                    assert_eq!(attrs["interactive"]["id"], "cancel-order-42");
                }
                "interactive_list_reply.json" => {
                    assert_eq!(m["content"], "Priority Express");
                    assert_eq!(attrs["interactive"]["description"], "Next day to 2 days");
                }
                "interactive_nfm_reply.json" => {
                    let c = m["content"].as_str().unwrap();
                    assert!(
                        c.contains("size: M")
                            && c.contains("color: blue")
                            && !c.contains("flow_token")
                    );
                    assert_eq!(attrs["interactive"]["response"]["size"], "M");
                }
                "button_quick_reply.json" => {
                    assert_eq!(m["content"], "Confirm");
                    assert_eq!(attrs["button"]["payload"], "CONFIRM_APPOINTMENT");
                }
                "order.json" => {
                    let c = m["content"].as_str().unwrap();
                    assert!(
                        c.contains("2 × JACKET-BLUE-M @ 59.90 USD")
                            && c.contains("1 × SCARF-RED @ 12 USD"),
                        "{c}"
                    );
                }
                "unsupported.json" => {
                    assert_eq!(m["content"], "This message is unavailable.");
                    assert_eq!(attrs["errors"][0]["code"], 131051);
                }
                "unknown_future_type.json" => {
                    assert_eq!(m["content"], "This message is unavailable.");
                    assert_eq!(attrs["unsupported"]["type"], "hologram");
                    assert_eq!(attrs["unsupported"]["raw"]["shape"], "cube");
                }
                other => panic!("fixture {other} has no expectation: add one"),
            }
        }
    }
    // Nothing failed or was left behind in the journal.
    assert_eq!(
        app.count("whatsapp_events WHERE status <> 'processed'"),
        0,
        "{name}"
    );
}

/// Every `shards`-th fixture from `shard` on: the fixtures are checked by four tests that
/// run side by side (each fixture starts a server of its own; one after another they took
/// three minutes of the suite's wall time).
async fn check_fixtures(shard: usize, shards: usize) {
    let names = all_webhook_fixtures();
    assert!(names.len() >= 35, "fixtures missing: {names:?}");
    for name in names.iter().skip(shard).step_by(shards) {
        check_fixture(name).await;
    }
}

#[actix_rt::test]
async fn every_fixture_produces_the_expected_rows_part_1() {
    check_fixtures(0, 4).await;
}

#[actix_rt::test]
async fn every_fixture_produces_the_expected_rows_part_2() {
    check_fixtures(1, 4).await;
}

#[actix_rt::test]
async fn every_fixture_produces_the_expected_rows_part_3() {
    check_fixtures(2, 4).await;
}

#[actix_rt::test]
async fn every_fixture_produces_the_expected_rows_part_4() {
    check_fixtures(3, 4).await;
}

#[actix_rt::test]
async fn conversations_and_messages_read_back_through_the_api() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    app.deliver("text.json").await;
    app.deliver("image.json").await;
    let acc = app.account_id;
    let list = app
        .get(&format!("/api/v1/accounts/{acc}/conversations"))
        .await;
    assert_eq!(list["data"]["meta"]["all_count"], 1);
    assert_eq!(list["data"]["meta"]["unassigned_count"], 1);
    assert_eq!(list["data"]["meta"]["mine_count"], 0);
    let conv = &list["data"]["payload"][0];
    assert_eq!(conv["id"], 1);
    assert_eq!(conv["status"], "open");
    assert_eq!(conv["meta"]["sender"]["name"], "Sheena Nelson");
    assert_eq!(
        conv["can_reply"], false,
        "fixture timestamps lie in the past"
    );
    assert_eq!(
        conv["last_non_activity_message"]["content"],
        "This is the damaged box"
    );

    let thread = app
        .get(&format!("/api/v1/accounts/{acc}/conversations/1/messages"))
        .await;
    let payload = thread["payload"].as_array().unwrap();
    assert_eq!(payload.len(), 2);
    assert_eq!(payload[0]["message_type"], 0);
    assert_eq!(payload[0]["conversation_id"], 1);
    assert_eq!(payload[0]["sender"]["type"], "contact");
    assert_eq!(payload[1]["attachments"][0]["file_type"], "image");
    assert!(payload[1]["attachments"][0]["data_url"]
        .as_str()
        .unwrap()
        .starts_with("https://support.example.com/media/attachments/"));

    let one = app
        .get(&format!("/api/v1/accounts/{acc}/conversations/1"))
        .await;
    assert_eq!(one["inbox_id"], conv["inbox_id"]);

    for q in [
        "status=all",
        "status=open&assignee_type=unassigned",
        "inbox_id=1&page=1",
    ] {
        let l = app
            .get(&format!("/api/v1/accounts/{acc}/conversations?{q}"))
            .await;
        assert_eq!(l["data"]["payload"].as_array().unwrap().len(), 1, "{q}");
    }
    let resolved = app
        .get(&format!(
            "/api/v1/accounts/{acc}/conversations?status=resolved"
        ))
        .await;
    assert_eq!(resolved["data"]["payload"].as_array().unwrap().len(), 0);
    let (status, err) = app
        .api(
            "GET",
            &format!("/api/v1/accounts/{acc}/conversations?status=bogus"),
            None,
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(err["field"], "status");

    let contacts = app.get(&format!("/api/v1/accounts/{acc}/contacts")).await;
    assert_eq!(contacts["meta"]["count"], 1);
    let id = contacts["payload"][0]["id"].as_i64().unwrap();
    let contact = app
        .get(&format!("/api/v1/accounts/{acc}/contacts/{id}"))
        .await;
    let sources: Vec<&str> = contact["payload"]["contact_inboxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ci| ci["source_id"].as_str().unwrap())
        .collect();
    assert_eq!(sources, vec![MAIN_USER_PHONE, MAIN_USER_BSUID]);
    for q in ["Sheena", "6505551234", "US.1349", "%2B16505551234"] {
        let found = app
            .get(&format!("/api/v1/accounts/{acc}/contacts/search?q={q}"))
            .await;
        assert_eq!(found["meta"]["count"], 1, "search {q}");
    }
    let none = app
        .get(&format!("/api/v1/accounts/{acc}/contacts/search?q=nobody"))
        .await;
    assert_eq!(none["meta"]["count"], 0);
    let profile = app.get("/api/v1/profile").await;
    assert_eq!(profile["email"], "ana@example.com");
    assert_eq!(profile["accounts"][0]["role"], "administrator");
}

//! Template storage: a sync replaces an inbox's templates, and status webhooks update them.

use crate::common::*;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use switchboard::domain::inboxes;
use switchboard::domain::templates::{self, SyncedTemplate};

fn graph_items(page: &str) -> Vec<SyncedTemplate> {
    let body: Value = serde_json::from_str(
        &std::fs::read_to_string(shared_fixture(&format!("graph/{page}"))).unwrap(),
    )
    .unwrap();
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| templates::from_graph(item).expect("template item"))
        .collect()
}

#[actix_rt::test]
async fn sync_replaces_templates_and_status_updates_apply() {
    let app = TestApp::start();
    let (inbox, _) = app.create_inbox_direct();
    let mut conn = app.conn();

    let mut all = graph_items("message_templates_page1.json");
    all.extend(graph_items("message_templates_page2.json"));
    let first_sync = Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap();
    templates::record_sync_error(&mut conn, inbox.id, "earlier failure").unwrap();
    let stored =
        templates::replace_all(&mut conn, app.account_id, inbox.id, &all, first_sync).unwrap();
    assert_eq!(stored, 4);
    let listed = templates::list(&mut conn, inbox.id).unwrap();
    let keys: Vec<(String, String)> = listed
        .iter()
        .map(|t| (t.name.clone(), t.language.clone()))
        .collect();
    assert_eq!(
        keys,
        [
            ("order_update_v1", "en_US"),
            ("order_update_v1", "es"),
            ("reservation_confirmation", "en_US"),
            ("winter_sale", "en"),
        ]
        .map(|(n, l)| (n.to_string(), l.to_string()))
    );
    let (inbox_row, _) = inboxes::find_by_id(&mut conn, inbox.id).unwrap();
    assert_eq!(inbox_row.templates_synced_at, Some(first_sync));
    assert_eq!(inbox_row.templates_sync_error, None);

    // A later sync without winter_sale removes it and refreshes the others.
    let second_sync = first_sync + chrono::Duration::hours(1);
    let without: Vec<SyncedTemplate> = all
        .iter()
        .filter(|t| t.name != "winter_sale")
        .cloned()
        .map(|mut t| {
            if t.name == "reservation_confirmation" {
                t.status = "PAUSED".into();
            }
            t
        })
        .collect();
    let stored =
        templates::replace_all(&mut conn, app.account_id, inbox.id, &without, second_sync).unwrap();
    assert_eq!(stored, 3);
    assert!(templates::find(&mut conn, inbox.id, "winter_sale", "en")
        .unwrap()
        .is_none());
    let paused = templates::find(&mut conn, inbox.id, "reservation_confirmation", "en_US")
        .unwrap()
        .unwrap();
    assert_eq!(paused.status, "PAUSED");
    assert_eq!(paused.synced_at, second_sync);
    assert_eq!(paused.external_id.as_deref(), Some("1304694804498707"));

    templates::record_sync_error(&mut conn, inbox.id, "Graph answered 500").unwrap();
    let (inbox_row, _) = inboxes::find_by_id(&mut conn, inbox.id).unwrap();
    assert_eq!(inbox_row.templates_synced_at, Some(second_sync));
    assert_eq!(
        inbox_row.templates_sync_error.as_deref(),
        Some("Graph answered 500")
    );

    // The webhook fixture's value, found by its numeric id.
    let fixture: Value =
        serde_json::from_slice(&webhook_fixture("message_template_status_update.json")).unwrap();
    let mut value = fixture["entry"][0]["changes"][0]["value"].clone();
    value["event"] = json!("PAUSED");
    assert!(templates::apply_status_update(&mut conn, inbox.id, &value).unwrap());
    let t = templates::find(&mut conn, inbox.id, "order_update_v1", "en_US")
        .unwrap()
        .unwrap();
    assert_eq!(t.status, "PAUSED");
    // The fixture as is: back to APPROVED.
    let value = fixture["entry"][0]["changes"][0]["value"].clone();
    assert!(templates::apply_status_update(&mut conn, inbox.id, &value).unwrap());
    let t = templates::find(&mut conn, inbox.id, "order_update_v1", "en_US")
        .unwrap()
        .unwrap();
    assert_eq!(t.status, "APPROVED");

    // By name and language when the id is unknown (a string id here).
    let by_name = json!({
        "event": "REJECTED",
        "message_template_id": "999",
        "message_template_name": "order_update_v1",
        "message_template_language": "es",
        "reason": "INVALID_FORMAT"
    });
    assert!(templates::apply_status_update(&mut conn, inbox.id, &by_name).unwrap());
    let t = templates::find(&mut conn, inbox.id, "order_update_v1", "es")
        .unwrap()
        .unwrap();
    assert_eq!(t.status, "REJECTED");
    assert_eq!(t.external_id.as_deref(), Some("999"));

    // An unknown template waits for the next sync; FLAGGED changes no status.
    let unknown = json!({
        "event": "APPROVED",
        "message_template_id": 123,
        "message_template_name": "not_synced",
        "message_template_language": "en"
    });
    assert!(!templates::apply_status_update(&mut conn, inbox.id, &unknown).unwrap());
    let flagged = json!({"event": "FLAGGED", "message_template_id": 1387372356726668u64});
    assert!(!templates::apply_status_update(&mut conn, inbox.id, &flagged).unwrap());
    assert_eq!(
        app.count("message_templates WHERE status = 'APPROVED' AND name = 'order_update_v1'"),
        1
    );
}

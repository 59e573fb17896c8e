//! Everything held about one person, for a data-protection (access or portability) request
//! (issue 15): `switchboard export-contact <id>` and the contact page's "Export data" button
//! (administrators only) both produce the same zip.
//!
//! The zip holds `contact.json` and, under `files/`, every stored file of the person's
//! conversations (`files/{attachment_id}-{file name}`). `contact.json` is one object:
//!
//! | key | what |
//! |---|---|
//! | `format` | `"switchboard-contact-export/1"` |
//! | `exported_at` | RFC 3339 time of the export |
//! | `contact` | the contact row (name, phone, email, identifier, BSUID, username, attributes, labels, …) |
//! | `contact_inboxes` | the identities the contact is reachable by (phone, BSUID, parent BSUID) per inbox |
//! | `conversations` | every conversation of the contact (all inboxes, whoever may see them) |
//! | `messages` | every message of those conversations, oldest first, private notes included |
//! | `attachments` | those messages' attachments; `file_in_export` names the file in the zip, or is null when no file is stored (not downloaded, or removed) |
//! | `notes` | notes about the contact |
//! | `csat_survey_responses` | the contact's survey answers |
//! | `custom_attributes` | the contact's custom attributes with their definitions' names |
//!
//! Rows are exported with all their columns (`to_jsonb`), except `contacts.search_doc`, a
//! derived search column.

use crate::error::{AppError, AppResult};
use crate::storage::Storage;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Jsonb, Nullable};
use serde_json::{json, Value};
use std::io::Write;

/// The value of `format` in `contact.json`.
pub const FORMAT: &str = "switchboard-contact-export/1";

/// The export's data before the files are read.
#[derive(Debug, Clone)]
pub struct ContactExport {
    pub contact_id: i64,
    pub account_id: i64,
    /// `contact.json`.
    pub json: Value,
    /// `(path in the zip, storage key)` of each stored file.
    pub files: Vec<(String, String)>,
}

#[derive(QueryableByName)]
struct J {
    #[diesel(sql_type = Nullable<Jsonb>)]
    v: Option<Value>,
}

fn one(conn: &mut PgConnection, sql: &str, id: i64) -> AppResult<Value> {
    Ok(diesel::sql_query(sql)
        .bind::<BigInt, _>(id)
        .get_result::<J>(conn)?
        .v
        .unwrap_or(Value::Null))
}

/// Keeps letters, digits, `.`, `-` and `_` of a file name (at most 80 characters), so a zip
/// entry never names a directory or an odd path.
fn safe_name(name: &str) -> String {
    let s: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(80)
        .collect();
    let s = s.trim_start_matches('.').to_string();
    if s.is_empty() {
        "file".into()
    } else {
        s
    }
}

/// Collects the contact's data. `account_id` limits the lookup to one account (the web
/// button); `None` finds the contact in any account (the CLI, run by an operator).
/// Errors: 404 when there is no such contact (in that account).
pub fn collect(
    conn: &mut PgConnection,
    account_id: Option<i64>,
    contact_id: i64,
) -> AppResult<ContactExport> {
    conn.build_transaction()
        .read_only()
        .repeatable_read()
        .run(|conn| {
            let contact = one(
                conn,
                "SELECT to_jsonb(c) - 'search_doc' AS v FROM contacts c WHERE c.id = $1",
                contact_id,
            )?;
            let owner = contact.get("account_id").and_then(Value::as_i64);
            let Some(owner) = owner.filter(|o| account_id.is_none_or(|a| a == *o)) else {
                return Err(AppError::NotFound("no such contact".into()));
            };
            let agg = |conn: &mut PgConnection, from_where: &str| -> AppResult<Value> {
                let v = one(
                    conn,
                    &format!(
                        "SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.id), '[]'::jsonb) AS v \
                     FROM (SELECT x.* FROM {from_where}) t"
                    ),
                    contact_id,
                )?;
                Ok(if v.is_null() { json!([]) } else { v })
            };
            let contact_inboxes = agg(conn, "contact_inboxes x WHERE x.contact_id = $1")?;
            let conversations = agg(conn, "conversations x WHERE x.contact_id = $1")?;
            let messages = agg(
            conn,
            "messages x JOIN conversations c ON c.id = x.conversation_id WHERE c.contact_id = $1",
        )?;
            let mut attachments = agg(
                conn,
                "attachments x JOIN messages m ON m.id = x.message_id \
             JOIN conversations c ON c.id = m.conversation_id WHERE c.contact_id = $1",
            )?;
            let notes = agg(conn, "contact_notes x WHERE x.contact_id = $1")?;
            let csat = agg(conn, "csat_survey_responses x WHERE x.contact_id = $1")?;
            let definitions = one(
                conn,
                "SELECT coalesce(jsonb_agg(jsonb_build_object('key', d.attribute_key, \
                 'name', d.attribute_display_name, 'type', d.attribute_display_type) \
                 ORDER BY d.attribute_key), '[]'::jsonb) AS v \
             FROM custom_attribute_definitions d JOIN contacts c ON c.account_id = d.account_id \
             WHERE c.id = $1 AND d.attribute_model = 'contact_attribute'",
                contact_id,
            )?;
            let mut files = Vec::new();
            if let Some(list) = attachments.as_array_mut() {
                for a in list.iter_mut() {
                    let path = a
                        .get("storage_path")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    let id = a.get("id").and_then(Value::as_i64).unwrap_or_default();
                    let in_zip = path.map(|key| {
                        let base = a
                            .get("file_name")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .unwrap_or_else(|| {
                                key.rsplit('/').next().unwrap_or("file").to_string()
                            });
                        let name = format!("files/{id}-{}", safe_name(&base));
                        files.push((name.clone(), key));
                        name
                    });
                    if let Some(obj) = a.as_object_mut() {
                        obj.insert("file_in_export".into(), json!(in_zip));
                    }
                }
            }
            let json = json!({
                "format": FORMAT,
                "exported_at": chrono::Utc::now().to_rfc3339(),
                "custom_attributes": {
                    "values": contact.get("custom_attributes").cloned().unwrap_or(json!({})),
                    "definitions": definitions,
                },
                "contact": contact,
                "contact_inboxes": contact_inboxes,
                "conversations": conversations,
                "messages": messages,
                "attachments": attachments,
                "notes": notes,
                "csat_survey_responses": csat,
            });
            Ok(ContactExport {
                contact_id,
                account_id: owner,
                json,
                files,
            })
        })
}

/// Writes the export as a zip (in memory): `contact.json` and the stored files, read from
/// `storage`. A file that cannot be read is left out and its attachment's `file_in_export`
/// becomes null, with `file_error` saying why. Errors: 500 when the zip cannot be written.
pub async fn zip(storage: &Storage, mut export: ContactExport) -> AppResult<Vec<u8>> {
    let mut contents = Vec::new();
    let mut missing = Vec::new();
    for (name, key) in &export.files {
        match storage.read(key).await {
            Ok(bytes) => contents.push((name.clone(), bytes)),
            Err(e) => missing.push((name.clone(), e.to_string())),
        }
    }
    if let Some(list) = export.json["attachments"].as_array_mut() {
        for a in list.iter_mut() {
            let gone = missing
                .iter()
                .find(|(n, _)| a.get("file_in_export").and_then(Value::as_str) == Some(n));
            if let (Some((_, err)), Some(obj)) = (gone, a.as_object_mut()) {
                obj.insert("file_in_export".into(), Value::Null);
                obj.insert("file_error".into(), json!(err));
            }
        }
    }
    let fail = |e: &dyn std::fmt::Display| AppError::Internal(format!("contact export zip: {e}"));
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file("contact.json", opts).map_err(|e| fail(&e))?;
    let text = serde_json::to_vec_pretty(&export.json).map_err(|e| fail(&e))?;
    w.write_all(&text).map_err(|e| fail(&e))?;
    for (name, bytes) in contents {
        w.start_file(name, opts).map_err(|e| fail(&e))?;
        w.write_all(&bytes).map_err(|e| fail(&e))?;
    }
    Ok(w.finish().map_err(|e| fail(&e))?.into_inner())
}

//! Contact CSV import and export (Chatwoot: `POST /contacts/import` with `import_file`, run by
//! `DataImportJob` and `DataImport::ContactManager`; `Account::ContactsExportJob`).
//!
//! **Import.** [`check_file`] reads an upload before anything is stored: UTF-8 (a BOM is
//! dropped), no NUL byte, a header line naming at least one known column, at least one row.
//! [`create_import`] stores the file in `contact_imports` and queues the
//! `contact_import` job (`crate::jobs::contact_import`), which calls [`run_batch`] until the
//! import is done. Columns, as Chatwoot reads them (header names are matched ignoring case
//! and surrounding spaces):
//!
//! | column | goes to |
//! |---|---|
//! | `name` | the name |
//! | `email` | the email, lowercased ([`contact_fields::normalize_email`]) |
//! | `phone_number` | E.164 ([`contact_fields::normalize_phone`]); a number without `+` gets one, as Chatwoot's importer does |
//! | `identifier` | the identifier |
//! | `bsuid`, `username` | the WhatsApp BSUID and username (columns of our export) |
//! | `company` / `company_name`, `city`, `country` | `additional_attributes.company_name`, `.city`, `.country` |
//! | `labels` | the contact's labels, comma-separated ([`set_contact_labels`]) |
//! | `id`, `parent_bsuid`, `created_at`, `last_activity_at` | ignored (read-only columns of our export) |
//! | `custom_attributes.<key>` or any other column `<key>` | `custom_attributes.<key>`, checked by type ([`coerce_custom_attributes`]) |
//!
//! Empty cells change nothing (Chatwoot's `present?`). A row is matched to an existing
//! contact of the account by `identifier`, then `email`, then `phone_number` (Chatwoot's
//! order), then `bsuid`, then `username` (so an export of username-only contacts imports
//! again without duplicates; index `contacts_account_username`), and updates it instead of creating a duplicate; a row whose values
//! match two different contacts is refused. Rows later in the file match contacts created by
//! earlier rows, so a file may name one person twice.
//!
//! Each refused row is recorded with its line (the line its record starts on; the header is
//! line 1, as a spreadsheet numbers rows) and a sentence saying why; the other rows are
//! imported. Rows are imported in batches of [`BATCH_ROWS`], each batch in one transaction
//! with its contacts, its refused rows and the import's new progress (`next_offset`), so a
//! crash resumes after the last committed batch without importing a row twice, and two
//! processes can never run the same batch twice (the import row is locked, and its offset
//! checked, inside the batch's transaction).
//!
//! **Webhooks.** Chatwoot's importer inserts new contacts with `Contact.import`
//! (activerecord-import), which skips model callbacks, so a live Chatwoot sends no
//! `contact_created` for imported contacts; matched contacts are saved one by one and do send
//! `contact_updated`. Switchboard does the same: no `contact_created` for imported contacts
//! (a 10,000-row import would otherwise flood every integration), `contact_updated` for each
//! existing contact an import actually changed.
//!
//! **Export.** [`export_header`] and [`export_page`] write Chatwoot's columns (`id`, `name`,
//! `email`, `phone_number`, `identifier`) plus `bsuid`, `username`, `company_name`, `city`,
//! `country`, `labels`, `created_at`, `last_activity_at` and one column per custom attribute
//! key, paging on `id` so a streaming export holds one page at a time. BSUID-only and
//! username-only contacts are exported like any other (chatwoot#15586). An export imports
//! back to the same contacts.
//!
//! **CSV injection** (OWASP "CSV Injection"): a cell starting with `=`, `+`, `-`, `@`, a tab
//! or a carriage return is written with a leading `'`, so a spreadsheet shows it as text
//! instead of running it as a formula, except for an E.164 phone number or a plain number
//! (`+14155550123`, `-12.5`), which a spreadsheet can only read as a number: phones stay
//! usable. A cell that starts with `'` followed by such a character gets one more `'`. The
//! importer removes exactly one leading `'` added this way ([`unescape_cell`]), so an export
//! imports back unchanged.

use super::contact_fields;
use super::contacts::Contact;
use super::custom_attributes;
use crate::db::schema::{contact_import_errors, contact_imports, contacts};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};

/// Largest CSV file accepted: 20 MiB (checked on the declared `Content-Length` before the
/// body is read, and again while it streams).
pub const MAX_FILE_BYTES: usize = 20 * 1024 * 1024;

/// Rows imported per transaction.
pub const BATCH_ROWS: usize = 500;

/// Longest name, email, identifier, BSUID or username, in characters (Chatwoot's 255).
pub const MAX_FIELD_CHARS: usize = 255;

/// Longest custom or additional attribute value, in characters.
pub const MAX_ATTRIBUTE_CHARS: usize = 10_000;

/// Most columns a file may have.
pub const MAX_COLUMNS: usize = 200;

/// Refused rows returned by [`find_import`] (all are counted in `failed`).
pub const MAX_REPORTED_ERRORS: i64 = 1_000;

/// Rows per page of an export.
pub const EXPORT_PAGE_ROWS: i64 = 5_000;

/// Job kind of an import (payload `{"import_id": i64}`).
pub const JOB_KIND: &str = "contact_import";

/// What a column of an import file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    Name,
    Email,
    Phone,
    Identifier,
    Bsuid,
    Username,
    /// `additional_attributes.<key>` (`company_name`, `city`, `country`).
    Additional(&'static str),
    Labels,
    /// A read-only column of the export (`id`, `created_at`, …).
    Ignored,
    /// `custom_attributes.<key>`.
    Custom(String),
}

impl Column {
    /// Reads a header cell. `custom_attributes.<key>` names a custom attribute whatever the key.
    pub fn from_header(raw: &str) -> Column {
        let trimmed = unescape_cell(raw.trim());
        if let Some(key) = trimmed.strip_prefix("custom_attributes.") {
            return Column::Custom(key.to_string());
        }
        match trimmed.to_ascii_lowercase().as_str() {
            "name" => Column::Name,
            "email" => Column::Email,
            "phone_number" => Column::Phone,
            "identifier" => Column::Identifier,
            "bsuid" => Column::Bsuid,
            "username" => Column::Username,
            "company" | "company_name" => Column::Additional("company_name"),
            "city" => Column::Additional("city"),
            "country" => Column::Additional("country"),
            "labels" => Column::Labels,
            "id" | "parent_bsuid" | "created_at" | "last_activity_at" | FAILED_LINE_COLUMN
            | FAILED_REASON_COLUMN => Column::Ignored,
            _ => Column::Custom(trimmed.to_string()),
        }
    }

    /// True for the columns that can identify or name a contact.
    fn is_identity(&self) -> bool {
        matches!(
            self,
            Column::Name | Column::Email | Column::Phone | Column::Identifier | Column::Bsuid
        )
    }
}

/// An upload that passed [`check_file`].
#[derive(Debug, Clone)]
pub struct CheckedFile {
    /// The bytes without a UTF-8 BOM.
    pub data: Vec<u8>,
    /// The header's columns, in order.
    pub columns: Vec<Column>,
    /// Byte offset of the first row (just after the header line).
    pub first_row_offset: u64,
    /// Line of the first row (2 unless the header spans several lines).
    pub first_row_line: u64,
    /// Records below the header.
    pub rows_total: i64,
}

fn file_error(message: impl Into<String>) -> AppError {
    AppError::invalid("import_file", message)
}

fn reader(data: &[u8], headers: bool) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(headers)
        .flexible(true)
        .from_reader(data)
}

/// Checks an upload and reads its header. Errors (422 naming `import_file`, each with a
/// sentence a person can act on): an empty file; bytes that are not UTF-8 text (a spreadsheet
/// such as `.xlsx`, or another encoding), or a NUL byte, with the line where it is; a header
/// with an empty or repeated column name, more than [`MAX_COLUMNS`] columns, or none of
/// `name`, `email`, `phone_number`, `identifier`, `bsuid`; no row below the header.
pub fn check_file(raw: Vec<u8>) -> AppResult<CheckedFile> {
    let mut data = raw;
    if data.starts_with(b"\xEF\xBB\xBF") {
        data.drain(..3);
    }
    if data.iter().all(u8::is_ascii_whitespace) {
        return Err(file_error(
            "the file is empty: choose a CSV file with a header line and at least one row",
        ));
    }
    let line_at = |pos: usize| data[..pos].iter().filter(|&&b| b == b'\n').count() + 1;
    if let Some(pos) = data.iter().position(|&b| b == 0) {
        return Err(file_error(format!(
            "the file is not a CSV text file: it holds a NUL byte on line {}. Save the spreadsheet as \"CSV UTF-8\" and upload that file.",
            line_at(pos)
        )));
    }
    if let Err(e) = std::str::from_utf8(&data) {
        return Err(file_error(format!(
            "the file is not UTF-8 text (line {} has bytes of another encoding). Save it as \"CSV UTF-8\" and upload it again.",
            line_at(e.valid_up_to())
        )));
    }
    let mut rdr = reader(&data, false);
    let mut headers = csv::StringRecord::new();
    match rdr.read_record(&mut headers) {
        Ok(true) => {}
        Ok(false) => return Err(file_error("the file is empty")),
        Err(e) => {
            return Err(file_error(format!(
                "the header line could not be read: {e}"
            )))
        }
    }
    if headers.len() > MAX_COLUMNS {
        return Err(file_error(format!(
            "the file has {} columns; at most {MAX_COLUMNS} can be imported",
            headers.len()
        )));
    }
    let mut columns = Vec::with_capacity(headers.len());
    let mut seen: Vec<String> = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        if h.trim().is_empty() {
            return Err(file_error(format!(
                "column {} of the header line has no name; name every column (name, email, phone_number, identifier, …)",
                i + 1
            )));
        }
        let col = Column::from_header(h);
        let key = match &col {
            Column::Custom(k) => format!("custom:{k}"),
            Column::Ignored => format!("ignored:{}", h.trim().to_ascii_lowercase()),
            other => format!("{other:?}"),
        };
        if seen.contains(&key) {
            return Err(file_error(format!(
                "the column {:?} appears twice in the header line",
                h.trim()
            )));
        }
        seen.push(key);
        columns.push(col);
    }
    if !columns.iter().any(Column::is_identity) {
        let found: Vec<&str> = headers.iter().take(5).collect();
        return Err(file_error(format!(
            "the first line must name the columns, with at least one of name, email, phone_number or identifier; it reads {:?}",
            found.join(",")
        )));
    }
    let first = rdr.position().clone();
    let mut rows_total = 0i64;
    let mut record = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut record) {
            Ok(true) => {
                if !(record.len() == 1 && record[0].iter().all(u8::is_ascii_whitespace)) {
                    rows_total += 1;
                }
            }
            Ok(false) => break,
            Err(e) => {
                return Err(file_error(format!(
                    "the file could not be read as CSV: {e}"
                )))
            }
        }
    }
    if rows_total == 0 {
        return Err(file_error(
            "the file has a header line but no rows below it",
        ));
    }
    let first_row_offset = (first.byte() as usize).min(data.len());
    let first_row_line = 1 + data[..first_row_offset]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u64;
    Ok(CheckedFile {
        first_row_offset: first_row_offset as u64,
        first_row_line,
        data,
        columns,
        rows_total,
    })
}

/// A `contact_imports` row without its file.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = contact_imports)]
pub struct ContactImport {
    pub id: i64,
    pub account_id: i64,
    pub user_id: Option<i64>,
    pub file_name: String,
    pub file_size: i64,
    /// `pending`, `processing`, `completed` or `failed`.
    pub status: String,
    pub rows_total: i32,
    pub rows_done: i32,
    pub created_count: i32,
    pub updated_count: i32,
    pub failed_count: i32,
    pub next_offset: i64,
    pub next_line: i64,
    /// Why the whole import failed (`status` = `failed`).
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A refused row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, serde::Serialize)]
pub struct RowError {
    /// The line the row starts on (the header is line 1).
    pub line: i64,
    /// The column at fault, when one is.
    pub field: Option<String>,
    /// Why the row was refused.
    pub reason: String,
}

/// Stores a checked file as a pending import of `account_id` and queues its job, in one
/// transaction. Returns the import.
pub fn create_import(
    conn: &mut PgConnection,
    account_id: i64,
    user_id: Option<i64>,
    file_name: &str,
    file: CheckedFile,
) -> AppResult<ContactImport> {
    let name: String = file_name
        .chars()
        .filter(|c| !c.is_control())
        .take(255)
        .collect();
    // The header's cells, kept for the failed-rows CSV ([`failed_rows_csv`]).
    let header: Vec<String> = reader(&file.data, true)
        .headers()
        .map(|h| h.iter().map(str::to_string).collect())
        .unwrap_or_default();
    conn.transaction(|conn| {
        let import: ContactImport = diesel::insert_into(contact_imports::table)
            .values((
                contact_imports::header.eq(&header),
                contact_imports::account_id.eq(account_id),
                contact_imports::user_id.eq(user_id),
                contact_imports::file_name.eq(name),
                contact_imports::file_size.eq(file.data.len() as i64),
                contact_imports::data.eq(&file.data),
                contact_imports::rows_total.eq(file.rows_total as i32),
                contact_imports::next_offset.eq(file.first_row_offset as i64),
                contact_imports::next_line.eq(file.first_row_line as i64),
            ))
            .returning(ContactImport::as_returning())
            .get_result(conn)?;
        crate::jobs::enqueue(
            conn,
            JOB_KIND,
            serde_json::json!({ "import_id": import.id }),
            crate::jobs::contact_import::MAX_ATTEMPTS,
        )?;
        Ok(import)
    })
}

/// An import of `account_id` with its first [`MAX_REPORTED_ERRORS`] refused rows, by line.
/// Errors: 404 when it does not exist or belongs to another account.
pub fn find_import(
    conn: &mut PgConnection,
    account_id: i64,
    import_id: i64,
) -> AppResult<(ContactImport, Vec<RowError>)> {
    let import: ContactImport = contact_imports::table
        .filter(contact_imports::id.eq(import_id))
        .filter(contact_imports::account_id.eq(account_id))
        .select(ContactImport::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("import {import_id} not found")))?;
    let errors = contact_import_errors::table
        .filter(contact_import_errors::import_id.eq(import_id))
        .order(contact_import_errors::line)
        .limit(MAX_REPORTED_ERRORS)
        .select((
            contact_import_errors::line,
            contact_import_errors::field,
            contact_import_errors::reason,
        ))
        .load(conn)?;
    Ok((import, errors))
}

/// The account's `limit` newest imports, newest first.
pub fn recent_imports(
    conn: &mut PgConnection,
    account_id: i64,
    limit: i64,
) -> AppResult<Vec<ContactImport>> {
    Ok(contact_imports::table
        .filter(contact_imports::account_id.eq(account_id))
        .order(contact_imports::id.desc())
        .limit(limit)
        .select(ContactImport::as_select())
        .load(conn)?)
}

/// Marks an import failed for good (its job ran out of attempts), dropping its file.
pub fn mark_failed(conn: &mut PgConnection, import_id: i64, error: &str) -> AppResult<()> {
    diesel::update(
        contact_imports::table
            .find(import_id)
            .filter(contact_imports::status.ne("completed")),
    )
    .set((
        contact_imports::status.eq("failed"),
        contact_imports::error.eq(error),
        contact_imports::data.eq(None::<Vec<u8>>),
        contact_imports::finished_at.eq(diesel::dsl::now),
        contact_imports::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)?;
    Ok(())
}

/// Column of the failed-rows CSV with the row's line in the uploaded file (ignored on import).
pub const FAILED_LINE_COLUMN: &str = "import_line";
/// Column of the failed-rows CSV with why the row was refused (ignored on import).
pub const FAILED_REASON_COLUMN: &str = "import_error";

/// The refused rows of import `import_id` of `account_id` as a CSV to fix and import again:
/// the header `import_line,import_error,<the uploaded header…>`, then one record per
/// refused row, by line: its line in the uploaded file, the reason (prefixed with the
/// column at fault, `phone_number: …`), and its original cells. Both added columns are
/// ignored by the importer ([`Column::from_header`]), so the fixed file imports as it is.
/// Cells pass through [`escape_cell`] (no spreadsheet formula runs). Rows refused before
/// the cells were kept (older imports) have only line and reason.
/// Errors: 404 when the import does not exist or belongs to another account.
pub fn failed_rows_csv(
    conn: &mut PgConnection,
    account_id: i64,
    import_id: i64,
) -> AppResult<Vec<u8>> {
    let header: Option<Option<Vec<String>>> = contact_imports::table
        .filter(contact_imports::id.eq(import_id))
        .filter(contact_imports::account_id.eq(account_id))
        .select(contact_imports::header)
        .first(conn)
        .optional()?;
    let header = header
        .ok_or_else(|| AppError::NotFound(format!("import {import_id} not found")))?
        .unwrap_or_default();
    /// Line, field, reason and original cells of a refused row.
    type FailedRow = (i64, Option<String>, String, Option<Vec<String>>);
    let rows: Vec<FailedRow> = contact_import_errors::table
        .filter(contact_import_errors::import_id.eq(import_id))
        .order(contact_import_errors::line)
        .select((
            contact_import_errors::line,
            contact_import_errors::field,
            contact_import_errors::reason,
            contact_import_errors::cells,
        ))
        .load(conn)?;
    let mut w = csv::WriterBuilder::new().flexible(true).from_writer(vec![]);
    let write_err = |e: csv::Error| AppError::Internal(format!("failed-rows CSV: {e}"));
    let mut head = vec![
        FAILED_LINE_COLUMN.to_string(),
        FAILED_REASON_COLUMN.to_string(),
    ];
    head.extend(header.iter().map(|h| escape_cell(h).into_owned()));
    w.write_record(&head).map_err(write_err)?;
    for (line, field, reason, cells) in rows {
        let reason = match field {
            Some(f) if !reason.contains(&f) => format!("{f}: {reason}"),
            _ => reason,
        };
        let mut record = vec![line.to_string(), escape_cell(&reason).into_owned()];
        record.extend(
            cells
                .unwrap_or_default()
                .iter()
                .map(|c| escape_cell(c).into_owned()),
        );
        w.write_record(&record).map_err(write_err)?;
    }
    w.into_inner()
        .map_err(|e| AppError::Internal(format!("failed-rows CSV: {e}")))
}

/// Removes the one leading `'` that [`escape_cell`] adds, so an export imports back unchanged.
pub fn unescape_cell(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_escape(rest) => rest,
        _ => cell,
    }
}

fn formula_start(s: &str) -> bool {
    matches!(s.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r'))
}

/// True for an E.164 phone number or a plain decimal number: text a spreadsheet can only
/// read as a number.
fn is_plain_number(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let mut parts = body.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

fn needs_escape(s: &str) -> bool {
    (formula_start(s) && !is_plain_number(s)) || s.strip_prefix('\'').is_some_and(needs_escape)
}

/// A cell as the export writes it: with a leading `'` when a spreadsheet would otherwise
/// read it as a formula (see the module documentation).
pub fn escape_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    if needs_escape(cell) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// One row's values, checked.
#[derive(Debug, Clone, Default)]
struct RowData {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    identifier: Option<String>,
    bsuid: Option<String>,
    username: Option<String>,
    additional: Map<String, Value>,
    custom: Map<String, Value>,
    labels: Option<Vec<String>>,
}

struct Refusal {
    field: Option<String>,
    reason: String,
}

fn refuse(field: &str, reason: impl Into<String>) -> Refusal {
    Refusal {
        field: Some(field.to_string()),
        reason: reason.into(),
    }
}

fn short(field: &str, value: &str, max: usize) -> Result<String, Refusal> {
    if value.chars().count() > max {
        Err(refuse(
            field,
            format!("{field} is longer than {max} characters"),
        ))
    } else {
        Ok(value.to_string())
    }
}

/// Imported custom attributes checked against the account's contact attribute
/// `definitions` through the one validator the API uses
/// ([`custom_attributes::validate_defined_with`], i.e. `validate_defined`): a defined key's
/// text is converted by type (number, date, checkbox, list, link, regex), other keys are
/// kept as the text given (as Chatwoot's importer stores them). Errors: the field
/// (`custom_attributes.<key>`) and the reason, reported as the row's.
pub fn coerce_custom_attributes(
    definitions: &[custom_attributes::Definition],
    values: Map<String, Value>,
) -> Result<Map<String, Value>, (String, String)> {
    if values.is_empty() {
        return Ok(values);
    }
    custom_attributes::validate_defined_with(
        definitions,
        custom_attributes::Model::Contact,
        &values,
    )
    .map_err(|e| match e {
        AppError::Unprocessable { field, message } => (
            field.unwrap_or_else(|| "custom_attributes".to_string()),
            message,
        ),
        other => ("custom_attributes".to_string(), other.to_string()),
    })
}

fn parse_row(columns: &[Column], record: &csv::StringRecord) -> Result<RowData, Refusal> {
    if record.len() != columns.len() {
        return Err(Refusal {
            field: None,
            reason: format!(
                "the row has {} values but the header has {} columns",
                record.len(),
                columns.len()
            ),
        });
    }
    let mut row = RowData::default();
    for (col, raw) in columns.iter().zip(record.iter()) {
        let value = unescape_cell(raw.trim());
        if value.is_empty() {
            continue;
        }
        match col {
            Column::Name => row.name = Some(short("name", value, MAX_FIELD_CHARS)?),
            Column::Email => {
                let email = contact_fields::normalize_email(value).map_err(|_| {
                    refuse("email", format!("{value:?} is not a valid email address"))
                })?;
                row.email = Some(short("email", &email, MAX_FIELD_CHARS)?);
            }
            Column::Phone => {
                // Chatwoot's importer adds the missing '+'.
                let with_plus = if value.starts_with('+') {
                    value.to_string()
                } else {
                    format!("+{value}")
                };
                let phone = contact_fields::normalize_phone("phone_number", &with_plus)
                    .map_err(|e| refuse("phone_number", e.to_string()))?;
                row.phone = Some(phone);
            }
            Column::Identifier => {
                row.identifier = Some(short("identifier", value, MAX_FIELD_CHARS)?)
            }
            Column::Bsuid => row.bsuid = Some(short("bsuid", value, MAX_FIELD_CHARS)?),
            Column::Username => row.username = Some(short("username", value, MAX_FIELD_CHARS)?),
            Column::Additional(key) => {
                row.additional.insert(
                    key.to_string(),
                    Value::String(short(key, value, MAX_ATTRIBUTE_CHARS)?),
                );
            }
            Column::Labels => {
                let raw: Vec<&str> = value
                    .split([',', ';'])
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect();
                let labels = super::conversations::normalize_labels(&raw)
                    .map_err(|e| refuse("labels", e.to_string()))?;
                row.labels = Some(labels);
            }
            Column::Ignored => {}
            Column::Custom(key) => {
                row.custom.insert(
                    key.clone(),
                    Value::String(short(key, value, MAX_ATTRIBUTE_CHARS)?),
                );
            }
        }
    }
    if row.name.is_none()
        && row.email.is_none()
        && row.phone.is_none()
        && row.identifier.is_none()
        && row.bsuid.is_none()
    {
        return Err(Refusal {
            field: None,
            reason: "the row has no name, email, phone_number or identifier".into(),
        });
    }
    Ok(row)
}

/// Stores an imported contact's labels (the `labels` column), replacing its list as
/// Chatwoot's `POST /contacts/{id}/labels` does. Contact labels live in `contacts.labels`
/// (a text array, as conversation labels), already normalised by
/// [`super::conversations::normalize_labels`].
pub fn set_contact_labels(
    conn: &mut PgConnection,
    contact_id: i64,
    labels: &[String],
) -> AppResult<()> {
    diesel::sql_query(
        "UPDATE contacts SET labels = $1 WHERE id = $2 AND labels IS DISTINCT FROM $1",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(labels)
    .bind::<diesel::sql_types::BigInt, _>(contact_id)
    .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct LabelsRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Text>)]
    labels: Vec<String>,
}

/// The labels of these contacts (only contacts that have some).
pub fn labels_of(
    conn: &mut PgConnection,
    contact_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<String>>> {
    if contact_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<LabelsRow> =
        diesel::sql_query("SELECT id, labels FROM contacts WHERE id = ANY($1) AND labels <> '{}'")
            .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(contact_ids)
            .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.id, r.labels)).collect())
}

/// Where a row's contact lives while a batch is processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Slot {
    Existing(usize),
    New(usize),
}

/// A contact being written by a batch.
#[derive(Debug, Clone)]
struct Pending {
    id: Option<i64>,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    identifier: Option<String>,
    bsuid: Option<String>,
    username: Option<String>,
    additional: Value,
    custom: Value,
    labels: Vec<String>,
    labels_changed: bool,
    changed: bool,
    /// First line that wrote to it (reported if the write fails).
    line: i64,
}

impl Pending {
    fn from_contact(c: &Contact) -> Self {
        Pending {
            id: Some(c.id),
            name: c.name.clone(),
            email: c.email.clone(),
            phone: c.phone_number.clone(),
            identifier: c.identifier.clone(),
            bsuid: c.bsuid.clone(),
            username: c.username.clone(),
            additional: if c.additional_attributes.is_object() {
                c.additional_attributes.clone()
            } else {
                Value::Object(Map::new())
            },
            custom: if c.custom_attributes.is_object() {
                c.custom_attributes.clone()
            } else {
                Value::Object(Map::new())
            },
            labels: Vec::new(),
            labels_changed: false,
            changed: false,
            line: 0,
        }
    }

    fn apply(&mut self, row: &RowData) {
        fn set(slot: &mut Option<String>, v: &Option<String>, changed: &mut bool) {
            if v.is_some() && slot != v {
                *slot = v.clone();
                *changed = true;
            }
        }
        let mut changed = false;
        if let Some(n) = &row.name {
            if &self.name != n {
                self.name = n.clone();
                changed = true;
            }
        }
        set(&mut self.email, &row.email, &mut changed);
        set(&mut self.phone, &row.phone, &mut changed);
        set(&mut self.identifier, &row.identifier, &mut changed);
        set(&mut self.bsuid, &row.bsuid, &mut changed);
        set(&mut self.username, &row.username, &mut changed);
        for (target, source) in [
            (&mut self.additional, &row.additional),
            (&mut self.custom, &row.custom),
        ] {
            let obj = target.as_object_mut().expect("object");
            for (k, v) in source {
                if obj.get(k) != Some(v) {
                    obj.insert(k.clone(), v.clone());
                    changed = true;
                }
            }
        }
        if let Some(labels) = &row.labels {
            if &self.labels != labels {
                self.labels = labels.clone();
                self.labels_changed = true;
                changed = true;
            }
        }
        if self.name.is_empty() {
            self.name = self
                .phone
                .clone()
                .or_else(|| self.username.clone())
                .or_else(|| self.bsuid.clone())
                .or_else(|| self.email.clone())
                .or_else(|| self.identifier.clone())
                .unwrap_or_default();
        }
        self.changed |= changed;
    }
}

/// What a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchOutcome {
    /// Rows read (imported or refused).
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub failed: usize,
    /// True when the import is finished (or was already, or is gone).
    pub finished: bool,
}

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    flag: bool,
}

/// Imports the next batch of up to `max_rows` rows of import `import_id` in one transaction
/// (see the module documentation): locks the import, reads from its saved offset, matches
/// and writes contacts, records refused rows and saves the new offset; the last batch marks
/// the import `completed` and drops the file. A finished or missing import returns
/// `finished` at once. Errors: database errors (the batch is rolled back; running it again
/// is safe).
pub fn run_batch(
    conn: &mut PgConnection,
    import_id: i64,
    max_rows: usize,
) -> AppResult<BatchOutcome> {
    match load_file(conn, import_id)? {
        Some(data) => run_batch_with(conn, import_id, &data, max_rows),
        None => Ok(BatchOutcome {
            finished: true,
            ..Default::default()
        }),
    }
}

/// The stored file of an unfinished import (`None` once it is finished or gone), read once
/// by the job and handed to every [`run_batch_with`].
pub fn load_file(conn: &mut PgConnection, import_id: i64) -> AppResult<Option<Vec<u8>>> {
    Ok(contact_imports::table
        .find(import_id)
        .select(contact_imports::data)
        .first::<Option<Vec<u8>>>(conn)
        .optional()?
        .flatten())
}

/// [`run_batch`] with the import's file already read ([`load_file`]), so a large file is not
/// read from the database again for every batch.
pub fn run_batch_with(
    conn: &mut PgConnection,
    import_id: i64,
    data: &[u8],
    max_rows: usize,
) -> AppResult<BatchOutcome> {
    conn.transaction(|conn| {
        #[derive(Queryable)]
        struct Locked {
            account_id: i64,
            status: String,
            has_data: bool,
            next_offset: i64,
            next_line: i64,
        }
        let locked: Option<Locked> = contact_imports::table
            .find(import_id)
            .select((
                contact_imports::account_id,
                contact_imports::status,
                contact_imports::data.is_not_null(),
                contact_imports::next_offset,
                contact_imports::next_line,
            ))
            .for_update()
            .first(conn)
            .optional()?;
        let Some(import) = locked else {
            return Ok(BatchOutcome {
                finished: true,
                ..Default::default()
            });
        };
        if !import.has_data || !(import.status == "pending" || import.status == "processing") {
            return Ok(BatchOutcome {
                finished: true,
                ..Default::default()
            });
        }
        let account_id = import.account_id;
        // Imports of one account run their batches one at a time, so two files naming the
        // same person cannot both create them.
        super::xact_lock(conn, &format!("contact_import:{account_id}"))?;

        let mut header_rdr = reader(data, true);
        let columns: Vec<Column> = header_rdr
            .headers()
            .map_err(|e| AppError::Internal(format!("stored import unreadable: {e}")))?
            .iter()
            .map(Column::from_header)
            .collect();
        let start = (import.next_offset.max(0) as usize).min(data.len());
        let mut rdr = reader(&data[start..], false);
        // Line numbers are counted here, from the saved `(next_offset, next_line)`: 1 plus
        // the line feeds before the record's first byte (the reader may stop between a CR
        // and its LF, so a record's reported start is moved past line endings first).
        let (mut cur_off, mut cur_line) = (start, import.next_line);
        let mut line_of = |pos: u64| -> i64 {
            let mut at = (start + pos as usize).min(data.len());
            while at < data.len() && (data[at] == b'\r' || data[at] == b'\n') {
                at += 1;
            }
            if at > cur_off {
                cur_line += data[cur_off..at].iter().filter(|b| **b == b'\n').count() as i64;
                cur_off = at;
            }
            cur_line
        };
        let mut rows: Vec<(i64, Result<RowData, Refusal>)> = Vec::new();
        // Each row's original cells by line, stored with a refusal (the failed-rows CSV).
        let mut cells_of: HashMap<i64, Vec<String>> = HashMap::new();
        let mut record = csv::StringRecord::new();
        let mut eof = false;
        while rows.len() < max_rows {
            match rdr.read_record(&mut record) {
                Ok(true) => {
                    if record.len() == 1 && record[0].trim().is_empty() {
                        continue;
                    }
                    let line = line_of(record.position().map(|p| p.byte()).unwrap_or(0));
                    let parsed = parse_row(&columns, &record);
                    cells_of.insert(line, record.iter().map(str::to_string).collect());
                    rows.push((line, parsed));
                }
                Ok(false) => {
                    eof = true;
                    break;
                }
                Err(e) => {
                    let line = line_of(e.position().map(|p| p.byte()).unwrap_or(0));
                    rows.push((
                        line,
                        Err(Refusal {
                            field: None,
                            reason: format!("the row could not be read as CSV: {e}"),
                        }),
                    ));
                }
            }
        }
        if !eof && rdr.position().byte() as usize + start >= data.len() {
            eof = true;
        }
        let end = rdr.position().byte();
        let new_offset = start as i64 + end as i64;
        let new_line = {
            let to = (start + end as usize).min(data.len());
            import.next_line + data[start..to].iter().filter(|b| **b == b'\n').count() as i64
        };

        // Custom attributes through the API's validator, definitions loaded once a batch.
        let definitions =
            custom_attributes::list(conn, account_id, Some(custom_attributes::Model::Contact))?;
        let mut rows: Vec<(i64, Result<RowData, Refusal>)> = rows
            .into_iter()
            .map(|(line, r)| {
                let r = r.and_then(|mut row| {
                    let custom = std::mem::take(&mut row.custom);
                    row.custom = coerce_custom_attributes(&definitions, custom)
                        .map_err(|(field, reason)| refuse(&field, reason))?;
                    Ok(row)
                });
                (line, r)
            })
            .collect();

        // Existing contacts matching any key of the batch.
        let keys = |f: fn(&RowData) -> &Option<String>| -> Vec<String> {
            rows.iter()
                .filter_map(|(_, r)| r.as_ref().ok().and_then(|row| f(row).clone()))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        };
        let (ids, emails, phones, bsuids, usernames) = (
            keys(|r| &r.identifier),
            keys(|r| &r.email),
            keys(|r| &r.phone),
            keys(|r| &r.bsuid),
            keys(|r| &r.username),
        );
        let existing: Vec<Contact> = contacts::table
            .filter(contacts::account_id.eq(account_id))
            .filter(
                contacts::identifier
                    .eq_any(&ids)
                    .or(contacts::email.eq_any(&emails))
                    .or(contacts::phone_number.eq_any(&phones))
                    .or(contacts::bsuid.eq_any(&bsuids))
                    .or(contacts::username.eq_any(&usernames)),
            )
            .select(Contact::as_select())
            .order(contacts::id)
            .load(conn)?;
        let mut slots: Vec<Pending> = existing.iter().map(Pending::from_contact).collect();
        let existing_labels = labels_of(conn, &existing.iter().map(|c| c.id).collect::<Vec<_>>())?;
        for p in slots.iter_mut() {
            if let Some(l) = p.id.and_then(|id| existing_labels.get(&id)) {
                p.labels = l.clone();
            }
        }
        let mut new_slots: Vec<Pending> = Vec::new();
        // key kind + value → slot (first contact wins, as `find_by` does).
        let mut index: HashMap<(u8, String), Slot> = HashMap::new();
        for (i, p) in slots.iter().enumerate() {
            for (kind, v) in [
                (0u8, &p.identifier),
                (1, &p.email),
                (2, &p.phone),
                (3, &p.bsuid),
                (4, &p.username),
            ] {
                if let Some(v) = v {
                    index.entry((kind, v.clone())).or_insert(Slot::Existing(i));
                }
            }
        }
        let mut errors: Vec<(i64, Option<String>, String)> = Vec::new();
        let mut touched: Vec<Slot> = Vec::new();
        for (line, r) in rows.iter_mut() {
            let row = match r {
                Ok(row) => row,
                Err(refusal) => {
                    errors.push((
                        *line,
                        refusal.field.take(),
                        std::mem::take(&mut refusal.reason),
                    ));
                    continue;
                }
            };
            let keyed = [
                (0u8, "identifier", &row.identifier),
                (1, "email", &row.email),
                (2, "phone_number", &row.phone),
                (3, "bsuid", &row.bsuid),
                (4, "username", &row.username),
            ];
            let mut found: Vec<(&str, Slot)> = Vec::new();
            for (kind, field, v) in keyed {
                if let Some(v) = v {
                    if let Some(slot) = index.get(&(kind, v.clone())) {
                        if !found.iter().any(|(_, s)| s == slot) {
                            found.push((field, *slot));
                        }
                    }
                }
            }
            let describe = |slot: &Slot, slots: &[Pending], new_slots: &[Pending]| match slot {
                Slot::Existing(i) => format!(
                    "contact {} ({})",
                    slots[*i].id.unwrap_or_default(),
                    slots[*i].name
                ),
                Slot::New(i) => format!("the contact of line {}", new_slots[*i].line),
            };
            if found.len() > 1 {
                let (f1, s1) = found[0];
                let (f2, s2) = found[1];
                errors.push((
                    *line,
                    Some(f2.to_string()),
                    format!(
                        "{f1} matches {} but {f2} matches {}; merge them first or fix the row",
                        describe(&s1, &slots, &new_slots),
                        describe(&s2, &slots, &new_slots)
                    ),
                ));
                continue;
            }
            let slot = match found.first() {
                Some((_, slot)) => *slot,
                None => {
                    new_slots.push(Pending {
                        id: None,
                        name: String::new(),
                        email: None,
                        phone: None,
                        identifier: None,
                        bsuid: None,
                        username: None,
                        additional: Value::Object(Map::new()),
                        custom: Value::Object(Map::new()),
                        labels: Vec::new(),
                        labels_changed: false,
                        changed: true,
                        line: *line,
                    });
                    Slot::New(new_slots.len() - 1)
                }
            };
            let target = match slot {
                Slot::Existing(i) => &mut slots[i],
                Slot::New(i) => &mut new_slots[i],
            };
            if target.line == 0 {
                target.line = *line;
            }
            target.apply(row);
            for (kind, v) in [
                (0u8, &target.identifier),
                (1, &target.email),
                (2, &target.phone),
                (3, &target.bsuid),
                (4, &target.username),
            ] {
                if let Some(v) = v {
                    index.entry((kind, v.clone())).or_insert(slot);
                }
            }
            if !touched.contains(&slot) {
                touched.push(slot);
            }
        }

        // Writes: new contacts in one statement, changed ones one by one; a unique index
        // refusing one (a contact created meanwhile elsewhere) refuses that row only.
        let mut created = 0usize;
        let mut updated_ids: Vec<i64> = Vec::new();
        let new_ones: Vec<&Pending> = new_slots.iter().collect();
        let changed_ones: Vec<&Pending> = slots.iter().filter(|p| p.changed).collect();
        let bulk = conn.transaction(|conn| -> diesel::QueryResult<Vec<i64>> {
            let ids = insert_contacts(conn, account_id, &new_ones)?;
            for p in &changed_ones {
                update_contact(conn, p)?;
            }
            Ok(ids)
        });
        let new_ids: Vec<Option<i64>> = match bulk {
            Ok(ids) => {
                created = ids.len();
                updated_ids.extend(changed_ones.iter().filter_map(|p| p.id));
                ids.into_iter().map(Some).collect()
            }
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => {
                let mut ids = Vec::with_capacity(new_ones.len());
                for p in &new_ones {
                    match conn.transaction(|conn| insert_contacts(conn, account_id, &[*p])) {
                        Ok(mut one) => {
                            created += 1;
                            ids.push(one.pop());
                        }
                        Err(e) => {
                            ids.push(None);
                            errors.push((p.line, None, write_refusal(e)?));
                        }
                    }
                }
                for p in &changed_ones {
                    match conn.transaction(|conn| update_contact(conn, p)) {
                        Ok(()) => updated_ids.extend(p.id),
                        Err(e) => errors.push((p.line, None, write_refusal(e)?)),
                    }
                }
                ids
            }
            Err(e) => return Err(e.into()),
        };
        for (p, id) in new_slots.iter().zip(&new_ids) {
            if let (true, Some(id)) = (p.labels_changed, id) {
                set_contact_labels(conn, *id, &p.labels)?;
            }
        }
        for p in slots.iter() {
            if let (true, Some(id)) = (p.labels_changed, p.id) {
                if updated_ids.contains(&id) {
                    set_contact_labels(conn, id, &p.labels)?;
                }
            }
        }
        // `contact_updated` for each existing contact the batch changed (see the module
        // documentation); skipped at once when no webhook listens.
        if !updated_ids.is_empty() {
            let listens: Flag = diesel::sql_query(
                "SELECT EXISTS (SELECT 1 FROM webhooks WHERE account_id = $1 AND enabled \
                 AND 'contact_updated' = ANY(subscriptions)) AS flag",
            )
            .bind::<diesel::sql_types::BigInt, _>(account_id)
            .get_result(conn)?;
            if listens.flag {
                for id in &updated_ids {
                    super::events::contact_changed(conn, account_id, None, *id, false)?;
                }
            }
        }
        if created > 0 {
            // One event a batch: an open Contacts list redraws (no webhook for bulk creations).
            super::events::emit(
                conn,
                account_id,
                None,
                None,
                super::events::CONTACTS_IMPORTED,
                serde_json::json!({ "import_id": import_id, "created": created }),
            )?;
        }
        let failed = errors.len();
        if !errors.is_empty() {
            let values: Vec<_> = errors
                .iter()
                .map(|(line, field, reason)| {
                    (
                        contact_import_errors::import_id.eq(import_id),
                        contact_import_errors::line.eq(*line),
                        contact_import_errors::field.eq(field.clone()),
                        contact_import_errors::reason.eq(reason.clone()),
                        contact_import_errors::cells.eq(cells_of.get(line)),
                    )
                })
                .collect();
            diesel::insert_into(contact_import_errors::table)
                .values(values)
                .on_conflict_do_nothing()
                .execute(conn)?;
        }
        let rows_read = rows.len();
        let updated = updated_ids.len();
        // A row naming a contact twice counts once as created or updated; every row counts
        // as done.
        diesel::update(contact_imports::table.find(import_id))
            .set((
                contact_imports::status.eq(if eof { "completed" } else { "processing" }),
                contact_imports::rows_done.eq(contact_imports::rows_done + rows_read as i32),
                contact_imports::created_count.eq(contact_imports::created_count + created as i32),
                contact_imports::updated_count.eq(contact_imports::updated_count + updated as i32),
                contact_imports::failed_count.eq(contact_imports::failed_count + failed as i32),
                contact_imports::next_offset.eq(new_offset),
                contact_imports::next_line.eq(new_line),
                contact_imports::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        if eof {
            diesel::update(contact_imports::table.find(import_id))
                .set((
                    contact_imports::data.eq(None::<Vec<u8>>),
                    contact_imports::finished_at.eq(diesel::dsl::now),
                    // Every row was read: the total is what was read.
                    contact_imports::rows_total.eq(contact_imports::rows_done),
                ))
                .execute(conn)?;
        }
        Ok(BatchOutcome {
            rows: rows_read,
            created,
            updated,
            failed,
            finished: eof,
        })
    })
}

/// The reason recorded for a row whose write a unique index refused. Other errors are
/// returned (the batch rolls back).
fn write_refusal(e: diesel::result::Error) -> AppResult<String> {
    match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            info,
        ) => Ok(format!(
            "another contact already has this {}; import the file again to update it",
            info.constraint_name()
                .map(|c| {
                    if c.contains("email") {
                        "email"
                    } else if c.contains("phone") {
                        "phone number"
                    } else if c.contains("identifier") {
                        "identifier"
                    } else {
                        "value"
                    }
                })
                .unwrap_or("value")
        )),
        other => Err(other.into()),
    }
}

fn insert_contacts(
    conn: &mut PgConnection,
    account_id: i64,
    rows: &[&Pending],
) -> diesel::QueryResult<Vec<i64>> {
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let values: Vec<_> = rows
        .iter()
        .map(|p| {
            (
                contacts::account_id.eq(account_id),
                contacts::name.eq(p.name.clone()),
                contacts::email.eq(p.email.clone()),
                contacts::phone_number.eq(p.phone.clone()),
                contacts::identifier.eq(p.identifier.clone()),
                contacts::bsuid.eq(p.bsuid.clone()),
                contacts::username.eq(p.username.clone()),
                contacts::additional_attributes.eq(p.additional.clone()),
                contacts::custom_attributes.eq(p.custom.clone()),
            )
        })
        .collect();
    diesel::insert_into(contacts::table)
        .values(values)
        .returning(contacts::id)
        .get_results(conn)
}

fn update_contact(conn: &mut PgConnection, p: &Pending) -> diesel::QueryResult<()> {
    let Some(id) = p.id else { return Ok(()) };
    diesel::update(contacts::table.find(id))
        .set((
            contacts::name.eq(&p.name),
            contacts::email.eq(&p.email),
            contacts::phone_number.eq(&p.phone),
            contacts::identifier.eq(&p.identifier),
            contacts::bsuid.eq(&p.bsuid),
            contacts::username.eq(&p.username),
            contacts::additional_attributes.eq(&p.additional),
            contacts::custom_attributes.eq(&p.custom),
            contacts::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Which contacts an export holds.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    /// The Contacts list's query (search, labels, dates, custom attribute filter; its sort
    /// is ignored: an export goes by id), applied by the list's own conditions
    /// (`contact_list::export_rows`), so the export holds what the list shows.
    pub query: super::contact_list::ContactQuery,
    /// Only these contact ids, when not empty.
    pub ids: Vec<i64>,
    /// Only contacts reachable in these inboxes (an agent's), when given.
    pub only_inboxes: Option<Vec<i64>>,
}

/// The fixed columns of an export, in order; custom attribute columns follow.
pub const EXPORT_COLUMNS: [&str; 13] = [
    "id",
    "name",
    "email",
    "phone_number",
    "identifier",
    "bsuid",
    "username",
    "company_name",
    "city",
    "country",
    "labels",
    "created_at",
    "last_activity_at",
];

/// Most custom attribute columns an export writes.
pub const MAX_EXPORT_CUSTOM_COLUMNS: i64 = 200;

#[derive(QueryableByName)]
struct KeyRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    key: String,
}

/// The custom attribute keys of the account's contacts, sorted (at most
/// [`MAX_EXPORT_CUSTOM_COLUMNS`]). When custom attribute definitions exist, their keys are
/// the natural list; until then the keys the contacts hold are used.
pub fn custom_attribute_keys(conn: &mut PgConnection, account_id: i64) -> AppResult<Vec<String>> {
    let rows: Vec<KeyRow> = diesel::sql_query(
        "SELECT DISTINCT k AS key FROM contacts, jsonb_object_keys(\
           CASE WHEN jsonb_typeof(custom_attributes) = 'object' THEN custom_attributes ELSE '{}'::jsonb END) AS k \
         WHERE account_id = $1 AND custom_attributes <> '{}'::jsonb ORDER BY k LIMIT $2",
    )
    .bind::<diesel::sql_types::BigInt, _>(account_id)
    .bind::<diesel::sql_types::BigInt, _>(MAX_EXPORT_CUSTOM_COLUMNS)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.key).collect())
}

/// The header line of an export (CSV text ending in `\r\n`) for these custom attribute
/// `keys`. A key that equals a fixed column is written `custom_attributes.<key>`.
pub fn export_header(keys: &[String]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let mut cells: Vec<String> = EXPORT_COLUMNS.iter().map(|c| c.to_string()).collect();
    for k in keys {
        let plain = !matches!(Column::from_header(k), Column::Custom(ref c) if c == k)
            || k.starts_with("custom_attributes.");
        cells.push(if plain {
            format!("custom_attributes.{k}")
        } else {
            k.clone()
        });
    }
    let _ = w.write_record(cells.iter().map(|c| escape_cell(c).into_owned()));
    w.into_inner().unwrap_or_default()
}

fn cell_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Writes the next page of an export: up to `limit` contacts of `account_id` matching
/// `filter` with `id > after`, by id, as CSV lines (`\r\n`) in `out`. Returns the last id
/// written, `None` when there were no more. Errors: 422 naming `q` for a bad search term.
pub fn export_page(
    conn: &mut PgConnection,
    account_id: i64,
    filter: &ExportFilter,
    keys: &[String],
    after: i64,
    limit: i64,
    out: &mut Vec<u8>,
) -> AppResult<Option<i64>> {
    let rows: Vec<Contact> = super::contact_list::export_rows(
        conn,
        account_id,
        filter.only_inboxes.as_deref(),
        &filter.query,
        &filter.ids,
        after,
        limit,
    )?;
    let Some(last) = rows.last().map(|c| c.id) else {
        return Ok(None);
    };
    let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
    let labels = labels_of(conn, &ids)?;
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(std::mem::take(out));
    let mut cells: Vec<String> = Vec::with_capacity(EXPORT_COLUMNS.len() + keys.len());
    for c in &rows {
        let contact_labels = labels.get(&c.id);
        cells.clear();
        cells.push(c.id.to_string());
        cells.push(c.name.clone());
        cells.push(c.email.clone().unwrap_or_default());
        cells.push(c.phone_number.clone().unwrap_or_default());
        cells.push(c.identifier.clone().unwrap_or_default());
        cells.push(c.bsuid.clone().unwrap_or_default());
        cells.push(c.username.clone().unwrap_or_default());
        for k in ["company_name", "city", "country"] {
            cells.push(cell_text(c.additional_attributes.get(k)));
        }
        cells.push(contact_labels.map(|l| l.join(",")).unwrap_or_default());
        cells.push(
            c.created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
        cells.push(
            c.last_activity_at
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default(),
        );
        for k in keys {
            cells.push(cell_text(c.custom_attributes.get(k)));
        }
        w.write_record(cells.iter().map(|c| escape_cell(c)).map(|c| c.into_owned()))
            .map_err(|e| AppError::Internal(e.to_string()))?;
    }
    *out = w
        .into_inner()
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(Some(last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_escaped_and_unescaped() {
        for (raw, out) in [
            ("=SUM(A1)", "'=SUM(A1)"),
            ("@cmd", "'@cmd"),
            ("-x", "'-x"),
            ("+x", "'+x"),
            ("\tx", "'\tx"),
            ("'=x", "''=x"),
            ("+14155550123", "+14155550123"),
            ("-12.5", "-12.5"),
            ("Ana", "Ana"),
            ("'quoted", "'quoted"),
            ("", ""),
        ] {
            assert_eq!(escape_cell(raw), out, "{raw}");
            assert_eq!(unescape_cell(out), raw, "{out}");
        }
    }

    #[test]
    fn files_are_checked() {
        let ok = check_file(b"\xEF\xBB\xBFname,email\r\nAna,ana@example.com\r\nBen,\r\n".to_vec())
            .unwrap();
        assert_eq!(ok.rows_total, 2);
        // The reader may stop before the header's line ending; rows are read from there.
        let rest = &ok.data[ok.first_row_offset as usize..];
        let skipped = rest
            .iter()
            .take_while(|b| **b == b'\r' || **b == b'\n')
            .count();
        assert_eq!(&rest[skipped..][..3], b"Ana");
        assert_eq!(
            ok.first_row_line + rest[..skipped].iter().filter(|b| **b == b'\n').count() as u64,
            2
        );
        for (bad, needle) in [
            (&b""[..], "empty"),
            (b"name\nA\0na\n", "NUL"),
            (b"name\n\xff\xfe\n", "UTF-8"),
            (b"foo,bar\n1,2\n", "first line"),
            (b"name,,email\nA,,b\n", "no name"),
            (b"name,Name\nA,B\n", "twice"),
            (b"name,email\n", "no rows"),
        ] {
            let err = check_file(bad.to_vec()).unwrap_err();
            assert!(format!("{err}").contains(needle), "{err}");
        }
    }

    #[test]
    fn rows_are_parsed() {
        let columns: Vec<Column> = ["name", "phone_number", "Email", "company", "tier"]
            .iter()
            .map(|h| Column::from_header(h))
            .collect();
        let rec = csv::StringRecord::from(vec!["Ana", "14155550123", "A@x.io", "Acme", "gold"]);
        let row = parse_row(&columns, &rec).ok().unwrap();
        assert_eq!(row.phone.as_deref(), Some("+14155550123"));
        assert_eq!(row.email.as_deref(), Some("a@x.io"));
        assert_eq!(row.additional["company_name"], "Acme");
        assert_eq!(row.custom["tier"], "gold");
        let bad = csv::StringRecord::from(vec!["Ana", "12", "", "", ""]);
        assert_eq!(
            parse_row(&columns, &bad).err().unwrap().field.as_deref(),
            Some("phone_number")
        );
        let short_row = csv::StringRecord::from(vec!["Ana"]);
        assert!(parse_row(&columns, &short_row).is_err());
    }
}

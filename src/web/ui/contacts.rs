//! The Contacts screen (issue 11, contacts-ui):
//!
//! - `GET /app/accounts/{id}/contacts?q=&sort=&dir=&label=&created_from=&created_to=&active_from=&active_to=&after=|before=&from=`:
//!   the list, searched, filtered, sorted and paged on keys by `domain::contact_list`
//!   ([`PER_PAGE`] rows; "1–50" and Next/Prev, never a count of the table). Dates are
//!   `YYYY-MM-DD` (UTC days, both ends included). `attr=&attr_op=&attr_value=` filter on a
//!   contact custom attribute (a definition's key, one of Chatwoot's `filter_operator`s
//!   fitting its type, a value): read and run by the contact filter of
//!   `POST /contacts/filter` (`domain::contact_filter`), so both answer alike. Bulk actions, "New contact", Import and
//!   Export are driven by `static/contacts.js` against the JSON API.
//! - `GET /app/accounts/{id}/contacts/{contact_id}`: one contact: details, labels, custom
//!   attributes, notes, the conversations the viewer may see, the inboxes it is reachable
//!   on, and Edit / Merge / Delete / New conversation.
//!
//! Agents see the contacts reachable in their inboxes only (as the API); another account's
//! contact, or one the agent cannot see, is a 404.

use super::inbox::{LabelChip, PanelNote};
use super::{html, layout, view, Layout};
use crate::app::AppState;
use crate::db::schema::conversations;
use crate::domain::contact_list::{self, ContactQuery, Cursor};
pub use crate::domain::contact_list_params::{list_query, query_of, ListParams};
use crate::domain::{contact_notes, contacts, custom_attributes, inboxes};
use crate::error::{AppError, AppResult};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

/// Contacts per page of the screen.
pub const PER_PAGE: i64 = 50;

/// `(RFC 3339, "Dec 1 2026, 09:00 UTC")`, or empty strings for none.
fn stamp(t: Option<DateTime<Utc>>) -> (String, String) {
    stamp_as(t, "%b %-d %Y, %H:%M UTC")
}

/// `(RFC 3339, t formatted with fmt)`, or empty strings for none.
fn stamp_as(t: Option<DateTime<Utc>>, fmt: &str) -> (String, String) {
    t.map(|t| {
        (
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            t.format(fmt).to_string(),
        )
    })
    .unwrap_or_default()
}

/// A row of the list.
#[derive(Debug, Clone)]
pub struct ContactRow {
    pub id: i64,
    pub name: String,
    pub initials: String,
    pub phone: String,
    pub email: String,
    pub bsuid: String,
    pub username: String,
    pub labels: Vec<LabelChip>,
    /// The labels comma-separated (`data-labels`, for the bulk "Add label").
    pub labels_text: String,
    pub last_activity: (String, String),
    pub created: (String, String),
}

#[derive(Template)]
#[template(path = "contacts.html")]
struct ListPage {
    layout: Layout,
    q: String,
    sort: String,
    dir: String,
    label: String,
    created_from: String,
    created_to: String,
    active_from: String,
    active_to: String,
    /// The filters as a query string (for Next/Prev, without the cursor), URL-encoded.
    filter_qs: String,
    /// The export URL of what the filters show (the csv part's streaming export).
    export_url: String,
    /// Whether any filter or search is on (the empty state says so).
    filtered: bool,
    error: String,
    rows: Vec<ContactRow>,
    /// Position of the first row (1-based), for "1–50".
    from: i64,
    to: i64,
    next_after: Option<i64>,
    prev_before: Option<i64>,
    /// The account's labels (filter, bulk "Add label").
    label_titles: Vec<String>,
    /// The custom attribute filter: key, operator, value (as given, trimmed).
    attr: String,
    attr_op: String,
    attr_value: String,
    /// The account's contact attribute definitions (the filter's choices).
    attr_choices: Vec<AttrChoice>,
    /// [`ATTR_OPERATORS`].
    attr_operators: &'static [(&'static str, &'static str)],
}

/// A contact attribute definition as the list's filter offers it.
#[derive(Debug, Clone)]
pub struct AttrChoice {
    pub key: String,
    pub name: String,
    /// `text`, `number`, `link`, `date`, `list` or `checkbox`.
    pub kind: String,
    /// A list attribute's choices, `|`-separated (`data-values`).
    pub values: String,
}

/// The operators the custom attribute filter offers, with their labels.
pub const ATTR_OPERATORS: &[(&str, &str)] = &[
    ("equal_to", "is"),
    ("not_equal_to", "is not"),
    ("contains", "contains"),
    ("does_not_contain", "does not contain"),
    ("is_greater_than", "is greater than / after"),
    ("is_less_than", "is less than / before"),
    ("is_present", "is set"),
    ("is_not_present", "is not set"),
];

fn id_param(field: &str, v: Option<&str>) -> AppResult<Option<i64>> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| AppError::invalid(field, format!("{field} must be a contact id"))),
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The query of the list's parameters `p`, custom attribute filter included (checked
/// against the account's contact attribute definitions), as the list shows it (sort and
/// paging aside): what "Select all matching" covers (`POST /bulk_actions` with `matching`).
/// Errors: 422 naming the field or `attr`.
pub fn matching_query(
    conn: &mut PgConnection,
    account_id: i64,
    p: &ListParams,
) -> AppResult<ContactQuery> {
    let definitions =
        custom_attributes::list(conn, account_id, Some(custom_attributes::Model::Contact))?;
    list_query(p, &definitions)
}

/// `GET /app/accounts/{id}/contacts`. Bad parameters show the reason instead of rows, 422.
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    params: web::Query<ListParams>,
) -> HttpResponse {
    let (layout, viewer) = match layout(&state, &req, path.into_inner()).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let p = params.into_inner();
    let account_id = layout.account_id;
    let filter_qs = [
        ("q", &p.q),
        ("sort", &p.sort),
        ("dir", &p.dir),
        ("label", &p.label),
        ("created_from", &p.created_from),
        ("created_to", &p.created_to),
        ("active_from", &p.active_from),
        ("active_to", &p.active_to),
        ("attr", &p.attr),
        ("attr_op", &p.attr_op),
        ("attr_value", &p.attr_value),
    ]
    .iter()
    .filter(|(_, v)| !v.trim().is_empty())
    .map(|(k, v)| format!("{k}={}", enc(v.trim())))
    .collect::<Vec<_>>()
    .join("&");
    // The export takes the list's own parameters (see [`list_query`]).
    let mut export_url = format!("/api/v1/accounts/{account_id}/contacts/export");
    if !filter_qs.is_empty() {
        export_url = format!("{export_url}?{filter_qs}");
    }
    let mut page = ListPage {
        filtered: [
            &p.q,
            &p.label,
            &p.created_from,
            &p.created_to,
            &p.active_from,
            &p.active_to,
            &p.attr,
        ]
        .iter()
        .any(|v| !v.trim().is_empty()),
        layout,
        q: p.q.clone(),
        sort: p.sort.trim().to_string(),
        dir: p.dir.trim().to_string(),
        label: p.label.trim().to_string(),
        created_from: p.created_from.trim().to_string(),
        created_to: p.created_to.trim().to_string(),
        active_from: p.active_from.trim().to_string(),
        active_to: p.active_to.trim().to_string(),
        filter_qs,
        export_url,
        error: String::new(),
        rows: vec![],
        from: 0,
        to: 0,
        next_after: None,
        prev_before: None,
        label_titles: vec![],
        attr: p.attr.trim().to_string(),
        attr_op: p.attr_op.trim().to_string(),
        attr_value: p.attr_value.trim().to_string(),
        attr_choices: vec![],
        attr_operators: ATTR_OPERATORS,
    };
    let from_param = p
        .from
        .as_deref()
        .and_then(|f| f.trim().parse::<i64>().ok())
        .filter(|f| (1..=1_000_000_000).contains(f));
    let result = (|| -> AppResult<_> {
        query_of(&p)?;
        let cursor = match (
            id_param("after", p.after.as_deref())?,
            id_param("before", p.before.as_deref())?,
        ) {
            (Some(a), _) => Cursor::After(a),
            (None, Some(b)) => Cursor::Before(b),
            (None, None) => Cursor::First,
        };
        Ok(cursor)
    })();
    let defs_of = |conn: &mut PgConnection, account_id| {
        custom_attributes::list(conn, account_id, Some(custom_attributes::Model::Contact))
    };
    let found = match result {
        Ok(cursor) => {
            state
                .db(move |conn| {
                    let definitions = defs_of(conn, viewer.account_id)?;
                    let query = list_query(&p, &definitions)?;
                    let only = viewer.visible_inbox_ids(conn)?;
                    let rows = contact_list::page(
                        conn,
                        viewer.account_id,
                        only.as_deref(),
                        &query,
                        cursor,
                        PER_PAGE,
                    )?;
                    let labels = crate::domain::labels::list(conn, viewer.account_id)?;
                    Ok((rows, labels, cursor, definitions))
                })
                .await
        }
        Err(e) => Err(e),
    };
    let mut status = actix_web::http::StatusCode::OK;
    match found {
        Ok((rows, labels, cursor, definitions)) => {
            page.attr_choices = attr_choices(&definitions);
            let color_of = |t: &str| {
                labels
                    .iter()
                    .find(|l| l.title.eq_ignore_ascii_case(t))
                    .map(|l| l.color.clone())
                    .unwrap_or_else(|| crate::domain::labels::DEFAULT_COLOR.to_string())
            };
            let n = rows.rows.len() as i64;
            page.from = match cursor {
                Cursor::First => 1,
                _ => from_param.unwrap_or(1),
            };
            page.to = page.from + n - 1;
            if rows.has_next {
                page.next_after = rows.rows.last().map(|r| r.contact.id);
            }
            if rows.has_prev {
                page.prev_before = rows.rows.first().map(|r| r.contact.id);
            }
            page.label_titles = labels.iter().map(|l| l.title.clone()).collect();
            page.rows = rows
                .rows
                .into_iter()
                .map(|r| {
                    let c = r.contact;
                    let name = view::contact_name(&c);
                    ContactRow {
                        id: c.id,
                        initials: view::initials(&name),
                        name,
                        phone: c.phone_number.unwrap_or_default(),
                        email: c.email.unwrap_or_default(),
                        bsuid: c.bsuid.unwrap_or_default(),
                        username: c.username.unwrap_or_default(),
                        labels_text: r.labels.join(","),
                        labels: r
                            .labels
                            .iter()
                            .map(|l| LabelChip {
                                title: l.clone(),
                                color: color_of(l),
                                on: true,
                            })
                            .collect(),
                        last_activity: stamp_as(c.last_activity_at, "%b %-d %Y, %H:%M"),
                        created: stamp_as(Some(c.created_at), "%b %-d, %Y"),
                    }
                })
                .collect();
        }
        Err(AppError::Unprocessable { message, .. }) => {
            page.error = message;
            // The filter's choices stay on the page, so the person can correct it.
            page.attr_choices = state
                .db(move |conn| defs_of(conn, account_id))
                .await
                .map(|d| attr_choices(&d))
                .unwrap_or_default();
            status = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
        }
        Err(e) => return actix_web::ResponseError::error_response(&e),
    }
    let mut resp = html(&page).unwrap_or_else(|e| actix_web::ResponseError::error_response(&e));
    if resp.status().is_success() {
        *resp.status_mut() = status;
    }
    resp
}

fn attr_choices(definitions: &[custom_attributes::Definition]) -> Vec<AttrChoice> {
    definitions
        .iter()
        .map(|d| AttrChoice {
            key: d.attribute_key.clone(),
            name: d.attribute_display_name.clone(),
            kind: d.display_type().as_str().to_string(),
            values: d.attribute_values.join("|"),
        })
        .collect()
}

/// A conversation of the contact.
#[derive(Debug, Clone)]
pub struct ContactConversation {
    pub display_id: i32,
    pub status: String,
    pub inbox_name: String,
    pub last_activity: (String, String),
}

/// A `source_id` as the contact page shows it: a WhatsApp phone number (`kind` `phone`,
/// stored as Graph's digits) in E.164 with its `+`; a BSUID as stored.
pub fn shown_source_id(kind: &str, source_id: String) -> String {
    if kind == "phone" && !source_id.is_empty() && source_id.bytes().all(|b| b.is_ascii_digit()) {
        format!("+{source_id}")
    } else {
        source_id
    }
}

/// An inbox the contact is reachable on.
#[derive(Debug, Clone)]
pub struct Reachable {
    pub inbox_name: String,
    /// The inbox's WhatsApp number.
    pub inbox_phone: String,
    /// Chatwoot's `source_id`: the phone number in E.164 (`+` and digits, see
    /// [`shown_source_id`]), BSUID or parent BSUID.
    pub source_id: String,
    /// `phone`, `bsuid` or `parent_bsuid`.
    pub kind: String,
}

#[derive(Template)]
#[template(path = "contact.html")]
struct ContactPage {
    layout: Layout,
    id: i64,
    name: String,
    initials: String,
    phone: String,
    email: String,
    bsuid: String,
    parent_bsuid: String,
    username: String,
    identifier: String,
    company: String,
    city: String,
    country: String,
    created: (String, String),
    last_activity: (String, String),
    label_chips: Vec<LabelChip>,
    label_choices: Vec<LabelChip>,
    labels_text: String,
    /// Stored `custom_attributes` with no definition (e.g. a CSV import's extra columns), as
    /// (key, value as text), by key; read-only.
    custom: Vec<(String, String)>,
    /// The defined contact attributes with an editor each
    /// (`templates/partials/custom_attributes.html`).
    custom_attribute_blocks: Vec<super::custom_attributes::AttributeBlock>,
    notes: Vec<PanelNote>,
    conversations: Vec<ContactConversation>,
    reachable: Vec<Reachable>,
    /// What a delete takes: every conversation of the contact (not only those the viewer
    /// sees) and their media files.
    delete_conversations: i64,
    delete_media: i64,
}

fn attr(v: &serde_json::Value, key: &str) -> String {
    match v.get(key) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

#[derive(QueryableByName)]
struct Counts {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    conversations: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    media: i64,
}

#[derive(QueryableByName)]
struct LabelsOf {
    #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Text>)]
    labels: Vec<String>,
}

/// `GET /app/accounts/{id}/contacts/{contact_id}`.
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> HttpResponse {
    let (account_id, contact_id) = path.into_inner();
    let (layout, viewer) = match layout(&state, &req, account_id).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let found = state
        .db(move |conn| {
            contact_notes::check_contact(conn, &viewer, contact_id)?;
            let c = contacts::find(conn, account_id, contact_id)?;
            let only = viewer.visible_inbox_ids(conn)?;
            let labels: Vec<String> =
                diesel::sql_query("SELECT labels FROM contacts WHERE id = $1")
                    .bind::<diesel::sql_types::BigInt, _>(contact_id)
                    .get_result::<LabelsOf>(conn)?
                    .labels;
            let defined = crate::domain::labels::list(conn, account_id)?;
            let mut inbox_names = std::collections::HashMap::new();
            let mut reachable = vec![];
            for ci in contacts::contact_inboxes_of(conn, contact_id, only.as_deref())? {
                if let Ok(ib) = inboxes::find(conn, account_id, ci.inbox_id) {
                    inbox_names.insert(ib.0.id, ib.0.name.clone());
                    reachable.push(Reachable {
                        inbox_name: ib.0.name.clone(),
                        inbox_phone: ib.1.phone_number.clone(),
                        source_id: shown_source_id(&ci.source_kind, ci.source_id),
                        kind: ci.source_kind,
                    });
                }
            }
            let mut convs = conversations::table
                .filter(conversations::account_id.eq(account_id))
                .filter(conversations::contact_id.eq(contact_id))
                .select((
                    conversations::display_id,
                    conversations::status,
                    conversations::inbox_id,
                    conversations::last_activity_at,
                ))
                .order((
                    conversations::last_activity_at.desc(),
                    conversations::id.desc(),
                ))
                .limit(100)
                .into_boxed();
            if let Some(ids) = &only {
                convs = convs.filter(conversations::inbox_id.eq_any(ids.clone()));
            }
            let convs: Vec<(i32, String, i64, DateTime<Utc>)> = convs.load(conn)?;
            let mut conv_rows = vec![];
            for (display_id, status, inbox_id, at) in convs {
                let inbox_name = match inbox_names.get(&inbox_id) {
                    Some(n) => n.clone(),
                    None => inboxes::find(conn, account_id, inbox_id)
                        .map(|ib| ib.0.name)
                        .unwrap_or_default(),
                };
                conv_rows.push(ContactConversation {
                    display_id,
                    status,
                    inbox_name,
                    last_activity: stamp(Some(at)),
                });
            }
            let counts: Counts = diesel::sql_query(
                "SELECT (SELECT count(*) FROM conversations WHERE contact_id = $1) AS conversations, \
                        (SELECT count(*) FROM attachments a JOIN messages m ON m.id = a.message_id \
                         JOIN conversations v ON v.id = m.conversation_id WHERE v.contact_id = $1) AS media",
            )
            .bind::<diesel::sql_types::BigInt, _>(contact_id)
            .get_result(conn)?;
            let notes = contact_notes::newest(conn, account_id, contact_id, 50)?;
            let attribute_definitions = crate::domain::custom_attributes::list(
                conn,
                account_id,
                Some(crate::domain::custom_attributes::Model::Contact),
            )?;
            Ok((
                c,
                labels,
                defined,
                reachable,
                conv_rows,
                counts,
                notes,
                attribute_definitions,
            ))
        })
        .await;
    let (c, labels, defined, reachable, conv_rows, counts, notes, attribute_definitions) =
        match found {
            Ok(f) => f,
            Err(e) => return actix_web::ResponseError::error_response(&e),
        };
    let color_of = |title: &str| {
        defined
            .iter()
            .find(|l| l.title.eq_ignore_ascii_case(title))
            .map(|l| l.color.clone())
            .unwrap_or_else(|| crate::domain::labels::DEFAULT_COLOR.to_string())
    };
    let name = view::contact_name(&c);
    let mut custom: Vec<(String, String)> = c
        .custom_attributes
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    let text = match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), text)
                })
                .collect()
        })
        .unwrap_or_default();
    custom.retain(|(k, _)| !attribute_definitions.iter().any(|d| d.attribute_key == *k));
    custom.sort();
    let custom_attribute_blocks = vec![super::custom_attributes::block(
        &attribute_definitions,
        crate::domain::custom_attributes::Model::Contact,
        c.id,
        &c.custom_attributes,
    )];
    let page = ContactPage {
        layout,
        id: c.id,
        initials: view::initials(&name),
        name,
        phone: c.phone_number.clone().unwrap_or_default(),
        email: c.email.clone().unwrap_or_default(),
        bsuid: c.bsuid.clone().unwrap_or_default(),
        parent_bsuid: c.parent_bsuid.clone().unwrap_or_default(),
        username: c.username.clone().unwrap_or_default(),
        identifier: c.identifier.clone().unwrap_or_default(),
        company: attr(&c.additional_attributes, "company_name"),
        city: attr(&c.additional_attributes, "city"),
        country: attr(&c.additional_attributes, "country"),
        created: stamp(Some(c.created_at)),
        last_activity: stamp(c.last_activity_at),
        label_chips: labels
            .iter()
            .map(|l| LabelChip {
                title: l.clone(),
                color: color_of(l),
                on: true,
            })
            .collect(),
        label_choices: defined
            .iter()
            .map(|l| LabelChip {
                on: labels.iter().any(|x| x.eq_ignore_ascii_case(&l.title)),
                title: l.title.clone(),
                color: l.color.clone(),
            })
            .collect(),
        labels_text: labels.join(", "),
        custom,
        custom_attribute_blocks,
        notes: notes
            .into_iter()
            .map(|n| PanelNote {
                content: n.note.content,
                author: n.author_name.unwrap_or_else(|| "A deleted user".into()),
                written: stamp(Some(n.note.created_at)),
            })
            .collect(),
        conversations: conv_rows,
        reachable,
        delete_conversations: counts.conversations,
        delete_media: counts.media,
    };
    html(&page).unwrap_or_else(|e| actix_web::ResponseError::error_response(&e))
}

/// `GET /app/accounts/{id}/partials/contact_count?<the list's parameters>`: how many
/// contacts "Select all matching" covers, `{"total": n, "exact": bool}` (`exact` false when
/// more than `contact_bulk::MAX_CONTACTS` match; `total` is that cap then), for the bulk
/// bar's wording and the delete confirmation. Errors: 422 JSON naming a bad parameter.
pub async fn matching_count(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    params: web::Query<ListParams>,
) -> HttpResponse {
    let (_, viewer) = match layout(&state, &req, path.into_inner()).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let p = params.into_inner();
    let result = state
        .db(move |conn| {
            let query = matching_query(conn, viewer.account_id, &p)?;
            let only = viewer.visible_inbox_ids(conn)?;
            let cap = crate::domain::contact_bulk::MAX_CONTACTS as i64;
            let (n, exact) =
                contact_list::count_capped(conn, viewer.account_id, only.as_deref(), &query, cap)?;
            Ok(serde_json::json!({"total": n, "exact": exact}))
        })
        .await;
    match result {
        Ok(v) => HttpResponse::Ok().json(v),
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

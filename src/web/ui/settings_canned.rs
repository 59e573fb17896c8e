//! Settings → Canned responses (`/app/accounts/{id}/settings/canned_responses`): the list
//! with a search, a form to create one (short code, content with variables, attachments),
//! editing in place of that form (`?edit={id}`), and deleting with a confirmation box.
//!
//! Every member of the account opens the page (Chatwoot lets agents manage their canned
//! responses); the rules of who may change what are the domain's
//! ([`crate::domain::canned_responses`]): agents change and delete only their own. Forms are
//! multipart (for the files) with the CSRF token; a refused change re-renders the page with
//! the error next to its field.

use super::scope::AccountMember;
use super::settings_people::FieldErrors;
use super::{html, redirect, Layout};
use crate::app::AppState;
use crate::domain::canned_responses::{self as canned, CannedWithAttachments};
use crate::domain::outbox::StoredUpload;
use crate::error::AppError;
use crate::web::api::canned_responses::{input_from, remove_stored};
use crate::web::api::messages::{read_form, refuse_declared_oversize, remove_uploads};
use crate::web::session;
use actix_multipart::Multipart;
use actix_session::SessionExt;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The variables a canned response may hold, as the composer fills them in (Chatwoot's
/// names; `contact.phone_number` and `conversation.display_id` are accepted beside
/// Chatwoot's `contact.phone` and `conversation.id`).
pub const VARIABLES: [&str; 8] = [
    "{{contact.name}}",
    "{{contact.first_name}}",
    "{{contact.phone_number}}",
    "{{contact.email}}",
    "{{agent.name}}",
    "{{agent.first_name}}",
    "{{conversation.display_id}}",
    "{{inbox.name}}",
];

/// One attachment as the page lists it.
#[derive(Debug, Clone)]
pub struct AttachmentRow {
    /// Its id.
    pub id: i64,
    /// The uploaded file name.
    pub file_name: String,
    /// The file route (opens or downloads it).
    pub url: String,
    /// Its size for people ("12 KB").
    pub size: String,
}

/// One canned response as the page lists it.
#[derive(Debug, Clone)]
pub struct CannedRow {
    /// Its id.
    pub id: i64,
    /// Its short code.
    pub short_code: String,
    /// Its content, as stored.
    pub content: String,
    /// Its files.
    pub attachments: Vec<AttachmentRow>,
    /// Whether the signed-in user may edit and delete it.
    pub can_manage: bool,
    /// Errors of its delete form (`confirm`).
    pub errors: FieldErrors,
}

/// `?notice=&search=&edit=`.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// What the last change did.
    pub notice: Option<String>,
    /// Filters the list by short code and content.
    pub search: Option<String>,
    /// The id of the response to edit in the form.
    pub edit: Option<i64>,
}

/// The delete form.
#[derive(Debug, Default, Deserialize)]
pub struct DeleteForm {
    /// `yes` when the confirmation box is ticked.
    pub confirm: Option<String>,
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf_token: String,
}

#[derive(Template)]
#[template(path = "settings/canned_responses.html")]
struct CannedPage {
    layout: Layout,
    rows: Vec<CannedRow>,
    search: String,
    /// The response being edited (0: the form creates one).
    editing: i64,
    form_code: String,
    form_content: String,
    form_attachments: Vec<AttachmentRow>,
    errors: FieldErrors,
    notice: String,
    error: String,
    variables: &'static [&'static str],
}

/// What a failed form puts back on the page.
#[derive(Default)]
struct Failure {
    /// The submitted form (editing id, short code, content) and its field errors.
    form: Option<(i64, String, String, FieldErrors)>,
    /// A failed delete: (id, errors).
    row: Option<(i64, FieldErrors)>,
    general: String,
}

fn error_response(e: AppError) -> HttpResponse {
    actix_web::ResponseError::error_response(&e)
}

fn size_label(bytes: i64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{} KB", (b + 512) / 1024),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

fn attachment_rows(c: &CannedWithAttachments) -> Vec<AttachmentRow> {
    c.attachments
        .iter()
        .map(|a| AttachmentRow {
            id: a.id,
            file_name: a.file_name.clone(),
            url: format!(
                "/api/v1/accounts/{}/canned_responses/{}/attachments/{}",
                a.account_id, a.canned_response_id, a.id
            ),
            size: size_label(a.file_size),
        })
        .collect()
}

fn back(account_id: i64, notice: &str) -> HttpResponse {
    redirect(&format!(
        "/app/accounts/{account_id}/settings/canned_responses?notice={}",
        url::form_urlencoded::byte_serialize(notice.as_bytes()).collect::<String>()
    ))
}

fn place_error(e: &AppError) -> (StatusCode, FieldErrors, String) {
    let status = actix_web::ResponseError::status_code(e);
    let mut errors = FieldErrors::new();
    match e {
        AppError::Unprocessable {
            field: Some(field),
            message,
        } => {
            errors.insert(field.clone(), message.clone());
            (status, errors, String::new())
        }
        other => (status, errors, other.to_string()),
    }
}

#[allow(clippy::too_many_arguments)]
async fn page(
    state: &AppState,
    member: AccountMember,
    search: String,
    edit: Option<i64>,
    failure: Failure,
    notice: String,
    status: StatusCode,
) -> HttpResponse {
    let account_id = member.layout.account_id;
    let term = search.clone();
    let list = match state
        .db(move |conn| canned::list(conn, account_id, Some(&term)))
        .await
    {
        Ok(l) => l,
        Err(e) => return error_response(e),
    };
    let viewer = member.viewer;
    let mut rows: Vec<CannedRow> = list
        .iter()
        .map(|c| CannedRow {
            id: c.response.id,
            short_code: c.response.short_code.clone(),
            content: c.response.content.clone(),
            attachments: attachment_rows(c),
            can_manage: canned::may_manage(&viewer, &c.response),
            errors: FieldErrors::new(),
        })
        .collect();
    if let Some((id, errs)) = failure.row {
        if let Some(r) = rows.iter_mut().find(|r| r.id == id) {
            r.errors = errs;
        }
    }
    // The edited response, loaded even when the search hides it.
    let edited =
        match edit {
            Some(id) => match state
                .db(move |conn| canned::find(conn, account_id, id))
                .await
            {
                Ok(c) if canned::may_manage(&viewer, &c.response) => Some(c),
                Ok(_) => return error_response(AppError::Forbidden(
                    "only administrators and the agent who created a canned response can change it"
                        .into(),
                )),
                Err(e) => return error_response(e),
            },
            None => None,
        };
    let form_attachments = edited.as_ref().map(attachment_rows).unwrap_or_default();
    let (editing, form_code, form_content, errors) = match failure.form {
        Some(f) => f,
        None => match &edited {
            Some(c) => (
                c.response.id,
                c.response.short_code.clone(),
                c.response.content.clone(),
                FieldErrors::new(),
            ),
            None => (0, String::new(), String::new(), FieldErrors::new()),
        },
    };
    let page = CannedPage {
        layout: member.layout,
        rows,
        search,
        editing,
        form_code,
        form_content,
        form_attachments,
        errors,
        notice,
        error: failure.general,
        variables: &VARIABLES,
    };
    let mut resp = html(&page).unwrap_or_else(error_response);
    if resp.status().is_success() {
        *resp.status_mut() = status;
    }
    resp
}

/// `GET /app/accounts/{id}/settings/canned_responses[?search=&edit=]`: the list (filtered by
/// `search`, short-code prefix matches first), and the form creating one, or editing `edit`.
/// Errors: 404 for `edit` of another account; 403 when an agent edits another's response.
pub async fn index(
    state: web::Data<AppState>,
    member: AccountMember,
    q: web::Query<PageQuery>,
) -> HttpResponse {
    let q = q.into_inner();
    page(
        &state,
        member,
        q.search.unwrap_or_default(),
        q.edit,
        Failure::default(),
        q.notice.unwrap_or_default(),
        StatusCode::OK,
    )
    .await
}

fn text(fields: &Map<String, Value>, name: &str) -> String {
    fields
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Reads the multipart form and checks its CSRF token. Errors: the response to send (the
/// uploads are removed).
async fn read_checked(
    state: &AppState,
    req: &HttpRequest,
    form: Multipart,
) -> Result<(Map<String, Value>, Vec<StoredUpload>), HttpResponse> {
    refuse_declared_oversize(req).map_err(error_response)?;
    let (fields, uploads) = read_form(state, form).await.map_err(error_response)?;
    let token = text(&fields, "csrf_token");
    if let Err(e) = session::check_csrf(&req.get_session(), Some(&token)) {
        remove_uploads(state, &uploads).await;
        return Err(error_response(e));
    }
    Ok((fields, uploads))
}

async fn save(
    state: web::Data<AppState>,
    req: HttpRequest,
    member: AccountMember,
    id: Option<i64>,
    form: Multipart,
) -> HttpResponse {
    let (fields, uploads) = match read_checked(&state, &req, form).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    // A file input left empty still sends one part with an empty file name: ignore it.
    let (empty, uploads): (Vec<_>, Vec<_>) = uploads
        .into_iter()
        .partition(|u| u.file_size == 0 || u.file_name.is_empty());
    remove_uploads(&state, &empty).await;
    let code = text(&fields, "short_code");
    let content = text(&fields, "content");
    let viewer = member.viewer.clone();
    let files = uploads.clone();
    let result = match input_from(fields) {
        Ok((input, remove)) => {
            state
                .db(move |conn| match id {
                    None => canned::create(conn, &viewer, &input, &files).map(|c| (c, vec![])),
                    Some(id) => canned::update(conn, &viewer, id, &input, &files, &remove),
                })
                .await
        }
        Err(e) => Err(e),
    };
    let account_id = member.layout.account_id;
    match result {
        Ok((c, removed)) => {
            remove_stored(&state, &removed).await;
            let verb = if id.is_some() { "saved" } else { "created" };
            back(
                account_id,
                &format!("Canned response /{} {verb}.", c.response.short_code),
            )
        }
        Err(e) => {
            remove_uploads(&state, &uploads).await;
            let (status, errors, general) = place_error(&e);
            let failure = Failure {
                form: Some((id.unwrap_or(0), code, content, errors)),
                general,
                ..Failure::default()
            };
            page(
                &state,
                member,
                String::new(),
                id,
                failure,
                String::new(),
                status,
            )
            .await
        }
    }
}

/// `POST …/settings/canned_responses` (multipart: `csrf_token`, `short_code`, `content`,
/// files in `attachments[]`): creates one. Errors re-render the form with the message next
/// to its field (422), or answer 403 for a bad CSRF token.
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    member: AccountMember,
    form: Multipart,
) -> HttpResponse {
    save(state, req, member, None, form).await
}

/// The `{canned_id}` of the path; `None` when not a number (answered 404).
fn path_id(req: &HttpRequest) -> Option<i64> {
    req.match_info()
        .get("canned_id")
        .and_then(|v| v.parse().ok())
}

fn no_such_response() -> HttpResponse {
    error_response(AppError::NotFound("canned response not found".into()))
}

/// `POST …/settings/canned_responses/{canned_id}/update` (multipart as [`create`], plus
/// `remove_attachment_<id>` boxes): changes one, adds the new files and removes the ticked
/// ones. Errors: 404 (another account's id too); 403 for another agent's; 422 next to the
/// field.
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    member: AccountMember,
    form: Multipart,
) -> HttpResponse {
    let Some(id) = path_id(&req) else {
        return no_such_response();
    };
    save(state, req, member, Some(id), form).await
}

/// `POST …/settings/canned_responses/{canned_id}/delete` (with `confirm=yes`): deletes one
/// and its files. Errors: 404; 403 for another agent's; 422 `confirm` when the box is not
/// ticked.
pub async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    member: AccountMember,
    form: web::Form<DeleteForm>,
) -> HttpResponse {
    let Some(id) = path_id(&req) else {
        return no_such_response();
    };
    let form = form.into_inner();
    if let Err(e) = session::check_csrf(&req.get_session(), Some(&form.csrf_token)) {
        return error_response(e);
    }
    let viewer = member.viewer.clone();
    let account_id = member.layout.account_id;
    let result = if form.confirm.as_deref() == Some("yes") {
        state
            .db(move |conn| {
                let c = canned::find(conn, account_id, id)?;
                let files = canned::delete(conn, &viewer, id)?;
                Ok((c.response.short_code, files))
            })
            .await
    } else {
        Err(AppError::invalid(
            "confirm",
            "Tick the box to confirm deleting this canned response.",
        ))
    };
    match result {
        Ok((code, files)) => {
            remove_stored(&state, &files).await;
            back(account_id, &format!("Canned response /{code} deleted."))
        }
        Err(AppError::NotFound(m)) => error_response(AppError::NotFound(m)),
        Err(e) => {
            let (status, errors, general) = place_error(&e);
            let failure = Failure {
                row: Some((id, errors)),
                general,
                ..Failure::default()
            };
            page(
                &state,
                member,
                String::new(),
                None,
                failure,
                String::new(),
                status,
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size_label(10), "10 B");
        assert_eq!(size_label(12 * 1024), "12 KB");
        assert_eq!(size_label(3 * 1024 * 1024 / 2), "1.5 MB");
    }
}

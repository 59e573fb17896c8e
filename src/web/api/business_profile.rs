//! `/api/v1/accounts/{account_id}/inboxes/{inbox_id}/business_profile` (Switchboard's own
//! route, issue 12): the WhatsApp business profile of the inbox's number, for administrators.
//!
//! - `GET` → `{"inbox_id", "about", "address", "description", "email", "websites": [..],
//!   "vertical", "vertical_label", "profile_picture_url", "picture_upload_available"}` read
//!   from Graph.
//! - `PUT` with JSON (`{"about": …, "websites": [..], …}`, bare or wrapped as
//!   `{"business_profile": {…}}`) changes the fields given; `PUT` as multipart (the same
//!   text fields, `websites[]` repeated, and a `profile_picture` JPEG/PNG file) also sets the
//!   picture through the Resumable Upload API (needs `WHATSAPP_APP_ID`). Answers the profile
//!   as read again.
//!
//! - `GET …/business_profile/picture` → the current profile picture's bytes (`image/jpeg` or
//!   `image/png`, `Cache-Control: private, max-age=300`), fetched from `profile_picture_url`
//!   through `whatsapp::profile_picture` (SSRF guard, 5 MB cap); 404 when there is none.
//!
//! Errors: 401/403 (not an administrator), 404 (another account's inbox), 400 (unreadable
//! body), 422 naming the field for Meta's limits (checked before any Graph call), 422
//! `business_profile`/`profile_picture` with Meta's refusal in words and its code, 502 when
//! Graph cannot be reached. See `whatsapp::business_profile`.

use super::inboxes::require_admin_inbox;
use super::wrapped::Wrapped;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::web::input_guard::check_text;
use crate::whatsapp::business_profile::{self as profile, Picture};
use actix_multipart::Multipart;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde_json::{Map, Value};

/// Largest text field of a multipart profile form, in bytes.
const MAX_FIELD_BYTES: usize = 64 * 1024;

/// `GET …/inboxes/{inbox_id}/business_profile`.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/inboxes/{id}/business_profile",
    tag = "business_profile",
    operation_id = "business_profile_show",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    responses(
        (status = 200, description = "The business profile", body = crate::web::openapi::schemas::BusinessProfile),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, inbox_id) = path.into_inner();
    let (_, channel) = require_admin_inbox(&state, &req, account_id, inbox_id).await?;
    let p = profile::load(&state, inbox_id, &channel).await?;
    Ok(HttpResponse::Ok().json(profile::view(&state.config, inbox_id, &p)))
}

/// `GET …/inboxes/{inbox_id}/business_profile/picture` (issue 12, h12): the picture as an
/// image, so the settings page shows it under its CSP. Errors: 401/403 (not an
/// administrator of the account), 404 (another account's inbox, or no picture set), 422/502
/// as [`show`] for reading the profile, 502 when the picture cannot be fetched.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/inboxes/{id}/business_profile/picture",
    tag = "business_profile",
    operation_id = "business_profile_picture",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    responses(
        (status = 200, description = "The profile picture, with its own Content-Type", body = String, content_type = "application/octet-stream"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn picture(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, inbox_id) = path.into_inner();
    let (_, channel) = require_admin_inbox(&state, &req, account_id, inbox_id).await?;
    let p = profile::load(&state, inbox_id, &channel).await?;
    let Some(url) = p.profile_picture_url.filter(|u| !u.is_empty()) else {
        return Err(AppError::NotFound(
            "this number has no WhatsApp profile picture".into(),
        ));
    };
    let pic = crate::whatsapp::profile_picture::fetch(&state.config, &url).await?;
    Ok(HttpResponse::Ok()
        .content_type(pic.mime)
        .insert_header((
            actix_web::http::header::CACHE_CONTROL,
            format!(
                "private, max-age={}",
                crate::whatsapp::profile_picture::CACHE_SECONDS
            ),
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(pic.bytes))
}

/// `PUT …/inboxes/{inbox_id}/business_profile` with JSON.
#[utoipa::path(
    put,
    path = "/api/v1/accounts/{account_id}/inboxes/{id}/business_profile",
    tag = "business_profile",
    operation_id = "business_profile_update_json",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content((crate::web::openapi::JsonObject = "application/json"), (crate::web::openapi::MultipartForm = "multipart/form-data"))),
    responses(
        (status = 200, description = "The business profile as changed", body = crate::web::openapi::schemas::BusinessProfile),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn update_json(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, inbox_id) = path.into_inner();
    let (_, channel) = require_admin_inbox(&state, &req, account_id, inbox_id).await?;
    let change = profile::parse_change(&body.json_object()?)?;
    let p = profile::apply(&state, inbox_id, &channel, change, None).await?;
    Ok(HttpResponse::Ok().json(profile::view(&state.config, inbox_id, &p)))
}

/// `PUT …/inboxes/{inbox_id}/business_profile` as `multipart/form-data`.
pub async fn update_multipart(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    form: Multipart,
) -> AppResult<HttpResponse> {
    let (account_id, inbox_id) = path.into_inner();
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > profile::MAX_PICTURE_BYTES + MAX_FIELD_BYTES) {
        return Err(profile::picture_too_large());
    }
    let (_, channel) = require_admin_inbox(&state, &req, account_id, inbox_id).await?;
    let (fields, picture) = read_form(form).await?;
    let change = profile::parse_change(&fields)?;
    let p = profile::apply(&state, inbox_id, &channel, change, picture).await?;
    Ok(HttpResponse::Ok().json(profile::view(&state.config, inbox_id, &p)))
}

/// Reads a multipart profile form: text fields (`about`, …; `business_profile[about]` reads
/// as `about`; `websites` and `websites[]` collect into a list) into a JSON object for
/// [`profile::parse_change`], and the `profile_picture` file (a file input left empty counts
/// as absent). Errors: 422 `profile_picture` over the size cap; 400 unreadable body, a text
/// field over 64 KiB or not UTF-8; 400 a NUL in a field.
async fn read_form(mut form: Multipart) -> AppResult<(Map<String, Value>, Option<Picture>)> {
    let mut fields = Map::new();
    let mut websites: Option<Vec<Value>> = None;
    let mut picture = None;
    while let Some(field) = form.next().await {
        let mut field =
            field.map_err(|e| AppError::BadRequest(format!("unreadable multipart body: {e}")))?;
        let raw = field.name().unwrap_or_default().to_string();
        let name = raw
            .strip_prefix("business_profile[")
            .and_then(|r| r.strip_suffix(']'))
            .unwrap_or(&raw)
            .trim_end_matches("[]")
            .to_string();
        check_text("name", &name)?;
        let file_name = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_string);
        let is_file = name == "profile_picture";
        let cap = if is_file {
            profile::MAX_PICTURE_BYTES
        } else {
            MAX_FIELD_BYTES
        };
        let bytes = super::profile::read_part(&mut field, cap, || {
            if is_file {
                profile::picture_too_large()
            } else {
                AppError::BadRequest(format!("the field {name} is larger than 64 KiB"))
            }
        })
        .await?;
        if is_file {
            let file_name = file_name.unwrap_or_default();
            if !(bytes.is_empty() && file_name.is_empty()) {
                check_text("profile_picture", &file_name)?;
                picture = Some(Picture {
                    file_name: if file_name.is_empty() {
                        "profile_picture".into()
                    } else {
                        file_name
                    },
                    bytes,
                });
            }
            continue;
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| AppError::BadRequest(format!("the field {name} is not UTF-8 text")))?;
        check_text(&name, &text)?;
        if name == "websites" {
            websites.get_or_insert_with(Vec::new).push(text.into());
        } else {
            fields.insert(name, text.into());
        }
    }
    if let Some(w) = websites {
        fields.insert("websites".into(), Value::Array(w));
    }
    Ok((fields, picture))
}

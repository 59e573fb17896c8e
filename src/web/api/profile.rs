//! `/api/v1/profile` (Chatwoot's Profile API): `GET` the caller and their accounts (Chatwoot's
//! `user` shape; the `access_token` is not returned because only its digest is stored),
//! `PUT` to change it (JSON `{"profile": {…}}` or multipart `profile[…]` fields with a
//! `profile[avatar]` file), `DELETE /profile/avatar`, and `POST /profile/availability`
//! (Chatwoot's route, `{"profile": {"availability", "account_id"}}`).

use super::wrapped::Wrapped;
use crate::app::AppState;
use crate::domain::accounts::{self, User};
use crate::domain::profile::{self, Availability};
use crate::error::{AppError, AppResult};
use crate::web::auth;
use actix_multipart::Multipart;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Largest non-file field of a profile form, in bytes.
const MAX_FIELD_BYTES: usize = 64 * 1024;

/// The user as Chatwoot's `user`: `display_name`, `available_name`, `avatar_url` (absolute,
/// `{FRONTEND_URL}/media/avatars/…`, or "" without one) and, per account, the configured
/// `availability` (what the agent chose), the effective `availability_status` (offline
/// while the automatic offline applies) and `auto_offline` (issue 13, `domain::availability`).
pub async fn profile_json(state: &AppState, user: User) -> AppResult<Value> {
    let user_id = user.id;
    let (memberships, availability, presence) = state
        .db(move |conn| {
            Ok((
                accounts::memberships(conn, user_id)?,
                profile::availability_per_account(conn, user_id)?,
                crate::domain::availability::presence_per_account(conn, user_id)?,
            ))
        })
        .await?;
    let first = memberships.first().cloned();
    let avatar_url = user
        .avatar_url()
        .map(|p| format!("{}{p}", state.config.frontend_url))
        .unwrap_or_default();
    Ok(json!({
        "id": user.id,
        "name": user.name,
        "display_name": user.display_name,
        "available_name": user.available_name(),
        "email": user.email,
        "uid": user.email,
        "provider": "email",
        "confirmed": true,
        "avatar_url": avatar_url,
        "thumbnail": avatar_url,
        "account_id": first.as_ref().map(|m| m.0),
        "role": first.as_ref().map(|m| m.2.as_str()),
        "accounts": memberships.iter().map(|(id, name, role)| {
            let a = availability.get(id).map(String::as_str).unwrap_or("online");
            let p = presence.get(id);
            json!({
                "id": id, "name": name, "role": role.as_str(), "status": "active",
                "availability": p.map_or(a, |p| p.availability.as_str()),
                "availability_status": a,
                "auto_offline": p.is_none_or(|p| p.auto_offline),
            })
        }).collect::<Vec<_>>(),
    }))
}

/// `GET /api/v1/profile`.
#[utoipa::path(
    get,
    path = "/api/v1/profile",
    tag = "profile",
    operation_id = "profile_show",
    responses(
        (status = 200, description = "The caller", body = crate::web::openapi::schemas::Profile),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn show(state: web::Data<AppState>, req: HttpRequest) -> AppResult<HttpResponse> {
    let user = auth::current_user(&state, &req).await?;
    Ok(HttpResponse::Ok().json(profile_json(&state, user).await?))
}

/// What a profile form or body asks to change; `None` leaves a value as it is.
#[derive(Debug, Default, Clone)]
pub struct ProfileChange {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub current_password: Option<String>,
    pub password: Option<String>,
    pub password_confirmation: Option<String>,
    pub availability: Option<String>,
    /// Chatwoot's `auto_offline` for the account (`true`/`false`; issue 13).
    pub auto_offline: Option<String>,
    /// The account the availability is for (default: the caller's first account).
    pub account_id: Option<i64>,
    /// The uploaded avatar file's bytes (at most [`profile::MAX_AVATAR_BYTES`]).
    pub avatar: Option<Vec<u8>>,
}

impl ProfileChange {
    /// Reads the fields of a flat map whose keys are `name` or `profile[name]`.
    fn from_fields(fields: &HashMap<String, String>) -> AppResult<ProfileChange> {
        let get = |k: &str| fields.get(k).cloned();
        let account_id = match get("account_id") {
            None => None,
            Some(s) if s.trim().is_empty() => None,
            Some(s) => Some(s.trim().parse::<i64>().map_err(|_| {
                AppError::invalid("account_id", format!("{s:?} is not an account id"))
            })?),
        };
        Ok(ProfileChange {
            name: get("name"),
            display_name: get("display_name"),
            email: get("email"),
            current_password: get("current_password"),
            password: get("password"),
            password_confirmation: get("password_confirmation"),
            availability: get("availability"),
            auto_offline: get("auto_offline"),
            account_id,
            avatar: None,
        })
    }

    /// Reads a JSON body: `{"profile": {…}}` (Chatwoot's) or the same fields at the top level.
    /// Errors: 400 when not a JSON object; 422 naming a field that is not a string.
    pub fn from_json(body: &[u8]) -> AppResult<ProfileChange> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| AppError::BadRequest(format!("the body is not JSON: {e}")))?;
        let Value::Object(top) = value else {
            return Err(AppError::BadRequest(
                "the body must be a JSON object".into(),
            ));
        };
        let obj: Map<String, Value> = match top.get("profile") {
            Some(Value::Object(p)) => p.clone(),
            _ => top,
        };
        let mut fields = HashMap::new();
        for (k, v) in obj {
            let s = match v {
                Value::Null => continue,
                Value::String(s) => s,
                Value::Number(n) if k == "account_id" => n.to_string(),
                Value::Bool(b) if k == "auto_offline" => b.to_string(),
                other => {
                    return Err(AppError::invalid(
                        &k,
                        format!("{k} must be a string, not {other}"),
                    ))
                }
            };
            crate::web::input_guard::check_text(&k, &s)?;
            fields.insert(k, s);
        }
        Self::from_fields(&fields)
    }
}

/// 422 naming `avatar` before any byte is read when the request declares a `Content-Length`
/// over the avatar cap plus 64 KiB of fields and framing.
pub fn refuse_declared_oversize(req: &HttpRequest) -> AppResult<()> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > (profile::MAX_AVATAR_BYTES + 64 * 1024) as u64) {
        return Err(profile::too_large());
    }
    Ok(())
}

/// Reads a multipart profile form: text fields (keys `profile[x]` read as `x`) into a map and
/// the `avatar` file (its bytes, stopped as soon as they pass [`profile::MAX_AVATAR_BYTES`]).
/// A file field with no file chosen (empty name and body) counts as absent.
/// Errors: 422 naming `avatar` when too large; 400 unreadable body, text field over 64 KiB or
/// not UTF-8; 422 a text field holding NUL.
pub async fn read_form(
    mut form: Multipart,
) -> AppResult<(HashMap<String, String>, Option<Vec<u8>>)> {
    let mut fields = HashMap::new();
    let mut avatar = None;
    while let Some(field) = form.next().await {
        let mut field =
            field.map_err(|e| AppError::BadRequest(format!("unreadable multipart body: {e}")))?;
        let raw = field.name().unwrap_or_default().to_string();
        let name = raw
            .strip_prefix("profile[")
            .and_then(|r| r.strip_suffix(']'))
            .unwrap_or(&raw)
            .to_string();
        crate::web::input_guard::check_text("name", &name)?;
        let file_name = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_string);
        let is_file = name == "avatar" || file_name.is_some();
        let cap = if is_file {
            profile::MAX_AVATAR_BYTES
        } else {
            MAX_FIELD_BYTES
        };
        let bytes = read_part(&mut field, cap, || {
            if is_file {
                profile::too_large()
            } else {
                AppError::BadRequest(format!("the field {name} is larger than 64 KiB"))
            }
        })
        .await?;
        if is_file {
            let nothing_chosen = bytes.is_empty() && file_name.as_deref().unwrap_or("").is_empty();
            if name == "avatar" && !nothing_chosen {
                avatar = Some(bytes);
            }
        } else {
            let text = String::from_utf8(bytes)
                .map_err(|_| AppError::BadRequest(format!("the field {name} is not UTF-8 text")))?;
            crate::web::input_guard::check_text(&name, &text)?;
            fields.insert(name, text);
        }
    }
    Ok((fields, avatar))
}

/// Reads one multipart part into memory, stopping with `too_large()` as soon as it passes
/// `cap` bytes. Errors: 400 when the upload breaks off.
pub(crate) async fn read_part(
    field: &mut actix_multipart::Field,
    cap: usize,
    too_large: impl FnOnce() -> AppError,
) -> AppResult<Vec<u8>> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| AppError::BadRequest(format!("upload broke off: {e}")))?;
        if bytes.len() + chunk.len() > cap {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// What [`apply`] did: the user after the change, and whether the password changed (the
/// calling session then records the new `session_epoch`).
pub struct Applied {
    pub user: User,
    pub password_changed: bool,
    /// The replaced avatar's storage key (its file is deleted once the change committed).
    pub old_avatar: Option<String>,
}

/// Applies a [`ProfileChange`] for `user_id`: the inputs are checked first (availability,
/// email, avatar type and size), then the password (when `password` or `current_password` is
/// given), names, avatar and availability change.
/// Errors: 422 naming `availability` (unknown value), `email` (a different address: changing
/// it needs a confirmation email to the new address, which Switchboard does not send yet),
/// `avatar`, `current_password`, `password`, `password_confirmation`, `name`,
/// `display_name`; 404 for an `account_id` the user is not a member of.
pub async fn apply(state: &AppState, user_id: i64, change: ProfileChange) -> AppResult<Applied> {
    let availability = change
        .availability
        .as_deref()
        .map(Availability::from_param)
        .transpose()?;
    let auto_offline = match change.auto_offline.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("true" | "1" | "on") => Some(true),
        Some("false" | "0" | "off") => Some(false),
        Some(other) => {
            return Err(AppError::invalid(
                "auto_offline",
                format!("auto_offline must be true or false, not {other:?}"),
            ))
        }
    };
    if let Some(avatar) = &change.avatar {
        if avatar.len() > profile::MAX_AVATAR_BYTES {
            return Err(profile::too_large());
        }
        if profile::sniff_image(avatar).is_none() {
            return Err(AppError::invalid(
                "avatar",
                "the avatar must be a PNG, JPEG, WebP or GIF image",
            ));
        }
    }
    let staged = match &change.avatar {
        Some(bytes) => Some(crate::web::media::store_avatar(state, user_id, bytes).await?),
        None => None,
    };
    let key = staged.clone();
    let applied = state
        .db(move |conn| {
            let user = accounts::find_user(conn, user_id)?;
            if let Some(email) = change.email.as_deref().filter(|e| !e.trim().is_empty()) {
                if accounts::normalize_email(email)? != user.email {
                    return Err(AppError::invalid(
                        "email",
                        "changing the email address is not supported yet (it needs a confirmation email to the new address); ask an administrator",
                    ));
                }
            }
            let mut password_changed = false;
            if change.password.is_some() || change.current_password.is_some() {
                profile::change_password(
                    conn,
                    user_id,
                    change.current_password.as_deref().unwrap_or(""),
                    change.password.as_deref().unwrap_or(""),
                    change.password_confirmation.as_deref().unwrap_or(""),
                )?;
                password_changed = true;
            }
            if change.name.is_some() || change.display_name.is_some() {
                profile::update_names(
                    conn,
                    user_id,
                    change.name.as_deref(),
                    change.display_name.as_deref(),
                )?;
            }
            let mut old_avatar = None;
            if let Some(key) = &key {
                old_avatar = profile::set_avatar(conn, user_id, key)?.1;
            }
            if let Some(a) = availability {
                let account_id = match change.account_id {
                    Some(id) => id,
                    None => accounts::first_account(conn, user_id)?.ok_or_else(|| {
                        AppError::invalid("account_id", "you belong to no account")
                    })?,
                };
                profile::set_availability(conn, account_id, user_id, a)?;
            }
            if let Some(on) = auto_offline {
                let account_id = match change.account_id {
                    Some(id) => id,
                    None => accounts::first_account(conn, user_id)?.ok_or_else(|| {
                        AppError::invalid("account_id", "you belong to no account")
                    })?,
                };
                crate::domain::availability::set_auto_offline(conn, account_id, user_id, on)?;
            }
            Ok(Applied {
                user: accounts::find_user(conn, user_id)?,
                password_changed,
                old_avatar,
            })
        })
        .await;
    match &applied {
        Ok(a) => state.storage.delete_all(a.old_avatar.as_slice()).await,
        Err(_) => state.storage.delete_all(staged.as_slice()).await,
    }
    applied
}

/// Keeps the calling browser session signed in after its own password change (other
/// sessions end: see `session::is_current`).
fn keep_session(req: &HttpRequest, applied: &Applied) -> AppResult<()> {
    use actix_session::SessionExt;
    let session = req.get_session();
    if applied.password_changed && crate::web::session::user_id(&session) == Some(applied.user.id) {
        crate::web::session::set_epoch(&session, applied.user.session_epoch)?;
    }
    Ok(())
}

/// `PUT /api/v1/profile` with JSON → the updated `user`. Errors: see [`apply`].
#[utoipa::path(
    put,
    path = "/api/v1/profile",
    tag = "profile",
    operation_id = "profile_update_json",
    request_body(content((crate::web::openapi::JsonObject = "application/json"), (crate::web::openapi::MultipartForm = "multipart/form-data"))),
    responses(
        (status = 200, description = "The caller", body = crate::web::openapi::schemas::Profile),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn update_json(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let user = auth::current_user(&state, &req).await?;
    let change = ProfileChange::from_json(&body.bytes)?;
    let applied = apply(&state, user.id, change).await?;
    keep_session(&req, &applied)?;
    Ok(HttpResponse::Ok().json(profile_json(&state, applied.user).await?))
}

/// `PUT /api/v1/profile` as multipart (`profile[name]`, …, `profile[avatar]` file) → the
/// updated `user`. Errors: see [`apply`] and [`read_form`].
pub async fn update_multipart(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Multipart,
) -> AppResult<HttpResponse> {
    let user = auth::current_user(&state, &req).await?;
    refuse_declared_oversize(&req)?;
    let (fields, avatar) = read_form(form).await?;
    let mut change = ProfileChange::from_fields(&fields)?;
    change.avatar = avatar;
    let applied = apply(&state, user.id, change).await?;
    keep_session(&req, &applied)?;
    Ok(HttpResponse::Ok().json(profile_json(&state, applied.user).await?))
}

/// `DELETE /api/v1/profile/avatar` → the `user`, without an avatar.
#[utoipa::path(
    delete,
    path = "/api/v1/profile/avatar",
    tag = "profile",
    operation_id = "profile_destroy_avatar",
    responses(
        (status = 200, description = "The caller", body = crate::web::openapi::schemas::Profile),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn destroy_avatar(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let user = auth::current_user(&state, &req).await?;
    let user = crate::web::media::remove_avatar(&state, user.id).await?;
    Ok(HttpResponse::Ok().json(profile_json(&state, user).await?))
}

/// `POST /api/v1/profile/availability` `{"profile": {"availability", "account_id"}}`
/// (Chatwoot's) → the `user`. Errors: 422 naming `availability`; 404 for another account.
#[utoipa::path(
    post,
    path = "/api/v1/profile/availability",
    tag = "profile",
    operation_id = "profile_availability",
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The caller", body = crate::web::openapi::schemas::Profile),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn availability(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let user = auth::current_user(&state, &req).await?;
    let change = ProfileChange::from_json(&body.bytes)?;
    if change.availability.is_none() {
        return Err(AppError::invalid(
            "availability",
            "availability is required",
        ));
    }
    let change = ProfileChange {
        availability: change.availability,
        account_id: change.account_id,
        ..Default::default()
    };
    let applied = apply(&state, user.id, change).await?;
    Ok(HttpResponse::Ok().json(profile_json(&state, applied.user).await?))
}

//! `GET /api/v1/profile`: the caller and their accounts (Chatwoot's `user` shape; the
//! `access_token` is not returned because only its digest is stored).

use crate::app::AppState;
use crate::domain::accounts;
use crate::error::AppResult;
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

/// The profile.
pub async fn show(state: web::Data<AppState>, req: HttpRequest) -> AppResult<HttpResponse> {
    let user = auth::current_user(&state, &req).await?;
    let user_id = user.id;
    let memberships = state
        .db(move |conn| accounts::memberships(conn, user_id))
        .await?;
    let first = memberships.first().cloned();
    Ok(HttpResponse::Ok().json(json!({
        "id": user.id,
        "name": user.name,
        "display_name": user.name,
        "available_name": user.name,
        "email": user.email,
        "uid": user.email,
        "provider": "email",
        "confirmed": true,
        "avatar_url": "",
        "account_id": first.as_ref().map(|m| m.0),
        "role": first.as_ref().map(|m| m.2.as_str()),
        "accounts": memberships.iter().map(|(id, name, role)| json!({
            "id": id, "name": name, "role": role.as_str(), "status": "active",
            "availability": "online", "availability_status": "online", "auto_offline": true,
        })).collect::<Vec<_>>(),
    })))
}

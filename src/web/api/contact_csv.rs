//! Contact CSV import and export (see [`crate::domain::contact_csv`]), administrators only
//! as in Chatwoot (an agent gets 403):
//!
//! - `POST /api/v1/accounts/{id}/contacts/import`, multipart with the file in `import_file`
//!   (Chatwoot's field): checks the file, stores it, queues the import and answers the import
//!   (`id`, `status`: `pending`, row counts). 413 over 20 MiB (refused on the declared
//!   `Content-Length` before the body is read); 422 naming `import_file` for a missing,
//!   empty, non-UTF-8, binary or headerless file.
//! - `GET /api/v1/accounts/{id}/contacts/imports/{import_id}`: the import's status and
//!   progress, and its refused rows (`failed_rows`: `line`, `field`, `reason`). 404 for
//!   another account's import.
//! - `GET /api/v1/accounts/{id}/contacts/export?q=&labels[]=&ids[]=` and the Contacts
//!   list's own filters (`label`, `created_from`, `created_to`, `active_from`, `active_to`,
//!   `attr`, `attr_op`, `attr_value`): every matching contact as CSV (`text/csv`, an
//!   attachment), streamed page by page.

use crate::app::AppState;
use crate::domain::contact_csv::{self, ContactImport, ExportFilter, RowError};
use crate::domain::contact_list_params::{list_query, ListParams};
use crate::error::{AppError, AppResult};
use crate::web::auth;
use actix_multipart::Multipart;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde_json::{json, Value};

/// Most `ids[]` an export accepts.
pub const MAX_EXPORT_IDS: usize = 10_000;

fn too_large() -> AppError {
    AppError::PayloadTooLarge(format!(
        "CSV files are limited to {} MiB",
        contact_csv::MAX_FILE_BYTES / (1024 * 1024)
    ))
}

/// The JSON of an import: Chatwoot's `data_import` fields (`status`, `total_records`,
/// `processed_records`) plus the row counts and the refused rows.
pub fn import_json(import: &ContactImport, errors: &[RowError]) -> Value {
    json!({
        "id": import.id,
        "data_type": "contacts",
        "status": import.status,
        "file_name": import.file_name,
        "file_size": import.file_size,
        "total_records": import.rows_total,
        "processed_records": import.created_count + import.updated_count,
        "rows_total": import.rows_total,
        "rows_done": import.rows_done,
        "imported": import.created_count + import.updated_count,
        "created": import.created_count,
        "updated": import.updated_count,
        "failed": import.failed_count,
        "failed_rows": errors,
        "failed_rows_truncated": (import.failed_count as i64) > errors.len() as i64,
        "error": import.error,
        "created_at": import.created_at.timestamp(),
        "updated_at": import.updated_at.timestamp(),
        "finished_at": import.finished_at.map(|t| t.timestamp()),
    })
}

/// `POST /contacts/import` (multipart `import_file`).
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/contacts/import",
    tag = "contact_csv",
    operation_id = "contact_csv_import",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The new import (`pending`)", body = crate::web::openapi::schemas::ContactImport),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn import(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    viewer.require_admin()?;
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > contact_csv::MAX_FILE_BYTES as u64 + 64 * 1024) {
        return Err(too_large());
    }
    let is_multipart = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(AppError::invalid(
            "import_file",
            "send the CSV file as multipart/form-data in the field import_file",
        ));
    }
    let mut form = Multipart::new(req.headers(), payload);
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(field) = form.next().await {
        let mut field =
            field.map_err(|e| AppError::BadRequest(format!("unreadable multipart body: {e}")))?;
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_string);
        let wanted = name == "import_file" && file.is_none();
        let limit = if wanted {
            contact_csv::MAX_FILE_BYTES
        } else {
            64 * 1024
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk =
                chunk.map_err(|e| AppError::BadRequest(format!("upload broke off: {e}")))?;
            if bytes.len() + chunk.len() > limit {
                return Err(too_large());
            }
            if wanted {
                bytes.extend_from_slice(&chunk);
            } else {
                bytes.resize(bytes.len() + chunk.len(), 0);
            }
        }
        if wanted {
            file = Some((file_name.unwrap_or_else(|| "contacts.csv".into()), bytes));
        }
    }
    let Some((file_name, bytes)) = file else {
        return Err(AppError::invalid(
            "import_file",
            "attach the CSV file in the field import_file",
        ));
    };
    let checked = web::block(move || contact_csv::check_file(bytes)).await??;
    let user_id = viewer.user_id;
    let account_id = viewer.account_id;
    let import = state
        .db(move |conn| {
            contact_csv::create_import(conn, account_id, Some(user_id), &file_name, checked)
        })
        .await?;
    Ok(HttpResponse::Ok().json(import_json(&import, &[])))
}

/// `GET /contacts/imports/{import_id}`.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/contacts/imports/{import_id}",
    tag = "contact_csv",
    operation_id = "contact_csv_show_import",
    params(("account_id" = i64, Path, description = "The account's id"), ("import_id" = i64, Path, description = "The import's id")),
    responses(
        (status = 200, description = "The import", body = crate::web::openapi::schemas::ContactImport),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn show_import(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, import_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    viewer.require_admin()?;
    let (import, errors) = state
        .db(move |conn| contact_csv::find_import(conn, account_id, import_id))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(import_json(&import, &errors)))
}

/// `GET /contacts/imports/{import_id}/failed_rows` (administrators): the import's refused
/// rows as `text/csv` (`contact_csv::failed_rows_csv`: line, reason, original columns), to
/// fix and import again. Errors: 403 for an agent; 404 for another account's import.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/contacts/imports/{import_id}/failed_rows",
    tag = "contact_csv",
    operation_id = "contact_csv_failed_rows",
    params(("account_id" = i64, Path, description = "The account's id"), ("import_id" = i64, Path, description = "The import's id")),
    responses(
        (status = 200, description = "The rows the import refused, as CSV with an error column", body = String, content_type = "text/csv"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn failed_rows(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, import_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    viewer.require_admin()?;
    let csv = state
        .db(move |conn| contact_csv::failed_rows_csv(conn, account_id, import_id))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"import-{import_id}-failed-rows.csv\""),
        ))
        .body(csv))
}

/// The export's filter from the query string: the Contacts list's own parameters (`q`,
/// `label`, `created_from`, `created_to`, `active_from`, `active_to`, `attr`, `attr_op`,
/// `attr_value`; see `domain::contact_list_params::list_query`, resolved by [`resolve_filter`]), plus
/// `labels[]`/`labels` (comma-separated too) and `ids[]`/`ids`. Errors: 400 for a malformed
/// query string; 422 naming `ids` for an id that is not a number, or more than
/// [`MAX_EXPORT_IDS`].
pub fn export_filter(req: &HttpRequest) -> AppResult<(ListParams, ExportFilter)> {
    let params = web::Query::<ListParams>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| AppError::BadRequest(format!("invalid query string: {e}")))?;
    let pairs = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| AppError::BadRequest(format!("invalid query string: {e}")))?;
    let mut filter = ExportFilter::default();
    for (k, v) in pairs {
        match k.as_str() {
            "labels[]" | "labels" => filter.query.labels.extend(
                v.split(',')
                    .map(|l| l.trim().to_lowercase())
                    .filter(|l| !l.is_empty()),
            ),
            "ids[]" | "ids" => {
                for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let id = part.parse::<i64>().map_err(|_| {
                        AppError::invalid("ids", format!("{part:?} is not a contact id"))
                    })?;
                    filter.ids.push(id);
                }
                if filter.ids.len() > MAX_EXPORT_IDS {
                    return Err(AppError::invalid(
                        "ids",
                        format!("at most {MAX_EXPORT_IDS} ids can be exported at once"),
                    ));
                }
            }
            _ => {}
        }
    }
    Ok((params, filter))
}

/// Completes `filter` with the list's query for `params` (the one filter builder the
/// Contacts screen uses), against the account's contact attributes. Errors: 422 naming the
/// field (a bad date, an unknown attribute or operator, too many labels).
pub fn resolve_filter(
    conn: &mut diesel::PgConnection,
    account_id: i64,
    params: &ListParams,
    mut filter: ExportFilter,
) -> AppResult<ExportFilter> {
    let definitions = crate::domain::custom_attributes::list(
        conn,
        account_id,
        Some(crate::domain::custom_attributes::Model::Contact),
    )?;
    let mut query = list_query(params, &definitions)?;
    query
        .labels
        .extend(std::mem::take(&mut filter.query.labels));
    filter.query = query;
    Ok(filter)
}

/// `GET /contacts/export`: streams the CSV. The first page is read before the answer starts,
/// so a bad filter answers 422; later pages follow as the client reads (at most two pages
/// wait in memory).
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/contacts/export",
    tag = "contact_csv",
    operation_id = "contact_csv_export",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The contacts as CSV (an attachment)", body = String, content_type = "text/csv"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn export(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    viewer.require_admin()?;
    let (params, filter) = export_filter(&req)?;
    let account_id = viewer.account_id;
    let (filter, keys, first, last) = state
        .db(move |conn| {
            let f = resolve_filter(conn, account_id, &params, filter)?;
            let keys = contact_csv::custom_attribute_keys(conn, account_id)?;
            let mut out = contact_csv::export_header(&keys);
            let last = contact_csv::export_page(
                conn,
                account_id,
                &f,
                &keys,
                0,
                contact_csv::EXPORT_PAGE_ROWS,
                &mut out,
            )?;
            Ok((f, keys, out, last))
        })
        .await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    let producer = state.get_ref().clone();
    tokio::spawn(async move {
        if tx.send(Ok(Bytes::from(first))).await.is_err() {
            return;
        }
        let keys = std::sync::Arc::new(keys);
        let filter = std::sync::Arc::new(filter);
        let mut after = last;
        while let Some(a) = after {
            let (keys, filter) = (keys.clone(), filter.clone());
            let page = producer
                .db(move |conn| {
                    let mut out = Vec::with_capacity(1 << 20);
                    let last = contact_csv::export_page(
                        conn,
                        account_id,
                        &filter,
                        &keys,
                        a,
                        contact_csv::EXPORT_PAGE_ROWS,
                        &mut out,
                    )?;
                    Ok((out, last))
                })
                .await;
            match page {
                Ok((out, last)) => {
                    after = last;
                    if !out.is_empty() && tx.send(Ok(Bytes::from(out))).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(account_id, error = %e, "contact export stopped");
                    let _ = tx
                        .send(Err(std::io::Error::other("export interrupted")))
                        .await;
                    return;
                }
            }
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let file_name = format!(
        "contacts-{account_id}-{}.csv",
        chrono::Utc::now().format("%Y%m%d-%H%M%S")
    );
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        ))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}

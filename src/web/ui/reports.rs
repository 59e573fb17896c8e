//! The Reports page (issue 14): `GET /app/accounts/{account_id}/reports`.
//!
//! The page is a frame: `static/reports.js` fills it from the v2 reports API
//! (`web::api::reports`) with the session cookie, draws the charts with uPlot (npm `uplot`,
//! served from `node_modules` at [`UPLOT_JS_ROUTE`] and [`UPLOT_CSS_ROUTE`], never a CDN) and
//! puts a table beside each chart. The overview follows the SSE stream (app.js relays
//! conversation and presence events). Agents see their inboxes' figures only (the API
//! checks).

use super::scope::AccountMember;
use super::{html, Layout};
use crate::error::{AppError, AppResult};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

/// Where the page loads uPlot's script.
pub const UPLOT_JS_ROUTE: &str = "/static/vendor/uplot.js";
/// Where the page loads uPlot's stylesheet.
pub const UPLOT_CSS_ROUTE: &str = "/static/vendor/uplot.css";

const UPLOT_JS_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/node_modules/uplot/dist/uPlot.iife.min.js"
);
const UPLOT_CSS_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/node_modules/uplot/dist/uPlot.min.css"
);

async fn vendor(req: HttpRequest, file: &'static str, mime: &str) -> AppResult<HttpResponse> {
    let f = actix_files::NamedFile::open_async(file)
        .await
        .map_err(|_| AppError::NotFound("uplot is not installed (npm ci)".into()))?;
    Ok(f.set_content_type(mime.parse().expect("mime"))
        .into_response(&req))
}

/// Registers the page and the two uPlot files (before `/static`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        UPLOT_JS_ROUTE,
        web::get().to(|req: HttpRequest| vendor(req, UPLOT_JS_FILE, "text/javascript")),
    )
    .route(
        UPLOT_CSS_ROUTE,
        web::get().to(|req: HttpRequest| vendor(req, UPLOT_CSS_FILE, "text/css")),
    );
}

#[derive(Template)]
#[template(path = "reports.html")]
struct Page {
    layout: Layout,
    is_admin: bool,
}

/// `GET /app/accounts/{account_id}/reports`.
pub async fn page(member: AccountMember) -> AppResult<HttpResponse> {
    let is_admin = member.layout.is_admin;
    html(&Page {
        layout: member.layout,
        is_admin,
    })
}

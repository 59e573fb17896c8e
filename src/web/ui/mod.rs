//! The agent web UI under `/app`: server-rendered askama pages with a little hand-written
//! JavaScript (`static/app.js`), which calls the same `/api/v1` the integrations use (with
//! the session cookie and the CSRF header) and listens to Server-Sent Events for live updates.

pub mod auth;
pub mod contact_import;
pub mod custom_attributes;
pub mod inbox;
pub mod interactive_view;
pub mod number_health;
pub mod password;
pub mod profile;
// Issue 14 (reports): the Reports page.
pub mod reports;
pub mod scope;
pub mod search;
pub mod settings;
pub mod settings_canned;
// Issue 13 (rules): Settings → Automation.
pub mod settings_automation;
// Issue 13 (SLA policies).
/// Issue 12: Settings → Integrations → Dualhook.
pub mod settings_dualhook;
pub mod settings_sla;
// Issue 13 (avail): the inbox's auto-assignment card.
pub mod settings_assignment;
pub mod settings_people;
// Issue 12 (templates): the template list and builder.
pub mod settings_templates;
pub mod settings_webhooks;
pub mod sidebar;
pub mod view;

// Issue 11 (contacts-ui): the Contacts screen and a contact's page.
pub mod contacts;
// Issue 15 (retention): Settings → Account and the contact export download.
pub mod settings_account;

use crate::app::AppState;
use crate::config::Config;
use crate::domain::accounts::{self, Role, User};
use crate::error::{AppError, AppResult};
use actix_session::{Session, SessionExt};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

/// Content-Security-Policy of every UI page: only our own scripts, styles and media; no
/// inline script can run, whatever a message contains.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Where the emoji picker (`static/emoji_picker.js`) fetches its data: one fixed URL.
pub const EMOJI_DATA_ROUTE: &str = "/static/vendor/emoji-data.json";

/// The emoji list served at [`EMOJI_DATA_ROUTE`]: the npm package `emoji-picker-element-data`
/// (English, emojibase; installed from `package-lock.json` by `npm ci`, never committed).
/// Only this one file is reachable: the route has no path parameter, so nothing else under
/// `node_modules` can be named (no listing, no traversal).
const EMOJI_DATA_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/node_modules/emoji-picker-element-data/en/emojibase/data.json"
);

/// `GET /static/vendor/emoji-data.json`: the emoji data (JSON array of `{annotation, emoji,
/// group, order, shortcodes, tags, …}`, about 440 KB; compressed for browsers that accept
/// it, about 75 KB gzipped), with ETag and Last-Modified so the browser revalidates instead
/// of downloading again. 404 when
/// `npm ci` has not been run (the picker then says it has no emoji).
async fn emoji_data(req: HttpRequest) -> AppResult<HttpResponse> {
    let file = actix_files::NamedFile::open_async(EMOJI_DATA_FILE)
        .await
        .map_err(|_| AppError::NotFound("emoji data is not installed (npm ci)".into()))?;
    Ok(file
        .set_content_type("application/json".parse().expect("mime"))
        .into_response(&req))
}

/// Registers `/`, `/app/…` and `/static/…`.
pub fn routes(cfg: &mut web::ServiceConfig, config: &Config) {
    cfg.route(
        "/",
        web::get().to(|| async {
            HttpResponse::Found()
                .insert_header((header::LOCATION, "/app"))
                .finish()
        }),
    )
    // Issue 14 (reports): uPlot's two files, before `/static`.
    .configure(reports::routes)
    // Before `/static`: the one npm file the composer's emoji picker loads (lazily).
    .service(
        web::resource(EMOJI_DATA_ROUTE)
            .wrap(actix_web::middleware::Compress::default())
            .route(web::get().to(emoji_data)),
    )
    .service(
        actix_files::Files::new("/static", concat!(env!("CARGO_MANIFEST_DIR"), "/static"))
            .prefer_utf8(true),
    )
    .service(
        web::scope("/app")
            .wrap(crate::web::session::middleware(config))
            .route("", web::get().to(auth::home))
            .route("/login", web::get().to(auth::login_form))
            .route("/login", web::post().to(auth::login))
            .route("/logout", web::post().to(auth::logout))
            // Issue 11 (contacts-ui): the Contacts screen and a contact's page.
            .route(
                "/accounts/{account_id}/contacts",
                web::get().to(contacts::list),
            )
            .route(
                "/accounts/{account_id}/contacts/{contact_id:\\d+}",
                web::get().to(contacts::show),
            )
            .route(
                "/accounts/{account_id}/conversations",
                web::get().to(inbox::page),
            )
            .route(
                "/accounts/{account_id}/conversations/{display_id}",
                web::get().to(inbox::page_with_thread),
            )
            .route(
                "/accounts/{account_id}/partials/conversations",
                web::get().to(inbox::list_partial),
            )
            .route(
                "/accounts/{account_id}/partials/conversations/{display_id}/header",
                web::get().to(inbox::header_partial),
            )
            .route(
                "/accounts/{account_id}/partials/conversations/{display_id}/messages",
                web::get().to(inbox::earlier_partial),
            )
            .route(
                "/accounts/{account_id}/partials/messages/{message_id}",
                web::get().to(inbox::message_partial),
            )
            .route(
                "/accounts/{account_id}/partials/sidebar",
                web::get().to(sidebar::partial),
            )
            .route(
                "/accounts/{account_id}/partials/conversation_ids",
                web::get().to(inbox::matching_ids),
            )
            .route(
                "/accounts/{account_id}/partials/contact_count",
                web::get().to(contacts::matching_count),
            )
            .route("/accounts/{account_id}/search", web::get().to(search::page))
            .route(
                "/accounts/{account_id}/reports",
                web::get().to(reports::page),
            )
            // Issue 11, csv: the contact CSV import page.
            .route(
                "/accounts/{account_id}/contacts/import",
                web::get().to(contact_import::page),
            )
            .route(
                "/accounts/{account_id}/settings/inboxes",
                web::get().to(settings::inboxes_index),
            )
            .route(
                "/accounts/{account_id}/settings/inboxes",
                web::post().to(settings::inbox_create),
            )
            .route(
                "/accounts/{account_id}/settings/inboxes/new",
                web::get().to(settings::inbox_new),
            )
            .route(
                "/accounts/{account_id}/settings/inboxes/{inbox_id}",
                web::get().to(settings::inbox_show),
            )
            // Issue 12 (templates): the template list and builder.
            .route(
                "/accounts/{account_id}/settings/inboxes/{inbox_id}/templates",
                web::get().to(settings_templates::index),
            )
            .route(
                "/accounts/{account_id}/settings/inboxes/{inbox_id}/templates/new",
                web::get().to(settings_templates::new),
            )
            .route(
                "/accounts/{account_id}/settings/inboxes/{inbox_id}/templates/{template_id}/edit",
                web::get().to(settings_templates::edit),
            )
            // Issue 13 (avail): the inbox's auto-assignment settings.
            .route(
                "/accounts/{account_id}/settings/inboxes/{inbox_id}/auto_assignment/save",
                web::post().to(settings_assignment::save),
            )
            .route(
                "/accounts/{account_id}/settings/inboxes/{inbox_id}/{action}",
                web::post().to(settings::inbox_action),
            )
            .route(
                "/accounts/{account_id}/settings/agents",
                web::get().to(settings_people::agents_index),
            )
            .route(
                "/accounts/{account_id}/settings/agents",
                web::post().to(settings_people::agent_invite),
            )
            .route(
                "/accounts/{account_id}/settings/agents/{user_id}/update",
                web::post().to(settings_people::agent_update),
            )
            .route(
                "/accounts/{account_id}/settings/agents/{user_id}/remove",
                web::post().to(settings_people::agent_remove),
            )
            .route(
                "/accounts/{account_id}/settings/agents/{user_id}/invitation_link",
                web::post().to(settings_people::agent_invitation_link),
            )
            .route(
                "/accounts/{account_id}/settings/teams",
                web::get().to(settings_people::teams_index),
            )
            .route(
                "/accounts/{account_id}/settings/teams",
                web::post().to(settings_people::team_create),
            )
            .route(
                "/accounts/{account_id}/settings/teams/{team_id}/update",
                web::post().to(settings_people::team_update),
            )
            .route(
                "/accounts/{account_id}/settings/teams/{team_id}/delete",
                web::post().to(settings_people::team_delete),
            )
            .route(
                "/accounts/{account_id}/settings/labels",
                web::get().to(settings_people::labels_index),
            )
            .route(
                "/accounts/{account_id}/settings/labels",
                web::post().to(settings_people::label_create),
            )
            .route(
                "/accounts/{account_id}/settings/labels/{label_id}/update",
                web::post().to(settings_people::label_update),
            )
            .route(
                "/accounts/{account_id}/settings/labels/{label_id}/delete",
                web::post().to(settings_people::label_delete),
            )
            .route("/password/reset", web::get().to(password::form))
            .route("/password/reset", web::post().to(password::submit))
            .route("/password/forgot", web::get().to(password::forgot_form))
            .route("/password/forgot", web::post().to(password::forgot_submit))
            .route(
                "/accounts/{account_id}/profile/names",
                web::post().to(profile::names),
            )
            .route(
                "/accounts/{account_id}/profile/avatar",
                web::post().to(profile::avatar),
            )
            .route(
                "/accounts/{account_id}/profile/avatar/remove",
                web::post().to(profile::avatar_remove),
            )
            .route(
                "/accounts/{account_id}/profile/availability",
                web::post().to(profile::availability),
            )
            .route(
                "/accounts/{account_id}/profile/password",
                web::post().to(profile::password),
            )
            .route(
                "/accounts/{account_id}/profile",
                web::get().to(profile::show),
            )
            .route(
                "/accounts/{account_id}/profile",
                web::post().to(profile::update),
            )
            .route(
                "/accounts/{account_id}/settings/canned_responses",
                web::get().to(settings_canned::index),
            )
            .route(
                "/accounts/{account_id}/settings/canned_responses",
                web::post().to(settings_canned::create),
            )
            .route(
                "/accounts/{account_id}/settings/canned_responses/{canned_id}/update",
                web::post().to(settings_canned::update),
            )
            .route(
                "/accounts/{account_id}/settings/canned_responses/{canned_id}/delete",
                web::post().to(settings_canned::delete),
            )
            // Issue 11 (custom-attrs): Settings → Custom attributes.
            .route(
                "/accounts/{account_id}/settings/custom_attributes",
                web::get().to(custom_attributes::settings_index),
            )
            // Issue 12 (dualhook): Settings → Integrations → Dualhook.
            .route(
                "/accounts/{account_id}/settings/integrations/dualhook",
                web::get().to(settings_dualhook::index),
            )
            .route(
                "/accounts/{account_id}/settings/integrations/dualhook",
                web::post().to(settings_dualhook::save),
            )
            .route(
                "/accounts/{account_id}/settings/integrations/dualhook/test",
                web::post().to(settings_dualhook::send_test),
            )
            .route(
                "/accounts/{account_id}/settings/integrations/dualhook/connect",
                web::post().to(settings_dualhook::connect),
            )
            .route(
                "/accounts/{account_id}/settings/webhooks",
                web::get().to(settings_webhooks::index),
            )
            .route(
                "/accounts/{account_id}/settings/webhooks",
                web::post().to(settings_webhooks::create),
            )
            .route(
                "/accounts/{account_id}/settings/webhooks/{id}/{action}",
                web::post().to(settings_webhooks::action),
            )
            // Issue 13 (rules): Settings → Automation.
            .route(
                "/accounts/{account_id}/settings/automation",
                web::get().to(settings_automation::index),
            )
            .route(
                "/accounts/{account_id}/settings/sla",
                web::get().to(settings_sla::index),
            )
            // Issue 15 (retention): Settings → Account, the contact export.
            .route(
                "/accounts/{account_id}/settings/account",
                web::get().to(settings_account::index),
            )
            .route(
                "/accounts/{account_id}/settings/account",
                web::post().to(settings_account::save),
            )
            .route(
                "/accounts/{account_id}/contacts/{contact_id:\\d+}/export",
                web::get().to(settings_account::export_contact),
            ),
    );
}

/// Renders an askama template as an HTML page with the UI's security headers.
pub fn html(t: &impl askama::Template) -> AppResult<HttpResponse> {
    let body = t
        .render()
        .map_err(|e| AppError::Internal(format!("template: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", CSP))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "same-origin"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// A redirect to `location` (303, so a POST becomes a GET).
pub fn redirect(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// What every page's frame needs: who is signed in, where, and the CSRF token.
#[derive(Debug, Clone)]
pub struct Layout {
    pub user_id: i64,
    pub user_name: String,
    pub user_initials: String,
    pub account_id: i64,
    pub account_name: String,
    pub is_admin: bool,
    pub csrf: String,
    /// The signed-in user's avatar image (`/media/avatars/…`), `None` for initials.
    pub user_avatar_url: Option<String>,
    /// The signed-in user's availability in this account: `online`, `busy` or `offline`.
    pub user_availability: String,
}

impl Layout {
    /// The signed-in user's avatar for `templates/partials/avatar.html` (as `av`).
    pub fn avatar(&self) -> view::AvatarView {
        view::AvatarView {
            user_id: self.user_id,
            title: String::new(),
            initials: self.user_initials.clone(),
            url: self.user_avatar_url.clone(),
            availability: self.user_availability.clone(),
            small: false,
        }
    }
}

/// The signed-in user, or a redirect to the sign-in page.
pub async fn signed_in(
    state: &AppState,
    req: &HttpRequest,
) -> Result<(User, Session), HttpResponse> {
    let session = req.get_session();
    let Some(user_id) = crate::web::session::user_id(&session) else {
        return Err(redirect("/app/login"));
    };
    match state
        .db(move |conn| accounts::find_user(conn, user_id))
        .await
    {
        Ok(u) if crate::web::session::is_current(&session, u.session_epoch) => Ok((u, session)),
        // Unknown user, or a password change since this session signed in.
        _ => {
            crate::web::session::sign_out(&session);
            Err(redirect("/app/login"))
        }
    }
}

/// The page frame for `account_id`, or a redirect (not signed in) / 404 (not a member).
pub async fn layout(
    state: &AppState,
    req: &HttpRequest,
    account_id: i64,
) -> Result<(Layout, accounts::Viewer), HttpResponse> {
    // The user, their membership and the account's name: one connection, two statements
    // (as `signed_in`, then the membership).
    let session = req.get_session();
    let Some(user_id) = crate::web::session::user_id(&session) else {
        return Err(redirect("/app/login"));
    };
    let found = state
        .db(move |conn| {
            let user = accounts::find_user(conn, user_id)?;
            let membership = accounts::membership_with_account_name(conn, account_id, user_id)?;
            Ok((user, membership))
        })
        .await;
    let (user, membership) = match found {
        Ok((u, membership)) if crate::web::session::is_current(&session, u.session_epoch) => {
            (u, membership)
        }
        // Unknown user, or a password change since this session signed in.
        Err(AppError::NotFound(_)) | Ok(_) => {
            crate::web::session::sign_out(&session);
            return Err(redirect("/app/login"));
        }
        Err(e) => return Err(actix_web::ResponseError::error_response(&e)),
    };
    let Some(((role, availability), account_name)) = membership else {
        return Err(actix_web::ResponseError::error_response(
            &AppError::NotFound(format!("account {account_id} not found")),
        ));
    };
    let layout = Layout {
        user_id,
        user_initials: view::initials(user.available_name()),
        user_avatar_url: user.avatar_url(),
        user_availability: availability,
        user_name: user.available_name().to_string(),
        account_id,
        account_name,
        is_admin: role == Role::Administrator,
        csrf: crate::web::session::csrf_token(&session),
    };
    Ok((
        layout,
        accounts::Viewer {
            user_id,
            account_id,
            role,
        },
    ))
}

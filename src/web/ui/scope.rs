//! The account boundary of the settings screens, in one place no handler can skip.
//!
//! Every settings handler takes an [`Admin`] (the signed-in administrator of the account named
//! by the path's `{account_id}`) or a [`Scoped<T>`] (the same, plus the object named by the
//! path, loaded *within that account*) instead of raw path ids. An object of another account
//! answers 404 exactly like one that does not exist, before the handler runs, so no form can
//! reach another account's inbox, team, label, webhook or agent by putting its id in the URL
//! (issue 9: `add_member`, `sync_templates`, … used to run on any inbox id).
//!
//! Refusals, in order: not signed in → 303 to `/app/login`; not a member of the account → 404;
//! an agent (not an administrator) → 403; the path's object is not in the account, or its id
//! is not a number → 404 JSON `{"error": "… not found"}`.

use super::{layout, Layout};
use crate::app::AppState;
use crate::domain::accounts::Team;
use crate::domain::accounts::{self, Member, Viewer};
use crate::domain::inboxes::{self, InboxWithChannel};
use crate::domain::labels::{self, Label};
use crate::domain::teams;
use crate::domain::webhooks::{self, Webhook};
use crate::error::{AppError, AppResult};
use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use diesel::PgConnection;
use futures_util::future::LocalBoxFuture;

/// The signed-in administrator of the account in the path's `{account_id}`: the page frame
/// and the viewer. Extracting it is the check (see the module's refusals).
#[derive(Debug, Clone)]
pub struct Admin {
    /// The page frame (user, account, CSRF token).
    pub layout: Layout,
    /// Who asks, in which account, with which role (always administrator).
    pub viewer: Viewer,
}

impl Admin {
    /// The account every object of this request must belong to.
    pub fn account_id(&self) -> i64 {
        self.layout.account_id
    }
}

/// An object of one account, loadable only through that account.
pub trait AccountObject: Sized + Send + 'static {
    /// The path segment holding the object's id (`inbox_id`, `team_id`, …).
    const PARAM: &'static str;
    /// What the 404 calls it ("inbox", "team", …).
    const NAME: &'static str;
    /// Loads object `id` of `account_id`. Errors: 404 when absent or in another account.
    fn load(conn: &mut PgConnection, account_id: i64, id: i64) -> AppResult<Self>;
}

impl AccountObject for InboxWithChannel {
    const PARAM: &'static str = "inbox_id";
    const NAME: &'static str = "inbox";
    fn load(conn: &mut PgConnection, account_id: i64, id: i64) -> AppResult<Self> {
        inboxes::find(conn, account_id, id)
    }
}

impl AccountObject for Team {
    const PARAM: &'static str = "team_id";
    const NAME: &'static str = "team";
    fn load(conn: &mut PgConnection, account_id: i64, id: i64) -> AppResult<Self> {
        teams::find(conn, account_id, id)
    }
}

impl AccountObject for Label {
    const PARAM: &'static str = "label_id";
    const NAME: &'static str = "label";
    fn load(conn: &mut PgConnection, account_id: i64, id: i64) -> AppResult<Self> {
        labels::find(conn, account_id, id)
    }
}

impl AccountObject for Webhook {
    const PARAM: &'static str = "id";
    const NAME: &'static str = "webhook";
    fn load(conn: &mut PgConnection, account_id: i64, id: i64) -> AppResult<Self> {
        webhooks::find(conn, account_id, id)
    }
}

impl AccountObject for Member {
    const PARAM: &'static str = "user_id";
    const NAME: &'static str = "agent";
    fn load(conn: &mut PgConnection, account_id: i64, id: i64) -> AppResult<Self> {
        accounts::find_member(conn, account_id, id)
    }
}

/// The path's object of type `T`, loaded within the administrator's account.
#[derive(Debug, Clone)]
pub struct Scoped<T> {
    /// Who asks (the check already passed).
    pub admin: Admin,
    /// The object, known to belong to `admin.account_id()`.
    pub object: T,
}

/// A refusal as an actix error that renders `resp` as it is.
fn refuse(resp: HttpResponse) -> actix_web::Error {
    InternalError::from_response("refused", resp).into()
}

fn app_error(e: AppError) -> actix_web::Error {
    refuse(actix_web::ResponseError::error_response(&e))
}

/// The numeric path segment `name`. Errors: 404 when absent or not a number.
fn path_id(req: &HttpRequest, name: &str, what: &str) -> Result<i64, actix_web::Error> {
    req.match_info()
        .get(name)
        .and_then(|v| v.parse::<i64>().ok())
        .ok_or_else(|| app_error(AppError::NotFound(format!("{what} not found"))))
}

async fn member_of(
    req: &HttpRequest,
) -> Result<(web::Data<AppState>, Layout, Viewer), actix_web::Error> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| app_error(AppError::Internal("no application state".into())))?;
    let account_id = path_id(req, "account_id", "account")?;
    let (layout, viewer) = layout(&state, req, account_id).await.map_err(refuse)?;
    Ok((state, layout, viewer))
}

async fn admin_of(req: &HttpRequest) -> Result<(web::Data<AppState>, Admin), actix_web::Error> {
    let (state, layout, viewer) = member_of(req).await?;
    if !layout.is_admin {
        return Err(app_error(AppError::Forbidden(
            "Only administrators can change settings.".into(),
        )));
    }
    Ok((state, Admin { layout, viewer }))
}

/// The signed-in member (agent or administrator) of the account in the path's
/// `{account_id}`, for the pages every member has (the profile). Refusals as [`Admin`]'s,
/// without the 403.
#[derive(Debug, Clone)]
pub struct AccountMember {
    /// The page frame (user, account, CSRF token).
    pub layout: Layout,
    /// Who asks, in which account, with which role.
    pub viewer: Viewer,
}

impl FromRequest for AccountMember {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let (_, layout, viewer) = member_of(&req).await?;
            Ok(AccountMember { layout, viewer })
        })
    }
}

impl FromRequest for Admin {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(admin_of(&req).await?.1) })
    }
}

impl<T: AccountObject> FromRequest for Scoped<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let (state, admin) = admin_of(&req).await?;
            let id = path_id(&req, T::PARAM, T::NAME)?;
            let account_id = admin.account_id();
            let object = state
                .db(move |conn| T::load(conn, account_id, id))
                .await
                .map_err(app_error)?;
            Ok(Scoped { admin, object })
        })
    }
}

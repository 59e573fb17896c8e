//! Settings screens for administrators: agents (invite by email, change a role, remove),
//! teams and labels (create, edit, delete). Plain HTML forms with the CSRF token, posted and
//! redirected (POST → 303 → GET with `?notice=`); a refused change re-renders the page with
//! the error's status and its message next to the field it is about.

use super::scope::{Admin, Scoped};
use super::{html, redirect, Layout};
use crate::app::AppState;
use crate::domain::accounts::{self, Member, Role, Team};
use crate::domain::labels::{self, Label, LabelInput};
use crate::domain::teams::{self, TeamInput};
use crate::error::AppError;
use crate::web::session;
use actix_session::SessionExt;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use std::collections::HashMap;

/// Field errors of one form, by field name (`name`, `email`, `role`, `confirm`, …).
pub type FieldErrors = HashMap<String, String>;

/// `?notice=` after a change.
#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    /// What the last change did, shown once at the top of the page.
    pub notice: Option<String>,
}

fn error_response(e: AppError) -> HttpResponse {
    actix_web::ResponseError::error_response(&e)
}

/// The 403 to send when the submitted CSRF token is not the session's.
fn csrf_refusal(req: &HttpRequest, submitted: &str) -> Option<HttpResponse> {
    session::check_csrf(&req.get_session(), Some(submitted))
        .err()
        .map(error_response)
}

/// A 303 back to a settings page with a notice.
fn back(account_id: i64, page: &str, notice: &str) -> HttpResponse {
    redirect(&format!(
        "/app/accounts/{account_id}/settings/{page}?notice={}",
        url::form_urlencoded::byte_serialize(notice.as_bytes()).collect::<String>()
    ))
}

/// Splits an error into (status, field errors, general error): a 422 naming a field goes
/// next to that field, anything else to the top of the page.
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

/// Renders `page` with `status` (a re-rendered form after an error).
fn render_with_status(page: &impl Template, status: StatusCode) -> HttpResponse {
    let mut resp = html(page).unwrap_or_else(error_response);
    if resp.status().is_success() {
        *resp.status_mut() = status;
    }
    resp
}

fn confirmed(confirm: &Option<String>) -> bool {
    confirm.as_deref() == Some("yes")
}

// ---------------------------------------------------------------- agents

/// One member of the account as the Agents page lists it.
#[derive(Debug, Clone)]
pub struct AgentRow {
    /// The user's id.
    pub id: i64,
    /// Their name.
    pub name: String,
    /// Their email.
    pub email: String,
    /// `administrator` or `agent`.
    pub role: &'static str,
    /// True while they have not set a password from their invitation.
    pub pending: bool,
    /// True for the signed-in administrator's own row.
    pub is_self: bool,
    /// Errors of this row's forms (`role`, `confirm`, `id`, `invitation`).
    pub errors: FieldErrors,
    /// An invitation link just created for this pending member, `""` otherwise.
    pub invitation_link: String,
    /// Their avatar with the availability dot.
    pub avatar: super::view::AvatarView,
}

/// The "Add agent" form (also what is re-shown after an error).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InviteForm {
    /// The new agent's name.
    #[serde(default)]
    pub name: String,
    /// Their email, where the invitation goes.
    #[serde(default)]
    pub email: String,
    /// `administrator` or `agent`.
    #[serde(default)]
    pub role: String,
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf_token: String,
}

/// A row's role form.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RoleForm {
    /// The new role: `administrator` or `agent`.
    #[serde(default)]
    pub role: String,
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf_token: String,
}

/// A delete or remove form: the confirmation checkbox (`yes`) and the CSRF token.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConfirmForm {
    /// `yes` when the confirmation box is ticked.
    pub confirm: Option<String>,
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf_token: String,
}

#[derive(Template)]
#[template(path = "settings/agents.html")]
struct AgentsPage {
    layout: Layout,
    rows: Vec<AgentRow>,
    form: InviteForm,
    errors: FieldErrors,
    notice: String,
    error: String,
}

async fn agent_rows(state: &AppState, layout: &Layout) -> Result<Vec<AgentRow>, AppError> {
    let account_id = layout.account_id;
    let me = layout.user_id;
    let (members, availability) = state
        .db(move |conn| {
            let members = accounts::list_members(conn, account_id)?;
            let ids: Vec<i64> = members.iter().map(|m| m.user.id).collect();
            let availability = crate::domain::profile::availabilities(conn, account_id, &ids)?;
            Ok((members, availability))
        })
        .await?;
    Ok(members
        .into_iter()
        .map(|m| AgentRow {
            avatar: super::view::AvatarView::of(
                &m.user,
                availability
                    .get(&m.user.id)
                    .map(String::as_str)
                    .unwrap_or("online"),
                true,
            ),
            id: m.user.id,
            pending: !accounts::has_password(&m.user),
            is_self: m.user.id == me,
            name: m.user.name,
            email: m.user.email,
            role: m.role.as_str(),
            errors: FieldErrors::new(),
            invitation_link: String::new(),
        })
        .collect())
}

/// What a failed agents form puts back on the page.
#[derive(Default)]
struct AgentFailure {
    /// The "Add agent" form as submitted, with its errors.
    invite: Option<(InviteForm, FieldErrors)>,
    /// Errors on one member's row.
    row: Option<(i64, FieldErrors)>,
    /// An error about no field, for the top of the page.
    general: String,
}

async fn agents_page(
    state: &AppState,
    layout: Layout,
    failure: AgentFailure,
    notice: String,
    status: StatusCode,
    invitation: Option<(i64, String)>,
) -> HttpResponse {
    let mut rows = match agent_rows(state, &layout).await {
        Ok(rows) => rows,
        Err(e) => return error_response(e),
    };
    if let Some((id, errs)) = failure.row {
        if let Some(row) = rows.iter_mut().find(|r| r.id == id) {
            row.errors = errs;
        }
    }
    if let Some((id, link)) = invitation {
        if let Some(row) = rows.iter_mut().find(|r| r.id == id) {
            row.invitation_link = link;
        }
    }
    let (form, errors) = failure.invite.unwrap_or_else(|| {
        (
            InviteForm {
                role: Role::Agent.as_str().into(),
                ..InviteForm::default()
            },
            FieldErrors::new(),
        )
    });
    let page = AgentsPage {
        layout,
        rows,
        form: InviteForm {
            csrf_token: String::new(),
            ..form
        },
        errors,
        notice,
        error: failure.general,
    };
    render_with_status(&page, status)
}

/// `GET /app/accounts/{id}/settings/agents`: the members, their roles, invitations pending,
/// and the "Add agent" form.
pub async fn agents_index(
    state: web::Data<AppState>,
    admin: Admin,
    q: web::Query<NoticeQuery>,
) -> HttpResponse {
    let layout = admin.layout;
    let notice = q.into_inner().notice.unwrap_or_default();
    agents_page(
        &state,
        layout,
        AgentFailure::default(),
        notice,
        StatusCode::OK,
        None,
    )
    .await
}

/// `POST …/settings/agents`: invites an agent ([`accounts::invite_agent`], which queues the
/// invitation email). Errors re-render the form with the message next to its field (422).
pub async fn agent_invite(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    form: web::Form<InviteForm>,
) -> HttpResponse {
    let layout = admin.layout;
    let form = form.into_inner();
    if let Some(r) = csrf_refusal(&req, &form.csrf_token) {
        return r;
    }
    let (account_id, invited_by) = (layout.account_id, layout.user_id);
    let (name, email) = (form.name.clone(), form.email.clone());
    let result = match Role::from_param(&form.role) {
        Ok(role) => {
            state
                .db(move |conn| {
                    accounts::invite_agent(conn, account_id, invited_by, &name, &email, role)
                })
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(invitation) => {
            let who = &invitation.member.user;
            let notice = if invitation.new_user {
                format!(
                    "Invited {} ({}): an email with a link to set a password is on its way.",
                    who.name, who.email
                )
            } else {
                format!(
                    "{} ({}) joined the account and was sent an email.",
                    who.name, who.email
                )
            };
            back(account_id, "agents", &notice)
        }
        Err(e) => {
            let (status, errors, general) = place_error(&e);
            let failure = AgentFailure {
                invite: Some((form, errors)),
                general,
                ..AgentFailure::default()
            };
            agents_page(&state, layout, failure, String::new(), status, None).await
        }
    }
}

/// `POST …/settings/agents/{user_id}/update`: changes a member's role. Demoting the last
/// administrator is refused with the domain's message on that row (422).
pub async fn agent_update(
    state: web::Data<AppState>,
    req: HttpRequest,
    scoped: Scoped<Member>,
    form: web::Form<RoleForm>,
) -> HttpResponse {
    let layout = scoped.admin.layout;
    let (account_id, user_id) = (layout.account_id, scoped.object.user.id);
    let form = form.into_inner();
    if let Some(r) = csrf_refusal(&req, &form.csrf_token) {
        return r;
    }
    let result = match Role::from_param(&form.role) {
        Ok(role) => {
            state
                .db(move |conn| accounts::update_agent(conn, account_id, user_id, None, Some(role)))
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        // Who demoted themselves may no longer see settings.
        Ok(m) if m.user.id == layout.user_id && m.role != Role::Administrator => redirect("/app"),
        Ok(m) => back(
            account_id,
            "agents",
            &format!("{} is now {}.", m.user.name, article(m.role)),
        ),
        Err(e) => row_failure(&state, layout, user_id, e).await,
    }
}

fn article(role: Role) -> &'static str {
    match role {
        Role::Administrator => "an administrator",
        Role::Agent => "an agent",
    }
}

/// Re-renders the Agents page with `e` on the row of `user_id` (or at the top when it names
/// no field).
async fn row_failure(state: &AppState, layout: Layout, user_id: i64, e: AppError) -> HttpResponse {
    let (status, errors, general) = place_error(&e);
    let failure = AgentFailure {
        row: Some((user_id, errors)),
        general,
        ..AgentFailure::default()
    };
    agents_page(state, layout, failure, String::new(), status, None).await
}

/// `POST …/settings/agents/{user_id}/remove` (with `confirm=yes`): removes a member from
/// the account. Removing the last administrator is refused with the domain's message (422).
pub async fn agent_remove(
    state: web::Data<AppState>,
    req: HttpRequest,
    scoped: Scoped<Member>,
    form: web::Form<ConfirmForm>,
) -> HttpResponse {
    let layout = scoped.admin.layout;
    let (account_id, user_id) = (layout.account_id, scoped.object.user.id);
    let form = form.into_inner();
    if let Some(r) = csrf_refusal(&req, &form.csrf_token) {
        return r;
    }
    if !confirmed(&form.confirm) {
        let e = AppError::invalid("confirm", "Tick the box to confirm the removal.");
        return row_failure(&state, layout, user_id, e).await;
    }
    let result = state
        .db(move |conn| {
            let member = accounts::find_member(conn, account_id, user_id)?;
            accounts::remove_agent(conn, account_id, user_id)?;
            Ok(member)
        })
        .await;
    match result {
        Ok(_) if user_id == layout.user_id => redirect("/app"),
        Ok(m) => back(
            account_id,
            "agents",
            &format!("{} was removed from the account.", m.user.name),
        ),
        Err(e) => row_failure(&state, layout, user_id, e).await,
    }
}

/// A form that only carries the CSRF token.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CsrfForm {
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf_token: String,
}

/// `POST …/settings/agents/{user_id}/invitation_link`: creates a fresh one-time, 7-day
/// invitation link for a member who has not set a password yet
/// ([`accounts::issue_invitation_token`]) and shows it once on their row, with a Copy button,
/// so an administrator can pass it on when the invitation email cannot be read (no SMTP: a
/// quoted-printable `.eml` file). The answer is the page itself (200, `no-store`), never a
/// redirect, so the link is in no URL or history entry. Refusals come back on the row (422).
pub async fn agent_invitation_link(
    state: web::Data<AppState>,
    req: HttpRequest,
    scoped: Scoped<Member>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let layout = scoped.admin.layout;
    let (account_id, user_id) = (layout.account_id, scoped.object.user.id);
    if let Some(r) = csrf_refusal(&req, &form.csrf_token) {
        return r;
    }
    match state
        .db(move |conn| accounts::issue_invitation_token(conn, account_id, user_id))
        .await
    {
        Ok(token) => {
            let link = crate::jobs::email::password_link(&state.config, &token);
            let notice = format!(
                "A new invitation link for {} is below. It works once, for 7 days.",
                scoped.object.user.name
            );
            agents_page(
                &state,
                layout,
                AgentFailure::default(),
                notice,
                StatusCode::OK,
                Some((user_id, link)),
            )
            .await
        }
        // The refusal goes next to the row's invitation button.
        Err(AppError::Unprocessable { message, .. }) => {
            row_failure(
                &state,
                layout,
                user_id,
                AppError::invalid("invitation", message),
            )
            .await
        }
        Err(e) => row_failure(&state, layout, user_id, e).await,
    }
}

// ---------------------------------------------------------------- teams

/// One team as the Teams page lists (and edits) it.
#[derive(Debug, Clone)]
pub struct TeamRow {
    /// The team's id.
    pub id: i64,
    /// Its name (or what was submitted, after an error).
    pub name: String,
    /// Its description, `""` when none.
    pub description: String,
    /// Errors of this row's forms (`name`, `confirm`).
    pub errors: FieldErrors,
}

/// The create and edit form of a team.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TeamForm {
    /// The team's name.
    #[serde(default)]
    pub name: String,
    /// Its description (empty clears it).
    #[serde(default)]
    pub description: String,
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf_token: String,
}

#[derive(Template)]
#[template(path = "settings/teams.html")]
struct TeamsPage {
    layout: Layout,
    rows: Vec<TeamRow>,
    form: TeamForm,
    errors: FieldErrors,
    notice: String,
    error: String,
}

/// What a failed team form puts back on the page.
#[derive(Default)]
struct TeamFailure {
    create: Option<(TeamForm, FieldErrors)>,
    row: Option<(i64, Option<TeamForm>, FieldErrors)>,
    general: String,
}

async fn teams_page(
    state: &AppState,
    layout: Layout,
    failure: TeamFailure,
    notice: String,
    status: StatusCode,
) -> HttpResponse {
    let account_id = layout.account_id;
    let teams = match state.db(move |conn| teams::list(conn, account_id)).await {
        Ok(t) => t,
        Err(e) => return error_response(e),
    };
    let mut rows: Vec<TeamRow> = teams
        .into_iter()
        .map(|t| TeamRow {
            id: t.id,
            name: t.name,
            description: t.description.unwrap_or_default(),
            errors: FieldErrors::new(),
        })
        .collect();
    if let Some((id, submitted, errs)) = failure.row {
        if let Some(row) = rows.iter_mut().find(|r| r.id == id) {
            if let Some(f) = submitted {
                row.name = f.name;
                row.description = f.description;
            }
            row.errors = errs;
        }
    }
    let (form, errors) = failure.create.unwrap_or_default();
    let page = TeamsPage {
        layout,
        rows,
        form: TeamForm {
            csrf_token: String::new(),
            ..form
        },
        errors,
        notice,
        error: failure.general,
    };
    render_with_status(&page, status)
}

/// `GET /app/accounts/{id}/settings/teams`: the teams, each editable in place, and the form
/// to create one.
pub async fn teams_index(
    state: web::Data<AppState>,
    admin: Admin,
    q: web::Query<NoticeQuery>,
) -> HttpResponse {
    let layout = admin.layout;
    let notice = q.into_inner().notice.unwrap_or_default();
    teams_page(
        &state,
        layout,
        TeamFailure::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

/// `POST …/settings/teams`: creates a team ([`teams::create`]). Errors re-render the form
/// with the message next to its field (422).
pub async fn team_create(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    form: web::Form<TeamForm>,
) -> HttpResponse {
    let layout = admin.layout;
    let form = form.into_inner();
    if let Some(r) = csrf_refusal(&req, &form.csrf_token) {
        return r;
    }
    let account_id = layout.account_id;
    let input = TeamInput {
        name: Some(form.name.clone()),
        description: Some(form.description.clone()),
        allow_auto_assign: None,
    };
    match state
        .db(move |conn| teams::create(conn, account_id, &input))
        .await
    {
        Ok(t) => back(account_id, "teams", &format!("Team {} created.", t.name)),
        Err(e) => {
            let (status, errors, general) = place_error(&e);
            let failure = TeamFailure {
                create: Some((form, errors)),
                general,
                ..TeamFailure::default()
            };
            teams_page(&state, layout, failure, String::new(), status).await
        }
    }
}

/// `POST …/settings/teams/{team_id}/update`: renames a team or changes its description.
/// Errors re-render the page with the message on that row (422).
pub async fn team_update(
    state: web::Data<AppState>,
    req: HttpRequest,
    scoped: Scoped<Team>,
    form: web::Form<TeamForm>,
) -> HttpResponse {
    let layout = scoped.admin.layout;
    let (account_id, team_id) = (layout.account_id, scoped.object.id);
    let form = form.into_inner();
    if let Some(r) = csrf_refusal(&req, &form.csrf_token) {
        return r;
    }
    let input = TeamInput {
        name: Some(form.name.clone()),
        description: Some(form.description.clone()),
        allow_auto_assign: None,
    };
    match state
        .db(move |conn| teams::update(conn, account_id, team_id, &input))
        .await
    {
        Ok(t) => back(account_id, "teams", &format!("Team {} saved.", t.name)),
        Err(e) => {
            let (status, errors, general) = place_error(&e);
            let failure = TeamFailure {
                row: Some((team_id, Some(form), errors)),
                general,
                ..TeamFailure::default()
            };
            teams_page(&state, layout, failure, String::new(), status).await
        }
    }
}

/// `POST …/settings/teams/{team_id}/delete` (with `confirm=yes`): deletes a team; its
/// conversations keep going without one.
pub async fn team_delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    scoped: Scoped<Team>,
    form: web::Form<ConfirmForm>,
) -> HttpResponse {
    let layout = scoped.admin.layout;
    let (account_id, team_id) = (layout.account_id, scoped.object.id);
    let form = form.into_inner();
    if let Some(r) = csrf_refusal(&req, &form.csrf_token) {
        return r;
    }
    let result = if confirmed(&form.confirm) {
        state
            .db(move |conn| {
                let team = teams::find(conn, account_id, team_id)?;
                teams::delete(conn, account_id, team_id)?;
                Ok(team)
            })
            .await
    } else {
        Err(AppError::invalid(
            "confirm",
            "Tick the box to confirm deleting this team.",
        ))
    };
    match result {
        Ok(t) => back(account_id, "teams", &format!("Team {} deleted.", t.name)),
        Err(e) => {
            let (status, errors, general) = place_error(&e);
            let failure = TeamFailure {
                row: Some((team_id, None, errors)),
                general,
                ..TeamFailure::default()
            };
            teams_page(&state, layout, failure, String::new(), status).await
        }
    }
}

// ---------------------------------------------------------------- labels

/// One label as the Labels page lists (and edits) it.
#[derive(Debug, Clone)]
pub struct LabelRow {
    /// The label's id.
    pub id: i64,
    /// Its title (or what was submitted, after an error).
    pub title: String,
    /// Its description.
    pub description: String,
    /// Its color as stored (`#rgb` or `#rrggbb`), shown as text.
    pub color: String,
    /// Its color as `#rrggbb`, the value a color input needs.
    pub color_value: String,
    /// Whether the sidebar lists it.
    pub show_on_sidebar: bool,
    /// Errors of this row's forms (`title`, `color`, `confirm`).
    pub errors: FieldErrors,
}

/// The create and edit form of a label.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LabelForm {
    /// The label's title (lowercase letters, digits, `-`, `_`).
    #[serde(default)]
    pub title: String,
    /// Its description.
    #[serde(default)]
    pub description: String,
    /// Its color, `#rrggbb`.
    #[serde(default)]
    pub color: String,
    /// `yes` when "Show on sidebar" is ticked (an unticked box sends nothing).
    pub show_on_sidebar: Option<String>,
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf_token: String,
}

impl LabelForm {
    fn input(&self) -> LabelInput {
        LabelInput {
            title: Some(self.title.clone()),
            description: Some(self.description.clone()),
            color: Some(self.color.clone()).filter(|c| !c.trim().is_empty()),
            show_on_sidebar: Some(self.show_on_sidebar.is_some()),
        }
    }
}

/// `#rgb` → `#rrggbb` (lowercase), as `<input type=color>` requires; anything unreadable
/// becomes the default color.
pub fn color_input_value(color: &str) -> String {
    let hex = color.trim().trim_start_matches('#').to_ascii_lowercase();
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return labels::DEFAULT_COLOR.to_string();
    }
    match hex.len() {
        6 => format!("#{hex}"),
        3 => format!("#{}", hex.chars().flat_map(|c| [c, c]).collect::<String>()),
        _ => labels::DEFAULT_COLOR.to_string(),
    }
}

#[derive(Template)]
#[template(path = "settings/labels.html")]
struct LabelsPage {
    layout: Layout,
    rows: Vec<LabelRow>,
    form: LabelRow,
    errors: FieldErrors,
    notice: String,
    error: String,
}

/// What a failed label form puts back on the page.
#[derive(Default)]
struct LabelFailure {
    create: Option<(LabelForm, FieldErrors)>,
    row: Option<(i64, Option<LabelForm>, FieldErrors)>,
    general: String,
}

fn row_from_form(id: i64, f: LabelForm) -> LabelRow {
    LabelRow {
        id,
        color_value: color_input_value(&f.color),
        color: f.color,
        title: f.title,
        description: f.description,
        show_on_sidebar: f.show_on_sidebar.is_some(),
        errors: FieldErrors::new(),
    }
}

async fn labels_page(
    state: &AppState,
    layout: Layout,
    failure: LabelFailure,
    notice: String,
    status: StatusCode,
) -> HttpResponse {
    let account_id = layout.account_id;
    let list = match state.db(move |conn| labels::list(conn, account_id)).await {
        Ok(l) => l,
        Err(e) => return error_response(e),
    };
    let mut rows: Vec<LabelRow> = list
        .into_iter()
        .map(|l| LabelRow {
            id: l.id,
            color_value: color_input_value(&l.color),
            color: l.color,
            title: l.title,
            description: l.description,
            show_on_sidebar: l.show_on_sidebar,
            errors: FieldErrors::new(),
        })
        .collect();
    if let Some((id, submitted, errs)) = failure.row {
        if let Some(row) = rows.iter_mut().find(|r| r.id == id) {
            if let Some(f) = submitted {
                *row = row_from_form(id, f);
            }
            row.errors = errs;
        }
    }
    let (form, errors) = match failure.create {
        Some((f, errs)) => (row_from_form(0, f), errs),
        None => (
            LabelRow {
                id: 0,
                title: String::new(),
                description: String::new(),
                color: labels::DEFAULT_COLOR.into(),
                color_value: labels::DEFAULT_COLOR.into(),
                show_on_sidebar: true,
                errors: FieldErrors::new(),
            },
            FieldErrors::new(),
        ),
    };
    let page = LabelsPage {
        layout,
        rows,
        form,
        errors,
        notice,
        error: failure.general,
    };
    render_with_status(&page, status)
}

/// `GET /app/accounts/{id}/settings/labels`: the labels with their colors, each editable in
/// place, and the form to create one.
pub async fn labels_index(
    state: web::Data<AppState>,
    admin: Admin,
    q: web::Query<NoticeQuery>,
) -> HttpResponse {
    let layout = admin.layout;
    let notice = q.into_inner().notice.unwrap_or_default();
    labels_page(
        &state,
        layout,
        LabelFailure::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

/// `POST …/settings/labels`: creates a label ([`labels::create`]). Errors re-render the form
/// with the message next to its field (422).
pub async fn label_create(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    form: web::Form<LabelForm>,
) -> HttpResponse {
    let layout = admin.layout;
    let form = form.into_inner();
    if let Some(r) = csrf_refusal(&req, &form.csrf_token) {
        return r;
    }
    let account_id = layout.account_id;
    let input = form.input();
    match state
        .db(move |conn| labels::create(conn, account_id, &input))
        .await
    {
        Ok(l) => back(account_id, "labels", &format!("Label {} created.", l.title)),
        Err(e) => {
            let (status, errors, general) = place_error(&e);
            let failure = LabelFailure {
                create: Some((form, errors)),
                general,
                ..LabelFailure::default()
            };
            labels_page(&state, layout, failure, String::new(), status).await
        }
    }
}

/// `POST …/settings/labels/{label_id}/update`: changes a label (a new title is rewritten in
/// every conversation carrying it). Errors re-render the page with the message on that row.
pub async fn label_update(
    state: web::Data<AppState>,
    req: HttpRequest,
    scoped: Scoped<Label>,
    form: web::Form<LabelForm>,
) -> HttpResponse {
    let layout = scoped.admin.layout;
    let (account_id, label_id) = (layout.account_id, scoped.object.id);
    let form = form.into_inner();
    if let Some(r) = csrf_refusal(&req, &form.csrf_token) {
        return r;
    }
    let input = form.input();
    match state
        .db(move |conn| labels::update(conn, account_id, label_id, &input))
        .await
    {
        Ok(l) => back(account_id, "labels", &format!("Label {} saved.", l.title)),
        Err(e) => {
            let (status, errors, general) = place_error(&e);
            let failure = LabelFailure {
                row: Some((label_id, Some(form), errors)),
                general,
                ..LabelFailure::default()
            };
            labels_page(&state, layout, failure, String::new(), status).await
        }
    }
}

/// `POST …/settings/labels/{label_id}/delete` (with `confirm=yes`): deletes a label and
/// removes it from every conversation.
pub async fn label_delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    scoped: Scoped<Label>,
    form: web::Form<ConfirmForm>,
) -> HttpResponse {
    let layout = scoped.admin.layout;
    let (account_id, label_id) = (layout.account_id, scoped.object.id);
    let form = form.into_inner();
    if let Some(r) = csrf_refusal(&req, &form.csrf_token) {
        return r;
    }
    let result = if confirmed(&form.confirm) {
        state
            .db(move |conn| {
                let label = labels::find(conn, account_id, label_id)?;
                labels::delete(conn, account_id, label_id)?;
                Ok(label)
            })
            .await
    } else {
        Err(AppError::invalid(
            "confirm",
            "Tick the box to confirm deleting this label.",
        ))
    };
    match result {
        Ok(l) => back(account_id, "labels", &format!("Label {} deleted.", l.title)),
        Err(e) => {
            let (status, errors, general) = place_error(&e);
            let failure = LabelFailure {
                row: Some((label_id, None, errors)),
                general,
                ..LabelFailure::default()
            };
            labels_page(&state, layout, failure, String::new(), status).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn color_values_for_the_color_input() {
        assert_eq!(color_input_value("#1F93FF"), "#1f93ff");
        assert_eq!(color_input_value("#abc"), "#aabbcc");
        assert_eq!(color_input_value("nonsense"), labels::DEFAULT_COLOR);
        assert_eq!(color_input_value("#12345"), labels::DEFAULT_COLOR);
    }
}

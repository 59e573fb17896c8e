//! Macros (Chatwoot's `macros`): a named list of automation actions (see [`super::actions`])
//! an agent runs by hand on one or many conversations. `visibility` is `personal` (only its
//! creator sees, changes and runs it) or `global` (every member of the account runs it; only
//! administrators and its creator change or delete it, as Chatwoot's `MacroPolicy`).
//! Actions run as the agent who runs the macro, with that agent's access: a conversation they
//! cannot see answers 404.

use super::actions::{self, Action, RunSettings};
use crate::db::schema::macros;
use crate::domain::accounts::{Role, Viewer};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::{json, Map, Value};

/// Most conversations one execution runs on (as bulk actions).
pub const MAX_CONVERSATIONS: usize = 100;

/// A `macros` row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = macros)]
pub struct Macro {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    /// `personal` or `global`.
    pub visibility: String,
    pub actions: Value,
    pub created_by_id: Option<i64>,
    pub updated_by_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Macro {
    /// The stored actions.
    pub fn action_list(&self) -> Vec<Action> {
        serde_json::from_value(self.actions.clone()).unwrap_or_default()
    }
}

/// Chatwoot's macro object: `id, account_id, name, visibility, actions, created_by_id,
/// updated_by_id, created_at, updated_at` (unix seconds).
pub fn to_json(m: &Macro) -> Value {
    json!({
        "id": m.id,
        "account_id": m.account_id,
        "name": m.name,
        "visibility": m.visibility,
        "actions": m.actions,
        "created_by_id": m.created_by_id,
        "updated_by_id": m.updated_by_id,
        "created_at": m.created_at.timestamp(),
        "updated_at": m.updated_at.timestamp(),
    })
}

/// The macros `viewer` may see and run: the account's global ones and their own personal
/// ones, by name.
pub fn list(conn: &mut PgConnection, viewer: &Viewer) -> AppResult<Vec<Macro>> {
    Ok(macros::table
        .filter(macros::account_id.eq(viewer.account_id))
        .filter(
            macros::visibility
                .eq("global")
                .or(macros::created_by_id.eq(viewer.user_id)),
        )
        .order((macros::name, macros::id))
        .select(Macro::as_select())
        .load(conn)?)
}

/// One macro `viewer` may see. Errors: 404 (another account's, or someone else's personal).
pub fn find(conn: &mut PgConnection, viewer: &Viewer, id: i64) -> AppResult<Macro> {
    list_one(conn, viewer, id)?.ok_or_else(|| AppError::NotFound(format!("macro {id} not found")))
}

fn list_one(conn: &mut PgConnection, viewer: &Viewer, id: i64) -> AppResult<Option<Macro>> {
    Ok(macros::table
        .filter(macros::account_id.eq(viewer.account_id))
        .filter(macros::id.eq(id))
        .filter(
            macros::visibility
                .eq("global")
                .or(macros::created_by_id.eq(viewer.user_id)),
        )
        .select(Macro::as_select())
        .first(conn)
        .optional()?)
}

fn fields(
    conn: &mut PgConnection,
    viewer: &Viewer,
    body: &Map<String, Value>,
    current: Option<&Macro>,
    allow_http: bool,
) -> AppResult<(String, String, Value)> {
    let name = match body.get("name") {
        None | Some(Value::Null) => current.map(|c| c.name.clone()).unwrap_or_default(),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(_) => return Err(AppError::invalid("name", "name must be a string")),
    };
    if name.is_empty() || name.chars().count() > super::MAX_NAME_CHARS || name.contains('\0') {
        return Err(AppError::invalid(
            "name",
            format!("name must be 1 to {} characters", super::MAX_NAME_CHARS),
        ));
    }
    let visibility = match body.get("visibility") {
        None | Some(Value::Null) => current
            .map(|c| c.visibility.clone())
            .unwrap_or_else(|| "personal".into()),
        Some(Value::String(s)) if s == "personal" || s == "global" => s.clone(),
        Some(_) => {
            return Err(AppError::invalid(
                "visibility",
                "visibility must be personal or global",
            ))
        }
    };
    let acts = match body.get("actions") {
        Some(v) => actions::parse(conn, viewer.account_id, v, allow_http)?,
        None => match current {
            Some(c) => c.action_list(),
            None => return Err(AppError::invalid("actions", "actions are required")),
        },
    };
    Ok((
        name,
        visibility,
        serde_json::to_value(acts).map_err(|e| AppError::Internal(e.to_string()))?,
    ))
}

/// Creates a macro owned by `viewer` from `{name, visibility?, actions}`. Errors: 422 naming
/// `name`, `visibility` or the actions' fields.
pub fn create(
    conn: &mut PgConnection,
    viewer: &Viewer,
    body: &Map<String, Value>,
    allow_http: bool,
) -> AppResult<Macro> {
    let (name, visibility, acts) = fields(conn, viewer, body, None, allow_http)?;
    Ok(diesel::insert_into(macros::table)
        .values((
            macros::account_id.eq(viewer.account_id),
            macros::name.eq(name),
            macros::visibility.eq(visibility),
            macros::actions.eq(acts),
            macros::created_by_id.eq(Some(viewer.user_id)),
            macros::updated_by_id.eq(Some(viewer.user_id)),
        ))
        .returning(Macro::as_returning())
        .get_result(conn)?)
}

fn require_owner(viewer: &Viewer, m: &Macro) -> AppResult<()> {
    if viewer.role == Role::Administrator || m.created_by_id == Some(viewer.user_id) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only administrators and its creator may change this macro".into(),
        ))
    }
}

/// Changes a macro's given fields. Errors: 404; 403 for an agent changing another's global
/// macro; 422 as [`create`].
pub fn update(
    conn: &mut PgConnection,
    viewer: &Viewer,
    id: i64,
    body: &Map<String, Value>,
    allow_http: bool,
) -> AppResult<Macro> {
    let current = find(conn, viewer, id)?;
    require_owner(viewer, &current)?;
    let (name, visibility, acts) = fields(conn, viewer, body, Some(&current), allow_http)?;
    Ok(diesel::update(macros::table.find(id))
        .set((
            macros::name.eq(name),
            macros::visibility.eq(visibility),
            macros::actions.eq(acts),
            macros::updated_by_id.eq(Some(viewer.user_id)),
            macros::updated_at.eq(Utc::now()),
        ))
        .returning(Macro::as_returning())
        .get_result(conn)?)
}

/// Deletes a macro. Errors: 404; 403 as [`update`].
pub fn delete(conn: &mut PgConnection, viewer: &Viewer, id: i64) -> AppResult<()> {
    let current = find(conn, viewer, id)?;
    require_owner(viewer, &current)?;
    diesel::delete(macros::table.find(id)).execute(conn)?;
    Ok(())
}

/// What an execution did, per conversation `display_id`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Executed {
    pub conversation_id: i32,
    pub actions_done: Vec<String>,
}

/// Runs macro `id` on the conversations `display_ids` as `viewer`, all in one transaction
/// (all or nothing). Returns what it did.
/// Errors: 404 for the macro or a conversation the viewer cannot see; 422 naming
/// `conversation_ids` (none, more than [`MAX_CONVERSATIONS`]) or the failing action's field.
pub fn execute(
    conn: &mut PgConnection,
    viewer: &Viewer,
    id: i64,
    display_ids: &[i32],
    settings: RunSettings,
) -> AppResult<Vec<Executed>> {
    if display_ids.is_empty() || display_ids.len() > MAX_CONVERSATIONS {
        return Err(AppError::invalid(
            "conversation_ids",
            format!("give 1 to {MAX_CONVERSATIONS} conversation ids"),
        ));
    }
    let m = find(conn, viewer, id)?;
    let acts = m.action_list();
    conn.transaction(|conn| {
        let mut out = vec![];
        let mut ids = display_ids.to_vec();
        ids.dedup();
        for d in ids {
            let c = crate::domain::conversations::find_for_viewer(conn, viewer, d)?;
            let done = actions::execute(conn, viewer, c.id, &acts, settings, &m.name)?;
            out.push(Executed {
                conversation_id: d,
                actions_done: done,
            });
        }
        Ok(out)
    })
}

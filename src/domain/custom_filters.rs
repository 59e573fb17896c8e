//! Saved views: Chatwoot's custom filters ("folders"), `…/custom_filters`. Each belongs to one
//! user in one account: nobody else sees, changes or deletes it (404, as if absent). Only
//! conversation filters are kept (`filter_type` `conversation`); `query` is a
//! `POST /conversations/filter` body, validated by [`Filter::parse`].

use super::accounts::Viewer;
use super::conversation_filter::Filter;
use crate::db::schema::custom_filters;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;

/// Most saved views one user keeps in one account (Chatwoot's limit).
pub const MAX_PER_USER: i64 = 50;

/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 255;

/// A `custom_filters` row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = custom_filters)]
pub struct CustomFilter {
    pub id: i64,
    pub account_id: i64,
    pub user_id: i64,
    pub name: String,
    /// Always `conversation`.
    pub filter_type: String,
    /// `{"payload":[…]}`.
    pub query: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CustomFilter {
    /// The saved conditions (custom attribute keys read with the account's definitions).
    /// Errors: 422 naming `query` when they no longer validate.
    pub fn filter(&self, conn: &mut PgConnection) -> AppResult<Filter> {
        Filter::parse_for(conn, self.account_id, &self.query)
    }
}

/// What a create or update sets; `None` keeps the stored value (update) or is an error
/// (create, for `name` and `query`).
#[derive(Debug, Clone, Default)]
pub struct CustomFilterInput {
    pub name: Option<String>,
    pub filter_type: Option<String>,
    pub query: Option<Value>,
}

fn validate(conn: &mut PgConnection, account_id: i64, input: &CustomFilterInput) -> AppResult<()> {
    if let Some(name) = &input.name {
        let n = name.trim().chars().count();
        if n == 0 || n > MAX_NAME_CHARS {
            return Err(AppError::invalid(
                "name",
                format!("name must be 1 to {MAX_NAME_CHARS} characters"),
            ));
        }
    }
    if let Some(t) = &input.filter_type {
        if t.trim() != "conversation" {
            return Err(AppError::invalid(
                "filter_type",
                format!("filter_type {t:?} is not supported; use conversation"),
            ));
        }
    }
    if let Some(q) = &input.query {
        Filter::parse_for(conn, account_id, q).map_err(|e| match e {
            AppError::Unprocessable { field, message } => AppError::invalid(
                "query",
                format!("query.{}: {message}", field.unwrap_or_default()),
            ),
            other => other,
        })?;
    }
    Ok(())
}

/// The viewer's saved views in the account, oldest first.
pub fn list(conn: &mut PgConnection, viewer: &Viewer) -> AppResult<Vec<CustomFilter>> {
    Ok(custom_filters::table
        .filter(custom_filters::account_id.eq(viewer.account_id))
        .filter(custom_filters::user_id.eq(viewer.user_id))
        .order(custom_filters::id)
        .select(CustomFilter::as_select())
        .load(conn)?)
}

/// One of the viewer's saved views. Errors: 404 for anyone else's or an absent one.
pub fn find(conn: &mut PgConnection, viewer: &Viewer, id: i64) -> AppResult<CustomFilter> {
    custom_filters::table
        .filter(custom_filters::id.eq(id))
        .filter(custom_filters::account_id.eq(viewer.account_id))
        .filter(custom_filters::user_id.eq(viewer.user_id))
        .select(CustomFilter::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("custom filter {id} not found")))
}

/// Saves a view for the viewer. Errors: 422 naming `name`, `filter_type` or `query`
/// (missing, invalid, or past [`MAX_PER_USER`] views).
pub fn create(
    conn: &mut PgConnection,
    viewer: &Viewer,
    input: &CustomFilterInput,
) -> AppResult<CustomFilter> {
    if input.name.is_none() {
        return Err(AppError::invalid("name", "name is required"));
    }
    let Some(query) = &input.query else {
        return Err(AppError::invalid(
            "query",
            "query is required: {\"payload\":[…conditions]}",
        ));
    };
    validate(conn, viewer.account_id, input)?;
    conn.transaction(|conn| {
        super::xact_lock(
            conn,
            &format!("custom_filters:{}:{}", viewer.account_id, viewer.user_id),
        )?;
        let n: i64 = custom_filters::table
            .filter(custom_filters::account_id.eq(viewer.account_id))
            .filter(custom_filters::user_id.eq(viewer.user_id))
            .count()
            .get_result(conn)?;
        if n >= MAX_PER_USER {
            return Err(AppError::invalid(
                "name",
                format!("you already have {MAX_PER_USER} saved views; delete one first"),
            ));
        }
        Ok(diesel::insert_into(custom_filters::table)
            .values((
                custom_filters::account_id.eq(viewer.account_id),
                custom_filters::user_id.eq(viewer.user_id),
                custom_filters::name.eq(input.name.as_deref().unwrap_or("").trim()),
                custom_filters::filter_type.eq("conversation"),
                custom_filters::query.eq(query),
            ))
            .returning(CustomFilter::as_returning())
            .get_result(conn)?)
    })
}

/// Changes the viewer's view `id`. Errors: 404 as [`find`]; 422 as [`create`].
pub fn update(
    conn: &mut PgConnection,
    viewer: &Viewer,
    id: i64,
    input: &CustomFilterInput,
) -> AppResult<CustomFilter> {
    let current = find(conn, viewer, id)?;
    validate(conn, viewer.account_id, input)?;
    Ok(diesel::update(custom_filters::table.find(current.id))
        .set((
            custom_filters::name.eq(input
                .name
                .as_deref()
                .map(str::trim)
                .unwrap_or(&current.name)),
            custom_filters::query.eq(input.query.as_ref().unwrap_or(&current.query)),
            custom_filters::updated_at.eq(Utc::now()),
        ))
        .returning(CustomFilter::as_returning())
        .get_result(conn)?)
}

/// Deletes the viewer's view `id`. Errors: 404 as [`find`].
pub fn delete(conn: &mut PgConnection, viewer: &Viewer, id: i64) -> AppResult<()> {
    let current = find(conn, viewer, id)?;
    diesel::delete(custom_filters::table.find(current.id)).execute(conn)?;
    Ok(())
}

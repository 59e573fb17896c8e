//! Labels (Chatwoot's `/labels`): the account's defined labels, with a description, a color
//! and whether the sidebar lists them. Conversations carry labels by title in
//! `conversations.labels`; renaming or deleting a label rewrites those arrays in the same
//! transaction, so no conversation keeps a label that no longer exists under that title.

use super::conversations::normalize_label;
use super::lower;
use crate::db::schema::labels;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

/// A `labels` row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = labels)]
pub struct Label {
    /// The label's id (`/labels/{id}`).
    pub id: i64,
    /// The account it belongs to.
    pub account_id: i64,
    /// Lowercase letters, digits, `-` and `_`; unique per account.
    pub title: String,
    /// Free text, `""` when none.
    pub description: String,
    /// `#rgb` or `#rrggbb`.
    pub color: String,
    /// Whether the sidebar lists the label.
    pub show_on_sidebar: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new label's color when none is given (Chatwoot's).
pub const DEFAULT_COLOR: &str = "#1f93ff";

/// The fields of `POST /labels` and `PATCH /labels/{id}` (Chatwoot's
/// `label_create_update_payload`); `None` keeps a value, or takes the default on create.
#[derive(Debug, Clone, Default)]
pub struct LabelInput {
    /// Required on create; normalised by [`normalize_label`].
    pub title: Option<String>,
    /// Trimmed; default `""`.
    pub description: Option<String>,
    /// `#rgb` or `#rrggbb`; default [`DEFAULT_COLOR`].
    pub color: Option<String>,
    /// Default true.
    pub show_on_sidebar: Option<bool>,
}

const TITLE_TAKEN: &str = "a label with this title already exists in this account";

/// Checks a color: `#` and 3 or 6 hex digits. Errors: 422 naming `color`.
pub fn validate_color(raw: &str) -> AppResult<String> {
    let c = raw.trim();
    let hex = c.strip_prefix('#').unwrap_or("");
    if !(hex.len() == 3 || hex.len() == 6) || !hex.chars().all(|ch| ch.is_ascii_hexdigit()) {
        return Err(AppError::invalid(
            "color",
            format!("color {c:?} must be a hex color such as #1f93ff"),
        ));
    }
    Ok(c.to_string())
}

fn checked_title(
    conn: &mut PgConnection,
    account_id: i64,
    except: Option<i64>,
    raw: &str,
) -> AppResult<String> {
    let title = normalize_label("title", raw)?;
    let mut q = labels::table
        .filter(labels::account_id.eq(account_id))
        .filter(lower(labels::title).eq(lower(title.clone())))
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(labels::id.ne(id));
    }
    if q.count().get_result::<i64>(conn)? > 0 {
        return Err(AppError::invalid("title", TITLE_TAKEN));
    }
    Ok(title)
}

/// The labels of `account_id`, by title.
pub fn list(conn: &mut PgConnection, account_id: i64) -> AppResult<Vec<Label>> {
    super::request_memo::cached("labels", account_id, || {
        Ok(labels::table
            .filter(labels::account_id.eq(account_id))
            .select(Label::as_select())
            .order((labels::title, labels::id))
            .load(conn)?)
    })
}

/// The label `id` of `account_id`. Errors: 404 when absent (another account's too).
pub fn find(conn: &mut PgConnection, account_id: i64, id: i64) -> AppResult<Label> {
    labels::table
        .filter(labels::account_id.eq(account_id))
        .filter(labels::id.eq(id))
        .select(Label::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("label {id} not found")))
}

/// Creates a label. Errors: 422 naming `title` (missing, malformed, or taken in the account
/// in any case) or `color`.
pub fn create(conn: &mut PgConnection, account_id: i64, input: &LabelInput) -> AppResult<Label> {
    let color = input
        .color
        .as_deref()
        .map(validate_color)
        .transpose()?
        .unwrap_or_else(|| DEFAULT_COLOR.to_string());
    conn.transaction(|conn| {
        let title = checked_title(conn, account_id, None, input.title.as_deref().unwrap_or(""))?;
        diesel::insert_into(labels::table)
            .values((
                labels::account_id.eq(account_id),
                labels::title.eq(title),
                labels::description.eq(input.description.as_deref().unwrap_or("").trim()),
                labels::color.eq(color),
                labels::show_on_sidebar.eq(input.show_on_sidebar.unwrap_or(true)),
            ))
            .returning(Label::as_returning())
            .get_result(conn)
            .map_err(|e| super::unique_violation_as(e, "title", TITLE_TAKEN))
    })
}

/// Changes the given fields of a label. A new title replaces the old one in every
/// conversation of the account that carries it (kept sorted and without duplicates), in the
/// same transaction. Errors: 404 when absent; 422 as in [`create`].
pub fn update(
    conn: &mut PgConnection,
    account_id: i64,
    id: i64,
    input: &LabelInput,
) -> AppResult<Label> {
    let color = input.color.as_deref().map(validate_color).transpose()?;
    conn.transaction(|conn| {
        let current: Label = labels::table
            .filter(labels::account_id.eq(account_id))
            .filter(labels::id.eq(id))
            .select(Label::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or_else(|| AppError::NotFound(format!("label {id} not found")))?;
        let title = match &input.title {
            Some(t) => checked_title(conn, account_id, Some(id), t)?,
            None => current.title.clone(),
        };
        let updated = diesel::update(labels::table.find(id))
            .set((
                labels::title.eq(&title),
                labels::description.eq(input
                    .description
                    .as_deref()
                    .map(str::trim)
                    .unwrap_or(&current.description)),
                labels::color.eq(color.unwrap_or(current.color.clone())),
                labels::show_on_sidebar
                    .eq(input.show_on_sidebar.unwrap_or(current.show_on_sidebar)),
                labels::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Label::as_returning())
            .get_result(conn)
            .map_err(|e| super::unique_violation_as(e, "title", TITLE_TAKEN))?;
        if title != current.title {
            diesel::sql_query(
                "UPDATE conversations SET labels = ARRAY(SELECT DISTINCT l FROM \
                 unnest(array_replace(labels, $2, $3)) AS l ORDER BY l), updated_at = now() \
                 WHERE account_id = $1 AND labels @> ARRAY[$2]::text[]",
            )
            .bind::<BigInt, _>(account_id)
            .bind::<Text, _>(&current.title)
            .bind::<Text, _>(&title)
            .execute(conn)?;
            // Contact labels (contacts-api) are stored the same way.
            diesel::sql_query(
                "UPDATE contacts SET labels = ARRAY(SELECT DISTINCT l FROM \
                 unnest(array_replace(labels, $2, $3)) AS l ORDER BY l), updated_at = now() \
                 WHERE account_id = $1 AND labels @> ARRAY[$2]::text[]",
            )
            .bind::<BigInt, _>(account_id)
            .bind::<Text, _>(&current.title)
            .bind::<Text, _>(&title)
            .execute(conn)?;
        }
        Ok(updated)
    })
}

/// Deletes a label and removes its title from every conversation of the account, in one
/// transaction. Errors: 404 when absent.
pub fn delete(conn: &mut PgConnection, account_id: i64, id: i64) -> AppResult<()> {
    conn.transaction(|conn| {
        let title: String = diesel::delete(
            labels::table
                .filter(labels::account_id.eq(account_id))
                .filter(labels::id.eq(id)),
        )
        .returning(labels::title)
        .get_result(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("label {id} not found")))?;
        diesel::sql_query(
            "UPDATE conversations SET labels = array_remove(labels, $2), updated_at = now() \
             WHERE account_id = $1 AND labels @> ARRAY[$2]::text[]",
        )
        .bind::<BigInt, _>(account_id)
        .bind::<Text, _>(&title)
        .execute(conn)?;
        // Contact labels (contacts-api) are stored the same way.
        diesel::sql_query(
            "UPDATE contacts SET labels = array_remove(labels, $2), updated_at = now() \
             WHERE account_id = $1 AND labels @> ARRAY[$2]::text[]",
        )
        .bind::<BigInt, _>(account_id)
        .bind::<Text, _>(&title)
        .execute(conn)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colors() {
        assert!(validate_color("#1f93ff").is_ok());
        assert!(validate_color("#ABC").is_ok());
        for bad in ["1f93ff", "#1f93f", "#xyzxyz", "", "#"] {
            assert!(validate_color(bad).is_err(), "{bad}");
        }
    }
}

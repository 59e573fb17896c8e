//! Teams (Chatwoot's `/teams`): named groups a conversation can be assigned to. Names are
//! unique per account whatever their case. Deleting a team leaves its conversations
//! unassigned from any team (`conversations.team_id` is `ON DELETE SET NULL`).

use super::accounts::Team;
use super::lower;
use crate::db::schema::teams;
use crate::error::{AppError, AppResult};
use diesel::prelude::*;

/// The fields of `POST /teams` and `PATCH /teams/{id}`; `None` keeps a value (or, on create,
/// takes the default: no description, `allow_auto_assign` true).
#[derive(Debug, Clone, Default)]
pub struct TeamInput {
    /// Required on create; trimmed, non-empty.
    pub name: Option<String>,
    /// Trimmed; an empty string clears it.
    pub description: Option<String>,
    /// Chatwoot's `allow_auto_assign`.
    pub allow_auto_assign: Option<bool>,
}

/// Longest team name, in characters.
pub const MAX_NAME_CHARS: usize = 255;

const NAME_TAKEN: &str = "a team with this name already exists in this account";

fn checked_name(
    conn: &mut PgConnection,
    account_id: i64,
    except: Option<i64>,
    raw: &str,
) -> AppResult<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "team name must not be empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::invalid(
            "name",
            format!("team name must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    let mut q = teams::table
        .filter(teams::account_id.eq(account_id))
        .filter(lower(teams::name).eq(lower(name)))
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(teams::id.ne(id));
    }
    if q.count().get_result::<i64>(conn)? > 0 {
        return Err(AppError::invalid("name", NAME_TAKEN));
    }
    Ok(name.to_string())
}

fn description(raw: &str) -> Option<String> {
    Some(raw.trim().to_string()).filter(|d| !d.is_empty())
}

/// The teams of `account_id`, by name (case-insensitive).
pub fn list(conn: &mut PgConnection, account_id: i64) -> AppResult<Vec<Team>> {
    Ok(teams::table
        .filter(teams::account_id.eq(account_id))
        .select(Team::as_select())
        .order((lower(teams::name), teams::id))
        .load(conn)?)
}

/// The team `team_id` of `account_id`. Errors: 404 when absent (another account's team too).
pub fn find(conn: &mut PgConnection, account_id: i64, team_id: i64) -> AppResult<Team> {
    super::accounts::find_team(conn, account_id, team_id)?
        .ok_or_else(|| AppError::NotFound(format!("team {team_id} not found")))
}

/// Creates a team. Errors: 422 naming `name` when it is missing, empty, longer than
/// [`MAX_NAME_CHARS`] or already used in the account (any case).
pub fn create(conn: &mut PgConnection, account_id: i64, input: &TeamInput) -> AppResult<Team> {
    conn.transaction(|conn| {
        let name = checked_name(conn, account_id, None, input.name.as_deref().unwrap_or(""))?;
        diesel::insert_into(teams::table)
            .values((
                teams::account_id.eq(account_id),
                teams::name.eq(name),
                teams::description.eq(input.description.as_deref().and_then(description)),
                teams::allow_auto_assign.eq(input.allow_auto_assign.unwrap_or(true)),
            ))
            .returning(Team::as_returning())
            .get_result(conn)
            .map_err(|e| super::unique_violation_as(e, "name", NAME_TAKEN))
    })
}

/// Changes the given fields of a team. Errors: 404 when absent; 422 naming `name` as in
/// [`create`].
pub fn update(
    conn: &mut PgConnection,
    account_id: i64,
    team_id: i64,
    input: &TeamInput,
) -> AppResult<Team> {
    conn.transaction(|conn| {
        let current = find(conn, account_id, team_id)?;
        let name = match &input.name {
            Some(n) => checked_name(conn, account_id, Some(team_id), n)?,
            None => current.name,
        };
        let desc = match &input.description {
            Some(d) => description(d),
            None => current.description,
        };
        diesel::update(teams::table.find(team_id))
            .set((
                teams::name.eq(name),
                teams::description.eq(desc),
                teams::allow_auto_assign
                    .eq(input.allow_auto_assign.unwrap_or(current.allow_auto_assign)),
                teams::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Team::as_returning())
            .get_result(conn)
            .map_err(|e| super::unique_violation_as(e, "name", NAME_TAKEN))
    })
}

/// Deletes a team; its conversations keep going without a team. Errors: 404 when absent.
pub fn delete(conn: &mut PgConnection, account_id: i64, team_id: i64) -> AppResult<()> {
    let n = diesel::delete(
        teams::table
            .filter(teams::account_id.eq(account_id))
            .filter(teams::id.eq(team_id)),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::NotFound(format!("team {team_id} not found")));
    }
    Ok(())
}

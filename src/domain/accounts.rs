//! Accounts, users, roles and `api_access_token` authentication.

use crate::crypto;
use crate::db::schema::{account_users, accounts, inbox_members, teams, users};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

/// A user row (the password hash and token digest never leave this module's callers).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub encrypted_password: String,
    pub access_token_digest: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A user's role in one account (Chatwoot's two roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Administrator,
    Agent,
}

impl Role {
    /// The stored and JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Agent => "agent",
        }
    }

    fn parse(s: &str) -> Role {
        if s == "administrator" {
            Role::Administrator
        } else {
            Role::Agent
        }
    }
}

/// Who is asking, within one account: the basis of every visibility rule.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user_id: i64,
    pub account_id: i64,
    pub role: Role,
}

impl Viewer {
    /// Inbox ids this viewer may see: `None` means all (administrators), otherwise the inboxes
    /// the agent is a member of.
    pub fn visible_inbox_ids(&self, conn: &mut PgConnection) -> AppResult<Option<Vec<i64>>> {
        if self.role == Role::Administrator {
            return Ok(None);
        }
        Ok(Some(
            inbox_members::table
                .filter(inbox_members::user_id.eq(self.user_id))
                .select(inbox_members::inbox_id)
                .load(conn)?,
        ))
    }

    /// True when this viewer may see `inbox_id`.
    pub fn can_see_inbox(&self, conn: &mut PgConnection, inbox_id: i64) -> AppResult<bool> {
        Ok(match self.visible_inbox_ids(conn)? {
            None => true,
            Some(ids) => ids.contains(&inbox_id),
        })
    }

    /// Fails with 403 unless the viewer administers the account.
    pub fn require_admin(&self) -> AppResult<()> {
        if self.role == Role::Administrator {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "only administrators of this account can do this".into(),
            ))
        }
    }
}

/// What `create-admin` prints as its last line.
#[derive(Debug, Serialize)]
pub struct CreatedAdmin {
    pub account_id: i64,
    pub user_id: i64,
    pub email: String,
    /// Shown once; only its SHA-256 digest is stored.
    pub api_access_token: String,
}

fn validate_user_input(name: &str, email: &str, password: &str) -> AppResult<()> {
    if name.trim().is_empty() {
        return Err(AppError::invalid("name", "name must not be empty"));
    }
    let email = email.trim();
    let valid_email = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !email.contains(' ')
    });
    if !valid_email {
        return Err(AppError::invalid(
            "email",
            format!("{email:?} is not an email address"),
        ));
    }
    if password.chars().count() < 8 {
        return Err(AppError::invalid(
            "password",
            "password must be at least 8 characters",
        ));
    }
    Ok(())
}

/// Creates a user with a fresh API token and adds them to `account_id` with `role`.
/// Errors: 422 on invalid input or when the email is already registered.
pub fn create_user(
    conn: &mut PgConnection,
    account_id: i64,
    name: &str,
    email: &str,
    password: &str,
    role: Role,
) -> AppResult<(User, String)> {
    validate_user_input(name, email, password)?;
    let email = email.trim().to_lowercase();
    let token = crypto::new_api_token();
    let password_hash = crypto::hash_password(password);
    conn.transaction(|conn| {
        let taken: i64 = users::table
            .filter(users::email.eq(&email))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Err(AppError::invalid(
                "email",
                format!("a user with email {email} already exists"),
            ));
        }
        let user: User = diesel::insert_into(users::table)
            .values((
                users::name.eq(name.trim()),
                users::email.eq(&email),
                users::encrypted_password.eq(&password_hash),
                users::access_token_digest.eq(crypto::token_digest(&token)),
            ))
            .returning(User::as_returning())
            .get_result(conn)?;
        diesel::insert_into(account_users::table)
            .values((
                account_users::account_id.eq(account_id),
                account_users::user_id.eq(user.id),
                account_users::role.eq(role.as_str()),
            ))
            .execute(conn)?;
        Ok((user, token))
    })
}

/// Creates an account, its first administrator and their API token (the `create-admin` CLI).
/// Errors: 422 when the email already exists or the input is invalid.
pub fn create_admin(
    conn: &mut PgConnection,
    account_name: &str,
    name: &str,
    email: &str,
    password: &str,
) -> AppResult<CreatedAdmin> {
    if account_name.trim().is_empty() {
        return Err(AppError::invalid(
            "account_name",
            "account name must not be empty",
        ));
    }
    validate_user_input(name, email, password)?;
    conn.transaction(|conn| {
        let account_id: i64 = diesel::insert_into(accounts::table)
            .values(accounts::name.eq(account_name.trim()))
            .returning(accounts::id)
            .get_result(conn)?;
        let (user, token) =
            create_user(conn, account_id, name, email, password, Role::Administrator)?;
        Ok(CreatedAdmin {
            account_id,
            user_id: user.id,
            email: user.email,
            api_access_token: token,
        })
    })
}

/// Finds the user owning `token` (by its SHA-256 digest, compared in constant time).
pub fn authenticate_token(conn: &mut PgConnection, token: &str) -> AppResult<Option<User>> {
    let digest = crypto::token_digest(token.trim());
    let user: Option<User> = users::table
        .filter(users::access_token_digest.eq(&digest))
        .select(User::as_select())
        .first(conn)
        .optional()?;
    Ok(user.filter(|u| crypto::secure_eq(u.access_token_digest.as_bytes(), digest.as_bytes())))
}

/// The user's role in `account_id`, or `None` when they do not belong to it.
pub fn role_in(conn: &mut PgConnection, account_id: i64, user_id: i64) -> AppResult<Option<Role>> {
    let role: Option<String> = account_users::table
        .filter(account_users::account_id.eq(account_id))
        .filter(account_users::user_id.eq(user_id))
        .select(account_users::role)
        .first(conn)
        .optional()?;
    Ok(role.as_deref().map(Role::parse))
}

/// Every `(account id, account name, role)` of a user, for `GET /api/v1/profile`.
pub fn memberships(conn: &mut PgConnection, user_id: i64) -> AppResult<Vec<(i64, String, Role)>> {
    let rows: Vec<(i64, String, String)> = account_users::table
        .inner_join(accounts::table)
        .filter(account_users::user_id.eq(user_id))
        .select((accounts::id, accounts::name, account_users::role))
        .order(accounts::id)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, role)| (id, name, Role::parse(&role)))
        .collect())
}

/// Number of users, to decide whether the demo admin is needed.
pub fn user_count(conn: &mut PgConnection) -> AppResult<i64> {
    Ok(users::table.count().get_result(conn)?)
}

/// Account name by id.
pub fn account_name(conn: &mut PgConnection, account_id: i64) -> AppResult<String> {
    Ok(accounts::table
        .find(account_id)
        .select(accounts::name)
        .first(conn)?)
}

/// One user by id. Errors: 404 when absent.
pub fn find_user(conn: &mut PgConnection, user_id: i64) -> AppResult<User> {
    users::table
        .find(user_id)
        .select(User::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("user {user_id} not found")))
}

/// The users with the given ids (missing ids are skipped).
pub fn users_by_ids(conn: &mut PgConnection, ids: &[i64]) -> AppResult<Vec<User>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select(User::as_select())
        .load(conn)?)
}

/// A member of an account: the user and their role there.
#[derive(Debug, Clone)]
pub struct Member {
    pub user: User,
    /// The account this membership is in.
    pub account_id: i64,
    /// The user's role in that account.
    pub role: Role,
}

/// The user `user_id` as a member of `account_id`, or `None` when no such user belongs to it.
pub fn member(conn: &mut PgConnection, account_id: i64, user_id: i64) -> AppResult<Option<Member>> {
    let row: Option<(User, String)> = users::table
        .inner_join(account_users::table)
        .filter(account_users::account_id.eq(account_id))
        .filter(users::id.eq(user_id))
        .select((User::as_select(), account_users::role))
        .first(conn)
        .optional()?;
    Ok(row.map(|(user, role)| Member {
        user,
        account_id,
        role: Role::parse(&role),
    }))
}

/// True when `user_id` is a member of `inbox_id` (`inbox_members`).
pub fn is_inbox_member(conn: &mut PgConnection, inbox_id: i64, user_id: i64) -> AppResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        inbox_members::table
            .filter(inbox_members::inbox_id.eq(inbox_id))
            .filter(inbox_members::user_id.eq(user_id)),
    ))
    .get_result(conn)?)
}

/// A `teams` row (Chatwoot's teams: a group a conversation can be assigned to).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = teams)]
pub struct Team {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The team `team_id` of `account_id`, or `None` (another account's team looks absent).
pub fn find_team(
    conn: &mut PgConnection,
    account_id: i64,
    team_id: i64,
) -> AppResult<Option<Team>> {
    Ok(teams::table
        .filter(teams::account_id.eq(account_id))
        .filter(teams::id.eq(team_id))
        .select(Team::as_select())
        .first(conn)
        .optional()?)
}

/// Creates a team in `account_id`. Errors: 422 when the name is empty.
pub fn create_team(
    conn: &mut PgConnection,
    account_id: i64,
    name: &str,
    description: Option<&str>,
) -> AppResult<Team> {
    if name.trim().is_empty() {
        return Err(AppError::invalid("name", "team name must not be empty"));
    }
    Ok(diesel::insert_into(teams::table)
        .values((
            teams::account_id.eq(account_id),
            teams::name.eq(name.trim()),
            teams::description.eq(description),
        ))
        .returning(Team::as_returning())
        .get_result(conn)?)
}

/// The user with `email` (case-insensitive) when `password` is theirs (argon2id), else
/// `None`. An unknown email still costs one argon2 verification, so response time does not
/// reveal which emails exist.
pub fn verify_password(
    conn: &mut PgConnection,
    email: &str,
    password: &str,
) -> AppResult<Option<User>> {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let user: Option<User> = users::table
        .filter(users::email.eq(email.trim().to_lowercase()))
        .select(User::as_select())
        .first(conn)
        .optional()?;
    match user {
        Some(u) if crypto::verify_password(password, &u.encrypted_password) => Ok(Some(u)),
        Some(_) => Ok(None),
        None => {
            let dummy = DUMMY.get_or_init(|| crypto::hash_password("not a real password"));
            let _ = crypto::verify_password(password, dummy);
            Ok(None)
        }
    }
}

/// The first account (lowest id) the user belongs to, where the UI lands after sign-in.
pub fn first_account(conn: &mut PgConnection, user_id: i64) -> AppResult<Option<i64>> {
    Ok(account_users::table
        .filter(account_users::user_id.eq(user_id))
        .order(account_users::account_id)
        .select(account_users::account_id)
        .first(conn)
        .optional()?)
}

/// Every member of the account, by name.
pub fn members_of(conn: &mut PgConnection, account_id: i64) -> AppResult<Vec<Member>> {
    let rows: Vec<(User, String)> = users::table
        .inner_join(account_users::table)
        .filter(account_users::account_id.eq(account_id))
        .order(users::name)
        .select((User::as_select(), account_users::role))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(user, role)| Member {
            user,
            account_id,
            role: Role::parse(&role),
        })
        .collect())
}

/// The account's teams, by name.
pub fn teams_of(conn: &mut PgConnection, account_id: i64) -> AppResult<Vec<Team>> {
    Ok(teams::table
        .filter(teams::account_id.eq(account_id))
        .order(teams::name)
        .select(Team::as_select())
        .load(conn)?)
}

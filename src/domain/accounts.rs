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
    /// Chatwoot's `display_name`: the name colleagues see; `None` means [`User::name`].
    pub display_name: Option<String>,
    /// The uploaded avatar, relative to `STORAGE_DIR` (`avatars/{user_id}/{random}.{ext}`),
    /// or `None` (initials are shown). See [`super::profile::set_avatar`].
    pub avatar_path: Option<String>,
    /// Bumped by every password change; a session cookie holding an older epoch is signed out
    /// (see `web::session::epoch`).
    pub session_epoch: i32,
}

impl User {
    /// Chatwoot's `available_name`: the display name when set, else the name.
    pub fn available_name(&self) -> &str {
        self.display_name
            .as_deref()
            .filter(|d| !d.trim().is_empty())
            .unwrap_or(&self.name)
    }

    /// Path of the avatar image (`/media/avatars/{user_id}/{file}`, served to members of a
    /// shared account), or `None` without an avatar.
    pub fn avatar_url(&self) -> Option<String> {
        let file = self.avatar_path.as_deref()?.rsplit('/').next()?;
        Some(format!("/media/avatars/{}/{file}", self.id))
    }
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

    /// Reads a role from a request (`agent` or `administrator`).
    /// Errors: 422 naming `role` for anything else.
    pub fn from_param(s: &str) -> AppResult<Role> {
        match s.trim() {
            "administrator" => Ok(Role::Administrator),
            "agent" => Ok(Role::Agent),
            other => Err(AppError::invalid(
                "role",
                format!("unknown role {other:?}; use agent or administrator"),
            )),
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
    /// the agent is a member of. Read once per request inside a
    /// [`super::request_memo::Scope`].
    pub fn visible_inbox_ids(&self, conn: &mut PgConnection) -> AppResult<Option<Vec<i64>>> {
        if self.role == Role::Administrator {
            return Ok(None);
        }
        super::request_memo::cached("visible_inbox_ids", self.user_id, || {
            Ok(Some(
                inbox_members::table
                    .filter(inbox_members::user_id.eq(self.user_id))
                    .select(inbox_members::inbox_id)
                    .load(conn)?,
            ))
        })
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

/// Fewest characters a password may have (Chatwoot's, from Devise).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Most characters a password may have (Devise's default), which also bounds hashing work.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Checks a new password's length. Errors: 422 naming `password`.
pub fn validate_password(password: &str) -> AppResult<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(AppError::invalid(
            "password",
            format!("password must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(AppError::invalid(
            "password",
            format!("password must be at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

/// The email trimmed and lowercased, as `users.email` stores it. Errors: 422 naming `email`
/// unless it looks like `local@domain.tld` without spaces.
pub fn normalize_email(email: &str) -> AppResult<String> {
    let email = email.trim();
    let valid_email = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !email.chars().any(char::is_whitespace)
    });
    if !valid_email {
        return Err(AppError::invalid(
            "email",
            format!("{email:?} is not an email address"),
        ));
    }
    Ok(email.to_lowercase())
}

fn validate_user_input(name: &str, email: &str, password: &str) -> AppResult<()> {
    if name.trim().is_empty() {
        return Err(AppError::invalid("name", "name must not be empty"));
    }
    normalize_email(email)?;
    validate_password(password)
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

/// The user's role and availability (`online`/`busy`/`offline`) in `account_id`, in one
/// query, or `None` when they do not belong to it (the page frame's membership check).
pub fn membership_of(
    conn: &mut PgConnection,
    account_id: i64,
    user_id: i64,
) -> AppResult<Option<(Role, String)>> {
    let row: Option<(String, String)> = account_users::table
        .filter(account_users::account_id.eq(account_id))
        .filter(account_users::user_id.eq(user_id))
        .select((account_users::role, account_users::availability))
        .first(conn)
        .optional()?;
    Ok(row.map(|(role, availability)| (Role::parse(&role), availability)))
}

/// [`membership_of`] with the account's name, in one statement (every page's frame):
/// `None` when the user is not a member of the account.
pub fn membership_with_account_name(
    conn: &mut PgConnection,
    account_id: i64,
    user_id: i64,
) -> AppResult<Option<((Role, String), String)>> {
    let row: Option<(String, String, String)> = account_users::table
        .inner_join(accounts::table.on(accounts::id.eq(account_users::account_id)))
        .filter(account_users::account_id.eq(account_id))
        .filter(account_users::user_id.eq(user_id))
        .select((
            account_users::role,
            account_users::availability,
            accounts::name,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(role, availability, name)| ((Role::parse(&role), availability), name)))
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

/// The oldest account's id (the demo's), or `None` before any account exists.
pub fn first_account_id(conn: &mut PgConnection) -> AppResult<Option<i64>> {
    Ok(accounts::table
        .select(diesel::dsl::min(accounts::id))
        .first::<Option<i64>>(conn)?)
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

/// A member of an account: the user, their role and their presence there.
#[derive(Debug, Clone)]
pub struct Member {
    pub user: User,
    /// The account this membership is in.
    pub account_id: i64,
    /// The user's role in that account.
    pub role: Role,
    /// Their availability in that account (Chatwoot's `availability_status`,
    /// `availability`, `auto_offline`), read with the membership.
    pub presence: super::availability::Presence,
}

/// The membership columns a [`Member`] is read from, beside the user's.
type MembershipRow = (String, String, Option<String>, bool);

/// [`MembershipRow`]'s columns (role, availability, availability chosen before automatic
/// offline, auto_offline), to select beside `User::as_select()`.
#[allow(clippy::type_complexity)]
fn membership_columns() -> (
    account_users::role,
    account_users::availability,
    account_users::away_from,
    account_users::auto_offline,
) {
    (
        account_users::role,
        account_users::availability,
        account_users::away_from,
        account_users::auto_offline,
    )
}

/// A [`Member`] from a user and their [`MembershipRow`] in `account_id`.
fn member_from(user: User, account_id: i64, row: MembershipRow) -> Member {
    let (role, now, away_from, auto_offline) = row;
    Member {
        user,
        account_id,
        role: Role::parse(&role),
        presence: super::availability::Presence::from_row(now, away_from, auto_offline),
    }
}

/// The user `user_id` as a member of `account_id`, or `None` when no such user belongs to it.
pub fn member(conn: &mut PgConnection, account_id: i64, user_id: i64) -> AppResult<Option<Member>> {
    let row: Option<(User, MembershipRow)> = users::table
        .inner_join(account_users::table)
        .filter(account_users::account_id.eq(account_id))
        .filter(users::id.eq(user_id))
        .select((User::as_select(), membership_columns()))
        .first(conn)
        .optional()?;
    Ok(row.map(|(user, m)| member_from(user, account_id, m)))
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
    /// Chatwoot's `allow_auto_assign` (default true).
    pub allow_auto_assign: bool,
    /// Last change through `PATCH /teams/{id}`.
    pub updated_at: DateTime<Utc>,
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

/// Creates a team in `account_id` with `allow_auto_assign` on; see [`super::teams::create`].
/// Errors: 422 naming `name` when it is empty or already used in the account.
pub fn create_team(
    conn: &mut PgConnection,
    account_id: i64,
    name: &str,
    description: Option<&str>,
) -> AppResult<Team> {
    super::teams::create(
        conn,
        account_id,
        &super::teams::TeamInput {
            name: Some(name.to_string()),
            description: description.map(str::to_string),
            allow_auto_assign: None,
        },
    )
}

/// What `users.encrypted_password` holds for a user who has not set a password yet (an
/// invited agent): not a PHC string, so no password ever verifies against it.
pub const NO_PASSWORD: &str = "!";

/// True when the user has set a password (their `encrypted_password` is an argon2 PHC string).
pub fn has_password(user: &User) -> bool {
    user.encrypted_password.starts_with("$argon2")
}

/// Every member of `account_id` (Chatwoot's agents, administrators included), by name.
pub fn list_members(conn: &mut PgConnection, account_id: i64) -> AppResult<Vec<Member>> {
    let rows: Vec<(User, MembershipRow)> = users::table
        .inner_join(account_users::table)
        .filter(account_users::account_id.eq(account_id))
        .select((User::as_select(), membership_columns()))
        .order((super::lower(users::name), users::id))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(user, m)| member_from(user, account_id, m))
        .collect())
}

/// The members of `account_id` among `user_ids` (others are left out), in one query.
pub fn members_by_ids(
    conn: &mut PgConnection,
    account_id: i64,
    user_ids: &[i64],
) -> AppResult<Vec<Member>> {
    let rows: Vec<(User, MembershipRow)> = users::table
        .inner_join(account_users::table)
        .filter(account_users::account_id.eq(account_id))
        .filter(users::id.eq_any(user_ids))
        .select((User::as_select(), membership_columns()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(user, m)| member_from(user, account_id, m))
        .collect())
}

/// The member `user_id` of `account_id`. Errors: 404 when no such user belongs to it.
pub fn find_member(conn: &mut PgConnection, account_id: i64, user_id: i64) -> AppResult<Member> {
    member(conn, account_id, user_id)?
        .ok_or_else(|| AppError::NotFound(format!("agent {user_id} not found")))
}

/// The outcome of [`invite_agent`].
#[derive(Debug, Clone)]
pub struct Invitation {
    /// The new member of the account.
    pub member: Member,
    /// True when the user was created; false when an existing user joined the account.
    pub new_user: bool,
}

/// Adds an agent to `account_id` (`POST /agents`, Chatwoot's `AgentBuilder`): a user with
/// this email (trimmed, lowercased) who exists already joins the account with `role`, name
/// unchanged; otherwise a user is created with `name` and no usable password ([`NO_PASSWORD`]).
/// In the same transaction an `email` job is queued that sends the invitation (with a 7-day
/// link to set a password when the user has none; see [`crate::jobs::email`]).
/// Errors: 422 naming `name` (empty), `email` (malformed, or already a member of the account).
pub fn invite_agent(
    conn: &mut PgConnection,
    account_id: i64,
    invited_by: i64,
    name: &str,
    email: &str,
    role: Role,
) -> AppResult<Invitation> {
    if name.trim().is_empty() {
        return Err(AppError::invalid("name", "name must not be empty"));
    }
    let email = normalize_email(email)?;
    conn.transaction(|conn| {
        super::xact_lock(conn, &format!("user-email:{email}"))?;
        let existing: Option<User> = users::table
            .filter(users::email.eq(&email))
            .select(User::as_select())
            .first(conn)
            .optional()?;
        let new_user = existing.is_none();
        let user = match existing {
            Some(u) => {
                if role_in(conn, account_id, u.id)?.is_some() {
                    return Err(AppError::invalid(
                        "email",
                        format!("{email} is already an agent of this account"),
                    ));
                }
                u
            }
            None => diesel::insert_into(users::table)
                .values((
                    users::name.eq(name.trim()),
                    users::email.eq(&email),
                    users::encrypted_password.eq(NO_PASSWORD),
                    // Every user has an API token; this one is known to nobody.
                    users::access_token_digest.eq(crypto::token_digest(&crypto::new_api_token())),
                ))
                .returning(User::as_returning())
                .get_result(conn)
                .map_err(|e| {
                    super::unique_violation_as(e, "email", "a user with this email already exists")
                })?,
        };
        diesel::insert_into(account_users::table)
            .values((
                account_users::account_id.eq(account_id),
                account_users::user_id.eq(user.id),
                account_users::role.eq(role.as_str()),
            ))
            .execute(conn)
            .map_err(|e| {
                super::unique_violation_as(
                    e,
                    "email",
                    "this user is already an agent of this account",
                )
            })?;
        crate::jobs::email::enqueue(
            conn,
            &crate::jobs::email::EmailJob::AgentInvitation {
                user_id: user.id,
                account_id,
                invited_by: Some(invited_by),
            },
        )?;
        Ok(Invitation {
            member: find_member(conn, account_id, user.id)?,
            new_user,
        })
    })
}

/// Fails with 422 naming `field` when `user_id` is the account's only administrator. Must
/// run in a transaction: it takes the account's administrators lock, so two concurrent
/// demotions or removals cannot both pass.
fn keep_one_administrator(
    conn: &mut PgConnection,
    account_id: i64,
    user_id: i64,
    field: &str,
) -> AppResult<()> {
    super::xact_lock(conn, &format!("admins:{account_id}"))?;
    let others: i64 = account_users::table
        .filter(account_users::account_id.eq(account_id))
        .filter(account_users::role.eq(Role::Administrator.as_str()))
        .filter(account_users::user_id.ne(user_id))
        .count()
        .get_result(conn)?;
    if others == 0 {
        return Err(AppError::invalid(
            field,
            "this is the account's last administrator; make another agent an administrator first",
        ));
    }
    Ok(())
}

/// Changes an agent's name (the user's, in every account) and/or role in `account_id`
/// (`PATCH /agents/{id}`); `None` leaves a value as it is.
/// Errors: 404 when the user is not a member; 422 naming `name` when empty, or `role` when
/// it would demote the account's last administrator.
pub fn update_agent(
    conn: &mut PgConnection,
    account_id: i64,
    user_id: i64,
    name: Option<&str>,
    role: Option<Role>,
) -> AppResult<Member> {
    conn.transaction(|conn| {
        let current = find_member(conn, account_id, user_id)?;
        if let Some(name) = name {
            if name.trim().is_empty() {
                return Err(AppError::invalid("name", "name must not be empty"));
            }
            diesel::update(users::table.find(user_id))
                .set((
                    users::name.eq(name.trim()),
                    users::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)?;
        }
        if let Some(role) = role.filter(|r| *r != current.role) {
            if current.role == Role::Administrator {
                keep_one_administrator(conn, account_id, user_id, "role")?;
            }
            diesel::update(
                account_users::table
                    .filter(account_users::account_id.eq(account_id))
                    .filter(account_users::user_id.eq(user_id)),
            )
            .set(account_users::role.eq(role.as_str()))
            .execute(conn)?;
        }
        find_member(conn, account_id, user_id)
    })
}

/// Removes an agent from `account_id` (`DELETE /agents/{id}`): the membership goes, the user
/// stays. As Chatwoot's `Agents::DestroyJob`, they also leave the account's inboxes and
/// their conversations there become unassigned.
/// Errors: 404 when the user is not a member; 422 naming `id` when they are the account's
/// last administrator.
pub fn remove_agent(conn: &mut PgConnection, account_id: i64, user_id: i64) -> AppResult<()> {
    use crate::db::schema::{conversations, inboxes};
    conn.transaction(|conn| {
        let current = find_member(conn, account_id, user_id)?;
        if current.role == Role::Administrator {
            keep_one_administrator(conn, account_id, user_id, "id")?;
        }
        diesel::delete(
            account_users::table
                .filter(account_users::account_id.eq(account_id))
                .filter(account_users::user_id.eq(user_id)),
        )
        .execute(conn)?;
        diesel::delete(
            inbox_members::table
                .filter(inbox_members::user_id.eq(user_id))
                .filter(
                    inbox_members::inbox_id.eq_any(
                        inboxes::table
                            .filter(inboxes::account_id.eq(account_id))
                            .select(inboxes::id),
                    ),
                ),
        )
        .execute(conn)?;
        diesel::update(
            conversations::table
                .filter(conversations::account_id.eq(account_id))
                .filter(conversations::assignee_id.eq(user_id)),
        )
        .set(conversations::assignee_id.eq(None::<i64>))
        .execute(conn)?;
        Ok(())
    })
}

/// How long an invitation's password link works: 7 days.
pub const INVITATION_TTL: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// The answer to an unknown, expired or used password link (the same for all three, so the
/// answer does not tell which).
pub const EXPIRED_LINK: &str = "This link has expired or was already used";

/// Creates a one-time link token that lets `user_id` set a password within `ttl`. Returns the
/// token (64 hex characters, 256 random bits); only its SHA-256 digest is stored, in
/// `password_reset_tokens`.
pub fn create_password_token(
    conn: &mut PgConnection,
    user_id: i64,
    ttl: chrono::TimeDelta,
) -> AppResult<String> {
    use crate::db::schema::password_reset_tokens as t;
    let token = crypto::random_hex(32);
    diesel::insert_into(t::table)
        .values((
            t::user_id.eq(user_id),
            t::token_digest.eq(crypto::token_digest(&token)),
            t::expires_at.eq(Utc::now() + ttl),
        ))
        .execute(conn)?;
    Ok(token)
}

/// Issues a fresh invitation link token for `user_id`, a member of `account_id` who has not
/// set a password yet (the Agents page's "Create invitation link", for when the email cannot
/// be read). The token follows the invitation's rules: one-time, valid
/// [`INVITATION_TTL`] (7 days), only its digest stored ([`create_password_token`]); earlier
/// links keep working until one of them is used. Returns the token.
/// Errors: 404 when the user is not a member of the account; 422 naming `id` when they have
/// set a password already (the link would take over their account), or when they belong to
/// another account too (that account's administrators invited them, so this account's must
/// not set their password).
pub fn issue_invitation_token(
    conn: &mut PgConnection,
    account_id: i64,
    user_id: i64,
) -> AppResult<String> {
    conn.transaction(|conn| {
        let member = find_member(conn, account_id, user_id)?;
        if has_password(&member.user) {
            return Err(AppError::invalid(
                "id",
                "this agent has accepted the invitation already; they can reset their password from the sign-in page",
            ));
        }
        let accounts: i64 = account_users::table
            .filter(account_users::user_id.eq(user_id))
            .count()
            .get_result(conn)?;
        if accounts > 1 {
            return Err(AppError::invalid(
                "id",
                "this person was invited to another account too; they must use the link in their invitation email",
            ));
        }
        create_password_token(conn, user_id, INVITATION_TTL)
    })
}

/// Sets the password of the user a link token belongs to (argon2id), spends the token and
/// every other unused token of that user, and bumps `session_epoch` (signing out every other
/// session). Returns the user.
/// Errors: 422 naming `password` when it has fewer than 8 (or more than 128) characters;
/// 422 naming `token` with [`EXPIRED_LINK`] when the token is unknown, expired or used.
pub fn reset_password_with_token(
    conn: &mut PgConnection,
    token: &str,
    new_password: &str,
) -> AppResult<User> {
    use crate::db::schema::password_reset_tokens as t;
    validate_password(new_password)?;
    let digest = crypto::token_digest(token.trim());
    let hash = crypto::hash_password(new_password);
    conn.transaction(|conn| {
        let found: Option<(i64, i64)> = t::table
            .filter(t::token_digest.eq(&digest))
            .filter(t::used_at.is_null())
            .filter(t::expires_at.gt(diesel::dsl::now))
            .select((t::id, t::user_id))
            .for_update()
            .first(conn)
            .optional()?;
        let Some((_, user_id)) = found else {
            return Err(AppError::invalid("token", EXPIRED_LINK));
        };
        diesel::update(
            t::table
                .filter(t::user_id.eq(user_id))
                .filter(t::used_at.is_null()),
        )
        .set(t::used_at.eq(diesel::dsl::now))
        .execute(conn)?;
        Ok(diesel::update(users::table.find(user_id))
            .set((
                users::encrypted_password.eq(&hash),
                // Whoever had the old password is signed out everywhere.
                users::session_epoch.eq(users::session_epoch + 1),
                users::updated_at.eq(diesel::dsl::now),
            ))
            .returning(User::as_returning())
            .get_result(conn)?)
    })
}

/// An argon2id hash of a password nobody has, verified against when the email is unknown or
/// the user has no password, so the answer takes as long either way.
fn dummy_password_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| crypto::hash_password(&crypto::random_hex(16)))
}

/// The user with this email (case-insensitive) when `password` is theirs, else `None`.
/// argon2's verification compares in constant time; an unknown email, or a user without a
/// password, costs one verification of a dummy hash, so timing does not tell them apart.
pub fn verify_password(
    conn: &mut PgConnection,
    email: &str,
    password: &str,
) -> AppResult<Option<User>> {
    let email = email.trim().to_lowercase();
    let user: Option<User> = users::table
        .filter(users::email.eq(&email))
        .select(User::as_select())
        .first(conn)
        .optional()?;
    match user.filter(has_password) {
        Some(u) if crypto::verify_password(password, &u.encrypted_password) => Ok(Some(u)),
        Some(_) => Ok(None),
        None => {
            let _ = crypto::verify_password(password, dummy_password_hash());
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
    let rows: Vec<(User, MembershipRow)> = users::table
        .inner_join(account_users::table)
        .filter(account_users::account_id.eq(account_id))
        .order(users::name)
        .select((User::as_select(), membership_columns()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(user, m)| member_from(user, account_id, m))
        .collect())
}

/// The account's teams, by name.
pub fn teams_of(conn: &mut PgConnection, account_id: i64) -> AppResult<Vec<Team>> {
    super::request_memo::cached("teams_of", account_id, || {
        Ok(teams::table
            .filter(teams::account_id.eq(account_id))
            .order(teams::name)
            .select(Team::as_select())
            .load(conn)?)
    })
}

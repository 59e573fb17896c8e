//! The agent's own profile (issue 10, Chatwoot's `PUT /api/v1/profile` and profile settings):
//! name and display name, avatar, password change, per-account availability, and the
//! forgot-password request from the sign-in page.
//!
//! Rules and their sources:
//! - `display_name` is Chatwoot's: the name colleagues see (`available_name` = display name
//!   or name). Customers never see agent names here.
//! - Availability is per account, as Chatwoot's `account_users.availability`
//!   (`online`/`busy`/`offline`); a change emits `presence.update` (Chatwoot's event name)
//!   with `{user_id, availability}` so other agents' pages update the dot.
//! - A password change needs the current password (argon2, as sign-in), follows
//!   [`accounts::validate_password`], and bumps `users.session_epoch`: every other session of
//!   the user is signed out (the session store is a cookie, so the epoch is how).
//! - Forgot password: the answer never tells whether the email exists; a one-time link valid
//!   [`RESET_TTL`] (1 hour) is emailed, only its digest stored; a new request spends older
//!   links; at most [`RESETS_PER_EMAIL_PER_HOUR`] per address and [`RESETS_PER_IP_PER_HOUR`]
//!   per IP, counted in `password_reset_requests` (so the limit holds across processes).

use super::accounts::{self, User};
use super::events;
use crate::crypto;
use crate::db::schema::{account_users, password_reset_requests, password_reset_tokens, users};
use crate::error::{AppError, AppResult};
use diesel::prelude::*;
use serde_json::json;
use std::collections::HashMap;

/// Largest avatar accepted, in bytes: 2 MiB.
pub const MAX_AVATAR_BYTES: usize = 2 * 1024 * 1024;

/// Longest name or display name, in characters.
pub const MAX_NAME_CHARS: usize = 255;

/// How long a forgot-password link works: 1 hour.
pub const RESET_TTL: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// Forgot-password requests per email address per hour; more get the same answer and no email.
pub const RESETS_PER_EMAIL_PER_HOUR: i64 = 5;

/// Forgot-password requests per client IP per hour; more get the same answer and no email.
pub const RESETS_PER_IP_PER_HOUR: i64 = 20;

/// The one answer to a forgot-password request, whether or not the address is known.
pub const RESET_ANSWER: &str =
    "If an account exists for that address, we have emailed a link to set a new password. It works once, for one hour.";

/// Event emitted when an agent's availability changes in an account (Chatwoot's
/// `presence.update`). Payload: `user_id`, `availability`.
pub const PRESENCE_UPDATE: &str = "presence.update";

/// Chatwoot's `account_users.availability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Online,
    Busy,
    Offline,
}

impl Availability {
    /// Every value, in the order the profile page offers them.
    pub const ALL: [Availability; 3] = [
        Availability::Online,
        Availability::Busy,
        Availability::Offline,
    ];

    /// The stored and JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::Online => "online",
            Availability::Busy => "busy",
            Availability::Offline => "offline",
        }
    }

    /// The label shown next to the radio button.
    pub fn label(self) -> &'static str {
        match self {
            Availability::Online => "Online",
            Availability::Busy => "Busy",
            Availability::Offline => "Offline",
        }
    }

    /// Reads a request's value. Errors: 422 naming `availability` for anything but
    /// `online`, `busy` or `offline`.
    pub fn from_param(s: &str) -> AppResult<Availability> {
        match s.trim() {
            "online" => Ok(Availability::Online),
            "busy" => Ok(Availability::Busy),
            "offline" => Ok(Availability::Offline),
            other => Err(AppError::invalid(
                "availability",
                format!("unknown availability {other:?}; use online, busy or offline"),
            )),
        }
    }
}

fn check_name(field: &str, value: &str) -> AppResult<()> {
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::invalid(
            field,
            format!("{field} must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    crate::web::input_guard::check_text(field, value)
}

/// Changes the user's `name` and/or `display_name` (`None` leaves one as it is; a blank
/// display name clears it, so colleagues see the name). Returns the user.
/// Errors: 422 naming `name` (blank or too long) or `display_name` (too long).
pub fn update_names(
    conn: &mut PgConnection,
    user_id: i64,
    name: Option<&str>,
    display_name: Option<&str>,
) -> AppResult<User> {
    if let Some(n) = name {
        if n.trim().is_empty() {
            return Err(AppError::invalid("name", "name must not be empty"));
        }
        check_name("name", n.trim())?;
    }
    if let Some(d) = display_name {
        check_name("display_name", d.trim())?;
    }
    conn.transaction(|conn| {
        if let Some(n) = name {
            diesel::update(users::table.find(user_id))
                .set((
                    users::name.eq(n.trim()),
                    users::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)?;
        }
        if let Some(d) = display_name {
            let d = Some(d.trim()).filter(|d| !d.is_empty());
            diesel::update(users::table.find(user_id))
                .set((
                    users::display_name.eq(d),
                    users::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)?;
        }
        accounts::find_user(conn, user_id)
    })
}

/// Changes the password: `current` must verify (argon2, as sign-in), `new` follows
/// [`accounts::validate_password`] and `confirmation` repeats it. Bumps `session_epoch`
/// (signing out every other session) and spends unused password links. Returns the user with
/// the new epoch, which the calling session records.
/// Errors: 422 naming `current_password` (missing or wrong), `password` (length) or
/// `password_confirmation` (differs).
pub fn change_password(
    conn: &mut PgConnection,
    user_id: i64,
    current: &str,
    new: &str,
    confirmation: &str,
) -> AppResult<User> {
    let user = accounts::find_user(conn, user_id)?;
    if current.is_empty() {
        return Err(AppError::invalid(
            "current_password",
            "enter your current password",
        ));
    }
    if !accounts::has_password(&user) || !crypto::verify_password(current, &user.encrypted_password)
    {
        return Err(AppError::invalid(
            "current_password",
            "current password is incorrect",
        ));
    }
    accounts::validate_password(new)?;
    if new != confirmation {
        return Err(AppError::invalid(
            "password_confirmation",
            "the two passwords differ; type the same new password twice",
        ));
    }
    let hash = crypto::hash_password(new);
    conn.transaction(|conn| {
        diesel::update(
            password_reset_tokens::table
                .filter(password_reset_tokens::user_id.eq(user_id))
                .filter(password_reset_tokens::used_at.is_null()),
        )
        .set(password_reset_tokens::used_at.eq(diesel::dsl::now))
        .execute(conn)?;
        Ok(diesel::update(users::table.find(user_id))
            .set((
                users::encrypted_password.eq(&hash),
                users::session_epoch.eq(users::session_epoch + 1),
                users::updated_at.eq(diesel::dsl::now),
            ))
            .returning(User::as_returning())
            .get_result(conn)?)
    })
}

/// The user's availability in `account_id` (`online` when not a member).
pub fn availability(conn: &mut PgConnection, account_id: i64, user_id: i64) -> AppResult<String> {
    Ok(account_users::table
        .filter(account_users::account_id.eq(account_id))
        .filter(account_users::user_id.eq(user_id))
        .select(account_users::availability)
        .first::<String>(conn)
        .optional()?
        .unwrap_or_else(|| "online".into()))
}

/// The availability of each of `user_ids` in `account_id`, in one query (for lists).
pub fn availabilities(
    conn: &mut PgConnection,
    account_id: i64,
    user_ids: &[i64],
) -> AppResult<HashMap<i64, String>> {
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(account_users::table
        .filter(account_users::account_id.eq(account_id))
        .filter(account_users::user_id.eq_any(user_ids))
        .select((account_users::user_id, account_users::availability))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect())
}

/// Every `(account id, availability)` of the user, for `GET /api/v1/profile`.
pub fn availability_per_account(
    conn: &mut PgConnection,
    user_id: i64,
) -> AppResult<HashMap<i64, String>> {
    Ok(account_users::table
        .filter(account_users::user_id.eq(user_id))
        .select((account_users::account_id, account_users::availability))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect())
}

/// Sets the user's availability in `account_id`; when it changed, emits
/// [`PRESENCE_UPDATE`] (account-wide) in the same transaction.
/// Errors: 404 when the user is not a member of the account.
pub fn set_availability(
    conn: &mut PgConnection,
    account_id: i64,
    user_id: i64,
    value: Availability,
) -> AppResult<()> {
    conn.transaction(|conn| {
        let previous: Option<(String, Option<String>)> = account_users::table
            .filter(account_users::account_id.eq(account_id))
            .filter(account_users::user_id.eq(user_id))
            .select((account_users::availability, account_users::away_from))
            .for_update()
            .first(conn)
            .optional()?;
        let Some((previous, away_from)) = previous else {
            return Err(AppError::NotFound(format!(
                "account {account_id} not found"
            )));
        };
        // A choice replaces what the automatic offline remembered (`domain::availability`).
        if previous == value.as_str() && away_from.is_none() {
            return Ok(());
        }
        diesel::update(
            account_users::table
                .filter(account_users::account_id.eq(account_id))
                .filter(account_users::user_id.eq(user_id)),
        )
        .set((
            account_users::availability.eq(value.as_str()),
            account_users::away_from.eq(None::<String>),
        ))
        .execute(conn)?;
        if previous == value.as_str() {
            return Ok(());
        }
        events::emit(
            conn,
            account_id,
            None,
            None,
            PRESENCE_UPDATE,
            json!({"user_id": user_id, "availability": value.as_str()}),
        )?;
        Ok(())
    })
}

/// What the first bytes of a file say it is: `(mime type, file extension)` for PNG, JPEG,
/// WebP and GIF, the four avatar formats; `None` otherwise (the file name and declared type
/// are never trusted).
pub fn sniff_image(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("image/png", "png"))
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", "jpg"))
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(("image/gif", "gif"))
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(("image/webp", "webp"))
    } else {
        None
    }
}

/// The mime type of a stored avatar file name, by the extension [`set_avatar`] gave it.
pub fn avatar_mime(file: &str) -> &'static str {
    match file.rsplit('.').next() {
        Some("png") => "image/png",
        Some("jpg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        _ => "application/octet-stream",
    }
}

/// Checks `bytes` as an avatar and names the storage key it is kept under,
/// `avatars/{user_id}/{random}.{ext}` (the caller stores it, see
/// `web::media::upload_avatar`, then records it with [`set_avatar`]).
/// Errors: 422 naming `avatar` when the file is empty, over [`MAX_AVATAR_BYTES`], or not a
/// PNG, JPEG, WebP or GIF by its content.
pub fn avatar_key(user_id: i64, bytes: &[u8]) -> AppResult<String> {
    if bytes.is_empty() {
        return Err(AppError::invalid("avatar", "choose an image file"));
    }
    if bytes.len() > MAX_AVATAR_BYTES {
        return Err(too_large());
    }
    let Some((_, ext)) = sniff_image(bytes) else {
        return Err(AppError::invalid(
            "avatar",
            "the avatar must be a PNG, JPEG, WebP or GIF image",
        ));
    };
    Ok(format!(
        "avatars/{user_id}/{}.{ext}",
        crypto::random_hex(12)
    ))
}

/// Records the stored file `key` (from [`avatar_key`]) as the user's avatar. Returns the user
/// and the previous avatar's key, whose file the caller deletes once this has committed.
pub fn set_avatar(
    conn: &mut PgConnection,
    user_id: i64,
    key: &str,
) -> AppResult<(User, Option<String>)> {
    let previous = accounts::find_user(conn, user_id)?.avatar_path;
    let user = diesel::update(users::table.find(user_id))
        .set((
            users::avatar_path.eq(Some(key)),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .returning(User::as_returning())
        .get_result(conn)?;
    Ok((user, previous.filter(|p| p != key)))
}

/// The 422 for an avatar over [`MAX_AVATAR_BYTES`].
pub fn too_large() -> AppError {
    AppError::invalid(
        "avatar",
        format!(
            "the avatar must be at most {} MiB",
            MAX_AVATAR_BYTES / (1024 * 1024)
        ),
    )
}

/// Removes the user's avatar (initials are shown again). Returns the user and the removed
/// avatar's storage key, whose file the caller deletes.
pub fn remove_avatar(conn: &mut PgConnection, user_id: i64) -> AppResult<(User, Option<String>)> {
    let previous = accounts::find_user(conn, user_id)?.avatar_path;
    let user = diesel::update(users::table.find(user_id))
        .set((
            users::avatar_path.eq(None::<String>),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .returning(User::as_returning())
        .get_result(conn)?;
    Ok((user, previous))
}

/// The stored path (relative to `STORAGE_DIR`) of `user_id`'s avatar named `file`, for
/// `viewer_id`. Errors: 404 unless both users are members of one account and `file` is the
/// user's current avatar (another account's member cannot tell whether it exists).
pub fn avatar_file_for(
    conn: &mut PgConnection,
    viewer_id: i64,
    user_id: i64,
    file: &str,
) -> AppResult<String> {
    let not_found = || AppError::NotFound("avatar not found".into());
    let (mine, theirs) = diesel::alias!(account_users as mine, account_users as theirs);
    let shared: bool = diesel::select(diesel::dsl::exists(
        mine.inner_join(
            theirs.on(theirs
                .field(account_users::account_id)
                .eq(mine.field(account_users::account_id))),
        )
        .filter(mine.field(account_users::user_id).eq(viewer_id))
        .filter(theirs.field(account_users::user_id).eq(user_id)),
    ))
    .get_result(conn)?;
    if !shared {
        return Err(not_found());
    }
    let user = accounts::find_user(conn, user_id).map_err(|_| not_found())?;
    match user.avatar_path {
        Some(p) if p.rsplit('/').next() == Some(file) => Ok(p),
        _ => Err(not_found()),
    }
}

/// A forgot-password request for `email` from `ip`. Always `Ok(())` for a well-formed address,
/// whether or not it is known (the caller answers [`RESET_ANSWER`]): within the rate limits,
/// the request is logged and, when a user has this email, their unused links are spent and a
/// `password_reset` email job is queued in the same transaction (the link itself is created
/// when the email is rendered, so no token sits in the jobs table). Over a limit nothing else
/// happens. Requests older than a day are pruned as it goes.
/// Errors: 422 naming `email` when it is not an email address.
pub fn request_password_reset(conn: &mut PgConnection, email: &str, ip: &str) -> AppResult<()> {
    let email = accounts::normalize_email(email)?;
    let digest = crypto::token_digest(&email);
    let ip = ip.to_string();
    conn.transaction(|conn| {
        super::xact_lock_all(
            conn,
            &[
                format!("pwreset-email:{digest}"),
                format!("pwreset-ip:{ip}"),
            ],
        )?;
        let hour_ago = chrono::Utc::now() - chrono::TimeDelta::hours(1);
        let by_email: i64 = password_reset_requests::table
            .filter(password_reset_requests::email_digest.eq(&digest))
            .filter(password_reset_requests::created_at.gt(hour_ago))
            .count()
            .get_result(conn)?;
        let by_ip: i64 = password_reset_requests::table
            .filter(password_reset_requests::ip.eq(&ip))
            .filter(password_reset_requests::created_at.gt(hour_ago))
            .count()
            .get_result(conn)?;
        if by_email >= RESETS_PER_EMAIL_PER_HOUR || by_ip >= RESETS_PER_IP_PER_HOUR {
            tracing::info!("forgot-password request over the rate limit; no email");
            return Ok(());
        }
        diesel::delete(password_reset_requests::table.filter(
            password_reset_requests::created_at.lt(chrono::Utc::now() - chrono::TimeDelta::days(1)),
        ))
        .execute(conn)?;
        diesel::insert_into(password_reset_requests::table)
            .values((
                password_reset_requests::email_digest.eq(&digest),
                password_reset_requests::ip.eq(&ip),
            ))
            .execute(conn)?;
        let user_id: Option<i64> = users::table
            .filter(users::email.eq(&email))
            .select(users::id)
            .first(conn)
            .optional()?;
        if let Some(user_id) = user_id {
            spend_links(conn, user_id)?;
            crate::jobs::email::enqueue(
                conn,
                &crate::jobs::email::EmailJob::PasswordReset { user_id },
            )?;
        }
        Ok(())
    })
}

/// Marks every unused password link of the user as used (a newer one replaces them).
pub fn spend_links(conn: &mut PgConnection, user_id: i64) -> AppResult<usize> {
    Ok(diesel::update(
        password_reset_tokens::table
            .filter(password_reset_tokens::user_id.eq(user_id))
            .filter(password_reset_tokens::used_at.is_null()),
    )
    .set(password_reset_tokens::used_at.eq(diesel::dsl::now))
    .execute(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_four_formats_only() {
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\nrest").unwrap().1, "png");
        assert_eq!(sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0]).unwrap().1, "jpg");
        assert_eq!(sniff_image(b"GIF89a....").unwrap().1, "gif");
        assert_eq!(sniff_image(b"RIFF\0\0\0\0WEBPVP8 ").unwrap().1, "webp");
        assert!(sniff_image(b"<svg xmlns=").is_none());
        assert!(sniff_image(b"").is_none());
    }

    #[test]
    fn availability_values() {
        assert_eq!(
            Availability::from_param("busy").unwrap(),
            Availability::Busy
        );
        assert!(Availability::from_param("away").is_err());
    }
}

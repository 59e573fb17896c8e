//! The `email` job: renders one email and sends it with [`crate::mail::send`], retrying
//! transient failures with backoff (`EMAIL_RETRY_BASE_SECONDS` × 2^(attempt−1)).
//!
//! Payloads are [`EmailJob`]s. They hold ids, never secrets: an invitation's password link is
//! created when the email is rendered, so no token sits in the `jobs` table (a retry creates
//! a new link; an unsent one is simply never used).

use super::{claim, complete, fail, Job, POLL_INTERVAL};
use crate::app::AppState;
use crate::config::Config;
use crate::domain::accounts::{self, Role};
use crate::error::{AppError, AppResult};
use crate::mail::{self, escape_html, Delivery};
use serde::{Deserialize, Serialize};

/// Job kind of every email.
pub const EMAIL: &str = "email";

/// Attempts before an email job is `failed`.
pub const MAX_ATTEMPTS: i32 = 8;

/// First retry delay of a failed send, in seconds, doubled per attempt.
pub const EMAIL_RETRY_BASE_SECONDS: u64 = 30;

/// Seconds a worker holds a claimed email job before another may retry it (well above the
/// SMTP timeout).
pub const LEASE_SECONDS: i64 = 120;

/// What an `email` job sends (its JSON payload, tagged by `type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EmailJob {
    /// "You were added to an account": to a new user, with a link to set their password
    /// (`{FRONTEND_URL}/app/password/reset?token=…`, valid [`accounts::INVITATION_TTL`]); to an
    /// existing user with a password, with a link to sign in.
    AgentInvitation {
        /// The invited user.
        user_id: i64,
        /// The account they were added to.
        account_id: i64,
        /// Who added them, named in the email when known.
        invited_by: Option<i64>,
    },
    /// "Conversation #N was assigned to you" (see [`crate::domain::notifications`]).
    ConversationAssigned {
        /// The new assignee, who receives the email.
        user_id: i64,
        /// `conversations.id` (not the display id).
        conversation_id: i64,
        /// Who assigned it, named in the email when known.
        assigned_by: Option<i64>,
    },
    /// "New conversation #N in <inbox>", to one member of the inbox.
    ConversationCreated {
        /// The inbox member who receives the email.
        user_id: i64,
        /// `conversations.id` (not the display id).
        conversation_id: i64,
    },
    /// "Webhook <name> was disabled", to one administrator.
    WebhookDisabled {
        /// The administrator who receives the email.
        user_id: i64,
        /// The webhook's account.
        account_id: i64,
        /// The webhook's name, as given to `notifications::webhook_disabled`.
        webhook_name: String,
        /// Why it was disabled.
        reason: String,
    },
    /// "Set a new password": the forgot-password link (`{FRONTEND_URL}/app/password/reset?token=…`,
    /// one-time, valid [`crate::domain::profile::RESET_TTL`]); rendering it spends the user's
    /// older links, so only the newest works.
    PasswordReset {
        /// The user who asked (by their email, on the sign-in page).
        user_id: i64,
    },
    /// The email of an in-app notification: a mention, or a new customer message in a
    /// conversation the user is assigned to or takes part in (see
    /// [`crate::domain::inbox_notifications`]).
    Notification {
        /// Who receives it (the notification's user).
        user_id: i64,
        /// `notifications.id`.
        notification_id: i64,
    },
    /// A ready-made email.
    Message {
        /// Recipient: `address` or `Name <address>`.
        to: String,
        /// Subject line.
        subject: String,
        /// Plain-text body.
        text: String,
        /// HTML alternative, if any.
        html: Option<String>,
    },
}

/// Queues an email. Call it inside the transaction that makes the email true (e.g. the new
/// membership), so both commit together.
pub fn enqueue(conn: &mut diesel::PgConnection, job: &EmailJob) -> AppResult<i64> {
    let payload = serde_json::to_value(job).map_err(|e| AppError::Internal(e.to_string()))?;
    super::enqueue(conn, EMAIL, payload, MAX_ATTEMPTS)
}

/// An email ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Recipient: `address` or `Name <address>`.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML alternative, if any.
    pub html: Option<String>,
}

/// The password link of a token: `{FRONTEND_URL}/app/password/reset?token=<token>`.
pub fn password_link(config: &Config, token: &str) -> String {
    format!("{}/app/password/reset?token={token}", config.frontend_url)
}

/// Renders a job's email, creating an invitation's password token when the user has no
/// password yet. `Ok(None)` when there is nothing to send any more (the user or account is
/// gone). Errors: database errors only.
pub fn render(
    conn: &mut diesel::PgConnection,
    config: &Config,
    job: &EmailJob,
) -> AppResult<Option<Rendered>> {
    match job {
        EmailJob::Message {
            to,
            subject,
            text,
            html,
        } => Ok(Some(Rendered {
            to: to.clone(),
            subject: subject.clone(),
            text: text.clone(),
            html: html.clone(),
        })),
        EmailJob::ConversationAssigned { .. }
        | EmailJob::ConversationCreated { .. }
        | EmailJob::WebhookDisabled { .. }
        | EmailJob::Notification { .. } => crate::domain::notifications::render(conn, config, job),
        EmailJob::PasswordReset { user_id } => {
            let Some(user) = accounts::users_by_ids(conn, &[*user_id])?.pop() else {
                return Ok(None);
            };
            crate::domain::profile::spend_links(conn, user.id)?;
            let ttl = crate::domain::profile::RESET_TTL;
            let token = accounts::create_password_token(conn, user.id, ttl)?;
            let link = password_link(config, &token);
            let subject = "Set a new Switchboard password".to_string();
            let text = format!(
                "Hi {name},\n\nSomeone (hopefully you) asked to set a new password for your \
                 Switchboard account.\n\nSet a new password:\n{link}\n\nThis link works once and \
                 expires in one hour. If you did not ask, you can ignore this email; your \
                 password stays as it is.\n",
                name = user.name,
            );
            let html = format!(
                "<p>Hi {name},</p><p>Someone (hopefully you) asked to set a new password for your \
                 Switchboard account.</p><p><a href=\"{link}\">Set a new password</a></p>\
                 <p>This link works once and expires in one hour. If you did not ask, you can \
                 ignore this email; your password stays as it is.</p>",
                name = escape_html(&user.name),
                link = escape_html(&link),
            );
            Ok(Some(Rendered {
                to: user.email,
                subject,
                text,
                html: Some(html),
            }))
        }
        EmailJob::AgentInvitation {
            user_id,
            account_id,
            invited_by,
        } => {
            let Some(member) = accounts::member(conn, *account_id, *user_id)? else {
                return Ok(None);
            };
            let account = accounts::account_name(conn, *account_id)?;
            let inviter = match invited_by {
                Some(id) => accounts::users_by_ids(conn, &[*id])?.pop().map(|u| u.name),
                None => None,
            };
            let role = match member.role {
                Role::Administrator => "an administrator",
                Role::Agent => "an agent",
            };
            let who = inviter.unwrap_or_else(|| "An administrator".into());
            let user = &member.user;
            let (action, link, note) = if accounts::has_password(user) {
                (
                    "Sign in to start",
                    format!("{}/app/login", config.frontend_url),
                    String::new(),
                )
            } else {
                let token =
                    accounts::create_password_token(conn, user.id, accounts::INVITATION_TTL)?;
                (
                    "Set your password to start",
                    password_link(config, &token),
                    format!(
                        "This link works once and expires in {} days.",
                        accounts::INVITATION_TTL.num_days()
                    ),
                )
            };
            let subject = format!("You have been invited to {account} on Switchboard");
            let text = format!(
                "Hi {name},\n\n{who} has invited you to join {account} on Switchboard as {role}.\n\n\
                 {action}:\n{link}\n\n{note}\nIf you did not expect this invitation, you can ignore \
                 this email.\n",
                name = user.name,
            );
            let html = format!(
                "<p>Hi {name},</p><p>{who} has invited you to join <strong>{account}</strong> on \
                 Switchboard as {role}.</p><p><a href=\"{link}\">{action}</a></p><p>{note}</p>\
                 <p>If you did not expect this invitation, you can ignore this email.</p>",
                name = escape_html(&user.name),
                who = escape_html(&who),
                account = escape_html(&account),
                link = escape_html(&link),
                note = escape_html(&note),
            );
            Ok(Some(Rendered {
                to: user.email.clone(),
                subject,
                text,
                html: Some(html),
            }))
        }
    }
}

/// Runs one claimed email job to its end: done, retried later, or `failed`. Returns where the
/// email went when it was delivered.
pub async fn run_job(state: &AppState, job: Job) -> AppResult<Option<Delivery>> {
    let parsed: Result<EmailJob, _> = serde_json::from_value(job.payload.clone());
    let config = state.config.clone();
    let rendered = match parsed {
        Err(e) => Err(format!("unreadable email job payload: {e}")),
        Ok(email) => state
            .db(move |conn| render(conn, &config, &email))
            .await
            .map_err(|e| e.to_string()),
    };
    let outcome = match rendered {
        Err(e) => Err(mail::MailError {
            message: e,
            permanent: false,
        }),
        Ok(None) => Ok(None),
        Ok(Some(r)) => mail::send(&state.config, &r.to, &r.subject, &r.text, r.html.as_deref())
            .await
            .map(Some),
    };
    let job_id = job.id;
    match outcome {
        Ok(delivery) => {
            state.db(move |conn| complete(conn, job_id)).await?;
            Ok(delivery)
        }
        Err(e) => {
            let message = e.message.clone();
            let retry = state
                .db(move |conn| {
                    fail(
                        conn,
                        &job,
                        &e.message,
                        e.permanent,
                        EMAIL_RETRY_BASE_SECONDS,
                    )
                })
                .await?;
            tracing::warn!(job_id, retry, error = %message, "email not sent");
            Ok(None)
        }
    }
}

/// Claims and runs the oldest due email job. Returns false when none was due.
pub async fn run_next(state: &AppState) -> AppResult<bool> {
    let job = state.db(|conn| claim(conn, EMAIL, LEASE_SECONDS)).await?;
    match job {
        None => Ok(false),
        Some(job) => {
            run_job(state, job).await?;
            Ok(true)
        }
    }
}

/// The email worker: runs due email jobs, polling every [`POLL_INTERVAL`] when idle.
pub async fn run(state: AppState) {
    loop {
        match run_next(&state).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "email worker could not reach the database"),
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

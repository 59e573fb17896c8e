//! The send job: outgoing messages (and read receipts) from the outbox to Graph
//! `POST /{phone_number_id}/messages`.
//!
//! - A dispatcher claims due jobs in batches and runs up to `SEND_CONCURRENCY` at once. One
//!   conversation's messages go out one at a time, in order (the job's ordering key).
//! - Every send waits for its business number's slot (`SEND_RATE_PER_SECOND`, Meta's
//!   default throughput is 80 messages/s per number): one reservation statement on the
//!   number's token bucket in PostgreSQL (`domain::limits::reserve`), so the rate holds
//!   across every server process. `started_at` is committed with the reservation, so after
//!   the wait only the Graph call remains. A send still waiting for its slot when the process
//!   starts draining (SIGTERM) gives its job back at once (`started_at` cleared) for another
//!   node; a crash during the wait is treated like one during the call (reconciled).
//! - Success stores the wamid as `source_id` and moves the message to `sent`; statuses that
//!   arrived first are applied then (DESIGN.md invariant 3).
//! - Transient failures (network, HTTP 5xx/429, #130429, #131000, #131016, #131056, and the
//!   throttling codes #4 and #80007) retry with backoff; anything else fails the message at
//!   once with Meta's error. #190 flags the inbox "reauthorization required".
//! - Crash safety: `jobs.started_at` is committed before the Graph call (with the slot
//!   reservation). A job claimed
//!   with it still set crashed mid-send with an unknown outcome; it waits
//!   `SEND_RECONCILE_SECONDS` for Meta's status webhook, which carries our
//!   `biz_opaque_callback_data` and so identifies the message (see `whatsapp::ingest`), and
//!   only sends again if none came. Where Graph answered, the message is not sent twice.

use super::{Job, WHATSAPP_SEND};
use crate::app::AppState;
use crate::domain::inboxes::{self, Channel};
use crate::domain::messages::{self, Attachment, Message, MessageUpdate};
use crate::domain::{conversations, outbox, templates};
use crate::error::{AppError, AppResult};
use crate::whatsapp::graph::{self, GraphError};
use crate::whatsapp::interactive;
use crate::whatsapp::outbound::{self, MediaKind, Recipient};
use chrono::{Duration, Utc};
use diesel::prelude::*;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Seconds a claimed send job is leased: longer than any Graph call (30 s timeout).
pub const LEASE_SECONDS: i64 = 120;

/// Waits for a send slot of the business number `phone_number_id`: reserves one token of its
/// shared bucket ([`crate::domain::limits::reserve`], `SEND_RATE_PER_SECOND` per second,
/// burst [`crate::domain::limits::send_capacity`]) and sleeps until the slot. With
/// `mark_started`, that job's `started_at` is committed in the same database call
/// ([`super::mark_started`]), so after the sleep only the Graph call remains and sends reach
/// Graph at the pace of their slots. Returns the slot (by the database's clock, see
/// [`crate::domain::limits::Reservation`]), or `None`, without sending, when this process
/// starts draining first (the caller gives the job back with [`give_back`]). Errors: the
/// database.
pub async fn wait_for_slot(
    state: &AppState,
    phone_number_id: &str,
    mark_started: Option<i64>,
) -> AppResult<Option<chrono::DateTime<Utc>>> {
    use crate::domain::limits;
    if super::leases::draining() {
        return Ok(None);
    }
    let key = limits::send_key(phone_number_id);
    let rate = state.config.send_rate_per_second.max(1);
    let limits::Reservation { wait, slot } = state
        .db(move |conn| {
            if let Some(id) = mark_started {
                super::mark_started(conn, id)?;
            }
            limits::reserve(conn, &key, limits::send_capacity(rate), rate as f64)
        })
        .await?;
    if wait.is_zero() {
        return Ok(Some(slot));
    }
    tokio::select! {
        _ = tokio::time::sleep(wait) => Ok((!super::leases::draining()).then_some(slot)),
        _ = super::leases::until_draining() => Ok(None),
    }
}

/// Gives a claimed job back, due now and with `started_at` cleared (its Graph call never
/// began), for any process to take: this one is draining.
async fn give_back(state: &AppState, job: &Job) -> AppResult<()> {
    use crate::db::schema::jobs;
    let id = job.id;
    tracing::info!(job_id = id, "draining: send job handed back");
    state
        .db(move |conn| {
            diesel::update(jobs::table.find(id))
                .set((
                    jobs::run_at.eq(diesel::dsl::now),
                    jobs::started_at.eq(None::<chrono::DateTime<Utc>>),
                    jobs::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)?;
            super::leases::let_go(id);
            Ok(())
        })
        .await
}

/// The value of `biz_opaque_callback_data` for a message: Meta echoes it in the message's
/// status webhooks.
pub fn callback_data(message_id: i64) -> String {
    format!("switchboard:message:{message_id}")
}

/// The message id in a `biz_opaque_callback_data` written by [`callback_data`].
pub fn message_id_from_callback(data: &str) -> Option<i64> {
    data.strip_prefix("switchboard:message:")?.parse().ok()
}

/// Runs the send dispatcher forever: claims due send jobs and runs each in its own task, at
/// most `SEND_CONCURRENCY` at once. Wakes on `state.send_wakeup` and otherwise polls.
pub async fn run_dispatcher(state: AppState) {
    let permits = Arc::new(Semaphore::new(state.config.send_concurrency));
    loop {
        let free = permits.available_permits();
        if free == 0 {
            drop(permits.clone().acquire_owned().await);
            continue;
        }
        let claimed = state
            .db(move |conn| super::claim_batch(conn, WHATSAPP_SEND, free as i64, LEASE_SECONDS))
            .await;
        match claimed {
            Ok(batch) if !batch.is_empty() => {
                for job in batch {
                    let permit = permits.clone().acquire_owned().await.expect("semaphore");
                    let st = state.clone();
                    tokio::spawn(async move {
                        run_job(&st, job).await;
                        drop(permit);
                        // The next message of the same conversation may now be due.
                        st.send_wakeup.notify_one();
                    });
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "send dispatcher could not reach the database"),
        }
        let _ = tokio::time::timeout(super::POLL_INTERVAL, state.send_wakeup.notified()).await;
    }
}

/// Runs one claimed send job to its end (sent, retried later, or failed). Database errors
/// leave the job leased; it runs again when the lease ends.
pub async fn run_job(state: &AppState, job: Job) {
    let result = if let Some(id) = job.payload["message_id"].as_i64() {
        send_message(state, &job, id).await
    } else if job.payload.get("mark_read").is_some() {
        send_read_receipt(state, &job).await
    } else {
        let id = job.id;
        let unknown = job.clone();
        state
            .db(move |conn| {
                super::fail_after(
                    conn,
                    &unknown,
                    "unknown send job payload",
                    false,
                    Duration::zero(),
                    false,
                )
                .map(|_| ())
            })
            .await
            .map(|_| tracing::error!(job_id = id, "send job with an unknown payload"))
    };
    match result {
        Ok(()) => {}
        // The database is away: the lease runs out and the job runs again.
        Err(e @ AppError::DatabaseUnavailable(_)) => {
            tracing::warn!(error = %e, job_id = job.id, "send job stopped; it runs again when its lease ends")
        }
        // Anything else (e.g. the inbox was deleted) will not get better by retrying.
        Err(e) => {
            tracing::error!(error = %e, job_id = job.id, "send job failed");
            let message_id = job.payload["message_id"].as_i64();
            if message_id.is_some() {
                crate::metrics::record_send(crate::metrics::SEND_FAILED);
            }
            let text = e.to_string();
            let job = job.clone();
            let _ = state
                .db(move |conn| {
                    if let Some(id) = message_id {
                        messages::record_send_failure(conn, id, &text, None)?;
                    }
                    super::fail_after(conn, &job, &text, false, Duration::zero(), false)
                })
                .await;
        }
    }
}

/// What a send needs, loaded in one go.
struct SendContext {
    message: Message,
    channel: Channel,
    recipient: Recipient,
    reply_to: Option<String>,
    attachment: Option<Attachment>,
    /// The Graph `template` object, rendered now from the stored `template_params`.
    template: Option<Result<Value, String>>,
}

fn load_context(conn: &mut PgConnection, message_id: i64) -> AppResult<Option<SendContext>> {
    let Some(message) = messages::find(conn, message_id)? else {
        return Ok(None);
    };
    if message.status != "progress" || message.source_id.is_some() || message.private {
        return Ok(None);
    }
    // Deleted by its agent before it went out (`messages::delete_by_agent`): never sent.
    if message.content_attributes["deleted"] == serde_json::Value::Bool(true) {
        return Ok(None);
    }
    let conversation = conversations::find_by_id(conn, message.conversation_id)?;
    let (_, channel) = inboxes::find_by_id(conn, message.inbox_id)?;
    let recipient = outbox::recipient_of(conn, &conversation)?;
    let attachment = messages::attachments_of(conn, &[message.id])?
        .into_iter()
        .next();
    let attrs = &message.content_attributes;
    let template = match attrs.get("template_params") {
        Some(p) if !p.is_null() => Some(
            match serde_json::from_value::<templates::TemplateParams>(p.clone()) {
                Ok(params) => {
                    match templates::find(conn, message.inbox_id, &params.name, &params.language)? {
                        Some(t) => templates::render(&t, &params)
                            .map(|r| r.graph)
                            .map_err(|e| e.to_string()),
                        None => {
                            Err(templates::not_found_error(&params.name, &params.language)
                                .to_string())
                        }
                    }
                }
                Err(e) => Err(format!("stored template_params are unreadable: {e}")),
            },
        ),
        _ => None,
    };
    let Some(recipient) = recipient else {
        messages::record_send_failure(
            conn,
            message.id,
            "the contact has neither a phone number nor a WhatsApp user id",
            None,
        )?;
        return Ok(None);
    };
    Ok(Some(SendContext {
        reply_to: attrs["in_reply_to_external_id"]
            .as_str()
            .map(str::to_string),
        message,
        channel,
        recipient,
        attachment,
        template,
    }))
}

/// The send failed for good before or at Graph: the message is `failed` with `error`.
async fn fail_message(
    state: &AppState,
    job: &Job,
    message_id: i64,
    error: String,
    details: Option<String>,
) -> AppResult<()> {
    crate::metrics::record_send(crate::metrics::SEND_FAILED);
    let job = job.clone();
    state
        .db(move |conn| {
            conn.transaction(|conn| {
                messages::record_send_failure(conn, message_id, &error, details.as_deref())?;
                super::fail_after(conn, &job, &error, false, Duration::zero(), false)?;
                Ok(())
            })
        })
        .await
}

/// A Graph error: retried when transient and attempts remain, otherwise the message fails.
async fn graph_failed(
    state: &AppState,
    job: &Job,
    message: &Message,
    error: GraphError,
) -> AppResult<()> {
    let external = error.external_error();
    if error.is_token_invalid() {
        let inbox_id = message.inbox_id;
        let text = external.clone();
        state
            .db(move |conn| inboxes::mark_reauthorization_required(conn, inbox_id, &text))
            .await?;
        tracing::warn!(
            inbox_id,
            "Graph rejected the access token (#190); the inbox needs reauthorization"
        );
    }
    if error.is_transient() && job.attempts + 1 < job.max_attempts {
        let delay = super::backoff_ms(state.config.send_retry_base_ms, job.attempts + 1);
        let keep_started = error.outcome_unknown();
        let (job2, text) = (job.clone(), external.clone());
        state
            .db(move |conn| super::fail_after(conn, &job2, &text, true, delay, keep_started))
            .await?;
        crate::metrics::record_send(crate::metrics::SEND_RETRY);
        tracing::info!(message_id = message.id, attempt = job.attempts + 1, error = %external, "send failed transiently; retrying");
        return Ok(());
    }
    tracing::warn!(message_id = message.id, error = %external, "send failed");
    fail_message(
        state,
        job,
        message.id,
        external,
        error.details().map(str::to_string),
    )
    .await
}

async fn send_message(state: &AppState, job: &Job, message_id: i64) -> AppResult<()> {
    let Some(ctx) = state.db(move |conn| load_context(conn, message_id)).await? else {
        // Already sent (e.g. identified by a status webhook), failed, or deleted.
        let id = job.id;
        return state.db(move |conn| super::complete(conn, id)).await;
    };
    if let Some(started) = job.started_at {
        let until = started + Duration::seconds(state.config.send_reconcile_seconds as i64);
        if Utc::now() < until {
            let id = job.id;
            return state.db(move |conn| super::postpone(conn, id, until)).await;
        }
        tracing::warn!(
            message_id,
            "an earlier send attempt ended without an answer and no status webhook identified the message; sending again"
        );
    }
    let token = ctx.channel.api_key(&state.secrets)?;
    let message = &ctx.message;
    let callback = callback_data(message.id);
    let content = message.content.clone().unwrap_or_default();
    let attrs = &message.content_attributes;

    let body = if let Some(template) = &ctx.template {
        match template {
            Ok(t) => outbound::template(
                &ctx.recipient,
                t.clone(),
                ctx.reply_to.as_deref(),
                Some(&callback),
            ),
            Err(e) => return fail_message(state, job, message.id, e.clone(), None).await,
        }
    } else if attrs["is_reaction"] == Value::Bool(true) {
        let Some(target) = ctx.reply_to.as_deref() else {
            return fail_message(
                state,
                job,
                message.id,
                "the reacted-to message has no wamid".into(),
                None,
            )
            .await;
        };
        outbound::reaction(&ctx.recipient, target, &content, Some(&callback))
    } else if interactive::is_interactive(&message.content_type) && attrs["interactive"].is_object()
    {
        // Checked against Meta's limits when it was created (`outbox::create`).
        outbound::interactive(
            &ctx.recipient,
            attrs["interactive"].clone(),
            ctx.reply_to.as_deref(),
            Some(&callback),
        )
    } else if let Some(att) = &ctx.attachment {
        let mime = att
            .mime_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into());
        let kind = MediaKind::for_mime(&mime);
        let media_id = match &att.media_id {
            Some(id) => id.clone(),
            None => {
                let Some(path) = att.storage_path.as_deref() else {
                    return fail_message(
                        state,
                        job,
                        message.id,
                        "the attachment's file is missing".into(),
                        None,
                    )
                    .await;
                };
                let bytes = match state.storage.read(path).await {
                    Ok(b) => b.to_vec(),
                    Err(e) => {
                        return fail_message(
                            state,
                            job,
                            message.id,
                            format!("the attachment's file cannot be read: {e}"),
                            None,
                        )
                        .await
                    }
                };
                let name = att.file_name.clone().unwrap_or_else(|| "file".into());
                match graph::upload_media(
                    &state.http,
                    &state.config,
                    &token,
                    &ctx.channel.phone_number_id,
                    bytes,
                    &mime,
                    &name,
                )
                .await
                {
                    Ok(id) => {
                        let (att_id, id2) = (att.id, id.clone());
                        state
                            .db(move |conn| messages::set_attachment_media_id(conn, att_id, &id2))
                            .await?;
                        id
                    }
                    Err(e) => return graph_failed(state, job, message, e).await,
                }
            }
        };
        outbound::media(
            &ctx.recipient,
            kind,
            &media_id,
            Some(&content),
            att.file_name.as_deref(),
            ctx.reply_to.as_deref(),
            Some(&callback),
        )
    } else {
        outbound::text(
            &ctx.recipient,
            &content,
            ctx.reply_to.as_deref(),
            Some(&callback),
        )
    };

    let job_id = job.id;
    let Some(slot) = wait_for_slot(state, &ctx.channel.phone_number_id, Some(job_id)).await? else {
        return give_back(state, job).await;
    };
    let sent = graph::send_message(
        &state.http,
        &state.config,
        &token,
        &ctx.channel.phone_number_id,
        &body,
    )
    .await;
    match sent {
        Ok(sent) if !sent.wamid.is_empty() => {
            let reaction = (attrs["is_reaction"] == Value::Bool(true))
                .then(|| attrs["in_reply_to"].as_i64())
                .flatten();
            let wamid = sent.wamid.clone();
            state
                .db(move |conn| {
                    conn.transaction(|conn| {
                        let now = Utc::now().timestamp();
                        messages::record_sent(conn, message_id, &wamid, now)?;
                        if let Some(target_id) = reaction {
                            if let Some(target) = messages::find(conn, target_id)? {
                                messages::apply(
                                    conn,
                                    target,
                                    &MessageUpdate::Reaction {
                                        emoji: Some(content.clone()).filter(|e| !e.is_empty()),
                                        source_id: Some(wamid.clone()),
                                        timestamp: now,
                                        sender_type: "User".into(),
                                    },
                                )?;
                            }
                        }
                        super::complete(conn, job_id)
                    })
                })
                .await?;
            crate::metrics::record_send(crate::metrics::SEND_SENT);
            tracing::info!(
                message_id,
                wamid = %sent.wamid,
                slot_ms = slot.timestamp_millis(),
                "message sent"
            );
            Ok(())
        }
        Ok(_) => {
            graph_failed(
                state,
                job,
                message,
                GraphError::Invalid("Graph accepted the message without returning a wamid".into()),
            )
            .await
        }
        Err(e) => graph_failed(state, job, message, e).await,
    }
}

async fn send_read_receipt(state: &AppState, job: &Job) -> AppResult<()> {
    let inbox_id = job.payload["mark_read"]["inbox_id"]
        .as_i64()
        .unwrap_or_default();
    let wamid = job.payload["mark_read"]["wamid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // A typing indicator (domain::typing) rides on the read receipt; Meta hides it after
    // 25 s, so one that waited longer is dropped unsent.
    let typing = job.payload["mark_read"]["typing_indicator"] == Value::Bool(true);
    if typing
        && Utc::now() - job.created_at
            > Duration::seconds(crate::domain::typing::STALE_AFTER_SECONDS)
    {
        let id = job.id;
        tracing::info!(inbox_id, "typing indicator dropped: it waited too long");
        return state.db(move |conn| super::complete(conn, id)).await;
    }
    let (_, channel) = state
        .db(move |conn| inboxes::find_by_id(conn, inbox_id))
        .await?;
    let token = channel.api_key(&state.secrets)?;
    if wait_for_slot(state, &channel.phone_number_id, None)
        .await?
        .is_none()
    {
        return give_back(state, job).await;
    }
    let body = if typing {
        outbound::typing_indicator(&wamid)
    } else {
        outbound::mark_read(&wamid)
    };
    let result = graph::send_message(
        &state.http,
        &state.config,
        &token,
        &channel.phone_number_id,
        &body,
    )
    .await;
    let job = job.clone();
    match result {
        Ok(_) => state.db(move |conn| super::complete(conn, job.id)).await,
        Err(e) => {
            if e.is_token_invalid() {
                let text = e.external_error();
                state
                    .db(move |conn| inboxes::mark_reauthorization_required(conn, inbox_id, &text))
                    .await?;
            }
            tracing::info!(inbox_id, error = %e.external_error(), "read receipt failed");
            let delay = super::backoff_ms(state.config.send_retry_base_ms, job.attempts + 1);
            let retry = e.is_transient();
            state
                .db(move |conn| {
                    super::fail_after(conn, &job, &e.external_error(), retry, delay, false)
                })
                .await
                .map(|_| ())
        }
    }
}

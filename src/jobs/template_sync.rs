//! Template sync: each inbox's message templates from Graph `GET /{waba_id}/message_templates`
//! into `message_templates`, when an inbox is created, on request, and every
//! `TEMPLATE_SYNC_INTERVAL_SECONDS` (3 hours by default).

use crate::app::AppState;
use crate::db::schema::inboxes as inboxes_table;
use crate::domain::inboxes;
use crate::domain::templates;
use crate::error::{AppError, AppResult};
use crate::whatsapp::graph::{self, GraphError};
use chrono::{Duration, Utc};
use diesel::prelude::*;

/// How often the loop looks for inboxes due a sync.
pub const CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Fetches every template of the inbox's WABA and stores them (replacing the old set).
/// Returns how many were stored. A Graph failure is recorded on the inbox
/// (`templates_sync_error`, and "reauthorization required" for #190) and returned.
pub async fn sync_inbox(state: &AppState, inbox_id: i64) -> Result<usize, SyncError> {
    let (inbox, channel) = state
        .db(move |conn| inboxes::find_by_id(conn, inbox_id))
        .await?;
    let token = channel.api_key(&state.secrets)?;
    match graph::list_templates(
        &state.http,
        &state.config,
        &token,
        &channel.business_account_id,
    )
    .await
    {
        Ok(items) => {
            let synced: Vec<templates::SyncedTemplate> =
                items.iter().filter_map(templates::from_graph).collect();
            let account_id = inbox.account_id;
            let next =
                Utc::now() + Duration::seconds(state.config.template_sync_interval_seconds as i64);
            let n = state
                .db(move |conn| {
                    let n =
                        templates::replace_all(conn, account_id, inbox_id, &synced, Utc::now())?;
                    inboxes::schedule_template_sync(conn, inbox_id, next)?;
                    inboxes::clear_reauthorization(conn, inbox_id)?;
                    Ok(n)
                })
                .await?;
            tracing::info!(inbox_id, templates = n, "message templates synced");
            Ok(n)
        }
        Err(e) => {
            let text = e.external_error();
            let reauth = e.is_token_invalid();
            let t2 = text.clone();
            state
                .db(move |conn| {
                    templates::record_sync_error(conn, inbox_id, &t2)?;
                    if reauth {
                        inboxes::mark_reauthorization_required(conn, inbox_id, &t2)?;
                    }
                    Ok(())
                })
                .await?;
            tracing::warn!(inbox_id, error = %text, "message template sync failed");
            Err(SyncError::Graph(e))
        }
    }
}

/// Why a sync failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    App(#[from] AppError),
}

/// Inboxes due a periodic sync (`templates_next_sync_at` passed or never set), claimed for
/// this process by moving `templates_next_sync_at` 10 minutes ahead, so another process skips
/// them and a failing inbox is retried every 10 minutes. A successful sync sets the next one
/// `interval_seconds` ahead.
fn claim_due(conn: &mut PgConnection) -> AppResult<Vec<i64>> {
    conn.transaction(|conn| {
        let now = Utc::now();
        let ids: Vec<i64> = inboxes_table::table
            .filter(
                inboxes_table::templates_next_sync_at
                    .is_null()
                    .or(inboxes_table::templates_next_sync_at.le(now)),
            )
            .order(inboxes_table::id)
            .limit(20)
            .for_update()
            .skip_locked()
            .select(inboxes_table::id)
            .load(conn)?;
        diesel::update(inboxes_table::table.filter(inboxes_table::id.eq_any(&ids)))
            .set(inboxes_table::templates_next_sync_at.eq(now + Duration::minutes(10)))
            .execute(conn)?;
        Ok(ids)
    })
}

/// Runs forever: every [`CHECK_INTERVAL`], syncs the inboxes that are due.
pub async fn run(state: AppState) {
    super::worker::every(
        state,
        "template sync",
        CHECK_INTERVAL,
        claim_due,
        |state, id| async move {
            let _ = sync_inbox(&state, id).await;
        },
    )
    .await
}

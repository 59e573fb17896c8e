//! Number health refresh: each inbox's `GET /{phone_number_id}?fields=…` into
//! `whatsapp_number_health`, on request (the inbox page's button) and every
//! `NUMBER_HEALTH_INTERVAL_SECONDS` (1 hour by default). Management webhooks update the same
//! row at once; this poll is the fallback Meta's override rules make necessary
//! (graph-api-notes.md §0.1). Safe with several processes: due inboxes are claimed with
//! `FOR UPDATE SKIP LOCKED` and moved ahead before Graph is called.

use crate::app::AppState;
use crate::db::schema::{inboxes as inboxes_table, whatsapp_number_health as h};
use crate::domain::{inboxes, number_health};
use crate::error::AppResult;
use crate::whatsapp::graph::{self, GraphError};
use chrono::{Duration, Utc};
use diesel::prelude::*;

/// How often the loop looks for inboxes due a refresh.
pub const CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Fetches the inbox's number health from Graph and stores it (a drop emails administrators
/// once, see `number_health::apply`). A Graph failure is recorded on the health
/// (`refresh_error`; #190 also flags "reauthorization required") and returned.
/// Errors: `Ok(Err(graph))` for a Graph failure, `Err` for a database failure.
pub async fn refresh_inbox(
    state: &AppState,
    inbox_id: i64,
) -> AppResult<Result<number_health::Health, GraphError>> {
    let (_, channel) = state
        .db(move |conn| inboxes::find_by_id(conn, inbox_id))
        .await?;
    let token = channel.api_key(&state.secrets)?;
    let next = Utc::now() + Duration::seconds(state.config.number_health_interval_seconds as i64);
    let answer =
        graph::phone_number_health(&state.http, &state.config, &token, &channel.phone_number_id)
            .await;
    match answer {
        Ok(answer) => {
            let health = state
                .db(move |conn| {
                    number_health::record_refresh(conn, inbox_id, Ok(&answer), next)?;
                    number_health::get(conn, inbox_id)
                })
                .await?;
            Ok(Ok(health))
        }
        Err(e) => {
            let text = e.external_error();
            let reauth = e.is_token_invalid();
            state
                .db(move |conn| {
                    number_health::record_refresh(conn, inbox_id, Err(&text), next)?;
                    if reauth {
                        inboxes::mark_reauthorization_required(conn, inbox_id, &text)?;
                    }
                    Ok(())
                })
                .await?;
            tracing::warn!(inbox_id, error = %e.external_error(), "number health refresh failed");
            Ok(Err(e))
        }
    }
}

/// Inboxes due a periodic refresh (no health row yet, or `next_refresh_at` passed), claimed
/// for this process by moving `next_refresh_at` 10 minutes ahead, so another process skips
/// them and a failing inbox is retried every 10 minutes.
pub fn claim_due(conn: &mut PgConnection) -> AppResult<Vec<i64>> {
    conn.transaction(|conn| {
        let missing: Vec<i64> = inboxes_table::table
            .left_join(h::table)
            .filter(h::inbox_id.is_null())
            .select(inboxes_table::id)
            .limit(100)
            .load(conn)?;
        for id in missing {
            diesel::insert_into(h::table)
                .values(h::inbox_id.eq(id))
                .on_conflict_do_nothing()
                .execute(conn)?;
        }
        let now = Utc::now();
        let ids: Vec<i64> = h::table
            .filter(h::next_refresh_at.is_null().or(h::next_refresh_at.le(now)))
            .order(h::inbox_id)
            .limit(20)
            .for_update()
            .skip_locked()
            .select(h::inbox_id)
            .load(conn)?;
        diesel::update(h::table.filter(h::inbox_id.eq_any(&ids)))
            .set(h::next_refresh_at.eq(now + Duration::minutes(10)))
            .execute(conn)?;
        Ok(ids)
    })
}

/// Runs forever: every [`CHECK_INTERVAL`], refreshes the inboxes that are due.
pub async fn run(state: AppState) {
    super::worker::every(
        state,
        "number health",
        CHECK_INTERVAL,
        claim_due,
        |state, id| async move {
            let _ = refresh_inbox(&state, id).await;
        },
    )
    .await
}

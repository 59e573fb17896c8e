//! Realtime fan-out: the hub that turns PostgreSQL notifications into in-process broadcasts,
//! and the Server-Sent Events endpoint agents' browsers (and API clients) listen on.
//!
//! ```text
//! domain change ──(same transaction)──▶ realtime_events row + pg_notify('switchboard_events', id)
//!        every process: listener thread ──LISTEN──▶ Hub::deliver_ids ──broadcast──▶ SSE connections
//! ```
//!
//! Each process LISTENs with a connection of its own ([`spawn`]), loads the notified rows in
//! one query per batch and broadcasts them, so N processes sharing one database each deliver
//! every event to their own clients (DESIGN.md: "Realtime fans out through Postgres
//! LISTEN/NOTIFY").
//!
//! The hub loads exactly the ids it was notified of, not "every id above the last one seen":
//! ids are taken at insert time but become visible at commit, so a long transaction (an
//! ingest batch) can commit an id lower than one already delivered, and a high-water mark
//! would skip it.

use crate::app::AppState;
use crate::domain::accounts::{self, Viewer};
use crate::domain::events::{self, Event};
use crate::error::{AppError, AppResult};
use crate::jobs;
use crate::web::auth;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use diesel::PgConnection;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// Events the broadcast channel holds for its slowest subscriber; a connection that falls
/// further behind gets `Lagged` and replays from the table instead.
pub const BROADCAST_CAPACITY: usize = 1024;

/// Event ids the hub, and each connection, remember to drop duplicates (a catch-up after a
/// reconnect, a replay after a lag).
pub const REMEMBERED_IDS: usize = 10_000;

/// Most events replayed on connect from `Last-Event-ID`; a client further behind gets a
/// `resync` event instead and should reload what it shows.
pub const REPLAY_LIMIT: i64 = 1000;

/// Comment line sent when nothing else was, so proxies keep the connection open: 15 s.
pub const KEEPALIVE: Duration = Duration::from_secs(15);

/// How long a connection trusts its cached role and visible inboxes: 30 s.
pub const VISIBILITY_TTL: Duration = Duration::from_secs(30);

/// The reconnection delay sent to browsers (`retry:`), in milliseconds.
pub const RETRY_MS: u64 = 2000;

/// Encoded SSE messages waiting for a slow client before its connection stops reading the
/// broadcast (and so may lag and replay).
const OUTGOING_BUFFER: usize = 64;

/// A bounded set of recently handled event ids. `floor` is the id below which nothing is
/// remembered any more: the starting point, raised as old ids are forgotten.
#[derive(Debug, Clone)]
pub struct RecentIds {
    ids: BTreeSet<i64>,
    capacity: usize,
    floor: i64,
}

impl RecentIds {
    /// Remembers at most `capacity` ids, starting after `floor`.
    pub fn new(floor: i64, capacity: usize) -> Self {
        RecentIds {
            ids: BTreeSet::new(),
            capacity: capacity.max(1),
            floor,
        }
    }

    /// Records `id`; true when it was not remembered yet. Forgets the smallest id, raising
    /// the floor, past `capacity`.
    pub fn insert(&mut self, id: i64) -> bool {
        if !self.ids.insert(id) {
            return false;
        }
        while self.ids.len() > self.capacity {
            if let Some(oldest) = self.ids.pop_first() {
                self.floor = self.floor.max(oldest);
            }
        }
        true
    }

    /// True when `id` is remembered.
    pub fn contains(&self, id: i64) -> bool {
        self.ids.contains(&id)
    }

    /// Ids above this one are remembered when handled; replays and catch-ups read from here.
    pub fn floor(&self) -> i64 {
        self.floor
    }

    /// Forgets everything and starts again after `floor`.
    pub fn reset(&mut self, floor: i64) {
        self.ids.clear();
        self.floor = floor;
    }
}

#[derive(Debug)]
struct HubState {
    /// Ids already broadcast.
    delivered: RecentIds,
    /// False until the listener first connected (there is nothing to catch up then).
    started: bool,
}

/// The process's realtime hub: one broadcast channel of loaded events, fed by the listener
/// thread [`spawn`] starts. Held in `AppState::realtime`; cheap to share.
#[derive(Debug)]
pub struct Hub {
    sender: broadcast::Sender<Arc<Event>>,
    state: Mutex<HubState>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl Hub {
    /// A hub with a [`BROADCAST_CAPACITY`] channel and no subscriber.
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(BROADCAST_CAPACITY);
        Hub {
            sender,
            state: Mutex::new(HubState {
                delivered: RecentIds::new(0, REMEMBERED_IDS),
                started: false,
            }),
        }
    }

    /// A receiver of every event this hub broadcasts from now on, of every account (filter
    /// with [`Event::visible_to`]). Subscribe before reading a backlog so nothing falls in
    /// between.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }

    /// True once the listener has connected and LISTENs (its first catch-up ran): from then
    /// on every committed event reaches this hub. Tests wait for it.
    pub fn ready(&self) -> bool {
        self.state.lock().expect("hub state").started
    }

    /// Number of live subscribers (SSE connections and future consumers).
    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }

    /// Broadcasts `events` (in id order) that were not broadcast before; returns how many.
    pub fn publish(&self, mut events: Vec<Event>) -> usize {
        events.sort_by_key(|e| e.id);
        let mut state = self.state.lock().expect("hub state");
        let mut sent = 0;
        for e in events {
            if state.delivered.insert(e.id) {
                // No receiver is not an error: nobody is listening right now.
                let _ = self.sender.send(Arc::new(e));
                sent += 1;
            }
        }
        sent
    }

    /// Loads the events with these ids (what a batch of notifications names) in one query
    /// and broadcasts those not broadcast before; returns how many.
    pub fn deliver_ids(&self, conn: &mut PgConnection, ids: &[i64]) -> AppResult<usize> {
        let loaded = events::by_ids(conn, ids)?;
        Ok(self.publish(loaded))
    }

    /// Runs after each (re)connection of the listener. The first time it only notes where
    /// the table ends; later it broadcasts what was committed while the listener was away
    /// (events above the remembered floor that were not broadcast yet). Returns how many.
    pub fn catch_up(&self, conn: &mut PgConnection) -> AppResult<usize> {
        let (started, floor) = {
            let s = self.state.lock().expect("hub state");
            (s.started, s.delivered.floor())
        };
        if !started {
            let max = events::max_id(conn)?;
            let mut s = self.state.lock().expect("hub state");
            s.started = true;
            s.delivered.reset(max);
            return Ok(0);
        }
        let mut cursor = floor;
        let mut sent = 0;
        loop {
            let page = events::after(conn, cursor, 1000)?;
            let Some(last) = page.last().map(|e| e.id) else {
                break;
            };
            let full = page.len() == 1000;
            cursor = last;
            sent += self.publish(page);
            if !full {
                break;
            }
        }
        if sent > 0 {
            tracing::info!(
                events = sent,
                "realtime listener caught up after a reconnect"
            );
        }
        Ok(sent)
    }
}

/// Starts this process's realtime listener: a thread LISTENing on `switchboard_events` with
/// a connection of its own (not from the pool), handing each batch of notified ids to
/// `state.realtime` ([`Hub::deliver_ids`]) and catching up after reconnects. The thread ends
/// once the hub is dropped. `app::spawn_workers` calls it; tests that stream call it too.
pub fn spawn(state: &AppState) {
    let hub: Weak<Hub> = Arc::downgrade(&state.realtime);
    let database_url = state.config.database_url.clone();
    std::thread::Builder::new()
        .name("realtime-listener".into())
        .spawn(move || {
            let gone = || hub.strong_count() == 0;
            jobs::listen(
                &database_url,
                &[events::CHANNEL],
                gone,
                |conn| match hub.upgrade() {
                    Some(h) => h.catch_up(conn).map(|_| ()),
                    None => Ok(()),
                },
                |conn, notes| {
                    let Some(h) = hub.upgrade() else {
                        return Ok(());
                    };
                    let ids: Vec<i64> = notes
                        .iter()
                        .filter(|n| n.channel == events::CHANNEL)
                        .filter_map(|n| n.payload.trim().parse().ok())
                        .collect();
                    h.deliver_ids(conn, &ids).map(|_| ())
                },
            );
        })
        .expect("spawn the realtime listener thread");
}

/// Query of the events endpoint.
#[derive(Debug, Deserialize)]
pub struct StreamQuery {
    /// Replay events after this id (for clients that cannot send the `Last-Event-ID`
    /// header); the header wins when both are given.
    pub last_event_id: Option<i64>,
}

/// Encodes one SSE message: `id: <event id>`, `event: <name>`, `data: <Event::to_json>`.
pub fn sse_message(event: &Event) -> Bytes {
    Bytes::from(format!(
        "id: {}\nevent: {}\ndata: {}\n\n",
        event.id,
        event.name,
        event.to_json()
    ))
}

/// `GET /api/v1/accounts/{account_id}/events`: a `text/event-stream` of the account's
/// events in inboxes the caller may see (all for administrators, member inboxes for agents;
/// events without an inbox go to every member). `notification.*` events go only to the
/// connections of the user they name (`Event::recipient`).
///
/// The stream opens with `retry: 2000`; each event is `id: <id>`, `event: <name>`,
/// `data: {"event","id","account_id","inbox_id","conversation_id","created_at",…payload}`
/// (see `domain::events`); `: ping` comments come every 15 s. With `Last-Event-ID` (or
/// `?last_event_id=`), the events after that id are replayed first (at most 1000; further
/// behind, one `event: resync` tells the client to reload instead), then live ones follow
/// with no gap and no duplicate. A client too slow for the broadcast replays from the table
/// rather than losing events. Role and inbox membership are re-read every 30 s; a user
/// removed from the account has the stream closed.
///
/// Errors (before the stream starts): 401 without valid credentials, 404 when the user is
/// not a member of the account, 400 for a non-numeric `Last-Event-ID`.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/events",
    tag = "realtime",
    operation_id = "realtime_stream",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "Server-sent events: the account's domain events as the caller may see them", body = String, content_type = "text/event-stream"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn stream(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64,)>,
    query: web::Query<StreamQuery>,
) -> AppResult<HttpResponse> {
    let (account_id,) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let header = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let last_event_id = match header {
        Some(v) => Some(v.parse::<i64>().map_err(|_| {
            AppError::BadRequest(format!("Last-Event-ID must be an event id, not {v:?}"))
        })?),
        None => query.last_event_id,
    };
    // Subscribe before anything is read from the table: whatever commits from here on is
    // either in the backlog read below or arrives on this receiver (or both: deduplicated).
    let receiver = state.realtime.subscribe();
    let st = state.get_ref().clone();
    let v = viewer.clone();
    let (visible, start) = st
        .db(move |conn| {
            let visible = v.visible_inbox_ids(conn)?;
            let start = match last_event_id {
                Some(id) => id,
                None => events::max_id(conn)?,
            };
            Ok((visible, start))
        })
        .await?;
    let (tx, rx) = mpsc::channel::<Bytes>(OUTGOING_BUFFER);
    let connection = Connection {
        state: st,
        viewer,
        visible,
        seen: RecentIds::new(start, REMEMBERED_IDS),
        tx,
    };
    actix_web::rt::spawn(connection.run(receiver, last_event_id));
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|bytes| (Ok::<Bytes, std::convert::Infallible>(bytes), rx))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

/// Why a connection stops.
enum Stop {
    /// The client went away.
    Closed,
    /// The database failed, or the user left the account: the client reconnects and
    /// replays from its last id.
    Ended,
}

/// One SSE connection's state, owned by its task.
struct Connection {
    state: AppState,
    viewer: Viewer,
    /// Cached `Viewer::visible_inbox_ids`.
    visible: Option<Vec<i64>>,
    /// Ids of this account's events already handled (sent or filtered out).
    seen: RecentIds,
    tx: mpsc::Sender<Bytes>,
}

impl Connection {
    async fn run(mut self, mut receiver: broadcast::Receiver<Arc<Event>>, last: Option<i64>) {
        self.heartbeat().await;
        let result = self.serve(&mut receiver, last).await;
        // The last heartbeat: the agent goes offline the configured delay after this stream
        // closed, unless another opens (issue 13, `domain::availability`).
        self.heartbeat().await;
        if let Err(Stop::Ended) = result {
            tracing::debug!(
                user_id = self.viewer.user_id,
                "realtime stream ended by the server"
            );
        }
    }

    async fn serve(
        &mut self,
        receiver: &mut broadcast::Receiver<Arc<Event>>,
        last: Option<i64>,
    ) -> Result<(), Stop> {
        self.send(Bytes::from(format!("retry: {RETRY_MS}\n\n")))
            .await?;
        if let Some(after) = last {
            self.replay_on_connect(after).await?;
        }
        let mut keepalive =
            tokio::time::interval_at(tokio::time::Instant::now() + KEEPALIVE, KEEPALIVE);
        let mut refresh =
            tokio::time::interval_at(tokio::time::Instant::now() + VISIBILITY_TTL, VISIBILITY_TTL);
        let every = crate::domain::availability::heartbeat_interval(self.offline_after());
        let mut presence = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tokio::select! {
                _ = self.tx.closed() => return Err(Stop::Closed),
                _ = presence.tick() => self.heartbeat().await,
                _ = keepalive.tick() => self.send(Bytes::from_static(b": ping\n\n")).await?,
                _ = refresh.tick() => self.refresh_visibility().await?,
                received = receiver.recv() => match received {
                    Ok(event) => self.offer(&event).await?,
                    Err(broadcast::error::RecvError::Lagged(skipped)) => {
                        tracing::info!(user_id = self.viewer.user_id, skipped, "slow realtime client; replaying from the table");
                        self.replay_from(self.seen.floor()).await?;
                    }
                    Err(broadcast::error::RecvError::Closed) => return Err(Stop::Ended),
                },
            }
        }
    }

    /// `AUTO_OFFLINE_AFTER_SECONDS` as a duration.
    fn offline_after(&self) -> Duration {
        Duration::from_secs(self.state.config.auto_offline_after_seconds)
    }

    /// Records the viewer's presence (issue 13); a database failure is logged and the next
    /// heartbeat tries again.
    async fn heartbeat(&self) {
        let (account_id, user_id) = (self.viewer.account_id, self.viewer.user_id);
        let after = self.offline_after();
        let result = self
            .state
            .db(move |conn| {
                crate::domain::availability::heartbeat(conn, account_id, user_id, after)
            })
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "realtime stream could not record presence");
        }
    }

    async fn send(&self, bytes: Bytes) -> Result<(), Stop> {
        self.tx.send(bytes).await.map_err(|_| Stop::Closed)
    }

    /// Sends `event` if it is this account's, visible to the viewer, and not handled yet.
    async fn offer(&mut self, event: &Event) -> Result<(), Stop> {
        if event.account_id != self.viewer.account_id || !self.seen.insert(event.id) {
            return Ok(());
        }
        // A user's own events (the bell) go to that user's connections only.
        let for_viewer = event.recipient().is_none_or(|u| u == self.viewer.user_id);
        if for_viewer && event.visible_to(self.viewer.account_id, self.visible.as_deref()) {
            self.send(sse_message(event)).await?;
        }
        Ok(())
    }

    async fn load(&self, after: i64, limit: i64) -> Result<Vec<Event>, Stop> {
        let account_id = self.viewer.account_id;
        self.state
            .db(move |conn| events::since(conn, account_id, after, limit))
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "realtime replay could not read events");
                Stop::Ended
            })
    }

    /// The first replay: at most [`REPLAY_LIMIT`] events after `after`, or one `resync`
    /// event when more were missed.
    async fn replay_on_connect(&mut self, after: i64) -> Result<(), Stop> {
        let backlog = self.load(after, REPLAY_LIMIT + 1).await?;
        if backlog.len() as i64 > REPLAY_LIMIT {
            let account_id = self.viewer.account_id;
            let newest = self
                .state
                .db(|conn| events::max_id(conn))
                .await
                .map_err(|_| Stop::Ended)?;
            self.seen.reset(newest);
            let data = serde_json::json!({
                "event": "resync",
                "id": newest,
                "account_id": account_id,
                "reason": format!("more than {REPLAY_LIMIT} events were missed; reload the conversations shown"),
            });
            return self
                .send(Bytes::from(format!(
                    "id: {newest}\nevent: resync\ndata: {data}\n\n"
                )))
                .await;
        }
        for e in &backlog {
            self.offer(e).await?;
        }
        Ok(())
    }

    /// Sends every event after `after` not handled yet, page by page (after a lag).
    async fn replay_from(&mut self, after: i64) -> Result<(), Stop> {
        let mut cursor = after;
        loop {
            let page = self.load(cursor, REPLAY_LIMIT).await?;
            let full = page.len() as i64 == REPLAY_LIMIT;
            for e in &page {
                cursor = e.id;
                self.offer(e).await?;
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// Re-reads the viewer's role and visible inboxes; ends the stream when the user no
    /// longer belongs to the account.
    async fn refresh_visibility(&mut self) -> Result<(), Stop> {
        let (account_id, user_id) = (self.viewer.account_id, self.viewer.user_id);
        let fresh = self
            .state
            .db(move |conn| {
                let Some(role) = accounts::role_in(conn, account_id, user_id)? else {
                    return Ok(None);
                };
                let viewer = Viewer {
                    user_id,
                    account_id,
                    role,
                };
                let visible = viewer.visible_inbox_ids(conn)?;
                Ok(Some((viewer, visible)))
            })
            .await;
        match fresh {
            Ok(Some((viewer, visible))) => {
                self.viewer = viewer;
                self.visible = visible;
                Ok(())
            }
            Ok(None) => Err(Stop::Ended),
            // A passing database failure: keep the cached set, try again next time.
            Err(e) => {
                tracing::warn!(error = %e, "realtime stream could not refresh visibility");
                Ok(())
            }
        }
    }
}

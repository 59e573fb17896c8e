//! Group commit for the webhook journal.
//!
//! Under load, committing every webhook in a transaction of its own makes PostgreSQL flush
//! the WAL once per delivery. The webhook route instead hands each accepted body to this
//! writer and waits: the writer takes whatever has queued up (up to [`MAX_BATCH`] bodies),
//! inserts them in one statement and one commit, then answers every waiter. Each delivery is
//! still acknowledged only after its own row is committed (DESIGN.md invariant 1); a failed
//! commit answers every waiter of that batch with the error (503), and Meta retries.
//!
//! The commit carries no `NOTIFY` (see `ingest::journal_quietly`): once a batch is durable, an
//! announcer task tells the other processes' ingest workers with one `NOTIFY` of its own,
//! at most one per [`ANNOUNCE_EVERY`] however many batches committed meanwhile. This
//! process's workers are woken directly by the webhook route.

use crate::db::DbPool;
use crate::error::{AppError, AppResult};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, Mutex, Notify};

/// Most bodies committed together.
pub const MAX_BATCH: usize = 256;

/// Most body bytes committed together (a batch stops growing past this).
pub const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;

/// Bodies waiting for a writer before senders are slowed down.
pub const QUEUE_CAPACITY: usize = 4096;

/// Shortest time between two announcements to other processes (their listeners look every
/// `jobs::LISTEN_INTERVAL`, 25 ms, so this adds no wait they would notice).
pub const ANNOUNCE_EVERY: Duration = Duration::from_millis(10);

/// How long a peak of deliveries in flight is remembered by [`JournalWriter::recent_peak`].
pub const PEAK_WINDOW: Duration = Duration::from_millis(100);

struct Pending {
    inbox_id: i64,
    phone_number: String,
    raw_body: String,
    reply: oneshot::Sender<AppResult<i64>>,
}

/// Handle to the writer tasks. Cheap to clone.
#[derive(Clone)]
pub struct JournalWriter {
    queue: mpsc::Sender<Pending>,
    counts: Arc<Counts>,
}

/// Deliveries in flight, and the recent peak of that count.
struct Counts {
    in_flight: AtomicUsize,
    /// Highest `in_flight` since `peak_at`.
    peak: AtomicUsize,
    /// When the current peak window opened, in milliseconds since `epoch`.
    peak_at: AtomicU64,
    epoch: Instant,
}

impl Counts {
    fn new() -> Self {
        Counts {
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            peak_at: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    /// The peak of the current window (at least the count now).
    fn recent_peak(&self) -> usize {
        self.peak().max(self.in_flight.load(Ordering::Relaxed))
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// The peak of the current window, or 0 once the window is over.
    fn peak(&self) -> usize {
        let age = self
            .now_ms()
            .saturating_sub(self.peak_at.load(Ordering::Relaxed));
        if age > PEAK_WINDOW.as_millis() as u64 {
            0
        } else {
            self.peak.load(Ordering::Relaxed)
        }
    }
}

/// Counts a delivery as in flight until it is answered, or until its request is dropped.
struct InFlight(Arc<Counts>);

impl InFlight {
    fn new(counts: &Arc<Counts>) -> Self {
        let n = counts.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        // A new window opens when the last one is over; races between two requests only
        // lose a peak within one window.
        let now = counts.now_ms();
        if now.saturating_sub(counts.peak_at.load(Ordering::Relaxed))
            > PEAK_WINDOW.as_millis() as u64
        {
            counts.peak_at.store(now, Ordering::Relaxed);
            counts.peak.store(n, Ordering::Relaxed);
        } else {
            counts.peak.fetch_max(n, Ordering::Relaxed);
        }
        InFlight(counts.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl JournalWriter {
    /// Spawns `writers` tasks on the current tokio runtime. Several writers let one batch form
    /// while another commits.
    pub fn start(pool: DbPool, writers: usize) -> Self {
        let (queue, receiver) = mpsc::channel::<Pending>(QUEUE_CAPACITY);
        let receiver = Arc::new(Mutex::new(receiver));
        let committed = Arc::new(Notify::new());
        tokio::spawn(announce_loop(pool.clone(), committed.clone()));
        for _ in 0..writers.max(1) {
            let receiver = receiver.clone();
            let pool = pool.clone();
            let committed = committed.clone();
            tokio::spawn(async move {
                loop {
                    let batch = {
                        let mut rx = receiver.lock().await;
                        let Some(first) = rx.recv().await else { return };
                        let mut bytes = first.raw_body.len();
                        let mut batch = vec![first];
                        while batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
                            match rx.try_recv() {
                                Ok(next) => {
                                    bytes += next.raw_body.len();
                                    batch.push(next);
                                }
                                Err(_) => break,
                            }
                        }
                        batch
                    };
                    if commit(&pool, batch).await {
                        committed.notify_one();
                    }
                }
            });
        }
        JournalWriter {
            queue,
            counts: Arc::new(Counts::new()),
        }
    }

    /// Deliveries handed to [`Self::append`] in this process and not yet answered: the
    /// webhook requests waiting for their commit. The ingest workers read it to give
    /// acknowledgements the machine during a flood (`jobs::ingest::AckPriority`).
    pub fn in_flight(&self) -> usize {
        self.counts.in_flight.load(Ordering::Relaxed)
    }

    /// The most deliveries in flight at once over the last [`PEAK_WINDOW`] (at least the
    /// count now). Steadier than [`Self::in_flight`], which drops to nearly 0 each time a
    /// batch commits and answers its waiters, even in the middle of a flood.
    pub fn recent_peak(&self) -> usize {
        self.counts.recent_peak()
    }

    /// Commits one raw body to the journal and returns its event id once it is durable.
    /// Errors: 503 when the database cannot take it.
    pub async fn append(
        &self,
        inbox_id: i64,
        phone_number: String,
        raw_body: String,
    ) -> AppResult<i64> {
        let _counted = InFlight::new(&self.counts);
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Pending {
                inbox_id,
                phone_number,
                raw_body,
                reply,
            })
            .await
            .map_err(|_| AppError::Internal("the journal writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| AppError::Internal("the journal writer dropped a delivery".into()))?
    }
}

/// Announces committed batches to other processes: one `NOTIFY` per wake-up, then a pause of
/// [`ANNOUNCE_EVERY`] so that batches committed meanwhile share the next one. A failed
/// announcement is only logged: other processes' workers poll anyway.
async fn announce_loop(pool: DbPool, committed: Arc<Notify>) {
    loop {
        committed.notified().await;
        let pool = pool.clone();
        let sent = actix_web::web::block(move || -> AppResult<()> {
            let mut conn = pool.get()?;
            super::ingest::announce(&mut conn)
        })
        .await
        .map_err(AppError::from)
        .and_then(|r| r);
        if let Err(e) = sent {
            tracing::warn!(error = %e, "could not announce new journal events");
        }
        tokio::time::sleep(ANNOUNCE_EVERY).await;
    }
}

/// Commits one batch and answers its waiters; true when it committed.
async fn commit(pool: &DbPool, batch: Vec<Pending>) -> bool {
    let (entries, replies): (Vec<_>, Vec<_>) = batch
        .into_iter()
        .map(|p| ((p.inbox_id, p.phone_number, p.raw_body), p.reply))
        .unzip();
    let pool = pool.clone();
    let result = actix_web::web::block(move || -> AppResult<Vec<i64>> {
        let mut conn = pool.get()?;
        super::ingest::journal_quietly(&mut conn, &entries)
    })
    .await
    .map_err(AppError::from)
    .and_then(|r| r);
    match result {
        Ok(ids) => {
            for (reply, id) in replies.into_iter().zip(ids) {
                let _ = reply.send(Ok(id));
            }
            true
        }
        Err(e) => {
            let (status_error, message) = match &e {
                AppError::DatabaseUnavailable(m) => (true, m.clone()),
                other => (false, other.to_string()),
            };
            tracing::error!(error = %message, deliveries = replies.len(), "journal commit failed");
            for reply in replies {
                let _ = reply.send(Err(if status_error {
                    AppError::DatabaseUnavailable(message.clone())
                } else {
                    AppError::Internal(message.clone())
                }));
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recent_peak_outlives_a_commit_and_fades_after_its_window() {
        let counts = Arc::new(Counts::new());
        assert_eq!(counts.recent_peak(), 0);
        let flood: Vec<InFlight> = (0..20).map(|_| InFlight::new(&counts)).collect();
        assert_eq!(counts.recent_peak(), 20);
        // A batch commits and answers everyone: the count drops, the peak stays.
        drop(flood);
        assert_eq!(counts.in_flight.load(Ordering::Relaxed), 0);
        assert_eq!(counts.recent_peak(), 20);
        std::thread::sleep(PEAK_WINDOW + Duration::from_millis(20));
        assert_eq!(counts.recent_peak(), 0, "a quiet window forgets the flood");
        let one = InFlight::new(&counts);
        assert_eq!(
            counts.recent_peak(),
            1,
            "a new window starts from the count now"
        );
        drop(one);
    }
}

//! Group commit for the webhook journal.
//!
//! Under load, committing every webhook in a transaction of its own makes PostgreSQL flush
//! the WAL once per delivery. The webhook route instead hands each accepted body to this
//! writer and waits: the writer takes whatever has queued up (up to [`MAX_BATCH`] bodies),
//! inserts them in one statement and one commit, then answers every waiter. Each delivery is
//! still acknowledged only after its own row is committed (DESIGN.md invariant 1); a failed
//! commit answers every waiter of that batch with the error (503), and Meta retries.

use crate::db::DbPool;
use crate::error::{AppError, AppResult};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Mutex};

/// Most bodies committed together.
pub const MAX_BATCH: usize = 256;

/// Most body bytes committed together (a batch stops growing past this).
pub const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;

/// Bodies waiting for a writer before senders are slowed down.
pub const QUEUE_CAPACITY: usize = 4096;

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
    in_flight: Arc<AtomicUsize>,
}

/// Counts a delivery as in flight until it is answered, or until its request is dropped.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn new(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        InFlight(counter.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl JournalWriter {
    /// Spawns `writers` tasks on the current tokio runtime. Several writers let one batch form
    /// while another commits.
    pub fn start(pool: DbPool, writers: usize) -> Self {
        let (queue, receiver) = mpsc::channel::<Pending>(QUEUE_CAPACITY);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..writers.max(1) {
            let receiver = receiver.clone();
            let pool = pool.clone();
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
                    commit(&pool, batch).await;
                }
            });
        }
        JournalWriter {
            queue,
            in_flight: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Deliveries handed to [`Self::append`] in this process and not yet answered: the
    /// webhook requests waiting for their commit. The ingest workers read it to give
    /// acknowledgements the machine during a flood (`jobs::ingest::AckPriority`).
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Commits one raw body to the journal and returns its event id once it is durable.
    /// Errors: 503 when the database cannot take it.
    pub async fn append(
        &self,
        inbox_id: i64,
        phone_number: String,
        raw_body: String,
    ) -> AppResult<i64> {
        let _counted = InFlight::new(&self.in_flight);
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

async fn commit(pool: &DbPool, batch: Vec<Pending>) {
    let (entries, replies): (Vec<_>, Vec<_>) = batch
        .into_iter()
        .map(|p| ((p.inbox_id, p.phone_number, p.raw_body), p.reply))
        .unzip();
    let pool = pool.clone();
    let result = actix_web::web::block(move || -> AppResult<Vec<i64>> {
        let mut conn = pool.get()?;
        super::ingest::journal_many(&mut conn, &entries)
    })
    .await
    .map_err(AppError::from)
    .and_then(|r| r);
    match result {
        Ok(ids) => {
            for (reply, id) in replies.into_iter().zip(ids) {
                let _ = reply.send(Ok(id));
            }
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
        }
    }
}

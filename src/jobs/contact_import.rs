//! The `contact_import` job: runs one contact CSV import ([`crate::domain::contact_csv`]) batch
//! by batch until it is done.
//!
//! The job is leased ([`super::claim`]) and the lease is renewed after every batch, so another
//! process takes it over only when this one stopped; each batch commits with its progress,
//! so the import resumes after the last committed batch and never imports a row twice. A
//! batch that fails (say, the database went away) is retried with backoff; after
//! [`MAX_ATTEMPTS`] the import is marked `failed` with the error.

use super::{complete, fail, postpone, worker, Job};
use crate::app::AppState;
use crate::domain::contact_csv::{self, BATCH_ROWS, JOB_KIND};
use crate::error::AppResult;

/// Attempts before an import is marked `failed`.
pub const MAX_ATTEMPTS: i32 = 5;

/// Seconds a worker holds an import between batches (a batch takes well under a second).
pub const LEASE_SECONDS: i64 = 120;

/// First retry delay after a failed batch, in seconds (doubled per attempt).
pub const RETRY_BASE_SECONDS: u64 = 5;

/// Runs a claimed import job to the end (or until a batch fails). Returns the rows read.
pub async fn run_job(state: &AppState, job: Job) -> AppResult<usize> {
    let Some(import_id) = job.payload["import_id"].as_i64() else {
        let id = job.id;
        state.db(move |conn| complete(conn, id)).await?;
        return Ok(0);
    };
    let mut rows = 0usize;
    // The file is read once; every batch works on this copy (see `run_batch_with`).
    let data = match state
        .db(move |conn| contact_csv::load_file(conn, import_id))
        .await
    {
        Ok(Some(data)) => std::sync::Arc::new(data),
        Ok(None) => {
            let id = job.id;
            state.db(move |conn| complete(conn, id)).await?;
            return Ok(0);
        }
        Err(e) => {
            let message = e.to_string();
            let job = job.clone();
            state
                .db(move |conn| fail(conn, &job, &message, false, RETRY_BASE_SECONDS))
                .await?;
            return Ok(0);
        }
    };
    loop {
        let file = data.clone();
        let outcome = state
            .db(move |conn| contact_csv::run_batch_with(conn, import_id, &file, BATCH_ROWS))
            .await;
        match outcome {
            Ok(o) => {
                rows += o.rows;
                let job_id = job.id;
                if o.finished {
                    state.db(move |conn| complete(conn, job_id)).await?;
                    tracing::info!(import_id, rows, "contact import finished");
                    return Ok(rows);
                }
                state
                    .db(move |conn| {
                        postpone(
                            conn,
                            job_id,
                            chrono::Utc::now() + chrono::Duration::seconds(LEASE_SECONDS),
                        )
                    })
                    .await?;
            }
            Err(e) => {
                let message = e.to_string();
                let job = job.clone();
                let retry = state
                    .db(move |conn| {
                        let retry = fail(conn, &job, &message, false, RETRY_BASE_SECONDS)?;
                        if !retry {
                            contact_csv::mark_failed(conn, import_id, &message)?;
                        }
                        Ok(retry)
                    })
                    .await?;
                tracing::warn!(import_id, retry, error = %e, "contact import batch failed");
                return Ok(rows);
            }
        }
    }
}

/// Claims and runs the oldest due import. Returns false when none was due.
pub async fn run_next(state: &AppState) -> AppResult<bool> {
    worker::next_of(state, JOB_KIND, LEASE_SECONDS, |job| run_job(state, job)).await
}

/// The import worker: runs due imports one after another, polling every
/// [`super::POLL_INTERVAL`].
pub async fn run(state: AppState) {
    worker::poll("contact import", || run_next(&state)).await
}

//! Deletes idle shared rate-limit buckets ([`crate::domain::limits::prune`]) every
//! [`PRUNE_INTERVAL`], in batches of 1,000 until none is left. Safe with several processes
//! (`SKIP LOCKED`; deleting a full bucket changes nothing).

use crate::app::AppState;

/// How often idle buckets are pruned: every 10 minutes.
pub const PRUNE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(600);

/// Runs forever (until the process drains).
pub async fn run_prune(state: AppState) {
    loop {
        tokio::time::sleep(PRUNE_INTERVAL).await;
        if super::leases::draining() {
            return;
        }
        loop {
            match state.db(|conn| crate::domain::limits::prune(conn)).await {
                Ok(n) if n >= 1000 => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "could not prune rate-limit buckets");
                    break;
                }
            }
        }
    }
}

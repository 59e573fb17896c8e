//! Rate limits shared by every server process (issue 15): token buckets kept in PostgreSQL,
//! so two, three or ten nodes on one database hold one limit together.
//!
//! Choice: one row of `rate_buckets` per key, moved by ONE statement per check (an
//! `INSERT … ON CONFLICT DO UPDATE … RETURNING`). The row lock that statement takes
//! serialises concurrent callers of one key across processes; different keys never wait for
//! each other. The refill is lazy: `tokens = least(capacity, tokens + per_second × elapsed)`,
//! with `elapsed` read from the database clock (`clock_timestamp()`), so process clocks do not
//! matter. Two modes:
//!
//! - [`reserve`] (sends, key `send:{phone_number_id}`): always takes a token and may leave
//!   the bucket in debt (negative tokens); the caller waits `-tokens / per_second` seconds
//!   before it calls Graph. Reservations are handed out in lock order, so N nodes together
//!   never exceed `capacity + per_second × t` sends in any `t` seconds, and a sender never
//!   retries a refused check in a loop. Meta: 80 messages/s per number by default
//!   (`SEND_RATE_PER_SECOND`), burst [`send_capacity`] (an eighth of the rate).
//! - [`try_take`] (sign-in attempts, keys `sign_in_ip:{ip}` and `sign_in_email:{email}`):
//!   takes a token only when one is there; a refused key is left untouched.
//!
//! Idle buckets (full again) are deleted by [`prune`] in small batches; a deleted bucket
//! comes back full, which is exactly what it would have been.
//!
//! Other limits were already shared: the typing indicator throttle is a conditional upsert
//! (`domain::typing`), schedules claim their rows with `FOR UPDATE SKIP LOCKED` leases
//! (`jobs::claim_batch`, `jobs::worker::every`), and auto-assignment capacity is counted in
//! the database under an advisory lock (`domain::auto_assignment`).

use crate::error::AppResult;
use diesel::prelude::*;
use diesel::sql_types::{Array, Double, Text};

/// Sign-in attempts allowed per client IP per minute (burst and refill).
pub const SIGN_IN_PER_IP_PER_MINUTE: f64 = 20.0;
/// Sign-in attempts allowed per email per minute (burst and refill).
pub const SIGN_IN_PER_EMAIL_PER_MINUTE: f64 = 5.0;

/// The burst of a number's send bucket: an eighth of `rate_per_second` (at least 1), so no
/// one-second window carries more than `rate + rate / 8` sends (90 at Meta's default 80/s).
pub fn send_capacity(rate_per_second: u32) -> f64 {
    (rate_per_second / 8).max(1) as f64
}

/// The bucket key of a business number's sends.
pub fn send_key(phone_number_id: &str) -> String {
    format!("send:{phone_number_id}")
}

#[derive(QueryableByName)]
struct Tokens {
    #[diesel(sql_type = Double)]
    tokens: f64,
    #[diesel(sql_type = Double)]
    per_second: f64,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    updated_at: chrono::DateTime<chrono::Utc>,
}

/// A token taken by [`reserve`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reservation {
    /// How long the caller must wait before acting (zero when a token was there).
    pub wait: std::time::Duration,
    /// When the token is the caller's, by the database's clock: the reservation's time plus
    /// `wait`. The slots of one bucket, from any number of processes, keep its promise
    /// exactly: at most `capacity + per_second` in any one-second window.
    pub slot: chrono::DateTime<chrono::Utc>,
}

/// Takes one token from `key`'s bucket (created full with `capacity` tokens, refilled at
/// `per_second`), going into debt if needed, and returns how long the caller must wait before
/// acting and the slot that wait leads to. One statement; safe with any number of processes.
/// Errors: the database.
pub fn reserve(
    conn: &mut PgConnection,
    key: &str,
    capacity: f64,
    per_second: f64,
) -> AppResult<Reservation> {
    let row: Tokens = diesel::sql_query(
        "INSERT INTO rate_buckets AS b (key, capacity, per_second, tokens, updated_at) \
         VALUES ($1, $2, $3, $2 - 1, clock_timestamp()) \
         ON CONFLICT (key) DO UPDATE SET \
           capacity = EXCLUDED.capacity, per_second = EXCLUDED.per_second, \
           tokens = least(EXCLUDED.capacity, b.tokens + EXCLUDED.per_second * \
             greatest(0, extract(epoch FROM clock_timestamp() - b.updated_at)::float8)) - 1, \
           updated_at = greatest(b.updated_at, clock_timestamp()) \
         RETURNING b.tokens, b.per_second, b.updated_at",
    )
    .bind::<Text, _>(key)
    .bind::<Double, _>(capacity.max(1.0))
    .bind::<Double, _>(per_second.max(f64::MIN_POSITIVE))
    .get_result(conn)?;
    let wait =
        std::time::Duration::from_secs_f64(((-row.tokens).max(0.0) / row.per_second).min(3600.0));
    Ok(Reservation {
        wait,
        slot: row.updated_at + wait,
    })
}

/// One bucket to check with [`try_take`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub key: String,
    /// Most tokens held (the burst).
    pub capacity: f64,
    /// Tokens added per second.
    pub per_second: f64,
}

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = Text)]
    key: String,
}

/// Takes one token from each bucket that has one, in ONE statement, and returns for each
/// bucket (in order) whether it had one. A bucket without a token is left as it was.
/// Duplicate keys count once. Errors: the database.
pub fn try_take(conn: &mut PgConnection, buckets: &[Bucket]) -> AppResult<Vec<bool>> {
    let mut keys: Vec<String> = Vec::new();
    let mut caps: Vec<f64> = Vec::new();
    let mut rates: Vec<f64> = Vec::new();
    for b in buckets {
        if !keys.contains(&b.key) {
            keys.push(b.key.clone());
            caps.push(b.capacity.max(1.0));
            rates.push(b.per_second.max(f64::MIN_POSITIVE));
        }
    }
    let taken: Vec<Taken> = diesel::sql_query(
        "INSERT INTO rate_buckets AS b (key, capacity, per_second, tokens, updated_at) \
         SELECT k.key, k.capacity, k.per_second, k.capacity - 1, clock_timestamp() \
         FROM unnest($1::text[], $2::float8[], $3::float8[]) AS k(key, capacity, per_second) \
         ON CONFLICT (key) DO UPDATE SET \
           capacity = EXCLUDED.capacity, per_second = EXCLUDED.per_second, \
           tokens = least(EXCLUDED.capacity, b.tokens + EXCLUDED.per_second * \
             greatest(0, extract(epoch FROM clock_timestamp() - b.updated_at)::float8)) - 1, \
           updated_at = greatest(b.updated_at, clock_timestamp()) \
         WHERE least(EXCLUDED.capacity, b.tokens + EXCLUDED.per_second * \
             greatest(0, extract(epoch FROM clock_timestamp() - b.updated_at)::float8)) >= 1 \
         RETURNING b.key",
    )
    .bind::<Array<Text>, _>(&keys)
    .bind::<Array<Double>, _>(&caps)
    .bind::<Array<Double>, _>(&rates)
    .load(conn)?;
    Ok(buckets
        .iter()
        .map(|b| taken.iter().any(|t| t.key == b.key))
        .collect())
}

/// Counts one sign-in attempt from `ip` for `email` (trimmed, lowercased) on both buckets;
/// true when neither is over its limit ([`SIGN_IN_PER_IP_PER_MINUTE`],
/// [`SIGN_IN_PER_EMAIL_PER_MINUTE`]), as the in-memory throttle did, now across processes.
/// Errors: the database.
pub fn allow_sign_in(conn: &mut PgConnection, ip: &str, email: &str) -> AppResult<bool> {
    let per_minute = |key: String, n: f64| Bucket {
        key,
        capacity: n,
        per_second: n / 60.0,
    };
    let email = email.trim().to_lowercase();
    let ok = try_take(
        conn,
        &[
            per_minute(format!("sign_in_ip:{ip}"), SIGN_IN_PER_IP_PER_MINUTE),
            per_minute(
                format!("sign_in_email:{email}"),
                SIGN_IN_PER_EMAIL_PER_MINUTE,
            ),
        ],
    )?;
    Ok(ok.iter().all(|b| *b))
}

/// Deletes up to 1,000 buckets that are full again and untouched for 10 minutes. Returns
/// how many. Errors: the database.
pub fn prune(conn: &mut PgConnection) -> AppResult<usize> {
    Ok(diesel::sql_query(
        "DELETE FROM rate_buckets WHERE key IN ( \
           SELECT key FROM rate_buckets \
           WHERE updated_at < now() - interval '10 minutes' \
             AND tokens + per_second * extract(epoch FROM now() - updated_at)::float8 >= capacity \
           LIMIT 1000 FOR UPDATE SKIP LOCKED)",
    )
    .execute(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::TestDatabase;

    #[test]
    fn reservations_space_out_after_the_burst_and_sign_in_refuses_past_the_limit() {
        let db = TestDatabase::create();
        let mut conn = PgConnection::establish(&db.url).unwrap();
        // Capacity 2 at 10/s: two at once, then one slot every 100 ms. Each wait counts from
        // its own call, so a slot is the call's moment plus its wait, bracketed by the clock
        // around the call (on a loaded machine a call itself takes tens of milliseconds).
        let start = std::time::Instant::now();
        let mut slots = Vec::new();
        let mut db_slots = Vec::new();
        for _ in 0..5 {
            let before = start.elapsed().as_secs_f64();
            let r = reserve(&mut conn, "send:t", 2.0, 10.0).unwrap();
            let wait = r.wait.as_secs_f64();
            slots.push((before + wait, start.elapsed().as_secs_f64() + wait, wait));
            db_slots.push((r.slot, r.wait));
        }
        // By the database's clock the slots keep the bucket's promise exactly: no three
        // within 100 ms (capacity 2 at 10/s), and once in debt one every 100 ms (to a few
        // microseconds: the refill and the stored time read the clock separately).
        let micros =
            |i: usize, j: usize| (db_slots[i].0 - db_slots[j].0).num_microseconds().unwrap();
        for i in 2..5 {
            assert!(micros(i, i - 2) >= 99_950, "slot {i}: {db_slots:?}");
        }
        for i in 3..5 {
            if !db_slots[i - 1].1.is_zero() {
                assert!(
                    (micros(i, i - 1) - 100_000).abs() <= 50,
                    "slot {i}: {db_slots:?}"
                );
            }
        }
        assert_eq!(slots[0].2, 0.0);
        assert_eq!(slots[1].2, 0.0);
        // The third waits (unless its call came 100 ms after the first anyway).
        assert!(slots[2].2 > 0.0 || slots[2].0 >= 0.1, "{slots:?}");
        for i in 2..5 {
            // At least 100 ms after the previous slot, and no later than needed.
            let (earliest, latest, wait) = slots[i];
            let (prev_earliest, prev_latest) = (slots[i - 1].0, slots[i - 1].1);
            assert!(
                latest - prev_earliest >= 0.09 && (wait == 0.0 || earliest - prev_latest <= 0.11),
                "slot {i}: {slots:?}"
            );
        }
        let allowed = (0..7)
            .filter(|_| allow_sign_in(&mut conn, "10.0.0.1", " Ana@Example.com").unwrap())
            .count();
        assert_eq!(allowed, 5, "five attempts per email per minute");
        // Another email from the same IP still has its own five, the IP its 20.
        assert!(allow_sign_in(&mut conn, "10.0.0.1", "bob@example.com").unwrap());
        assert_eq!(prune(&mut conn).unwrap(), 0, "nothing idle yet");
    }
}

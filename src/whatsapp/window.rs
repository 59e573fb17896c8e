//! The 24-hour customer service window (Meta: messaging/customer-service-windows): free-form
//! messages may be sent for 24 hours after the customer's latest message. Measured from the
//! latest incoming message's timestamp (`conversations.last_incoming_at`); echoes do not count.

use chrono::{DateTime, Duration, Utc};

/// Length of the window.
pub const WINDOW: Duration = Duration::hours(24);

/// When the window closes, or `None` when the customer never wrote.
pub fn closes_at(last_incoming_at: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    last_incoming_at.map(|t| t + WINDOW)
}

/// True while a free-form reply is allowed at `now`.
pub fn is_open(last_incoming_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    closes_at(last_incoming_at).is_some_and(|c| now < c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_edges() {
        let now = Utc::now();
        assert!(!is_open(None, now));
        assert!(is_open(Some(now - Duration::hours(23)), now));
        assert!(!is_open(Some(now - Duration::hours(24)), now));
    }
}

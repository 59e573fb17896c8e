//! Fresh customer deliveries for trying an inbox without Meta: the body Meta would post for
//! one incoming text message, with a new wamid and the current timestamp (so it is neither
//! dropped as a duplicate nor outside the 24-hour customer service window).

use serde_json::{json, Value};

/// One customer writing to a business number.
#[derive(Debug, Clone)]
pub struct DemoCustomer {
    /// The customer's WhatsApp number as Meta sends it in `wa_id`/`from`: digits, no `+`.
    pub wa_id: String,
    /// The customer's profile name.
    pub name: String,
}

/// A `messages` webhook body (Meta: webhooks/payload-examples, text message) for
/// `phone_number_id` of WABA `waba_id` whose display number is `display_number` (E.164 with
/// or without `+`). `wamid` must be unique per inbox; `timestamp` is in seconds since the epoch.
pub fn text_delivery(
    waba_id: &str,
    phone_number_id: &str,
    display_number: &str,
    customer: &DemoCustomer,
    text: &str,
    wamid: &str,
    timestamp: i64,
) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": waba_id,
            "changes": [{
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {
                        "display_phone_number": display_number.trim_start_matches('+'),
                        "phone_number_id": phone_number_id
                    },
                    "contacts": [{"profile": {"name": customer.name}, "wa_id": customer.wa_id}],
                    "messages": [{
                        "id": wamid,
                        "timestamp": timestamp.to_string(),
                        "type": "text",
                        "from": customer.wa_id,
                        "text": {"body": text}
                    }]
                },
                "field": "messages"
            }]
        }]
    })
}

/// A wamid no real message has: `wamid.DEMO` + the time in milliseconds + 8 random hex digits.
pub fn fresh_wamid() -> String {
    use rand::Rng;
    format!(
        "wamid.DEMO{}{:08x}",
        super::graph::now_ms(),
        rand::thread_rng().gen::<u32>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_is_the_shape_ingest_reads() {
        let customer = DemoCustomer {
            wa_id: "16505551234".into(),
            name: "Sheena".into(),
        };
        let body = text_delivery("1", "2", "+15551234567", &customer, "hi", "wamid.X", 42);
        let env: crate::whatsapp::payload::Envelope = serde_json::from_value(body).unwrap();
        assert_eq!(env.entry.len(), 1);
        assert_ne!(fresh_wamid(), fresh_wamid());
    }
}

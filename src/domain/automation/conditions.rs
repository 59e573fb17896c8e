//! Automation conditions: Chatwoot's `{attribute_key, filter_operator, values,
//! query_operator, custom_attribute_type?}` rows, validated when a rule is saved and
//! evaluated against a conversation (with its contact and the message of the event).
//!
//! Attribute keys (Chatwoot's names where it has them):
//!
//! | `attribute_key` | operators | `values` |
//! |---|---|---|
//! | `inbox_id`, `assignee_id`, `team_id` | `equal_to`, `not_equal_to`, `is_present`, `is_not_present` | ids |
//! | `status` | `equal_to`, `not_equal_to` | `open`, `pending`, `resolved`, `snoozed` |
//! | `priority` | `equal_to`, `not_equal_to`, `is_present`, `is_not_present` | `low`…`urgent` |
//! | `labels` | `equal_to` (has any), `not_equal_to` (has none), `is_present`, `is_not_present` | labels |
//! | `message_type` | `equal_to`, `not_equal_to` | `incoming`, `outgoing` |
//! | `content` | `contains`, `does_not_contain`, `equal_to`, `not_equal_to`, `starts_with`, `matches` (ours: a regular expression, Rust `regex` syntax, case-insensitive) | texts |
//! | `name`, `email`, `phone_number` (the contact's) | `equal_to`, `not_equal_to`, `contains`, `does_not_contain`, `starts_with`, `is_present`, `is_not_present` | texts |
//! | any key with `custom_attribute_type` `contact_attribute` or `conversation_attribute` | the contact fields' operators plus `is_greater_than`, `is_less_than` | texts or numbers |
//! | `customer_service_window` (ours) | `equal_to` | `open` or `closed` |
//! | `business_hours` (ours) | `equal_to`, `not_equal_to` | `during` or `outside`: the business hours of the conversation's inbox, now (an inbox without business hours is always open) |
//!
//! Text comparisons ignore case. `content` is the event's message, or for events without
//! one the conversation's latest incoming message. Conditions combine as SQL would read
//! Chatwoot's `query_operator` chain: each row's `query_operator` (`and`/`or`, default `and`)
//! joins it to the next row, and `and` binds tighter than `or`.
//!

use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Most conditions in one rule.
pub const MAX_CONDITIONS: usize = 20;
/// Longest regular expression accepted by `matches`, in bytes.
pub const MAX_PATTERN_BYTES: usize = 500;

/// One validated condition (as stored in `automation_rules.conditions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    pub attribute_key: String,
    pub filter_operator: String,
    #[serde(default)]
    pub values: Vec<String>,
    /// `and` or `or`: how this row joins the next.
    #[serde(default = "and")]
    pub query_operator: String,
    /// `contact_attribute` or `conversation_attribute` for custom attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_attribute_type: Option<String>,
}

fn and() -> String {
    "and".into()
}

const ID_OPS: &[&str] = &["equal_to", "not_equal_to", "is_present", "is_not_present"];
const ENUM_OPS: &[&str] = &["equal_to", "not_equal_to"];
const TEXT_OPS: &[&str] = &[
    "equal_to",
    "not_equal_to",
    "contains",
    "does_not_contain",
    "starts_with",
    "is_present",
    "is_not_present",
];
const CONTENT_OPS: &[&str] = &[
    "contains",
    "does_not_contain",
    "equal_to",
    "not_equal_to",
    "starts_with",
    "matches",
];
const CUSTOM_OPS: &[&str] = &[
    "equal_to",
    "not_equal_to",
    "contains",
    "does_not_contain",
    "starts_with",
    "is_present",
    "is_not_present",
    "is_greater_than",
    "is_less_than",
];

/// The attribute keys the editor offers, with a label (custom attributes come on top).
pub const KEYS: &[(&str, &str)] = &[
    ("content", "Message content"),
    ("message_type", "Message type"),
    ("inbox_id", "Inbox"),
    ("status", "Status"),
    ("labels", "Label"),
    ("assignee_id", "Assignee"),
    ("team_id", "Team"),
    ("priority", "Priority"),
    ("name", "Contact name"),
    ("email", "Contact email"),
    ("phone_number", "Contact phone"),
    ("customer_service_window", "Customer service window"),
    ("business_hours", "Business hours"),
];

/// The operators `key` accepts (custom attributes: `custom` true).
pub fn operators(key: &str, custom: bool) -> Option<&'static [&'static str]> {
    if custom {
        return Some(CUSTOM_OPS);
    }
    Some(match key {
        "inbox_id" | "assignee_id" | "team_id" | "priority" | "labels" => ID_OPS,
        "status" | "message_type" | "customer_service_window" | "business_hours" => ENUM_OPS,
        "content" => CONTENT_OPS,
        "name" | "email" | "phone_number" => TEXT_OPS,
        _ => return None,
    })
}

/// A JSON value of `values` as text: strings as they are, numbers and booleans printed, an
/// object's `id` (Chatwoot's editor sends `{id, name}` objects).
fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Object(o) => o.get("id").and_then(value_text),
        _ => None,
    }
}

/// Validates the `conditions` array of a rule. Field names in errors are
/// `conditions[i].<field>`. Errors: 422 for a non-array, more than [`MAX_CONDITIONS`], an
/// unknown key or operator, missing or mistyped values, or an invalid regular expression.
pub fn parse(raw: &Value) -> AppResult<Vec<Condition>> {
    let items = match raw {
        Value::Null => return Ok(vec![]),
        Value::Array(a) => a,
        _ => {
            return Err(AppError::invalid(
                "conditions",
                "conditions must be an array of {attribute_key, filter_operator, values, query_operator}",
            ))
        }
    };
    if items.len() > MAX_CONDITIONS {
        return Err(AppError::invalid(
            "conditions",
            format!("at most {MAX_CONDITIONS} conditions per rule"),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_one(i, item))
        .collect()
}

fn parse_one(i: usize, item: &Value) -> AppResult<Condition> {
    let field = |f: &str| format!("conditions[{i}].{f}");
    let Some(obj) = item.as_object() else {
        return Err(AppError::invalid(
            &format!("conditions[{i}]"),
            "each condition must be an object",
        ));
    };
    let text = |obj: &Map<String, Value>, f: &str| -> AppResult<Option<String>> {
        match obj.get(f) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(_) => Err(AppError::invalid(
                &field(f),
                format!("{f} must be a string"),
            )),
        }
    };
    let key = text(obj, "attribute_key")?
        .filter(|k| !k.is_empty())
        .ok_or_else(|| AppError::invalid(&field("attribute_key"), "attribute_key is required"))?;
    if key.len() > 100 || key.contains('\0') {
        return Err(AppError::invalid(
            &field("attribute_key"),
            "attribute_key is too long",
        ));
    }
    let custom = match text(obj, "custom_attribute_type")?.as_deref() {
        None | Some("") => None,
        Some(t @ ("contact_attribute" | "conversation_attribute")) => Some(t.to_string()),
        Some(other) => {
            return Err(AppError::invalid(
                &field("custom_attribute_type"),
                format!("unknown custom_attribute_type {other:?}; use contact_attribute or conversation_attribute"),
            ))
        }
    };
    let ops = operators(&key, custom.is_some()).ok_or_else(|| {
        AppError::invalid(
            &field("attribute_key"),
            format!(
                "unknown attribute_key {key:?}; for a custom attribute give custom_attribute_type"
            ),
        )
    })?;
    let op = text(obj, "filter_operator")?.unwrap_or_default();
    if !ops.contains(&op.as_str()) {
        return Err(AppError::invalid(
            &field("filter_operator"),
            format!("{key} accepts filter_operator {}", ops.join(", ")),
        ));
    }
    let values: Vec<String> = match obj.get("values") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                value_text(v).ok_or_else(|| {
                    AppError::invalid(&field("values"), "values must hold strings or numbers")
                })
            })
            .collect::<AppResult<_>>()?,
        Some(v) => vec![value_text(v)
            .ok_or_else(|| AppError::invalid(&field("values"), "values must be an array"))?],
    };
    if values.len() > 100 || values.iter().any(|v| v.len() > 1000 || v.contains('\0')) {
        return Err(AppError::invalid(
            &field("values"),
            "at most 100 values of at most 1000 characters each",
        ));
    }
    let needs_values = !matches!(op.as_str(), "is_present" | "is_not_present");
    if needs_values && values.iter().all(|v| v.trim().is_empty()) {
        return Err(AppError::invalid(
            &field("values"),
            format!("{key} {op} needs at least one value"),
        ));
    }
    let bad = |msg: String| Err(AppError::invalid(&field("values"), msg));
    if custom.is_none() {
        match key.as_str() {
            "inbox_id" | "assignee_id" | "team_id" if needs_values => {
                if let Some(v) = values.iter().find(|v| v.parse::<i64>().is_err()) {
                    return bad(format!("{v:?} is not an id"));
                }
            }
            "status" => {
                if let Some(v) = values
                    .iter()
                    .find(|v| !crate::domain::conversations::STATUSES.contains(&v.as_str()))
                {
                    return bad(format!("unknown status {v:?}"));
                }
            }
            "priority" if needs_values => {
                if let Some(v) = values.iter().find(|v| {
                    !crate::domain::conversations::PRIORITIES.contains(&v.as_str())
                        && v.as_str() != "none"
                }) {
                    return bad(format!("unknown priority {v:?}"));
                }
            }
            "message_type" => {
                if let Some(v) = values
                    .iter()
                    .find(|v| !matches!(v.as_str(), "incoming" | "outgoing"))
                {
                    return bad(format!(
                        "unknown message_type {v:?}; use incoming or outgoing"
                    ));
                }
            }
            "business_hours" => {
                if let Some(v) = values
                    .iter()
                    .find(|v| !matches!(v.as_str(), "during" | "outside"))
                {
                    return bad(format!("{v:?}: use during or outside"));
                }
            }
            "customer_service_window" => {
                if let Some(v) = values
                    .iter()
                    .find(|v| !matches!(v.as_str(), "open" | "closed"))
                {
                    return bad(format!("{v:?}: use open or closed"));
                }
            }
            _ => {}
        }
    }
    if op == "matches" {
        for v in &values {
            if v.len() > MAX_PATTERN_BYTES {
                return bad(format!(
                    "a pattern may be at most {MAX_PATTERN_BYTES} bytes"
                ));
            }
            if let Err(e) = pattern(v) {
                return bad(format!("invalid regular expression {v:?}: {e}"));
            }
        }
    }
    let query_operator = match text(obj, "query_operator")?
        .map(|q| q.to_lowercase())
        .as_deref()
    {
        None | Some("") | Some("and") => "and".to_string(),
        Some("or") => "or".to_string(),
        Some(other) => {
            return Err(AppError::invalid(
                &field("query_operator"),
                format!("unknown query_operator {other:?}; use and or or"),
            ))
        }
    };
    Ok(Condition {
        attribute_key: key,
        filter_operator: op,
        values,
        query_operator,
        custom_attribute_type: custom,
    })
}

fn pattern(p: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(p)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
}

/// What conditions are evaluated against.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub inbox_id: i64,
    pub status: String,
    pub priority: Option<String>,
    pub labels: Vec<String>,
    pub assignee_id: Option<i64>,
    pub team_id: Option<i64>,
    /// The event's message (or the latest incoming one) text.
    pub content: Option<String>,
    /// `incoming` or `outgoing` for the event's message, `None` without one.
    pub message_type: Option<String>,
    pub contact_name: String,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub contact_attributes: Value,
    pub conversation_attributes: Value,
    pub last_incoming_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
    /// The conversation's inbox is open now (its business hours; always without them).
    pub business_hours_open: bool,
}

/// True when `conditions` hold for `facts` (no conditions: always true).
pub fn matches(conditions: &[Condition], facts: &Facts) -> bool {
    if conditions.is_empty() {
        return true;
    }
    // OR of AND-groups: a row's query_operator joins it to the next row.
    let mut any = false;
    let mut group = true;
    for (i, c) in conditions.iter().enumerate() {
        group = group && holds(c, facts);
        let last = i + 1 == conditions.len();
        if last || c.query_operator == "or" {
            any = any || group;
            group = true;
        }
    }
    any
}

fn lower(s: &str) -> String {
    s.to_lowercase()
}

fn text_op(op: &str, actual: Option<&str>, values: &[String]) -> bool {
    let actual = actual.map(str::trim).filter(|a| !a.is_empty());
    match op {
        "is_present" => actual.is_some(),
        "is_not_present" => actual.is_none(),
        _ => {
            let a = lower(actual.unwrap_or(""));
            let vals = values.iter().map(|v| lower(v.trim()));
            match op {
                "equal_to" => vals.into_iter().any(|v| a == v),
                "not_equal_to" => vals.into_iter().all(|v| a != v),
                "contains" => vals.into_iter().any(|v| !v.is_empty() && a.contains(&v)),
                "does_not_contain" => vals.into_iter().all(|v| v.is_empty() || !a.contains(&v)),
                "starts_with" => vals.into_iter().any(|v| !v.is_empty() && a.starts_with(&v)),
                "matches" => values
                    .iter()
                    .any(|p| pattern(p).is_ok_and(|re| re.is_match(actual.unwrap_or("")))),
                _ => false,
            }
        }
    }
}

fn id_op(op: &str, actual: Option<i64>, values: &[String]) -> bool {
    match op {
        "is_present" => actual.is_some(),
        "is_not_present" => actual.is_none(),
        "equal_to" => actual.is_some_and(|a| values.iter().any(|v| v.parse() == Ok(a))),
        "not_equal_to" => !actual.is_some_and(|a| values.iter().any(|v| v.parse() == Ok(a))),
        _ => false,
    }
}

fn attr_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// One condition.
pub fn holds(c: &Condition, f: &Facts) -> bool {
    let op = c.filter_operator.as_str();
    if let Some(kind) = &c.custom_attribute_type {
        let attrs = if kind == "contact_attribute" {
            &f.contact_attributes
        } else {
            &f.conversation_attributes
        };
        let actual = attrs.get(&c.attribute_key).and_then(attr_text);
        return match op {
            "is_greater_than" | "is_less_than" => {
                let a = actual.as_deref().and_then(|a| a.trim().parse::<f64>().ok());
                let v = c.values.first().and_then(|v| v.trim().parse::<f64>().ok());
                match (a, v) {
                    (Some(a), Some(v)) if op == "is_greater_than" => a > v,
                    (Some(a), Some(v)) => a < v,
                    // Dates (ISO 8601) compare as text.
                    _ => match (actual.as_deref(), c.values.first()) {
                        (Some(a), Some(v)) if op == "is_greater_than" => a > v.as_str(),
                        (Some(a), Some(v)) => a < v.as_str(),
                        _ => false,
                    },
                }
            }
            _ => text_op(op, actual.as_deref(), &c.values),
        };
    }
    match c.attribute_key.as_str() {
        "inbox_id" => id_op(op, Some(f.inbox_id), &c.values),
        "assignee_id" => id_op(op, f.assignee_id, &c.values),
        "team_id" => id_op(op, f.team_id, &c.values),
        "status" => {
            let eq = c.values.contains(&f.status);
            if op == "equal_to" {
                eq
            } else {
                !eq
            }
        }
        "priority" => {
            let p = f.priority.as_deref();
            match op {
                "is_present" => p.is_some(),
                "is_not_present" => p.is_none(),
                _ => {
                    let eq = c
                        .values
                        .iter()
                        .any(|v| Some(v.as_str()) == p.or(Some("none")));
                    if op == "equal_to" {
                        eq
                    } else {
                        !eq
                    }
                }
            }
        }
        "labels" => match op {
            "is_present" => !f.labels.is_empty(),
            "is_not_present" => f.labels.is_empty(),
            _ => {
                let any = c
                    .values
                    .iter()
                    .any(|v| f.labels.iter().any(|l| l.eq_ignore_ascii_case(v.trim())));
                if op == "equal_to" {
                    any
                } else {
                    !any
                }
            }
        },
        "message_type" => {
            let eq = f
                .message_type
                .as_ref()
                .is_some_and(|t| c.values.contains(t));
            if op == "equal_to" {
                eq
            } else {
                !eq
            }
        }
        "content" => text_op(op, f.content.as_deref(), &c.values),
        "name" => text_op(op, Some(&f.contact_name), &c.values),
        "email" => text_op(op, f.contact_email.as_deref(), &c.values),
        "phone_number" => text_op(op, f.contact_phone.as_deref(), &c.values),
        "business_hours" => {
            let want_during = c.values.iter().any(|v| v == "during");
            let want_outside = c.values.iter().any(|v| v == "outside");
            let eq =
                (f.business_hours_open && want_during) || (!f.business_hours_open && want_outside);
            if op == "equal_to" {
                eq
            } else {
                !eq
            }
        }
        "customer_service_window" => {
            let open = crate::whatsapp::window::is_open(f.last_incoming_at, f.now);
            let want_open = c.values.iter().any(|v| v == "open");
            let want_closed = c.values.iter().any(|v| v == "closed");
            let eq = (open && want_open) || (!open && want_closed);
            if op == "equal_to" {
                eq
            } else {
                !eq
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts() -> Facts {
        Facts {
            inbox_id: 7,
            status: "open".into(),
            priority: Some("high".into()),
            labels: vec!["billing".into(), "vip".into()],
            assignee_id: Some(3),
            team_id: None,
            content: Some("Hello, I want a REFUND for order 4521".into()),
            message_type: Some("incoming".into()),
            contact_name: "Sheena Nelson".into(),
            contact_email: Some("sheena@example.com".into()),
            contact_phone: Some("+16505551234".into()),
            contact_attributes: json!({"plan": "gold", "orders": 12}),
            conversation_attributes: json!({"order_id": "4521"}),
            last_incoming_at: Some(Utc::now()),
            now: Utc::now(),
            business_hours_open: true,
        }
    }

    fn c(key: &str, op: &str, values: &[&str]) -> Condition {
        parse(&json!([{"attribute_key": key, "filter_operator": op, "values": values}]))
            .unwrap()
            .remove(0)
    }

    fn custom(kind: &str, key: &str, op: &str, values: &[&str]) -> Condition {
        parse(
            &json!([{"attribute_key": key, "filter_operator": op, "values": values,
            "custom_attribute_type": kind}]),
        )
        .unwrap()
        .remove(0)
    }

    #[test]
    fn business_hours_during_and_outside() {
        let mut f = facts();
        let during = c("business_hours", "equal_to", &["during"]);
        let outside = c("business_hours", "equal_to", &["outside"]);
        let not_during = c("business_hours", "not_equal_to", &["during"]);
        assert!(holds(&during, &f) && !holds(&outside, &f) && !holds(&not_during, &f));
        f.business_hours_open = false;
        assert!(!holds(&during, &f) && holds(&outside, &f) && holds(&not_during, &f));
    }

    #[test]
    fn each_attribute_and_operator() {
        let f = facts();
        let yes = |c: Condition| assert!(holds(&c, &f), "{c:?} should hold");
        let no = |c: Condition| assert!(!holds(&c, &f), "{c:?} should not hold");
        yes(c("inbox_id", "equal_to", &["7"]));
        no(c("inbox_id", "not_equal_to", &["7"]));
        yes(c("status", "equal_to", &["open", "pending"]));
        no(c("status", "equal_to", &["resolved"]));
        yes(c("status", "not_equal_to", &["resolved"]));
        yes(c("content", "contains", &["refund"]));
        no(c("content", "does_not_contain", &["refund"]));
        yes(c("content", "starts_with", &["hello"]));
        yes(c("content", "matches", &[r"order \d{4}"]));
        no(c("content", "matches", &[r"^order"]));
        no(c("content", "equal_to", &["refund"]));
        yes(c("labels", "equal_to", &["vip"]));
        no(c("labels", "not_equal_to", &["vip"]));
        yes(c("labels", "is_present", &[]));
        yes(c("assignee_id", "equal_to", &["3"]));
        yes(c("assignee_id", "is_present", &[]));
        yes(c("team_id", "is_not_present", &[]));
        no(c("team_id", "equal_to", &["1"]));
        yes(c("priority", "equal_to", &["high"]));
        no(c("priority", "is_not_present", &[]));
        yes(c("message_type", "equal_to", &["incoming"]));
        yes(c("name", "contains", &["sheena"]));
        yes(c("email", "equal_to", &["SHEENA@example.com"]));
        yes(c("phone_number", "starts_with", &["+1650"]));
        yes(c("customer_service_window", "equal_to", &["open"]));
        yes(custom("contact_attribute", "plan", "equal_to", &["gold"]));
        yes(custom(
            "contact_attribute",
            "orders",
            "is_greater_than",
            &["10"],
        ));
        no(custom(
            "contact_attribute",
            "orders",
            "is_less_than",
            &["10"],
        ));
        no(custom("contact_attribute", "missing", "is_present", &[]));
        yes(custom(
            "conversation_attribute",
            "order_id",
            "equal_to",
            &["4521"],
        ));
        let mut closed = facts();
        closed.last_incoming_at = Some(Utc::now() - chrono::Duration::hours(25));
        assert!(holds(
            &c("customer_service_window", "equal_to", &["closed"]),
            &closed
        ));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let f = facts();
        // false AND true OR true → true
        let rows = parse(&json!([
            {"attribute_key": "status", "filter_operator": "equal_to", "values": ["resolved"], "query_operator": "and"},
            {"attribute_key": "labels", "filter_operator": "equal_to", "values": ["vip"], "query_operator": "or"},
            {"attribute_key": "inbox_id", "filter_operator": "equal_to", "values": ["7"]},
        ]))
        .unwrap();
        assert!(matches(&rows, &f));
        // true AND false → false
        let rows = parse(&json!([
            {"attribute_key": "status", "filter_operator": "equal_to", "values": ["open"], "query_operator": "AND"},
            {"attribute_key": "labels", "filter_operator": "equal_to", "values": ["none"]},
        ]))
        .unwrap();
        assert!(!matches(&rows, &f));
        assert!(matches(&[], &f));
    }

    #[test]
    fn invalid_conditions_name_their_field() {
        let err = |v: Value| match parse(&v) {
            Err(AppError::Unprocessable { field, .. }) => field.unwrap(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            err(json!([{"attribute_key": "nope", "filter_operator": "equal_to", "values": ["x"]}])),
            "conditions[0].attribute_key"
        );
        assert_eq!(
            err(
                json!([{"attribute_key": "status", "filter_operator": "contains", "values": ["x"]}])
            ),
            "conditions[0].filter_operator"
        );
        assert_eq!(
            err(
                json!([{"attribute_key": "status", "filter_operator": "equal_to", "values": ["gone"]}])
            ),
            "conditions[0].values"
        );
        assert_eq!(
            err(
                json!([{"attribute_key": "content", "filter_operator": "matches", "values": ["(unclosed"]}])
            ),
            "conditions[0].values"
        );
        assert_eq!(
            err(
                json!([{"attribute_key": "business_hours", "filter_operator": "equal_to", "values": ["open"]}])
            ),
            "conditions[0].values"
        );
        assert_eq!(err(json!("x")), "conditions");
    }
}

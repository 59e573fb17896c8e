//! Chatwoot's filter payload, read once for every filter that takes it (the conversation
//! filter [`super::conversation_filter`], saved views, and the contact filter
//! [`super::contact_filter`]): `{"payload":[{"attribute_key","filter_operator","values",
//! "query_operator"}…]}` or the bare array.
//!
//! What is shared, and the rules (Chatwoot's `FilterService` and its API docs):
//! - 1 to [`MAX_CONDITIONS`] conditions ([`payload_items`]); 422 naming `payload`.
//! - `filter_operator` is one of Chatwoot's names ([`Operator`]) and one the attribute
//!   accepts ([`operator_in`]); 422 naming `payload[i].filter_operator`.
//! - `query_operator` (`AND` or `OR`, case-insensitive; absent, null or blank is `AND`)
//!   joins a condition with the NEXT one ([`or_next_of`]); the chain reads with SQL's
//!   precedence (`a AND b OR c` is `(a AND b) OR c`, [`combine`]); 422 naming
//!   `payload[i].query_operator`.
//! - `values` is an array (a lone string, number or boolean is a list of one; absent or
//!   null is empty) of at most [`MAX_VALUES`] ([`raw_values_of`]); texts are strings,
//!   numbers or `{"id"|"name"|"title": …}` objects ([`texts_of`]); dates are `YYYY-MM-DD`
//!   (midnight UTC), RFC 3339 or unix seconds and `days_before` takes whole days 0 to 36500
//!   ([`time_values_of`]); 422 naming `payload[i].values`.
//!
//! What each attribute means, and its SQL, stays with its filter.

use crate::error::{AppError, AppResult};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::sql;
use diesel::expression::BoxableExpression;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable};
use serde_json::Value;

/// Most conditions in one filter.
pub const MAX_CONDITIONS: usize = 20;

/// Most values in one condition.
pub const MAX_VALUES: usize = 500;

/// A `filter_operator` (Chatwoot's names, see [`Operator::parse`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    EqualTo,
    NotEqualTo,
    Contains,
    DoesNotContain,
    IsPresent,
    IsNotPresent,
    IsGreaterThan,
    IsLessThan,
    DaysBefore,
}

impl Operator {
    /// The operator named `key` (`equal_to`, `not_equal_to`, `contains`,
    /// `does_not_contain`, `is_present`, `is_not_present`, `is_greater_than`,
    /// `is_less_than`, `days_before`), if any.
    pub fn parse(key: &str) -> Option<Operator> {
        Some(match key {
            "equal_to" => Operator::EqualTo,
            "not_equal_to" => Operator::NotEqualTo,
            "contains" => Operator::Contains,
            "does_not_contain" => Operator::DoesNotContain,
            "is_present" => Operator::IsPresent,
            "is_not_present" => Operator::IsNotPresent,
            "is_greater_than" => Operator::IsGreaterThan,
            "is_less_than" => Operator::IsLessThan,
            "days_before" => Operator::DaysBefore,
            _ => return None,
        })
    }

    /// `is_present` or `is_not_present`: the operators that take no values.
    pub fn takes_no_values(self) -> bool {
        matches!(self, Operator::IsPresent | Operator::IsNotPresent)
    }

    /// `not_equal_to` or `does_not_contain`.
    pub fn is_negative(self) -> bool {
        matches!(self, Operator::NotEqualTo | Operator::DoesNotContain)
    }
}

/// One condition of the payload as sent, before its filter reads the attribute.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// Its index in `payload` (the `i` of the error fields).
    pub index: usize,
    pub json: &'a Value,
    /// `attribute_key`, trimmed (empty when absent or not a string).
    pub key: &'a str,
    /// `filter_operator`, trimmed (empty when absent or not a string).
    pub op_key: &'a str,
}

impl<'a> Item<'a> {
    /// The `index`th condition `json`.
    pub fn new(index: usize, json: &'a Value) -> Item<'a> {
        let get = |k: &str| json.get(k).and_then(Value::as_str).map(str::trim);
        Item {
            index,
            json,
            key: get("attribute_key").unwrap_or(""),
            op_key: get("filter_operator").unwrap_or(""),
        }
    }

    /// The error field `payload[i].<name>`.
    pub fn field(&self, name: &str) -> String {
        format!("payload[{}].{name}", self.index)
    }

    /// A 422 naming `payload[i].values`.
    pub fn bad_values(&self, message: String) -> AppError {
        AppError::invalid(&self.field("values"), message)
    }
}

/// Validates each condition of `body` with `condition` (see [`payload_items`]).
pub fn parse_conditions<T>(
    body: &Value,
    mut condition: impl FnMut(Item<'_>) -> AppResult<T>,
) -> AppResult<Vec<T>> {
    payload_items(body)?
        .iter()
        .enumerate()
        .map(|(i, json)| condition(Item::new(i, json)))
        .collect()
}

/// The conditions of a filter body: `{"payload":[…]}` or the bare array, 1 to
/// [`MAX_CONDITIONS`] of them. Errors: 422 naming `payload`.
pub fn payload_items(body: &Value) -> AppResult<&Vec<Value>> {
    let items = match body {
        Value::Array(a) => a,
        Value::Object(o) => match o.get("payload") {
            Some(Value::Array(a)) => a,
            _ => {
                return Err(AppError::invalid(
                    "payload",
                    "payload is required: an array of conditions",
                ))
            }
        },
        _ => {
            return Err(AppError::invalid(
                "payload",
                "payload is required: an array of conditions",
            ))
        }
    };
    if items.is_empty() {
        return Err(AppError::invalid(
            "payload",
            "payload must hold at least one condition",
        ));
    }
    if items.len() > MAX_CONDITIONS {
        return Err(AppError::invalid(
            "payload",
            format!("payload may hold at most {MAX_CONDITIONS} conditions"),
        ));
    }
    Ok(items)
}

/// The `attribute_key`s of `body`'s conditions (the first [`MAX_CONDITIONS`]), trimmed;
/// none when the body has no payload array. For loading only the definitions a body needs.
pub fn attribute_keys(body: &Value) -> Vec<&str> {
    let items = match body {
        Value::Array(a) => Some(a),
        Value::Object(o) => o.get("payload").and_then(Value::as_array),
        _ => None,
    };
    items
        .map(|items| {
            items
                .iter()
                .take(MAX_CONDITIONS)
                .map(|i| {
                    i.get("attribute_key")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .trim()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The item's `filter_operator` if it is one of `allowed` (the attribute's operators).
/// Errors: 422 naming `payload[i].filter_operator`, listing `allowed`.
pub fn operator_in(item: &Item<'_>, allowed: &[&str]) -> AppResult<Operator> {
    Operator::parse(item.op_key)
        .filter(|_| allowed.contains(&item.op_key))
        .ok_or_else(|| {
            AppError::invalid(
                &item.field("filter_operator"),
                format!(
                    "filter_operator {:?} does not apply to {}; use {}",
                    item.op_key,
                    item.key,
                    allowed.join(", ")
                ),
            )
        })
}

/// Reads the item's `query_operator`: `true` for `OR`, `false` for `AND` (also when absent,
/// null or blank). Errors: 422 naming `payload[i].query_operator`.
pub fn or_next_of(item: &Item<'_>) -> AppResult<bool> {
    match item.json.get("query_operator") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("and") => Ok(false),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("or") => Ok(true),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(false),
        Some(other) => Err(AppError::invalid(
            &item.field("query_operator"),
            format!("query_operator must be AND or OR, not {other}"),
        )),
    }
}

/// Reads the item's `values` (an array; a lone string, number or boolean is a list of one;
/// absent or null is empty), at most [`MAX_VALUES`].
/// Errors: 422 naming `payload[i].values`.
pub fn raw_values_of(item: &Item<'_>) -> AppResult<Vec<Value>> {
    let raw: Vec<Value> = match item.json.get("values") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a.iter().take(MAX_VALUES + 1).cloned().collect(),
        Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => vec![v.clone()],
        Some(other) => {
            return Err(item.bad_values(format!("values must be an array, not {other}")));
        }
    };
    if raw.len() > MAX_VALUES {
        return Err(item.bad_values(format!("values may hold at most {MAX_VALUES} items")));
    }
    Ok(raw)
}

/// `raw` as texts (see [`text_of`]), for an operator that takes values: at least one, none
/// blank. Errors: 422 naming `payload[i].values`.
pub fn texts_of(item: &Item<'_>, raw: &[Value]) -> AppResult<Vec<String>> {
    if raw.is_empty() {
        return Err(item.bad_values(format!(
            "values must not be empty for {} {}",
            item.key, item.op_key
        )));
    }
    raw.iter()
        .map(|v| text_of(v).filter(|s| !s.is_empty()))
        .collect::<Option<Vec<String>>>()
        .ok_or_else(|| {
            item.bad_values(format!("values of {} must be strings or numbers", item.key))
        })
}

/// A date condition's value: a point in time, or `days_before`'s number of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeValue {
    Time(DateTime<Utc>),
    Days(i64),
}

/// The one value of a date condition (`is_greater_than`, `is_less_than`: a date;
/// `days_before`: whole days 0 to 36500). Errors: 422 naming `payload[i].values`.
pub fn time_values_of(item: &Item<'_>, operator: Operator, raw: &[Value]) -> AppResult<TimeValue> {
    let texts = texts_of(item, raw)?;
    if raw.len() != 1 {
        return Err(item.bad_values(format!(
            "{} {} takes exactly one value",
            item.key, item.op_key
        )));
    }
    if operator == Operator::DaysBefore {
        texts[0]
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=36_500).contains(n))
            .map(TimeValue::Days)
            .ok_or_else(|| {
                item.bad_values(format!(
                    "days_before takes a whole number of days (0 to 36500), not {:?}",
                    texts[0]
                ))
            })
    } else {
        time_of(&raw[0]).map(TimeValue::Time).ok_or_else(|| {
            item.bad_values(format!(
                "{} takes a date (YYYY-MM-DD, RFC 3339 or unix seconds), not {:?}",
                item.key, texts[0]
            ))
        })
    }
}

/// Reads a JSON value as text (strings, trimmed, and numbers; `{"id"|"name"|"title": …}`
/// objects as Chatwoot's UI sends them).
pub fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(o) => ["id", "name", "title"]
            .iter()
            .find_map(|k| o.get(*k))
            .and_then(text_of),
        _ => None,
    }
}

/// Reads a date value: `YYYY-MM-DD` (midnight UTC), RFC 3339, or unix seconds.
pub fn time_of(v: &Value) -> Option<DateTime<Utc>> {
    let s = text_of(v)?;
    if let Ok(d) = NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(&s) {
        return Some(t.with_timezone(&Utc));
    }
    s.parse::<i64>()
        .ok()
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
}

/// A boxed SQL predicate on any table (`QS`): what [`combine`] joins.
pub type AnyPredicate<QS> = Box<dyn BoxableExpression<QS, Pg, SqlType = Nullable<Bool>>>;

/// Joins predicates as Chatwoot reads a condition chain: each `(predicate, or_next)` joins
/// the next with AND unless `or_next`; the AND-groups are joined by OR (SQL precedence).
/// An empty list is TRUE.
pub fn combine<QS: 'static>(items: Vec<(AnyPredicate<QS>, bool)>) -> AnyPredicate<QS> {
    type P<QS> = AnyPredicate<QS>;
    let mut groups: Vec<P<QS>> = vec![];
    let mut current: Option<P<QS>> = None;
    for (p, or_next) in items {
        current = Some(match current {
            None => p,
            Some(acc) => Box::new(acc.and(p)),
        });
        if or_next {
            groups.extend(current.take());
        }
    }
    groups.extend(current);
    let mut out: Option<P<QS>> = None;
    for g in groups {
        out = Some(match out {
            None => g,
            Some(acc) => Box::new(acc.or(g)),
        });
    }
    out.unwrap_or_else(|| Box::new(sql::<Nullable<Bool>>("TRUE")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of(err: AppError) -> String {
        match err {
            AppError::Unprocessable { field: Some(f), .. } => f,
            other => panic!("not a 422 with a field: {other:?}"),
        }
    }

    #[test]
    fn the_payload_is_one_to_twenty_conditions_bare_or_wrapped() {
        let one = json!({"attribute_key": "name"});
        assert_eq!(payload_items(&json!([one])).unwrap().len(), 1);
        assert_eq!(payload_items(&json!({"payload": [one]})).unwrap().len(), 1);
        let many = json!({"payload": vec![one.clone(); MAX_CONDITIONS + 1]});
        for bad in [json!({}), json!("x"), json!({"payload": []}), many] {
            assert_eq!(field_of(payload_items(&bad).unwrap_err()), "payload");
        }
        assert_eq!(
            attribute_keys(&json!({"payload": [{"attribute_key": " plan "}, {}]})),
            vec!["plan", ""]
        );
    }

    #[test]
    fn query_operator_joins_the_next_condition() {
        let read = |q: Value| or_next_of(&Item::new(3, &json!({"query_operator": q})));
        assert!(read(json!("or")).unwrap());
        assert!(read(json!(" OR ")).unwrap());
        assert!(!read(json!("AND")).unwrap());
        assert!(!read(json!("")).unwrap());
        assert!(!read(Value::Null).unwrap());
        assert!(!or_next_of(&Item::new(0, &json!({}))).unwrap());
        assert_eq!(
            field_of(read(json!("XOR")).unwrap_err()),
            "payload[3].query_operator"
        );
        assert_eq!(
            field_of(read(json!(1)).unwrap_err()),
            "payload[3].query_operator"
        );
    }

    #[test]
    fn operators_are_chatwoots_names_and_the_attributes_own() {
        let item = json!({"attribute_key": "city", "filter_operator": " contains "});
        let item = Item::new(1, &item);
        assert_eq!(item.key, "city");
        assert_eq!(
            operator_in(&item, &["equal_to", "contains"]).unwrap(),
            Operator::Contains
        );
        let err = operator_in(&item, &["equal_to"]).unwrap_err();
        assert!(format!("{err:?}").contains("use equal_to"), "{err:?}");
        assert_eq!(field_of(err), "payload[1].filter_operator");
        assert_eq!(Operator::parse("nope"), None);
        assert!(Operator::IsNotPresent.takes_no_values());
        assert!(Operator::DoesNotContain.is_negative());
    }

    #[test]
    fn values_are_a_list_of_texts_within_bounds() {
        let read = |v: Value| {
            let j = json!({"attribute_key": "k", "filter_operator": "equal_to", "values": v});
            let item = Item::new(0, &j);
            raw_values_of(&item).and_then(|raw| texts_of(&item, &raw))
        };
        assert_eq!(read(json!("a")).unwrap(), vec!["a"]);
        assert_eq!(
            read(json!([" a ", 2, {"id": 7}])).unwrap(),
            vec!["a", "2", "7"]
        );
        for bad in [
            json!({"x": 1}),
            json!([]),
            json!([""]),
            json!([null]),
            json!(true),
            json!(vec![1; MAX_VALUES + 1]),
        ] {
            assert_eq!(field_of(read(bad).unwrap_err()), "payload[0].values");
        }
    }

    #[test]
    fn dates_and_days_before() {
        let read = |op: Operator, v: Value| {
            let j = json!({"attribute_key": "created_at", "values": v});
            let item = Item::new(0, &j);
            time_values_of(&item, op, &raw_values_of(&item).unwrap())
        };
        let midnight = DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            read(Operator::IsLessThan, json!(["2026-03-01"])).unwrap(),
            TimeValue::Time(midnight)
        );
        assert_eq!(
            read(Operator::IsGreaterThan, json!([midnight.timestamp()])).unwrap(),
            TimeValue::Time(midnight)
        );
        assert_eq!(
            read(Operator::DaysBefore, json!("30")).unwrap(),
            TimeValue::Days(30)
        );
        for (op, bad) in [
            (Operator::DaysBefore, json!(["-1"])),
            (Operator::DaysBefore, json!([36_501])),
            (Operator::IsLessThan, json!(["soon"])),
            (Operator::IsLessThan, json!(["2026-03-01", "2026-03-02"])),
        ] {
            assert_eq!(field_of(read(op, bad).unwrap_err()), "payload[0].values");
        }
    }
}

//! The conversation filter of Chatwoot's `POST /api/v1/accounts/{id}/conversations/filter`
//! and of saved views (`custom_filters.query`): a validated list of conditions translated to
//! a parameterised SQL predicate on `conversations` (every value is a bind parameter; the
//! SQL text only ever holds the fixed fragments below).
//!
//! The body is `{"payload":[{"attribute_key","filter_operator","values","query_operator"}…]}`.
//! `query_operator` (`AND` or `OR`, case-insensitive) joins a condition with the NEXT one,
//! as in Chatwoot (the last one's is ignored; absent or null reads as `AND`), and the chain
//! is read with SQL's precedence, as Chatwoot's generated SQL is: `a AND b OR c` is
//! `(a AND b) OR c`.
//!
//! | `attribute_key` | operators | `values` |
//! |---|---|---|
//! | `status` | `equal_to`, `not_equal_to` | `open`, `pending`, `resolved`, `snoozed` (`all`: any) |
//! | `inbox_id`, `team_id`, `assignee_id`, `display_id` | `equal_to`, `not_equal_to` (+ `is_present`, `is_not_present` for team and assignee) | ids (numbers, digit strings, or `{"id": n}`) |
//! | `labels` | `equal_to`/`contains` (any of), `not_equal_to`/`does_not_contain` (none of), `is_present`, `is_not_present` | label names |
//! | `priority` | `equal_to`, `not_equal_to`, `is_present`, `is_not_present` | `urgent`, `high`, `medium`, `low`, `none` |
//! | `created_at`, `last_activity_at` | `is_greater_than`, `is_less_than` (one date `YYYY-MM-DD` = its midnight UTC, RFC 3339, or unix seconds), `days_before` (one whole number N: before now − N days) | |
//! | `customer_service_window` (ours) | `equal_to`, `not_equal_to` | `open` (the contact wrote in the last 24 hours, so a free-form reply may be sent) or `closed` |
//! | a conversation custom attribute's `attribute_key` (Chatwoot sends `custom_attribute_type` `conversation_attribute` with it) | by its type, see [`custom_attributes::operators_of`] | values of its type |
//!
//! Custom attribute keys are known only with the account's definitions: [`Filter::parse_for`]
//! loads them ([`Filter::parse`] knows the standard keys only).
//!
//! Anything else is a 422 naming `payload[i].attribute_key`, `payload[i].filter_operator`,
//! `payload[i].values` or `payload[i].query_operator`.

use super::custom_attributes::{self, CustomCondition, Definition, Model};
use crate::db::schema::conversations;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::sql;
use diesel::expression::BoxableExpression;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz};
use serde_json::Value;

/// Most conditions in one filter.
pub const MAX_CONDITIONS: usize = 20;

/// Most values in one condition.
pub const MAX_VALUES: usize = 500;

/// A filterable attribute (`attribute_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute {
    Status,
    InboxId,
    TeamId,
    AssigneeId,
    DisplayId,
    Labels,
    Priority,
    CreatedAt,
    LastActivityAt,
    /// Ours: whether the 24-hour customer service window is `open` or `closed`.
    CustomerServiceWindow,
    /// A conversation custom attribute (its key and type are in [`Values::Custom`]).
    Custom,
}

/// A `filter_operator`.
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

/// A condition's values, parsed for its attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    None,
    Texts(Vec<String>),
    Ids(Vec<i64>),
    Time(DateTime<Utc>),
    Days(i64),
    /// The condition of a custom attribute.
    Custom(CustomCondition),
}

/// One validated condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub attribute: Attribute,
    pub operator: Operator,
    pub values: Values,
    /// How this condition joins the next one: `true` for `OR`, `false` for `AND`.
    pub or_next: bool,
}

/// A validated filter: conditions in payload order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    pub conditions: Vec<Condition>,
}

/// A boxed SQL predicate on `conversations`.
pub type Predicate = Box<dyn BoxableExpression<conversations::table, Pg, SqlType = Nullable<Bool>>>;

fn attribute(key: &str) -> Option<Attribute> {
    Some(match key {
        "status" => Attribute::Status,
        "inbox_id" => Attribute::InboxId,
        "team_id" => Attribute::TeamId,
        "assignee_id" => Attribute::AssigneeId,
        "display_id" => Attribute::DisplayId,
        "labels" => Attribute::Labels,
        "priority" => Attribute::Priority,
        "created_at" => Attribute::CreatedAt,
        "last_activity_at" => Attribute::LastActivityAt,
        "customer_service_window" => Attribute::CustomerServiceWindow,
        _ => return None,
    })
}

fn operator(key: &str) -> Option<Operator> {
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

/// The operators `a` accepts.
fn operators_of(a: Attribute) -> &'static [&'static str] {
    use Attribute::*;
    match a {
        Status | InboxId | DisplayId | CustomerServiceWindow => &["equal_to", "not_equal_to"],
        TeamId | AssigneeId | Priority => {
            &["equal_to", "not_equal_to", "is_present", "is_not_present"]
        }
        Labels => &[
            "equal_to",
            "not_equal_to",
            "contains",
            "does_not_contain",
            "is_present",
            "is_not_present",
        ],
        CreatedAt | LastActivityAt => &["is_greater_than", "is_less_than", "days_before"],
        Custom => &[],
    }
}

/// Reads a JSON value as text (strings and numbers; `{"id"|"name"|"title": …}` objects as
/// Chatwoot's UI sends them).
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

impl Filter {
    /// Reads and validates a filter body: `{"payload":[…]}` or the bare array.
    /// Errors: 422 naming `payload` or `payload[i].<key>` (see the module documentation).
    pub fn parse(body: &Value) -> AppResult<Filter> {
        Filter::parse_with(body, &[])
    }

    /// [`Filter::parse`], also accepting the conversation custom attributes of `account_id`
    /// by key (their definitions are loaded only when a condition names a key that is not a
    /// standard one). Errors as [`Filter::parse`].
    pub fn parse_for(conn: &mut PgConnection, account_id: i64, body: &Value) -> AppResult<Filter> {
        let items = match body {
            Value::Array(a) => Some(a),
            Value::Object(o) => o.get("payload").and_then(Value::as_array),
            _ => None,
        };
        let needs = items.is_some_and(|items| {
            items.iter().take(MAX_CONDITIONS).any(|i| {
                let key = i.get("attribute_key").and_then(Value::as_str).unwrap_or("");
                attribute(key.trim()).is_none()
            })
        });
        let definitions = if needs {
            custom_attributes::list(conn, account_id, Some(Model::Conversation))?
        } else {
            vec![]
        };
        Filter::parse_with(body, &definitions)
    }

    /// [`Filter::parse`] with the account's conversation attribute `definitions`.
    pub fn parse_with(body: &Value, definitions: &[Definition]) -> AppResult<Filter> {
        let items = payload_items(body)?;
        let conditions = items
            .iter()
            .enumerate()
            .map(|(i, item)| Condition::parse_with(i, item, definitions))
            .collect::<AppResult<Vec<_>>>()?;
        Ok(Filter { conditions })
    }

    /// The SQL predicate: AND-groups (split at each `OR`) joined by OR. `now` anchors
    /// `days_before` and the customer service window.
    pub fn expression(&self, now: DateTime<Utc>) -> Predicate {
        combine(
            self.conditions
                .iter()
                .map(|c| (c.expression(now), c.or_next))
                .collect(),
        )
    }
}

impl Condition {
    /// Validates the `i`th condition. Errors: 422 naming `payload[i].<key>`.
    pub fn parse(i: usize, item: &Value) -> AppResult<Condition> {
        Condition::parse_with(i, item, &[])
    }

    /// [`Condition::parse`], also accepting the keys of `definitions` (conversation custom
    /// attributes). Errors: 422 naming `payload[i].<key>`.
    pub fn parse_with(i: usize, item: &Value, definitions: &[Definition]) -> AppResult<Condition> {
        let field = |k: &str| format!("payload[{i}].{k}");
        let get_str = |k: &str| item.get(k).and_then(Value::as_str).map(str::trim);
        let key = get_str("attribute_key").unwrap_or("");
        let op_key = get_str("filter_operator").unwrap_or("");
        let Some(attribute) = attribute(key) else {
            return Condition::parse_custom(i, item, key, op_key, definitions);
        };
        let allowed = operators_of(attribute);
        let operator = operator(op_key)
            .filter(|_| allowed.contains(&op_key))
            .ok_or_else(|| {
                AppError::invalid(
                    &field("filter_operator"),
                    format!(
                        "filter_operator {op_key:?} does not apply to {key}; use {}",
                        allowed.join(", ")
                    ),
                )
            })?;
        let or_next = match item.get("query_operator") {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("and") => false,
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("or") => true,
            Some(Value::String(s)) if s.trim().is_empty() => false,
            Some(other) => {
                return Err(AppError::invalid(
                    &field("query_operator"),
                    format!("query_operator must be AND or OR, not {other}"),
                ))
            }
        };
        let vfield = field("values");
        let raw: Vec<Value> = match item.get("values") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(a)) => a.clone(),
            Some(v @ (Value::String(_) | Value::Number(_))) => vec![v.clone()],
            Some(other) => {
                return Err(AppError::invalid(
                    &vfield,
                    format!("values must be an array, not {other}"),
                ))
            }
        };
        if raw.len() > MAX_VALUES {
            return Err(AppError::invalid(
                &vfield,
                format!("values may hold at most {MAX_VALUES} items"),
            ));
        }
        let bad = |msg: String| AppError::invalid(&vfield, msg);
        let values = if matches!(operator, Operator::IsPresent | Operator::IsNotPresent) {
            Values::None
        } else {
            if raw.is_empty() {
                return Err(bad(format!("values must not be empty for {key} {op_key}")));
            }
            let texts = raw
                .iter()
                .map(|v| text_of(v).filter(|s| !s.is_empty()))
                .collect::<Option<Vec<String>>>()
                .ok_or_else(|| bad(format!("values of {key} must be strings or numbers")))?;
            use Attribute::*;
            match attribute {
                Status => {
                    let mut out = vec![];
                    for t in texts {
                        let t = t.to_lowercase();
                        if t != "all" && !super::conversations::STATUSES.contains(&t.as_str()) {
                            return Err(bad(format!(
                                "unknown status {t:?}; use open, pending, resolved, snoozed or all"
                            )));
                        }
                        out.push(t);
                    }
                    Values::Texts(out)
                }
                Priority => {
                    let mut out = vec![];
                    for t in texts {
                        let t = t.to_lowercase();
                        if t != "none" && !super::conversations::PRIORITIES.contains(&t.as_str()) {
                            return Err(bad(format!(
                                "unknown priority {t:?}; use urgent, high, medium, low or none"
                            )));
                        }
                        out.push(t);
                    }
                    Values::Texts(out)
                }
                Labels => Values::Texts(
                    texts
                        .iter()
                        .map(|t| super::conversations::normalize_label(&vfield, t))
                        .collect::<AppResult<Vec<_>>>()?,
                ),
                InboxId | TeamId | AssigneeId | DisplayId => Values::Ids(
                    texts
                        .iter()
                        .map(|t| {
                            t.parse::<i64>()
                                .ok()
                                .filter(|n| *n > 0)
                                .ok_or_else(|| bad(format!("{key} values must be ids, not {t:?}")))
                        })
                        .collect::<AppResult<Vec<_>>>()?,
                ),
                CreatedAt | LastActivityAt => {
                    if raw.len() != 1 {
                        return Err(bad(format!("{key} {op_key} takes exactly one value")));
                    }
                    if operator == Operator::DaysBefore {
                        let n = texts[0]
                            .parse::<i64>()
                            .ok()
                            .filter(|n| (0..=36_500).contains(n))
                            .ok_or_else(|| {
                                bad(format!(
                                    "days_before takes a whole number of days (0 to 36500), not {:?}",
                                    texts[0]
                                ))
                            })?;
                        Values::Days(n)
                    } else {
                        Values::Time(time_of(&raw[0]).ok_or_else(|| {
                            bad(format!(
                                "{key} takes a date (YYYY-MM-DD, RFC 3339 or unix seconds), not {:?}",
                                texts[0]
                            ))
                        })?)
                    }
                }
                Custom => Values::None,
                CustomerServiceWindow => {
                    let t = texts[0].to_lowercase();
                    if texts.len() != 1 || (t != "open" && t != "closed") {
                        return Err(bad(
                            "customer_service_window takes one value: open or closed".into(),
                        ));
                    }
                    Values::Texts(vec![t])
                }
            }
        };
        Ok(Condition {
            attribute,
            operator,
            values,
            or_next,
        })
    }

    /// A condition on a conversation custom attribute `key` (see [`Condition::parse_with`]).
    fn parse_custom(
        i: usize,
        item: &Value,
        key: &str,
        op_key: &str,
        definitions: &[Definition],
    ) -> AppResult<Condition> {
        let field = format!("payload[{i}]");
        let raw: Vec<Value> = match item.get("values") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(a)) => a.iter().take(MAX_VALUES + 1).cloned().collect(),
            Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => vec![v.clone()],
            Some(other) => {
                return Err(AppError::invalid(
                    &format!("{field}.values"),
                    format!("values must be an array, not {other}"),
                ))
            }
        };
        if raw.len() > MAX_VALUES {
            return Err(AppError::invalid(
                &format!("{field}.values"),
                format!("values may hold at most {MAX_VALUES} items"),
            ));
        }
        let Some(custom) =
            custom_attributes::parse_condition(definitions, &field, key, op_key, &raw)?
        else {
            let shown: String = key.chars().take(64).collect();
            return Err(AppError::invalid(
                &format!("{field}.attribute_key"),
                format!(
                    "unknown attribute_key {shown:?}; use status, inbox_id, team_id, \
                     assignee_id, display_id, labels, priority, created_at, last_activity_at, \
                     customer_service_window or a conversation custom attribute's key"
                ),
            ));
        };
        let or_next = match item.get("query_operator") {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("or") => true,
            Some(Value::String(s))
                if s.trim().eq_ignore_ascii_case("and") || s.trim().is_empty() =>
            {
                false
            }
            Some(other) => {
                return Err(AppError::invalid(
                    &format!("{field}.query_operator"),
                    format!("query_operator must be AND or OR, not {other}"),
                ))
            }
        };
        Ok(Condition {
            attribute: Attribute::Custom,
            operator: operator(op_key).unwrap_or(Operator::EqualTo),
            values: Values::Custom(custom),
            or_next,
        })
    }

    /// This condition as a parameterised predicate (NULL-safe: a conversation without an
    /// assignee is "not equal to" any assignee).
    pub fn expression(&self, now: DateTime<Utc>) -> Predicate {
        use Attribute::*;
        use Operator::*;
        if let Values::Custom(c) = &self.values {
            return custom_attributes::predicate::<conversations::table>(
                "conversations.custom_attributes",
                c,
            );
        }
        let negate = matches!(self.operator, NotEqualTo | DoesNotContain);
        let not = if negate { "NOT " } else { "" };
        let column = match self.attribute {
            Status => "conversations.status",
            InboxId => "conversations.inbox_id",
            TeamId => "conversations.team_id",
            AssigneeId => "conversations.assignee_id",
            DisplayId => "conversations.display_id",
            Labels => "conversations.labels",
            Priority => "conversations.priority",
            CreatedAt => "conversations.created_at",
            LastActivityAt => "conversations.last_activity_at",
            CustomerServiceWindow => "conversations.last_incoming_at",
            Custom => "conversations.custom_attributes",
        };
        match (&self.values, self.operator) {
            (_, IsPresent) if self.attribute == Labels => Box::new(sql::<Nullable<Bool>>(
                "(cardinality(conversations.labels) > 0)",
            )),
            (_, IsNotPresent) if self.attribute == Labels => Box::new(sql::<Nullable<Bool>>(
                "(cardinality(conversations.labels) = 0)",
            )),
            (_, IsPresent) => Box::new(sql::<Nullable<Bool>>(&format!("({column} IS NOT NULL)"))),
            (_, IsNotPresent) => Box::new(sql::<Nullable<Bool>>(&format!("({column} IS NULL)"))),
            (Values::Texts(v), _) if self.attribute == Status => {
                if v.iter().any(|s| s == "all") {
                    return Box::new(sql::<Nullable<Bool>>(if negate { "FALSE" } else { "TRUE" }));
                }
                Box::new(
                    sql::<Nullable<Bool>>(&format!("({not}({column} = ANY("))
                        .bind::<Array<Text>, _>(v.clone())
                        .sql(")))"),
                )
            }
            (Values::Texts(v), _) if self.attribute == Labels => Box::new(
                sql::<Nullable<Bool>>(&format!("({not}({column} && "))
                    .bind::<Array<Text>, _>(v.clone())
                    .sql("))"),
            ),
            (Values::Texts(v), _) if self.attribute == Priority => {
                let none = v.iter().any(|p| p == "none");
                let named: Vec<String> = v.iter().filter(|p| *p != "none").cloned().collect();
                Box::new(
                    sql::<Nullable<Bool>>(&format!("({not}(COALESCE({column} = ANY("))
                        .bind::<Array<Text>, _>(named)
                        .sql("), FALSE) OR (")
                        .bind::<Bool, _>(none)
                        .sql(&format!(" AND {column} IS NULL)))")),
                )
            }
            (Values::Texts(v), _) => {
                // customer_service_window: open = the contact wrote within the window.
                let open = (v.first().map(String::as_str) == Some("open")) != negate;
                Box::new(
                    sql::<Nullable<Bool>>(&format!(
                        "({}COALESCE({column} > ",
                        if open { "" } else { "NOT " }
                    ))
                    .bind::<Timestamptz, _>(now - crate::whatsapp::window::WINDOW)
                    .sql(", FALSE))"),
                )
            }
            (Values::Ids(ids), _) => Box::new(
                sql::<Nullable<Bool>>(&format!("({not}COALESCE({column} = ANY("))
                    .bind::<Array<BigInt>, _>(ids.clone())
                    .sql("), FALSE))"),
            ),
            (Values::Time(t), IsGreaterThan) => Box::new(
                sql::<Nullable<Bool>>(&format!("({column} > "))
                    .bind::<Timestamptz, _>(*t)
                    .sql(")"),
            ),
            (Values::Time(t), _) => Box::new(
                sql::<Nullable<Bool>>(&format!("({column} < "))
                    .bind::<Timestamptz, _>(*t)
                    .sql(")"),
            ),
            (Values::Days(n), _) => Box::new(
                sql::<Nullable<Bool>>(&format!("({column} < "))
                    .bind::<Timestamptz, _>(now - chrono::Duration::days(*n))
                    .sql(")"),
            ),
            (Values::None | Values::Custom(_), _) => Box::new(sql::<Nullable<Bool>>("TRUE")),
        }
    }
}

// The machinery shared with other filters of the same payload shape (the contact filter,
// `super::contact_filter`).

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

/// Reads the `i`th condition's `query_operator`: `true` for `OR`, `false` for `AND` (also
/// when absent, null or blank). Errors: 422 naming `payload[i].query_operator`.
pub fn or_next_of(i: usize, item: &Value) -> AppResult<bool> {
    match item.get("query_operator") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("and") => Ok(false),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("or") => Ok(true),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(false),
        Some(other) => Err(AppError::invalid(
            &format!("payload[{i}].query_operator"),
            format!("query_operator must be AND or OR, not {other}"),
        )),
    }
}

/// Reads the `i`th condition's `values` (an array; a lone string or number is a list of
/// one; absent or null is empty), at most [`MAX_VALUES`].
/// Errors: 422 naming `payload[i].values`.
pub fn raw_values_of(i: usize, item: &Value) -> AppResult<Vec<Value>> {
    let field = format!("payload[{i}].values");
    let raw: Vec<Value> = match item.get("values") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a.clone(),
        Some(v @ (Value::String(_) | Value::Number(_))) => vec![v.clone()],
        Some(other) => {
            return Err(AppError::invalid(
                &field,
                format!("values must be an array, not {other}"),
            ))
        }
    };
    if raw.len() > MAX_VALUES {
        return Err(AppError::invalid(
            &field,
            format!("values may hold at most {MAX_VALUES} items"),
        ));
    }
    Ok(raw)
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

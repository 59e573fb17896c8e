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
//! | `sla_policy_id` (Chatwoot's conversation field) | `equal_to`, `not_equal_to`, `is_present`, `is_not_present` | SLA policy ids |
//! | `sla_status` (ours) | `equal_to`, `not_equal_to` | `active`, `active_with_misses` (breached, still open), `hit`, `missed` |
//! | `customer_service_window` (ours) | `equal_to`, `not_equal_to` | `open` (the contact wrote in the last 24 hours, so a free-form reply may be sent) or `closed` |
//! | a conversation custom attribute's `attribute_key` (Chatwoot sends `custom_attribute_type` `conversation_attribute` with it) | by its type, see [`custom_attributes::operators_of`] | values of its type |
//!
//! Custom attribute keys are known only with the account's definitions: [`Filter::parse_for`]
//! loads them ([`Filter::parse`] knows the standard keys only).
//!
//! The payload is read and validated by [`super::filter_payload`] (shared with the contact
//! filter): anything else is a 422 naming `payload[i].attribute_key`, `payload[i].filter_operator`,
//! `payload[i].values` or `payload[i].query_operator`.

use super::custom_attributes::{self, CustomCondition, Definition, Model};
use super::filter_payload::{
    attribute_keys, operator_in, or_next_of, parse_conditions, raw_values_of, texts_of,
    time_values_of, Item, TimeValue,
};
pub use super::filter_payload::{
    combine, payload_items, text_of, time_of, AnyPredicate, Operator, MAX_CONDITIONS, MAX_VALUES,
};
use crate::db::schema::conversations;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::expression::BoxableExpression;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz};
use serde_json::Value;

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
    /// The applied SLA policy (Chatwoot's `sla_policy_id`).
    SlaPolicyId,
    /// Ours: the applied SLA's `sla_status`.
    SlaStatus,
    /// A conversation custom attribute (its key and type are in [`Values::Custom`]).
    Custom,
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
        "sla_policy_id" => Attribute::SlaPolicyId,
        "sla_status" => Attribute::SlaStatus,
        _ => return None,
    })
}

/// The operators `a` accepts.
fn operators_of(a: Attribute) -> &'static [&'static str] {
    use Attribute::*;
    match a {
        Status | InboxId | DisplayId | CustomerServiceWindow | SlaStatus => {
            &["equal_to", "not_equal_to"]
        }
        TeamId | AssigneeId | Priority | SlaPolicyId => {
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
        let needs = attribute_keys(body)
            .into_iter()
            .any(|key| attribute(key).is_none());
        let definitions = if needs {
            custom_attributes::list(conn, account_id, Some(Model::Conversation))?
        } else {
            vec![]
        };
        Filter::parse_with(body, &definitions)
    }

    /// [`Filter::parse`] with the account's conversation attribute `definitions`.
    pub fn parse_with(body: &Value, definitions: &[Definition]) -> AppResult<Filter> {
        let conditions = parse_conditions(body, |item| Condition::parse_with(&item, definitions))?;
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
        Condition::parse_with(&Item::new(i, item), &[])
    }

    /// [`Condition::parse`], also accepting the keys of `definitions` (conversation custom
    /// attributes). Errors: 422 naming `payload[i].<key>`.
    pub fn parse_with(item: &Item<'_>, definitions: &[Definition]) -> AppResult<Condition> {
        let key = item.key;
        let Some(attribute) = attribute(key) else {
            return Condition::parse_custom(item, definitions);
        };
        let operator = operator_in(item, operators_of(attribute))?;
        let or_next = or_next_of(item)?;
        let raw = raw_values_of(item)?;
        let vfield = item.field("values");
        let bad = |msg: String| item.bad_values(msg);
        let values = if operator.takes_no_values() {
            Values::None
        } else if matches!(attribute, Attribute::CreatedAt | Attribute::LastActivityAt) {
            match time_values_of(item, operator, &raw)? {
                TimeValue::Time(t) => Values::Time(t),
                TimeValue::Days(n) => Values::Days(n),
            }
        } else {
            let texts = texts_of(item, &raw)?;
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
                SlaStatus => {
                    let mut out = vec![];
                    for t in texts {
                        let t = t.to_lowercase();
                        if !super::sla::STATUSES.contains(&t.as_str()) {
                            return Err(bad(format!(
                                "unknown sla_status {t:?}; use active, active_with_misses, hit \
                                 or missed"
                            )));
                        }
                        out.push(t);
                    }
                    Values::Texts(out)
                }
                InboxId | TeamId | AssigneeId | DisplayId | SlaPolicyId => Values::Ids(
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
                CreatedAt | LastActivityAt | Custom => Values::None,
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

    /// A condition on a conversation custom attribute (see [`Condition::parse_with`]).
    fn parse_custom(item: &Item<'_>, definitions: &[Definition]) -> AppResult<Condition> {
        let field = format!("payload[{}]", item.index);
        let raw = raw_values_of(item)?;
        let Some(custom) =
            custom_attributes::parse_condition(definitions, &field, item.key, item.op_key, &raw)?
        else {
            let shown: String = item.key.chars().take(64).collect();
            return Err(AppError::invalid(
                &item.field("attribute_key"),
                format!(
                    "unknown attribute_key {shown:?}; use status, inbox_id, team_id, \
                     assignee_id, display_id, labels, priority, created_at, last_activity_at, \
                     customer_service_window, sla_policy_id, sla_status or a conversation \
                     custom attribute's key"
                ),
            ));
        };
        Ok(Condition {
            attribute: Attribute::Custom,
            operator: Operator::parse(item.op_key).unwrap_or(Operator::EqualTo),
            values: Values::Custom(custom),
            or_next: or_next_of(item)?,
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
        let negate = self.operator.is_negative();
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
            SlaPolicyId => {
                "(SELECT a.sla_policy_id FROM applied_slas a \
                 WHERE a.conversation_id = conversations.id)"
            }
            SlaStatus => {
                "(SELECT a.sla_status FROM applied_slas a WHERE a.conversation_id = conversations.id)"
            }
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
            (Values::Texts(v), _) if self.attribute == SlaStatus => Box::new(
                sql::<Nullable<Bool>>(&format!("({not}COALESCE({column} = ANY("))
                    .bind::<Array<Text>, _>(v.clone())
                    .sql("), FALSE))"),
            ),
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

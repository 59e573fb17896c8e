//! The contact filter of Chatwoot's `POST /api/v1/accounts/{id}/contacts/filter`: the same
//! payload as the conversation filter (`{"payload":[{"attribute_key","filter_operator",
//! "values","query_operator"}…]}`, read and joined by the shared machinery of
//! [`super::conversation_filter`]), translated to a predicate on `contacts`. Values are
//! bind parameters; the SQL text holds fixed fragments and, for a custom attribute, its key,
//! which must be letters, digits and `_` (Chatwoot's attribute keys).
//!
//! | `attribute_key` | operators | `values` |
//! |---|---|---|
//! | `name`, `email`, `phone_number`, `identifier`, `bsuid`, `username`, `country_code`, `city`, `country`, `company_name` (the last four in `additional_attributes`) | `equal_to`, `not_equal_to` (any of, ignoring case), `contains`, `does_not_contain` (a substring, ignoring case), `is_present`, `is_not_present` | text |
//! | `created_at`, `last_activity_at` | `is_greater_than`, `is_less_than`, `days_before` | as the conversation filter |
//! | `labels` | `equal_to`/`contains` (any of), `not_equal_to`/`does_not_contain` (none of), `is_present`, `is_not_present` | label names |
//! | any other key: a custom attribute (`custom_attributes.<key>`) | the text operators, plus `is_greater_than`, `is_less_than` (numbers compare as numbers, anything else as text, e.g. `YYYY-MM-DD` dates) | text or numbers |
//!
//! Anything else is a 422 naming `payload[i].attribute_key`, `payload[i].filter_operator`,
//! `payload[i].values` or `payload[i].query_operator`.

use super::accounts::Viewer;
use super::contacts::Contact;
use super::conversation_filter::{
    combine, or_next_of, payload_items, raw_values_of, text_of, time_of, MAX_VALUES,
};
use crate::db::schema::{contact_inboxes, contacts};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::expression::BoxableExpression;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Double, Nullable, Text, Timestamptz};
use serde_json::Value;

/// A boxed SQL predicate on `contacts`.
pub type Predicate = Box<dyn BoxableExpression<contacts::table, Pg, SqlType = Nullable<Bool>>>;

/// Contacts per page of the filter's answer (Chatwoot's).
pub const PER_PAGE: i64 = 15;

/// What a condition looks at.
#[derive(Debug, Clone, PartialEq)]
pub enum Attribute {
    /// A text column of `contacts` (`name`, `email`, …).
    Column(&'static str),
    /// A key of `additional_attributes` (`country_code`, `city`, …).
    Additional(&'static str),
    /// `created_at` or `last_activity_at`.
    Time(&'static str),
    /// `labels`.
    Labels,
    /// A key of `custom_attributes`.
    Custom(String),
}

/// The filter operators (Chatwoot's names).
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

/// A condition's values, parsed for its attribute and operator.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    None,
    Texts(Vec<String>),
    Time(DateTime<Utc>),
    Days(i64),
    Number(f64),
}

/// One validated condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub attribute: Attribute,
    pub operator: Operator,
    pub values: Values,
    /// Joins the next condition with OR (else AND).
    pub or_next: bool,
}

/// A validated contact filter.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    pub conditions: Vec<Condition>,
}

fn attribute(key: &str) -> Option<Attribute> {
    Some(match key {
        "name" => Attribute::Column("name"),
        "email" => Attribute::Column("email"),
        "phone_number" => Attribute::Column("phone_number"),
        "identifier" => Attribute::Column("identifier"),
        "bsuid" => Attribute::Column("bsuid"),
        "username" => Attribute::Column("username"),
        "country_code" => Attribute::Additional("country_code"),
        "city" => Attribute::Additional("city"),
        "country" => Attribute::Additional("country"),
        "company_name" | "company" => Attribute::Additional("company_name"),
        "created_at" => Attribute::Time("created_at"),
        "last_activity_at" => Attribute::Time("last_activity_at"),
        "labels" => Attribute::Labels,
        k if !k.is_empty()
            && k.len() <= 64
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            Attribute::Custom(k.to_string())
        }
        _ => return None,
    })
}

const TEXT_OPS: &[&str] = &[
    "equal_to",
    "not_equal_to",
    "contains",
    "does_not_contain",
    "is_present",
    "is_not_present",
];

fn operators_of(a: &Attribute) -> &'static [&'static str] {
    match a {
        Attribute::Column(_) | Attribute::Additional(_) | Attribute::Labels => TEXT_OPS,
        Attribute::Time(_) => &["is_greater_than", "is_less_than", "days_before"],
        Attribute::Custom(_) => &[
            "equal_to",
            "not_equal_to",
            "contains",
            "does_not_contain",
            "is_present",
            "is_not_present",
            "is_greater_than",
            "is_less_than",
        ],
    }
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

impl Filter {
    /// Reads and validates a filter body. Errors: 422 naming `payload` or
    /// `payload[i].<key>` (see the module documentation).
    pub fn parse(body: &Value) -> AppResult<Filter> {
        let conditions = payload_items(body)?
            .iter()
            .enumerate()
            .map(|(i, item)| Condition::parse(i, item))
            .collect::<AppResult<Vec<_>>>()?;
        Ok(Filter { conditions })
    }

    /// The SQL predicate (AND binds tighter than OR, as in Chatwoot).
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
        let field = |k: &str| format!("payload[{i}].{k}");
        let get_str = |k: &str| item.get(k).and_then(Value::as_str).map(str::trim);
        let key = get_str("attribute_key").unwrap_or("");
        let attribute = attribute(key).ok_or_else(|| {
            AppError::invalid(
                &field("attribute_key"),
                format!(
                    "unknown attribute_key {key:?}; use name, email, phone_number, identifier, \
                     country_code, city, created_at, last_activity_at, labels or a custom \
                     attribute key (letters, digits and _)"
                ),
            )
        })?;
        let op_key = get_str("filter_operator").unwrap_or("");
        let allowed = operators_of(&attribute);
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
        let or_next = or_next_of(i, item)?;
        let raw = raw_values_of(i, item)?;
        let vfield = field("values");
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
            if texts.iter().any(|t| t.chars().count() > 255) {
                return Err(bad(format!(
                    "values of {key} may be at most 255 characters"
                )));
            }
            match (&attribute, operator) {
                (Attribute::Time(_), Operator::DaysBefore) => {
                    if raw.len() != 1 {
                        return Err(bad(format!("{key} {op_key} takes exactly one value")));
                    }
                    Values::Days(
                        texts[0]
                            .parse::<i64>()
                            .ok()
                            .filter(|n| (0..=36_500).contains(n))
                            .ok_or_else(|| {
                                bad(format!(
                                    "days_before takes a whole number of days (0 to 36500), not {:?}",
                                    texts[0]
                                ))
                            })?,
                    )
                }
                (Attribute::Time(_), _) => {
                    if raw.len() != 1 {
                        return Err(bad(format!("{key} {op_key} takes exactly one value")));
                    }
                    Values::Time(time_of(&raw[0]).ok_or_else(|| {
                        bad(format!(
                            "{key} takes a date (YYYY-MM-DD, RFC 3339 or unix seconds), not {:?}",
                            texts[0]
                        ))
                    })?)
                }
                (Attribute::Labels, _) => Values::Texts(
                    texts
                        .iter()
                        .map(|t| super::conversations::normalize_label(&vfield, t))
                        .collect::<AppResult<Vec<_>>>()?,
                ),
                (_, Operator::IsGreaterThan | Operator::IsLessThan) => {
                    if raw.len() != 1 {
                        return Err(bad(format!("{key} {op_key} takes exactly one value")));
                    }
                    match texts[0].parse::<f64>() {
                        Ok(n) if n.is_finite() => Values::Number(n),
                        _ => Values::Texts(texts),
                    }
                }
                _ => {
                    if texts.len() > MAX_VALUES {
                        return Err(bad(format!("values may hold at most {MAX_VALUES} items")));
                    }
                    Values::Texts(texts)
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

    /// This condition as a parameterised predicate, NULL-safe (a contact without an email
    /// is "not equal to" any email).
    pub fn expression(&self, now: DateTime<Utc>) -> Predicate {
        use Operator::*;
        let column = match &self.attribute {
            Attribute::Column(c) => format!("contacts.{c}"),
            Attribute::Additional(k) => format!("(contacts.additional_attributes->>'{k}')"),
            Attribute::Time(c) => format!("contacts.{c}"),
            Attribute::Labels => "contacts.labels".into(),
            // The key is letters, digits and _ only (checked by `attribute`).
            Attribute::Custom(k) => format!("(contacts.custom_attributes->>'{k}')"),
        };
        let negate = matches!(self.operator, NotEqualTo | DoesNotContain);
        let not = if negate { "NOT " } else { "" };
        if self.attribute == Attribute::Labels {
            return match (&self.values, self.operator) {
                (_, IsPresent) => {
                    Box::new(sql::<Nullable<Bool>>("(cardinality(contacts.labels) > 0)"))
                }
                (_, IsNotPresent) => {
                    Box::new(sql::<Nullable<Bool>>("(cardinality(contacts.labels) = 0)"))
                }
                // `labels <> '{}'` changes nothing but lets the planner use the partial
                // index `contacts_labels`.
                (Values::Texts(v), _) if !negate => Box::new(
                    sql::<Nullable<Bool>>("(contacts.labels <> '{}' AND contacts.labels && ")
                        .bind::<Array<Text>, _>(v.clone())
                        .sql(")"),
                ),
                (Values::Texts(v), _) => Box::new(
                    sql::<Nullable<Bool>>(&format!("({not}(contacts.labels && "))
                        .bind::<Array<Text>, _>(v.clone())
                        .sql("))"),
                ),
                _ => Box::new(sql::<Nullable<Bool>>("TRUE")),
            };
        }
        match (&self.values, self.operator) {
            (_, IsPresent) => Box::new(sql::<Nullable<Bool>>(&format!(
                "(COALESCE({column}, '') <> '')"
            ))),
            (_, IsNotPresent) => Box::new(sql::<Nullable<Bool>>(&format!(
                "(COALESCE({column}, '') = '')"
            ))),
            (Values::Texts(v), EqualTo | NotEqualTo) => {
                // The positive form without COALESCE can use `lower(email)`'s unique index.
                let (open, close) = if negate {
                    (
                        format!("(NOT COALESCE(lower({column}) = ANY("),
                        "), FALSE))",
                    )
                } else {
                    (format!("(lower({column}) = ANY("), "))")
                };
                Box::new(
                    sql::<Nullable<Bool>>(&open)
                        .bind::<Array<Text>, _>(
                            v.iter().map(|s| s.to_lowercase()).collect::<Vec<_>>(),
                        )
                        .sql(close),
                )
            }
            (Values::Texts(v), Contains | DoesNotContain) => {
                // One `ILIKE` per value, joined by OR (none of them, for does_not_contain):
                // each can use a trigram index (`ILIKE ANY` cannot).
                let mut out: Option<Predicate> = None;
                for s in v {
                    // NULL (no value) matches neither; only the negation needs COALESCE,
                    // and the positive form stays index-friendly.
                    // Names and emails compare folded (case and accents ignored), as the
                    // contact search does, on its trigram indexes.
                    let test = match &self.attribute {
                        Attribute::Column(c @ ("name" | "email")) => {
                            format!("switchboard_fold(contacts.{c}) LIKE switchboard_fold(")
                        }
                        _ => format!("{column} ILIKE ("),
                    };
                    let (open, close) = if negate {
                        (format!("(NOT COALESCE({test}"), "), FALSE))")
                    } else {
                        (format!("({test}"), "))")
                    };
                    let p: Predicate = Box::new(
                        sql::<Nullable<Bool>>(&open)
                            .bind::<Text, _>(format!("%{}%", like_escape(s)))
                            .sql(close),
                    );
                    out = Some(match out {
                        None => p,
                        Some(acc) if negate => Box::new(acc.and(p)),
                        Some(acc) => Box::new(acc.or(p)),
                    });
                }
                out.unwrap_or_else(|| Box::new(sql::<Nullable<Bool>>("TRUE")))
            }
            (Values::Texts(v), IsGreaterThan | IsLessThan) => {
                let op = if self.operator == IsGreaterThan {
                    ">"
                } else {
                    "<"
                };
                Box::new(
                    sql::<Nullable<Bool>>(&format!("COALESCE({column} {op} "))
                        .bind::<Text, _>(v[0].clone())
                        .sql(", FALSE)"),
                )
            }
            (Values::Number(n), _) => {
                let op = if self.operator == IsGreaterThan {
                    ">"
                } else {
                    "<"
                };
                let Attribute::Custom(k) = &self.attribute else {
                    return Box::new(sql::<Nullable<Bool>>("FALSE"));
                };
                Box::new(
                    sql::<Nullable<Bool>>(&format!(
                        "(CASE WHEN jsonb_typeof(contacts.custom_attributes->'{k}') = 'number' \
                         THEN (contacts.custom_attributes->>'{k}')::float8 {op} "
                    ))
                    .bind::<Double, _>(*n)
                    .sql(" ELSE FALSE END)"),
                )
            }
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
            _ => Box::new(sql::<Nullable<Bool>>("TRUE")),
        }
    }
}

/// Escapes `%`, `_` and `\` for a LIKE pattern.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// [`page`] counts matches exactly up to this many; beyond, it answers `COUNT_CAP + 1`
/// (the API reports `count: 10000` with `count_is_lower_bound: true`).
pub const COUNT_CAP: i64 = 10_000;

/// Up to this many matches, [`page`] sorts them instead of walking the id index.
pub const SORT_MATCHES_BELOW: i64 = COUNT_CAP;

/// A page of the account's contacts matching `filter` that `viewer` may see (agents: those
/// reachable in their inboxes), newest first (`id` descending), [`PER_PAGE`] a page.
/// Returns the page and the number of matching contacts, exact up to [`COUNT_CAP`] (more
/// answers `COUNT_CAP + 1`).
pub fn page(
    conn: &mut PgConnection,
    viewer: &Viewer,
    filter: &Filter,
    page: i64,
) -> AppResult<(Vec<Contact>, i64)> {
    let only = viewer.visible_inbox_ids(conn)?;
    let now = Utc::now();
    let build = || {
        let mut q = contacts::table
            .filter(contacts::account_id.eq(viewer.account_id))
            .filter(filter.expression(now))
            .into_boxed();
        if let Some(ids) = &only {
            q = q.filter(
                contacts::id.eq_any(
                    contact_inboxes::table
                        .filter(contact_inboxes::inbox_id.eq_any(ids.clone()))
                        .select(contact_inboxes::contact_id),
                ),
            );
        }
        q
    };
    // Count at most COUNT_CAP + 1 matches: an exact count of a broad filter (every contact
    // in a city) would read them all.
    let counted: Vec<i64> = build()
        .select(contacts::id)
        .limit(COUNT_CAP + 1)
        .load(conn)?;
    let total = counted.len() as i64;
    let offset = (page.clamp(1, 1_000_000) - 1) * PER_PAGE;
    if total <= COUNT_CAP && offset >= total {
        return Ok((vec![], total));
    }
    let q = build().select(Contact::as_select());
    // Few matches: sort them (found through the condition's own index) rather than walk the
    // id index backwards hoping to meet them: `id + 0` keeps the planner off that walk, which
    // it misjudges for a rare match (an email) and which would read every contact.
    let q = if total <= SORT_MATCHES_BELOW {
        q.order(sql::<diesel::sql_types::BigInt>("contacts.id + 0").desc())
    } else {
        q.order(contacts::id.desc())
    };
    let rows = q.limit(PER_PAGE).offset(offset).load(conn)?;
    Ok((rows, total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conditions_are_validated_with_the_field_named() {
        let ok = Filter::parse(&json!({"payload": [
            {"attribute_key": "name", "filter_operator": "contains", "values": ["ana"], "query_operator": "OR"},
            {"attribute_key": "plan", "filter_operator": "is_greater_than", "values": [3]},
        ]}))
        .unwrap();
        assert_eq!(ok.conditions[1].attribute, Attribute::Custom("plan".into()));
        assert_eq!(ok.conditions[1].values, Values::Number(3.0));
        assert!(ok.conditions[0].or_next);
        for (body, field) in [
            (
                json!({"payload": [{"attribute_key": "bad key!", "filter_operator": "equal_to", "values": ["x"]}]}),
                "payload[0].attribute_key",
            ),
            (
                json!({"payload": [{"attribute_key": "created_at", "filter_operator": "contains", "values": ["x"]}]}),
                "payload[0].filter_operator",
            ),
            (
                json!({"payload": [{"attribute_key": "created_at", "filter_operator": "is_less_than", "values": ["soon"]}]}),
                "payload[0].values",
            ),
            (json!({"payload": []}), "payload"),
        ] {
            let err = Filter::parse(&body).unwrap_err();
            assert!(
                matches!(&err, AppError::Unprocessable { field: Some(f), .. } if f == field),
                "{body}: {err:?}"
            );
        }
    }

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(like_escape("50%_a\\"), "50\\%\\_a\\\\");
    }
}

//! The contact filter of Chatwoot's `POST /api/v1/accounts/{id}/contacts/filter`: the same
//! payload as the conversation filter (`{"payload":[{"attribute_key","filter_operator",
//! "values","query_operator"}…]}`, read, validated and joined by [`super::filter_payload`]),
//! translated to a predicate on `contacts`. Values are
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
pub use super::filter_payload::Operator;
use super::filter_payload::{
    operator_in, or_next_of, parse_conditions, raw_values_of, texts_of, time_values_of, Item,
    TimeValue, MAX_VALUES,
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

impl Filter {
    /// Reads and validates a filter body. Errors: 422 naming `payload` or
    /// `payload[i].<key>` (see the module documentation).
    pub fn parse(body: &Value) -> AppResult<Filter> {
        let conditions = parse_conditions(body, |item| Condition::parse(&item))?;
        Ok(Filter { conditions })
    }

    /// The SQL predicate (AND binds tighter than OR, as in Chatwoot).
    pub fn expression(&self, now: DateTime<Utc>) -> Predicate {
        Box::new(self.sql(now, "contacts"))
    }

    /// The predicate as SQL text and binds on the contacts table (or alias) `t`: what
    /// [`Filter::expression`] runs, and what the Contacts screen adds to its own query
    /// (`domain::contact_list`). Conditions join as [`super::filter_payload::combine`]
    /// joins them: AND-groups split at each `OR`, joined by OR; no condition is TRUE.
    pub fn sql(&self, now: DateTime<Utc>, t: &str) -> SqlPredicate {
        let mut groups: Vec<Vec<SqlPredicate>> = vec![vec![]];
        for c in &self.conditions {
            groups.last_mut().unwrap().push(c.sql(now, t));
            if c.or_next {
                groups.push(vec![]);
            }
        }
        let groups: Vec<SqlPredicate> = groups
            .into_iter()
            .filter(|g| !g.is_empty())
            .map(|g| SqlPredicate::join(g, " AND "))
            .collect();
        SqlPredicate::join(groups, " OR ")
    }
}

impl Condition {
    /// Validates one condition. Errors: 422 naming `payload[i].<key>`.
    pub fn parse(item: &Item<'_>) -> AppResult<Condition> {
        let key = item.key;
        let attribute = attribute(key).ok_or_else(|| {
            AppError::invalid(
                &item.field("attribute_key"),
                format!(
                    "unknown attribute_key {key:?}; use name, email, phone_number, identifier, \
                     country_code, city, created_at, last_activity_at, labels or a custom \
                     attribute key (letters, digits and _)"
                ),
            )
        })?;
        let operator = operator_in(item, operators_of(&attribute))?;
        let or_next = or_next_of(item)?;
        let raw = raw_values_of(item)?;
        let vfield = item.field("values");
        let bad = |msg: String| item.bad_values(msg);
        let values = if operator.takes_no_values() {
            Values::None
        } else if let Attribute::Time(_) = attribute {
            match time_values_of(item, operator, &raw)? {
                TimeValue::Time(t) => Values::Time(t),
                TimeValue::Days(n) => Values::Days(n),
            }
        } else {
            let texts = texts_of(item, &raw)?;
            if texts.iter().any(|t| t.chars().count() > 255) {
                return Err(bad(format!(
                    "values of {key} may be at most 255 characters"
                )));
            }
            match (&attribute, operator) {
                (Attribute::Labels, _) => Values::Texts(
                    texts
                        .iter()
                        .map(|t| super::conversations::normalize_label(&vfield, t))
                        .collect::<AppResult<Vec<_>>>()?,
                ),
                (_, Operator::IsGreaterThan | Operator::IsLessThan) => {
                    if raw.len() != 1 {
                        return Err(bad(format!(
                            "{key} {} takes exactly one value",
                            item.op_key
                        )));
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

    /// This condition as a parameterised predicate on the contacts table (or alias) `t`,
    /// NULL-safe (a contact without an email is "not equal to" any email).
    pub fn sql(&self, now: DateTime<Utc>, t: &str) -> SqlPredicate {
        use Operator::*;
        let column = match &self.attribute {
            Attribute::Column(c) => format!("{t}.{c}"),
            Attribute::Additional(k) => format!("({t}.additional_attributes->>'{k}')"),
            Attribute::Time(c) => format!("{t}.{c}"),
            Attribute::Labels => format!("{t}.labels"),
            // The key is letters, digits and _ only (checked by `attribute`).
            Attribute::Custom(k) => format!("({t}.custom_attributes->>'{k}')"),
        };
        let negate = self.operator.is_negative();
        let not = if negate { "NOT " } else { "" };
        let p = SqlPredicate::text;
        if self.attribute == Attribute::Labels {
            return match (&self.values, self.operator) {
                (_, IsPresent) => p(&format!("(cardinality({t}.labels) > 0)")),
                (_, IsNotPresent) => p(&format!("(cardinality({t}.labels) = 0)")),
                // `labels <> '{}'` changes nothing but lets the planner use the partial
                // index `contacts_labels`.
                (Values::Texts(v), _) if !negate => {
                    p(&format!("({t}.labels <> '{{}}' AND {t}.labels && "))
                        .bind(Bound::Texts(v.clone()))
                        .then(")")
                }
                (Values::Texts(v), _) => p(&format!("({not}({t}.labels && "))
                    .bind(Bound::Texts(v.clone()))
                    .then("))"),
                _ => p("TRUE"),
            };
        }
        match (&self.values, self.operator) {
            (_, IsPresent) => p(&format!("(COALESCE({column}, '') <> '')")),
            (_, IsNotPresent) => p(&format!("(COALESCE({column}, '') = '')")),
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
                p(&open)
                    .bind(Bound::Texts(v.iter().map(|s| s.to_lowercase()).collect()))
                    .then(close)
            }
            (Values::Texts(v), Contains | DoesNotContain) => {
                // One `ILIKE` per value, joined by OR (none of them, for does_not_contain):
                // each can use a trigram index (`ILIKE ANY` cannot).
                let each = v
                    .iter()
                    .map(|s| {
                        // NULL (no value) matches neither; only the negation needs COALESCE,
                        // and the positive form stays index-friendly.
                        // Names and emails compare folded (case and accents ignored), as the
                        // contact search does, on its trigram indexes.
                        let test = match &self.attribute {
                            Attribute::Column(c @ ("name" | "email")) => {
                                format!("switchboard_fold({t}.{c}) LIKE switchboard_fold(")
                            }
                            _ => format!("{column} ILIKE ("),
                        };
                        let (open, close) = if negate {
                            (format!("(NOT COALESCE({test}"), "), FALSE))")
                        } else {
                            (format!("({test}"), "))")
                        };
                        p(&open)
                            .bind(Bound::Text(format!("%{}%", like_escape(s))))
                            .then(close)
                    })
                    .collect();
                SqlPredicate::join(each, if negate { " AND " } else { " OR " })
            }
            (Values::Texts(v), IsGreaterThan | IsLessThan) => {
                let op = if self.operator == IsGreaterThan {
                    ">"
                } else {
                    "<"
                };
                p(&format!("COALESCE({column} {op} "))
                    .bind(Bound::Text(v[0].clone()))
                    .then(", FALSE)")
            }
            (Values::Number(n), _) => {
                let op = if self.operator == IsGreaterThan {
                    ">"
                } else {
                    "<"
                };
                let Attribute::Custom(k) = &self.attribute else {
                    return p("FALSE");
                };
                p(&format!(
                    "(CASE WHEN jsonb_typeof({t}.custom_attributes->'{k}') = 'number' \
                     THEN ({t}.custom_attributes->>'{k}')::float8 {op} "
                ))
                .bind(Bound::Number(*n))
                .then(" ELSE FALSE END)")
            }
            (Values::Time(at), IsGreaterThan) => {
                p(&format!("({column} > ")).bind(Bound::Time(*at)).then(")")
            }
            (Values::Time(at), _) => p(&format!("({column} < ")).bind(Bound::Time(*at)).then(")"),
            (Values::Days(n), _) => p(&format!("({column} < "))
                .bind(Bound::Time(now - chrono::Duration::days(*n)))
                .then(")"),
            _ => p("TRUE"),
        }
    }
}

/// A bind parameter of a [`SqlPredicate`].
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    Text(String),
    Texts(Vec<String>),
    Number(f64),
    Time(DateTime<Utc>),
}

/// A piece of a [`SqlPredicate`]: SQL text, or a bind parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Sql(String),
    Bind(Bound),
}

/// A boolean SQL predicate as text and bind parameters in order: a diesel expression on
/// `contacts` (it writes its pieces and binds its values), or the pieces themselves for a
/// hand-written query with numbered parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlPredicate {
    pub pieces: Vec<Piece>,
}

impl SqlPredicate {
    fn text(sql: &str) -> SqlPredicate {
        SqlPredicate {
            pieces: vec![Piece::Sql(sql.to_string())],
        }
    }

    fn bind(mut self, b: Bound) -> SqlPredicate {
        self.pieces.push(Piece::Bind(b));
        self
    }

    fn then(mut self, sql: &str) -> SqlPredicate {
        self.pieces.push(Piece::Sql(sql.to_string()));
        self
    }

    /// `(a <sep> b <sep> …)`; a lone one as it is; none is TRUE.
    fn join(mut items: Vec<SqlPredicate>, sep: &str) -> SqlPredicate {
        if items.len() <= 1 {
            return items.pop().unwrap_or_else(|| SqlPredicate::text("TRUE"));
        }
        let mut out = SqlPredicate::text("(");
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                out.pieces.push(Piece::Sql(sep.to_string()));
            }
            out.pieces.extend(item.pieces);
        }
        out.then(")")
    }
}

impl diesel::expression::Expression for SqlPredicate {
    type SqlType = Nullable<Bool>;
}

impl diesel::query_builder::QueryFragment<Pg> for SqlPredicate {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, Pg>,
    ) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        for piece in &self.pieces {
            match piece {
                Piece::Sql(s) => out.push_sql(s),
                Piece::Bind(Bound::Text(v)) => out.push_bind_param::<Text, _>(v)?,
                Piece::Bind(Bound::Texts(v)) => out.push_bind_param::<Array<Text>, _>(v)?,
                Piece::Bind(Bound::Number(v)) => out.push_bind_param::<Double, _>(v)?,
                Piece::Bind(Bound::Time(v)) => out.push_bind_param::<Timestamptz, _>(v)?,
            }
        }
        Ok(())
    }
}

impl diesel::query_builder::QueryId for SqlPredicate {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<QS> diesel::expression::AppearsOnTable<QS> for SqlPredicate {}
impl<QS> diesel::expression::SelectableExpression<QS> for SqlPredicate {}
impl diesel::expression::ValidGrouping<()> for SqlPredicate {
    type IsAggregate = diesel::expression::is_aggregate::Never;
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

//! Hand-written SQL that PostgreSQL parses and plans once per connection, not once per call.
//!
//! Diesel never caches a `sql_query` (nor a query with a `sql::<T>(…)` fragment) as a named
//! prepared statement: it cannot know whether the text was built at run time, so every call is
//! parsed, analysed, rewritten and planned again. On the ingest path that was about a third
//! of PostgreSQL's time (issue 15: `pg_stat_statements.track_planning` over a 10,000-message
//! backlog showed 15.6 s of planning against 28.4 s of execution). [`Prepare::prepared`]
//! marks a query whose SQL text is a constant as safe to cache: diesel then keeps it as a
//! named prepared statement per connection, keyed by its SQL text and bind types, and
//! PostgreSQL switches to a generic plan after five executions when that plan is no worse.
//!
//! Only for SQL text that is a constant (a `const` or a literal): every distinct text stays in
//! the connection's statement cache for the connection's life.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

/// A query diesel keeps as a named prepared statement (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct Prepared<Q>(Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    /// Safe by construction: the text is a constant (see [`Prepare::prepared`]).
    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

/// No static id: the statement cache keys it by its SQL text and bind types.
impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for Prepared<Q> {}

/// `.prepared()` on any query: see the module docs. The caller promises the SQL text is a
/// constant; a text built at run time (`format!`) must not be prepared this way.
pub trait Prepare: Sized {
    /// This query, cached as a named prepared statement.
    fn prepared(self) -> Prepared<Self> {
        Prepared(self)
    }
}

impl<Q: QueryFragment<Pg>> Prepare for Q {}

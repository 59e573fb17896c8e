//! An inbox's business hours, greeting, out-of-office and CSAT settings (issue 13), stored in
//! `inbox_hours_settings` (no row: everything off, open all the time).
//!
//! The API fields are Chatwoot's inbox fields where Chatwoot has them (`working_hours_enabled`,
//! `working_hours`, `timezone`, `out_of_office_message`, `greeting_enabled`,
//! `greeting_message`, `csat_survey_enabled`), plus our own: `holidays` (local dates
//! `"YYYY-MM-DD"` closed all day), `csat_question` (the survey's text), `csat_scale`
//! (`"1-5"`: a list message with five rows; `"thumbs"`: two reply buttons 👍/👎) and
//! `csat_template` (`{"name", "language"}`: the approved template sent when the customer
//! service window is closed; `null`: none, the survey is then skipped with a reason).
//!
//! `working_hours` is Chatwoot's list of `{day_of_week (0 Sunday … 6 Saturday),
//! closed_all_day, open_all_day, open_hour, open_minutes, close_hour, close_minutes}`. We
//! accept several rows for one day (each an extra range, e.g. 09:00–12:00 and 13:00–17:00);
//! `close_hour` 24 (with 0 minutes) is the end of the day. A day without any open row is
//! closed. Answers list every day: the open rows in order, and one `closed_all_day` row for a
//! closed day.

use super::business_hours::{self, Range, Schedule};
use crate::db::schema::inbox_hours_settings as t;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde_json::{json, Map, Value};

/// Longest greeting / out-of-office message: a WhatsApp text message (Meta, 4096).
pub const MAX_MESSAGE: usize = 4096;
/// Longest CSAT question: the body of reply buttons (Meta, 1024).
pub const MAX_QUESTION: usize = 1024;
/// Most holidays an inbox keeps.
pub const MAX_HOLIDAYS: usize = 366;
/// Most `working_hours` rows.
pub const MAX_ROWS: usize = 70;
/// The question when none is set.
pub const DEFAULT_QUESTION: &str = "How would you rate your conversation with us?";

/// An `inbox_hours_settings` row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = t)]
#[diesel(treat_none_as_null = true)]
pub struct Settings {
    pub inbox_id: i64,
    pub account_id: i64,
    pub working_hours_enabled: bool,
    /// IANA zone name.
    pub timezone: String,
    /// Normalised Chatwoot rows (open rows only).
    pub working_hours: Value,
    /// `["YYYY-MM-DD", …]`, sorted.
    pub holidays: Value,
    pub out_of_office_message: Option<String>,
    pub greeting_enabled: bool,
    pub greeting_message: Option<String>,
    pub csat_survey_enabled: bool,
    pub csat_question: Option<String>,
    /// `1-5` or `thumbs`.
    pub csat_scale: String,
    pub csat_template_name: Option<String>,
    pub csat_template_language: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl Settings {
    /// The settings of an inbox that has none saved: everything off.
    pub fn off(account_id: i64, inbox_id: i64) -> Self {
        Self {
            inbox_id,
            account_id,
            working_hours_enabled: false,
            timezone: "UTC".into(),
            working_hours: json!([]),
            holidays: json!([]),
            out_of_office_message: None,
            greeting_enabled: false,
            greeting_message: None,
            csat_survey_enabled: false,
            csat_question: None,
            csat_scale: "1-5".into(),
            csat_template_name: None,
            csat_template_language: None,
            updated_at: Utc::now(),
        }
    }

    /// The schedule these settings describe; open all the time when business hours are off
    /// (or the stored rows can't be read, which validation prevents).
    pub fn schedule(&self) -> Schedule {
        if !self.working_hours_enabled {
            return Schedule::always_open();
        }
        parse_schedule(&self.timezone, &self.working_hours, &self.holidays)
            .unwrap_or_else(|_| Schedule::always_open())
    }

    /// The CSAT question to send.
    pub fn question(&self) -> &str {
        self.csat_question
            .as_deref()
            .filter(|q| !q.trim().is_empty())
            .unwrap_or(DEFAULT_QUESTION)
    }

    /// The out-of-office text, when business hours are on and a message is set.
    pub fn out_of_office(&self) -> Option<&str> {
        self.out_of_office_message
            .as_deref()
            .filter(|m| self.working_hours_enabled && !m.trim().is_empty())
    }

    /// The greeting text, when on and set.
    pub fn greeting(&self) -> Option<&str> {
        self.greeting_message
            .as_deref()
            .filter(|m| self.greeting_enabled && !m.trim().is_empty())
    }

    /// The settings' API fields, merged into an inbox object (see the module documentation).
    pub fn merge_into(&self, inbox: &mut Value) {
        let Value::Object(m) = inbox else { return };
        m.insert(
            "working_hours_enabled".into(),
            json!(self.working_hours_enabled),
        );
        m.insert("timezone".into(), json!(self.timezone));
        m.insert("working_hours".into(), chatwoot_rows(&self.working_hours));
        m.insert("holidays".into(), self.holidays.clone());
        m.insert(
            "out_of_office_message".into(),
            json!(self.out_of_office_message),
        );
        m.insert("greeting_enabled".into(), json!(self.greeting_enabled));
        m.insert("greeting_message".into(), json!(self.greeting_message));
        m.insert(
            "csat_survey_enabled".into(),
            json!(self.csat_survey_enabled),
        );
        m.insert("csat_question".into(), json!(self.csat_question));
        m.insert("csat_scale".into(), json!(self.csat_scale));
        m.insert(
            "csat_template".into(),
            match (&self.csat_template_name, &self.csat_template_language) {
                (Some(n), Some(l)) => json!({"name": n, "language": l}),
                _ => Value::Null,
            },
        );
    }
}

/// The stored open rows as Chatwoot lists them: every day 0–6, a `closed_all_day` row for a
/// day without open rows.
pub fn chatwoot_rows(stored: &Value) -> Value {
    let rows = stored.as_array().cloned().unwrap_or_default();
    let mut out = Vec::new();
    for day in 0..7 {
        let of_day: Vec<&Value> = rows
            .iter()
            .filter(|r| r["day_of_week"].as_i64() == Some(day))
            .collect();
        if of_day.is_empty() {
            out.push(json!({"day_of_week": day, "closed_all_day": true, "open_all_day": false,
                "open_hour": null, "open_minutes": null, "close_hour": null, "close_minutes": null}));
        } else {
            out.extend(of_day.into_iter().cloned());
        }
    }
    Value::Array(out)
}

fn int_field(row: &Map<String, Value>, key: &str, field: &str, max: i64) -> AppResult<i64> {
    match row.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(v) if (0..=max).contains(&v) => Ok(v),
            _ => Err(AppError::invalid(
                field,
                format!("{key} must be a whole number from 0 to {max}"),
            )),
        },
        Some(Value::String(s)) => match s.trim().parse::<i64>() {
            Ok(v) if (0..=max).contains(&v) => Ok(v),
            _ => Err(AppError::invalid(
                field,
                format!("{key} must be a whole number from 0 to {max}"),
            )),
        },
        Some(_) => Err(AppError::invalid(
            field,
            format!("{key} must be a whole number from 0 to {max}"),
        )),
    }
}

fn bool_field(row: &Map<String, Value>, key: &str, field: &str) -> AppResult<bool> {
    match row.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(AppError::invalid(
            field,
            format!("{key} must be true or false"),
        )),
    }
}

/// Reads Chatwoot `working_hours` rows into ranges and the normalised stored rows (open
/// rows only, sorted by day and opening). Errors: 422 naming `working_hours[i].<key>`.
pub fn parse_rows(rows: &Value) -> AppResult<(Vec<Range>, Value)> {
    let Some(list) = rows.as_array() else {
        return Err(AppError::invalid(
            "working_hours",
            "working_hours must be a list of {day_of_week, open_hour, open_minutes, close_hour, close_minutes, closed_all_day, open_all_day}",
        ));
    };
    if list.len() > MAX_ROWS {
        return Err(AppError::invalid(
            "working_hours",
            format!("at most {MAX_ROWS} working_hours rows"),
        ));
    }
    let mut ranges = Vec::new();
    for (i, row) in list.iter().enumerate() {
        let f = |k: &str| format!("working_hours[{i}].{k}");
        let Some(row) = row.as_object() else {
            return Err(AppError::invalid(
                &format!("working_hours[{i}]"),
                "each working_hours row is an object",
            ));
        };
        if row.get("day_of_week").is_none_or(Value::is_null) {
            return Err(AppError::invalid(
                &f("day_of_week"),
                "day_of_week is required (0 Sunday … 6 Saturday)",
            ));
        }
        let day = int_field(row, "day_of_week", &f("day_of_week"), 6)? as u8;
        if bool_field(row, "closed_all_day", &f("closed_all_day"))? {
            continue;
        }
        let (open, close) = if bool_field(row, "open_all_day", &f("open_all_day"))? {
            (0, business_hours::DAY_MINUTES)
        } else {
            let oh = int_field(row, "open_hour", &f("open_hour"), 23)?;
            let om = int_field(row, "open_minutes", &f("open_minutes"), 59)?;
            let ch = int_field(row, "close_hour", &f("close_hour"), 24)?;
            let cm = int_field(row, "close_minutes", &f("close_minutes"), 59)?;
            if ch == 24 && cm != 0 {
                return Err(AppError::invalid(
                    &f("close_minutes"),
                    "a range closing at hour 24 closes at 24:00 exactly",
                ));
            }
            ((oh * 60 + om) as u16, (ch * 60 + cm) as u16)
        };
        if open >= close {
            return Err(AppError::invalid(
                &f("close_hour"),
                format!(
                    "the range must close after it opens ({:02}:{:02} is not after {:02}:{:02}); a night shift is two rows: until 24:00, then from 00:00 the next day",
                    close / 60, close % 60, open / 60, open % 60
                ),
            ));
        }
        ranges.push(Range {
            day_of_week: day,
            open,
            close,
        });
    }
    ranges.sort();
    for w in ranges.windows(2) {
        if w[0].day_of_week == w[1].day_of_week && w[1].open < w[0].close {
            return Err(AppError::invalid(
                "working_hours",
                format!(
                    "two ranges on day {} overlap ({:02}:{:02}–{:02}:{:02} and {:02}:{:02}–{:02}:{:02})",
                    w[0].day_of_week,
                    w[0].open / 60, w[0].open % 60, w[0].close / 60, w[0].close % 60,
                    w[1].open / 60, w[1].open % 60, w[1].close / 60, w[1].close % 60
                ),
            ));
        }
    }
    let stored: Vec<Value> = ranges
        .iter()
        .map(|r| {
            let all_day = r.open == 0 && r.close == business_hours::DAY_MINUTES;
            json!({"day_of_week": r.day_of_week, "closed_all_day": false, "open_all_day": all_day,
                "open_hour": r.open / 60, "open_minutes": r.open % 60,
                "close_hour": r.close / 60, "close_minutes": r.close % 60})
        })
        .collect();
    Ok((ranges, Value::Array(stored)))
}

/// Reads `holidays` (`["YYYY-MM-DD", …]`), sorted and deduplicated. Errors: 422 naming
/// `holidays[i]`.
pub fn parse_holidays(v: &Value) -> AppResult<Vec<NaiveDate>> {
    let Some(list) = v.as_array() else {
        return Err(AppError::invalid(
            "holidays",
            "holidays must be a list of dates \"YYYY-MM-DD\"",
        ));
    };
    if list.len() > MAX_HOLIDAYS {
        return Err(AppError::invalid(
            "holidays",
            format!("at most {MAX_HOLIDAYS} holidays"),
        ));
    }
    let mut out = Vec::new();
    for (i, d) in list.iter().enumerate() {
        let parsed = d
            .as_str()
            .and_then(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok());
        match parsed {
            Some(d) => out.push(d),
            None => {
                return Err(AppError::invalid(
                    &format!("holidays[{i}]"),
                    "a holiday is a date \"YYYY-MM-DD\"",
                ))
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The schedule of stored or given fields. Errors: 422 naming the field.
pub fn parse_schedule(timezone: &str, rows: &Value, holidays: &Value) -> AppResult<Schedule> {
    let tz =
        business_hours::parse_tz(timezone).map_err(|e| AppError::invalid(&e.field, e.message))?;
    let (ranges, _) = parse_rows(rows)?;
    let days = parse_holidays(holidays)?;
    Schedule::new(tz, &ranges, days).map_err(|e| AppError::invalid(&e.field, e.message))
}

/// The saved settings of an inbox, or [`Settings::off`].
pub fn get(conn: &mut PgConnection, account_id: i64, inbox_id: i64) -> AppResult<Settings> {
    Ok(t::table
        .find(inbox_id)
        .select(Settings::as_select())
        .first(conn)
        .optional()?
        .unwrap_or_else(|| Settings::off(account_id, inbox_id)))
}

/// The saved settings of these inboxes (inboxes without a row are absent), in one statement.
pub fn for_inboxes(conn: &mut PgConnection, inbox_ids: &[i64]) -> AppResult<Vec<Settings>> {
    if inbox_ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(t::table
        .filter(t::inbox_id.eq_any(inbox_ids))
        .select(Settings::as_select())
        .load(conn)?)
}

fn text_field(
    body: &Map<String, Value>,
    key: &str,
    max: usize,
) -> AppResult<Option<Option<String>>> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => {
            if s.contains('\0') {
                return Err(AppError::invalid(
                    key,
                    format!("{key} contains a NUL character"),
                ));
            }
            let n = s.chars().count();
            if n > max {
                return Err(AppError::invalid(
                    key,
                    format!("{key} is limited to {max} characters (this one has {n})"),
                ));
            }
            let s = s.trim();
            Ok(Some(if s.is_empty() {
                None
            } else {
                Some(s.to_string())
            }))
        }
        Some(_) => Err(AppError::invalid(key, format!("{key} must be text"))),
    }
}

fn flag(body: &Map<String, Value>, key: &str) -> AppResult<Option<bool>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
        Some(_) => Err(AppError::invalid(
            key,
            format!("{key} must be true or false"),
        )),
    }
}

/// The body keys [`apply_patch`] reads.
pub const FIELDS: [&str; 13] = [
    "working_hours_enabled",
    "working_hours",
    "timezone",
    "holidays",
    "out_of_office_message",
    "greeting_enabled",
    "greeting_message",
    "csat_survey_enabled",
    "csat_question",
    "csat_scale",
    "csat_template",
    "csat_template_name",
    "csat_template_language",
];

/// True when an inbox body carries any of these settings.
pub fn touches(body: &Map<String, Value>) -> bool {
    FIELDS.iter().any(|k| body.contains_key(*k))
}

/// Applies the settings fields of an inbox body (PATCH semantics: absent keys keep their
/// value) to `current`, validating each. The CSAT template must be an APPROVED template of
/// the inbox (checked by [`save`]). Errors: 422 naming the field.
pub fn apply_patch(current: &Settings, body: &Map<String, Value>) -> AppResult<Settings> {
    let mut s = current.clone();
    if let Some(b) = flag(body, "working_hours_enabled")? {
        s.working_hours_enabled = b;
    }
    if let Some(tz) = body.get("timezone") {
        let name = tz.as_str().ok_or_else(|| {
            AppError::invalid(
                "timezone",
                "timezone must be an IANA name such as Europe/Berlin",
            )
        })?;
        let parsed = business_hours::parse_tz(name.trim())
            .map_err(|e| AppError::invalid(&e.field, e.message))?;
        s.timezone = parsed.name().to_string();
    }
    if let Some(rows) = body.get("working_hours") {
        s.working_hours = parse_rows(rows)?.1;
    }
    if let Some(h) = body.get("holidays") {
        let days = parse_holidays(h)?;
        s.holidays = json!(days.iter().map(|d| d.to_string()).collect::<Vec<_>>());
    }
    if let Some(v) = text_field(body, "out_of_office_message", MAX_MESSAGE)? {
        s.out_of_office_message = v;
    }
    if let Some(b) = flag(body, "greeting_enabled")? {
        s.greeting_enabled = b;
    }
    if let Some(v) = text_field(body, "greeting_message", MAX_MESSAGE)? {
        s.greeting_message = v;
    }
    if let Some(b) = flag(body, "csat_survey_enabled")? {
        s.csat_survey_enabled = b;
    }
    if let Some(v) = text_field(body, "csat_question", MAX_QUESTION)? {
        s.csat_question = v;
    }
    if let Some(v) = body.get("csat_scale") {
        match v.as_str() {
            Some("1-5") | Some("thumbs") => s.csat_scale = v.as_str().unwrap_or("1-5").into(),
            _ => {
                return Err(AppError::invalid(
                    "csat_scale",
                    "csat_scale is \"1-5\" (a list of five scores) or \"thumbs\" (👍/👎 buttons)",
                ))
            }
        }
    }
    match body.get("csat_template") {
        None => {}
        Some(Value::Null) => {
            s.csat_template_name = None;
            s.csat_template_language = None;
        }
        Some(Value::Object(o)) => {
            let name = text_field(o, "name", 512)?.flatten();
            let lang = text_field(o, "language", 32)?.flatten();
            match (name, lang) {
                (Some(n), Some(l)) => {
                    s.csat_template_name = Some(n);
                    s.csat_template_language = Some(l);
                }
                (None, _) => {
                    return Err(AppError::invalid(
                        "csat_template.name",
                        "the template's name is required",
                    ))
                }
                (_, None) => {
                    return Err(AppError::invalid(
                        "csat_template.language",
                        "the template's language is required (e.g. en_US)",
                    ))
                }
            }
        }
        Some(_) => {
            return Err(AppError::invalid(
                "csat_template",
                "csat_template is {\"name\", \"language\"} or null",
            ))
        }
    }
    if let Some(v) = text_field(body, "csat_template_name", 512)? {
        s.csat_template_name = v;
    }
    if let Some(v) = text_field(body, "csat_template_language", 32)? {
        s.csat_template_language = v;
    }
    if s.csat_template_name.is_some() != s.csat_template_language.is_some() {
        return Err(AppError::invalid(
            if s.csat_template_name.is_none() {
                "csat_template_name"
            } else {
                "csat_template_language"
            },
            "a CSAT template needs both a name and a language",
        ));
    }
    if s.greeting_enabled && s.greeting_message.is_none() {
        return Err(AppError::invalid(
            "greeting_message",
            "write the greeting message, or turn the greeting off",
        ));
    }
    // The rows and zone must make a schedule (e.g. stored rows with a new zone).
    parse_schedule(&s.timezone, &s.working_hours, &s.holidays)?;
    Ok(s)
}

/// Saves `settings` (insert or replace) after checking the CSAT template exists and is
/// APPROVED in the inbox. Errors: 422 `csat_template`.
pub fn save(conn: &mut PgConnection, settings: &Settings) -> AppResult<Settings> {
    if let (Some(n), Some(l)) = (
        &settings.csat_template_name,
        &settings.csat_template_language,
    ) {
        let found = super::templates::find(conn, settings.inbox_id, n, l)?;
        match found {
            Some(tpl) if tpl.status == "APPROVED" => {}
            Some(tpl) => {
                return Err(AppError::invalid(
                    "csat_template",
                    format!(
                        "template {n} ({l}) is {}; choose an APPROVED template",
                        tpl.status
                    ),
                ))
            }
            None => {
                return Err(AppError::invalid(
                    "csat_template",
                    format!(
                    "this inbox has no template {n} ({l}); sync the templates or choose another"
                ),
                ))
            }
        }
    }
    let mut row = settings.clone();
    row.updated_at = Utc::now();
    Ok(diesel::insert_into(t::table)
        .values(&row)
        .on_conflict(t::inbox_id)
        .do_update()
        .set(&row)
        .returning(Settings::as_returning())
        .get_result(conn)?)
}

/// Whether the team is open at `now` and when it next opens / closes, for the inbox page and
/// the conversation header. `None` when business hours are off (always open, nothing shown).
#[derive(Debug, Clone, PartialEq)]
pub struct OpenState {
    pub open: bool,
    /// When closed: the next opening (None: no opening within a year).
    pub opens_at: Option<DateTime<Utc>>,
    /// When open: the next closing.
    pub closes_at: Option<DateTime<Utc>>,
    /// The inbox's zone, to show local times.
    pub timezone: String,
}

impl OpenState {
    /// "Open now · closes 17:00" / "Closed · opens Mon 09:00" in the inbox's zone.
    pub fn label(&self) -> String {
        let tz = business_hours::parse_tz(&self.timezone).unwrap_or(chrono_tz::Tz::UTC);
        let fmt = |t: DateTime<Utc>| {
            let local = t.with_timezone(&tz);
            let today = Utc::now().with_timezone(&tz).date_naive();
            if local.date_naive() == today {
                local.format("%H:%M").to_string()
            } else {
                local.format("%a %H:%M").to_string()
            }
        };
        if self.open {
            match self.closes_at {
                Some(c) => format!("Open now · closes {} ({})", fmt(c), self.timezone),
                None => "Open now".into(),
            }
        } else {
            match self.opens_at {
                Some(o) => format!("Closed now · opens {} ({})", fmt(o), self.timezone),
                None => "Closed".into(),
            }
        }
    }
}

/// The open state of `settings` at `now`; `None` when business hours are off.
pub fn open_state(settings: &Settings, now: DateTime<Utc>) -> Option<OpenState> {
    if !settings.working_hours_enabled {
        return None;
    }
    let s = settings.schedule();
    let open = s.is_open(now);
    Some(OpenState {
        open,
        opens_at: if open { None } else { s.next_open(now) },
        closes_at: if open { s.next_close(now) } else { None },
        timezone: settings.timezone.clone(),
    })
}

#[derive(QueryableByName)]
struct PanelRow {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Jsonb>)]
    hours: Option<Value>,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    csat: Value,
}

/// A CSAT rating for the contact panel: ("4/5" or "👍", comment, rated at).
pub type PanelRating = (String, String, Option<DateTime<Utc>>);

fn state_of(hours: &Value, now: DateTime<Utc>) -> Option<OpenState> {
    if hours["enabled"] != json!(true) {
        return None;
    }
    let tz = hours["timezone"].as_str().unwrap_or("UTC");
    let schedule = parse_schedule(tz, &hours["rows"], &hours["holidays"]).ok()?;
    let open = schedule.is_open(now);
    Some(OpenState {
        open,
        opens_at: if open { None } else { schedule.next_open(now) },
        closes_at: if open { schedule.next_close(now) } else { None },
        timezone: tz.to_string(),
    })
}

/// For the conversation header and contact panel, in one statement: the inbox's open state
/// at `now` (None when business hours are off) and the contact's latest answered CSAT
/// surveys (at most 5, newest first).
pub fn thread_panel(
    conn: &mut PgConnection,
    inbox_id: i64,
    contact_id: i64,
    now: DateTime<Utc>,
) -> AppResult<(Option<OpenState>, Vec<PanelRating>)> {
    use diesel::sql_types::BigInt;
    let row: PanelRow = diesel::sql_query(
        "SELECT (SELECT jsonb_build_object('enabled', working_hours_enabled, 'timezone', timezone, \
                  'rows', working_hours, 'holidays', holidays) FROM inbox_hours_settings WHERE inbox_id = $1) AS hours, \
                (SELECT coalesce(jsonb_agg(jsonb_build_object('rating', rating, 'scale', scale, \
                  'feedback', feedback_message, 'rated_at', extract(epoch FROM rated_at)::bigint) ORDER BY id DESC), '[]'::jsonb) \
                 FROM (SELECT * FROM csat_survey_responses WHERE contact_id = $2 AND rating IS NOT NULL \
                       ORDER BY id DESC LIMIT 5) x) AS csat",
    )
    .bind::<BigInt, _>(inbox_id)
    .bind::<BigInt, _>(contact_id)
    .get_result(conn)?;
    let state = row.hours.as_ref().and_then(|h| state_of(h, now));
    let ratings = row
        .csat
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                super::csat::rating_label(
                    r["scale"].as_str().unwrap_or("1-5"),
                    r["rating"].as_i64().unwrap_or(0) as i32,
                ),
                r["feedback"].as_str().unwrap_or_default().to_string(),
                r["rated_at"]
                    .as_i64()
                    .and_then(|t| DateTime::<Utc>::from_timestamp(t, 0)),
            )
        })
        .collect();
    Ok((state, ratings))
}

/// For the inbox page, in one statement: (inbox id, inbox name, open state at `now`) of the
/// account's inboxes in `visible` (None: all) that use business hours, by name.
pub fn page_states(
    conn: &mut PgConnection,
    account_id: i64,
    visible: Option<&[i64]>,
    now: DateTime<Utc>,
) -> AppResult<Vec<(i64, String, OpenState)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Jsonb)]
        hours: Value,
    }
    use diesel::sql_types::{Array, BigInt, Bool};
    let ids = visible.map(<[i64]>::to_vec).unwrap_or_default();
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT i.id, i.name, jsonb_build_object('enabled', s.working_hours_enabled, 'timezone', s.timezone, \
           'rows', s.working_hours, 'holidays', s.holidays) AS hours \
         FROM inbox_hours_settings s JOIN inboxes i ON i.id = s.inbox_id \
         WHERE s.account_id = $1 AND s.working_hours_enabled AND ($2 OR i.id = ANY($3)) ORDER BY i.name, i.id",
    )
    .bind::<BigInt, _>(account_id)
    .bind::<Bool, _>(visible.is_none())
    .bind::<Array<BigInt>, _>(ids)
    .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| state_of(&r.hours, now).map(|s| (r.id, r.name, s)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(e: AppError) -> String {
        match e {
            AppError::Unprocessable { field, .. } => field.unwrap_or_default(),
            other => panic!("not a 422: {other:?}"),
        }
    }

    #[test]
    fn chatwoot_rows_with_two_ranges_a_day() {
        let rows = json!([
            {"day_of_week": 1, "open_hour": 9, "open_minutes": 0, "close_hour": 12, "close_minutes": 0},
            {"day_of_week": 1, "open_hour": 13, "open_minutes": 30, "close_hour": 17, "close_minutes": 0},
            {"day_of_week": 0, "closed_all_day": true},
            {"day_of_week": 6, "open_all_day": true}
        ]);
        let (ranges, stored) = parse_rows(&rows).unwrap();
        assert_eq!(ranges.len(), 3);
        let listed = chatwoot_rows(&stored);
        // 7 days: Sunday closed, Monday two rows, Tue–Fri closed, Saturday all day.
        assert_eq!(listed.as_array().unwrap().len(), 8);
        assert_eq!(listed[0]["closed_all_day"], true);
        assert_eq!(listed[1]["open_hour"], 9);
        assert_eq!(listed[2]["open_minutes"], 30);
        assert_eq!(listed[7]["open_all_day"], true);
    }

    #[test]
    fn bad_rows_name_the_field() {
        let e = parse_rows(&json!([{"day_of_week": 9}])).unwrap_err();
        assert_eq!(field(e), "working_hours[0].day_of_week");
        let e =
            parse_rows(&json!([{"day_of_week": 1, "open_hour": 18, "close_hour": 9}])).unwrap_err();
        assert_eq!(field(e), "working_hours[0].close_hour");
        let e = parse_rows(&json!([{"day_of_week": 1, "open_hour": "x"}])).unwrap_err();
        assert_eq!(field(e), "working_hours[0].open_hour");
        let e = parse_rows(&json!([
            {"day_of_week": 2, "open_hour": 9, "close_hour": 12},
            {"day_of_week": 2, "open_hour": 11, "close_hour": 14}
        ]))
        .unwrap_err();
        assert_eq!(field(e), "working_hours");
        let e = parse_holidays(&json!(["2026-02-30"])).unwrap_err();
        assert_eq!(field(e), "holidays[0]");
    }

    #[test]
    fn patch_validates_and_keeps_absent_fields() {
        let base = Settings::off(1, 2);
        let body = json!({"working_hours_enabled": true, "timezone": "Europe/Berlin",
            "greeting_enabled": true, "greeting_message": " Hi! ", "csat_scale": "thumbs"});
        let s = apply_patch(&base, body.as_object().unwrap()).unwrap();
        assert!(s.working_hours_enabled);
        assert_eq!(s.timezone, "Europe/Berlin");
        assert_eq!(s.greeting(), Some("Hi!"));
        assert_eq!(s.csat_scale, "thumbs");
        let e =
            apply_patch(&s, json!({"timezone": "Nowhere/Land"}).as_object().unwrap()).unwrap_err();
        assert_eq!(field(e), "timezone");
        let e =
            apply_patch(&s, json!({"greeting_message": null}).as_object().unwrap()).unwrap_err();
        assert_eq!(field(e), "greeting_message");
        let e = apply_patch(&s, json!({"csat_scale": "stars"}).as_object().unwrap()).unwrap_err();
        assert_eq!(field(e), "csat_scale");
        let e = apply_patch(
            &s,
            json!({"csat_template": {"name": "rate"}})
                .as_object()
                .unwrap(),
        )
        .unwrap_err();
        assert_eq!(field(e), "csat_template.language");
    }
}

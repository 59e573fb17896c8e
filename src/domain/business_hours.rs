//! Business hours: an inbox's weekly opening hours in its time zone, with holidays.
//!
//! A [`Schedule`] is pure data (no database): an IANA time zone (`chrono-tz`), weekly
//! ranges (several a day; a day with none is closed) and holidays (local dates on which the
//! team is closed all day). Everything answers in UTC instants:
//!
//! - [`Schedule::is_open`]: is the team open at an instant;
//! - [`Schedule::next_open`] / [`Schedule::next_close`]: when the current or next open
//!   period starts or ends;
//! - [`Schedule::business_duration`] / [`Schedule::add_business_time`]: open time between
//!   two instants, and the instant after a given amount of open time (what SLA deadlines
//!   "in business hours" use).
//!
//! Rules (the source is Chatwoot's `working_hours`, `WorkingHour#open_at?`, extended as
//! issue 13 asks):
//! - A range is `[open, close)` in local wall-clock time, minutes since midnight, with
//!   `0 <= open < close <= 1440` (1440 is the end of the day: "open all day" is `0..1440`).
//!   A range does not cross midnight; a night shift is two ranges (`22:00–24:00` on Monday,
//!   `00:00–06:00` on Tuesday), which join into one open period because adjacent and
//!   overlapping ranges are merged, also across days.
//! - Local times are turned into instants with the zone's rules of that date: a time inside
//!   a DST gap (e.g. 02:30 on the spring-forward night in New York) moves to the first
//!   instant after the gap; an ambiguous time (the fall-back hour) takes its earlier
//!   instant. So a day's open time can be 23 or 25 hours long across a change.
//! - A holiday closes the whole local date, whatever its ranges.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::{BTreeSet, VecDeque};

/// Minutes in a day: the largest allowed `close`.
pub const DAY_MINUTES: u16 = 1440;

/// How far ahead (local days) [`Schedule::next_open`] and [`Schedule::next_close`] look:
/// a bit more than a year, so a year of holidays can't hide the next opening.
pub const HORIZON_DAYS: i64 = 400;

/// One weekly opening range: on `day_of_week` (0 Sunday … 6 Saturday, as Chatwoot), from
/// `open` to `close`, minutes since local midnight (`close` exclusive, at most 1440).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Range {
    pub day_of_week: u8,
    pub open: u16,
    pub close: u16,
}

/// Why a schedule can't be built: `field` names the offending input (`timezone`,
/// `working_hours[3].close_hour`, `holidays[0]`, …), `message` says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

impl Invalid {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An open period: `[start, end)` in UTC.
pub type Period = (DateTime<Utc>, DateTime<Utc>);

/// A weekly schedule in one time zone, with holidays. Build it with [`Schedule::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    tz: Tz,
    /// Per weekday (0 Sunday), the ranges sorted by `open`.
    week: [Vec<(u16, u16)>; 7],
    holidays: BTreeSet<NaiveDate>,
}

/// Parses an IANA time zone name (`Europe/Berlin`, `America/New_York`, `UTC`).
/// Errors: [`Invalid`] on field `timezone` for an unknown name.
pub fn parse_tz(name: &str) -> Result<Tz, Invalid> {
    name.parse::<Tz>().map_err(|_| {
        Invalid::new(
            "timezone",
            format!("unknown time zone {name:?}; use an IANA name such as Europe/Berlin"),
        )
    })
}

impl Schedule {
    /// A schedule in `tz` with these ranges and holidays. Errors: a range with
    /// `day_of_week > 6`, `open >= close` or `close > 1440` (field `working_hours[i]`, `i`
    /// the range's index in `ranges`).
    pub fn new(
        tz: Tz,
        ranges: &[Range],
        holidays: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Self, Invalid> {
        let mut week: [Vec<(u16, u16)>; 7] = Default::default();
        for (i, r) in ranges.iter().enumerate() {
            if r.day_of_week > 6 {
                return Err(Invalid::new(
                    format!("working_hours[{i}].day_of_week"),
                    "day_of_week must be 0 (Sunday) to 6 (Saturday)",
                ));
            }
            if r.close > DAY_MINUTES {
                return Err(Invalid::new(
                    format!("working_hours[{i}].close_hour"),
                    "a range closes at 24:00 at the latest",
                ));
            }
            if r.open >= r.close {
                return Err(Invalid::new(
                    format!("working_hours[{i}].close_hour"),
                    "a range must close after it opens (a night shift is two ranges: until 24:00, then from 00:00 the next day)",
                ));
            }
            week[r.day_of_week as usize].push((r.open, r.close));
        }
        for day in &mut week {
            day.sort();
        }
        Ok(Self {
            tz,
            week,
            holidays: holidays.into_iter().collect(),
        })
    }

    /// Open all the time in UTC, no holidays (what an inbox without business hours means).
    pub fn always_open() -> Self {
        let ranges: Vec<Range> = (0..7)
            .map(|d| Range {
                day_of_week: d,
                open: 0,
                close: DAY_MINUTES,
            })
            .collect();
        Self::new(Tz::UTC, &ranges, []).expect("valid ranges")
    }

    /// The schedule's time zone.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The ranges of weekday `day_of_week` (0 Sunday), sorted, minutes since midnight.
    pub fn ranges_of(&self, day_of_week: u8) -> &[(u16, u16)] {
        self.week
            .get(day_of_week as usize)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The holidays, in date order.
    pub fn holidays(&self) -> impl Iterator<Item = &NaiveDate> {
        self.holidays.iter()
    }

    /// The local date of instant `at` in the schedule's zone.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.tz).date_naive()
    }

    /// The instant of local wall-clock time `date` + `minutes` (0..=1440): a time in a DST
    /// gap moves to the end of the gap; an ambiguous time takes its earlier instant.
    fn instant(&self, date: NaiveDate, minutes: u16) -> DateTime<Utc> {
        let (date, minutes) = if minutes >= DAY_MINUTES {
            (date.succ_opt().unwrap_or(date), minutes - DAY_MINUTES)
        } else {
            (date, minutes)
        };
        let naive = NaiveDateTime::new(
            date,
            NaiveTime::from_hms_opt(u32::from(minutes / 60), u32::from(minutes % 60), 0)
                .unwrap_or(NaiveTime::MIN),
        );
        let mut probe = naive;
        // A gap is at most a few hours (2 in the worst real zones); step by 15 minutes.
        for _ in 0..16 {
            if let Some(t) = self.tz.from_local_datetime(&probe).earliest() {
                if probe == naive {
                    return t.with_timezone(&Utc);
                }
                // Inside a gap: the gap ends where the first valid local time after it
                // begins; walk back from there to the exact transition instant.
                let after = t.with_timezone(&Utc);
                let mut lo = after - Duration::minutes(15);
                let mut hi = after;
                while hi - lo > Duration::seconds(1) {
                    let mid = lo + (hi - lo) / 2;
                    if mid.with_timezone(&self.tz).naive_local() >= naive {
                        hi = mid;
                    } else {
                        lo = mid;
                    }
                }
                return hi;
            }
            probe += Duration::minutes(15);
        }
        Utc.from_utc_datetime(&naive)
    }

    /// The open periods of local `date` (none on a holiday), in order, not merged.
    fn day_periods(&self, date: NaiveDate) -> Vec<Period> {
        if self.holidays.contains(&date) {
            return vec![];
        }
        let dow = date.weekday().num_days_from_sunday() as usize;
        self.week[dow]
            .iter()
            .map(|&(o, c)| (self.instant(date, o), self.instant(date, c)))
            .filter(|(s, e)| s < e)
            .collect()
    }

    /// The merged open periods whose local date is from `from` for `days` days, in order
    /// (a period may start before `from`'s first instant only if it began the day before
    /// and was merged into; callers clip).
    pub fn periods(&self, from: NaiveDate, days: i64) -> Periods<'_> {
        Periods {
            schedule: self,
            day: from,
            days_left: days,
            buf: VecDeque::new(),
            pending: None,
        }
    }

    /// Merged periods around `at`: starting the local day before `at` (so a period that
    /// began yesterday and runs on is whole), for `days` days.
    fn periods_around(&self, at: DateTime<Utc>, days: i64) -> Periods<'_> {
        let d = self.local_date(at).pred_opt().unwrap_or(NaiveDate::MIN);
        self.periods(d, days + 1)
    }

    /// True when the team is open at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.periods_around(at, 2)
            .take_while(|p| p.0 <= at)
            .any(|(s, e)| s <= at && at < e)
    }

    /// The open period containing `at`, if the team is open then (`[start, end)`, merged
    /// with adjacent ranges; the end is within [`HORIZON_DAYS`]).
    pub fn current_period(&self, at: DateTime<Utc>) -> Option<Period> {
        self.periods_around(at, HORIZON_DAYS)
            .take_while(|p| p.0 <= at)
            .find(|&(s, e)| s <= at && at < e)
    }

    /// When the team is next open: `at` itself when open now, else the start of the next
    /// open period; `None` when there is none within [`HORIZON_DAYS`] days.
    pub fn next_open(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.periods_around(at, HORIZON_DAYS)
            .find(|&(_, e)| e > at)
            .map(|(s, _)| s.max(at))
    }

    /// When the team next closes: the end of the open period containing `at`, or of the
    /// next one when closed now; `None` when it never closes (open all week without
    /// holidays) or never opens within [`HORIZON_DAYS`] days.
    pub fn next_close(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let horizon = at + Duration::days(HORIZON_DAYS - 2);
        self.periods_around(at, HORIZON_DAYS)
            .find(|&(_, e)| e > at)
            .map(|(_, e)| e)
            .filter(|e| *e < horizon)
    }

    /// Open time between `from` and `to` (zero when `to <= from`).
    pub fn business_duration(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        if to <= from {
            return Duration::zero();
        }
        let days = (to - from).num_days() + 3;
        self.periods_around(from, days)
            .take_while(|p| p.0 < to)
            .map(|(s, e)| {
                let (s, e) = (s.max(from), e.min(to));
                if e > s {
                    e - s
                } else {
                    Duration::zero()
                }
            })
            .fold(Duration::zero(), |a, b| a + b)
    }

    /// The instant at which `duration` of open time has passed since `start` (SLA deadlines
    /// in business hours): `start` for a zero or negative duration; `None` when the schedule
    /// has no open time within `max_days` local days after `start` to reach it.
    pub fn add_business_time(
        &self,
        start: DateTime<Utc>,
        duration: Duration,
        max_days: i64,
    ) -> Option<DateTime<Utc>> {
        if duration <= Duration::zero() {
            return Some(start);
        }
        let mut left = duration;
        for (s, e) in self.periods_around(start, max_days) {
            if e <= start {
                continue;
            }
            let s = s.max(start);
            let avail = e - s;
            if left <= avail {
                return Some(s + left);
            }
            left -= avail;
        }
        None
    }
}

/// The merged open periods of a run of local days, in order (see [`Schedule::periods`]).
pub struct Periods<'a> {
    schedule: &'a Schedule,
    day: NaiveDate,
    days_left: i64,
    buf: VecDeque<Period>,
    pending: Option<Period>,
}

impl Iterator for Periods<'_> {
    type Item = Period;

    fn next(&mut self) -> Option<Period> {
        loop {
            while self.buf.is_empty() && self.days_left > 0 {
                self.buf.extend(self.schedule.day_periods(self.day));
                self.day = self.day.succ_opt()?;
                self.days_left -= 1;
            }
            let Some(raw) = self.buf.pop_front() else {
                return self.pending.take();
            };
            match self.pending {
                None => self.pending = Some(raw),
                Some((s, e)) if raw.0 <= e => self.pending = Some((s, e.max(raw.1))),
                Some(p) => {
                    self.pending = Some(raw);
                    return Some(p);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn weekdays(open: u16, close: u16) -> Vec<Range> {
        (1..=5)
            .map(|d| Range {
                day_of_week: d,
                open,
                close,
            })
            .collect()
    }

    fn sched(tz: &str, ranges: &[Range], holidays: &[&str]) -> Schedule {
        Schedule::new(
            parse_tz(tz).unwrap(),
            ranges,
            holidays.iter().map(|d| d.parse().unwrap()),
        )
        .unwrap()
    }

    #[test]
    fn new_york_nine_to_five_across_spring_forward() {
        // 2026-03-08 is the spring-forward Sunday in New York (EST -5 → EDT -4).
        let s = sched("America/New_York", &weekdays(9 * 60, 17 * 60), &[]);
        // Friday 2026-03-06 16:59 EST = 21:59Z open; 17:00 EST = 22:00Z closed.
        assert!(s.is_open(utc("2026-03-06T21:59:00Z")));
        assert!(!s.is_open(utc("2026-03-06T22:00:00Z")));
        // Opens Monday 09:00 EDT = 13:00Z (not 14:00Z as in winter).
        assert_eq!(
            s.next_open(utc("2026-03-06T22:00:00Z")),
            Some(utc("2026-03-09T13:00:00Z"))
        );
        assert_eq!(
            s.next_close(utc("2026-03-09T13:30:00Z")),
            Some(utc("2026-03-09T21:00:00Z"))
        );
        // Over the weekend no business time passes.
        assert_eq!(
            s.business_duration(utc("2026-03-06T21:00:00Z"), utc("2026-03-09T14:00:00Z")),
            Duration::hours(2)
        );
    }

    #[test]
    fn new_york_fall_back_day_is_long() {
        // 2026-11-01 (Sunday) falls back at 02:00 EDT → 01:00 EST: the day has 25 hours.
        let all: Vec<Range> = (0..7)
            .map(|d| Range {
                day_of_week: d,
                open: 0,
                close: DAY_MINUTES,
            })
            .collect();
        let s = sched("America/New_York", &all, &["2026-10-31", "2026-11-02"]);
        // Only Sunday Nov 1 is open (Saturday and Monday are holidays): 25 hours.
        assert_eq!(
            s.business_duration(utc("2026-10-31T04:00:00Z"), utc("2026-11-03T05:00:00Z")),
            Duration::hours(25)
        );
        assert_eq!(
            s.next_open(utc("2026-10-31T12:00:00Z")),
            Some(utc("2026-11-01T04:00:00Z"))
        );
        assert_eq!(
            s.next_close(utc("2026-10-31T12:00:00Z")),
            Some(utc("2026-11-02T05:00:00Z"))
        );
        // An SLA of 24 business hours started at midnight ends at 23:00 local (EST).
        assert_eq!(
            s.add_business_time(utc("2026-11-01T04:00:00Z"), Duration::hours(24), 30),
            Some(utc("2026-11-02T04:00:00Z"))
        );
    }

    #[test]
    fn range_inside_the_spring_gap_starts_after_it() {
        // Sunday 2026-03-08 02:30 does not exist in New York; a range 02:30–04:00 opens at
        // 03:00 EDT = 07:00Z.
        let s = sched(
            "America/New_York",
            &[Range {
                day_of_week: 0,
                open: 150,
                close: 240,
            }],
            &[],
        );
        assert_eq!(
            s.next_open(utc("2026-03-08T00:00:00Z")),
            Some(utc("2026-03-08T07:00:00Z"))
        );
        assert_eq!(
            s.next_close(utc("2026-03-08T00:00:00Z")),
            Some(utc("2026-03-08T08:00:00Z"))
        );
    }

    #[test]
    fn berlin_summer_time_and_holiday() {
        // Europe/Berlin moves to CEST on 2026-03-29; Good Friday 2026-04-03 is a holiday.
        let s = sched("Europe/Berlin", &weekdays(8 * 60, 12 * 60), &["2026-04-03"]);
        // Friday 2026-03-27 08:00 CET = 07:00Z; Monday 2026-03-30 08:00 CEST = 06:00Z.
        assert!(s.is_open(utc("2026-03-27T07:00:00Z")));
        assert!(!s.is_open(utc("2026-03-27T06:59:59Z")));
        assert!(s.is_open(utc("2026-03-30T06:00:00Z")));
        assert!(!s.is_open(utc("2026-03-30T05:59:00Z")));
        // Holiday: closed all of Friday; Thursday 12:00 → next open Monday 2026-04-06.
        assert!(!s.is_open(utc("2026-04-03T08:00:00Z")));
        assert_eq!(
            s.next_open(utc("2026-04-02T10:00:00Z")),
            Some(utc("2026-04-06T06:00:00Z"))
        );
        // 6 business hours from Thursday 11:00 CEST: 1 h Thursday, 4 h Monday, 1 h Tuesday.
        assert_eq!(
            s.add_business_time(utc("2026-04-02T09:00:00Z"), Duration::hours(6), 30),
            Some(utc("2026-04-07T07:00:00Z"))
        );
        assert_eq!(
            s.business_duration(utc("2026-04-02T09:00:00Z"), utc("2026-04-07T07:00:00Z")),
            Duration::hours(6)
        );
    }

    #[test]
    fn several_ranges_a_day_and_closed_days() {
        let ranges = [
            Range {
                day_of_week: 2,
                open: 9 * 60,
                close: 12 * 60,
            },
            Range {
                day_of_week: 2,
                open: 13 * 60,
                close: 17 * 60 + 30,
            },
        ];
        let s = sched("UTC", &ranges, &[]);
        // Tuesday 2026-12-01.
        assert!(s.is_open(utc("2026-12-01T11:59:00Z")));
        assert!(!s.is_open(utc("2026-12-01T12:30:00Z")));
        assert_eq!(
            s.next_open(utc("2026-12-01T12:30:00Z")),
            Some(utc("2026-12-01T13:00:00Z"))
        );
        assert_eq!(
            s.next_close(utc("2026-12-01T09:00:00Z")),
            Some(utc("2026-12-01T12:00:00Z"))
        );
        // Closed the rest of the week: next open is the next Tuesday.
        assert_eq!(
            s.next_open(utc("2026-12-01T18:00:00Z")),
            Some(utc("2026-12-08T09:00:00Z"))
        );
        assert_eq!(
            s.business_duration(utc("2026-12-01T00:00:00Z"), utc("2026-12-02T00:00:00Z")),
            Duration::minutes(7 * 60 + 30)
        );
    }

    #[test]
    fn night_shift_joins_across_midnight() {
        // Monday 22:00–24:00 and Tuesday 00:00–06:00 in Tokyo (+9, no DST).
        let ranges = [
            Range {
                day_of_week: 1,
                open: 22 * 60,
                close: DAY_MINUTES,
            },
            Range {
                day_of_week: 2,
                open: 0,
                close: 6 * 60,
            },
        ];
        let s = sched("Asia/Tokyo", &ranges, &[]);
        // Monday 2026-11-30 22:00 JST = 13:00Z; closes Tuesday 06:00 JST = 21:00Z.
        assert_eq!(
            s.current_period(utc("2026-11-30T15:00:00Z")),
            Some((utc("2026-11-30T13:00:00Z"), utc("2026-11-30T21:00:00Z")))
        );
        assert!(s.is_open(utc("2026-11-30T15:00:00Z")));
        assert_eq!(
            s.next_close(utc("2026-11-30T14:00:00Z")),
            Some(utc("2026-11-30T21:00:00Z"))
        );
    }

    #[test]
    fn always_open_never_closes_and_no_hours_never_opens() {
        let s = Schedule::always_open();
        let now = utc("2026-12-01T10:00:00Z");
        assert!(s.is_open(now));
        assert_eq!(s.next_open(now), Some(now));
        assert_eq!(s.next_close(now), None);
        let closed = sched("Europe/Berlin", &[], &[]);
        assert!(!closed.is_open(now));
        assert_eq!(closed.next_open(now), None);
        assert_eq!(closed.next_close(now), None);
        assert_eq!(closed.add_business_time(now, Duration::hours(1), 30), None);
        assert_eq!(
            closed.add_business_time(now, Duration::zero(), 30),
            Some(now)
        );
    }

    #[test]
    fn invalid_ranges_and_zones_name_the_field() {
        let bad = [Range {
            day_of_week: 1,
            open: 600,
            close: 600,
        }];
        let e = Schedule::new(Tz::UTC, &bad, []).unwrap_err();
        assert_eq!(e.field, "working_hours[0].close_hour");
        let e = Schedule::new(
            Tz::UTC,
            &[Range {
                day_of_week: 7,
                open: 0,
                close: 10,
            }],
            [],
        )
        .unwrap_err();
        assert_eq!(e.field, "working_hours[0].day_of_week");
        assert_eq!(parse_tz("Mars/Olympus").unwrap_err().field, "timezone");
    }
}

//! The business-day calendar the terms of service count in: Japan's national
//! holidays and the operator's own closing days.
//!
//! The holidays come from `data/holidays-jp.txt`, the Cabinet Office's list
//! for the years it covers; years outside it follow the Act on National
//! Holidays by code: the fixed and Monday holidays, the equinoxes by the
//! National Astronomical Observatory's formula, the substitute holiday (a
//! holiday on a Sunday moves to the next day that is not a holiday) and the
//! citizens' holiday (a day between two holidays). Special one-off holidays
//! (2019's enthronement, the 2020-2021 Olympic moves) exist only in the list.

use std::collections::{BTreeMap, BTreeSet};
use time::{Date, Duration, Month, Weekday};

const LIST: &str = include_str!("../data/holidays-jp.txt");

/// Most yearly closing days the operator may set.
const MAX_YEARLY_CLOSING: usize = 60;

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<Date, String> {
    let bad = || format!("{s:?} is not a date (YYYY-MM-DD)");
    let mut it = s.trim().splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (it.next(), it.next(), it.next()) else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let y: i32 = y.parse().map_err(|_| bad())?;
    let m: u8 = m.parse().map_err(|_| bad())?;
    let d: u8 = d.parse().map_err(|_| bad())?;
    let m = Month::try_from(m).map_err(|_| bad())?;
    Date::from_calendar_date(y, m, d).map_err(|e| format!("{s:?} is not a date: {e}"))
}

/// Formats as `YYYY-MM-DD`.
pub fn fmt_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// The n-th given weekday of a month (n from 1).
fn nth_weekday(year: i32, month: Month, n: u8, wd: Weekday) -> Date {
    let first = Date::from_calendar_date(year, month, 1).unwrap_or(Date::MIN);
    let shift = (wd.number_days_from_monday() + 7 - first.weekday().number_days_from_monday()) % 7;
    first + Duration::days(i64::from(shift) + 7 * i64::from(n - 1))
}

fn ymd(year: i32, month: Month, day: u8) -> Option<Date> {
    Date::from_calendar_date(year, month, day).ok()
}

/// The day of the vernal (or autumnal) equinox by the observatory's formula
/// for 1980-2099, in millionths of a day to stay exact.
fn equinox(year: i32, autumn: bool) -> u8 {
    let base: i64 = if autumn { 23_248_800 } else { 20_843_100 };
    let y = i64::from(year - 1980);
    ((base + 242_194 * y) / 1_000_000 - y.div_euclid(4)) as u8
}

/// The national holidays proper (国民の祝日) of a year by the rules in force
/// since 2020, without substitute or citizens' holidays.
fn statutory(year: i32) -> Vec<(Date, &'static str)> {
    use Month::*;
    let mut v: Vec<(Option<Date>, &'static str)> = vec![
        (ymd(year, January, 1), "元日"),
        (
            Some(nth_weekday(year, January, 2, Weekday::Monday)),
            "成人の日",
        ),
        (ymd(year, February, 11), "建国記念の日"),
        (ymd(year, February, 23), "天皇誕生日"),
        (ymd(year, March, equinox(year, false)), "春分の日"),
        (ymd(year, April, 29), "昭和の日"),
        (ymd(year, May, 3), "憲法記念日"),
        (ymd(year, May, 4), "みどりの日"),
        (ymd(year, May, 5), "こどもの日"),
        (Some(nth_weekday(year, July, 3, Weekday::Monday)), "海の日"),
        (ymd(year, August, 11), "山の日"),
        (
            Some(nth_weekday(year, September, 3, Weekday::Monday)),
            "敬老の日",
        ),
        (ymd(year, September, equinox(year, true)), "秋分の日"),
        (
            Some(nth_weekday(year, October, 2, Weekday::Monday)),
            "スポーツの日",
        ),
        (ymd(year, November, 3), "文化の日"),
        (ymd(year, November, 23), "勤労感謝の日"),
    ];
    v.sort_by_key(|(d, _)| *d);
    v.into_iter()
        .filter_map(|(d, n)| d.map(|d| (d, n)))
        .collect()
}

/// Every holiday of a year by the rules: the holidays proper, then the
/// substitute holidays (振替休日) and the citizens' holidays (国民の休日).
pub fn holidays_by_rule(year: i32) -> BTreeMap<Date, &'static str> {
    let proper: BTreeMap<Date, &'static str> = statutory(year).into_iter().collect();
    let mut all = proper.clone();
    for d in proper.keys() {
        if d.weekday() == Weekday::Sunday {
            let mut s = *d + Duration::days(1);
            while proper.contains_key(&s) {
                s += Duration::days(1);
            }
            all.insert(s, "休日");
        }
    }
    for d in proper.keys() {
        let between = *d + Duration::days(1);
        let next = *d + Duration::days(2);
        if proper.contains_key(&next) && !all.contains_key(&between) {
            all.insert(between, "休日");
        }
    }
    all
}

/// The calendar of business days.
#[derive(Debug, Clone)]
pub struct Calendar {
    listed: BTreeMap<Date, String>,
    listed_years: (i32, i32),
    /// Yearly closing days as (month, day), e.g. 12-29 to 01-03.
    closing: BTreeSet<(u8, u8)>,
    /// Single closing days.
    closed: BTreeSet<Date>,
}

/// Why a day is not a business day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    Weekend,
    Holiday(String),
    Operator,
}

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Closed::Weekend => f.write_str("weekend"),
            Closed::Holiday(n) => write!(f, "national holiday ({n})"),
            Closed::Operator => f.write_str("operator closing day"),
        }
    }
}

impl Calendar {
    /// The calendar from the shipped holiday list and the operator's closing
    /// days: `MM-DD` yearly (`12-29`) or `MM-DD..MM-DD` ranges that may wrap
    /// the year (`12-29..01-03`), and single `YYYY-MM-DD` dates.
    pub fn new(closing: &[String]) -> Result<Calendar, String> {
        let mut listed = BTreeMap::new();
        for (i, line) in LIST.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (d, name) = line.split_once('\t').unwrap_or((line, ""));
            let d = parse_date(d).map_err(|e| format!("holiday list line {}: {e}", i + 1))?;
            listed.insert(d, name.trim().to_string());
        }
        let years = match (listed.keys().next(), listed.keys().next_back()) {
            (Some(a), Some(b)) => (a.year(), b.year()),
            _ => (0, -1),
        };
        let mut c = Calendar {
            listed,
            listed_years: years,
            closing: BTreeSet::new(),
            closed: BTreeSet::new(),
        };
        for spec in closing {
            c.add_closing(spec)?;
        }
        // Business days must stay to count in (and counting must end).
        if c.closing.len() > MAX_YEARLY_CLOSING {
            return Err(format!(
                "the closing days cover {} days of every year; at most {MAX_YEARLY_CLOSING}",
                c.closing.len()
            ));
        }
        Ok(c)
    }

    fn add_closing(&mut self, spec: &str) -> Result<(), String> {
        let md = |s: &str| -> Result<(u8, u8), String> {
            // Checked against a leap year so 02-29 is accepted.
            let d = parse_date(&format!("2000-{}", s.trim()))
                .map_err(|_| format!("closing day {spec:?}: {s:?} is not MM-DD"))?;
            Ok((u8::from(d.month()), d.day()))
        };
        if let Some((a, b)) = spec.split_once("..") {
            let (mut cur, end) = (md(a)?, md(b)?);
            let mut d = Date::from_calendar_date(
                2000,
                Month::try_from(cur.0).map_err(|e| e.to_string())?,
                cur.1,
            )
            .map_err(|e| e.to_string())?;
            for _ in 0..366 {
                self.closing.insert(cur);
                if cur == end {
                    return Ok(());
                }
                d = d.next_day().unwrap_or(d);
                if d.year() != 2000 {
                    d = Date::from_calendar_date(2000, Month::January, 1).unwrap_or(d);
                }
                cur = (u8::from(d.month()), d.day());
            }
            return Ok(());
        }
        if spec.trim().len() == 10 {
            self.closed.insert(parse_date(spec)?);
        } else {
            self.closing.insert(md(spec)?);
        }
        Ok(())
    }

    /// The years the shipped list covers; other years follow the rules.
    pub fn listed_years(&self) -> (i32, i32) {
        self.listed_years
    }

    /// The national holiday on this day, if any.
    pub fn holiday(&self, d: Date) -> Option<String> {
        let (a, b) = self.listed_years;
        if (a..=b).contains(&d.year()) {
            self.listed.get(&d).cloned()
        } else {
            holidays_by_rule(d.year()).get(&d).map(|n| n.to_string())
        }
    }

    /// Why this day is not a business day, or None when it is one.
    pub fn closed(&self, d: Date) -> Option<Closed> {
        if let Some(h) = self.holiday(d) {
            return Some(Closed::Holiday(h));
        }
        if matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) {
            return Some(Closed::Weekend);
        }
        if self.closed.contains(&d) || self.closing.contains(&(u8::from(d.month()), d.day())) {
            return Some(Closed::Operator);
        }
        None
    }

    pub fn is_business_day(&self, d: Date) -> bool {
        self.closed(d).is_none()
    }

    /// The day `n` business days before `d` (`n` = 0: `d` itself).
    pub fn business_days_before(&self, d: Date, n: u32) -> Date {
        self.step(d, n, -1)
    }

    /// The day `n` business days after `d`.
    pub fn business_days_after(&self, d: Date, n: u32) -> Date {
        self.step(d, n, 1)
    }

    fn step(&self, mut d: Date, n: u32, dir: i64) -> Date {
        let mut left = n;
        while left > 0 {
            d += Duration::days(dir);
            if self.is_business_day(d) {
                left -= 1;
            }
        }
        d
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn d(s: &str) -> Date {
        parse_date(s).unwrap()
    }

    /// The calendar with the default year-end closing.
    pub(crate) fn cal() -> Calendar {
        Calendar::new(&["12-29..01-03".into()]).unwrap()
    }

    /// Dates as the Cabinet Office published them (syukujitsu.csv), each
    /// year's whole list, written out here independently of the data file.
    const PUBLISHED: &[(i32, &[&str])] = &[
        (
            2019,
            &[
                "01-01", "01-14", "02-11", "03-21", "04-29", "04-30", "05-01", "05-02", "05-03",
                "05-04", "05-05", "05-06", "07-15", "08-11", "08-12", "09-16", "09-23", "10-14",
                "10-22", "11-03", "11-04", "11-23",
            ],
        ),
        (
            2024,
            &[
                "01-01", "01-08", "02-11", "02-12", "02-23", "03-20", "04-29", "05-03", "05-04",
                "05-05", "05-06", "07-15", "08-11", "08-12", "09-16", "09-22", "09-23", "10-14",
                "11-03", "11-04", "11-23",
            ],
        ),
        (
            2025,
            &[
                "01-01", "01-13", "02-11", "02-23", "02-24", "03-20", "04-29", "05-03", "05-04",
                "05-05", "05-06", "07-21", "08-11", "09-15", "09-23", "10-13", "11-03", "11-23",
                "11-24",
            ],
        ),
        (
            2026,
            &[
                "01-01", "01-12", "02-11", "02-23", "03-20", "04-29", "05-03", "05-04", "05-05",
                "05-06", "07-20", "08-11", "09-21", "09-22", "09-23", "10-12", "11-03", "11-23",
            ],
        ),
    ];

    #[test]
    fn the_shipped_list_matches_the_published_holidays() {
        let c = cal();
        for (year, days) in PUBLISHED {
            let want: Vec<Date> = days.iter().map(|md| d(&format!("{year}-{md}"))).collect();
            let mut got = Vec::new();
            let mut x = d(&format!("{year}-01-01"));
            while x.year() == *year {
                if c.holiday(x).is_some() {
                    got.push(x);
                }
                x = x.next_day().unwrap();
            }
            assert_eq!(got, want, "{year}");
        }
        // Substitute and citizens' holidays carry the published name.
        assert_eq!(c.holiday(d("2024-05-06")).as_deref(), Some("休日"));
        assert_eq!(c.holiday(d("2026-09-22")).as_deref(), Some("休日"));
        assert_eq!(c.holiday(d("2020-07-24")).as_deref(), Some("スポーツの日"));
    }

    #[test]
    fn the_rules_give_the_list_for_ordinary_years() {
        // 2022-2030 have no special holiday: the rules alone give the list.
        let c = cal();
        for year in 2022..=2030 {
            let mut x = d(&format!("{year}-01-01"));
            let rules = holidays_by_rule(year);
            while x.year() == year {
                assert_eq!(
                    c.holiday(x).is_some(),
                    rules.contains_key(&x),
                    "{}",
                    fmt_date(x)
                );
                x = x.next_day().unwrap();
            }
        }
        // Past the list: the rules (2031: Jan 1 is a Wednesday; Sep 21 2032
        // is a citizens' holiday between Respect for the Aged and the equinox).
        assert!(c.listed_years().1 < 2031);
        assert_eq!(c.holiday(d("2031-01-13")).as_deref(), Some("成人の日"));
        assert_eq!(c.holiday(d("2032-09-21")).as_deref(), Some("休日"));
        assert_eq!(c.holiday(d("2031-03-21")).as_deref(), Some("春分の日"));
    }

    #[test]
    fn business_days_skip_weekends_holidays_and_closing_days() {
        let c = cal();
        // Friday 2024-11-01, then Sat 2, Sun 3 (Culture Day), Mon 4 (substitute).
        assert_eq!(c.business_days_after(d("2024-11-01"), 1), d("2024-11-05"));
        assert_eq!(c.business_days_before(d("2024-11-05"), 1), d("2024-11-01"));
        assert_eq!(
            c.closed(d("2024-11-04")),
            Some(Closed::Holiday("休日".into()))
        );
        assert_eq!(c.closed(d("2024-11-02")), Some(Closed::Weekend));
        // Year end: 12-27 (Fri) is the last business day of 2024, 01-06 (Mon)
        // the first of 2025 (12-30, 12-31, 01-02, 01-03 are closing days).
        assert_eq!(c.closed(d("2024-12-30")), Some(Closed::Operator));
        assert_eq!(c.business_days_after(d("2024-12-27"), 1), d("2025-01-06"));
        let open_all_year = Calendar::new(&[]).unwrap();
        assert_eq!(
            open_all_year.business_days_after(d("2024-12-27"), 1),
            d("2024-12-30")
        );
        let extra = Calendar::new(&["2024-08-13".into(), "08-14".into()]).unwrap();
        assert_eq!(
            extra.business_days_after(d("2024-08-09"), 1),
            d("2024-08-15")
        );
        assert!(Calendar::new(&["13-01".into()]).is_err());
        let e = Calendar::new(&["01-01..12-31".into()]).unwrap_err();
        assert!(e.contains("366 days of every year"), "{e}");
    }
}

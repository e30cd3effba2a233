//! The dates and amounts the terms of service set, as pure functions of a
//! contract's recorded dates, the calendar and the price and tax tables.
//! Money is whole yen in `i64`; a fraction of a yen is dropped once, at the
//! end of each calculation (料金表 通則, 端数処理).

use crate::calendar::{fmt_date, Calendar};
use serde::Serialize;
use time::{Date, Duration, Month};

/// Business days before the requested opening date by which the equipment
/// must be delivered (annex 1, 4.1).
pub const DELIVERY_DEADLINE_BD: u32 = 9;
/// Delivery delay days count from this many business days before (def. 9).
pub const DELIVERY_DELAY_FROM_BD: u32 = 8;
/// The opening test is due this many business days before (art. 3 (2)).
pub const TEST_DEADLINE_BD: u32 = 2;
/// Opening-test delay days count from this many business days before (def. 10).
pub const TEST_DELAY_FROM_BD: u32 = 1;
/// The customer installs the sensor by this many business days before the
/// opening date (art. 31 (16)).
pub const INSTALL_DEADLINE_BD: u32 = 4;
/// Late-payment interest, per mille a year (art. 21: 14.5%).
pub const LATE_INTEREST_PERMILLE: i64 = 145;

/// Days counted from `from` to `to`, the same day counting as 1 (def. 9, 10).
/// A day before `from` (a closed day between the deadline and `from`) counts
/// as `from` itself: 1.
pub fn counted_days(from: Date, to: Date) -> u32 {
    u32::try_from((to - from).whole_days() + 1)
        .unwrap_or(1)
        .max(1)
}

/// A contract's dates as the terms compute them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TermDates {
    pub requested_opening: String,
    pub delivery_deadline: String,
    pub delivery_delay_from: String,
    /// Calendar days the opening moves by a late delivery (0: on time or not
    /// yet delivered).
    pub delivery_delay_days: u32,
    pub test_deadline: String,
    pub test_delay_from: String,
    /// Calendar days the opening moves by a late opening test.
    pub test_delay_days: u32,
    /// The opening date (開通日): the requested date moved by the larger
    /// delay. Billing starts on it, installed or not (art. 31 (16)).
    pub opening: String,
    pub installation_deadline: String,
    pub billing_start: String,
    /// Possession from the delivery date (annex 1, 4.2).
    pub possession_from: Option<String>,
}

/// Computes the dates of the terms from the requested opening date and the
/// recorded delivery, installation and opening-test dates.
///
/// Both delays are counted from the requested date; when both apply, the
/// opening moves by the larger one (the delays overlap in time, they do not
/// add up). The test delay applies only when the customer installed the
/// sensor by its deadline (art. 3 (2): "設置が遅滞なく完了後").
pub fn term_dates(
    cal: &Calendar,
    requested: Date,
    delivered: Option<Date>,
    installed: Option<Date>,
    tested: Option<Date>,
) -> TermDates {
    let delivery_deadline = cal.business_days_before(requested, DELIVERY_DEADLINE_BD);
    let delivery_delay_from = cal.business_days_before(requested, DELIVERY_DELAY_FROM_BD);
    let delivery_delay_days = match delivered {
        Some(d) if d > delivery_deadline => counted_days(delivery_delay_from, d),
        _ => 0,
    };
    let after_delivery = requested + Duration::days(i64::from(delivery_delay_days));
    let install_deadline_before_test =
        cal.business_days_before(after_delivery, INSTALL_DEADLINE_BD);
    let test_deadline = cal.business_days_before(requested, TEST_DEADLINE_BD);
    let test_delay_from = cal.business_days_before(requested, TEST_DELAY_FROM_BD);
    let installed_in_time = installed.is_some_and(|i| i <= install_deadline_before_test);
    let test_delay_days = match tested {
        Some(t) if t > test_deadline && installed_in_time => counted_days(test_delay_from, t),
        _ => 0,
    };
    let opening = requested + Duration::days(i64::from(delivery_delay_days.max(test_delay_days)));
    TermDates {
        requested_opening: fmt_date(requested),
        delivery_deadline: fmt_date(delivery_deadline),
        delivery_delay_from: fmt_date(delivery_delay_from),
        delivery_delay_days,
        test_deadline: fmt_date(test_deadline),
        test_delay_from: fmt_date(test_delay_from),
        test_delay_days,
        opening: fmt_date(opening),
        installation_deadline: fmt_date(cal.business_days_before(opening, INSTALL_DEADLINE_BD)),
        billing_start: fmt_date(opening),
        possession_from: delivered.map(fmt_date),
    }
}

/// A table of amounts with the day each takes effect.
#[derive(Debug, Clone, Default)]
pub struct Table {
    rows: Vec<(Date, i64)>,
}

impl Table {
    pub fn new(mut rows: Vec<(Date, i64)>) -> Table {
        rows.sort();
        Table { rows }
    }

    /// The amount in force on `d`.
    pub fn on(&self, d: Date) -> Option<i64> {
        self.rows
            .iter()
            .rev()
            .find(|(from, _)| *from <= d)
            .map(|r| r.1)
    }

    /// The days on which an amount takes effect.
    fn changes(&self) -> impl Iterator<Item = Date> + '_ {
        self.rows.iter().map(|r| r.0)
    }
}

pub fn first_of_month(year: i32, month: Month) -> Date {
    Date::from_calendar_date(year, month, 1).unwrap_or(Date::MIN)
}

pub fn last_of_month(first: Date) -> Date {
    first + Duration::days(i64::from(days_in_month(first)) - 1)
}

pub fn days_in_month(d: Date) -> u8 {
    d.month().length(d.year())
}

/// One month's fee for one contract.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MonthlyFee {
    pub yen: i64,
    /// Billed days and the month's days: 30/30 for a whole month.
    pub days: u32,
    pub month_days: u32,
    /// How it was computed, e.g. `14/30 x 60,000`.
    pub detail: String,
}

/// The monthly fee for the month starting `first`, for service from `start`
/// to `end` (the termination day, inclusive; None: still open). A month only
/// partly served is pro-rated by the days of that month; a price change
/// applies from its day. Exact: the sum of price x days over the month's
/// parts, divided by the month's days once, the fraction dropped.
pub fn monthly_fee(
    prices: &Table,
    first: Date,
    start: Date,
    end: Option<Date>,
) -> Option<MonthlyFee> {
    let last = last_of_month(first);
    let from = start.max(first);
    let to = end.map_or(last, |e| e.min(last));
    if from > to {
        return None;
    }
    let month_days = u32::from(days_in_month(first));
    let mut cuts: Vec<Date> = prices.changes().filter(|c| *c > from && *c <= to).collect();
    cuts.push(to + Duration::days(1));
    let mut part_start = from;
    let (mut sum, mut days) = (0i64, 0u32);
    let mut parts = Vec::new();
    for cut in cuts {
        let n = (cut - part_start).whole_days();
        let price = prices.on(part_start)?;
        sum += price * n;
        days += n as u32;
        parts.push(format!("{n}/{month_days} x {}", yen(price)));
        part_start = cut;
    }
    Some(MonthlyFee {
        yen: sum / i64::from(month_days),
        days,
        month_days,
        detail: format!(
            "{}..{}: {}",
            fmt_date(from),
            fmt_date(to),
            parts.join(" + ")
        ),
    })
}

/// Consumption tax on an amount at a rate in per mille, the fraction dropped.
pub fn tax(amount: i64, permille: i64) -> i64 {
    amount * permille / 1000
}

/// Late-payment interest (art. 21): 14.5% a year on `principal` for the days
/// from the day after `due` to the day before `paid`, a year of 365 days,
/// the fraction dropped. Returns (days, yen).
pub fn late_interest(principal: i64, due: Date, paid: Date) -> (i64, i64) {
    let days = ((paid - due).whole_days() - 1).max(0);
    (
        days,
        principal * LATE_INTEREST_PERMILLE * days / (1000 * 365),
    )
}

/// `1234567` as `1,234,567`.
pub fn yen(v: i64) -> String {
    let s = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::tests::{cal, d};

    fn prices() -> Table {
        Table::new(vec![(d("2000-01-01"), 60_000)])
    }

    #[test]
    fn delivery_two_business_days_late_across_a_holiday_and_a_weekend() {
        // Requested opening Thu 2024-11-14. Counting back over business days:
        // 13, 12, 11, 8, 7, 6, 5 (Mon 4 is the substitute holiday for Culture
        // Day, Sat 2 and Sun 3 the weekend), 1 = 8 business days before;
        // Thu 10-31 = 9 business days before: the delivery deadline.
        // Delivered Tue 11-05, two business days after the deadline (11-01,
        // 11-05). Delay days (def. 9): from Fri 11-01 to Tue 11-05 counted
        // inclusively: 1, 2, 3, 4, 5 = 5 days. Opening: 11-14 + 5 = 11-19.
        // Installation by 4 business days before Tue 11-19: 18, 15, 14, 13
        // -> Wed 11-13.
        let t = term_dates(&cal(), d("2024-11-14"), Some(d("2024-11-05")), None, None);
        assert_eq!(t.delivery_deadline, "2024-10-31");
        assert_eq!(t.delivery_delay_from, "2024-11-01");
        assert_eq!(t.delivery_delay_days, 5);
        assert_eq!(t.opening, "2024-11-19");
        assert_eq!(t.billing_start, "2024-11-19");
        assert_eq!(t.installation_deadline, "2024-11-13");
        assert_eq!(t.possession_from.as_deref(), Some("2024-11-05"));
        // Delivered on the deadline: no delay, the requested date stands.
        let t = term_dates(&cal(), d("2024-11-14"), Some(d("2024-10-31")), None, None);
        assert_eq!(
            (t.delivery_delay_days, t.opening.as_str()),
            (0, "2024-11-14")
        );
        // Delivered on 11-01 itself: the same day counts as 1.
        let t = term_dates(&cal(), d("2024-11-14"), Some(d("2024-11-01")), None, None);
        assert_eq!(
            (t.delivery_delay_days, t.opening.as_str()),
            (1, "2024-11-15")
        );
    }

    #[test]
    fn opening_test_completed_late() {
        // Requested opening Wed 2025-05-07. Business days before it: Tue 5-06
        // and Mon 5-05 are holidays (substitute, Children's Day), Sun 5-04 and
        // Sat 5-03 too, so 1 business day before = Fri 5-02, 2 before = Thu
        // 5-01. Delivered on time (4-17), installed Mon 4-28 (4 business days
        // before 5-07: 5-02, 5-01, 4-30, 4-28 -> deadline 4-28; Tue 4-29 is
        // Showa Day). Test done Fri 5-09: late (deadline 5-01). Delay days
        // (def. 10) from 5-02 to 5-09 inclusive = 8. Opening 5-07 + 8 = 5-15.
        let t = term_dates(
            &cal(),
            d("2025-05-07"),
            Some(d("2025-04-17")),
            Some(d("2025-04-28")),
            Some(d("2025-05-09")),
        );
        assert_eq!(t.test_deadline, "2025-05-01");
        assert_eq!(t.test_delay_from, "2025-05-02");
        assert_eq!(t.delivery_delay_days, 0);
        assert_eq!(t.test_delay_days, 8);
        assert_eq!(t.opening, "2025-05-15");
        // Installed late (4-30, after the 4-28 deadline): the late test does
        // not move the opening.
        let t = term_dates(
            &cal(),
            d("2025-05-07"),
            Some(d("2025-04-17")),
            Some(d("2025-04-30")),
            Some(d("2025-05-09")),
        );
        assert_eq!((t.test_delay_days, t.opening.as_str()), (0, "2025-05-07"));
    }

    #[test]
    fn opening_on_the_17th_of_a_30_day_month_terminated_on_the_3rd_of_a_31_day_month() {
        // Opened 2025-04-17 (April: 30 days): 17..30 = 14 days,
        // 60,000 x 14 / 30 = 28,000. May (31 days) whole: 60,000.
        // Terminated 2025-08-03 (August: 31 days): 1..3 = 3 days,
        // 60,000 x 3 / 31 = 5,806.45... -> 5,806.
        let p = prices();
        let (open, end) = (d("2025-04-17"), Some(d("2025-08-03")));
        let april = monthly_fee(&p, d("2025-04-01"), open, end).unwrap();
        assert_eq!((april.yen, april.days, april.month_days), (28_000, 14, 30));
        assert_eq!(
            monthly_fee(&p, d("2025-05-01"), open, end).unwrap().yen,
            60_000
        );
        let aug = monthly_fee(&p, d("2025-08-01"), open, end).unwrap();
        assert_eq!((aug.yen, aug.days, aug.month_days), (5_806, 3, 31));
        assert_eq!(monthly_fee(&p, d("2025-09-01"), open, end), None);
        assert_eq!(monthly_fee(&p, d("2025-03-01"), open, end), None);
        // With tax at 10%: 28,000 -> 2,800; 5,806 -> 580.6 -> 580.
        assert_eq!(tax(28_000, 100), 2_800);
        assert_eq!(tax(5_806, 100), 580);
    }

    #[test]
    fn opening_and_termination_on_the_same_day() {
        // 2025-06-10 to 2025-06-10 counts as 1 day (art. 19): 60,000 x 1 / 30
        // = 2,000.
        let f = monthly_fee(
            &prices(),
            d("2025-06-01"),
            d("2025-06-10"),
            Some(d("2025-06-10")),
        )
        .unwrap();
        assert_eq!((f.yen, f.days), (2_000, 1));
    }

    #[test]
    fn a_price_change_in_mid_month() {
        // 60,000 until 2025-07-15, 66,000 from 2025-07-16 (July: 31 days).
        // (60,000 x 15 + 66,000 x 16) / 31 = (900,000 + 1,056,000) / 31
        // = 1,956,000 / 31 = 63,096.77... -> 63,096.
        let p = Table::new(vec![(d("2000-01-01"), 60_000), (d("2025-07-16"), 66_000)]);
        let f = monthly_fee(&p, d("2025-07-01"), d("2024-01-10"), None).unwrap();
        assert_eq!((f.yen, f.days), (63_096, 31));
        assert!(
            f.detail.contains("15/31 x 60,000 + 16/31 x 66,000"),
            "{}",
            f.detail
        );
        // Opened 07-20, after the change: 12 days at the new price,
        // 66,000 x 12 / 31 = 25,548.38... -> 25,548.
        assert_eq!(
            monthly_fee(&p, d("2025-07-01"), d("2025-07-20"), None)
                .unwrap()
                .yen,
            25_548
        );
        // The next month is whole at the new price.
        assert_eq!(
            monthly_fee(&p, d("2025-08-01"), d("2024-01-10"), None)
                .unwrap()
                .yen,
            66_000
        );
    }

    #[test]
    fn a_payment_20_days_late() {
        // 66,000 due 2025-06-30, paid 2025-07-20 (20 days after). Interest
        // days from 07-01 to 07-19 = 19; 66,000 x 0.145 x 19 / 365
        // = 181,830 / 365 = 498.16... -> 498.
        assert_eq!(
            late_interest(66_000, d("2025-06-30"), d("2025-07-20")),
            (19, 498)
        );
        // Paid on the due date or the day after: no day counts.
        assert_eq!(
            late_interest(66_000, d("2025-06-30"), d("2025-06-30")),
            (0, 0)
        );
        assert_eq!(
            late_interest(66_000, d("2025-06-30"), d("2025-07-01")),
            (0, 0)
        );
    }

    #[test]
    fn tables_apply_from_their_day() {
        let t = Table::new(vec![(d("2019-10-01"), 100), (d("2014-04-01"), 80)]);
        assert_eq!(t.on(d("2019-09-30")), Some(80));
        assert_eq!(t.on(d("2019-10-01")), Some(100));
        assert_eq!(t.on(d("2014-03-31")), None);
        assert_eq!(yen(1_234_567), "1,234,567");
        assert_eq!(yen(999), "999");
    }
}

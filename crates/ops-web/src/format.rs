//! Figures and dates as a manager reads them: thousands separators, data in
//! kB/MB/GB, percentages, changes with a real minus sign, "6 Oct – 30 Nov
//! 2026". Also the query-string encoding of the dashboard's links.

use chrono::{Datelike, NaiveDate};
use std::fmt::Write;

/// How the numbers of a chart or a figure are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// People, requests, accounts: "12,345", "2.5".
    Count,
    /// Data: "50 kB", "1.45 GB" (powers of 1000).
    Bytes,
    /// Shares: "60 %".
    Percent,
}

impl Scale {
    /// A figure in full.
    pub fn figure(self, value: f64) -> String {
        match self {
            Self::Count => count(value),
            Self::Bytes => bytes(value),
            Self::Percent => percent(value),
        }
    }

    /// A short label for an axis tick.
    pub fn tick(self, value: f64) -> String {
        match self {
            Self::Count => compact(value),
            Self::Bytes => bytes(value),
            Self::Percent => format!("{} %", compact(value)),
        }
    }
}

/// A count with thousands separators; below 10, one decimal when it has one.
pub fn count(value: f64) -> String {
    if !value.is_finite() {
        return "–".to_owned();
    }
    if value.abs() < 10.0 && (value - value.round()).abs() >= 0.05 {
        return format!("{value:.1}");
    }
    let rounded = value.round();
    let sign = if rounded < 0.0 { "−" } else { "" };
    let digits = format!("{:.0}", rounded.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// A short number for axes: "950", "1,250", "15k", "2M".
pub fn compact(value: f64) -> String {
    let abs = value.abs();
    if (10.0..1e4).contains(&abs) && whole(value) {
        return count(value);
    }
    let (scaled, suffix) = if abs >= 1e9 {
        (value / 1e9, "G")
    } else if abs >= 1e6 {
        (value / 1e6, "M")
    } else if abs >= 1e4 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    format!("{}{suffix}", trimmed(scaled))
}

fn whole(value: f64) -> bool {
    (value - value.round()).abs() < 1e-9
}

/// At most three significant figures, no trailing zeros: "1.5", "15", "150".
fn trimmed(value: f64) -> String {
    let text = if value.abs() >= 100.0 || whole(value) {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// Data with its unit, in powers of 1000: "999 B", "50 kB", "23.2 MB".
pub fn bytes(value: f64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if value.abs() < 1000.0 {
        return format!("{} B", trimmed(value.round()));
    }
    let mut scaled = value / 1000.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if scaled.abs() < 999.5 {
            break;
        }
        scaled /= 1000.0;
        unit = next;
    }
    format!("{} {unit}", trimmed(scaled))
}

/// A share: "60 %", "4.5 %".
pub fn percent(value: f64) -> String {
    if value.abs() < 10.0 && (value - value.round()).abs() >= 0.05 {
        format!("{value:.1} %")
    } else {
        format!("{value:.0} %")
    }
}

/// The change from `then` to `now` in percent, with its direction (`up`,
/// `down` or `flat`); `None` when `then` is zero.
pub fn change(now: f64, then: f64) -> Option<(String, &'static str)> {
    if then.abs() < f64::EPSILON {
        return None;
    }
    let delta = (now - then) / then.abs() * 100.0;
    let shown = delta.round();
    Some(if shown == 0.0 {
        ("±0 %".to_owned(), "flat")
    } else if shown > 0.0 {
        (format!("+{shown:.0} %"), "up")
    } else {
        (format!("−{:.0} %", -shown), "down")
    })
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn month(date: NaiveDate) -> &'static str {
    MONTHS[date.month0() as usize]
}

/// "5 Feb 2024".
pub fn day(date: NaiveDate) -> String {
    format!("{} {} {}", date.day(), month(date), date.year())
}

/// "5 Feb".
pub fn short_day(date: NaiveDate) -> String {
    format!("{} {}", date.day(), month(date))
}

/// "Mon 29 Apr 2024".
pub fn weekday_day(date: NaiveDate) -> String {
    format!("{} {}", date.weekday(), day(date))
}

/// A range of days written once: "1 – 28 Apr 2024", "6 Oct – 30 Nov 2026",
/// "29 Dec 2025 – 25 Jan 2026".
pub fn range(from: NaiveDate, to: NaiveDate) -> String {
    if from.year() != to.year() {
        format!("{} – {}", day(from), day(to))
    } else if from.month() != to.month() {
        format!("{} – {}", short_day(from), day(to))
    } else if from.day() == to.day() {
        day(to)
    } else {
        format!("{} – {}", from.day(), day(to))
    }
}

/// Percent-encodes a metric name (or anything else) for a path segment or a
/// query value; `:` stays, as breakdowns are named `name:key`.
pub fn url_part(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~:".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn figures_read_well() {
        assert_eq!(count(1_234_567.0), "1,234,567");
        assert_eq!(count(999.4), "999");
        assert_eq!(count(2.5), "2.5");
        assert_eq!(count(2.0), "2");
        assert_eq!(count(-1500.0), "−1,500");
        assert_eq!(compact(950.0), "950");
        assert_eq!(compact(12_000.0), "12k");
        assert_eq!(compact(1_500_000.0), "1.5M");
        assert_eq!(compact(2.5), "2.5");
        assert_eq!(compact(1250.0), "1,250");
        assert_eq!(bytes(999.0), "999 B");
        assert_eq!(bytes(50_000.0), "50 kB");
        assert_eq!(bytes(23_160_000.0), "23.2 MB");
        assert_eq!(bytes(1_450_000_000.0), "1.45 GB");
        assert_eq!(bytes(999_900.0), "1 MB");
        assert_eq!(percent(60.0), "60 %");
        assert_eq!(percent(4.5), "4.5 %");
        assert_eq!(change(5.0, 4.0), Some(("+25 %".to_owned(), "up")));
        assert_eq!(change(1.0, 3.0), Some(("−67 %".to_owned(), "down")));
        assert_eq!(change(3.0, 3.0), Some(("±0 %".to_owned(), "flat")));
        assert_eq!(change(3.0, 0.0), None);
    }

    #[test]
    fn dates_are_written_out() {
        assert_eq!(
            range(date(2026, 10, 6), date(2026, 11, 30)),
            "6 Oct – 30 Nov 2026"
        );
        assert_eq!(
            range(date(2024, 4, 1), date(2024, 4, 28)),
            "1 – 28 Apr 2024"
        );
        assert_eq!(
            range(date(2025, 12, 29), date(2026, 1, 25)),
            "29 Dec 2025 – 25 Jan 2026"
        );
        assert_eq!(range(date(2024, 4, 29), date(2024, 4, 29)), "29 Apr 2024");
        assert_eq!(weekday_day(date(2024, 4, 29)), "Mon 29 Apr 2024");
    }

    #[test]
    fn names_are_encoded_for_links() {
        assert_eq!(
            url_part("hits_by_client:Apple Calendar"),
            "hits_by_client:Apple%20Calendar"
        );
        assert_eq!(url_part("a&b/c"), "a%26b%2Fc");
    }
}

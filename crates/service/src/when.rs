//! Moments as people read them on the site's pages.

/// A moment as people read it on the site's pages: `2026-11-28 10:37 UTC`.
pub fn time_text(unix: i64) -> String {
    time_in(unix, chrono_tz::UTC)
}

/// The same in a reader's zone: `2026-11-28 11:37 CET`.
pub fn time_in(unix: i64, zone: chrono_tz::Tz) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| {
            t.with_timezone(&zone)
                .format("%Y-%m-%d %H:%M %Z")
                .to_string()
        })
        .unwrap_or_default()
}

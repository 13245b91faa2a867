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

/// When an incident or planned maintenance happens, in `zone`: "since …",
/// "from …" (a start still ahead) or "… to …".
pub fn window_text(starts_at: i64, ends_at: Option<i64>, zone: chrono_tz::Tz) -> String {
    match ends_at {
        Some(end) => format!("{} to {}", time_in(starts_at, zone), time_in(end, zone)),
        None if starts_at > chrono::Utc::now().timestamp() => {
            format!("from {}", time_in(starts_at, zone))
        }
        None => format!("since {}", time_in(starts_at, zone)),
    }
}

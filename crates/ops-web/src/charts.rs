//! Small server-rendered SVG charts for the dashboard: a line chart with its
//! range written out, and a sparkline. Only numbers and escaped text go in.

use chrono::NaiveDate;
use std::fmt::Write;

/// A line chart of `points` (in date order), `width` × `height` pixels.
pub fn line_chart(points: &[(NaiveDate, f64)], width: u32, height: u32, label: &str) -> String {
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{}">"#,
        almanac_service::page::escape_attr(label)
    );
    if points.is_empty() {
        let _ = write!(
            svg,
            r#"<text x="10" y="{}" class="muted">no data in this range</text></svg>"#,
            height / 2
        );
        return svg;
    }
    let (low, high) = bounds(points);
    let (left, right, top, bottom) = (52.0, f64::from(width) - 8.0, 10.0, f64::from(height) - 22.0);
    let path = polyline(points, (low, high), (left, right, top, bottom));
    // One value is a dot, not an invisible line.
    let dot = match points {
        [(_, value)] => format!(
            r##"<circle cx="{left}" cy="{:.1}" r="3" fill="#1f5fbf"/>"##,
            bottom - (bottom - top) * (value - low) / (high - low)
        ),
        _ => String::new(),
    };
    let _ = write!(
        svg,
        r##"<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#d9dee8"/><line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#d9dee8"/><polyline fill="none" stroke="#1f5fbf" stroke-width="2" points="{path}"/>{dot}<text x="{lx}" y="{top_text}" text-anchor="end" font-size="11">{high}</text><text x="{lx}" y="{bottom}" text-anchor="end" font-size="11">{low}</text><text x="{left}" y="{date_y}" font-size="11">{first}</text><text x="{right}" y="{date_y}" text-anchor="end" font-size="11">{last}</text></svg>"##,
        lx = left - 6.0,
        top_text = top + 8.0,
        high = number(high),
        low = number(low),
        date_y = f64::from(height) - 6.0,
        first = points[0].0,
        last = points[points.len() - 1].0,
    );
    svg
}

/// A tiny chart without axes, for the headline figures.
pub fn sparkline(points: &[(NaiveDate, f64)]) -> String {
    let (width, height) = (120.0, 28.0);
    if points.len() < 2 {
        return String::new();
    }
    let path = polyline(
        points,
        bounds(points),
        (2.0, width - 2.0, 2.0, height - 2.0),
    );
    format!(
        r##"<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" aria-hidden="true"><polyline fill="none" stroke="#1f5fbf" stroke-width="1.5" points="{path}"/></svg>"##
    )
}

fn bounds(points: &[(NaiveDate, f64)]) -> (f64, f64) {
    let low = points
        .iter()
        .map(|p| p.1)
        .fold(f64::INFINITY, f64::min)
        .min(0.0);
    let high = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    (low, if high > low { high } else { low + 1.0 })
}

#[allow(clippy::cast_precision_loss)] // a few hundred points
fn polyline(
    points: &[(NaiveDate, f64)],
    (low, high): (f64, f64),
    (left, right, top, bottom): (f64, f64, f64, f64),
) -> String {
    let steps = (points.len().max(2) - 1) as f64;
    points
        .iter()
        .enumerate()
        .fold(String::new(), |mut out, (i, (_, value))| {
            let x = left + (right - left) * (i as f64) / steps;
            let y = bottom - (bottom - top) * (value - low) / (high - low);
            let _ = write!(out, "{x:.1},{y:.1} ");
            out
        })
}

/// A figure as people read it: whole numbers without decimals.
pub fn number(value: f64) -> String {
    if (value - value.round()).abs() < 1e-9 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_scale_into_their_box() {
        let d = |day| NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
        let svg = line_chart(
            &[(d(1), 0.0), (d(2), 10.0), (d(3), 5.0)],
            400,
            120,
            "hits <per day>",
        );
        assert!(
            svg.contains(r#"points="52.0,98.0 222.0,10.0 392.0,54.0 ""#),
            "{svg}"
        );
        assert!(svg.contains("aria-label=\"hits &lt;per day&gt;\""));
        assert!(svg.contains(">2026-11-01<") && svg.contains(">10<"));
        assert!(line_chart(&[], 400, 120, "x").contains("no data"));
        assert_eq!(sparkline(&[(d(1), 1.0)]), "");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(2.5), "2.50");
    }
}

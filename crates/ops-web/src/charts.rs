//! Small server-rendered SVG charts for the dashboard: line charts and week
//! bars (stacked or side by side) with a y scale, a unit and dates on the
//! x axis; sparklines with their first and last date and their lowest and
//! highest value; the bar of a ranked share. Only numbers and escaped text
//! go in; colours are attributes, so no inline style is needed.

use crate::format::{self, Scale};
use almanac_service::page::escape_attr;
use chrono::NaiveDate;
use std::fmt::Write;

/// Colours that stay apart for colour-blind readers (Okabe and Ito).
pub const BLUE: &str = "#0072b2";
pub const SKY: &str = "#56b4e9";
pub const ORANGE: &str = "#e69f00";
pub const GREEN: &str = "#009e73";
pub const PINK: &str = "#cc79a7";
pub const RED: &str = "#d55e00";
/// The colour of a single line.
pub const LINE: &str = "#1f5fbf";
const GRID: &str = "#e3e7ee";
const TEXT: &str = "#586174";
const FADED: &str = "#a9b1c0";

const WIDTH: f64 = 340.0;
const HEIGHT: f64 = 190.0;
const RIGHT: f64 = WIDTH - 8.0;
const TOP: f64 = 26.0;
const BOTTOM: f64 = HEIGHT - 24.0;

#[allow(clippy::cast_precision_loss)] // a few hundred points at most
fn float(n: usize) -> f64 {
    n as f64
}

/// Round steps for an axis from 0 to at least `high`: (top, ticks). Counts
/// of whole things (`whole`) step by 1 at least.
fn ticks(high: f64, whole: bool) -> (f64, Vec<f64>) {
    if high.is_nan() || high <= 0.0 {
        return (1.0, vec![0.0, 1.0]);
    }
    let raw = high / 4.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let step = if whole { step.max(1.0) } else { step };
    let steps = (high / step - 1e-9).ceil().max(1.0);
    let ticks = (0..=20)
        .map(f64::from)
        .take_while(|i| *i <= steps)
        .map(|i| i * step)
        .collect();
    (steps * step, ticks)
}

fn y_of(value: f64, top_value: f64) -> f64 {
    BOTTOM - (BOTTOM - TOP) * value / top_value
}

/// The opening tag, the unit above the axis, the grid and its labels.
/// Returns the left edge of the plot: wide enough for the longest label.
fn frame(
    svg: &mut String,
    class: &str,
    label: &str,
    unit: &str,
    scale: Scale,
    top: f64,
    marks: &[f64],
) -> f64 {
    let labels: Vec<String> = marks.iter().map(|m| scale.tick(*m)).collect();
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(1);
    let left = (12.0 + 7.6 * float(longest)).clamp(30.0, 100.0);
    let _ = write!(
        svg,
        r#"<svg class="{class}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{}"><text x="2" y="13" font-size="13" fill="{TEXT}">{}</text>"#,
        escape_attr(label),
        escape_attr(unit),
    );
    for (mark, text) in marks.iter().zip(&labels) {
        let y = y_of(*mark, top);
        let _ = write!(
            svg,
            r#"<line x1="{left:.1}" y1="{y:.1}" x2="{RIGHT}" y2="{y:.1}" stroke="{GRID}"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="13" fill="{TEXT}">{}</text>"#,
            left - 5.0,
            y + 4.5,
            escape_attr(text),
        );
    }
    left
}

/// Dates under the x axis, centred on their x but kept inside the chart.
fn date_labels(svg: &mut String, left: f64, marks: &[(f64, NaiveDate)]) {
    for (x, date) in marks {
        let x = x.clamp(left + 14.0, WIDTH - 24.0);
        let _ = write!(
            svg,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="13" fill="{TEXT}">{}</text>"#,
            HEIGHT - 6.0,
            format::short_day(*date),
        );
    }
}

/// Up to five (or four) evenly spread indices of `count` items, first and last
/// included.
fn spread(count: usize) -> Vec<usize> {
    let mut picks: Vec<usize> = match count {
        0 => Vec::new(),
        1..=5 => (0..count).collect(),
        _ => vec![0, count / 3, 2 * count / 3, count - 1],
    };
    picks.dedup();
    picks
}

/// A line over time.
pub struct LineChart<'a> {
    /// In date order.
    pub points: &'a [(NaiveDate, f64)],
    /// The x axis: these days, whether or not they have values.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Days between two points (1 or 7): a longer gap breaks the line.
    pub step_days: i64,
    /// From this day on the data is still being counted (shaded).
    pub partial_from: Option<NaiveDate>,
    pub scale: Scale,
    /// Written above the y axis: "requests a day".
    pub unit: &'a str,
    /// What a screen reader says.
    pub label: &'a str,
    /// `chart` (the full list) or `graph` (the sections).
    pub class: &'static str,
}

pub fn line_chart(chart: &LineChart<'_>) -> String {
    let mut svg = String::new();
    let high = chart.points.iter().map(|p| p.1).fold(0.0, f64::max);
    let (top, marks) = ticks(high, false);
    let left = frame(
        &mut svg,
        chart.class,
        chart.label,
        chart.unit,
        chart.scale,
        top,
        &marks,
    );
    let days = (chart.to - chart.from).num_days().max(1);
    #[allow(clippy::cast_precision_loss)] // days in a few years
    let x_of = |date: NaiveDate| {
        left + (RIGHT - left) * ((date - chart.from).num_days() as f64) / (days as f64)
    };
    if let Some(partial) = chart.partial_from.filter(|d| *d <= chart.to) {
        let x = x_of(partial.max(chart.from));
        let _ = write!(
            svg,
            r##"<rect x="{x:.1}" y="{TOP}" width="{:.1}" height="{:.1}" fill="#f1f3f8"/><text x="{RIGHT}" y="{:.1}" text-anchor="end" font-size="12" fill="{TEXT}">so far</text>"##,
            (RIGHT - x).max(2.0),
            BOTTOM - TOP,
            TOP - 3.0,
        );
    }
    if chart.points.is_empty() {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="13" fill="{TEXT}">No data in this period</text>"#,
            f64::midpoint(left, RIGHT),
            f64::midpoint(TOP, BOTTOM),
        );
    }
    // Runs of points without gaps: a line each, a lone point a dot.
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut previous: Option<NaiveDate> = None;
    for (date, value) in chart.points {
        let point = (x_of(*date), y_of(*value, top));
        match (previous, runs.last_mut()) {
            (Some(p), Some(run)) if (*date - p).num_days() <= chart.step_days => run.push(point),
            _ => runs.push(vec![point]),
        }
        previous = Some(*date);
    }
    for run in runs {
        if let [(x, y)] = run[..] {
            let _ = write!(
                svg,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{LINE}"/>"#
            );
        } else {
            let path = run.iter().fold(String::new(), |mut out, (x, y)| {
                let _ = write!(out, "{x:.1},{y:.1} ");
                out
            });
            let _ = write!(
                svg,
                r#"<polyline fill="none" stroke="{LINE}" stroke-width="2" points="{}"/>"#,
                path.trim_end()
            );
        }
    }
    let _ = write!(
        svg,
        r#"<line x1="{left:.1}" y1="{BOTTOM}" x2="{RIGHT}" y2="{BOTTOM}" stroke="{TEXT}"/>"#
    );
    let marks: Vec<(f64, NaiveDate)> = if chart.from == chart.to {
        vec![(x_of(chart.from), chart.from)]
    } else {
        // The first and last day, and two between when there is room.
        let between = if days >= 6 { 3 } else { 1 };
        (0..=between)
            .map(|i| chart.from + chrono::Duration::days(days * i / between))
            .map(|d| (x_of(d), d))
            .collect()
    };
    date_labels(&mut svg, left, &marks);
    svg.push_str("</svg>");
    svg
}

/// One series of a bar chart.
pub struct Layer<'a> {
    pub name: &'a str,
    pub color: &'static str,
    /// One per week; `None` where there is no value.
    pub values: Vec<Option<f64>>,
}

/// Bars per week: one stack, or the layers side by side.
pub struct BarChart<'a> {
    /// The Mondays.
    pub weeks: &'a [NaiveDate],
    pub layers: &'a [Layer<'a>],
    pub stacked: bool,
    /// The last week is still being counted: drawn lighter.
    pub partial_last: bool,
    pub scale: Scale,
    pub unit: &'a str,
    pub label: &'a str,
}

pub fn bar_chart(chart: &BarChart<'_>) -> String {
    let count = chart.weeks.len();
    let value = |layer: &Layer<'_>, i: usize| layer.values.get(i).copied().flatten().unwrap_or(0.0);
    let high = (0..count)
        .map(|i| {
            let values = chart.layers.iter().map(|l| value(l, i));
            if chart.stacked {
                values.sum()
            } else {
                values.fold(0.0, f64::max)
            }
        })
        .fold(0.0, f64::max);
    let (top, marks) = ticks(high, chart.scale == Scale::Count);
    let mut svg = String::new();
    let left = frame(
        &mut svg,
        "graph",
        chart.label,
        chart.unit,
        chart.scale,
        top,
        &marks,
    );
    let slot = (RIGHT - left) / float(count.max(1));
    let bar = slot * 0.76;
    let layers = float(chart.layers.len().max(1));
    for (i, week) in chart.weeks.iter().enumerate() {
        let x0 = left + slot * float(i) + (slot - bar) / 2.0;
        let faded = chart.partial_last && i + 1 == count;
        let opacity = if faded { r#" fill-opacity="0.35""# } else { "" };
        let mut base = 0.0;
        for (j, layer) in chart.layers.iter().enumerate() {
            let Some(v) = layer.values.get(i).copied().flatten() else {
                continue;
            };
            let (x, width, from) = if chart.stacked {
                (x0, bar, base)
            } else {
                (x0 + bar / layers * float(j), bar / layers, 0.0)
            };
            let (y_top, y_bottom) = (y_of(from + v, top), y_of(from, top));
            let so_far = if faded { " so far" } else { "" };
            let _ = write!(
                svg,
                r#"<rect x="{x:.2}" y="{y_top:.2}" width="{:.2}" height="{:.2}" fill="{}"{opacity}><title>Week of {}{so_far}: {} {}</title></rect>"#,
                width.max(0.5),
                (y_bottom - y_top).max(0.0),
                layer.color,
                format::day(*week),
                escape_attr(&chart.scale.figure(v)),
                escape_attr(&layer.name.to_lowercase()),
            );
            if chart.stacked {
                base += v;
            }
        }
    }
    let _ = write!(
        svg,
        r#"<line x1="{left:.1}" y1="{BOTTOM}" x2="{RIGHT}" y2="{BOTTOM}" stroke="{TEXT}"/>"#
    );
    let marks: Vec<(f64, NaiveDate)> = spread(count)
        .into_iter()
        .map(|i| (left + slot * (float(i) + 0.5), chart.weeks[i]))
        .collect();
    date_labels(&mut svg, left, &marks);
    if count == 0 {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="13" fill="{TEXT}">No data in this period</text>"#,
            f64::midpoint(left, RIGHT),
            f64::midpoint(TOP, BOTTOM),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A small line of weekly values; its scale (highest and lowest value,
/// first and last week) is written beside it in the page, so it stays
/// readable however wide the line is drawn.
pub struct Spark {
    pub svg: String,
    pub high: String,
    pub low: String,
    pub first: String,
    pub last: String,
}

/// The previous period in grey, this one in colour.
pub fn sparkline(
    previous: &[(NaiveDate, f64)],
    current: &[(NaiveDate, f64)],
    scale: Scale,
) -> Option<Spark> {
    const W: f64 = 200.0;
    const H: f64 = 48.0;
    let all: Vec<(NaiveDate, f64)> = previous.iter().chain(current).copied().collect();
    let (first, last) = (all.first()?, all.last()?);
    let low = all
        .iter()
        .map(|p| p.1)
        .fold(f64::INFINITY, f64::min)
        .min(0.0);
    let high = all.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let span = if high > low { high - low } else { 1.0 };
    let steps = float(all.len().max(2) - 1);
    let point = |i: usize| {
        let x = if all.len() == 1 {
            W / 2.0
        } else {
            3.0 + (W - 6.0) * float(i) / steps
        };
        (x, H - 3.0 - (H - 6.0) * (all[i].1 - low) / span)
    };
    let path = |from: usize, to: usize| {
        (from..to).fold(String::new(), |mut out, i| {
            let (x, y) = point(i);
            let _ = write!(out, "{x:.1},{y:.1} ");
            out
        })
    };
    let split = previous.len();
    let mut svg = format!(
        r#"<svg class="spark" viewBox="0 0 {W} {H}" width="{W}" height="{H}" preserveAspectRatio="none" aria-hidden="true"><line x1="0" y1="{:.1}" x2="{W}" y2="{:.1}" stroke="{GRID}"/>"#,
        H - 3.0,
        H - 3.0,
    );
    if split > 0 {
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{FADED}" stroke-width="1.5" vector-effect="non-scaling-stroke" points="{}"/>"#,
            path(0, (split + 1).min(all.len())).trim_end()
        );
    }
    if current.len() > 1 {
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{LINE}" stroke-width="2" vector-effect="non-scaling-stroke" points="{}"/>"#,
            path(split, all.len()).trim_end()
        );
    }
    svg.push_str("</svg>");
    Some(Spark {
        svg,
        high: scale.tick(high),
        low: scale.tick(low),
        first: format::short_day(first.0),
        last: format::short_day(last.0),
    })
}

/// The bar of a ranked share, `fraction` from 0 to 1, as wide as its box.
pub fn share_bar(fraction: f64) -> String {
    let width = (fraction.clamp(0.0, 1.0) * 100.0).max(0.5);
    format!(
        r##"<svg class="share" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true"><rect width="100" height="8" fill="#eef1f6"/><rect width="{width:.2}" height="8" fill="{LINE}"/></svg>"##
    )
}

/// A small square of a legend's colour.
pub fn swatch(color: &str) -> String {
    format!(
        r#"<svg class="swatch" viewBox="0 0 12 12" width="12" height="12" aria-hidden="true"><rect width="12" height="12" rx="2" fill="{color}"/></svg>"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, day).unwrap()
    }

    #[test]
    fn axes_take_round_steps() {
        assert_eq!(ticks(3.0, false), (3.0, vec![0.0, 1.0, 2.0, 3.0]));
        assert_eq!(ticks(3.5, false), (4.0, vec![0.0, 1.0, 2.0, 3.0, 4.0]));
        assert_eq!(
            ticks(100.0, false),
            (100.0, vec![0.0, 25.0, 50.0, 75.0, 100.0])
        );
        assert_eq!(
            ticks(1140.0, false),
            (1500.0, vec![0.0, 500.0, 1000.0, 1500.0])
        );
        assert_eq!(
            ticks(900.0, false),
            (1000.0, vec![0.0, 250.0, 500.0, 750.0, 1000.0])
        );
        assert_eq!(ticks(0.0, false), (1.0, vec![0.0, 1.0]));
        assert_eq!(ticks(2.0, false), (2.0, vec![0.0, 0.5, 1.0, 1.5, 2.0]));
        assert_eq!(ticks(2.0, true), (2.0, vec![0.0, 1.0, 2.0]));
    }

    #[test]
    fn line_charts_scale_into_their_box_with_unit_and_dates() {
        let points = [(d(1), 0.0), (d(2), 10.0), (d(3), 5.0), (d(6), 4.0)];
        let svg = line_chart(&LineChart {
            points: &points,
            from: d(1),
            to: d(7),
            step_days: 1,
            partial_from: Some(d(6)),
            scale: Scale::Count,
            unit: "requests <a day>",
            label: "Requests <a day>",
            class: "chart",
        });
        assert!(svg.starts_with(r#"<svg class="chart""#), "{svg}");
        assert!(svg.contains(r#"aria-label="Requests &lt;a day&gt;""#));
        assert!(
            svg.contains(">requests &lt;a day&gt;<"),
            "the unit above the axis"
        );
        assert!(svg.contains(">10<") && svg.contains(">0<"), "a y scale");
        assert!(
            svg.contains(">1 Nov<") && svg.contains(">3 Nov<") && svg.contains(">7 Nov<"),
            "the dates"
        );
        assert!(svg.contains("so far"), "the running week is marked");
        // The gap from the 3rd to the 6th breaks the line: one line, one dot.
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(
            svg.contains(r#"points="34.8,166.0 84.3,26.0 133.9,96.0""#),
            "{svg}"
        );
        let empty = line_chart(&LineChart {
            points: &[],
            from: d(1),
            to: d(7),
            step_days: 1,
            partial_from: None,
            scale: Scale::Count,
            unit: "x",
            label: "x",
            class: "chart",
        });
        assert!(empty.contains("No data in this period"));
    }

    #[test]
    fn bars_stack_and_the_running_week_is_lighter() {
        let weeks = [d(2), d(9), d(16)];
        let layers = [
            Layer {
                name: "Sync",
                color: BLUE,
                values: vec![Some(2.0), Some(3.0), Some(1.0)],
            },
            Layer {
                name: "Web",
                color: ORANGE,
                values: vec![Some(2.0), None, Some(1.0)],
            },
        ];
        let svg = bar_chart(&BarChart {
            weeks: &weeks,
            layers: &layers,
            stacked: true,
            partial_last: true,
            scale: Scale::Count,
            unit: "people a week",
            label: "People",
        });
        assert_eq!(svg.matches("<rect").count(), 5, "{svg}");
        assert_eq!(svg.matches("fill-opacity").count(), 2);
        assert!(svg.contains("<title>Week of 2 Nov 2026: 2 sync</title>"));
        assert!(svg.contains("<title>Week of 16 Nov 2026 so far: 1 web</title>"));
        // The top of the stack of the first week is at 4 of 4.
        assert!(svg.contains(r#"y="26.00""#), "{svg}");
    }

    #[test]
    fn sparklines_carry_their_scale_and_dates() {
        let spark = sparkline(
            &[(d(2), 1000.0)],
            &[(d(9), 3000.0), (d(16), 2000.0)],
            Scale::Bytes,
        )
        .unwrap();
        assert_eq!((spark.high.as_str(), spark.low.as_str()), ("3 kB", "0 B"));
        assert_eq!(
            (spark.first.as_str(), spark.last.as_str()),
            ("2 Nov", "16 Nov")
        );
        assert_eq!(spark.svg.matches("<polyline").count(), 2);
        assert!(
            spark.svg.contains(r#"points="3.0,31.0 100.0,3.0""#),
            "{}",
            spark.svg
        );
        assert!(sparkline(&[], &[], Scale::Count).is_none());
        assert!(share_bar(0.25).contains(r#"width="25.00""#));
    }
}

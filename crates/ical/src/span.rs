//! Moments and intervals in UTC seconds: the span an object covers and
//! one occurrence of a component.

/// A half-open UTC interval in UNIX seconds; `i64::MIN` / `i64::MAX` mean
/// unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeSpan {
    pub start: i64,
    pub end: i64,
}

impl TimeSpan {
    pub const ALL: Self = Self {
        start: i64::MIN,
        end: i64::MAX,
    };

    /// True when the two half-open intervals share a moment.
    pub fn intersects(&self, other: &TimeSpan) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// One occurrence of a component, in UTC seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instance {
    pub start: i64,
    /// Equal to `start` for instances without duration; `i64::MAX` together
    /// with `start == i64::MIN` for to-dos that carry no date at all.
    pub end: i64,
    /// The original start of the instance in a recurrence set (the
    /// RECURRENCE-ID it has or would have); `None` for lone components.
    pub recurrence_id: Option<i64>,
    /// Index into `calendar.components` of the master or override.
    pub component_index: usize,
}

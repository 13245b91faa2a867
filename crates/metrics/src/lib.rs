//! Metrics: access-log parsing, the metric catalogue and time series.

//! Parses an access log with the full catalogue, on as many threads as the
//! machine has cores, and prints lines per second and peak memory (VmHWM).
//!
//! `cargo run --release -p almanac-metrics --example throughput -- access.log [THREADS]`

use almanac_metrics::{Collector, Rules};
use std::fs::File;
use std::time::Instant;

// The allocator of the `almanac` binary, so the figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[allow(clippy::cast_precision_loss)] // line counts, printed as rates
fn main() -> std::io::Result<()> {
    let path = std::env::args()
        .nth(1)
        .expect("usage: throughput ACCESS_LOG");
    let file = File::open(&path)?;
    let threads = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    let mut collector = Collector::new(Rules::default());
    let started = Instant::now();
    let fed = collector.feed_file(&file, 0, threads, |_| {})?;
    let parsed = started.elapsed();
    let report = collector.report();
    let total = started.elapsed();
    println!(
        "{} lines ({} malformed) in {:.3} s: {:.0} lines/s parsing, {:.0} lines/s with the report ({} series); peak memory {} KiB",
        fed.lines,
        report.malformed,
        parsed.as_secs_f64(),
        fed.lines as f64 / parsed.as_secs_f64(),
        fed.lines as f64 / total.as_secs_f64(),
        report.series.len(),
        peak_memory_kib().unwrap_or(0),
    );
    Ok(())
}

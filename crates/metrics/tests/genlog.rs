//! Runs genlog.py and checks totals that must agree with a simple,
//! independent reading of the same lines.

// Compared values are sums of whole numbers, exact in f64.
#![allow(clippy::float_cmp, clippy::cast_precision_loss)]

use almanac_metrics::{Collector, Rules};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

const GENLOG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/tools/genlog.py"
);

#[test]
fn generated_log_totals_agree() {
    let output = Command::new("python3")
        .args([
            GENLOG, "--lines", "20000", "--days", "30", "--users", "300", "--seed", "7",
        ])
        .output()
        .expect("python3 runs genlog.py");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let log = String::from_utf8(output.stdout).unwrap();

    // Independent counts by string splitting: the date inside [..], the
    // status and size after the request's closing quote.
    let mut hits: BTreeMap<String, f64> = BTreeMap::new();
    let mut bytes: BTreeMap<String, f64> = BTreeMap::new();
    let mut accounts: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in log.lines() {
        let date = &line.split('[').nth(1).unwrap()[..11];
        let day = chrono::NaiveDate::parse_from_str(date, "%d/%b/%Y")
            .unwrap()
            .to_string();
        let mut after_request = line.split('"').nth(2).unwrap().split_whitespace();
        let status = after_request.next().unwrap();
        let size = after_request.next().unwrap();
        let user = line.split(' ').nth(2).unwrap();
        *hits.entry(day.clone()).or_default() += 1.0;
        *bytes.entry(day.clone()).or_default() += size.parse::<f64>().unwrap_or(0.0);
        if user != "-" && status != "401" {
            accounts.entry(day).or_default().insert(user.to_owned());
        }
    }

    let mut collector = Collector::new(Rules::default());
    let fed = collector.feed_reader(log.as_bytes(), |_| {}).unwrap();
    let report = collector.report();
    assert_eq!(fed.lines, 20_000);
    assert_eq!(report.lines, 20_000);
    assert_eq!(report.malformed, 0);
    let by_day = |name: &str| -> BTreeMap<String, f64> {
        report.series[name]
            .daily
            .iter()
            .map(|(d, &v)| (d.to_string(), v))
            .collect()
    };
    assert_eq!(by_day("hits"), hits);
    assert_eq!(by_day("bytes_out"), bytes);
    let account_counts: BTreeMap<String, f64> = accounts
        .into_iter()
        .map(|(day, users)| (day, users.len() as f64))
        .collect();
    let accessed: BTreeMap<String, f64> = by_day("accounts_accessed")
        .into_iter()
        .filter(|&(_, v)| v > 0.0)
        .collect();
    assert_eq!(accessed, account_counts);
    // Every request is read or write, and the client breakdown adds up.
    let total: f64 = hits.values().sum();
    let sum = |name: &str| report.series[name].daily.values().sum::<f64>();
    assert_eq!(sum("reads") + sum("writes"), total);
    let by_client: f64 = report
        .series
        .iter()
        .filter(|(k, _)| k.starts_with("hits_by_client:"))
        .map(|(_, s)| s.daily.values().sum::<f64>())
        .sum();
    assert_eq!(by_client, total);
    // The rules know every agent genlog.py writes.
    assert!(!report.series.contains_key("hits_by_client:Other"));
}

//! An open-loop load of calendar clients against accounts seeded by
//! `bench/million.sh`: requests start at a fixed arrival rate whatever the
//! server's answers take (as wrk2 does), each from a random account among
//! `--accounts`, signed in with that account's app password:
//!
//! - 49.5 %: an idle poll (PROPFIND depth 0 of the calendar: ctag and sync token),
//! - 49.5 %: sync-collection from the seeded sync token (nothing new),
//! - 1 %: a new event (PUT).
//!
//! Latency is measured from when a request was due, not when it was sent,
//! so a server that falls behind shows it. Prints the achieved rate,
//! latency percentiles and errors.

use clap::Parser;
use rand::Rng;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

#[derive(Parser)]
struct Args {
    /// The server, e.g. http://127.0.0.1:8080
    #[arg(long)]
    base: String,
    /// Accounts u1 … uN, seeded by million.sh.
    #[arg(long)]
    accounts: u64,
    /// Requests started per second.
    #[arg(long)]
    rate: f64,
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Requests in flight at most; beyond, a due request counts as an error.
    #[arg(long, default_value_t = 4000)]
    max_in_flight: usize,
    /// The sync revision the seed gave every calendar.
    #[arg(long, default_value_t = 5)]
    seeded_revision: u64,
}

/// The app password million.sh stored for account `n`: its number,
/// zero-padded to 24 digits, written with the letters a–j.
fn app_password(n: u64) -> String {
    format!("{n:024}")
        .bytes()
        .map(|d| char::from(b'a' + (d - b'0')))
        .collect()
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    errors: std::collections::BTreeMap<String, u64>,
}

#[tokio::main]
// Request counts and rates are far below 2^52; figures for people.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    clippy::too_many_lines
)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(args.max_in_flight)
        .build()?;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let total = (args.rate * args.seconds as f64) as u64;
    let started = Instant::now();
    let mut handles = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for i in 0..total {
        let due = started + Duration::from_secs_f64(i as f64 / args.rate);
        tokio::time::sleep_until(due.into()).await;
        if in_flight.load(Ordering::Relaxed) >= args.max_in_flight {
            *tally
                .lock()
                .await
                .errors
                .entry("too many in flight".into())
                .or_default() += 1;
            continue;
        }
        let (n, kind) = {
            let mut rng = rand::thread_rng();
            (rng.gen_range(1..=args.accounts), rng.gen_range(0..1000))
        };
        let user = format!("u{n}");
        let calendar = format!("{}/dav/calendars/{user}/calendar/", args.base);
        let request = if kind < 495 {
            client
                .request(reqwest::Method::from_bytes(b"PROPFIND")?, &calendar)
                .header("Depth", "0")
                .header("Content-Type", "application/xml")
                .body(r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><CS:getctag/><D:sync-token/></D:prop></D:propfind>"#)
        } else if kind < 990 {
            let token = format!("urn:almanac:sync:{n}:{}", args.seeded_revision);
            client
                .request(reqwest::Method::from_bytes(b"REPORT")?, &calendar)
                .header("Depth", "1")
                .header("Content-Type", "application/xml")
                .body(format!(r#"<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#))
        } else {
            let uid = format!("load-{i}-{n}");
            client
                .put(format!("{calendar}{uid}.ics"))
                .header("Content-Type", "text/calendar")
                .body(format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//load//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:20261201T100000Z\r\nDURATION:PT1H\r\nSUMMARY:Load\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
        }
        .basic_auth(&user, Some(app_password(n)));
        let (tally, in_flight) = (tally.clone(), in_flight.clone());
        in_flight.fetch_add(1, Ordering::Relaxed);
        handles.push(tokio::spawn(async move {
            let outcome = request.send().await;
            let status = match outcome {
                Ok(answer) => {
                    let status = answer.status().as_u16();
                    let _ = answer.bytes().await;
                    status
                }
                Err(_) => 0,
            };
            let latency = u64::try_from(due.elapsed().as_micros()).unwrap_or(u64::MAX);
            in_flight.fetch_sub(1, Ordering::Relaxed);
            let mut tally = tally.lock().await;
            if matches!(status, 200 | 201 | 204 | 207) {
                tally.latencies_us.push(latency);
            } else {
                *tally.errors.entry(format!("status {status}")).or_default() += 1;
            }
        }));
    }
    for handle in handles {
        let _ = handle.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut tally = tally.lock().await;
    tally.latencies_us.sort_unstable();
    let at = |q: f64| {
        let v = &tally.latencies_us;
        if v.is_empty() {
            0.0
        } else {
            v[((v.len() - 1) as f64 * q) as usize] as f64 / 1000.0
        }
    };
    let errors: u64 = tally.errors.values().sum();
    println!(
        "accounts {} | target {:.0} req/s for {} s | achieved {:.0} req/s ok | p50 {:.1} ms p99 {:.1} ms max {:.1} ms | errors {} {:?}",
        args.accounts,
        args.rate,
        args.seconds,
        tally.latencies_us.len() as f64 / elapsed,
        at(0.5),
        at(0.99),
        at(1.0),
        errors,
        tally.errors
    );
    Ok(())
}

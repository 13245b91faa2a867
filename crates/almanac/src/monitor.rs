//! The scheduled probe inside `serve`: it checks the web site, CalDAV,
//! webcal and the database every few seconds and records the results for
//! the status site. However many instances share the database, one probes
//! at a time: the holder of the job's lease (another takes over when it
//! stops renewing it).

use crate::probe::Probe;
use almanac_service::Config;
use almanac_store::{Flag, ProbeResult, Store};
use std::time::{Duration, Instant};

/// How long probe results are kept (the status site shows 90 days).
const KEEP_SECONDS: i64 = 90 * 24 * 3600;

/// Starts the schedule if the configuration asks for one.
pub fn spawn(store: Store, config: &Config, local_base: String) {
    let schedule = config.probe.clone();
    if schedule.interval_seconds == 0 {
        return;
    }
    let holder = format!(
        "{}:{}",
        std::process::id(),
        almanac_service::token::new_token()
    );
    let lease = i64::try_from(schedule.interval_seconds.saturating_mul(2)).unwrap_or(i64::MAX);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(schedule.interval_seconds));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let signup_every = Duration::from_secs(schedule.signup_interval_seconds);
        let mut last_signup: Option<Instant> = None;
        loop {
            ticks.tick().await;
            match store.take_turn("probe", &holder, lease).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot take the probe's turn");
                    continue;
                }
            }
            // Sign-ups are checked less often: each makes (and deletes) an
            // account and counts against the sign-up rate limit.
            let with_signup = !signup_every.is_zero()
                && last_signup.is_none_or(|at| at.elapsed() >= signup_every);
            if with_signup {
                last_signup = Some(Instant::now());
            }
            let results = check_once(&store, &schedule, &local_base, with_signup).await;
            if let Err(e) = store.record_probe_results(&results).await {
                tracing::warn!(error = %e, "cannot record probe results");
            }
            let _ = store.prune_probe_results(now() - KEEP_SECONDS).await;
        }
    });
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

async fn check_once(
    store: &Store,
    schedule: &almanac_service::config::ProbeSchedule,
    base: &str,
    with_signup: bool,
) -> Vec<ProbeResult> {
    let at = now();
    let result = |component: &str, ok: bool, latency: Duration, message: String| ProbeResult {
        at,
        component: component.to_owned(),
        ok: Flag(ok),
        latency_ms: millis(latency),
        message,
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default();
    let mut results = Vec::new();

    let started = Instant::now();
    let site = client.get(format!("{base}/")).send().await;
    let site_ok = site.as_ref().is_ok_and(|r| r.status().is_success());
    let message = match site {
        Ok(r) if r.status().is_success() => String::new(),
        Ok(r) => format!("the home page answered {}", r.status()),
        Err(e) => format!("the home page did not answer: {e}"),
    };
    results.push(result("website", site_ok, started.elapsed(), message));

    let started = Instant::now();
    let db = store.ping().await;
    results.push(result(
        "database",
        db.is_ok(),
        started.elapsed(),
        db.err().map(|e| e.to_string()).unwrap_or_default(),
    ));

    let password = std::fs::read_to_string(&schedule.password_file)
        .map(|t| t.lines().next().unwrap_or_default().to_owned());
    let Ok(password) = password else {
        let message = format!(
            "the probe's password file {} cannot be read",
            schedule.password_file.display()
        );
        results.push(result("caldav", false, Duration::ZERO, message.clone()));
        results.push(result("webcal", false, Duration::ZERO, message));
        return results;
    };
    let mut probe = Probe {
        client,
        base: base.to_owned(),
        user: schedule.user.clone(),
        password,
        timings: Vec::new(),
    };
    let outcome = probe.transaction(&schedule.calendar).await;
    let caldav_time: Duration = probe
        .timings
        .iter()
        .filter(|(n, _)| *n != "webcal")
        .map(|(_, d)| *d)
        .sum();
    let webcal_time = probe
        .timings
        .iter()
        .find(|(n, _)| *n == "webcal")
        .map_or(Duration::ZERO, |(_, d)| *d);
    match outcome {
        Ok(()) => {
            results.push(result("caldav", true, caldav_time, String::new()));
            results.push(result("webcal", true, webcal_time, String::new()));
        }
        Err(failure) if failure.starts_with("webcal:") => {
            results.push(result("caldav", true, caldav_time, String::new()));
            results.push(result("webcal", false, webcal_time, failure));
        }
        Err(failure) => {
            results.push(result("caldav", false, caldav_time, failure));
            // The webcal step did not run: say nothing about it.
        }
    }
    if with_signup {
        let before = probe.timings.len();
        let outcome = probe.signup().await;
        let spent = probe.timings[before..].iter().map(|(_, d)| *d).sum();
        let (ok, message) = match outcome {
            Ok(()) => (true, String::new()),
            Err(failure) => (false, failure),
        };
        results.push(result("signup", ok, spent, message));
    }
    results
}

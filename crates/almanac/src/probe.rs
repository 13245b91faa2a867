//! `almanac probe URL`: the plan's synthetic transaction, as a Nagios plugin.
//!
//! Steps: the calendar answers (PROPFIND), PUT a fresh event, GET it back,
//! find it with a calendar-query REPORT, find it in the webcal export, DELETE
//! it. Each step is timed; the first failure names its step. Exit codes:
//! 0 OK, 1 WARNING (slow), 2 CRITICAL (a step failed or was very slow),
//! 3 UNKNOWN (the probe itself could not run).
//!
//! With `--signup` it also signs up a throwaway account through the web
//! form, then logs in as the probe account (which must be staff) and
//! deletes it again.

use clap::Args;
use reqwest::{Client, Method, StatusCode};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct ProbeArgs {
    /// The server's base URL, e.g. https://calendar.example.org/
    url: String,
    /// The probe account's user name.
    #[arg(long)]
    user: String,
    /// A file whose first line is the probe account's password.
    #[arg(long)]
    password_file: PathBuf,
    /// The calendar to write into.
    #[arg(long, default_value = "calendar")]
    calendar: String,
    /// A step slower than this (milliseconds) makes the result WARNING.
    #[arg(long, default_value_t = 1000)]
    warn_ms: u64,
    /// A step slower than this (milliseconds) makes the result CRITICAL.
    #[arg(long, default_value_t = 5000)]
    critical_ms: u64,
    /// Also sign up a throwaway account and delete it (the probe account
    /// must be staff to delete it).
    #[arg(long)]
    signup: bool,
}

const OK: i32 = 0;
const WARNING: i32 = 1;
const CRITICAL: i32 = 2;
const UNKNOWN: i32 = 3;

pub(crate) struct Probe {
    pub client: Client,
    pub base: String,
    pub user: String,
    pub password: String,
    pub timings: Vec<(&'static str, Duration)>,
}

impl Probe {
    async fn step(
        &mut self,
        name: &'static str,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: String,
        expect: &[StatusCode],
    ) -> Result<String, String> {
        let method = Method::from_bytes(method.as_bytes()).expect("method names are valid");
        let mut request = self
            .client
            .request(method.clone(), url)
            .basic_auth(&self.user, Some(&self.password))
            .body(body);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let started = Instant::now();
        let response = request
            .send()
            .await
            .map_err(|e| format!("{name}: {method} {url} failed: {e}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        self.timings.push((name, started.elapsed()));
        if expect.contains(&status) {
            Ok(text)
        } else {
            let detail: String = text.chars().take(200).collect();
            Err(format!(
                "{name}: {method} {url} answered {status}: {}",
                detail.trim()
            ))
        }
    }

    /// Runs every step; the error names the step that failed first.
    pub(crate) async fn transaction(&mut self, calendar: &str) -> Result<(), String> {
        let uid = format!("almanac-probe-{}", chrono::Utc::now().timestamp_micros());
        let calendar_url = format!("{}/dav/calendars/{}/{calendar}/", self.base, self.user);
        let item_url = format!("{calendar_url}{uid}.ics");
        let event = format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Almanac//probe//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
             DTSTAMP:20260101T000000Z\r\nDTSTART:20300101T120000Z\r\nDURATION:PT1H\r\n\
             SUMMARY:Almanac probe\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        );
        let depth0 = [("Depth", "0")];
        let propfind = r#"<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><CS:getctag/></D:prop></D:propfind>"#;
        self.step(
            "discover",
            "PROPFIND",
            &calendar_url,
            &depth0,
            propfind.into(),
            &[StatusCode::MULTI_STATUS],
        )
        .await?;
        let ics = [
            ("Content-Type", "text/calendar; charset=utf-8"),
            ("If-None-Match", "*"),
        ];
        self.step(
            "put",
            "PUT",
            &item_url,
            &ics,
            event.clone(),
            &[StatusCode::CREATED],
        )
        .await?;
        let result = self.after_put(&calendar_url, &item_url, &uid, &event).await;
        // Clean up even when a later step failed.
        let deleted = self
            .step(
                "delete",
                "DELETE",
                &item_url,
                &[],
                String::new(),
                &[StatusCode::NO_CONTENT],
            )
            .await;
        result.and(deleted.map(|_| ()))
    }

    async fn after_put(
        &mut self,
        calendar_url: &str,
        item_url: &str,
        uid: &str,
        event: &str,
    ) -> Result<(), String> {
        let got = self
            .step(
                "get",
                "GET",
                item_url,
                &[],
                String::new(),
                &[StatusCode::OK],
            )
            .await?;
        if got != event {
            return Err("get: the event came back changed".into());
        }
        let query = r#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20300101T000000Z" end="20300102T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#;
        let found = self
            .step(
                "report",
                "REPORT",
                calendar_url,
                &[("Depth", "1")],
                query.into(),
                &[StatusCode::MULTI_STATUS],
            )
            .await?;
        if !found.contains(&format!("{uid}.ics")) {
            return Err("report: the calendar-query did not find the new event".into());
        }
        let export = self
            .step(
                "webcal",
                "GET",
                calendar_url,
                &[],
                String::new(),
                &[StatusCode::OK],
            )
            .await?;
        if !export.contains(&format!("UID:{uid}")) {
            return Err("webcal: the calendar's .ics export lacks the new event".into());
        }
        Ok(())
    }
}

/// A page fetched by the sign-up check: status, body, and the cookies it set.
struct Page {
    status: StatusCode,
    body: String,
    cookies: Vec<String>,
}

impl Probe {
    /// Signs up a throwaway account through the web form, then logs in as
    /// the probe account and deletes it; each part is a timed step.
    pub(crate) async fn signup(&mut self) -> Result<(), String> {
        let name = format!("probe-{}", &format!("{:x}", rand_suffix())[..10]);
        let form = self.page("signup", "GET", "/signup", &[], &[]).await?;
        let csrf = csrf_of(&form.body).ok_or("signup: the sign-up page has no form")?;
        let email = format!("{name}@probe.invalid");
        let sent = self
            .page(
                "signup",
                "POST",
                "/signup",
                &form.cookies,
                &[
                    ("csrf", &csrf),
                    ("name", &name),
                    ("email", &email),
                    ("password", &format!("{name}-{csrf}")),
                    ("terms", "yes"),
                ],
            )
            .await?;
        if sent.status != StatusCode::OK || !sent.body.contains("Check your mail") {
            return Err(format!("signup: the sign-up form answered {}", sent.status));
        }
        // Clean up: log in as the probe account and delete the throwaway one.
        let login = self.page("login", "GET", "/login", &[], &[]).await?;
        let csrf = csrf_of(&login.body).ok_or("login: the log-in page has no form")?;
        let (user, password) = (self.user.clone(), self.password.clone());
        let session = self
            .page(
                "login",
                "POST",
                "/login",
                &login.cookies,
                &[
                    ("csrf", &csrf),
                    ("name", &user),
                    ("password", &password),
                    ("next", "/admin/users"),
                ],
            )
            .await?;
        if session.status != StatusCode::SEE_OTHER || session.cookies.is_empty() {
            return Err(format!(
                "login: the probe account could not log in ({})",
                session.status
            ));
        }
        let admin = self
            .page(
                "cleanup",
                "GET",
                &format!("/admin/users?q={name}"),
                &session.cookies,
                &[],
            )
            .await?;
        let csrf = csrf_of(&admin.body).ok_or(
            "cleanup: the probe account is not staff, so it cannot delete its throwaway sign-up",
        )?;
        let deleted = self
            .page(
                "cleanup",
                "POST",
                &format!("/admin/users/{name}/delete"),
                &session.cookies,
                &[("csrf", &csrf), ("confirm", &name)],
            )
            .await?;
        if deleted.status != StatusCode::SEE_OTHER {
            return Err(format!(
                "cleanup: deleting {name} answered {}",
                deleted.status
            ));
        }
        Ok(())
    }

    /// One web request with the given cookies (and form fields for POST).
    async fn page(
        &mut self,
        name: &'static str,
        method: &str,
        path: &str,
        cookies: &[String],
        form: &[(&str, &str)],
    ) -> Result<Page, String> {
        let url = format!("{}{path}", self.base);
        let mut request = if method == "POST" {
            self.client.post(&url).form(form)
        } else {
            self.client.get(&url)
        };
        if !cookies.is_empty() {
            request = request.header("Cookie", cookies.join("; "));
        }
        let started = Instant::now();
        let response = request
            .send()
            .await
            .map_err(|e| format!("{name}: {method} {url} failed: {e}"))?;
        let status = response.status();
        let cookies = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
            .collect();
        let body = response.text().await.unwrap_or_default();
        // A part of several requests is one timing.
        match self.timings.last_mut() {
            Some((last, spent)) if *last == name => *spent += started.elapsed(),
            _ => self.timings.push((name, started.elapsed())),
        }
        if status.is_server_error() {
            return Err(format!("{name}: {method} {url} answered {status}"));
        }
        Ok(Page {
            status,
            body,
            cookies,
        })
    }
}

/// The CSRF token of the first form on a page.
fn csrf_of(html: &str) -> Option<String> {
    let start = html.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_i64(chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default());
    hasher.finish() | (1 << 60)
}

/// Runs the probe, prints one Nagios status line with performance data and
/// returns the exit code.
pub async fn run(args: &ProbeArgs) -> i32 {
    let password = match std::fs::read_to_string(&args.password_file) {
        Ok(text) => text.lines().next().unwrap_or_default().to_owned(),
        Err(e) => {
            println!(
                "UNKNOWN - cannot read {}: {e}",
                args.password_file.display()
            );
            return UNKNOWN;
        }
    };
    let client = match Client::builder()
        .timeout(Duration::from_millis(args.critical_ms.max(1000) * 2))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            println!("UNKNOWN - cannot make an HTTP client: {e}");
            return UNKNOWN;
        }
    };
    let mut probe = Probe {
        client,
        base: args.url.trim_end_matches('/').to_owned(),
        user: args.user.clone(),
        password,
        timings: Vec::new(),
    };
    let started = Instant::now();
    let mut outcome = probe.transaction(&args.calendar).await;
    if args.signup && outcome.is_ok() {
        outcome = probe.signup().await;
    }
    let total = started.elapsed();
    let perf: Vec<String> = probe
        .timings
        .iter()
        .map(|(name, d)| {
            format!(
                "{name}={}ms;{};{}",
                d.as_millis(),
                args.warn_ms,
                args.critical_ms
            )
        })
        .collect();
    let perf = perf.join(" ");
    let slowest = probe.timings.iter().max_by_key(|(_, d)| *d).copied();
    let (code, summary) = match (outcome, slowest) {
        (Err(failure), _) => (CRITICAL, format!("CRITICAL - {failure}")),
        (Ok(()), Some((name, d))) if d.as_millis() > u128::from(args.critical_ms) => (
            CRITICAL,
            format!("CRITICAL - {name} took {} ms", d.as_millis()),
        ),
        (Ok(()), Some((name, d))) if d.as_millis() > u128::from(args.warn_ms) => (
            WARNING,
            format!("WARNING - {name} took {} ms", d.as_millis()),
        ),
        (Ok(()), _) => (
            OK,
            format!(
                "OK - discover, put, get, report, webcal{} and delete in {} ms",
                if args.signup {
                    ", signup, login, cleanup"
                } else {
                    ""
                },
                total.as_millis()
            ),
        ),
    };
    println!("{summary} | {perf}");
    code
}

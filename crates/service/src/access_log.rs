//! The access log: Apache combined format plus the fields the metrics need.
//!
//! ```text
//! 127.0.0.1 - alice [26/Nov/2026:01:02:03 +0000] "PUT /dav/calendars/alice/home/x.ics HTTP/1.1" 201 0 "-" "DAVx5/4.4" dur_us=812 auth=password in=734
//! ```
//!
//! After the combined fields come `key=value` pairs: `dur_us` (time to the
//! response head, microseconds), `auth` (none, password, session, ticket) and
//! `in` (request body bytes); then, when they apply, `owner` (whose calendar
//! a share link opened: the user field stays `-`, the visitor is not the
//! owner), `item` (`event` or `task`: what a change changed) and `ev`, the
//! event the metrics count: `sync_write`, `web_write` and `share_write`
//! (an item changed by a sync client, in the web calendar, through a share
//! link), `calendar_write` (a calendar made, changed or deleted),
//! `share_visit`, `login`, `signup`, `signup_verified`, `support_request`.
//! Lines go through a channel to one writer task, so a request never waits
//! on the disk.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// What a handler tells the log about a request, as a response extension.
#[derive(Debug, Clone, Default)]
pub struct LogFields {
    pub user: Option<String>,
    pub auth: AuthKind,
    /// An event the metrics count, written as `ev=NAME` (e.g. `sync_write`).
    pub event: Option<&'static str>,
    /// The owner of the calendar a share link opened, written as `owner=`.
    pub owner: Option<String>,
    /// What an item change changed, written as `item=`.
    pub item: Option<ItemKind>,
}

/// The kind of calendar item a change touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Event,
    Task,
}

impl ItemKind {
    /// VTODO is a task; anything else in a calendar counts as an event.
    pub fn of_component(component: Option<&str>) -> Self {
        if component == Some("VTODO") {
            Self::Task
        } else {
            Self::Event
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Event => "event",
            Self::Task => "task",
        }
    }
}

/// What a successful DAV write changed, as a response extension: the
/// request's front door turns it into the log's `ev` and `item`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    Item(ItemKind),
    /// A collection made, changed (properties) or deleted.
    Collection,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuthKind {
    #[default]
    None,
    Password,
    /// A web log-in session.
    Session,
    /// A share link (its token).
    Ticket,
}

impl AuthKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Password => "password",
            Self::Session => "session",
            Self::Ticket => "ticket",
        }
    }
}

pub struct AccessLog {
    lines: mpsc::UnboundedSender<String>,
}

/// When the log starts a new file: `access.log` becomes `access.log.1`,
/// `.1` becomes `.2`, and so on, keeping `keep` old files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Start a new file when the UTC day changes.
    pub daily: bool,
    /// Start a new file when the current one would pass this size (0: never).
    pub max_bytes: u64,
    pub keep: usize,
}

impl Rotation {
    /// Parses the `access_log_rotate` setting: "daily", "size:BYTES" or "off".
    pub fn parse(setting: &str, keep: usize) -> Option<Self> {
        let (daily, max_bytes) = match setting {
            "daily" => (true, 0),
            "off" => (false, 0),
            other => (false, other.strip_prefix("size:")?.parse().ok()?),
        };
        Some(Self {
            daily,
            max_bytes,
            keep,
        })
    }
}

/// The open file and what decides its rotation.
struct Writer {
    path: PathBuf,
    file: tokio::fs::File,
    size: u64,
    day: chrono::NaiveDate,
    rotation: Rotation,
}

impl Writer {
    async fn open(path: &Path, rotation: Rotation) -> std::io::Result<Self> {
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await?;
        let meta = file.metadata().await?;
        let day = meta.modified().ok().map_or_else(
            || chrono::Utc::now().date_naive(),
            |t| chrono::DateTime::<chrono::Utc>::from(t).date_naive(),
        );
        Ok(Self {
            path: path.to_owned(),
            file,
            size: meta.len(),
            day,
            rotation,
        })
    }

    async fn write(&mut self, batch: &str) -> std::io::Result<()> {
        let today = chrono::Utc::now().date_naive();
        let too_big = self.rotation.max_bytes > 0
            && self.size > 0
            && self.size + batch.len() as u64 > self.rotation.max_bytes;
        if (self.rotation.daily && today != self.day && self.size > 0) || too_big {
            self.rotate().await?;
        }
        self.day = today;
        self.file.write_all(batch.as_bytes()).await?;
        self.size += batch.len() as u64;
        Ok(())
    }

    async fn rotate(&mut self) -> std::io::Result<()> {
        self.file.flush().await?;
        let numbered = |n: usize| {
            let mut name = self.path.clone().into_os_string();
            name.push(format!(".{n}"));
            PathBuf::from(name)
        };
        let _ = tokio::fs::remove_file(numbered(self.rotation.keep.max(1))).await;
        for n in (1..self.rotation.keep.max(1)).rev() {
            let _ = tokio::fs::rename(numbered(n), numbered(n + 1)).await;
        }
        tokio::fs::rename(&self.path, numbered(1)).await?;
        *self = Self::open(&self.path.clone(), self.rotation).await?;
        Ok(())
    }
}

impl AccessLog {
    /// Opens (appending) the log file and starts its writer task.
    pub async fn open(path: &Path, rotation: Rotation) -> std::io::Result<Arc<Self>> {
        let mut writer = Writer::open(path, rotation).await?;
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            let mut batch = String::new();
            while let Some(line) = rx.recv().await {
                batch.push_str(&line);
                while let Ok(more) = rx.try_recv() {
                    batch.push_str(&more);
                }
                if let Err(e) = writer.write(&batch).await {
                    tracing::error!(error = %e, "cannot write the access log");
                }
                batch.clear();
            }
            let _ = writer.file.flush().await;
        });
        Ok(Arc::new(Self { lines: tx }))
    }
}

pub async fn record(State(log): State<Arc<AccessLog>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let now = chrono::Utc::now();
    let remote = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "-".to_owned(), |c| c.0.ip().to_string());
    let request_line = format!(
        "{} {} {:?}",
        request.method(),
        redact(request.uri().path_and_query().map_or("/", |p| p.as_str())),
        request.version()
    );
    let headers = request.headers();
    let header_text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map_or_else(|| "-".to_owned(), sanitize)
    };
    let (referer, agent, bytes_in) = (
        redact_url(&header_text(header::REFERER)).into_owned(),
        header_text(header::USER_AGENT),
        header_text(header::CONTENT_LENGTH),
    );
    let response = next.run(request).await;
    let fields = response
        .extensions()
        .get::<LogFields>()
        .cloned()
        .unwrap_or_default();
    // Apache writes "-" for an empty body.
    let bytes_out = match axum::body::HttpBody::size_hint(response.body()).exact() {
        Some(0) | None => "-".to_owned(),
        Some(n) => n.to_string(),
    };
    let mut line = String::with_capacity(256);
    let _ = writeln!(
        line,
        "{remote} - {user} [{time}] \"{request_line}\" {status} {bytes_out} \"{referer}\" \"{agent}\" dur_us={dur} auth={auth} in={bytes_in}",
        user = fields.user.as_deref().map_or_else(|| "-".to_owned(), sanitize),
        time = now.format("%d/%b/%Y:%H:%M:%S %z"),
        status = response.status().as_u16(),
        dur = started.elapsed().as_micros(),
        auth = fields.auth.as_str(),
    );
    line.pop();
    if let Some(owner) = &fields.owner {
        let _ = write!(line, " owner={}", sanitize(owner).replace(' ', "_"));
    }
    if let Some(item) = fields.item {
        let _ = write!(line, " item={}", item.as_str());
    }
    if let Some(event) = fields.event {
        let _ = write!(line, " ev={event}");
    }
    line.push('\n');
    let _ = log.lines.send(line);
    response
}

/// Segments after which a path holds a secret token: mail links
/// (`/verify/TOKEN`, `/reset/TOKEN`) and share links (`/s/TOKEN/...`,
/// `/dav/s/TOKEN/...`). The log keeps the path's shape, not the token, so
/// reading the log opens no account and no calendar. Any segment after such
/// a name is replaced, wherever it stands (`//s/TOKEN` and `/dav//s/TOKEN/`
/// reach no handler but still carry the token).
const SECRET_AFTER: &[&str] = &["verify", "reset", "s"];

fn redact(target: &str) -> std::borrow::Cow<'_, str> {
    // Most paths name no secret: they are logged as they are, unsplit.
    if !["/verify/", "/reset/", "/s/"]
        .iter()
        .any(|marker| target.contains(marker))
    {
        return target.into();
    }
    let (path, query) = target
        .find('?')
        .map_or((target, ""), |i| (&target[..i], &target[i..]));
    let segments: Vec<&str> = path.split('/').collect();
    let secret = |i: usize| {
        i > 0
            && SECRET_AFTER.contains(&segments[i - 1])
            && !segments[i].is_empty()
            && !(segments[i - 1] == "verify" && segments[i] == "resend")
    };
    if !(0..segments.len()).any(secret) {
        return target.into();
    }
    let kept: Vec<&str> = segments
        .iter()
        .enumerate()
        .map(|(i, segment)| if secret(i) { "-" } else { segment })
        .collect();
    format!("{}{query}", kept.join("/")).into()
}

/// The same for a full URL (a Referer): the token after any secret prefix
/// goes, wherever the path starts.
fn redact_url(url: &str) -> std::borrow::Cow<'_, str> {
    let path_start = url
        .find("://")
        .and_then(|i| url[i + 3..].find('/').map(|j| i + 3 + j))
        .unwrap_or(0);
    match redact(&url[path_start..]) {
        std::borrow::Cow::Borrowed(_) => url.into(),
        std::borrow::Cow::Owned(path) => format!("{}{path}", &url[..path_start]).into(),
    }
}

/// Keeps a logged field on one line and inside its quotes.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() || c == '"' { '_' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{redact, redact_url, Rotation};

    #[test]
    fn mail_link_tokens_stay_out_of_the_log() {
        assert_eq!(redact("/reset/abcdef"), "/reset/-");
        assert_eq!(redact("/verify/abcdef"), "/verify/-");
        assert_eq!(redact("/verify/resend"), "/verify/resend");
        assert_eq!(redact("/reset"), "/reset");
        assert_eq!(redact("/dav/calendars/a/"), "/dav/calendars/a/");
        assert_eq!(redact("/s/tok/calendar.ics"), "/s/-/calendar.ics");
        assert_eq!(redact("/dav/s/tok/a.ics"), "/dav/s/-/a.ics");
        assert_eq!(redact("/s/tok?view=week"), "/s/-?view=week");
        // Wrong paths carry the token too.
        assert_eq!(redact("//s/tok"), "//s/-");
        assert_eq!(redact("//dav/s/tok/"), "//dav/s/-/");
        assert_eq!(redact("/dav//s/tok/a.ics"), "/dav//s/-/a.ics");
        assert_eq!(redact("/s/tok/"), "/s/-/");
        assert_eq!(
            redact_url("https://cal.example/s/tok?view=week"),
            "https://cal.example/s/-?view=week"
        );
        assert_eq!(
            redact_url("https://cal.example/blog"),
            "https://cal.example/blog"
        );
        assert_eq!(redact_url("-"), "-");
    }

    #[test]
    fn rotation_settings() {
        assert_eq!(
            Rotation::parse("daily", 3),
            Some(Rotation {
                daily: true,
                max_bytes: 0,
                keep: 3
            })
        );
        assert_eq!(
            Rotation::parse("size:1000", 3),
            Some(Rotation {
                daily: false,
                max_bytes: 1000,
                keep: 3
            })
        );
        assert_eq!(
            Rotation::parse("off", 3).map(|r| (r.daily, r.max_bytes)),
            Some((false, 0))
        );
        assert_eq!(Rotation::parse("weekly", 3), None);
    }
}

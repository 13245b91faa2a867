//! Settings of a running server. The binary fills them from flags, the
//! environment and a TOML file; the defaults are safe for a small site.

use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest request body accepted at all (an .ics import can be big).
    pub max_body_bytes: usize,
    /// Largest single calendar object or file.
    pub max_item_bytes: usize,
    pub max_items_per_collection: i64,
    /// Calendars and plain WebDAV collections together.
    pub max_collections_per_user: i64,
    /// Storage each user may fill (RFC 4331 quota).
    pub quota_bytes: i64,
    /// Recurrence instances computed for one object in one query.
    pub max_instances: usize,
    /// Nesting depth and element count of an XML request body.
    pub max_xml_depth: usize,
    pub max_xml_elements: usize,
    /// Largest body of an XML request (PROPFIND, PROPPATCH, REPORT, MKCOL,
    /// MKCALENDAR, ...); PUT and POST carry data and have `max_body_bytes`.
    pub max_xml_body_bytes: usize,
    /// Largest value of one property (display name, description, colour,
    /// time zone, a dead property).
    pub max_property_bytes: usize,
    /// Dead properties on one resource.
    pub max_dead_properties: usize,
    /// Deletions each collection remembers for sync clients; a client whose
    /// sync token is older than the oldest syncs from scratch.
    pub tombstones_per_collection: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 16 * 1024 * 1024,
            max_item_bytes: 1024 * 1024,
            max_items_per_collection: 100_000,
            max_collections_per_user: 200,
            quota_bytes: 500 * 1024 * 1024,
            max_instances: 10_000,
            max_xml_depth: 32,
            max_xml_elements: 20_000,
            max_xml_body_bytes: 1024 * 1024,
            max_property_bytes: 64 * 1024,
            max_dead_properties: 100,
            tombstones_per_collection: 10_000,
        }
    }
}

/// Branding and addresses: the plan never settled its name, so all of it is
/// configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Site {
    pub name: String,
    /// The canonical address people use, for links in pages, feeds and
    /// mails. Empty: the address each request came in on.
    pub base_url: String,
    pub support_email: String,
    /// An SVG logo replacing the built-in one (shown beside the name).
    pub logo_file: Option<PathBuf>,
    /// An ICO favicon replacing the built-in one.
    pub favicon_file: Option<PathBuf>,
}

impl Default for Site {
    fn default() -> Self {
        Self {
            name: "Almanac".to_owned(),
            base_url: String::new(),
            support_email: "support@example.org".to_owned(),
            logo_file: None,
            favicon_file: None,
        }
    }
}

/// The probe `serve` runs on a schedule to feed the status site.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProbeSchedule {
    /// Seconds between runs; 0 turns the scheduled probe off.
    pub interval_seconds: u64,
    /// An account kept for the probe (an admin, so it can check writes
    /// during maintenance).
    pub user: String,
    pub password_file: PathBuf,
    pub calendar: String,
    /// Seconds between sign-up checks (a throwaway account made through
    /// the web form and deleted again; the probe account must be staff);
    /// 0 turns them off.
    pub signup_interval_seconds: u64,
}

impl Default for ProbeSchedule {
    fn default() -> Self {
        Self {
            interval_seconds: 0,
            user: "probe".to_owned(),
            password_file: PathBuf::from("probe.password"),
            calendar: "calendar".to_owned(),
            signup_interval_seconds: 3600,
        }
    }
}

/// Who may read the metrics, and how often `serve` collects them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// Anyone may read the metrics API (and dashboard); otherwise admins only.
    pub public: bool,
    /// Seconds between collections inside `serve`; 0 turns it off.
    pub collect_interval_seconds: u64,
    /// Client classification rules (TOML) replacing the built-in ones, read
    /// at each collection: edit it without rebuilding.
    pub rules_file: Option<PathBuf>,
    /// Bearer token for `/metrics` (Prometheus); empty: `/metrics` is off.
    pub prometheus_token: String,
    /// Bearer token for submitting external series (POST to
    /// `/api/v1/metrics/{name}`); empty: submitting is off.
    pub submit_token: String,
    /// An IP-to-country database in MaxMind's format (GeoLite2-Country or
    /// DB-IP's country file): countries of client addresses on the
    /// dashboard. Empty: countries are not known.
    pub country_database: Option<PathBuf>,
    /// The logs to collect, when not only this instance's own: patterns
    /// whose file name may hold `*` (e.g. `/var/log/almanac/access-*.log`
    /// for instances that each write their own log). Rotations come along.
    pub log_files: Vec<String>,
}

/// How the service sends mail (validation links, resets, support replies).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailSettings {
    /// e.g. `smtps://user:password@mail.example.org:465` or
    /// `smtp://localhost:25`; empty: every mail is written to
    /// `DATA_DIR/outbox/` as an .eml file and its link is logged.
    pub smtp_url: String,
    /// The From: of every mail.
    pub from: String,
    /// How often due reminders are looked for, in seconds.
    pub reminder_check_seconds: u64,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            smtp_url: String::new(),
            from: "Almanac <noreply@example.org>".to_owned(),
            reminder_check_seconds: 15,
        }
    }
}

/// Attempts per client address on the forms strangers can reach; beyond
/// them the form answers 429 until the window passes.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimits {
    pub login_per_minute: u32,
    pub signup_per_hour: u32,
    pub reset_per_hour: u32,
    pub contact_per_hour: u32,
    /// Behind a reverse proxy every request comes from the proxy: take the
    /// client address from the last X-Forwarded-For hop instead.
    pub trust_forwarded_for: bool,
    /// Failed log-ins (Basic or the form) within five minutes before a user
    /// name is refused (429) from that address...
    pub failed_logins_per_user_and_address: u32,
    /// ... before an address is refused for every user name ...
    pub failed_logins_per_address: u32,
    /// ... and before a user name accepts only credentials that verified
    /// before (its own devices), from any address.
    pub failed_logins_per_user: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            login_per_minute: 10,
            signup_per_hour: 10,
            reset_per_hour: 5,
            contact_per_hour: 5,
            trust_forwarded_for: false,
            failed_logins_per_user_and_address: 10,
            failed_logins_per_address: 100,
            failed_logins_per_user: 50,
        }
    }
}

/// Password checks: argon2 costs tens of milliseconds and about 19 MiB
/// each, so they are cached and capped.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// How long a verified Basic credential is trusted without argon2.
    pub credential_cache_seconds: u64,
    /// Password checks running at once; 0: one per CPU core.
    pub password_checks: usize,
    /// Requests waiting for a password check; beyond them a request that
    /// needs one is answered 503 with Retry-After.
    pub password_check_queue: usize,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            credential_cache_seconds: 6 * 3600,
            password_checks: 0,
            password_check_queue: 32,
        }
    }
}

/// The HTTP listener's defences against slow, idle and too many clients.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Open connections; one more is answered 503 and closed.
    pub max_connections: usize,
    /// A connection that has not sent a whole request head in this time
    /// (a new one, or an idle keep-alive one) is closed.
    pub header_read_timeout_seconds: u64,
    /// A request body that sends nothing for this long is answered 408.
    pub body_timeout_seconds: u64,
    /// The longest a whole request may take; then 503 and the connection
    /// is closed.
    pub request_timeout_seconds: u64,
    /// A client that reads nothing of its answer for this long is
    /// disconnected.
    pub send_timeout_seconds: u64,
    /// Request bodies that all requests in flight may hold in memory
    /// together; a body that finds no room waits (up to the body timeout,
    /// then 503).
    pub max_buffered_body_bytes: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            header_read_timeout_seconds: 20,
            body_timeout_seconds: 30,
            request_timeout_seconds: 300,
            send_timeout_seconds: 30,
            max_buffered_body_bytes: 128 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub listen: String,
    pub data_dir: PathBuf,
    /// Empty: SQLite in `data_dir/almanac.db`.
    pub database_url: String,
    /// Empty: `data_dir/access.log`; "-": no access log.
    pub access_log: String,
    /// "daily", "size:BYTES" or "off": when the access log starts a new file.
    pub access_log_rotate: String,
    /// Rotated access logs kept (`access.log.1` is the newest).
    pub access_log_keep: usize,
    /// Where announcements (`announcements/YYYY-MM-DD-slug.md`) live.
    pub content_dir: PathBuf,
    /// A second address serving only the status site (empty: none).
    pub status_listen: String,
    pub site: Site,
    pub probe: ProbeSchedule,
    pub metrics: MetricsSettings,
    pub limits: Limits,
    pub mail: MailSettings,
    pub rate_limits: RateLimits,
    pub auth: AuthSettings,
    pub server: ServerSettings,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            data_dir: PathBuf::from("almanac-data"),
            database_url: String::new(),
            access_log: String::new(),
            access_log_rotate: "daily".to_owned(),
            access_log_keep: 400,
            content_dir: PathBuf::from("content"),
            status_listen: String::new(),
            site: Site::default(),
            probe: ProbeSchedule::default(),
            metrics: MetricsSettings::default(),
            limits: Limits::default(),
            mail: MailSettings::default(),
            rate_limits: RateLimits::default(),
            auth: AuthSettings::default(),
            server: ServerSettings::default(),
        }
    }
}

impl Config {
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("almanac.db").display())
        } else {
            self.database_url.clone()
        }
    }

    pub fn access_log_path(&self) -> Option<PathBuf> {
        match self.access_log.as_str() {
            "" => Some(self.data_dir.join("access.log")),
            "-" => None,
            path => Some(PathBuf::from(path)),
        }
    }
}

//! Rows as the rest of Almanac sees them.

#[derive(Debug, Clone, PartialEq, Eq, Default, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub password_hash: String,
    #[sqlx(try_from = "i64")]
    pub is_admin: Flag,
    pub created_at: i64,
    /// When the address was validated; `None`: the account cannot log in
    /// or sync yet.
    pub verified_at: Option<i64>,
    /// Locked by staff: no log-in, no sync.
    #[sqlx(try_from = "i64")]
    pub locked: Flag,
}

impl User {
    /// Whether the account may log in and sync.
    pub fn may_sign_in(&self) -> bool {
        self.verified_at.is_some() && !self.locked.0
    }
}

/// A 0/1 column read as a bool (SQLite has no boolean type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flag(pub bool);

impl From<i64> for Flag {
    fn from(v: i64) -> Self {
        Self(v != 0)
    }
}

/// A collection below a user's calendar home: a calendar, or a plain WebDAV
/// collection. `path` is relative to the home, without slashes at either end.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Collection {
    pub id: i64,
    pub owner_id: i64,
    pub path: String,
    #[sqlx(try_from = "i64")]
    pub is_calendar: Flag,
    pub displayname: Option<String>,
    pub description: Option<String>,
    pub color: Option<String>,
    pub timezone: Option<String>,
    /// Comma-separated component names the calendar accepts (VEVENT,VTODO,...).
    pub components: String,
    pub sync_revision: i64,
    pub created_at: i64,
    pub modified_at: i64,
    /// Sync tokens below this revision are too old: tombstones they would
    /// need were pruned.
    pub sync_floor: i64,
}

impl Collection {
    pub fn is_calendar(&self) -> bool {
        self.is_calendar.0
    }

    pub fn accepts(&self, component: &str) -> bool {
        self.components.split(',').any(|c| c == component)
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewCollection {
    pub path: String,
    pub is_calendar: bool,
    pub displayname: Option<String>,
    pub description: Option<String>,
    pub color: Option<String>,
    pub timezone: Option<String>,
    pub components: Option<String>,
}

impl NewCollection {
    /// A calendar at `path` below the home, accepting every component type.
    pub fn calendar(path: &str, displayname: Option<&str>) -> Self {
        Self {
            path: path.to_owned(),
            is_calendar: true,
            displayname: displayname.map(str::to_owned),
            ..Self::default()
        }
    }
}

/// Live properties a PROPPATCH or the web UI may change; `Some(None)` removes.
#[derive(Debug, Clone, Default)]
pub struct CollectionUpdate {
    pub displayname: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub color: Option<Option<String>>,
    pub timezone: Option<Option<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ItemMeta {
    pub name: String,
    pub content_type: String,
    pub etag: String,
    pub size: i64,
    pub component: Option<String>,
    pub revision: i64,
    pub modified_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub meta: ItemMeta,
    pub data: Vec<u8>,
}

/// What the store indexes of a calendar object so queries can skip the rest.
#[derive(Debug, Clone)]
pub struct CalendarIndex {
    pub uid: String,
    pub component: String,
    /// UTC bounds of the whole recurrence set (i64::MIN/MAX when unbounded).
    pub start: i64,
    pub end: i64,
    /// The words the web calendar's search finds the object by.
    pub search_text: String,
    /// When the next of its alarms that can be mailed is due.
    pub alarm_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewItem<'a> {
    pub content_type: &'a str,
    pub data: &'a [u8],
    pub calendar: Option<CalendarIndex>,
    pub origin: Origin,
}

/// Where a change came from; kept with each change for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    /// A sync client (CalDAV/WebDAV).
    #[default]
    Sync,
    /// The web calendar.
    Web,
    /// An imported .ics file.
    Import,
    /// A visitor through a share link.
    Share,
    /// The server delivering a scheduling message (RFC 6638).
    Scheduling,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sync => "sync",
            Self::Web => "web",
            Self::Import => "import",
            Self::Share => "share",
            Self::Scheduling => "scheduling",
        }
    }
}

/// The conditional-request headers of a write, already parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum WriteCondition {
    #[default]
    Always,
    /// If-Match: the current ETag must be this one.
    IfMatch(String),
    /// If-Match: * — the resource must exist.
    IfExists,
    /// If-None-Match: * (or Overwrite: F) — the resource must not exist.
    IfAbsent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutOutcome {
    pub created: bool,
    pub etag: String,
}

/// One entry of a sync-collection answer: a member changed or deleted.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Change {
    pub name: String,
    pub revision: i64,
    #[sqlx(try_from = "i64")]
    pub deleted: Flag,
}

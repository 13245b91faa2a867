//! One access-log line as a compact, borrowed record.

use crate::day::Day;

/// How the server authenticated a request (`auth=`), or `Unspecified` when
/// the line has no such field (plain combined logs from a proxy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthKind {
    #[default]
    Unspecified,
    None,
    Password,
    Session,
    Ticket,
}

impl AuthKind {
    pub(crate) fn parse(value: &str) -> Self {
        match value {
            "none" => Self::None,
            "password" => Self::Password,
            "session" => Self::Session,
            "ticket" => Self::Ticket,
            _ => Self::Unspecified,
        }
    }
}

/// The `ev=` markers the server writes on lines that mean something more
/// than the request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Login,
    Signup,
    SignupVerified,
    ShareVisit,
    /// An item changed by a sync client.
    SyncWrite,
    /// An item changed in the web calendar by its owner.
    WebWrite,
    /// An item changed through a share link.
    ShareWrite,
    /// A calendar made, changed or deleted: not an item change.
    CalendarWrite,
    SupportRequest,
}

impl Event {
    const ALL: [Self; 9] = [
        Self::Login,
        Self::Signup,
        Self::SignupVerified,
        Self::ShareVisit,
        Self::SyncWrite,
        Self::WebWrite,
        Self::ShareWrite,
        Self::CalendarWrite,
        Self::SupportRequest,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Signup => "signup",
            Self::SignupVerified => "signup_verified",
            Self::ShareVisit => "share_visit",
            Self::SyncWrite => "sync_write",
            Self::WebWrite => "web_write",
            Self::ShareWrite => "share_write",
            Self::CalendarWrite => "calendar_write",
            Self::SupportRequest => "support_request",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of [`Event`]s, one bit each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Events(u16);

impl Events {
    pub fn contains(self, event: Event) -> bool {
        self.0 & event.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn contains_any(self, events: &[Event]) -> bool {
        events.iter().any(|e| self.contains(*e))
    }

    pub fn insert(&mut self, event: Event) {
        self.0 |= event.bit();
    }

    /// Adds the markers of one `ev=` value (comma-separated); unknown names
    /// are ignored so that newer servers do not break older collectors.
    pub(crate) fn add_list(&mut self, list: &str) {
        for name in list.split(',') {
            if let Some(event) = Event::ALL.into_iter().find(|e| e.name() == name) {
                self.insert(event);
            }
        }
    }
}

/// A share link's address (`/s/TOKEN…`, `/dav/s/TOKEN…`): how a plain
/// proxy log shows a visit.
fn is_share_path(path: &str) -> bool {
    path.starts_with("/s/") || path.starts_with("/dav/s/")
}

/// One parsed line. Text fields borrow from the line; `-` fields are `None`
/// or empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord<'a> {
    /// Client host name or IP address (`%h`).
    pub host: &'a str,
    /// Authenticated user (`%u`), `None` for `-`.
    pub user: Option<&'a str>,
    /// The day as written in the log (the server's local date).
    pub day: Day,
    /// Seconds since the Unix epoch, UTC.
    pub time: i64,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub bytes_out: u64,
    /// Request body bytes (`in=`), absent in plain logs.
    pub bytes_in: Option<u64>,
    /// Time to the response head (`dur_us=`), absent in plain logs.
    pub duration_us: Option<u64>,
    pub auth: AuthKind,
    /// `-` when the client sent none.
    pub referrer: &'a str,
    /// `-` when the client sent none.
    pub user_agent: &'a str,
    pub events: Events,
    /// Whose calendar a share link opened (`owner=`).
    pub owner: Option<&'a str>,
    /// What an item change changed (`item=`).
    pub item: Option<ItemKind>,
}

/// The kind of calendar item a change touched (`item=event|task`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Event,
    Task,
}

impl ItemKind {
    pub(crate) fn parse(value: &str) -> Option<Self> {
        match value {
            "event" => Some(Self::Event),
            "task" => Some(Self::Task),
            _ => None,
        }
    }
}

impl LogRecord<'_> {
    /// The account behind the request: a user name the server accepted.
    /// A share link's visitor has none (a user name on such a line, from
    /// older servers, is the link's owner, not the visitor).
    pub fn account(&self) -> Option<&str> {
        if self.status == 401 || matches!(self.auth, AuthKind::None | AuthKind::Ticket) {
            return None;
        }
        self.user
    }

    /// A share-link visit: marked by the server, or a ticket (share-link)
    /// authentication.
    pub fn is_share_visit(&self) -> bool {
        self.events
            .contains_any(&[Event::ShareVisit, Event::ShareWrite])
            || self.auth == AuthKind::Ticket
            || (self.auth == AuthKind::Unspecified && is_share_path(self.path))
    }

    /// Whose calendar a share link opened: the `owner=` field, or for
    /// older logs the user name the server wrote there.
    pub fn share_owner(&self) -> Option<&str> {
        self.owner.or_else(|| {
            (self.auth == AuthKind::Ticket)
                .then_some(self.user)
                .flatten()
        })
    }
}

//! What a request means for the metrics, decided from its method, path,
//! markers and client: write or read, change, share visit, where from.

use crate::record::{AuthKind, Event, ItemKind, LogRecord};
use crate::rules::{ClientClass, LocationRules};
use std::borrow::Cow;

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Sync,
    Web,
    Share,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// From the server's `item=`; in plain logs guessed from the path (see
    /// [`is_task_path`]).
    pub task: bool,
    pub channel: Channel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTraits {
    pub write: bool,
    pub share: bool,
    pub login: bool,
    pub change: Option<Change>,
}

impl RequestTraits {
    pub fn of(record: &LogRecord<'_>, class: ClientClass) -> Self {
        let share = record.is_share_visit();
        let events = record.events;
        let channel = if events.contains(Event::ShareWrite) {
            Some(Channel::Share)
        } else if events.contains(Event::WebWrite) {
            Some(Channel::Web)
        } else if events.contains(Event::SyncWrite) {
            Some(Channel::Sync)
        } else if record.auth == AuthKind::Unspecified && plain_item_write(record) {
            // Plain proxy logs carry no markers: a successful item write
            // is a change, by whoever the link or the client says.
            Some(if share {
                Channel::Share
            } else if class == ClientClass::Web {
                Channel::Web
            } else {
                Channel::Sync
            })
        } else {
            None
        };
        Self {
            write: is_write_method(record.method),
            share,
            login: events.contains(Event::Login),
            change: channel.map(|channel| Change {
                task: match record.item {
                    Some(kind) => kind == ItemKind::Task,
                    None => is_task_path(record.path),
                },
                channel,
            }),
        }
    }
}

/// A successful PUT, DELETE, MOVE or COPY of a calendar object (a name
/// ending in `.ics`; collections end in `/`) by someone the proxy named.
fn plain_item_write(record: &LogRecord<'_>) -> bool {
    let path = record.path.split_once('?').map_or(record.path, |(p, _)| p);
    (record.user.is_some() || record.is_share_visit())
        && (200..300).contains(&record.status)
        && matches!(record.method, "PUT" | "DELETE" | "MOVE" | "COPY")
        && !path.ends_with('/')
}

fn is_write_method(method: &str) -> bool {
    matches!(
        method,
        "PUT"
            | "DELETE"
            | "POST"
            | "PATCH"
            | "PROPPATCH"
            | "MKCALENDAR"
            | "MKCOL"
            | "MOVE"
            | "COPY"
            | "LOCK"
            | "UNLOCK"
    )
}

/// The log has no content type, so tasks are recognised by the name of the
/// collection holding the item (the path's second-to-last segment):
/// clients create task lists with names like "tasks", "todo" or
/// "reminders". Everything else counts as an event.
pub fn is_task_path(path: &str) -> bool {
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let mut segments = path.trim_end_matches('/').rsplit('/');
    segments.next();
    segments.next().is_some_and(|collection| {
        let collection = collection.to_ascii_lowercase();
        ["task", "todo", "reminder"]
            .iter()
            .any(|word| collection.contains(word))
    })
}

/// The owner named in a calendar path: `/dav/calendars/{owner}/…`,
/// `/dav/{owner}/…`, `/ics/{owner}/…` or `/share/{owner}/…`. Share-link
/// paths (`/s/…`, `/dav/s/…`) name none: their owner is in `owner=`.
pub fn path_owner(path: &str) -> Option<&str> {
    let mut segments = path.trim_start_matches('/').split('/');
    let owner = match segments.next()? {
        "dav" => match segments.next()? {
            "calendars" | "principals" => segments.next()?,
            "s" => return None,
            owner => owner,
        },
        "ics" | "share" => segments.next()?,
        _ => return None,
    };
    let owner = owner.split_once('?').map_or(owner, |(o, _)| o);
    (!owner.is_empty()).then_some(owner)
}

/// The breakdown label of hosts that are unresolved IP addresses.
pub const ADDRESS_LABEL: &str = "(address)";

/// The top-level domain of a client host, lower-case; `None` for an
/// unresolved IP address.
pub fn host_tld(host: &str) -> Option<Cow<'_, str>> {
    if is_address(host) {
        return None;
    }
    let tld = host.rsplit('.').next().unwrap_or(host);
    Some(if tld.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(tld.to_ascii_lowercase())
    } else {
        Cow::Borrowed(tld)
    })
}

fn is_address(host: &str) -> bool {
    host.contains(':') || host.bytes().last().is_none_or(|b| b.is_ascii_digit())
}

/// Where a client probably is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Home,
    Outside,
    Unknown,
}

/// A host name with a two-letter (country) TLD is at home if it is the home
/// TLD and outside otherwise; generic TLDs (.com, .net, …) say nothing. An
/// address is at home if it starts with a configured home prefix and unknown
/// otherwise (there is no geolocation database).
pub fn location(host: &str, rules: &LocationRules) -> Location {
    if is_address(host) {
        return if rules
            .home_ip_prefixes
            .iter()
            .any(|p| host.starts_with(p.as_str()))
        {
            Location::Home
        } else {
            Location::Unknown
        };
    }
    let tld = host_tld(host).unwrap_or_default();
    if tld.len() != 2 || !tld.bytes().all(|b| b.is_ascii_alphabetic()) {
        Location::Unknown
    } else if tld.eq_ignore_ascii_case(&rules.home_tld) {
        Location::Home
    } else {
        Location::Outside
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_task_collections_and_owners() {
        assert!(is_task_path("/dav/calendars/alice/tasks/x.ics"));
        assert!(is_task_path("/dav/calendars/alice/My-ToDo/x.ics?a=b"));
        assert!(!is_task_path("/dav/calendars/alice/calendar/x.ics"));
        assert!(!is_task_path("/dav/calendars/tasks-fan/home/x.ics"));
        assert_eq!(path_owner("/dav/calendars/alice/calendar/"), Some("alice"));
        assert_eq!(path_owner("/dav/bob/calendar/"), Some("bob"));
        assert_eq!(path_owner("/ics/carol/x.ics"), Some("carol"));
        assert_eq!(path_owner("/static/app.js"), None);
        assert_eq!(
            path_owner("/dav/s/-/x.ics"),
            None,
            "a share link names no owner"
        );
        assert_eq!(path_owner("/s/-/calendar.ics"), None);
    }

    #[test]
    fn places_hosts() {
        let rules = LocationRules {
            home_tld: "us".into(),
            home_ip_prefixes: vec!["81.7.".into()],
            home_country: None,
        };
        assert_eq!(host_tld("Mail.Example.DE").unwrap(), "de");
        assert_eq!(host_tld("2001:db8::1"), None);
        assert_eq!(host_tld("192.0.2.1"), None);
        assert_eq!(location("x.example.de", &rules), Location::Outside);
        assert_eq!(location("x.example.us", &rules), Location::Home);
        assert_eq!(location("x.example.com", &rules), Location::Unknown);
        assert_eq!(location("81.7.1.2", &rules), Location::Home);
        assert_eq!(location("82.7.1.2", &rules), Location::Unknown);
    }
}

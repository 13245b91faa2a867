//! The DAV URL namespace:
//!
//! | path                                | resource              |
//! |-------------------------------------|-----------------------|
//! | `/dav/`                             | root                  |
//! | `/dav/principals/`                  | principal collection  |
//! | `/dav/principals/{user}/`           | a user's principal    |
//! | `/dav/principals/{user}/inbox/`     | schedule inbox        |
//! | `/dav/principals/{user}/inbox/{m}`  | a scheduling message  |
//! | `/dav/principals/{user}/outbox/`    | schedule outbox       |
//! | `/dav/calendars/{user}/`            | calendar home         |
//! | `/dav/calendars/{user}/{a}/{b}...`  | collections, members  |

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

pub const ROOT: &str = "/dav/";
pub const PRINCIPALS: &str = "/dav/principals/";
pub const CALENDARS: &str = "/dav/calendars/";

/// Characters left as they are in an href segment (RFC 3986 unreserved and
/// a few sub-delims clients leave alone).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@')
    .remove(b'+')
    .remove(b'=')
    .remove(b'!')
    .remove(b'$')
    .remove(b',')
    .remove(b';');

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DavPath {
    Root,
    Principals,
    Principal(String),
    Home(String),
    /// The schedule inbox (RFC 6638 §2.2), and a message in it.
    Inbox(String),
    InboxMessage {
        user: String,
        name: String,
    },
    /// The schedule outbox (RFC 6638 §2.1).
    Outbox(String),
    /// Below a home: the decoded segments; the store decides whether the
    /// last one is a collection or a member.
    InHome {
        user: String,
        segments: Vec<String>,
    },
}

impl DavPath {
    /// Parses a request path (still percent-encoded). None if it is outside
    /// `/dav/` or has a segment that is empty, `.` or `..` after decoding.
    pub fn parse(path: &str) -> Option<Self> {
        let rest = path.strip_prefix("/dav")?;
        if rest.is_empty() || rest == "/" {
            return Some(Self::Root);
        }
        let rest = rest.strip_prefix('/')?;
        let mut segments = Vec::new();
        for raw in rest.trim_end_matches('/').split('/') {
            let decoded = percent_decode_str(raw).decode_utf8().ok()?;
            // Control characters are never part of a name (the store packs
            // listings with ASCII separators).
            if decoded.is_empty()
                || decoded == "."
                || decoded == ".."
                || decoded.contains('/')
                || decoded.chars().any(char::is_control)
            {
                return None;
            }
            segments.push(decoded.into_owned());
        }
        let mut parts = segments.into_iter();
        let kind = parts.next()?;
        let user = parts.next();
        let rest: Vec<String> = parts.collect();
        match (kind.as_str(), user) {
            ("principals", None) => Some(Self::Principals),
            ("principals", Some(user)) if rest.is_empty() => Some(Self::Principal(user)),
            ("principals", Some(user)) => match rest.as_slice() {
                [mailbox] if mailbox == "inbox" => Some(Self::Inbox(user)),
                [mailbox] if mailbox == "outbox" => Some(Self::Outbox(user)),
                [mailbox, name] if mailbox == "inbox" => Some(Self::InboxMessage {
                    user,
                    name: name.clone(),
                }),
                _ => None,
            },
            ("calendars", Some(user)) if rest.is_empty() => Some(Self::Home(user)),
            ("calendars", Some(user)) => Some(Self::InHome {
                user,
                segments: rest,
            }),
            _ => None,
        }
    }
}

pub fn encode_segment(segment: &str) -> String {
    utf8_percent_encode(segment, SEGMENT).to_string()
}

pub fn principal_href(user: &str) -> String {
    format!("{PRINCIPALS}{}/", encode_segment(user))
}

pub fn inbox_href(user: &str) -> String {
    format!("{}inbox/", principal_href(user))
}

pub fn outbox_href(user: &str) -> String {
    format!("{}outbox/", principal_href(user))
}

pub fn home_href(user: &str) -> String {
    format!("{CALENDARS}{}/", encode_segment(user))
}

/// href of a collection below a home; `path` uses `/` between segments.
pub fn collection_href(user: &str, path: &str) -> String {
    let mut href = home_href(user);
    for segment in path.split('/') {
        href.push_str(&encode_segment(segment));
        href.push('/');
    }
    href
}

pub fn member_href(collection_href: &str, name: &str) -> String {
    format!("{collection_href}{}", encode_segment(name))
}

/// The path part of an href or a Destination URL (`http://host/dav/...`).
pub fn path_of(url: &str) -> &str {
    match url.find("://") {
        Some(scheme_end) => {
            let after = &url[scheme_end + 3..];
            after.find('/').map_or("/", |i| &after[i..])
        }
        None => url,
    }
}

/// The authority (`host[:port]`) of an absolute URL; None for a path.
pub fn authority_of(url: &str) -> Option<&str> {
    let after = &url[url.find("://")? + 3..];
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let authority = &after[..end];
    // Without userinfo: `user@host` names the host.
    Some(
        authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host),
    )
}

/// Two authorities name the same host and port (case aside; a missing
/// port is 80 or 443, so `host` and `host:443` are not told apart).
pub fn same_authority(a: &str, b: &str) -> bool {
    fn normal(authority: &str) -> String {
        let lower = authority.trim().to_ascii_lowercase();
        lower
            .strip_suffix(":80")
            .or_else(|| lower.strip_suffix(":443"))
            .unwrap_or(&lower)
            .to_owned()
    }
    normal(a) == normal(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities() {
        assert_eq!(
            authority_of("http://Cal.example:8080/dav/x"),
            Some("Cal.example:8080")
        );
        assert_eq!(authority_of("https://u@cal.example/"), Some("cal.example"));
        assert_eq!(authority_of("/dav/x"), None);
        assert!(same_authority("cal.example", "CAL.example:443"));
        assert!(!same_authority("cal.example", "evil.example"));
        assert!(!same_authority("cal.example:8080", "cal.example:8081"));
    }

    #[test]
    fn parses_the_namespace() {
        assert_eq!(DavPath::parse("/dav/"), Some(DavPath::Root));
        assert_eq!(
            DavPath::parse("/dav/principals/alice/"),
            Some(DavPath::Principal("alice".into()))
        );
        assert_eq!(
            DavPath::parse("/dav/calendars/alice/work/ev%201.ics"),
            Some(DavPath::InHome {
                user: "alice".into(),
                segments: vec!["work".into(), "ev 1.ics".into()]
            })
        );
        assert_eq!(DavPath::parse("/dav/calendars/alice/%2e%2e/bob/"), None);
        assert_eq!(DavPath::parse("/davx/"), None);
        assert_eq!(DavPath::parse("/dav/calendars/alice/c/a%1Fb.ics"), None);
    }

    #[test]
    fn encodes_round_trip() {
        let href = member_href(&collection_href("a b", "work"), "x y@z.ics");
        assert_eq!(href, "/dav/calendars/a%20b/work/x%20y@z.ics");
        assert_eq!(path_of("http://h:1/dav/x/"), "/dav/x/");
    }
}

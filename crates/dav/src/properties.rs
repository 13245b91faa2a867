//! The DAV namespace as a small tree of resource kinds. Each kind answers
//! its live properties through [`Resource`]; PROPFIND, REPORT responses and
//! PROPPATCH all go through [`propstats`] and [`is_protected`], so a new
//! property lands in one place.

use crate::multistatus::{PropStats, PropValue};
use crate::names::PropName;
use crate::requests::PropRequest;
use crate::xml::{escape, APPLE, CALDAV, CALSERVER, DAV};
use std::fmt::Write;

macro_rules! names {
    ($($const:ident = $ns:ident $name:literal;)*) => {
        $(pub const $const: PropName = PropName::new($ns, $name);)*
        const ALL_LIVE: &[PropName] = &[$($const),*];
    };
}

names! {
    RESOURCETYPE = DAV "resourcetype";
    DISPLAYNAME = DAV "displayname";
    GETETAG = DAV "getetag";
    GETCONTENTTYPE = DAV "getcontenttype";
    GETCONTENTLENGTH = DAV "getcontentlength";
    GETLASTMODIFIED = DAV "getlastmodified";
    CREATIONDATE = DAV "creationdate";
    OWNER = DAV "owner";
    CURRENT_USER_PRINCIPAL = DAV "current-user-principal";
    CURRENT_USER_PRIVILEGE_SET = DAV "current-user-privilege-set";
    PRINCIPAL_URL = DAV "principal-URL";
    PRINCIPAL_COLLECTION_SET = DAV "principal-collection-set";
    SUPPORTED_REPORT_SET = DAV "supported-report-set";
    SYNC_TOKEN = DAV "sync-token";
    QUOTA_AVAILABLE = DAV "quota-available-bytes";
    QUOTA_USED = DAV "quota-used-bytes";
    CALENDAR_HOME_SET = CALDAV "calendar-home-set";
    CALENDAR_USER_ADDRESS_SET = CALDAV "calendar-user-address-set";
    CALENDAR_USER_TYPE = CALDAV "calendar-user-type";
    SCHEDULE_INBOX_URL = CALDAV "schedule-inbox-URL";
    SCHEDULE_OUTBOX_URL = CALDAV "schedule-outbox-URL";
    SCHEDULE_DEFAULT_CALENDAR_URL = CALDAV "schedule-default-calendar-URL";
    SCHEDULE_TAG = CALDAV "schedule-tag";
    CALENDAR_DESCRIPTION = CALDAV "calendar-description";
    CALENDAR_TIMEZONE = CALDAV "calendar-timezone";
    SUPPORTED_COMPONENTS = CALDAV "supported-calendar-component-set";
    SUPPORTED_DATA = CALDAV "supported-calendar-data";
    MAX_RESOURCE_SIZE = CALDAV "max-resource-size";
    MIN_DATE_TIME = CALDAV "min-date-time";
    MAX_DATE_TIME = CALDAV "max-date-time";
    MAX_INSTANCES = CALDAV "max-instances";
    CALENDAR_DATA = CALDAV "calendar-data";
    GETCTAG = CALSERVER "getctag";
    CALENDAR_COLOR = APPLE "calendar-color";
}

const PRINCIPAL_PROPS: &[PropName] = &[
    RESOURCETYPE,
    DISPLAYNAME,
    PRINCIPAL_URL,
    CALENDAR_HOME_SET,
    CALENDAR_USER_ADDRESS_SET,
    CALENDAR_USER_TYPE,
    SCHEDULE_INBOX_URL,
    SCHEDULE_OUTBOX_URL,
    CURRENT_USER_PRINCIPAL,
    PRINCIPAL_COLLECTION_SET,
    OWNER,
    CURRENT_USER_PRIVILEGE_SET,
    SUPPORTED_REPORT_SET,
];

const PLAIN_PROPS: &[PropName] = &[
    RESOURCETYPE,
    CURRENT_USER_PRINCIPAL,
    PRINCIPAL_COLLECTION_SET,
    OWNER,
    CURRENT_USER_PRIVILEGE_SET,
    SUPPORTED_REPORT_SET,
];

const CALENDAR_PROPS: &[PropName] = &[
    RESOURCETYPE,
    DISPLAYNAME,
    CALENDAR_DESCRIPTION,
    CALENDAR_COLOR,
    CALENDAR_TIMEZONE,
    SUPPORTED_COMPONENTS,
    SUPPORTED_DATA,
    MAX_RESOURCE_SIZE,
    MIN_DATE_TIME,
    MAX_DATE_TIME,
    MAX_INSTANCES,
    GETCTAG,
    SYNC_TOKEN,
    SUPPORTED_REPORT_SET,
    CREATIONDATE,
    GETLASTMODIFIED,
    QUOTA_USED,
    QUOTA_AVAILABLE,
    CURRENT_USER_PRINCIPAL,
    PRINCIPAL_COLLECTION_SET,
    OWNER,
    CURRENT_USER_PRIVILEGE_SET,
];

const COLLECTION_PROPS: &[PropName] = &[
    RESOURCETYPE,
    DISPLAYNAME,
    SYNC_TOKEN,
    GETCTAG,
    SUPPORTED_REPORT_SET,
    CREATIONDATE,
    GETLASTMODIFIED,
    QUOTA_USED,
    QUOTA_AVAILABLE,
    CURRENT_USER_PRINCIPAL,
    PRINCIPAL_COLLECTION_SET,
    OWNER,
    CURRENT_USER_PRIVILEGE_SET,
];

const ITEM_PROPS: &[PropName] = &[
    RESOURCETYPE,
    GETETAG,
    GETCONTENTTYPE,
    GETCONTENTLENGTH,
    GETLASTMODIFIED,
    CREATIONDATE,
    CURRENT_USER_PRINCIPAL,
    PRINCIPAL_COLLECTION_SET,
    OWNER,
    CURRENT_USER_PRIVILEGE_SET,
];

/// The earliest and latest instants a calendar accepts, as announced by
/// CALDAV:min-date-time and CALDAV:max-date-time (1900-01-01, 2100-12-31).
pub const MIN_DATE_TIME_UTC: i64 = -2_208_988_800;
pub const MAX_DATE_TIME_UTC: i64 = 4_133_980_799;

/// True for a property some resource kind computes (never stored as dead).
pub fn is_live(name: &PropName) -> bool {
    ALL_LIVE.contains(name)
}

/// Whether answering `request` needs the dead properties of each resource.
pub fn needs_dead_properties(request: &PropRequest) -> bool {
    !matches!(request, PropRequest::Prop(names) if names.iter().all(is_live))
}

/// True for a property PROPPATCH may not change on a resource of this kind.
pub fn is_protected(name: &PropName, writable: &[PropName]) -> bool {
    is_live(name) && !writable.contains(name)
}

/// What the requester may do here (RFC 3744 current-user-privilege-set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Owner,
    ReadWrite,
    Read,
    FreeBusy,
}

impl Access {
    pub fn can_write(self) -> bool {
        matches!(self, Self::Owner | Self::ReadWrite)
    }

    pub fn can_read(self) -> bool {
        !matches!(self, Self::FreeBusy)
    }

    fn privileges_xml(self) -> String {
        let names: &[&str] = match self {
            Self::Owner | Self::ReadWrite => &[
                "D:read",
                "D:write",
                "D:write-properties",
                "D:write-content",
                "D:bind",
                "D:unbind",
                "D:read-current-user-privilege-set",
                "C:read-free-busy",
            ],
            Self::Read => &[
                "D:read",
                "D:read-current-user-privilege-set",
                "C:read-free-busy",
            ],
            Self::FreeBusy => &["C:read-free-busy"],
        };
        names.iter().fold(String::new(), |mut out, p| {
            let _ = write!(out, "<D:privilege><{p}/></D:privilege>");
            out
        })
    }
}

/// Facts every resource answer may need.
#[derive(Debug, Clone)]
pub struct Context {
    /// href of the requester's principal, or None for an anonymous visitor.
    pub principal_href: Option<String>,
    pub principals_href: String,
    pub max_resource_size: i64,
    pub max_instances: usize,
}

/// Quota figures of the owner (RFC 4331).
#[derive(Debug, Clone, Copy)]
pub struct Quota {
    pub used: i64,
    pub available: i64,
}

pub trait Resource {
    /// The percent-encoded href of this resource.
    fn href(&self) -> &str;
    /// The value of a live property as XML, or None if this kind has none.
    fn live(&self, name: &PropName, ctx: &Context) -> Option<String>;
    /// Live properties this kind has (for propname and allprop).
    fn live_names(&self) -> &'static [PropName];
    /// Dead properties: (Clark name, inner XML).
    fn dead(&self) -> &[(String, String)] {
        &[]
    }
}

/// Answers a property request against one resource.
pub fn propstats(resource: &dyn Resource, request: &PropRequest, ctx: &Context) -> PropStats {
    let mut stats = PropStats::default();
    match request {
        PropRequest::Prop(names) => {
            for name in names {
                if let Some(xml) = value_of(resource, name, ctx) {
                    stats.found.push(PropValue {
                        name: name.clone(),
                        xml,
                    });
                } else {
                    stats.not_found.push(name.clone());
                }
            }
        }
        PropRequest::PropName => {
            for name in resource.live_names() {
                stats.found.push(PropValue {
                    name: name.clone(),
                    xml: String::new(),
                });
            }
            for (clark, _) in resource.dead() {
                if let Some(name) = PropName::from_clark(clark) {
                    stats.found.push(PropValue {
                        name,
                        xml: String::new(),
                    });
                }
            }
        }
        PropRequest::AllProp { include } => {
            // RFC 4918 §9.1: allprop is the dead properties and the RFC 4918
            // live ones; expensive CalDAV properties come only when named.
            for name in resource.live_names().iter().filter(|n| n.ns == DAV) {
                if let Some(xml) = resource.live(name, ctx) {
                    stats.found.push(PropValue {
                        name: name.clone(),
                        xml,
                    });
                }
            }
            for (clark, xml) in resource.dead() {
                if let Some(name) = PropName::from_clark(clark) {
                    stats.found.push(PropValue {
                        name,
                        xml: xml.clone(),
                    });
                }
            }
            for name in include {
                if stats.found.iter().any(|p| &p.name == name) {
                    continue;
                }
                if let Some(xml) = value_of(resource, name, ctx) {
                    stats.found.push(PropValue {
                        name: name.clone(),
                        xml,
                    });
                } else {
                    stats.not_found.push(name.clone());
                }
            }
        }
    }
    stats
}

fn value_of(resource: &dyn Resource, name: &PropName, ctx: &Context) -> Option<String> {
    resource.live(name, ctx).or_else(|| {
        let clark = name.to_string();
        resource
            .dead()
            .iter()
            .find(|(n, _)| *n == clark)
            .map(|(_, v)| v.clone())
    })
}

fn href(h: &str) -> String {
    format!("<D:href>{}</D:href>", escape(h))
}

/// Properties every resource kind answers the same way.
fn common(name: &PropName, ctx: &Context, owner_href: &str, access: Access) -> Option<String> {
    Some(match name {
        n if *n == CURRENT_USER_PRINCIPAL => match &ctx.principal_href {
            Some(p) => href(p),
            None => "<D:unauthenticated/>".to_owned(),
        },
        n if *n == PRINCIPAL_COLLECTION_SET => href(&ctx.principals_href),
        n if *n == OWNER => href(owner_href),
        n if *n == CURRENT_USER_PRIVILEGE_SET => access.privileges_xml(),
        _ => return None,
    })
}

pub struct PrincipalNode {
    pub href: String,
    pub displayname: String,
    pub email: String,
    pub home_href: String,
}

impl Resource for PrincipalNode {
    fn href(&self) -> &str {
        &self.href
    }

    fn live(&self, name: &PropName, ctx: &Context) -> Option<String> {
        Some(match name {
            n if *n == RESOURCETYPE => "<D:principal/>".to_owned(),
            n if *n == DISPLAYNAME => escape(&self.displayname),
            n if *n == PRINCIPAL_URL => href(&self.href),
            n if *n == CALENDAR_HOME_SET => href(&self.home_href),
            n if *n == CALENDAR_USER_ADDRESS_SET => {
                format!(
                    "{}{}",
                    href(&format!("mailto:{}", self.email)),
                    href(&self.href)
                )
            }
            n if *n == CALENDAR_USER_TYPE => "INDIVIDUAL".to_owned(),
            n if *n == SCHEDULE_INBOX_URL => href(&format!("{}inbox/", self.href)),
            n if *n == SCHEDULE_OUTBOX_URL => href(&format!("{}outbox/", self.href)),
            n if *n == SUPPORTED_REPORT_SET => [
                report("D", "principal-property-search"),
                report("D", "principal-search-property-set"),
            ]
            .concat(),
            _ => return common(name, ctx, &self.href, Access::Read),
        })
    }

    fn live_names(&self) -> &'static [PropName] {
        PRINCIPAL_PROPS
    }
}

/// The root `/dav/`, the principals collection and calendar homes.
pub struct PlainNode {
    pub href: String,
    pub owner_href: String,
    pub quota: Option<Quota>,
    pub access: Access,
}

impl Resource for PlainNode {
    fn href(&self) -> &str {
        &self.href
    }

    fn live(&self, name: &PropName, ctx: &Context) -> Option<String> {
        Some(match name {
            n if *n == RESOURCETYPE => "<D:collection/>".to_owned(),
            n if *n == SUPPORTED_REPORT_SET => String::new(),
            n if *n == QUOTA_USED => self.quota?.used.to_string(),
            n if *n == QUOTA_AVAILABLE => self.quota?.available.to_string(),
            _ => return common(name, ctx, &self.owner_href, self.access),
        })
    }

    fn live_names(&self) -> &'static [PropName] {
        PLAIN_PROPS
    }
}

/// A calendar, or a plain WebDAV collection below a calendar home.
pub struct CollectionNode {
    pub href: String,
    pub owner_href: String,
    pub is_calendar: bool,
    pub displayname: Option<String>,
    pub description: Option<String>,
    pub color: Option<String>,
    pub timezone: Option<String>,
    pub components: Vec<String>,
    pub sync_token: String,
    pub created_at: i64,
    pub modified_at: i64,
    pub quota: Option<Quota>,
    pub access: Access,
    pub dead: Vec<(String, String)>,
}

/// Live properties of a calendar PROPPATCH and MKCALENDAR may set.
pub const CALENDAR_WRITABLE: &[PropName] = &[
    DISPLAYNAME,
    CALENDAR_DESCRIPTION,
    CALENDAR_COLOR,
    CALENDAR_TIMEZONE,
];

/// Live properties of a plain collection PROPPATCH and MKCOL may set.
pub const COLLECTION_WRITABLE: &[PropName] = &[DISPLAYNAME];

fn report(ns_prefix: &str, name: &str) -> String {
    format!("<D:supported-report><D:report><{ns_prefix}:{name}/></D:report></D:supported-report>")
}

impl Resource for CollectionNode {
    fn href(&self) -> &str {
        &self.href
    }

    fn live(&self, name: &PropName, ctx: &Context) -> Option<String> {
        let calendar_only = |v: String| self.is_calendar.then_some(v);
        match name {
            n if *n == RESOURCETYPE => Some(if self.is_calendar {
                "<D:collection/><C:calendar/>".to_owned()
            } else {
                "<D:collection/>".to_owned()
            }),
            n if *n == DISPLAYNAME => self.displayname.as_deref().map(escape),
            n if *n == CALENDAR_DESCRIPTION => self.description.as_deref().map(escape),
            n if *n == CALENDAR_COLOR => self.color.as_deref().map(escape),
            n if *n == CALENDAR_TIMEZONE => self.timezone.as_deref().map(escape),
            n if *n == SUPPORTED_COMPONENTS => {
                calendar_only(self.components.iter().fold(String::new(), |mut out, c| {
                    let _ = write!(out, "<C:comp name=\"{}\"/>", escape(c));
                    out
                }))
            }
            n if *n == SUPPORTED_DATA => calendar_only(
                "<C:calendar-data content-type=\"text/calendar\" version=\"2.0\"/>".to_owned(),
            ),
            n if *n == MAX_RESOURCE_SIZE => calendar_only(ctx.max_resource_size.to_string()),
            n if *n == MIN_DATE_TIME => calendar_only(utc_text(MIN_DATE_TIME_UTC)),
            n if *n == MAX_DATE_TIME => calendar_only(utc_text(MAX_DATE_TIME_UTC)),
            n if *n == MAX_INSTANCES => calendar_only(ctx.max_instances.to_string()),
            n if *n == GETCTAG => Some(escape(&self.sync_token)),
            n if *n == SYNC_TOKEN => Some(escape(&self.sync_token)),
            n if *n == SUPPORTED_REPORT_SET => Some(if self.is_calendar {
                [
                    report("C", "calendar-query"),
                    report("C", "calendar-multiget"),
                    report("C", "free-busy-query"),
                    report("D", "sync-collection"),
                ]
                .concat()
            } else {
                report("D", "sync-collection")
            }),
            n if *n == CREATIONDATE => Some(rfc3339(self.created_at)),
            n if *n == GETLASTMODIFIED => Some(http_date(self.modified_at)),
            n if *n == QUOTA_USED => self.quota.map(|q| q.used.to_string()),
            n if *n == QUOTA_AVAILABLE => self.quota.map(|q| q.available.to_string()),
            _ => common(name, ctx, &self.owner_href, self.access),
        }
    }

    fn live_names(&self) -> &'static [PropName] {
        if self.is_calendar {
            CALENDAR_PROPS
        } else {
            COLLECTION_PROPS
        }
    }

    fn dead(&self) -> &[(String, String)] {
        &self.dead
    }
}

/// A schedule inbox or outbox (RFC 6638 §2.1, §2.2).
pub struct MailboxNode {
    pub href: String,
    pub owner_href: String,
    pub inbox: bool,
    /// Changes whenever a message arrives or goes (inbox only).
    pub ctag: Option<String>,
    /// Where invitations land (inbox only).
    pub default_calendar_href: Option<String>,
}

const MAILBOX_PROPS: &[PropName] = &[
    RESOURCETYPE,
    DISPLAYNAME,
    SUPPORTED_REPORT_SET,
    CURRENT_USER_PRINCIPAL,
    PRINCIPAL_COLLECTION_SET,
    OWNER,
    CURRENT_USER_PRIVILEGE_SET,
];

/// Live properties of a schedule inbox PROPPATCH may set.
pub const INBOX_WRITABLE: &[PropName] = &[SCHEDULE_DEFAULT_CALENDAR_URL];

impl Resource for MailboxNode {
    fn href(&self) -> &str {
        &self.href
    }

    fn live(&self, name: &PropName, ctx: &Context) -> Option<String> {
        Some(match name {
            n if *n == RESOURCETYPE => if self.inbox {
                "<D:collection/><C:schedule-inbox/>"
            } else {
                "<D:collection/><C:schedule-outbox/>"
            }
            .to_owned(),
            n if *n == DISPLAYNAME => if self.inbox { "Inbox" } else { "Outbox" }.to_owned(),
            n if *n == SUPPORTED_REPORT_SET => String::new(),
            n if *n == GETCTAG => escape(self.ctag.as_deref()?),
            n if *n == SCHEDULE_DEFAULT_CALENDAR_URL => {
                href(self.default_calendar_href.as_deref()?)
            }
            // RFC 6638 §6: who may deliver to the inbox and send from the outbox.
            n if *n == CURRENT_USER_PRIVILEGE_SET => {
                let own = if self.inbox {
                    "<D:privilege><C:schedule-deliver/></D:privilege>\
                     <D:privilege><D:unbind/></D:privilege>"
                } else {
                    "<D:privilege><C:schedule-send/></D:privilege>"
                };
                format!("<D:privilege><D:read/></D:privilege>{own}")
            }
            _ => return common(name, ctx, &self.owner_href, Access::Read),
        })
    }

    fn live_names(&self) -> &'static [PropName] {
        MAILBOX_PROPS
    }
}

/// A member of a collection: a calendar object or a plain file.
pub struct ItemNode {
    pub href: String,
    pub owner_href: String,
    pub etag: String,
    pub content_type: String,
    pub size: i64,
    pub modified_at: i64,
    pub access: Access,
    /// The rendered CALDAV:calendar-data, when the request asked for it.
    pub calendar_data: Option<String>,
    /// A scheduling object's Schedule-Tag, when the request asked for it.
    pub schedule_tag: Option<String>,
    pub dead: Vec<(String, String)>,
}

impl Resource for ItemNode {
    fn href(&self) -> &str {
        &self.href
    }

    fn live(&self, name: &PropName, ctx: &Context) -> Option<String> {
        Some(match name {
            n if *n == RESOURCETYPE => String::new(),
            n if *n == GETETAG => escape(&self.etag),
            n if *n == GETCONTENTTYPE => escape(&self.content_type),
            n if *n == GETCONTENTLENGTH => self.size.to_string(),
            n if *n == GETLASTMODIFIED => http_date(self.modified_at),
            n if *n == CREATIONDATE => rfc3339(self.modified_at),
            n if *n == CALENDAR_DATA => escape(self.calendar_data.as_deref()?),
            n if *n == SCHEDULE_TAG => escape(self.schedule_tag.as_deref()?),
            _ => return common(name, ctx, &self.owner_href, self.access),
        })
    }

    fn live_names(&self) -> &'static [PropName] {
        ITEM_PROPS
    }

    fn dead(&self) -> &[(String, String)] {
        &self.dead
    }
}

/// RFC 1123 date, as HTTP and DAV:getlastmodified use.
pub fn http_date(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// `YYYYMMDDTHHMMSSZ`, the CalDAV form of a UTC instant.
pub fn utc_text(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

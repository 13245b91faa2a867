//! The schedule inbox and outbox (RFC 6638 §2): listing and reading the
//! iTIP messages delivered to the inbox, deleting them, choosing the
//! calendar invitations land in, and free-busy lookups of local users
//! through a POST to the outbox (§5).

use crate::request::{internal, multistatus, DavRequest, DavResult, Depth, Mailbox};
use almanac_dav::multistatus::{Multistatus, PropStats, PropValue};
use almanac_dav::paths::{self, DavPath};
use almanac_dav::properties::{
    is_protected, propstats, ItemNode, MailboxNode, INBOX_WRITABLE, SCHEDULE_DEFAULT_CALENDAR_URL,
};
use almanac_dav::requests::{parse_propfind, parse_proppatch, PatchOp};
use almanac_dav::xml::escape;
use almanac_dav::DavError;
use almanac_ical::scheduling as itip;
use almanac_ical::{ParseLimits, TimeSpan};
use almanac_service::scheduling::{busy_time, default_calendar, local_user};
use almanac_store::ScheduleMessage;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;

/// Recipients one free-busy POST may ask about.
const MAX_FREEBUSY_RECIPIENTS: usize = 50;

async fn inbox_node(request: &DavRequest) -> Result<MailboxNode, DavError> {
    let me = &request.principal;
    let (newest, count) = request
        .state
        .store
        .inbox_version(me.id)
        .await
        .map_err(internal)?;
    let user = owner(request).await?;
    let default = default_calendar(&request.state, &user, "VEVENT").await?;
    Ok(MailboxNode {
        href: paths::inbox_href(&me.name),
        owner_href: paths::principal_href(&me.name),
        inbox: true,
        ctag: Some(format!("urn:almanac:inbox:{newest}:{count}")),
        default_calendar_href: default.map(|c| paths::collection_href(&me.name, &c.path)),
    })
}

fn outbox_node(request: &DavRequest) -> MailboxNode {
    let me = &request.principal.name;
    MailboxNode {
        href: paths::outbox_href(me),
        owner_href: paths::principal_href(me),
        inbox: false,
        ctag: None,
        default_calendar_href: None,
    }
}

async fn owner(request: &DavRequest) -> Result<almanac_store::User, DavError> {
    request
        .state
        .store
        .user_by_id(request.principal.id)
        .await
        .map_err(internal)?
        .ok_or_else(|| DavError::new(404, "No such resource."))
}

fn message_node(request: &DavRequest, message: &ScheduleMessage, data: bool) -> ItemNode {
    let me = &request.principal.name;
    ItemNode {
        href: paths::member_href(&paths::inbox_href(me), &message.name),
        owner_href: paths::principal_href(me),
        etag: message.etag.clone(),
        content_type: "text/calendar; charset=utf-8".to_owned(),
        size: i64::try_from(message.data.len()).unwrap_or(i64::MAX),
        modified_at: message.created_at,
        access: request.access,
        calendar_data: data.then(|| String::from_utf8_lossy(&message.data).into_owned()),
        schedule_tag: None,
        dead: Vec::new(),
    }
}

/// PROPFIND on the inbox, the outbox or a message.
pub(crate) async fn propfind(request: &DavRequest, mailbox: Mailbox) -> DavResult {
    let wanted = parse_propfind(&request.body, request.xml_limits())?;
    let depth = request.depth(Depth::Zero)?;
    let ctx = request.context();
    let mut out = Multistatus::new();
    let wants_data = wanted.wants(&almanac_dav::properties::CALENDAR_DATA);
    match mailbox {
        Mailbox::Inbox => {
            let node = inbox_node(request).await?;
            out.response(&node.href, &propstats(&node, &wanted, &ctx));
            if depth != Depth::Zero {
                let messages = request
                    .state
                    .store
                    .inbox_messages(request.principal.id)
                    .await
                    .map_err(internal)?;
                for message in &messages {
                    let node = message_node(request, message, wants_data);
                    out.response(&node.href, &propstats(&node, &wanted, &ctx));
                }
            }
        }
        Mailbox::Outbox => {
            let node = outbox_node(request);
            out.response(&node.href, &propstats(&node, &wanted, &ctx));
        }
        Mailbox::Message(message) => {
            let node = message_node(request, &message, wants_data);
            out.response(&node.href, &propstats(&node, &wanted, &ctx));
        }
    }
    Ok(multistatus(out.finish(None)))
}

pub fn get(message: &ScheduleMessage) -> DavResult {
    let mut response = message.data.clone().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    if let Ok(etag) = HeaderValue::from_str(&message.etag) {
        headers.insert(header::ETAG, etag);
    }
    Ok(response)
}

pub async fn delete(request: &DavRequest, message: &ScheduleMessage) -> DavResult {
    if let Some(expected) = request.header("if-match") {
        if expected.trim() != "*" && expected.trim() != message.etag {
            return Err(DavError::new(412, "The message changed since you read it."));
        }
    }
    request
        .state
        .store
        .delete_inbox_message(request.principal.id, &message.name)
        .await
        .map_err(internal)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// PROPPATCH of the inbox: only schedule-default-calendar-URL, which must
/// name one of the owner's calendars (RFC 6638 §9.2).
pub async fn proppatch_inbox(request: &DavRequest) -> DavResult {
    let ops = parse_proppatch(&request.body, request.xml_limits())?;
    let href = paths::inbox_href(&request.principal.name);
    let mut chosen = None;
    for op in &ops {
        if is_protected(op.name(), INBOX_WRITABLE) {
            let mut stats = PropStats::default();
            for other in &ops {
                if other.name() == op.name() {
                    stats.forbidden.push(other.name().clone());
                } else {
                    stats.failed_dependency.push(other.name().clone());
                }
            }
            let mut out = Multistatus::new();
            out.response(&href, &stats);
            return Ok(multistatus(out.finish(None)));
        }
        match op {
            PatchOp::Set(name, element) if *name == SCHEDULE_DEFAULT_CALENDAR_URL => {
                let target = element
                    .elements()
                    .find(|e| e.name == "href")
                    .map(|e| e.text())
                    .unwrap_or_default();
                chosen = Some(calendar_named(request, target.trim()).await?);
            }
            _ => {
                return Err(DavError::caldav(
                    403,
                    "default-calendar-needed",
                    "Invitations need a calendar to land in; choose another one instead.",
                ))
            }
        }
    }
    if let Some(calendar) = chosen {
        request
            .state
            .store
            .set_schedule_default(request.principal.id, calendar)
            .await
            .map_err(internal)?;
    }
    let stats = PropStats {
        found: ops
            .iter()
            .map(|op| PropValue {
                name: op.name().clone(),
                xml: String::new(),
            })
            .collect(),
        ..PropStats::default()
    };
    let mut out = Multistatus::new();
    out.response(&href, &stats);
    Ok(multistatus(out.finish(None)))
}

/// The id of the owner's calendar at `href`, or the RFC's precondition.
async fn calendar_named(request: &DavRequest, href: &str) -> Result<i64, DavError> {
    let invalid = || {
        DavError::caldav(
            403,
            "valid-schedule-default-calendar-URL",
            "The default calendar for invitations must be one of your calendars.",
        )
    };
    let Some(DavPath::InHome { user, segments }) = DavPath::parse(paths::path_of(href)) else {
        return Err(invalid());
    };
    if user != request.principal.name {
        return Err(invalid());
    }
    let collection = request
        .state
        .store
        .collection(request.principal.id, &segments.join("/"))
        .await
        .map_err(internal)?
        .filter(almanac_store::Collection::is_calendar)
        .ok_or_else(invalid)?;
    Ok(collection.id)
}

/// POST to the outbox: a VFREEBUSY REQUEST (RFC 6638 §5), answered with
/// each recipient's busy time when they have an account here.
pub async fn post_outbox(request: &DavRequest) -> DavResult {
    let invalid = |why: &str| DavError::caldav(400, "valid-scheduling-message", why.to_owned());
    if request
        .header("content-type")
        .is_some_and(|t| !almanac_service::objects::is_calendar_data(t))
    {
        return Err(DavError::caldav(
            403,
            "supported-calendar-data",
            "The outbox takes text/calendar scheduling messages.",
        ));
    }
    let text = std::str::from_utf8(&request.body)
        .map_err(|_| invalid("The message is not UTF-8 text."))?;
    let message = almanac_ical::parse(text, &ParseLimits::default())
        .map_err(|e| DavError::caldav(400, "valid-calendar-data", e.message))?;
    let method = message
        .property("METHOD")
        .map(|p| p.value.trim().to_ascii_uppercase());
    let query = message.components.iter().find(|c| c.is("VFREEBUSY"));
    let (Some("REQUEST"), Some(query)) = (method.as_deref(), query) else {
        return Err(invalid(
            "The outbox takes free-busy requests (METHOD:REQUEST with a VFREEBUSY); \
             invitations are sent by saving the event in a calendar.",
        ));
    };
    let user = owner(request).await?;
    let organizer = query.property("ORGANIZER").map(itip::address);
    let Some(organizer) = organizer else {
        return Err(invalid("A free-busy request names its ORGANIZER."));
    };
    let mine = local_user(&request.state, &organizer)
        .await?
        .is_some_and(|u| u.id == user.id);
    if !mine {
        return Err(DavError::caldav(
            403,
            "valid-organizer",
            "The ORGANIZER of a free-busy request must be one of your own addresses.",
        ));
    }
    let (Some(start), Some(end)) = (instant(query, "DTSTART"), instant(query, "DTEND")) else {
        return Err(invalid("A free-busy request has a DTSTART and a DTEND."));
    };
    if end <= start {
        return Err(invalid("DTEND must come after DTSTART."));
    }
    let recipients: Vec<String> = query
        .properties_named("ATTENDEE")
        .map(itip::address)
        .collect();
    if recipients.is_empty() {
        return Err(invalid("A free-busy request names at least one ATTENDEE."));
    }
    if recipients.len() > MAX_FREEBUSY_RECIPIENTS {
        return Err(DavError::caldav(
            403,
            "max-attendees-per-instance",
            format!("A free-busy request may ask about at most {MAX_FREEBUSY_RECIPIENTS} people."),
        ));
    }
    let uid = query.property("UID").map(|p| p.value.clone());
    let range = TimeSpan { start, end };
    let mut body = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <C:schedule-response xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\">",
    );
    for recipient in &recipients {
        let original = query
            .properties_named("ATTENDEE")
            .find(|a| itip::address(a) == *recipient)
            .map_or_else(String::new, |a| a.value.clone());
        let (status, data) = match local_user(&request.state, recipient).await? {
            Some(who) => {
                let periods = busy_time(&request.state, &who, range, None).await?;
                let reply = itip::freebusy_reply(
                    almanac_ical::freebusy_component(
                        periods,
                        range,
                        chrono::Utc::now().timestamp(),
                    ),
                    (uid.as_deref(), query.property("ORGANIZER"), &original),
                );
                ("2.0;Success", Some(reply))
            }
            None => ("3.7;Invalid calendar user", None),
        };
        body.push_str("<C:response><C:recipient><D:href>");
        body.push_str(&escape(&original));
        body.push_str("</D:href></C:recipient><C:request-status>");
        body.push_str(status);
        body.push_str("</C:request-status>");
        if let Some(data) = data {
            body.push_str("<C:calendar-data>");
            body.push_str(&escape(&data));
            body.push_str("</C:calendar-data>");
        }
        body.push_str("</C:response>");
    }
    body.push_str("</C:schedule-response>");
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        body,
    )
        .into_response())
}

/// A request's DTSTART or DTEND in UTC seconds. RFC 5546 wants UTC; a
/// time with a TZID is read in its zone, a floating one as UTC.
fn instant(component: &almanac_ical::Component, name: &str) -> Option<i64> {
    use chrono::TimeZone;
    let property = component.property(name)?;
    let value = property.value.trim();
    if let Some(utc) = almanac_dav::reports::parse_utc(value) {
        return Some(utc);
    }
    let as_utc = almanac_dav::reports::parse_utc(&format!("{value}Z"))?;
    let Some(zone) = property
        .param("TZID")
        .and_then(almanac_ical::timezone::named_zone)
    else {
        return Some(as_utc);
    };
    let local = chrono::DateTime::from_timestamp(as_utc, 0)?.naive_utc();
    Some(zone.from_local_datetime(&local).earliest()?.timestamp())
}

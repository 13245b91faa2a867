//! One DAV request as the method handlers see it: who asks, with what
//! rights, for which resource (resolved against the store), and the shared
//! shapes of their answers.

use crate::listing_cache::ListingCache;
use almanac_dav::paths::{self, DavPath};
use almanac_dav::properties::{Access, CollectionNode, Context, Quota};
use almanac_dav::DavError;
use almanac_service::auth::{AuthOutcome, Principal};
use almanac_service::objects::Writer;
pub(crate) use almanac_service::objects::{eval_context, internal};
use almanac_service::{AppState, Limits};
use almanac_store::{Collection, ItemMeta, WriteCondition};
use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

pub(crate) type DavResult = Result<Response, DavError>;

const ALLOW: &str = "OPTIONS, GET, HEAD, PUT, POST, DELETE, PROPFIND, PROPPATCH, \
                     MKCOL, MKCALENDAR, COPY, MOVE, REPORT";

/// One authenticated DAV request, with its body read.
pub struct DavRequest {
    pub state: AppState,
    pub principal: Principal,
    pub method: Method,
    pub headers: HeaderMap,
    pub path: DavPath,
    pub body: Bytes,
    /// Who is writing: a sync client, or a visitor through a share link.
    pub origin: almanac_store::Origin,
    /// A share-link reader: private events show only their times.
    pub redact_private: bool,
    /// What the requester may do (the owner, or a share link's rights).
    pub access: Access,
}

/// What a URL names, once looked up.
pub(crate) enum Target {
    Root,
    Principals,
    Principal,
    Home,
    Collection(Collection),
    Item {
        parent: Collection,
        meta: ItemMeta,
        /// The content, already read for GET and HEAD (one query, not two).
        data: Option<Vec<u8>>,
    },
    /// The schedule inbox, a message in it, or the outbox (RFC 6638).
    Mailbox(Mailbox),
    /// Nothing here yet; `parent` is where a MKCOL or PUT would create it.
    Absent {
        path: String,
        name: String,
        parent: Parent,
    },
}

/// What a URL under a principal's mailboxes names.
pub(crate) enum Mailbox {
    Inbox,
    Outbox,
    Message(almanac_store::ScheduleMessage),
}

pub(crate) enum Parent {
    Home,
    Collection(Collection),
    Missing,
}

/// The answer to a request whose credentials did not get it in.
pub(crate) fn auth_refusal(outcome: &AuthOutcome) -> Response {
    let (status, message, retry_after) = match outcome {
        AuthOutcome::Authenticated(_) | AuthOutcome::Missing | AuthOutcome::Invalid => {
            return unauthorized()
        }
        AuthOutcome::AppPasswordRequired => {
            let mut response = unauthorized();
            *response.body_mut() = axum::body::Body::from(
                "Calendar apps sign in here with an app password: make one on your account page \
                 (App passwords) and use it instead of your password.\n",
            );
            return response;
        }
        AuthOutcome::Unavailable => (
            503,
            "The database cannot be reached right now; try again in a minute.",
            60,
        ),
        AuthOutcome::Throttled(wait) => (
            429,
            "Too many failed log-in attempts; try again in a few minutes.",
            wait.as_secs().max(1),
        ),
        AuthOutcome::Busy => (
            503,
            "The server is busy checking passwords; try again in a moment.",
            2,
        ),
    };
    let mut response = error_response(&DavError::new(status, message));
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

pub(crate) async fn read_request(
    state: AppState,
    principal: Principal,
    parts: axum::http::request::Parts,
    body: axum::body::Body,
) -> Result<DavRequest, DavError> {
    let path =
        DavPath::parse(parts.uri.path()).ok_or_else(|| DavError::new(404, "No such resource."))?;
    let limit = body_limit(&parts.method, &state.config.limits);
    let body = read_body(body, limit).await?;
    Ok(DavRequest {
        state,
        principal,
        method: parts.method,
        headers: parts.headers,
        path,
        body,
        origin: almanac_store::Origin::Sync,
        redact_private: false,
        access: Access::Owner,
    })
}

/// The largest body `method` may have: PUT and POST carry calendar data,
/// every other method's body is XML.
pub(crate) fn body_limit(method: &Method, limits: &Limits) -> usize {
    if matches!(method.as_str(), "PUT" | "POST") {
        limits.max_body_bytes
    } else {
        limits.max_xml_body_bytes
    }
}

/// The whole body, at most `limit` bytes of it.
pub(crate) async fn read_body(body: axum::body::Body, limit: usize) -> Result<Bytes, DavError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(<dyn std::error::Error>::is::<http_body_util::LengthLimitError>);
        if too_large {
            DavError::new(
                413,
                format!("The request body is larger than {limit} bytes."),
            )
        } else {
            DavError::new(400, "The request body could not be read.")
        }
    })
}

/// Looks a path up for the authenticated user. Other users' namespaces are
/// reported as absent, so nobody learns which user names exist.
pub(crate) async fn resolve_path(request: &DavRequest, path: &DavPath) -> Result<Target, DavError> {
    let me = &request.principal.name;
    let not_found = || DavError::new(404, "No such resource.");
    match path {
        DavPath::Root => Ok(Target::Root),
        DavPath::Principals => Ok(Target::Principals),
        DavPath::Principal(user) if user == me => Ok(Target::Principal),
        DavPath::Home(user) if user == me => Ok(Target::Home),
        DavPath::Inbox(user) if user == me => Ok(Target::Mailbox(Mailbox::Inbox)),
        DavPath::Outbox(user) if user == me => Ok(Target::Mailbox(Mailbox::Outbox)),
        DavPath::InboxMessage { user, name } if user == me => request
            .state
            .store
            .inbox_message(request.principal.id, name)
            .await
            .map_err(internal)?
            .map(|m| Target::Mailbox(Mailbox::Message(m)))
            .ok_or_else(not_found),
        DavPath::InHome { user, segments } if user == me => {
            let store = &request.state.store;
            let owner = request.principal.id;
            let full = segments.join("/");
            let name = segments.last().cloned().unwrap_or_default();
            let parent_path = segments[..segments.len() - 1].join("/");
            // Members first: they are what clients ask for most, and a path
            // cannot name both a member and a collection.
            let parent = if parent_path.is_empty() {
                Parent::Home
            } else {
                match store
                    .collection(owner, &parent_path)
                    .await
                    .map_err(internal)?
                {
                    Some(c) => Parent::Collection(c),
                    None => Parent::Missing,
                }
            };
            if let Parent::Collection(c) = &parent {
                let found = if matches!(request.method.as_str(), "GET" | "HEAD") {
                    let item = store.item(c.id, &name).await.map_err(internal)?;
                    item.map(|i| (i.meta, Some(i.data)))
                } else {
                    let meta = store.item_meta(c.id, &name).await.map_err(internal)?;
                    meta.map(|m| (m, None))
                };
                if let Some((meta, data)) = found {
                    return Ok(Target::Item {
                        parent: c.clone(),
                        meta,
                        data,
                    });
                }
            }
            if !matches!(parent, Parent::Missing) {
                if let Some(collection) = store.collection(owner, &full).await.map_err(internal)? {
                    return Ok(Target::Collection(collection));
                }
            }
            Ok(Target::Absent {
                path: full,
                name,
                parent,
            })
        }
        _ => Err(not_found()),
    }
}

pub(crate) async fn resolve(request: &DavRequest) -> Result<Target, DavError> {
    resolve_path(request, &request.path).await
}

impl DavRequest {
    pub fn context(&self) -> Context {
        Context {
            // A share link's visitor is nobody's principal.
            principal_href: (self.access == Access::Owner)
                .then(|| paths::principal_href(&self.principal.name)),
            principals_href: paths::PRINCIPALS.to_owned(),
            max_resource_size: i64::try_from(self.state.config.limits.max_item_bytes)
                .unwrap_or(i64::MAX),
            max_instances: self.state.config.limits.max_instances,
        }
    }

    pub fn xml_limits(&self) -> almanac_dav::xml::XmlLimits {
        let limits = &self.state.config.limits;
        almanac_dav::xml::XmlLimits {
            max_depth: limits.max_xml_depth,
            max_elements: limits.max_xml_elements,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The writes of this request, through the one checked path.
    pub fn writer(&self) -> Writer<'_> {
        Writer {
            state: &self.state,
            owner: &self.principal,
            origin: self.origin,
        }
    }

    /// The rendered listings this server keeps.
    pub fn listings(&self) -> std::sync::Arc<ListingCache> {
        self.state.part()
    }

    pub async fn quota(&self) -> Result<Quota, DavError> {
        self.writer().quota().await
    }

    pub fn collection_node(
        &self,
        collection: &Collection,
        quota: Option<Quota>,
        dead: Vec<(String, String)>,
    ) -> CollectionNode {
        CollectionNode {
            href: paths::collection_href(&self.principal.name, &collection.path),
            owner_href: paths::principal_href(&self.principal.name),
            is_calendar: collection.is_calendar(),
            displayname: collection.displayname.clone(),
            description: collection.description.clone(),
            color: collection.color.clone(),
            timezone: collection.timezone.clone(),
            components: collection
                .components
                .split(',')
                .map(str::to_owned)
                .collect(),
            sync_token: sync_token(collection.id, collection.sync_revision),
            created_at: collection.created_at,
            modified_at: collection.modified_at,
            quota,
            access: self.access,
            dead,
        }
    }

    /// If-Match / If-None-Match of a write, as the store understands them.
    pub fn write_condition(&self) -> WriteCondition {
        if let Some(value) = self.header("if-match") {
            let value = value.trim();
            return if value == "*" {
                WriteCondition::IfExists
            } else {
                WriteCondition::IfMatch(value.split(',').next().unwrap_or("").trim().to_owned())
            };
        }
        if self.header("if-none-match").map(str::trim) == Some("*") {
            return WriteCondition::IfAbsent;
        }
        WriteCondition::Always
    }

    pub fn depth(&self, default: Depth) -> Result<Depth, DavError> {
        match self.header("depth").map(str::trim) {
            None => Ok(default),
            Some("0") => Ok(Depth::Zero),
            Some("1") => Ok(Depth::One),
            Some(d) if d.eq_ignore_ascii_case("infinity") => Ok(Depth::Infinity),
            Some(other) => Err(DavError::bad_request(format!(
                "Depth: {other} is not 0, 1 or infinity."
            ))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Depth {
    Zero,
    One,
    Infinity,
}

const SYNC_TOKEN_PREFIX: &str = "urn:almanac:sync:";

pub(crate) fn sync_token(collection_id: i64, revision: i64) -> String {
    format!("{SYNC_TOKEN_PREFIX}{collection_id}:{revision}")
}

/// The revision a sync token of this collection stands for.
pub(crate) fn parse_sync_token(token: &str, collection_id: i64) -> Option<i64> {
    let rest = token.strip_prefix(SYNC_TOKEN_PREFIX)?;
    let (id, revision) = rest.split_once(':')?;
    (id.parse::<i64>().ok()? == collection_id).then_some(())?;
    revision.parse().ok()
}

pub(crate) fn error_response(error: &DavError) -> Response {
    let (body, content_type) = error.body();
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(ALLOW));
    }
    response
}

pub(crate) fn multistatus(body: String) -> Response {
    (
        StatusCode::MULTI_STATUS,
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

pub(crate) fn options() -> Response {
    (
        StatusCode::OK,
        [
            (header::ALLOW, ALLOW),
            (
                header::HeaderName::from_static("dav"),
                "1, 3, calendar-access, calendar-auto-schedule, extended-mkcol",
            ),
        ],
    )
        .into_response()
}

pub(crate) fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [
            (
                header::WWW_AUTHENTICATE,
                "Basic realm=\"Almanac\", charset=\"UTF-8\"",
            ),
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
        ],
        "Log in with your Almanac user name and password.\n",
    )
        .into_response()
}

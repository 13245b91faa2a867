//! PROPFIND and PROPPATCH.

use crate::listing_cache;
use crate::request::{internal, multistatus, DavRequest, DavResult, Depth, Target};
use almanac_dav::multistatus::{Multistatus, PropStats};
use almanac_dav::names::PropName;
use almanac_dav::paths;
use almanac_dav::properties::{
    self as props, is_protected, needs_dead_properties, propstats, ItemNode, PlainNode,
    PrincipalNode, Quota, CALENDAR_COLOR, CALENDAR_DESCRIPTION, CALENDAR_TIMEZONE,
    CALENDAR_WRITABLE, COLLECTION_WRITABLE, DISPLAYNAME,
};
use almanac_dav::requests::{parse_propfind, parse_proppatch, PatchOp, PropRequest};
use almanac_dav::DavError;
use almanac_store::{Collection, CollectionUpdate, ItemMeta};

pub async fn propfind(request: &DavRequest, target: Target) -> DavResult {
    let wanted = parse_propfind(&request.body, request.xml_limits())?;
    let depth = request.depth(Depth::Infinity)?;
    if depth == Depth::Infinity {
        return Err(DavError::dav(
            403,
            "propfind-finite-depth",
            "PROPFIND with Depth: infinity is not allowed; use 0 or 1.",
        ));
    }
    let ctx = request.context();
    let me = &request.principal.name;
    let quota = if wanted.wants(&props::QUOTA_USED)
        || wanted.wants(&props::QUOTA_AVAILABLE)
        || matches!(wanted, PropRequest::AllProp { .. })
    {
        Some(request.quota().await?)
    } else {
        None
    };
    let mut out = Multistatus::new();
    let principal_node = || principal_node(request);
    let plain = |href: String, quota: Option<Quota>| PlainNode {
        href,
        owner_href: paths::principal_href(me),
        quota,
        access: request.access,
    };
    match target {
        Target::Root | Target::Principals => {
            let href = if matches!(target, Target::Root) {
                paths::ROOT
            } else {
                paths::PRINCIPALS
            };
            out.response(
                href,
                &propstats(&plain(href.to_owned(), None), &wanted, &ctx),
            );
            if depth == Depth::One {
                out.response(
                    &paths::principal_href(me),
                    &propstats(&principal_node(), &wanted, &ctx),
                );
            }
        }
        Target::Principal => {
            out.response(
                &paths::principal_href(me),
                &propstats(&principal_node(), &wanted, &ctx),
            );
        }
        Target::Home => {
            let home = plain(paths::home_href(me), quota);
            out.response(&home.href, &propstats(&home, &wanted, &ctx));
            if depth == Depth::One {
                list_collections(request, "", &wanted, quota, &mut out).await?;
            }
        }
        Target::Collection(collection) => {
            // A calendar's listing depends only on its revision, its own
            // live properties and the request — unless dead properties or
            // the quota (which other calendars change) are asked for.
            let cacheable = depth == Depth::One
                && collection.is_calendar()
                && quota.is_none()
                && !needs_dead_properties(&wanted);
            let cache_key = cacheable.then(|| listing_cache::key(&collection, &request.body));
            if let Some(body) = cache_key.and_then(|k| request.listings().get(k)) {
                return Ok(multistatus(body.as_str().to_owned()));
            }
            let dead = dead_properties(request, &wanted, collection.id, "").await?;
            let node = request.collection_node(&collection, quota, dead);
            out.response(&node.href, &propstats(&node, &wanted, &ctx));
            if depth == Depth::One {
                list_members(request, &collection, &wanted, quota, &mut out).await?;
            }
            if let Some(key) = cache_key {
                let body = std::sync::Arc::new(out.finish(None));
                request.listings().put(key, body.clone());
                return Ok(multistatus(body.as_str().to_owned()));
            }
        }
        Target::Item { parent, meta, .. } => {
            let wants_tag = wanted.wants(&props::SCHEDULE_TAG);
            let item = if wanted.wants(&props::CALENDAR_DATA) || wants_tag {
                request
                    .state
                    .store
                    .item(parent.id, &meta.name)
                    .await
                    .map_err(internal)?
            } else {
                None
            };
            let data = item
                .as_ref()
                .filter(|_| wanted.wants(&props::CALENDAR_DATA))
                .map(|i| String::from_utf8_lossy(&i.data).into_owned());
            let dead = dead_properties(request, &wanted, parent.id, &meta.name).await?;
            let mut node = item_node(request, &parent, &meta, data, dead);
            node.schedule_tag = item
                .filter(|_| wants_tag)
                .and_then(|i| almanac_service::scheduling::schedule_tag(&i.data));
            out.response(&node.href, &propstats(&node, &wanted, &ctx));
        }
        Target::Mailbox(mailbox) => return crate::mailboxes::propfind(request, mailbox).await,
        Target::Absent { .. } => return Err(DavError::new(404, "No such resource.")),
    }
    Ok(multistatus(out.finish(None)))
}

/// The Depth 1 part of a collection: its sub-collections and its items.
async fn list_members(
    request: &DavRequest,
    collection: &Collection,
    wanted: &PropRequest,
    quota: Option<Quota>,
    out: &mut Multistatus,
) -> Result<(), DavError> {
    list_collections(request, &collection.path, wanted, quota, out).await?;
    let ctx = request.context();
    let metas = request
        .state
        .store
        .item_metas(collection.id)
        .await
        .map_err(internal)?;
    for meta in metas {
        let dead = dead_properties(request, wanted, collection.id, &meta.name).await?;
        let node = item_node(request, collection, &meta, None, dead);
        out.response(&node.href, &propstats(&node, wanted, &ctx));
    }
    Ok(())
}

pub(crate) fn principal_node(request: &DavRequest) -> PrincipalNode {
    let me = &request.principal.name;
    PrincipalNode {
        href: paths::principal_href(me),
        displayname: me.clone(),
        email: request.principal.email.clone(),
        home_href: paths::home_href(me),
    }
}

async fn list_collections(
    request: &DavRequest,
    parent: &str,
    wanted: &PropRequest,
    quota: Option<Quota>,
    out: &mut Multistatus,
) -> Result<(), DavError> {
    let ctx = request.context();
    let children = request
        .state
        .store
        .child_collections(request.principal.id, parent)
        .await
        .map_err(internal)?;
    for child in children {
        let dead = dead_properties(request, wanted, child.id, "").await?;
        let node = request.collection_node(&child, quota, dead);
        out.response(&node.href, &propstats(&node, wanted, &ctx));
    }
    Ok(())
}

async fn dead_properties(
    request: &DavRequest,
    wanted: &PropRequest,
    collection_id: i64,
    item_name: &str,
) -> Result<Vec<(String, String)>, DavError> {
    if !needs_dead_properties(wanted) {
        return Ok(Vec::new());
    }
    let stored = request
        .state
        .store
        .dead_properties(collection_id, item_name)
        .await
        .map_err(internal)?;
    // Values stored before control characters were refused may hold some.
    Ok(stored
        .into_iter()
        .map(|(name, xml)| (name, almanac_dav::xml::without_forbidden(&xml).into_owned()))
        .collect())
}

pub(crate) fn item_node(
    request: &DavRequest,
    parent: &Collection,
    meta: &ItemMeta,
    calendar_data: Option<String>,
    dead: Vec<(String, String)>,
) -> ItemNode {
    let me = &request.principal.name;
    ItemNode {
        href: paths::member_href(&paths::collection_href(me, &parent.path), &meta.name),
        owner_href: paths::principal_href(me),
        etag: meta.etag.clone(),
        content_type: meta.content_type.clone(),
        size: meta.size,
        modified_at: meta.modified_at,
        access: request.access,
        calendar_data,
        schedule_tag: None,
        dead,
    }
}

pub async fn proppatch(request: &DavRequest, target: Target) -> DavResult {
    let ops = parse_proppatch(&request.body, request.xml_limits())?;
    let (collection, item_name, href, writable): (Collection, String, String, &[PropName]) =
        match target {
            Target::Collection(c) => {
                let href = paths::collection_href(&request.principal.name, &c.path);
                let writable: &[PropName] = if c.is_calendar() {
                    CALENDAR_WRITABLE
                } else {
                    COLLECTION_WRITABLE
                };
                (c, String::new(), href, writable)
            }
            Target::Item { parent, meta, .. } => {
                let href = paths::member_href(
                    &paths::collection_href(&request.principal.name, &parent.path),
                    &meta.name,
                );
                (parent, meta.name, href, &[])
            }
            Target::Absent { .. } => return Err(DavError::new(404, "No such resource.")),
            Target::Mailbox(crate::request::Mailbox::Inbox) => {
                return crate::mailboxes::proppatch_inbox(request).await
            }
            _ => {
                return Err(DavError::dav(
                    403,
                    "cannot-modify-protected-property",
                    "The properties of this resource cannot be changed.",
                ))
            }
        };
    let rejected: Vec<PropName> = ops
        .iter()
        .filter(|op| is_protected(op.name(), writable) || !valid_value(op))
        .map(|op| op.name().clone())
        .collect();
    let (no_room, why) = if rejected.is_empty() {
        room_for(request, &ops, writable, collection.id, &item_name).await?
    } else {
        (Vec::new(), None)
    };
    let mut stats = PropStats::default();
    if rejected.is_empty() && no_room.is_empty() {
        let mut live = CollectionUpdate::default();
        let mut dead = Vec::new();
        for op in &ops {
            let name = op.name();
            let value = match op {
                PatchOp::Set(_, element) => Some(element.clone()),
                PatchOp::Remove(_) => None,
            };
            if writable.contains(name) {
                let text = value.map(|e| e.text());
                let slot = match name.name.as_ref() {
                    "displayname" => &mut live.displayname,
                    "calendar-description" => &mut live.description,
                    "calendar-color" => &mut live.color,
                    _ => &mut live.timezone,
                };
                *slot = Some(text);
            } else {
                dead.push((name.to_string(), value.map(|e| e.inner_xml())));
            }
        }
        let store = &request.state.store;
        if item_name.is_empty() {
            store.update_collection(collection.id, &live, &dead).await
        } else {
            store
                .set_item_dead_properties(collection.id, &item_name, &dead)
                .await
        }
        .map_err(internal)?;
        stats.found = ops
            .iter()
            .map(|op| almanac_dav::multistatus::PropValue {
                name: op.name().clone(),
                xml: String::new(),
            })
            .collect();
    } else {
        for op in &ops {
            if rejected.contains(op.name()) {
                stats.forbidden.push(op.name().clone());
            } else if no_room.contains(op.name()) {
                stats.insufficient_storage.push(op.name().clone());
            } else {
                stats.failed_dependency.push(op.name().clone());
            }
        }
        stats.description = why;
    }
    let mut out = Multistatus::new();
    out.response(&href, &stats);
    Ok(multistatus(out.finish(None)))
}

/// A calendar-timezone must be an iCalendar object holding one VTIMEZONE;
/// names, descriptions and colours end up in iCalendar too (an export's
/// X-WR-CALNAME), so they may hold no control characters.
pub(crate) fn valid_value(op: &PatchOp) -> bool {
    match op {
        PatchOp::Set(name, element) if *name == CALENDAR_TIMEZONE => {
            almanac_ical::parse(&element.text(), &almanac_ical::ParseLimits::default())
                .is_ok_and(|cal| cal.components.iter().any(|c| c.name == "VTIMEZONE"))
        }
        PatchOp::Set(name, element)
            if [DISPLAYNAME, CALENDAR_DESCRIPTION, CALENDAR_COLOR].contains(name) =>
        {
            almanac_ical::forbidden_control(&element.text()).is_none()
        }
        _ => true,
    }
}

/// The bytes a property set stores: its value, and a dead property's name.
pub(crate) fn stored_bytes(op: &PatchOp, writable: &[PropName]) -> usize {
    match op {
        PatchOp::Set(name, element) if writable.contains(name) => element.text().len(),
        PatchOp::Set(name, element) => name.to_string().len() + element.inner_xml().len(),
        PatchOp::Remove(_) => 0,
    }
}

/// The properties of a PROPPATCH that do not fit: a value over
/// `max_property_bytes`, dead properties beyond `max_dead_properties`, or
/// (all of them) more bytes than the quota has left; with the reason.
async fn room_for(
    request: &DavRequest,
    ops: &[PatchOp],
    writable: &[PropName],
    collection_id: i64,
    item_name: &str,
) -> Result<(Vec<PropName>, Option<String>), DavError> {
    let limits = &request.state.config.limits;
    let too_large: Vec<PropName> = ops
        .iter()
        .filter(|op| stored_bytes(op, writable) > limits.max_property_bytes)
        .map(|op| op.name().clone())
        .collect();
    if !too_large.is_empty() {
        let why = format!(
            "A property value may be at most {} bytes.",
            limits.max_property_bytes
        );
        return Ok((too_large, Some(why)));
    }
    let existing: std::collections::HashSet<String> = request
        .state
        .store
        .dead_properties(collection_id, item_name)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let mut names = existing.clone();
    let mut added = Vec::new();
    for op in ops.iter().filter(|op| !writable.contains(op.name())) {
        let key = op.name().to_string();
        match op {
            PatchOp::Set(name, _) => {
                if names.insert(key) {
                    added.push(name.clone());
                }
            }
            PatchOp::Remove(_) => {
                names.remove(&key);
            }
        }
    }
    if names.len() > limits.max_dead_properties {
        let why = format!(
            "A resource may have at most {} properties of your own.",
            limits.max_dead_properties
        );
        return Ok((added, Some(why)));
    }
    let bytes: usize = ops.iter().map(|op| stored_bytes(op, writable)).sum();
    let available = request.quota().await?.available;
    if i64::try_from(bytes).unwrap_or(i64::MAX) > available {
        let sets = ops
            .iter()
            .filter(|op| matches!(op, PatchOp::Set(..)))
            .map(|op| op.name().clone())
            .collect();
        return Ok((sets, Some("Your storage quota is full.".to_owned())));
    }
    Ok((Vec::new(), None))
}

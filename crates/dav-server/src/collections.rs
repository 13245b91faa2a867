//! MKCOL, MKCALENDAR, COPY and MOVE.

use crate::content;
use crate::properties::stored_bytes;
use crate::request::{internal, resolve_path, DavRequest, DavResult, Depth, Parent, Target};
use almanac_dav::paths::{self, DavPath};
use almanac_dav::properties::{is_protected, CALENDAR_WRITABLE, COLLECTION_WRITABLE};
use almanac_dav::requests::{parse_mkcol, PatchOp};
use almanac_dav::xml::CALDAV;
use almanac_dav::DavError;
use almanac_service::scheduling::{self, Plan};
use almanac_store::{Collection, CollectionUpdate, NewCollection, StoreError, WriteCondition};
use axum::http::StatusCode;
use axum::response::IntoResponse;

pub async fn mkcol(request: &DavRequest, target: Target, mkcalendar: bool) -> DavResult {
    let Target::Absent { path, parent, .. } = target else {
        return Err(DavError::new(405, "Something already exists at this URL."));
    };
    if !request.body.is_empty() {
        let xml_body = request
            .header("content-type")
            .is_none_or(|t| t.contains("xml"));
        if !xml_body {
            return Err(DavError::new(415, "A MKCOL body must be XML (RFC 5689)."));
        }
    }
    let body = parse_mkcol(&request.body, mkcalendar, request.xml_limits())?;
    match &parent {
        Parent::Missing => return Err(DavError::new(409, "The parent collection does not exist.")),
        Parent::Collection(c) if c.is_calendar() => {
            return Err(DavError::caldav(
                403,
                "calendar-collection-location-ok",
                "Collections cannot be created inside a calendar.",
            ))
        }
        Parent::Collection(_) if body.calendar => {
            return Err(DavError::caldav(
                403,
                "calendar-collection-location-ok",
                "Calendars are created directly in your calendar home.",
            ))
        }
        _ => {}
    }
    let store = &request.state.store;
    check_collection_count(request, 1).await?;
    let mut new = NewCollection {
        path,
        is_calendar: body.calendar,
        ..NewCollection::default()
    };
    let writable: &[_] = if body.calendar {
        CALENDAR_WRITABLE
    } else {
        COLLECTION_WRITABLE
    };
    let mut dead = Vec::new();
    for op in &body.props {
        let PatchOp::Set(name, element) = op else {
            continue;
        };
        if body.calendar && name.ns == CALDAV && name.name == "supported-calendar-component-set" {
            new.components = Some(component_set(element)?);
        } else if writable.contains(name) {
            if !crate::properties::valid_value(op) {
                return Err(DavError::new(
                    403,
                    format!("{name} has a value that cannot be stored (a control character, or a time zone that is not a VTIMEZONE)."),
                ));
            }
            let text = Some(element.text());
            match name.name.as_ref() {
                "displayname" => new.displayname = text,
                "calendar-description" => new.description = text,
                "calendar-color" => new.color = text,
                _ => new.timezone = text,
            }
        } else if is_protected(name, writable) {
            return Err(DavError::dav(
                403,
                "cannot-modify-protected-property",
                format!("{name} cannot be set."),
            ));
        } else {
            dead.push((name.to_string(), Some(element.inner_xml())));
        }
    }
    check_room(request, &body.props, writable, dead.len()).await?;
    let created = store
        .create_collection(request.principal.id, &new)
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(_) => {
                DavError::new(405, "Something already exists at this URL.")
            }
            other => internal(other),
        })?;
    if !dead.is_empty() {
        store
            .update_collection(created.id, &CollectionUpdate::default(), &dead)
            .await
            .map_err(internal)?;
    }
    Ok(StatusCode::CREATED.into_response())
}

/// Room for `more` collections (calendars and plain ones together).
async fn check_collection_count(request: &DavRequest, more: i64) -> Result<(), DavError> {
    let limit = request.state.config.limits.max_collections_per_user;
    let count = request
        .state
        .store
        .count_collections(request.principal.id)
        .await
        .map_err(internal)?;
    if count + more > limit {
        return Err(DavError::new(
            403,
            format!("You can have at most {limit} calendars and collections."),
        ));
    }
    Ok(())
}

/// The properties a new collection is made with fit the limits and the
/// quota.
async fn check_room(
    request: &DavRequest,
    props: &[PatchOp],
    writable: &[almanac_dav::names::PropName],
    dead_count: usize,
) -> Result<(), DavError> {
    let limits = &request.state.config.limits;
    let sizes = props.iter().map(|op| stored_bytes(op, writable));
    if sizes.clone().any(|size| size > limits.max_property_bytes) {
        return Err(DavError::new(
            403,
            format!(
                "A property value may be at most {} bytes.",
                limits.max_property_bytes
            ),
        ));
    }
    if dead_count > limits.max_dead_properties {
        return Err(DavError::new(
            403,
            format!(
                "A collection may have at most {} properties of your own.",
                limits.max_dead_properties
            ),
        ));
    }
    let bytes = i64::try_from(sizes.sum::<usize>()).unwrap_or(i64::MAX);
    if bytes > request.quota().await?.available {
        return Err(DavError::dav(
            507,
            "quota-not-exceeded",
            "Your storage quota is full.",
        ));
    }
    Ok(())
}

fn component_set(element: &almanac_dav::xml::Element) -> Result<String, DavError> {
    let mut names = Vec::new();
    for comp in element.elements().filter(|e| e.is(CALDAV, "comp")) {
        let name = comp.attr("name").unwrap_or_default().to_ascii_uppercase();
        if !matches!(name.as_str(), "VEVENT" | "VTODO" | "VJOURNAL" | "VFREEBUSY") {
            return Err(DavError::caldav(
                403,
                "supported-calendar-component",
                format!("{name} is not a component type calendars can hold."),
            ));
        }
        names.push(name);
    }
    if names.is_empty() {
        return Err(DavError::bad_request(
            "supported-calendar-component-set names no component.",
        ));
    }
    Ok(names.join(","))
}

pub async fn copy_or_move(request: &DavRequest, source: Target, is_move: bool) -> DavResult {
    let destination = request
        .header("destination")
        .ok_or_else(|| DavError::bad_request("COPY and MOVE need a Destination header."))?;
    if !on_this_server(request, destination) {
        return Err(DavError::new(
            502,
            "The destination is on another server; copy or move only within this one.",
        ));
    }
    let dest_path = DavPath::parse(paths::path_of(destination))
        .ok_or_else(|| DavError::new(502, "The destination is not a resource of this server."))?;
    if dest_path == request.path {
        return Err(DavError::new(
            403,
            "The source and the destination are the same.",
        ));
    }
    let overwrite = !request
        .header("overwrite")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("f"));
    let dest = resolve_path(request, &dest_path).await?;
    match source {
        Target::Item { parent, meta, .. } => {
            copy_item(
                request,
                (&parent, &meta.name),
                dest,
                &dest_path,
                overwrite,
                is_move,
            )
            .await
        }
        Target::Collection(collection) => {
            let depth = request.depth(Depth::Infinity)?;
            if depth == Depth::One || (is_move && depth != Depth::Infinity) {
                return Err(DavError::bad_request(
                    "Depth must be infinity (or 0 for COPY).",
                ));
            }
            copy_collection(
                request,
                &collection,
                dest,
                overwrite,
                is_move,
                depth == Depth::Infinity,
            )
            .await
        }
        Target::Absent { .. } => Err(DavError::new(404, "No such resource.")),
        _ => Err(DavError::new(
            403,
            "This resource cannot be copied or moved.",
        )),
    }
}

/// Whether an absolute Destination names this server (RFC 4918 §9.8.4: a
/// destination elsewhere answers 502): the authority the request came to,
/// the site's configured address, or the proxy's forwarded host.
fn on_this_server(request: &DavRequest, destination: &str) -> bool {
    let Some(authority) = paths::authority_of(destination) else {
        return true;
    };
    let site = &request.state.config.site.base_url;
    let forwarded = request
        .state
        .config
        .rate_limits
        .trust_forwarded_for
        .then(|| request.header("x-forwarded-host"))
        .flatten();
    [request.header("host"), paths::authority_of(site), forwarded]
        .into_iter()
        .flatten()
        .any(|ours| paths::same_authority(ours, authority))
}

/// Clears what is at the destination (when Overwrite allows) and tells
/// whether something was there.
async fn clear_destination(
    request: &DavRequest,
    dest: &Target,
    overwrite: bool,
) -> Result<bool, DavError> {
    let store = &request.state.store;
    let existed = matches!(dest, Target::Item { .. } | Target::Collection(_));
    if existed && !overwrite {
        return Err(DavError::new(
            412,
            "The destination exists and Overwrite is F.",
        ));
    }
    match dest {
        Target::Item { parent, meta, .. } => store
            .delete_item(
                parent.id,
                &meta.name,
                &WriteCondition::Always,
                request.origin,
            )
            .await
            .map_err(internal)?,
        Target::Collection(c) => store
            .delete_collection_tree(request.principal.id, &c.path)
            .await
            .map_err(internal)?,
        _ => {}
    }
    Ok(existed)
}

async fn copy_item(
    request: &DavRequest,
    (parent, name): (&Collection, &str),
    dest: Target,
    dest_path: &DavPath,
    overwrite: bool,
    is_move: bool,
) -> DavResult {
    let store = &request.state.store;
    let DavPath::InHome { segments, .. } = dest_path else {
        return Err(DavError::new(
            403,
            "Items can only be copied into a collection.",
        ));
    };
    let dest_name = segments.last().cloned().unwrap_or_default();
    let dest_parent = match &dest {
        Target::Item { parent, .. } => parent.clone(),
        Target::Absent {
            parent: Parent::Collection(c),
            ..
        } => c.clone(),
        Target::Absent {
            parent: Parent::Missing,
            ..
        } => {
            return Err(DavError::new(
                409,
                "The destination's parent collection does not exist.",
            ))
        }
        Target::Collection(_) if segments.len() > 1 => {
            let parent_path = segments[..segments.len() - 1].join("/");
            store
                .collection(request.principal.id, &parent_path)
                .await
                .map_err(internal)?
                .ok_or_else(|| DavError::new(409, "The destination's parent does not exist."))?
        }
        _ => {
            return Err(DavError::new(
                409,
                "Items can only be copied into a collection.",
            ))
        }
    };
    let item = store
        .item(parent.id, name)
        .await
        .map_err(internal)?
        .ok_or_else(|| DavError::new(404, "No such resource."))?;
    let index = if dest_parent.is_calendar() {
        Some(
            request
                .writer()
                .check(&dest_parent, request.header("content-type"), &item.data)?,
        )
    } else {
        None
    };
    content::check_schedule_tag(request, Some(&item.data))?;
    // RFC 6638 §3.2.4.1: a copy would give the account a second scheduling
    // object with the same UID (a move keeps one).
    if !is_move
        && parent.is_calendar()
        && dest_parent.id != parent.id
        && index.is_some()
        && scheduling::schedule_tag(&item.data).is_some()
    {
        return Err(DavError::caldav(
            403,
            "unique-scheduling-object-resource",
            "A scheduling object cannot be copied to another of your calendars: move it instead.",
        ));
    }
    // RFC 6638 §3.2.3.3-4: into a calendar from elsewhere, it schedules as
    // a new object would; a move out of the calendars, as a deletion would.
    let plan = match (parent.is_calendar(), dest_parent.is_calendar()) {
        (false, true) if scheduling::may_schedule(&item.data) => {
            match content::scheduling_user(request).await? {
                Some(user) => Some((
                    Plan::for_write(
                        &request.state,
                        &user,
                        (&dest_parent, &dest_name),
                        None,
                        &item.data,
                    )
                    .await?,
                    user,
                )),
                None => None,
            }
        }
        (true, false) if is_move && scheduling::may_schedule(&item.data) => {
            content::scheduling_user(request)
                .await?
                .map(|user| (Plan::for_delete(&user, &item.data), user))
        }
        _ => None,
    };
    let mut data = item.data.clone();
    let mut index = index;
    if let Some(rewritten) = plan.as_ref().and_then(|(p, _)| p.rewritten.clone()) {
        index = Some(
            request
                .writer()
                .check(&dest_parent, None, rewritten.as_bytes())?,
        );
        data = rewritten.into_bytes();
    }
    let existed = clear_destination(request, &dest, overwrite).await?;
    let same_collection = dest_parent.id == parent.id;
    if is_move && same_collection {
        // Same calendar, same UID: the source must go before the copy lands.
        store
            .rename_item(parent.id, name, &dest_name)
            .await
            .map_err(internal)?;
    } else {
        let copy = almanac_store::NewItem {
            content_type: &item.meta.content_type,
            data: &data,
            calendar: index,
            origin: request.origin,
        };
        request
            .writer()
            .write(&dest_parent, &dest_name, &copy, &WriteCondition::IfAbsent)
            .await?;
        store
            .copy_item_dead_properties((parent.id, name), (dest_parent.id, &dest_name))
            .await
            .map_err(internal)?;
        if is_move {
            store
                .delete_item(parent.id, name, &WriteCondition::Always, request.origin)
                .await
                .map_err(internal)?;
        }
    }
    if let Some((plan, user)) = plan {
        // The deletion's plan names the source; the creation's, the destination.
        let at = if dest_parent.is_calendar() {
            (&dest_parent, dest_name.as_str())
        } else {
            (parent, name)
        };
        plan.run(&request.state, &user, at, &content::base_url(request))
            .await;
    }
    Ok(created_or_replaced(existed))
}

async fn copy_collection(
    request: &DavRequest,
    source: &Collection,
    dest: Target,
    overwrite: bool,
    is_move: bool,
    deep: bool,
) -> DavResult {
    let dest_path = match &dest {
        Target::Absent { path, parent, .. } => {
            match parent {
                Parent::Missing => {
                    return Err(DavError::new(
                        409,
                        "The destination's parent collection does not exist.",
                    ))
                }
                Parent::Collection(c) if c.is_calendar() || source.is_calendar() => {
                    return Err(DavError::caldav(
                        403,
                        "calendar-collection-location-ok",
                        "Calendars live directly in the calendar home and hold no collections.",
                    ))
                }
                _ => {}
            }
            path.clone()
        }
        Target::Collection(c) => c.path.clone(),
        Target::Item { parent, meta, .. } => format!("{}/{}", parent.path, meta.name),
        _ => return Err(DavError::new(403, "A collection cannot be copied there.")),
    };
    if dest_path.starts_with(&format!("{}/", source.path)) {
        return Err(DavError::new(
            403,
            "A collection cannot be copied into itself.",
        ));
    }
    if !is_move {
        check_copy_fits(request, source, deep).await?;
    }
    let existed = clear_destination(request, &dest, overwrite).await?;
    let store = &request.state.store;
    let owner = request.principal.id;
    if is_move {
        store
            .move_collection_tree(owner, &source.path, &dest_path)
            .await
    } else {
        store
            .copy_collection_tree(owner, &source.path, &dest_path, deep)
            .await
    }
    .map_err(internal)?;
    Ok(created_or_replaced(existed))
}

/// A copy of a collection tree fits the quota and the number of collections.
async fn check_copy_fits(
    request: &DavRequest,
    source: &Collection,
    deep: bool,
) -> Result<(), DavError> {
    let (bytes, collections) = request
        .state
        .store
        .tree_usage(request.principal.id, &source.path, deep)
        .await
        .map_err(internal)?;
    check_collection_count(request, collections).await?;
    if bytes > request.quota().await?.available {
        return Err(DavError::dav(
            507,
            "quota-not-exceeded",
            "Your storage quota is full.",
        ));
    }
    Ok(())
}

fn created_or_replaced(existed: bool) -> axum::response::Response {
    if existed {
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::CREATED.into_response()
    }
}

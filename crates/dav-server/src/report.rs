//! REPORT: calendar-query, calendar-multiget, free-busy-query, sync-collection.

use crate::properties::{item_node, principal_node};
use crate::request::{
    eval_context, internal, multistatus, parse_sync_token, sync_token, DavRequest, DavResult,
    Target,
};
use almanac_dav::multistatus::Multistatus;
use almanac_dav::paths::{self, DavPath};
use almanac_dav::properties::Resource;
use almanac_dav::properties::{propstats, CALENDAR_DATA};
use almanac_dav::reports::{
    parse_report, CalendarQuery, Multiget, PrincipalSearch, Report, SyncCollection,
};
use almanac_dav::requests::PropRequest;
use almanac_dav::DavError;
use almanac_dav::PropName;
use almanac_ical::{CompFilter, DataRequest, EvalContext, ParseLimits};
use almanac_store::{Collection, Item};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;

pub async fn report(request: &DavRequest, target: Target) -> DavResult {
    if matches!(target, Target::Absent { .. }) {
        return Err(DavError::new(404, "No such resource."));
    }
    let report = parse_report(&request.body, request.xml_limits())?;
    if matches!(
        target,
        Target::Root | Target::Principals | Target::Principal
    ) {
        match report {
            Report::PrincipalSearch(search) => return Ok(principal_search(request, &search)),
            Report::PrincipalSearchPropertySet => return Ok(search_property_set()),
            _ => {}
        }
    }
    let Target::Collection(collection) = target else {
        return Err(DavError::dav(
            403,
            "supported-report",
            "Reports run on a calendar or collection.",
        ));
    };
    if !collection.is_calendar() && !matches!(report, Report::SyncCollection(_)) {
        return Err(DavError::dav(
            403,
            "supported-report",
            "This report runs on calendars only.",
        ));
    }
    match report {
        Report::PrincipalSearch(_) | Report::PrincipalSearchPropertySet => Err(DavError::dav(
            403,
            "supported-report",
            "Principal searches run on the principal collection.",
        )),
        Report::CalendarQuery(query) => calendar_query(request, &collection, query).await,
        Report::Multiget(multiget) => calendar_multiget(request, &collection, multiget).await,
        Report::SyncCollection(sync) => sync_collection(request, &collection, sync).await,
        Report::FreeBusy(span) => {
            let ctx = eval_context(&request.state, &collection);
            let items = request
                .state
                .store
                .items_overlapping(collection.id, None, span.start, span.end)
                .await
                .map_err(internal)?;
            let mut periods = Vec::new();
            for item in &items {
                if let Some(calendar) = parse_item(item) {
                    periods.extend(almanac_ical::busy_periods(&calendar, span, &ctx));
                }
            }
            let body =
                almanac_ical::freebusy_calendar(periods, span, chrono::Utc::now().timestamp());
            Ok((
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
                body,
            )
                .into_response())
        }
    }
}

/// RFC 3744 §9.4. Users are not a directory here: the only principal anyone
/// can find is their own.
fn principal_search(request: &DavRequest, search: &PrincipalSearch) -> axum::response::Response {
    let ctx = request.context();
    let node = principal_node(request);
    let hit = |(names, text): &(Vec<PropName>, String)| {
        let text = text.to_lowercase();
        names.iter().any(|name| {
            node.live(name, &ctx)
                .is_some_and(|value| value.to_lowercase().contains(&text))
        })
    };
    let found = if search.any_of {
        search.searches.iter().any(hit)
    } else {
        search.searches.iter().all(hit)
    };
    let mut out = Multistatus::new();
    if found {
        out.response(&node.href, &propstats(&node, &search.props, &ctx));
    }
    multistatus(out.finish(None))
}

/// RFC 3744 §9.5: the properties principal-property-search looks at.
fn search_property_set() -> axum::response::Response {
    let body = concat!(
        r#"<?xml version="1.0" encoding="utf-8"?>"#,
        r#"<D:principal-search-property-set xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">"#,
        r#"<D:principal-search-property><D:prop><D:displayname/></D:prop>"#,
        r#"<D:description xml:lang="en">Name</D:description></D:principal-search-property>"#,
        r#"<D:principal-search-property><D:prop><C:calendar-user-address-set/></D:prop>"#,
        r#"<D:description xml:lang="en">Email address</D:description></D:principal-search-property>"#,
        "</D:principal-search-property-set>\n"
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

fn parse_item(item: &Item) -> Option<almanac_ical::Component> {
    let text = std::str::from_utf8(&item.data).ok()?;
    almanac_ical::parse(text, &ParseLimits::default()).ok()
}

/// The calendar-data to send for one object: the stored bytes unless the
/// request asks for a part, an expansion or a limited set.
fn calendar_data(
    request: &DavRequest,
    item: &Item,
    calendar: Option<&almanac_ical::Component>,
    data: Option<&DataRequest>,
    ctx: &EvalContext,
) -> Option<String> {
    if request.redact_private {
        let parsed = parse_item(item)?;
        if almanac_ical::privacy::has_private(&parsed) {
            let redacted = almanac_ical::privacy::redact(&parsed, false);
            return Some(match data {
                Some(d) => almanac_ical::render(&redacted, d, ctx),
                None => redacted.to_ics(),
            });
        }
    }
    let plain = data.is_none_or(|d| {
        d.select.is_none()
            && d.expand.is_none()
            && d.limit_recurrence_set.is_none()
            && d.limit_freebusy_set.is_none()
    });
    if plain {
        return Some(String::from_utf8_lossy(&item.data).into_owned());
    }
    let owned;
    let calendar = if let Some(c) = calendar {
        c
    } else {
        owned = parse_item(item)?;
        &owned
    };
    Some(almanac_ical::render(calendar, data?, ctx))
}

/// The index range a filter allows, when its only component filter has one.
fn prefilter(filter: &CompFilter) -> Option<(Option<&str>, i64, i64)> {
    let [inner] = filter.comp_filters.as_slice() else {
        return None;
    };
    if inner.is_not_defined {
        return None;
    }
    let (start, end) = inner.time_range.as_ref().map_or((i64::MIN, i64::MAX), |r| {
        (r.start.unwrap_or(i64::MIN), r.end.unwrap_or(i64::MAX))
    });
    Some((Some(inner.name.as_str()), start, end))
}

async fn calendar_query(
    request: &DavRequest,
    collection: &Collection,
    query: CalendarQuery,
) -> DavResult {
    let mut ctx = eval_context(&request.state, collection);
    if let Some(zone) = query
        .timezone
        .as_deref()
        .and_then(almanac_service::objects::zone_of)
    {
        ctx.floating_tz = Some(zone);
    }
    let store = &request.state.store;
    let items = match prefilter(&query.filter) {
        Some((component, start, end)) => {
            store
                .items_overlapping(collection.id, component, start, end)
                .await
        }
        None => store.items(collection.id).await,
    }
    .map_err(internal)?;
    let wants_data = query.props.wants(&CALENDAR_DATA);
    let dav_ctx = request.context();
    let mut out = Multistatus::new();
    for item in &items {
        let Some(mut calendar) = parse_item(item) else {
            continue;
        };
        if request.redact_private && almanac_ical::privacy::has_private(&calendar) {
            // Searching must not reveal what a private event says either.
            calendar = almanac_ical::privacy::redact(&calendar, false);
        }
        if !almanac_ical::matches(&calendar, &query.filter, &ctx) {
            continue;
        }
        let data = if wants_data {
            calendar_data(request, item, Some(&calendar), query.data.as_ref(), &ctx)
        } else {
            None
        };
        let mut node = item_node(request, collection, &item.meta, data, Vec::new());
        node.schedule_tag = schedule_tag(&query.props, item);
        out.response(&node.href, &propstats(&node, &query.props, &dav_ctx));
    }
    Ok(multistatus(out.finish(None)))
}

async fn calendar_multiget(
    request: &DavRequest,
    collection: &Collection,
    multiget: Multiget,
) -> DavResult {
    let ctx = eval_context(&request.state, collection);
    let dav_ctx = request.context();
    let wants_data = multiget.props.wants(&CALENDAR_DATA);
    let mut out = Multistatus::new();
    for href in &multiget.hrefs {
        let name = match DavPath::parse(paths::path_of(href)) {
            Some(DavPath::InHome { user, segments })
                if user == request.principal.name
                    && segments.len() >= 2
                    && segments[..segments.len() - 1].join("/") == collection.path =>
            {
                segments.last().cloned()
            }
            _ => None,
        };
        let item = match name {
            Some(name) => request
                .state
                .store
                .item(collection.id, &name)
                .await
                .map_err(internal)?,
            None => None,
        };
        let Some(item) = item else {
            out.status_response(href, "404 Not Found");
            continue;
        };
        let data = if wants_data {
            calendar_data(request, &item, None, multiget.data.as_ref(), &ctx)
        } else {
            None
        };
        let mut node = item_node(request, collection, &item.meta, data, Vec::new());
        node.schedule_tag = schedule_tag(&multiget.props, &item);
        node.href.clone_from(href);
        out.response(href, &propstats(&node, &multiget.props, &dav_ctx));
    }
    Ok(multistatus(out.finish(None)))
}

/// A scheduling object's Schedule-Tag, when the request asks for it.
fn schedule_tag(props: &PropRequest, item: &Item) -> Option<String> {
    props
        .wants(&almanac_dav::properties::SCHEDULE_TAG)
        .then(|| almanac_service::scheduling::schedule_tag(&item.data))
        .flatten()
}

/// RFC 6578. An unchanged poll answers from the collection row alone.
async fn sync_collection(
    request: &DavRequest,
    collection: &Collection,
    sync: SyncCollection,
) -> DavResult {
    let current = collection.sync_revision;
    let since = if sync.token.is_empty() {
        0
    } else {
        parse_sync_token(&sync.token, collection.id)
            .filter(|r| *r <= current && *r >= collection.sync_floor)
            .ok_or_else(|| {
                DavError::dav(
                    403,
                    "valid-sync-token",
                    "This sync token is not valid (any more); sync from scratch.",
                )
            })?
    };
    request.state.ops.sync_poll(since != current);
    if since == current {
        return Ok(multistatus(
            Multistatus::new().finish(Some(&sync_token(collection.id, current))),
        ));
    }
    let limit = sync
        .limit
        .map_or(i64::MAX, |n| i64::try_from(n).unwrap_or(i64::MAX));
    let store = &request.state.store;
    let mut changes = store
        .changes_since(collection.id, since, limit.saturating_add(1))
        .await
        .map_err(internal)?;
    let mut token_revision = current;
    let truncated = i64::try_from(changes.len()).unwrap_or(i64::MAX) > limit;
    if truncated {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        // Cut between revisions, so no change of a revision is skipped.
        let boundary = changes[limit].revision;
        let keep = changes
            .iter()
            .take(limit)
            .filter(|c| c.revision < boundary)
            .count();
        changes.truncate(if keep == 0 { limit } else { keep });
        token_revision = changes.last().map_or(since, |c| c.revision);
    }
    let ctx = eval_context(&request.state, collection);
    let dav_ctx = request.context();
    let wants_data = sync.props.wants(&CALENDAR_DATA);
    let props = match &sync.props {
        PropRequest::AllProp { .. } => PropRequest::Prop(vec![almanac_dav::properties::GETETAG]),
        other => other.clone(),
    };
    let collection_href = paths::collection_href(&request.principal.name, &collection.path);
    let mut out = Multistatus::new();
    for change in &changes {
        let href = paths::member_href(&collection_href, &change.name);
        if change.deleted.0 {
            if since > 0 {
                out.status_response(&href, "404 Not Found");
            }
            continue;
        }
        let Some(item) = store
            .item(collection.id, &change.name)
            .await
            .map_err(internal)?
        else {
            continue;
        };
        let data = if wants_data {
            calendar_data(request, &item, None, sync.data.as_ref(), &ctx)
        } else {
            None
        };
        let mut node = item_node(request, collection, &item.meta, data, Vec::new());
        node.schedule_tag = schedule_tag(&props, &item);
        out.response(&href, &propstats(&node, &props, &dav_ctx));
    }
    if truncated {
        out.status_response(&collection_href, "507 Insufficient Storage");
    }
    Ok(multistatus(
        out.finish(Some(&sync_token(collection.id, token_revision))),
    ))
}

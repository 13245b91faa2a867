//! `/dav/s/{token}/...`: a share link's calendar over CalDAV, for a client
//! given only that URL. The request is served as the owner's, inside that
//! one calendar, with only the methods the link allows.

use crate::dispatch::handle_for;
use crate::request::{body_limit, error_response, internal, options, read_body};
use almanac_dav::paths;
use almanac_dav::properties::Access;
use almanac_dav::DavError;
use almanac_service::access_log::Changed;
use almanac_service::{share_link, AppState};
use almanac_store::{Origin, SharePermission, SharedCalendar};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// `/dav/s/{token}/...`: the shared calendar as a CalDAV collection, for a
/// client given only this URL. The request is served as the owner's,
/// inside that one calendar, and only with the methods the link allows.
pub async fn handle(State(state): State<AppState>, request: Request) -> Response {
    if request.method() == Method::OPTIONS {
        return options();
    }
    let path = request.uri().path().to_owned();
    let rest = path.strip_prefix("/dav/s/").unwrap_or_default();
    let (token, member) = rest.split_once('/').unwrap_or((rest, ""));
    let shared = match share_link::open(&state, token).await {
        Ok(Some(shared)) => shared,
        Ok(None) => {
            return error_response(&DavError::new(
                404,
                "This share link does not work (revoked, expired or mistyped).",
            ))
        }
        Err(e) => {
            tracing::error!(error = %e, "caldav share: database");
            return error_response(&DavError::new(
                503,
                "The calendar cannot be read right now.",
            ));
        }
    };
    let permission = shared.link.permission();
    let (mut parts, body) = request.into_parts();
    let body = match allowed_body(&state, permission, &parts, body, member).await {
        Ok(body) => body,
        Err(refusal) => {
            return share_link::visit_log(error_response(&refusal), &shared.owner.name, None)
        }
    };
    let collection = paths::collection_href(&shared.owner.name, &shared.calendar.path);
    let target = format!("{collection}{member}");
    let Ok(uri) = target.parse::<Uri>() else {
        return error_response(&DavError::new(404, "No such resource."));
    };
    parts.uri = uri;
    let writes = matches!(parts.method.as_str(), "PUT" | "DELETE");
    if writes {
        // The owner's private events cannot be overwritten or deleted
        // through a link: the visitor only ever saw their times.
        match private_member(&state, &shared, member).await {
            Ok(false) => {}
            Ok(true) => {
                let refusal = DavError::new(
                    403,
                    "This event is private: it cannot be changed through a share link.",
                );
                return share_link::visit_log(error_response(&refusal), &shared.owner.name, None);
            }
            Err(e) => return error_response(&internal(e)),
        }
    }
    let share_href = format!("/dav/s/{token}/");
    // Hrefs the visitor sends (multiget) name the link; the handler wants
    // the owner's calendar.
    let body = if parts.method.as_str() == "REPORT" {
        axum::body::Bytes::from(String::from_utf8_lossy(&body).replace(&share_href, &collection))
    } else {
        body
    };
    let access = match permission {
        SharePermission::Read => Access::Read,
        SharePermission::Write => Access::ReadWrite,
        SharePermission::FreeBusy => Access::FreeBusy,
    };
    let response = handle_for(
        state.clone(),
        share_link::acting_owner(&shared.owner),
        parts,
        axum::body::Body::from(body),
        Origin::Share,
        access,
    )
    .await;
    let owner_href = paths::principal_href(&shared.owner.name);
    let response = rewrite_hrefs(
        response,
        &[
            (collection.as_str(), share_href.as_str()),
            (owner_href.as_str(), share_href.as_str()),
        ],
        state.config.limits.max_body_bytes,
    )
    .await;
    let changed = match response.extensions().get::<Changed>() {
        Some(Changed::Item(kind)) if response.status().is_success() => Some(*kind),
        _ => None,
    };
    share_link::visit_log(response, &shared.owner.name, changed)
}

/// Whether the member a write names is an event the owner made private.
async fn private_member(
    state: &AppState,
    shared: &SharedCalendar,
    member: &str,
) -> Result<bool, almanac_store::StoreError> {
    let name = percent_encoding::percent_decode_str(member).decode_utf8_lossy();
    let Some(item) = state.store.item(shared.calendar.id, &name).await? else {
        return Ok(false);
    };
    Ok(std::str::from_utf8(&item.data)
        .ok()
        .and_then(|text| almanac_ical::parse(text, &almanac_ical::ParseLimits::default()).ok())
        .is_some_and(|parsed| almanac_ical::privacy::has_private(&parsed)))
}

/// What each kind of link may do over CalDAV.
/// The body of a request the link allows. Only a free-busy link's REPORT
/// is judged by its body: everything else is refused before a byte of the
/// body is read.
async fn allowed_body(
    state: &AppState,
    permission: SharePermission,
    parts: &axum::http::request::Parts,
    body: axum::body::Body,
    member: &str,
) -> Result<axum::body::Bytes, DavError> {
    let judged_by_body =
        permission == SharePermission::FreeBusy && parts.method.as_str() == "REPORT";
    if !judged_by_body {
        allowed(permission, &parts.method, &parts.headers, &[], member)?;
    }
    let limit = body_limit(&parts.method, &state.config.limits);
    let body = read_body(body, limit).await?;
    if judged_by_body {
        allowed(permission, &parts.method, &parts.headers, &body, member)?;
    }
    Ok(body)
}

fn allowed(
    permission: SharePermission,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
    member: &str,
) -> Result<(), DavError> {
    let read_only = || DavError::new(403, "This share link only lets you read the calendar.");
    match (permission, method.as_str()) {
        (_, "PROPFIND") if permission != SharePermission::FreeBusy => Ok(()),
        (SharePermission::FreeBusy, "PROPFIND") => {
            let depth0 = headers.get("depth").and_then(|d| d.to_str().ok()) == Some("0");
            if depth0 && member.is_empty() {
                Ok(())
            } else {
                Err(DavError::new(
                    403,
                    "A free-busy link shows only busy times: use a free-busy-query report.",
                ))
            }
        }
        (SharePermission::FreeBusy, "REPORT") => {
            let free_busy = matches!(
                almanac_dav::reports::parse_report(body, almanac_dav::xml::XmlLimits::default()),
                Ok(almanac_dav::reports::Report::FreeBusy(_))
            );
            if member.is_empty() && free_busy {
                Ok(())
            } else {
                Err(DavError::new(
                    403,
                    "A free-busy link answers only free-busy-query reports.",
                ))
            }
        }
        (SharePermission::FreeBusy, _) => Err(DavError::new(
            403,
            "A free-busy link shows only busy times.",
        )),
        (_, "GET" | "HEAD" | "REPORT") => Ok(()),
        (SharePermission::Write, "PUT" | "DELETE")
            if !member.is_empty() && !member.contains('/') =>
        {
            Ok(())
        }
        (SharePermission::Write, _) => Err(DavError::new(
            403,
            "A share link can add, change and delete events, not change the calendar itself.",
        )),
        (SharePermission::Read, _) => Err(read_only()),
    }
}

/// Hrefs in a DAV answer name the owner's calendar and principal: the
/// visitor sees the share link's URL instead.
async fn rewrite_hrefs(
    response: Response,
    replacements: &[(&str, &str)],
    limit: usize,
) -> Response {
    let is_xml = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("xml"));
    if !is_xml {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, limit.max(64 << 20)).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "").into_response();
    };
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    for (from, to) in replacements {
        text = text.replace(from, to);
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_link_kind_allows_its_methods() {
        let none = HeaderMap::new();
        let mut depth0 = HeaderMap::new();
        depth0.insert("depth", "0".parse().unwrap());
        let put = Method::PUT;
        let propfind = Method::from_bytes(b"PROPFIND").unwrap();
        let report = Method::from_bytes(b"REPORT").unwrap();
        let mkcol = Method::from_bytes(b"MKCOL").unwrap();
        let read = SharePermission::Read;
        let write = SharePermission::Write;
        let busy = SharePermission::FreeBusy;
        assert!(allowed(read, &Method::GET, &none, b"", "a.ics").is_ok());
        assert!(allowed(read, &put, &none, b"", "a.ics").is_err());
        assert!(allowed(read, &Method::DELETE, &none, b"", "a.ics").is_err());
        assert!(allowed(write, &put, &none, b"", "a.ics").is_ok());
        assert!(
            allowed(write, &put, &none, b"", "").is_err(),
            "not the collection"
        );
        assert!(allowed(write, &mkcol, &none, b"", "sub/").is_err());
        assert!(allowed(busy, &Method::GET, &none, b"", "a.ics").is_err());
        assert!(
            allowed(busy, &propfind, &none, b"", "").is_err(),
            "no listing"
        );
        assert!(allowed(busy, &propfind, &depth0, b"", "").is_ok());
        let query = br#"<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:D="DAV:"><D:prop><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter><!-- free-busy-query --></C:calendar-query>"#;
        assert!(
            allowed(busy, &report, &none, query, "").is_err(),
            "a comment does not make a free-busy query"
        );
        let free_busy = br#"<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="20260101T000000Z" end="20260201T000000Z"/></C:free-busy-query>"#;
        assert!(allowed(busy, &report, &none, free_busy, "").is_ok());
    }
}

//! The way in: authenticates a client (or takes a share link's owner),
//! reads the request, and hands it to one module per group of methods.

use crate::request::Target;
use crate::request::{
    auth_refusal, error_response, internal, options, read_request, resolve, DavRequest, DavResult,
};
use crate::{collections, content, properties, report};
use almanac_dav::properties::Access;
use almanac_dav::DavError;
use almanac_service::access_log::{AuthKind, Changed, ItemKind, LogFields};
use almanac_service::auth::{AuthOutcome, Principal};
use almanac_service::rate_limit::ClientAddress;
use almanac_service::AppState;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::response::Response;

pub async fn handle(State(state): State<AppState>, request: Request) -> Response {
    if request.method() == Method::OPTIONS {
        return options();
    }
    let (parts, body) = request.into_parts();
    let client = ClientAddress::of(&parts, &state.config.rate_limits);
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let principal = match state.auth.basic(authorization, client.0).await {
        AuthOutcome::Authenticated(p) => p,
        refused => return auth_refusal(&refused),
    };
    let mut fields = LogFields {
        user: Some(principal.name.clone()),
        auth: AuthKind::Password,
        ..LogFields::default()
    };
    let mut response = match read_request(state, principal, parts, body).await {
        Ok(request) => dispatch(request)
            .await
            .unwrap_or_else(|e| error_response(&e)),
        Err(e) => error_response(&e),
    };
    if response.status().is_success() {
        match response.extensions().get::<Changed>() {
            Some(Changed::Item(kind)) => {
                fields.event = Some("sync_write");
                fields.item = Some(*kind);
            }
            Some(Changed::Collection) => fields.event = Some("calendar_write"),
            None => {}
        }
    }
    response.extensions_mut().insert(fields);
    response
}

/// Serves a request as `principal` (the owner of a shared calendar, for a
/// share link's visitor), with the origin and privacy of that access.
pub(crate) async fn handle_for(
    state: AppState,
    principal: Principal,
    parts: axum::http::request::Parts,
    body: axum::body::Body,
    origin: almanac_store::Origin,
    access: Access,
) -> Response {
    match read_request(state, principal, parts, body).await {
        Ok(mut request) => {
            request.origin = origin;
            request.redact_private = access != Access::Owner;
            request.access = access;
            dispatch(request)
                .await
                .unwrap_or_else(|e| error_response(&e))
        }
        Err(e) => error_response(&e),
    }
}

async fn dispatch(request: DavRequest) -> DavResult {
    let writes = matches!(
        request.method.as_str(),
        "PUT" | "POST" | "DELETE" | "PROPPATCH" | "MKCOL" | "MKCALENDAR" | "COPY" | "MOVE"
    );
    if writes && !request.principal.is_admin {
        if let Some(maintenance) = request.state.store.maintenance().await.map_err(internal)? {
            return Ok(almanac_service::maintenance::refusal(&maintenance, true));
        }
    }
    let target = resolve(&request).await?;
    let changed = change_of(&request.method, &target);
    let mut response = match request.method.as_str() {
        "PROPFIND" => properties::propfind(&request, target).await,
        "PROPPATCH" => properties::proppatch(&request, target).await,
        "GET" | "HEAD" => content::get(&request, target).await,
        "PUT" => content::put(&request, target).await,
        "POST" => content::post(&request, target).await,
        "DELETE" => content::delete(&request, target).await,
        "MKCOL" => collections::mkcol(&request, target, false).await,
        "MKCALENDAR" => collections::mkcol(&request, target, true).await,
        "COPY" => collections::copy_or_move(&request, target, false).await,
        "MOVE" => collections::copy_or_move(&request, target, true).await,
        "REPORT" => report::report(&request, target).await,
        _ => Err(DavError::new(
            405,
            format!("{} is not supported here.", request.method),
        )),
    }?;
    if let (Some(changed), true) = (changed, response.status().is_success()) {
        response.extensions_mut().insert(changed);
    }
    Ok(response)
}

/// What a write to `target` changes, for the access log. PUT and POST say
/// it themselves, once the body is read (an event or a task).
fn change_of(method: &axum::http::Method, target: &Target) -> Option<Changed> {
    match (method.as_str(), target) {
        ("DELETE" | "COPY" | "MOVE", Target::Item { parent, meta, .. }) if parent.is_calendar() => {
            Some(Changed::Item(ItemKind::of_component(
                meta.component.as_deref(),
            )))
        }
        ("DELETE" | "COPY" | "MOVE" | "PROPPATCH", Target::Collection(_))
        | ("MKCOL" | "MKCALENDAR", _) => Some(Changed::Collection),
        _ => None,
    }
}

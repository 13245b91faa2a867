//! Who is looking at a page: web log-in sessions and CSRF tokens.
//!
//! A session is a random token in an HttpOnly cookie; the database keeps
//! only its SHA-256 digest. Every form carries a CSRF token derived from the
//! visitor's own secret cookie (the session token once logged in, a random
//! visitor token before), so another site cannot submit a form for them.

use crate::access_log::{AuthKind, LogFields};
use crate::public_url::PublicUrl;
use crate::state::AppState;
use crate::token::{constant_time_eq, new_token, token_hash};
use almanac_store::User;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

const SESSION_COOKIE: &str = "almanac_session";
const VISITOR_COOKIE: &str = "almanac_visitor";
/// How long a log-in lasts.
pub const SESSION_SECONDS: i64 = 30 * 24 * 3600;

/// The person behind a page request (anonymous unless logged in).
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    pub user: Option<User>,
    /// The token every form of this page carries.
    pub csrf: String,
    /// Digest of the session token, to end this session.
    pub session_hash: Option<String>,
    /// The session could not be looked up (database unreachable): pages
    /// that need the account say so rather than asking to log in.
    pub lookup_failed: bool,
    /// The address the page was reached at ([`PublicUrl`]), for the links
    /// it shows; empty outside the session layer.
    pub base_url: String,
    /// While maintenance is on: what every page says about it.
    pub maintenance: Option<String>,
    /// The reader's time zone (the `almanac_tz` cookie); UTC when unknown.
    pub zone: Option<chrono_tz::Tz>,
}

/// The cookie `zone.js` (and the calendar's script) keep the browser's
/// time zone in.
pub const ZONE_COOKIE: &str = "almanac_tz";

impl Viewer {
    /// The reader's zone, UTC when unknown.
    pub fn zone(&self) -> chrono_tz::Tz {
        self.zone.unwrap_or(chrono_tz::UTC)
    }

    /// A moment in the reader's zone, as pages show it.
    pub fn time_text(&self, unix: i64) -> String {
        crate::when::time_in(unix, self.zone())
    }

    /// Whether the page was reached over https (its cookies are Secure).
    pub fn on_https(&self) -> bool {
        self.base_url.starts_with("https://")
    }

    /// The user name shown in the navigation; empty when logged out.
    pub fn name(&self) -> &str {
        self.user.as_ref().map_or("", |u| u.name.as_str())
    }

    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.is_admin.0)
    }

    /// Whether a submitted form carries this visitor's CSRF token.
    pub fn csrf_ok(&self, submitted: &str) -> bool {
        !self.csrf.is_empty() && constant_time_eq(self.csrf.as_bytes(), submitted.as_bytes())
    }
}

/// Handlers outside the session layer (the status listener) see an
/// anonymous visitor.
impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Without the session layer (the status site's own listener) the
        // reader's zone still applies.
        Ok(parts
            .extensions
            .get::<Self>()
            .cloned()
            .unwrap_or_else(|| Self {
                zone: zone_of(&parts.headers),
                ..Self::default()
            }))
    }
}

/// The reader's zone, from the cookie zone.js (or the zone form) sets.
fn zone_of(headers: &HeaderMap) -> Option<chrono_tz::Tz> {
    cookie(headers, ZONE_COOKIE)
        .map(|v| v.replace("%2F", "/"))
        .and_then(|name| almanac_ical::timezone::named_zone(&name))
}

/// Resolves the session cookie for the site's pages; gives a new visitor
/// the cookie their CSRF tokens derive from.
pub async fn layer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let session = cookie(request.headers(), SESSION_COOKIE).map(token_hash);
    let mut viewer = Viewer {
        base_url: PublicUrl::from_headers(request.headers(), &state.config).to_string(),
        ..Viewer::default()
    };
    let secure = viewer.on_https();
    viewer.zone = zone_of(request.headers());
    viewer.maintenance = match state.store.maintenance().await {
        Ok(maintenance) => maintenance
            .as_ref()
            .map(|m| crate::maintenance::notice(m, viewer.zone())),
        Err(_) => None,
    };
    if let Some(hash) = session {
        match state.store.session_user(&hash).await {
            Ok(Some(user)) if user.may_sign_in() => {
                viewer.csrf = csrf_for(&hash);
                viewer.session_hash = Some(hash);
                viewer.user = Some(user);
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "session lookup failed");
                viewer.lookup_failed = true;
            }
        }
    }
    let mut new_visitor = None;
    if viewer.user.is_none() {
        let visitor = cookie(request.headers(), VISITOR_COOKIE)
            .filter(|v| v.len() == 43)
            .unwrap_or_else(|| {
                let token = new_token();
                new_visitor = Some(token.clone());
                token
            });
        viewer.csrf = csrf_for(&token_hash(visitor));
    }
    let signed_in = viewer.user.as_ref().map(|u| u.name.clone());
    request.extensions_mut().insert(viewer);
    let mut response = next.run(request).await;
    // Every page a logged-in person opens is theirs in the access log,
    // unless the handler said otherwise (a share link, a log-out).
    if let Some(name) = signed_in {
        if response.extensions().get::<LogFields>().is_none() {
            response.extensions_mut().insert(LogFields {
                user: Some(name),
                auth: AuthKind::Session,
                ..LogFields::default()
            });
        }
    }
    if let Some(token) = new_visitor {
        let value = cookie_header(secure, VISITOR_COOKIE, &token, None, "Strict");
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The account a request's session cookie belongs to, for routes outside
/// the session layer (the metrics API) that take a logged-in person too.
pub async fn signed_in_user(state: &AppState, headers: &HeaderMap) -> Option<User> {
    let hash = cookie(headers, SESSION_COOKIE).map(token_hash)?;
    match state.store.session_user(&hash).await {
        Ok(user) => user.filter(User::may_sign_in),
        Err(e) => {
            tracing::warn!(error = %e, "session lookup failed");
            None
        }
    }
}

fn csrf_for(secret_hash: &str) -> String {
    token_hash(format!("csrf:{secret_hash}"))
}

/// A session just started: the cookie to set, and the viewer the response
/// is drawn for (logged in, with the session's CSRF token).
pub struct Started {
    pub cookie: HeaderValue,
    pub viewer: Viewer,
}

/// Starts a session for `user`, on a response to `viewer`.
pub async fn start(
    state: &AppState,
    viewer: &Viewer,
    user: &User,
) -> Result<Started, almanac_store::StoreError> {
    let token = new_token();
    let hash = token_hash(&token);
    let expires = chrono::Utc::now().timestamp() + SESSION_SECONDS;
    state.store.create_session(&hash, user.id, expires).await?;
    state
        .store
        .record_sign_ins(&[user.id], almanac_store::SignInWay::Web)
        .await?;
    let cookie = cookie_header(
        viewer.on_https(),
        SESSION_COOKIE,
        &token,
        Some(SESSION_SECONDS),
        "Lax",
    );
    Ok(Started {
        cookie,
        viewer: Viewer {
            user: Some(user.clone()),
            csrf: csrf_for(&hash),
            session_hash: Some(hash),
            lookup_failed: false,
            base_url: viewer.base_url.clone(),
            maintenance: viewer.maintenance.clone(),
            zone: viewer.zone,
        },
    })
}

/// The cookie that ends the session in the browser.
pub fn clear(viewer: &Viewer) -> HeaderValue {
    cookie_header(viewer.on_https(), SESSION_COOKIE, "", Some(0), "Lax")
}

/// HttpOnly always; Secure whenever the site is served over https.
fn cookie_header(
    secure: bool,
    name: &str,
    value: &str,
    max_age: Option<i64>,
    same_site: &str,
) -> HeaderValue {
    scoped_cookie_header(secure, name, value, "/", max_age, same_site)
        .expect("cookie values are base64url")
}

/// A cookie for pages under `path` only (HttpOnly; Secure on https), for
/// what a page remembers or shows once. `value` must be cookie-safe
/// (percent-encode it); `max_age` 0 clears the cookie.
pub fn scoped_cookie(
    viewer: &Viewer,
    (name, value): (&str, &str),
    path: &str,
    max_age: i64,
    same_site: &str,
) -> HeaderValue {
    scoped_cookie_header(
        viewer.on_https(),
        name,
        value,
        path,
        Some(max_age),
        same_site,
    )
    .unwrap_or_else(|| HeaderValue::from_static(""))
}

fn scoped_cookie_header(
    secure: bool,
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<i64>,
    same_site: &str,
) -> Option<HeaderValue> {
    let mut text = format!("{name}={value}; Path={path}; HttpOnly; SameSite={same_site}");
    if let Some(age) = max_age {
        text.push_str("; Max-Age=");
        text.push_str(&age.to_string());
    }
    if secure {
        text.push_str("; Secure");
    }
    HeaderValue::from_str(&text).ok()
}

/// The value of a cookie the request carries.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name && !value.is_empty()).then(|| value.to_owned())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_check_needs_the_exact_token() {
        let viewer = Viewer {
            csrf: csrf_for("abc"),
            ..Viewer::default()
        };
        assert!(viewer.csrf_ok(&csrf_for("abc")));
        assert!(!viewer.csrf_ok(&csrf_for("abd")));
        assert!(!viewer.csrf_ok(""));
        assert!(!Viewer::default().csrf_ok(""), "no token, no form");
    }

    #[test]
    fn reads_one_cookie_among_several() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; almanac_session=xyz; b=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&headers, VISITOR_COOKIE), None);
    }
}

//! The checks every form passes before it changes anything (rate limit,
//! CSRF token, maintenance mode), the answers for when one fails, and the
//! redirect and access-log note a handled form ends with.

use crate::access_log::{AuthKind, LogFields};
use crate::page;
use crate::rate_limit::{ClientAddress, Form};
use crate::session::Viewer;
use crate::state::AppState;
use almanac_store::{Maintenance, User};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// Checks a form before it does anything: the address's rate limit, the
/// CSRF token, and maintenance mode for forms that change data.
pub struct Guard<'a> {
    pub state: &'a AppState,
    pub viewer: &'a Viewer,
}

impl<'a> Guard<'a> {
    pub fn new(state: &'a AppState, viewer: &'a Viewer) -> Self {
        Self { state, viewer }
    }

    /// A form that changes something: its CSRF token, then maintenance mode.
    pub async fn change(&self, submitted_csrf: &str) -> Result<(), Response> {
        self.csrf(submitted_csrf)?;
        self.open_for_changes().await
    }

    /// A form that changes something and can show itself again: its CSRF
    /// token, then the maintenance notice when it must wait, so the handler
    /// can give back what was typed.
    pub async fn change_or_keep(
        &self,
        submitted_csrf: &str,
    ) -> Result<Option<Maintenance>, Response> {
        self.csrf(submitted_csrf)?;
        self.paused().await
    }

    pub async fn rate(&self, form: Form, address: &ClientAddress) -> Result<(), Response> {
        self.state
            .rate_limiter
            .attempt(&self.state.config.rate_limits, form, address.0)
            .await
            .map_err(|wait| self.too_many(wait.as_secs().max(1)))
    }

    pub fn too_many(&self, wait: u64) -> Response {
        let minutes = wait.div_ceil(60);
        let message = format!(
            "This form was sent too many times from your address. Please wait {minutes} minute{} and try again.",
            if minutes == 1 { "" } else { "s" }
        );
        let mut response = page::error_page(
            &self.state.config.site,
            self.viewer,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            &message,
        );
        if let Ok(value) = header::HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }

    pub fn csrf(&self, submitted: &str) -> Result<(), Response> {
        if self.viewer.csrf_ok(submitted) {
            return Ok(());
        }
        Err(page::error_page(
            &self.state.config.site,
            self.viewer,
            StatusCode::FORBIDDEN,
            "This form has expired",
            "For your safety this form only works from the page it came from, in the same browser. Go back, reload the page and send it again.",
        ))
    }

    /// Refuses changes while the service is in maintenance (staff excepted).
    pub async fn open_for_changes(&self) -> Result<(), Response> {
        if self.viewer.is_admin() {
            return Ok(());
        }
        match self.state.store.maintenance().await {
            Ok(None) => Ok(()),
            Ok(Some(maintenance)) => Err(self.maintenance_page(&maintenance)),
            Err(e) => Err(self.store_error(&e)),
        }
    }

    /// Whether a form that changes something must wait: the maintenance
    /// notice while maintenance is on (staff excepted). Forms that can show
    /// themselves again use it to keep what was typed.
    pub async fn paused(&self) -> Result<Option<Maintenance>, Response> {
        if self.viewer.is_admin() {
            return Ok(None);
        }
        self.state
            .store
            .maintenance()
            .await
            .map_err(|e| self.store_error(&e))
    }

    /// The refusal of a form during maintenance, as a page of the site.
    pub fn maintenance_page(&self, maintenance: &Maintenance) -> Response {
        let (message, retry) = crate::maintenance::explain(maintenance, self.viewer.zone());
        let response = page::error_page(
            &self.state.config.site,
            self.viewer,
            StatusCode::SERVICE_UNAVAILABLE,
            "Down for maintenance",
            &message,
        );
        crate::maintenance::with_retry_after(response, retry)
    }

    /// Does `password` match `hash`? (argon2 waits for its turn.)
    pub async fn password_matches(&self, hash: String, password: String) -> Result<bool, Response> {
        self.state
            .auth
            .checks()
            .verify(hash, password)
            .await
            .map_err(|_| self.busy())
    }

    /// A new argon2 hash (it waits for its turn as a check does).
    pub async fn hash_password(&self, password: String) -> Result<String, Response> {
        self.state
            .auth
            .checks()
            .hash(password)
            .await
            .map_err(|_| self.busy())
    }

    /// Every password check is taken: come back in a moment (nothing was
    /// changed).
    pub fn busy(&self) -> Response {
        let mut response = page::error_page(
            &self.state.config.site,
            self.viewer,
            StatusCode::SERVICE_UNAVAILABLE,
            "We are very busy right now",
            "Nothing was changed. Please go back and send the form again in a moment.",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("2"));
        response
    }

    pub fn store_error(&self, error: &almanac_store::StoreError) -> Response {
        page::store_error_page(&self.state.config.site, self.viewer, error)
    }

    /// The logged-in account, or a redirect to the log-in page.
    pub fn user(&self, here: &str) -> Result<&User, Response> {
        if self.viewer.lookup_failed {
            return Err(self.store_error(&almanac_store::StoreError::Config(
                "the session could not be looked up".into(),
            )));
        }
        self.viewer
            .user
            .as_ref()
            .ok_or_else(|| redirect(&format!("/login?next={here}")))
    }
}

pub fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}

/// Tells the access log who did what (the metrics count these events).
pub fn log_event(
    mut response: Response,
    user: &str,
    auth: AuthKind,
    event: Option<&'static str>,
) -> Response {
    response.extensions_mut().insert(LogFields {
        user: Some(user.to_owned()),
        auth,
        event,
        ..LogFields::default()
    });
    response
}

/// The same for a change to calendar items (`item=` says which kind).
pub fn log_change(
    response: Response,
    user: &str,
    auth: AuthKind,
    event: &'static str,
    item: crate::access_log::ItemKind,
) -> Response {
    let mut response = log_event(response, user, auth, Some(event));
    if let Some(fields) = response.extensions_mut().get_mut::<LogFields>() {
        fields.item = Some(item);
    }
    response
}

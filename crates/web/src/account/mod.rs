//! Accounts on the web site: sign-up with a validated address, log-in
//! sessions, password reset, the account page (password, address, delete,
//! download), all through server-rendered forms with CSRF tokens.
//!
//! - `signup`: sign-up, the validation link, resending it.
//! - `login`: log in and log out.
//! - `reset`: forgotten passwords.
//! - `settings`: the account page and what it changes.

mod login;
mod reset;
mod settings;
mod signup;

pub use login::{login, login_form, logout};
pub use reset::{reset_form, reset_request, reset_request_form, reset_submit};
pub use settings::{account_page, change_email, change_password, delete_account, export};
pub use signup::{resend, signup, signup_form, verify};

use crate::access_log::{AuthKind, LogFields};
use crate::mail::Mail;
use crate::pages;
use crate::rate_limit::{ClientAddress, Form};
use crate::session::{self, Viewer};
use crate::AppState;
use almanac_store::{TokenPurpose, User};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// How long a validation or address-change link works.
const VERIFY_LINK_SECONDS: i64 = 48 * 3600;
/// How long a password-reset link works.
const RESET_LINK_SECONDS: i64 = 3600;
/// Sign-ups whose address was never validated are removed after this.
const PENDING_ACCOUNT_SECONDS: i64 = 7 * 24 * 3600;

/// Names no one may sign up with: they would confuse people or mail.
const RESERVED_NAMES: &[&str] = &[
    "admin",
    "administrator",
    "root",
    "support",
    "help",
    "staff",
    "postmaster",
    "abuse",
    "noreply",
    "no-reply",
    "webmaster",
    "security",
    "www",
    "api",
    "dav",
    "caldav",
    "ics",
    "status",
    "system",
    "almanac",
];

/// Checks a form before it does anything: the address's rate limit, the
/// CSRF token, and maintenance mode for forms that change data.
pub(crate) struct Guard<'a> {
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

    pub fn rate(&self, form: Form, address: &ClientAddress) -> Result<(), Response> {
        self.state
            .rate_limiter
            .attempt(&self.state.config.rate_limits, form, address.0)
            .map_err(|wait| self.too_many(wait.as_secs().max(1)))
    }

    pub fn too_many(&self, wait: u64) -> Response {
        let minutes = wait.div_ceil(60);
        let message = format!(
            "This form was sent too many times from your address. Please wait {minutes} minute{} and try again.",
            if minutes == 1 { "" } else { "s" }
        );
        let mut response = pages::error_page(
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
        Err(pages::error_page(
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
            Ok(Some(maintenance)) => Err(crate::maintenance::page(
                &self.state.config.site,
                self.viewer,
                &maintenance,
            )),
            Err(e) => Err(self.store_error(&e)),
        }
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
        let mut response = pages::error_page(
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
        pages::store_error_page(&self.state.config.site, self.viewer, error)
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

pub(crate) fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}

/// Tells the access log who did what (the metrics count these events).
pub(crate) fn log_event(
    mut response: Response,
    user: &str,
    auth: AuthKind,
    event: Option<&'static str>,
) -> Response {
    response.extensions_mut().insert(LogFields {
        user: Some(user.to_owned()),
        auth,
        event,
    });
    response
}

pub(crate) fn check_name(name: &str) -> Option<&'static str> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'));
    if !(2..=32).contains(&name.len()) {
        Some("The user name must be 2 to 32 characters long.")
    } else if !first_ok || !rest_ok {
        Some("The user name may only have lower-case letters, digits, dots, dashes and underscores, and must start with a letter or digit.")
    } else if RESERVED_NAMES.contains(&name) {
        Some("This user name is reserved. Please choose another.")
    } else {
        None
    }
}

pub(crate) fn check_email(email: &str) -> Option<&'static str> {
    let valid = email.len() <= 254
        && email.parse::<lettre::Address>().is_ok()
        && email
            .rsplit_once('@')
            .is_some_and(|(_, domain)| domain.contains('.') && !domain.ends_with('.'));
    (!valid).then_some("Please give a valid email address, like name@example.org.")
}

pub(crate) fn check_password(password: &str, name: &str) -> Option<&'static str> {
    if password.chars().count() < 10 {
        Some("The password must have at least 10 characters.")
    } else if password.len() > 1024 {
        Some("The password is too long (at most 1024 characters).")
    } else if password.eq_ignore_ascii_case(name) {
        Some("The password must not be your user name.")
    } else {
        None
    }
}

/// Makes a mail link for `user` and sends it; errors go to the log (the
/// person can ask for the link again).
pub(crate) async fn send_link(
    state: &AppState,
    user: &User,
    purpose: TokenPurpose,
    to: &str,
) -> Result<(), almanac_store::StoreError> {
    let token = session::new_token();
    let (lifetime, path) = match purpose {
        TokenPurpose::Reset => (RESET_LINK_SECONDS, "reset"),
        TokenPurpose::Verify | TokenPurpose::Email => (VERIFY_LINK_SECONDS, "verify"),
    };
    let new_email = (purpose == TokenPurpose::Email).then_some(to);
    state
        .store
        .create_mail_token(
            &session::token_hash(&token),
            user.id,
            purpose,
            new_email,
            chrono::Utc::now().timestamp() + lifetime,
        )
        .await?;
    let site = &state.config.site;
    let link = format!("{}/{path}/{token}", site.base_url.trim_end_matches('/'));
    let (subject, body) = match purpose {
        TokenPurpose::Verify => (
            format!("Confirm your {} account", site.name),
            format!(
                "Hello {name},\n\nwelcome to {site}! Please confirm your email address\nby opening this link:\n\n{link}\n\nThe link works for 48 hours. Until then your account cannot\nlog in or sync.\n\nIf you did not sign up, ignore this mail: the account is\nremoved after a week.\n\n-- \n{site}\n",
                name = user.name,
                site = site.name,
            ),
        ),
        TokenPurpose::Email => (
            format!("Confirm your new address for {}", site.name),
            format!(
                "Hello {name},\n\nplease confirm the new email address of your {site} account,\n{to}, by opening this link:\n\n{link}\n\nThe link works for 48 hours. Until you open it, mail keeps\ngoing to your old address.\n\n-- \n{site}\n",
                name = user.name,
                site = site.name,
            ),
        ),
        TokenPurpose::Reset => (
            format!("Choose a new password for {}", site.name),
            format!(
                "Hello {name},\n\nsomeone (we hope you) asked to reset the password of the\n{site} account \"{name}\". To choose a new password, open this link:\n\n{link}\n\nThe link works for one hour. If you did not ask for it, ignore\nthis mail: your password stays as it is.\n\n-- \n{site}\n",
                name = user.name,
                site = site.name,
            ),
        ),
    };
    let mail = Mail {
        to,
        subject: &subject,
        body,
        link: Some(&link),
    };
    if let Err(e) = state.mailer.send(&mail).await {
        tracing::error!(error = %e, user = %user.name, "a mail link could not be sent");
    }
    Ok(())
}

/// Only local paths are followed after log-in (no open redirects).
fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    if local {
        next
    } else {
        "/account"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names() {
        assert_eq!(check_name("alice"), None);
        assert_eq!(check_name("a.b-c_d9"), None);
        assert!(check_name("a").is_some());
        assert!(check_name("Alice").is_some());
        assert!(check_name("-alice").is_some());
        assert!(check_name("al ice").is_some());
        assert!(check_name("admin").is_some());
        assert!(check_name(&"a".repeat(33)).is_some());
    }

    #[test]
    fn addresses_and_passwords() {
        assert_eq!(check_email("bob@example.org"), None);
        assert!(check_email("bob@localhost").is_some());
        assert!(check_email("bob").is_some());
        assert!(check_email("bob @example.org").is_some());
        assert_eq!(check_password("correct horse", "bob"), None);
        assert!(check_password("short", "bob").is_some());
        assert!(check_password("bobbobbobbob", "BOBBOBBOBBOB").is_some());
    }

    #[test]
    fn only_local_paths_after_log_in() {
        assert_eq!(safe_next("/account"), "/account");
        assert_eq!(safe_next("/clients/ios"), "/clients/ios");
        assert_eq!(safe_next("//evil.example"), "/account");
        assert_eq!(safe_next("https://evil.example"), "/account");
        assert_eq!(safe_next("/\\evil.example"), "/account");
    }
}

//! What user names, addresses and passwords must be, and the links mailed
//! to confirm an address or reset a password.

use almanac_service::mail::Mail;
use almanac_service::AppState;
use almanac_store::{TokenPurpose, User};

/// How long a validation or address-change link works.
pub(crate) const VERIFY_LINK_SECONDS: i64 = 48 * 3600;
/// How long a password-reset link works.
pub(crate) const RESET_LINK_SECONDS: i64 = 3600;
/// Sign-ups whose address was never validated are removed after this.
pub(crate) const PENDING_ACCOUNT_SECONDS: i64 = 7 * 24 * 3600;

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
    base_url: &str,
    user: &User,
    purpose: TokenPurpose,
    to: &str,
) -> Result<(), almanac_store::StoreError> {
    let token = almanac_service::token::new_token();
    let (lifetime, path) = match purpose {
        TokenPurpose::Reset => (RESET_LINK_SECONDS, "reset"),
        TokenPurpose::Verify | TokenPurpose::Email => (VERIFY_LINK_SECONDS, "verify"),
    };
    let new_email = (purpose == TokenPurpose::Email).then_some(to);
    state
        .store
        .create_mail_token(
            &almanac_service::token::token_hash(&token),
            user.id,
            purpose,
            new_email,
            chrono::Utc::now().timestamp() + lifetime,
        )
        .await?;
    let site = &state.config.site;
    let link = format!("{base_url}/{path}/{token}");
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
        reply_to: None,
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
pub(crate) fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    if local {
        next
    } else {
        "/calendar"
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
        assert_eq!(safe_next("//evil.example"), "/calendar");
        assert_eq!(safe_next("https://evil.example"), "/calendar");
        assert_eq!(safe_next("/\\evil.example"), "/calendar");
    }
}

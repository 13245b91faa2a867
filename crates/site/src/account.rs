//! Accounts on the web site: sign-up with a validated address, log-in
//! sessions, password reset, the account page (password, address, delete,
//! download), all through server-rendered forms with CSRF tokens.
//!
//! - `signup`: sign-up, the validation link, resending it.
//! - `login`: log in and log out.
//! - `reset`: forgotten passwords.
//! - `settings`: the account page and what it changes.
//! - `rules`: what names, addresses and passwords must be, and the links
//!   mailed to confirm them.

mod app_passwords;
mod login;
mod reminders;
mod reset;
mod rules;
mod settings;
mod signup;

pub use app_passwords::{create as create_app_password, revoke as revoke_app_password};
pub use login::{login, login_form, logout};
pub use reminders::{page as reminders_page, save as save_reminders};
pub use reset::{reset_form, reset_request, reset_request_form, reset_submit};
pub use settings::{account_page, change_email, change_password, delete_account, export};
pub use signup::{resend, signup, signup_form, verify};

pub(crate) use rules::{check_email, send_link};

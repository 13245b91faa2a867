//! Who may open the staff pages (accounts with the admin flag).

use almanac_service::guard::Guard;
use almanac_service::page;
use almanac_store::User;
use axum::http::StatusCode;
use axum::response::Response;

/// Staff only: a visitor is sent to log in, anyone else is refused.
pub(crate) fn staff<'a>(guard: &'a Guard<'_>, here: &str) -> Result<&'a User, Response> {
    let user = guard.user(here)?;
    if user.is_admin.0 {
        Ok(user)
    } else {
        Err(page::error_page(
            &guard.state.config.site,
            guard.viewer,
            StatusCode::FORBIDDEN,
            "For staff only",
            "This page is for the people who run the service.",
        ))
    }
}

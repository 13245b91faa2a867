//! What a share link's visitor reaches, through any door (the share page,
//! its webcal file, CalDAV): the calendar it opens, as its owner, and how
//! the access log names the visit.

use crate::access_log::{AuthKind, ItemKind, LogFields};
use crate::auth::Principal;
use crate::state::AppState;
use crate::token::token_hash;
use almanac_store::{SharedCalendar, StoreError, User};
use axum::response::Response;

/// The link a visitor holds, if it still works.
pub async fn open(state: &AppState, token: &str) -> Result<Option<SharedCalendar>, StoreError> {
    if token.len() != 43 {
        return Ok(None);
    }
    state.store.use_share_link(&token_hash(token)).await
}

/// The owner of a calendar, acting for a visitor or on the web calendar:
/// never with staff rights.
pub fn acting_owner(user: &User) -> Principal {
    Principal {
        id: user.id,
        name: user.name.clone(),
        email: user.email.clone(),
        is_admin: false,
    }
}

/// Logs a visit through a link: no user (the visitor is not the owner),
/// a ticket, and whose calendar it opened. A change through the link is
/// `share_write` with its item kind; anything else is a `share_visit`.
pub fn visit_log(mut response: Response, owner: &str, changed: Option<ItemKind>) -> Response {
    response.extensions_mut().insert(LogFields {
        user: None,
        auth: AuthKind::Ticket,
        event: Some(if changed.is_some() {
            "share_write"
        } else {
            "share_visit"
        }),
        owner: Some(owner.to_owned()),
        item: changed,
    });
    response
}

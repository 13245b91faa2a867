//! WebDAV and CalDAV without I/O: request bodies in, multistatus bodies out.
//!
//! - [`xml`]: a bounded element tree for request bodies (no entity expansion).
//! - [`requests`]: PROPFIND, PROPPATCH, MKCOL/MKCALENDAR bodies.
//! - [`reports`]: calendar-query, calendar-multiget, free-busy-query, sync-collection.
//! - [`properties`]: the resource kinds and their live properties.
//! - [`multistatus`]: 207 bodies and DAV:error bodies.
//! - [`paths`]: the URL namespace and href encoding.

mod error;
pub mod multistatus;
pub mod names;
pub mod paths;
pub mod properties;
pub mod reports;
pub mod requests;
pub mod xml;

pub use error::DavError;
pub use names::PropName;

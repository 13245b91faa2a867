//! Errors a DAV request can end in, with the precondition element clients read.

use crate::xml::{XmlError, CALDAV, DAV};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DavError {
    pub status: u16,
    /// (namespace, element) of the failed precondition, if any.
    pub condition: Option<(&'static str, &'static str)>,
    pub message: String,
}

impl DavError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            condition: None,
            message: message.into(),
        }
    }

    pub fn precondition(
        status: u16,
        ns: &'static str,
        name: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            condition: Some((ns, name)),
            message: message.into(),
        }
    }

    pub fn caldav(status: u16, name: &'static str, message: impl Into<String>) -> Self {
        Self::precondition(status, CALDAV, name, message)
    }

    pub fn dav(status: u16, name: &'static str, message: impl Into<String>) -> Self {
        Self::precondition(status, DAV, name, message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    /// The response body: a DAV:error document when a precondition failed.
    pub fn body(&self) -> (String, &'static str) {
        match self.condition {
            Some((ns, name)) => (
                crate::multistatus::error_body(ns, name, &self.message),
                "application/xml; charset=utf-8",
            ),
            None => (format!("{}\n", self.message), "text/plain; charset=utf-8"),
        }
    }
}

impl From<XmlError> for DavError {
    fn from(e: XmlError) -> Self {
        Self::bad_request(e.to_string())
    }
}

impl std::fmt::Display for DavError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

impl std::error::Error for DavError {}

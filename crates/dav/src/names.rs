//! Property names in Clark notation (`{namespace}local`).

use std::borrow::Cow;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PropName {
    pub ns: Cow<'static, str>,
    pub name: Cow<'static, str>,
}

impl PropName {
    pub const fn new(ns: &'static str, name: &'static str) -> Self {
        Self {
            ns: Cow::Borrowed(ns),
            name: Cow::Borrowed(name),
        }
    }

    pub fn owned(ns: &str, name: &str) -> Self {
        Self {
            ns: Cow::Owned(ns.to_owned()),
            name: Cow::Owned(name.to_owned()),
        }
    }

    /// Parses `{ns}name` as stored for dead properties.
    pub fn from_clark(clark: &str) -> Option<Self> {
        let rest = clark.strip_prefix('{')?;
        let (ns, name) = rest.split_once('}')?;
        Some(Self::owned(ns, name))
    }

    pub fn is(&self, other: &PropName) -> bool {
        self == other
    }
}

impl fmt::Display for PropName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}}}{}", self.ns, self.name)
    }
}

//! The address people reach this service at, for the links it writes into
//! pages, mails and feeds: `[site] base_url` when the operator set one,
//! else the address the request came in on.

use crate::config::Config;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

/// An absolute URL without a trailing slash, e.g. `https://cal.example`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    /// The configured address, or the one this request was sent to: its
    /// Host, on https only when a trusted proxy says so (X-Forwarded-Proto
    /// or Forwarded), else on http. Without a usable Host, the listen
    /// address.
    pub fn of(parts: &Parts, config: &Config) -> Self {
        Self::from_headers(&parts.headers, config)
    }

    pub fn from_headers(headers: &HeaderMap, config: &Config) -> Self {
        if let Some(configured) = configured(config) {
            return configured;
        }
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .filter(|h| is_authority(h));
        let Some(host) = host else {
            return Self::listen_address(config);
        };
        let scheme = if config.rate_limits.trust_forwarded_for && forwarded_https(headers) {
            "https"
        } else {
            "http"
        };
        Self(format!("{scheme}://{}", host.to_ascii_lowercase()))
    }

    /// For work done outside any request: the configured address, else the
    /// listen address.
    pub fn without_request(config: &Config) -> Self {
        configured(config).unwrap_or_else(|| Self::listen_address(config))
    }

    fn listen_address(config: &Config) -> Self {
        Self(format!("http://{}", config.listen))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }
}

impl std::fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn configured(config: &Config) -> Option<PublicUrl> {
    let base = config.site.base_url.trim().trim_end_matches('/');
    (!base.is_empty()).then(|| PublicUrl(base.to_owned()))
}

/// A host name or address with an optional port, and nothing else (no
/// user info, path or spaces that could bend a link).
fn is_authority(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
}

fn forwarded_https(headers: &HeaderMap) -> bool {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(proto) = value("x-forwarded-proto") {
        return proto
            .split(',')
            .next()
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    }
    value("forwarded").is_some_and(|forwarded| {
        forwarded
            .split(',')
            .next()
            .into_iter()
            .flat_map(|element| element.split(';'))
            .any(|pair| {
                pair.trim()
                    .to_ascii_lowercase()
                    .strip_prefix("proto=")
                    .is_some_and(|p| p.trim_matches('"') == "https")
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    fn config(base_url: &str, trust_proxy: bool) -> Config {
        let mut config = Config::default();
        config.site.base_url = base_url.to_owned();
        config.listen = "127.0.0.1:18431".to_owned();
        config.rate_limits.trust_forwarded_for = trust_proxy;
        config
    }

    #[test]
    fn the_configured_address_wins() {
        let url = PublicUrl::from_headers(
            &headers(&[("host", "other.example")]),
            &config("https://cal.example/", false),
        );
        assert_eq!(url.as_str(), "https://cal.example");
        assert!(url.is_https());
    }

    #[test]
    fn without_one_links_follow_the_request() {
        let plain = config("", false);
        assert_eq!(
            PublicUrl::from_headers(&headers(&[("host", "127.0.0.1:18431")]), &plain).as_str(),
            "http://127.0.0.1:18431"
        );
        assert_eq!(
            PublicUrl::from_headers(&headers(&[("host", "Cal.Example")]), &plain).as_str(),
            "http://cal.example"
        );
        // No Host, or one that could bend a link: the listen address.
        assert_eq!(
            PublicUrl::from_headers(&HeaderMap::new(), &plain).as_str(),
            "http://127.0.0.1:18431"
        );
        assert_eq!(
            PublicUrl::from_headers(&headers(&[("host", "evil.example/x?")]), &plain).as_str(),
            "http://127.0.0.1:18431"
        );
        assert_eq!(
            PublicUrl::without_request(&plain).as_str(),
            "http://127.0.0.1:18431"
        );
    }

    #[test]
    fn https_only_on_a_trusted_proxy_s_word() {
        let forwarded = headers(&[("host", "cal.example"), ("x-forwarded-proto", "https")]);
        assert!(!PublicUrl::from_headers(&forwarded, &config("", false)).is_https());
        assert_eq!(
            PublicUrl::from_headers(&forwarded, &config("", true)).as_str(),
            "https://cal.example"
        );
        let standard = headers(&[
            ("host", "cal.example"),
            ("forwarded", "for=1.2.3.4;Proto=https"),
        ]);
        assert!(PublicUrl::from_headers(&standard, &config("", true)).is_https());
    }
}

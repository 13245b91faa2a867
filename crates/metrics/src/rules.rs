//! Client classification rules: user-agent patterns to product, version,
//! platform and profile class, read from TOML (see `rules.toml`).

use serde::{Deserialize, Serialize};
use std::path::Path;

/// What kind of client a user agent is, for the profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientClass {
    /// A calendar sync client (two-way CalDAV).
    Native,
    /// A browser: the web UI or a share link.
    Web,
    /// Subscriptions (webcal) and third-party tools.
    Interop,
    /// Crawlers; never counted as people.
    Bot,
}

/// A user agent after classification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    pub product: String,
    /// Empty when the agent carries no version the rules can find.
    pub version: String,
    pub platform: String,
    pub class: ClientClass,
}

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("cannot read the rules file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("bad rules: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("client rule {0:?} has no `contains` or `starts_with` pattern")]
    NoPattern(String),
}

/// The rules file: client rules, platform rules and the home location.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    unmatched_class: ClientClass,
    pub location: LocationRules,
    #[serde(rename = "client")]
    clients: Vec<ClientRule>,
    #[serde(rename = "platform", default)]
    platforms: Vec<PlatformRule>,
}

/// Where "home" is, for the probably-outside-the-country share.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationRules {
    pub home_tld: String,
    #[serde(default)]
    pub home_ip_prefixes: Vec<String>,
    /// ISO 3166 code of the home country, for addresses the IP-to-country
    /// database places; by default the home TLD in capitals.
    #[serde(default)]
    pub home_country: Option<String>,
}

impl LocationRules {
    pub fn home_country(&self) -> String {
        self.home_country
            .clone()
            .unwrap_or_else(|| self.home_tld.to_ascii_uppercase())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientRule {
    product: String,
    class: ClientClass,
    #[serde(default)]
    contains: Vec<String>,
    #[serde(default)]
    starts_with: Vec<String>,
    #[serde(default)]
    version_after: Vec<String>,
    platform: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlatformRule {
    name: String,
    contains: Vec<String>,
}

/// The rules shipped with the crate.
pub const DEFAULT_RULES: &str = include_str!("rules.toml");

impl Default for Rules {
    fn default() -> Self {
        Self::parse(DEFAULT_RULES).expect("the built-in rules parse")
    }
}

impl Rules {
    pub fn parse(text: &str) -> Result<Self, RulesError> {
        let rules: Self = toml::from_str(text)?;
        if let Some(rule) = rules
            .clients
            .iter()
            .find(|r| r.contains.is_empty() && r.starts_with.is_empty())
        {
            return Err(RulesError::NoPattern(rule.product.clone()));
        }
        Ok(rules)
    }

    pub fn load(path: &Path) -> Result<Self, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    pub fn classify(&self, agent: &str) -> ClientInfo {
        let platform_of = |agent: &str| {
            self.platforms
                .iter()
                .find(|p| p.contains.iter().any(|c| agent.contains(c.as_str())))
                .map_or_else(|| "Other".to_owned(), |p| p.name.clone())
        };
        match self.clients.iter().find(|rule| rule.matches(agent)) {
            Some(rule) => ClientInfo {
                product: rule.product.clone(),
                version: rule.version_in(agent).to_owned(),
                platform: rule.platform.clone().unwrap_or_else(|| platform_of(agent)),
                class: rule.class,
            },
            None => ClientInfo {
                product: "Other".to_owned(),
                version: String::new(),
                platform: platform_of(agent),
                class: self.unmatched_class,
            },
        }
    }
}

impl ClientRule {
    fn matches(&self, agent: &str) -> bool {
        (self.starts_with.is_empty()
            || self
                .starts_with
                .iter()
                .any(|s| agent.starts_with(s.as_str())))
            && (self.contains.is_empty()
                || self.contains.iter().any(|c| agent.contains(c.as_str())))
    }

    fn version_in<'a>(&self, agent: &'a str) -> &'a str {
        self.version_after
            .iter()
            .find_map(|marker| {
                agent
                    .find(marker.as_str())
                    .map(|at| &agent[at + marker.len()..])
            })
            .map_or("", |rest| {
                let end = rest.find([' ', ';', ')', '(', '"']).unwrap_or(rest.len());
                &rest[..end]
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(agent: &str, product: &str, version: &str, platform: &str, class: ClientClass) {
        let info = Rules::default().classify(agent);
        assert_eq!(
            (
                info.product.as_str(),
                info.version.as_str(),
                info.platform.as_str(),
                info.class
            ),
            (product, version, platform, class),
            "{agent}"
        );
    }

    #[test]
    fn classifies_sync_clients() {
        use ClientClass::Native;
        check(
            "DAVx5/4.3-ose (2023/12/01; dav4jvm; okhttp/4.12.0) Android/14",
            "DAVx5",
            "4.3-ose",
            "Android",
            Native,
        );
        check("DAVx5/4.4 (Android 14)", "DAVx5", "4.4", "Android", Native);
        check(
            "iOS/17.0 (21A329) dataaccessd/1.0",
            "Apple Calendar",
            "17.0",
            "iOS",
            Native,
        );
        check(
            "iOS/17.0 (21A329) remindd/1.0",
            "Apple Reminders",
            "17.0",
            "iOS",
            Native,
        );
        check(
            "macOS/14.4 (23E214) CalendarAgent/988",
            "Apple Calendar",
            "14.4",
            "macOS",
            Native,
        );
        check(
            "Mac OS X/10.8.2 (12C54) CalendarAgent/55",
            "Apple Calendar",
            "10.8.2",
            "macOS",
            Native,
        );
        check(
            "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.10.1",
            "Thunderbird",
            "115.10.1",
            "Linux",
            Native,
        );
        check(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101 Thunderbird/115.9.0",
            "Thunderbird", "115.9.0", "Windows", Native,
        );
        check(
            "Mozilla/5.0 (Windows NT 6.1; rv:2.0) Gecko Lightning/1.0b2",
            "Thunderbird",
            "1.0b2",
            "Windows",
            Native,
        );
        check("Evolution/3.46.4", "Evolution", "3.46.4", "Linux", Native);
        check(
            "gnome-calendar/45.1",
            "GNOME Calendar",
            "45.1",
            "Linux",
            Native,
        );
        check(
            "Chandler/1.0 (Macintosh; U; PPC Mac OS X)",
            "Chandler",
            "1.0",
            "macOS",
            Native,
        );
    }

    #[test]
    fn classifies_subscriptions_tools_browsers_and_bots() {
        use ClientClass::{Bot, Interop, Web};
        check(
            "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
            "Outlook",
            "16.0.17328",
            "Windows",
            Interop,
        );
        check(
            "Google-Calendar-Importer",
            "Google Calendar",
            "",
            "Google",
            Interop,
        );
        check(
            "python-caldav/1.3.9",
            "python caldav",
            "1.3.9",
            "Other",
            Interop,
        );
        check(
            "vdirsyncer/0.19.2",
            "vdirsyncer",
            "0.19.2",
            "Other",
            Interop,
        );
        check("curl/7.88.1", "curl", "7.88.1", "Other", Interop);
        check(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
            "Chrome", "124.0.0.0", "Windows", Web,
        );
        check(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
            "Safari", "17.4", "macOS", Web,
        );
        check(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
            "Safari", "17.4", "iOS", Web,
        );
        check(
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
            "Chrome", "124.0.0.0", "Android", Web,
        );
        check(
            "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
            "Firefox",
            "125.0",
            "Linux",
            Web,
        );
        check(
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Search engine crawler",
            "",
            "Other",
            Bot,
        );
        check("SomeNewThing/1.0", "Other", "", "Other", Interop);
        check("-", "Other", "", "Other", Interop);
    }

    #[test]
    fn rules_load_from_text_and_reject_patternless_rules() {
        let text = r#"
            unmatched_class = "bot"
            [location]
            home_tld = "de"
            [[client]]
            product = "Mine"
            class = "native"
            starts_with = ["Mine/"]
            version_after = ["Mine/"]
            platform = "Plan 9"
        "#;
        let rules = Rules::parse(text).unwrap();
        assert_eq!(rules.location.home_tld, "de");
        assert_eq!(rules.classify("Mine/2 x").version, "2");
        assert_eq!(rules.classify("xMine/2").class, ClientClass::Bot);
        let broken = text.replace("starts_with = [\"Mine/\"]", "");
        assert!(matches!(Rules::parse(&broken), Err(RulesError::NoPattern(p)) if p == "Mine"));
    }
}

//! Countries of client addresses, from an IP-to-country database in
//! MaxMind's format (GeoLite2-Country, DB-IP's free country file, or any
//! `.mmdb` with `country.iso_code`) that the operator points at.

use maxminddb::{path, Reader};
use std::net::IpAddr;
use std::path::Path;

pub struct CountryDatabase {
    reader: Reader<Vec<u8>>,
    description: String,
}

impl std::fmt::Debug for CountryDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

impl CountryDatabase {
    /// Reads the whole file (a country database is a few megabytes).
    pub fn open(path: &Path) -> Result<Self, String> {
        let reader = Reader::open_readfile(path).map_err(|e| e.to_string())?;
        let built = chrono::DateTime::from_timestamp(
            i64::try_from(reader.metadata().build_epoch).unwrap_or(0),
            0,
        )
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
        let description = format!("{} built {built}", reader.metadata().database_type);
        Ok(Self {
            reader,
            description,
        })
    }

    /// What the dashboard says about the database: its type and build date.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The ISO 3166 code of the country the database places `host` in;
    /// `None` for host names, unknown addresses and addresses it does not
    /// place.
    pub fn country(&self, host: &str) -> Option<String> {
        let address: IpAddr = host.parse().ok()?;
        let found = self.reader.lookup(address).ok()?;
        let code: Option<&str> = found.decode_path(&path!["country", "iso_code"]).ok()?;
        code.filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
            .map(str::to_ascii_uppercase)
    }
}

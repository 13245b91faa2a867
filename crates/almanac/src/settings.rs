//! Settings: defaults, then a TOML file, then `ALMANAC_*` variables, then flags.

use almanac_service::Config;
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct SettingsArgs {
    /// TOML configuration file (keys as in almanac.example.toml).
    #[arg(long, global = true, env = "ALMANAC_CONFIG")]
    config: Option<PathBuf>,
    /// Where the SQLite database and the logs live.
    #[arg(long, global = true, env = "ALMANAC_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// postgres://... to use PostgreSQL; default SQLite in the data directory.
    #[arg(long, global = true, env = "ALMANAC_DATABASE_URL")]
    database_url: Option<String>,
    /// Access log file; "-" turns it off.
    #[arg(long, global = true, env = "ALMANAC_ACCESS_LOG")]
    access_log: Option<String>,
}

impl SettingsArgs {
    pub fn load(&self) -> Result<Config> {
        let mut config = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("invalid settings in {}", path.display()))?
            }
            None => Config::default(),
        };
        if let Some(dir) = &self.data_dir {
            config.data_dir.clone_from(dir);
        }
        if let Some(url) = &self.database_url {
            config.database_url.clone_from(url);
        }
        if let Some(log) = &self.access_log {
            config.access_log.clone_from(log);
        }
        Ok(config)
    }
}

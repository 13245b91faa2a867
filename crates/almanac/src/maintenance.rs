//! `almanac maintenance on|off|status`.

use almanac_store::Store;
use anyhow::{bail, Result};
use chrono::{DateTime, NaiveDateTime, Utc};
use clap::Subcommand;

#[derive(Subcommand)]
pub enum MaintenanceCommand {
    /// Refuse all changes from now on, with a message for people.
    On {
        /// What people are told, e.g. "Upgrading to 1.2; back within the hour."
        #[arg(long)]
        message: String,
        /// When you expect to be done: RFC 3339 or "YYYY-MM-DD HH:MM" (UTC).
        #[arg(long)]
        until: Option<String>,
    },
    /// Accept changes again.
    Off,
    /// Say whether maintenance mode is on.
    Status,
}

pub async fn run(store: &Store, command: MaintenanceCommand) -> Result<()> {
    match command {
        MaintenanceCommand::On { message, until } => {
            let until = until.as_deref().map(parse_time).transpose()?;
            store.set_maintenance(Some((&message, until))).await?;
            println!("Maintenance mode is on: writes are refused on every instance.");
        }
        MaintenanceCommand::Off => {
            store.set_maintenance(None).await?;
            println!("Maintenance mode is off.");
        }
        MaintenanceCommand::Status => match store.maintenance().await? {
            None => println!("Maintenance mode is off."),
            Some(m) => {
                let since = format_time(m.since);
                let until = m.until.map_or_else(
                    || "no end given".to_owned(),
                    |u| format!("until {}", format_time(u)),
                );
                println!(
                    "Maintenance mode is on since {since} ({until}): {}",
                    m.message
                );
            }
        },
    }
    Ok(())
}

pub(crate) fn parse_time(text: &str) -> Result<i64> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.timestamp());
    }
    if let Ok(time) = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M") {
        return Ok(time.and_utc().timestamp());
    }
    bail!("{text:?} is not a time: use 2026-12-01T18:00:00Z or \"2026-12-01 18:00\" (UTC)")
}

pub(crate) fn format_time(unix: i64) -> String {
    DateTime::<Utc>::from_timestamp(unix, 0).map_or_else(
        || unix.to_string(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

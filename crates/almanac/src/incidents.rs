//! `almanac incident ...`: incidents and planned maintenance on the status site.

use crate::maintenance::{format_time, parse_time};
use almanac_store::{Store, StoreError, INCIDENT_STATUSES, MAINTENANCE_STATUSES};
use anyhow::{bail, Result};
use clap::Subcommand;

#[derive(Subcommand)]
pub enum IncidentCommand {
    /// Report an incident (or announce maintenance with --maintenance); prints its number.
    Open {
        title: String,
        /// The first update people read.
        #[arg(long)]
        message: String,
        /// Planned maintenance rather than an incident.
        #[arg(long)]
        maintenance: bool,
        /// When it starts: RFC 3339 or "YYYY-MM-DD HH:MM" (UTC); default now.
        #[arg(long)]
        starts: Option<String>,
        /// When it is expected to end (maintenance windows).
        #[arg(long)]
        ends: Option<String>,
    },
    /// Add an update: investigating, identified, monitoring, resolved (incidents)
    /// or scheduled, in-progress, completed (maintenance).
    Update {
        id: i64,
        #[arg(long)]
        status: String,
        #[arg(long)]
        message: String,
    },
    /// List recent incidents and maintenance.
    List,
}

pub async fn run(store: &Store, command: IncidentCommand) -> Result<()> {
    match command {
        IncidentCommand::Open {
            title,
            message,
            maintenance,
            starts,
            ends,
        } => {
            let starts = starts
                .as_deref()
                .map(parse_time)
                .transpose()?
                .unwrap_or_else(|| chrono::Utc::now().timestamp());
            let ends = ends.as_deref().map(parse_time).transpose()?;
            let (kind, status) = if maintenance {
                ("maintenance", "scheduled")
            } else {
                ("incident", "investigating")
            };
            let id = store
                .open_incident(kind, &title, status, &message, (starts, ends))
                .await?;
            println!("Opened {kind} {id}: {title}");
        }
        IncidentCommand::Update {
            id,
            status,
            message,
        } => {
            let incidents = store.incidents(1000).await?;
            let Some(incident) = incidents.iter().find(|i| i.id == id) else {
                bail!("no incident {id}");
            };
            let allowed = if incident.kind == "maintenance" {
                MAINTENANCE_STATUSES
            } else {
                INCIDENT_STATUSES
            };
            if !allowed.contains(&status.as_str()) {
                bail!(
                    "the status of {} {id} is one of: {}",
                    incident.kind,
                    allowed.join(", ")
                );
            }
            match store.update_incident(id, &status, &message).await {
                Err(StoreError::NotFound) => bail!("no incident {id}"),
                other => other?,
            }
            println!("Updated {} {id}: {status}", incident.kind);
        }
        IncidentCommand::List => {
            for i in store.incidents(50).await? {
                let end = i.ends_at.map_or_else(|| "open".to_owned(), format_time);
                println!(
                    "{}\t{}\t{}\t{} – {}\t{}",
                    i.id,
                    i.kind,
                    i.status,
                    format_time(i.starts_at),
                    end,
                    i.title
                );
            }
        }
    }
    Ok(())
}

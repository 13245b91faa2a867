//! Service-wide settings every instance reads from the database, so a change
//! takes effect everywhere at once.

use crate::error::StoreError;
use crate::handle::{now, Store};

const MAINTENANCE: &str = "maintenance";
const APP_PASSWORDS_ONLY: &str = "sync_app_passwords_only";

/// "Service is down: no changes" — writes are refused, reads go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maintenance {
    pub message: String,
    /// When the operators expect to be done (UNIX seconds), if they said.
    pub until: Option<i64>,
    pub since: i64,
}

impl Store {
    async fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(v,)| v))
    }

    async fn set_setting(&self, name: &str, value: Option<&str>) -> Result<(), StoreError> {
        match value {
            Some(value) => {
                sqlx::query(
                    "INSERT INTO settings (name, value) VALUES ($1, $2) \
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                )
                .bind(name)
                .bind(value)
                .execute(&self.pool)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM settings WHERE name = $1")
                    .bind(name)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }

    pub async fn maintenance(&self) -> Result<Option<Maintenance>, StoreError> {
        let Some(value) = self.setting(MAINTENANCE).await? else {
            return Ok(None);
        };
        // Stored as "since|until|message" (until empty when open-ended).
        let mut parts = value.splitn(3, '|');
        let since = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let until = parts.next().and_then(|s| s.parse().ok());
        let message = parts.next().unwrap_or_default().to_owned();
        Ok(Some(Maintenance {
            message,
            until,
            since,
        }))
    }

    /// Whether calendar apps must sign in with app passwords (staff's
    /// choice): account passwords then only open the web site.
    pub async fn app_passwords_required(&self) -> Result<bool, StoreError> {
        Ok(self.setting(APP_PASSWORDS_ONLY).await?.is_some())
    }

    pub async fn set_app_passwords_required(&self, required: bool) -> Result<(), StoreError> {
        self.set_setting(APP_PASSWORDS_ONLY, required.then_some("1"))
            .await
    }

    /// Turns maintenance mode on (with a message for people) or off (None).
    pub async fn set_maintenance(&self, on: Option<(&str, Option<i64>)>) -> Result<(), StoreError> {
        let value = on.map(|(message, until)| {
            let until = until.map(|u| u.to_string()).unwrap_or_default();
            format!("{}|{until}|{message}", now())
        });
        self.set_setting(MAINTENANCE, value.as_deref()).await
    }
}

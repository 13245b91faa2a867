//! `almanac user ...`: account administration from the shell.

use almanac_service::auth::hash_password;
use almanac_store::{NewCollection, Store, StoreError};
use anyhow::{bail, Result};
use clap::Subcommand;
use std::io::BufRead;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create an account (with a default calendar); reads the password from stdin.
    Add {
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List accounts.
    List,
    /// Set a new password, read from stdin.
    Passwd {
        name: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Delete an account and all of its data.
    Delete { name: String },
    /// Lock an account: no log-in, no sync, its web sessions end (on every
    /// running instance within about a second).
    Lock { name: String },
    /// Unlock a locked account.
    Unlock { name: String },
}

pub async fn run(store: &Store, command: UserCommand) -> Result<()> {
    match command {
        UserCommand::Add {
            name, email, admin, ..
        } => {
            check_name(&name)?;
            if !email.contains('@') {
                bail!("{email:?} is not an email address");
            }
            let password = read_password()?;
            let user = match store
                .create_user(&name, &email, &hash_password(&password), admin)
                .await
            {
                Err(StoreError::AlreadyExists(_)) => bail!("a user named {name} already exists"),
                other => other?,
            };
            store
                .create_collection(
                    user.id,
                    &NewCollection::calendar("calendar", Some("Calendar")),
                )
                .await?;
            println!("Created user {name} with a calendar at /dav/calendars/{name}/calendar/");
        }
        UserCommand::List => {
            for user in store.list_users().await? {
                let admin = if user.is_admin.0 { " (admin)" } else { "" };
                let state = if user.locked.0 {
                    " (locked)"
                } else if user.verified_at.is_none() {
                    " (address not confirmed)"
                } else {
                    ""
                };
                println!("{}\t{}{admin}{state}", user.name, user.email);
            }
        }
        UserCommand::Passwd { name, .. } => {
            let password = read_password()?;
            match store.set_password(&name, &hash_password(&password)).await {
                Err(StoreError::NotFound) => bail!("no user named {name}"),
                other => other?,
            }
            println!("Password of {name} changed.");
        }
        UserCommand::Delete { name } => {
            match store.delete_user(&name).await {
                Err(StoreError::NotFound) => bail!("no user named {name}"),
                other => other?,
            }
            println!("Deleted user {name} and all of their data.");
        }
        UserCommand::Lock { name } => set_locked(store, &name, true).await?,
        UserCommand::Unlock { name } => set_locked(store, &name, false).await?,
    }
    Ok(())
}

async fn set_locked(store: &Store, name: &str, locked: bool) -> Result<()> {
    match store.set_locked(name, locked).await {
        Err(StoreError::NotFound) => bail!("no user named {name}"),
        other => other?,
    }
    println!("{} {name}.", if locked { "Locked" } else { "Unlocked" });
    Ok(())
}

/// User names appear in URLs and logs: keep them to a plain alphabet.
fn check_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
        && !name.starts_with('.');
    if !ok {
        bail!("user names are 1 to 64 characters of a-z, 0-9, '.', '_' and '-'");
    }
    Ok(())
}

fn read_password() -> Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.len() < 8 {
        bail!("the password must have at least 8 characters");
    }
    Ok(password)
}

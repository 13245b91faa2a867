//! `almanac`: the command line of the Almanac calendar service.

mod backup;
mod incidents;
mod mail_intake;
mod maintenance;
mod metrics_cmd;
mod monitor;
mod probe;
mod settings;
mod users;

use almanac_service::AppState;
use almanac_store::{SchemaState, Store};
use almanac_web::router;
use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use settings::SettingsArgs;

#[derive(Parser)]
#[command(
    name = "almanac",
    version,
    about = "Almanac: a hosted CalDAV calendar service"
)]
struct Cli {
    #[command(flatten)]
    settings: SettingsArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (creates the data directory and a SQLite database on first start).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long, env = "ALMANAC_LISTEN")]
        listen: Option<String>,
    },
    /// Bring the database schema up to date (after taking a backup).
    Migrate {
        /// Only list the migrations that would run.
        #[arg(long)]
        dry_run: bool,
        /// Where the backup taken first goes (default: DATA_DIR/backups/).
        #[arg(long)]
        backup_to: Option<std::path::PathBuf>,
    },
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: users::UserCommand,
    },
    /// Write a consistent snapshot of the whole service to FILE (gzip'd JSON lines), while it runs.
    Backup { file: std::path::PathBuf },
    /// Load a backup into an empty data directory or database (SQLite or PostgreSQL).
    Restore { file: std::path::PathBuf },
    /// Run the synthetic transaction (put, get, report, webcal, delete) against a server; Nagios exit codes.
    Probe(probe::ProbeArgs),
    /// Report incidents and planned maintenance on the status site.
    Incident {
        #[command(subcommand)]
        command: incidents::IncidentCommand,
    },
    /// Metrics: collect access logs into the series the API and dashboard serve.
    Metrics {
        #[command(subcommand)]
        command: MetricsCommand,
    },
    /// Check the configuration, the schema version and the database's integrity.
    Check,
    /// Read one mail on standard input (a mail server's pipe) and apply the
    /// calendar answer in it (iMIP REPLY) to the organizer's event.
    MailIntake,
    /// Switch maintenance mode: writes refused with 503, reads go on, on every instance.
    Maintenance {
        #[command(subcommand)]
        command: maintenance::MaintenanceCommand,
    },
}

// glibc's allocator keeps what many threads freed (argon2's 19 MiB blocks,
// bursts of requests) as per-thread arenas; mimalloc gives it back.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        // The chain of causes, without a backtrace: this is for operators.
        eprintln!("Error: {e:#}");
        std::process::exit(1);
    }
}

async fn run() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let mut config = cli.settings.load()?;
    match cli.command {
        Command::Serve { listen } => {
            if let Some(listen) = listen {
                config.listen = listen;
            }
            serve(config).await
        }
        Command::Migrate { dry_run, backup_to } => migrate(&config, dry_run, backup_to).await,
        Command::User { command } => {
            let store = open_current(&config).await?;
            users::run(&store, command).await
        }
        Command::Check => check(&config).await,
        Command::MailIntake => {
            let store = open_current(&config).await?;
            let state = AppState::new(store, config).map_err(anyhow::Error::msg)?;
            let code = mail_intake::run(&state).await?;
            state.store.close().await;
            std::process::exit(code);
        }
        Command::Metrics {
            command:
                MetricsCommand::Collect {
                    logs,
                    rebuild,
                    rules,
                },
        } => {
            let logs = if logs.is_empty() {
                default_logs(&config)?
            } else {
                logs
            };
            let store = open_current(&config).await?;
            let sources = metrics_cmd::Sources::gather(&config, rules.as_deref(), &store).await?;
            let summary = metrics_cmd::collect(&config.data_dir, &logs, rebuild, sources, true)?;
            println!(
                "Read {} new lines ({} malformed) from {} file(s); the report is in {}.",
                summary.lines,
                summary.malformed,
                logs.len(),
                metrics_cmd::metrics_dir(&config.data_dir)
                    .join("report.json")
                    .display()
            );
            if summary.malformed > 0 {
                for sample in metrics_cmd::malformed_samples(&config.data_dir)
                    .iter()
                    .take(3)
                {
                    println!("  malformed: {sample}");
                }
            }
            Ok(())
        }
        Command::Incident { command } => {
            let store = open_current(&config).await?;
            incidents::run(&store, command).await
        }
        Command::Probe(args) => std::process::exit(probe::run(&args).await),
        Command::Backup { file } => {
            let store = open_current(&config).await?;
            backup::backup(&store, &file).await
        }
        Command::Restore { file } => {
            std::fs::create_dir_all(&config.data_dir)?;
            let store = Store::open(&config.database_url()).await?;
            backup::restore(&store, &file).await
        }
        Command::Maintenance { command } => {
            let store = open_current(&config).await?;
            maintenance::run(&store, command).await
        }
    }
}

#[derive(Subcommand)]
enum MetricsCommand {
    /// Read the new lines of the logs (default: the access log and its `.1`
    /// rotation); plain combined logs from a proxy work too.
    Collect {
        logs: Vec<std::path::PathBuf>,
        /// Forget what was collected and read every given log from the start.
        #[arg(long)]
        rebuild: bool,
        /// Client classification rules (TOML), instead of the built-in ones.
        #[arg(long)]
        rules: Option<std::path::PathBuf>,
    },
}

/// Opens the database, migrating a fresh one, refusing an outdated one.
async fn open_current(config: &almanac_service::Config) -> Result<Store> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    let url = config.database_url();
    let store = Store::open(&url)
        .await
        .with_context(|| format!("cannot open the database {}", redact(&url)))?;
    match store.schema_state().await? {
        SchemaState::Fresh => {
            store.migrate().await?;
        }
        SchemaState::Behind { found } => bail!(
            "the database schema is at version {found}, this build needs {}: run `almanac migrate` first",
            almanac_store::LATEST_VERSION
        ),
        SchemaState::Current => {}
    }
    Ok(store)
}

/// Without `[site] base_url`, links follow the Host each request names.
/// That is right on a loopback address (one person trying the service);
/// on a public one, a request that names another host could put that host
/// into the links a mail carries, so say what to set.
fn warn_about_links(config: &almanac_service::Config, address: std::net::SocketAddr) {
    if !config.site.base_url.trim().is_empty() {
        return;
    }
    if address.ip().is_loopback() {
        println!(
            "Links in pages and mails use the address each request came in on (set [site] base_url to fix one)."
        );
    } else {
        eprintln!(
            "warning: [site] base_url is not set, so links in pages and mails follow the Host header of each request. \
             Set it to the public address people use (e.g. https://calendar.example.org) before opening the service to the internet."
        );
    }
}

async fn serve(config: almanac_service::Config) -> Result<()> {
    let store = open_current(&config).await?;
    let log = match config.access_log_path() {
        Some(path) => Some(
            almanac_service::access_log::AccessLog::open(&path, rotation(&config)?)
                .await
                .with_context(|| format!("cannot open the access log {}", path.display()))?,
        ),
        None => None,
    };
    let listener = almanac_web::server::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    println!(
        "Almanac is listening on http://{address}/ (data in {})",
        config.data_dir.display()
    );
    let local_base = if address.ip().is_unspecified() {
        format!("http://127.0.0.1:{}", address.port())
    } else {
        format!("http://{address}")
    };
    warn_about_links(&config, address);
    monitor::spawn(store.clone(), &config, local_base.clone());
    spawn_metrics_collection(store.clone(), &config);
    let state = AppState::new(store.clone(), config).map_err(anyhow::Error::msg)?;
    tokio::spawn(state.auth.clone().follow_credential_changes());
    tokio::spawn(almanac_service::search_words::fill_missing(store.clone()));
    let reminder_links = if state.config.site.base_url.is_empty() {
        local_base
    } else {
        state.config.site.base_url.trim_end_matches('/').to_owned()
    };
    tokio::spawn(almanac_service::reminders::run(
        store.clone(),
        state.mailer.clone(),
        std::time::Duration::from_secs(state.config.mail.reminder_check_seconds),
        state.config.limits.max_instances,
        reminder_links,
    ));
    if !state.config.status_listen.is_empty() {
        let status_listener = almanac_web::server::bind(&state.config.status_listen)
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {} (status_listen)",
                    state.config.status_listen
                )
            })?;
        println!(
            "The status site is also on http://{}/",
            status_listener.local_addr()?
        );
        let status_app = almanac_web::status_router(state.clone());
        let settings = state.config.server.clone();
        tokio::spawn(async move {
            let forever = std::future::pending();
            if let Err(e) =
                almanac_web::server::serve(status_listener, status_app, &settings, forever).await
            {
                tracing::error!(error = %e, "the status listener stopped");
            }
        });
    }
    let settings = state.config.server.clone();
    let app = router(state, log);
    almanac_web::server::serve(listener, app, &settings, shutdown_signal()).await?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C; in-flight requests then finish.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

async fn migrate(
    config: &almanac_service::Config,
    dry_run: bool,
    backup_to: Option<std::path::PathBuf>,
) -> Result<()> {
    std::fs::create_dir_all(&config.data_dir)?;
    let url = config.database_url();
    let store = Store::open(&url).await?;
    let pending = store.pending_migrations().await?;
    if pending.is_empty() {
        println!(
            "The database is up to date (schema version {}).",
            almanac_store::LATEST_VERSION
        );
        return Ok(());
    }
    if dry_run {
        println!("Would apply migrations: {pending:?}");
        return Ok(());
    }
    if let SchemaState::Behind { found } = store.schema_state().await? {
        let path = backup_to.unwrap_or_else(|| {
            let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
            config
                .data_dir
                .join("backups")
                .join(format!("before-migration-from-v{found}-{stamp}.jsonl.gz"))
        });
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        backup::backup(&store, &path)
            .await
            .context("the backup before migrating failed; nothing was changed")?;
    }
    let applied = store.migrate().await?;
    println!(
        "Applied migrations {applied:?}; schema version is now {}.",
        almanac_store::LATEST_VERSION
    );
    Ok(())
}

async fn check(config: &almanac_service::Config) -> Result<()> {
    println!(
        "configuration: ok (data directory {}, database {})",
        config.data_dir.display(),
        redact(&config.database_url())
    );
    let store = Store::open(&config.database_url()).await.with_context(|| {
        format!(
            "cannot open the database {}",
            redact(&config.database_url())
        )
    })?;
    let findings = store.check().await?;
    for finding in &findings {
        let mark = if finding.ok { "ok" } else { "PROBLEM" };
        println!("{}: {mark} ({})", finding.what, finding.detail);
    }
    if findings.iter().any(|f| !f.ok) {
        bail!("the check found problems");
    }
    Ok(())
}

/// Collects the access logs every `metrics.collect_interval_seconds` inside
/// `serve`, so the API and dashboard stay current without cron. Instances
/// sharing a database take turns (a lease): one collects at a time, and
/// with `[metrics] log_files` it reads every instance's log.
fn spawn_metrics_collection(store: Store, config: &almanac_service::Config) {
    let interval = config.metrics.collect_interval_seconds;
    if interval == 0 {
        return;
    }
    let config = config.clone();
    let holder = format!(
        "{}:{}",
        std::process::id(),
        almanac_service::token::new_token()
    );
    let lease = i64::try_from(interval.saturating_mul(2)).unwrap_or(i64::MAX);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(std::time::Duration::from_secs(interval));
        loop {
            ticks.tick().await;
            match store.take_turn("metrics", &holder, lease).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot take the metrics collection's turn");
                    continue;
                }
            }
            let sources = match metrics_cmd::Sources::gather(&config, None, &store).await {
                Ok(sources) => sources,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics collection cannot start");
                    continue;
                }
            };
            let config = config.clone();
            let run = tokio::task::spawn_blocking(move || {
                let logs = default_logs(&config)?;
                metrics_cmd::collect(&config.data_dir, &logs, false, sources, false)
            })
            .await;
            match run {
                Ok(Ok(summary)) => tracing::info!(lines = summary.lines, "metrics collected"),
                Ok(Err(e)) => tracing::warn!(error = %e, "metrics collection failed"),
                Err(e) => tracing::warn!(error = %e, "metrics collection stopped"),
            }
        }
    });
}

fn rotation(config: &almanac_service::Config) -> Result<almanac_service::access_log::Rotation> {
    almanac_service::access_log::Rotation::parse(&config.access_log_rotate, config.access_log_keep)
        .with_context(|| {
            format!(
                "access_log_rotate = {:?}: use \"daily\", \"size:BYTES\" or \"off\"",
                config.access_log_rotate
            )
        })
}

/// The logs to collect: `[metrics] log_files` (every instance's), else this
/// instance's access log; with their rotations (`access.log.N`), oldest
/// first. Lines already read are skipped by the collector's cursors.
fn default_logs(config: &almanac_service::Config) -> Result<Vec<std::path::PathBuf>> {
    if !config.metrics.log_files.is_empty() {
        return Ok(metrics_cmd::logs_matching(&config.metrics.log_files));
    }
    let Some(log) = config.access_log_path() else {
        bail!("the access log is off (access_log = \"-\"): name the logs to read");
    };
    Ok(metrics_cmd::with_rotations(&log))
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

//! The `lms` command line: serve, run workers, migrate, print the schema, manage users, import
//! a roster. A library module, so the tests drive the same code a shell does.

use std::path::PathBuf;

use crate::config::LogFormat;
use crate::{Config, Overrides};
use anyhow::Context as _;
use clap::{Parser, Subcommand};
use kernel::{Actor, Role, Roles};
use migration::MigratorTrait;

/// The `lms` command line.
#[derive(Parser, Debug)]
#[command(
    name = "lms",
    version,
    about = "Online training platform for the civil servants of Tangerang Selatan"
)]
pub struct Cli {
    /// Configuration (environment variables or flags).
    #[command(flatten)]
    pub config: Config,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// A subcommand.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the API and run background workers (the default).
    Serve,
    /// Run background workers only.
    Worker,
    /// Apply or roll back migrations.
    Migrate {
        #[command(subcommand)]
        action: Option<MigrateAction>,
    },
    /// Print the GraphQL schema (sorted SDL), or write it to a file.
    Schema {
        /// Write to this file instead of standard output.
        #[arg(long)]
        write: Option<PathBuf>,
    },
    /// Administer accounts.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Import a roster CSV (nip,name,email,unit_code,position,grade,employment_type,roles).
    ImportRoster {
        /// The CSV file.
        file: PathBuf,
        /// Import the valid rows even when some are rejected.
        #[arg(long)]
        allow_partial: bool,
    },
}

/// What `lms migrate` does.
#[derive(Subcommand, Debug)]
pub enum MigrateAction {
    /// Apply pending migrations (default).
    Up,
    /// Roll back migrations (one unless --steps says otherwise).
    Down {
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List applied and pending migrations.
    Status,
}

/// What `lms admin` does.
#[derive(Subcommand, Debug)]
pub enum AdminAction {
    /// Create a person who can sign in.
    CreateUser {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        nip: Option<String>,
        /// Roles, comma-separated (learner, trainer, unit_admin, admin).
        #[arg(long, default_value = "learner")]
        roles: String,
        /// The password (or set LMS_NEW_USER_PASSWORD); generated and printed when omitted.
        #[arg(long, env = "LMS_NEW_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Unit code.
        #[arg(long)]
        unit: Option<String>,
    },
}

/// Sets up logging for the process (text or JSON lines, filter from `LMS_LOG`).
pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LMS_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,sqlx=warn,aws=warn,tower_http=info")
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// Runs a parsed command line to its end.
///
/// # Errors
/// Whatever the command fails with (bad configuration, an unreachable database, a roster that
/// was not applied), for `main` to print.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Worker => worker(cli.config).await,
        Command::Migrate { action } => {
            migrate(cli.config, action.unwrap_or(MigrateAction::Up)).await
        }
        Command::Schema { write } => {
            let sdl = crate::schema::sdl();
            match write {
                Some(path) => std::fs::write(&path, sdl)
                    .with_context(|| format!("writing {}", path.display())),
                None => {
                    print!("{sdl}");
                    Ok(())
                }
            }
        }
        Command::Admin { action } => admin(cli.config, action).await,
        Command::ImportRoster {
            file,
            allow_partial,
        } => import_roster(cli.config, file, allow_partial).await,
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let server = crate::start(config, Overrides::default()).await?;
    if let Some((email, generated)) = &server.created_admin {
        match generated {
            Some(pw) => println!(
                "\nFirst admin created: sign in as {email} with password {pw}\n(shown once; change it with the changePassword mutation)\n"
            ),
            None => println!("\nFirst admin created: sign in as {email} with LMS_ADMIN_PASSWORD\n"),
        }
    }
    println!(
        "lms listening on http://{} (GraphQL at /graphql)",
        server.addr
    );
    let stop = server.shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
        stop.cancel();
    });
    server.handle.await?;
    Ok(())
}

async fn worker(mut config: Config) -> anyhow::Result<()> {
    config.migrate_on_start = false;
    let concurrency = config.workers.max(1);
    let state = crate::build_state(
        config,
        String::from("http://127.0.0.1"),
        Overrides::default(),
    )
    .await?;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let handle = crate::spawn_worker(&state, concurrency, &[], shutdown.clone());
    tracing::info!(concurrency, "worker running; Ctrl-C stops it");
    crate::ops::log_video_processing(&state).await;
    tokio::signal::ctrl_c().await?;
    shutdown.cancel();
    handle.await?;
    Ok(())
}

async fn migrate(config: Config, action: MigrateAction) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)?;
    let db = crate::db::connect(&config.effective_database_url(), 2).await?;
    match action {
        MigrateAction::Up => migration::Migrator::up(&db, None).await?,
        MigrateAction::Down { steps } => migration::Migrator::down(&db, Some(steps)).await?,
        MigrateAction::Status => {
            for m in migration::Migrator::get_migration_with_status(&db).await? {
                println!("{:<40} {}", m.name(), m.status());
            }
        }
    }
    Ok(())
}

async fn services(mut config: Config) -> anyhow::Result<crate::AppState> {
    config.workers = 0;
    crate::build_state(
        config,
        String::from("http://127.0.0.1"),
        Overrides::default(),
    )
    .await
}

async fn admin(config: Config, action: AdminAction) -> anyhow::Result<()> {
    let state = services(config).await?;
    match action {
        AdminAction::CreateUser {
            name,
            email,
            nip,
            roles,
            password,
            unit,
        } => {
            let roles = Roles::parse_list(&roles).map_err(|e| anyhow::anyhow!("{e}"))?;
            let unit_id = match unit {
                Some(code) => Some(
                    state
                        .identity
                        .unit_by_code(&code)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?
                        .id,
                ),
                None => None,
            };
            let generated = password.is_none().then(identity::people::random_password);
            let person = state
                .identity
                .create_person(
                    &Actor::system(),
                    identity::people::NewPerson {
                        name,
                        email,
                        nip,
                        unit_id,
                        roles: if roles.is_empty() {
                            Roles::empty().with(Role::Learner)
                        } else {
                            roles
                        },
                        password: password.or_else(|| generated.clone()),
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "created {} ({}) with roles {}",
                person.name, person.id, person.roles
            );
            if let Some(pw) = generated {
                println!("password (shown once): {pw}");
            }
        }
    }
    Ok(())
}

async fn import_roster(config: Config, file: PathBuf, allow_partial: bool) -> anyhow::Result<()> {
    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let state = services(config).await?;
    let started = std::time::Instant::now();
    let report = state
        .identity
        .import_roster(&Actor::system(), &bytes, allow_partial)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for r in &report.rejected {
        println!(
            "line {}: {} {}",
            r.line,
            r.nip.as_deref().unwrap_or("-"),
            r.reason
        );
    }
    println!(
        "{} rows: {} created, {} updated, {} unchanged, {} rejected; {} in {:.2}s",
        report.total_rows,
        report.created,
        report.updated,
        report.unchanged,
        report.rejected.len(),
        if report.applied {
            "applied"
        } else {
            "NOT applied (use --allow-partial to import the valid rows)"
        },
        started.elapsed().as_secs_f64()
    );
    anyhow::ensure!(
        report.applied,
        "the roster was not imported: {} row(s) rejected",
        report.rejected.len()
    );
    Ok(())
}
